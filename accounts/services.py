"""Writes to accounts. Each is one transaction; rules live here, not in serializers."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from rest_framework.exceptions import ValidationError

from core.cache_invalidation import USERS, catalogue_changed_on_commit
from core.mail import send_after_commit

from .emails import email_verification_message
from .models import User

DUPLICATE_EMAIL = "A user with this e-mail address already exists."


def normalize_email(email: str) -> str:
    """E-mails are stored in lower case, so the unique index also refuses case variants."""
    return email.strip().lower()


@transaction.atomic
def user_register(*, email: str, password: str, first_name: str = "", last_name: str = "") -> User:
    """Create a student on the free plan and e-mail them a verification link. The password
    goes through AUTH_PASSWORD_VALIDATORS; an e-mail already used, in any case, is a 400."""
    email = normalize_email(email)
    user = User(email=email, first_name=first_name, last_name=last_name, role=User.Role.STUDENT, plan=User.Plan.FREE)
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise ValidationError({"password": list(exc.messages)}) from exc
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": [DUPLICATE_EMAIL]})
    user.set_password(password)
    try:
        user.save(force_insert=True)
    except IntegrityError as exc:  # a concurrent registration won the unique index
        raise ValidationError({"email": [DUPLICATE_EMAIL]}) from exc
    # The address is confirmed by the link (accounts.lifecycle.email_verify); after commit.
    send_after_commit(email_verification_message(user), kind="email_verification")
    return user


@transaction.atomic
def user_update_names(*, user: User, first_name: str | None = None, last_name: str | None = None) -> User:
    """Change a user's names (only those given); nothing else about an account changes here."""
    changed: list[str] = []
    if first_name is not None:
        user.first_name = first_name
        changed.append("first_name")
    if last_name is not None:
        user.last_name = last_name
        changed.append("last_name")
    if changed:
        user.save(update_fields=changed)
        # Instructors' and reviewers' names appear in catalogue pages.
        catalogue_changed_on_commit(USERS)
    return user
