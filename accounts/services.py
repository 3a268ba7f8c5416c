"""Writes to accounts. Each is one transaction; rules live here, not in serializers."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from core.errors import raise_for_constraint
from core.mail import send_after_commit
from core.services import model_update

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
    except ValidationError as exc:
        raise ValidationError({"password": list(exc.messages)}) from exc
    # The unique index is on the stored e-mail; an address kept in another case (by the
    # admin or createsuperuser) is found by this lookup on UPPER(email).
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": [DUPLICATE_EMAIL]})
    user.set_password(password)
    try:
        user.save(force_insert=True)
    except IntegrityError as exc:  # a concurrent registration won the unique index
        raise_for_constraint(exc, {"accounts_user_email_key": ValidationError({"email": [DUPLICATE_EMAIL]})})
    # The address is confirmed by the link (accounts.lifecycle.email_verify); after commit.
    send_after_commit(email_verification_message(user), kind="email_verification")
    return user


@transaction.atomic
def user_update_names(*, user: User, first_name: str | None = None, last_name: str | None = None) -> User:
    """Change a user's names (only those given); nothing else about an account changes here."""
    names = {"first_name": first_name, "last_name": last_name}
    model_update(instance=user, fields=names, data={k: v for k, v in names.items() if v is not None})
    return user
