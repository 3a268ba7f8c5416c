"""Permissions about the account itself: role checks on a request's user (an
AnonymousUser has none), and what other apps apply to it."""

from typing import Any

from django.conf import settings
from rest_framework import permissions
from rest_framework.request import Request

from .models import User


def is_instructor(user: Any) -> bool:
    return bool(user and user.is_authenticated and getattr(user, "role", None) == User.Role.INSTRUCTOR)


def is_instructor_or_staff(user: Any) -> bool:
    return bool(
        user
        and user.is_authenticated
        and (user.is_staff or getattr(user, "role", None) in (User.Role.INSTRUCTOR, User.Role.STAFF))
    )


class MayEnroll(permissions.BasePermission):
    """With UNVERIFIED_USERS_MAY_ENROLL=false, a user must confirm their e-mail address
    before enrolling (a 403 saying so). The default lets them. No query: the column is on
    the user row that authentication loaded."""

    message = "Confirm your e-mail address before enrolling (POST /me/verify-email/ sends the link again)."

    def has_permission(self, request: Request, view: Any) -> bool:
        if settings.UNVERIFIED_USERS_MAY_ENROLL or not request.user.is_authenticated:
            return True
        return bool(getattr(request.user, "email_verified", False))
