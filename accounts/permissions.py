"""Role checks on a request's user (an AnonymousUser has no role)."""

from typing import Any

from .models import User


def is_instructor(user: Any) -> bool:
    return bool(user and user.is_authenticated and getattr(user, "role", None) == User.Role.INSTRUCTOR)


def is_instructor_or_staff(user: Any) -> bool:
    return bool(
        user
        and user.is_authenticated
        and (user.is_staff or getattr(user, "role", None) in (User.Role.INSTRUCTOR, User.Role.STAFF))
    )
