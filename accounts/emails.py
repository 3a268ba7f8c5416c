"""The account e-mails: what they say and the links they carry."""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.mail import EmailMessage
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from .models import User

EMAIL_VERIFICATION_SALT = "accounts.email-verification"


def password_reset_uid(user: User) -> str:
    return urlsafe_base64_encode(force_bytes(user.pk))


def password_reset_message(user: User) -> EmailMessage:
    """The reset e-mail: a link to the frontend's page with `uid` and a single-use token
    (Django's PasswordResetTokenGenerator: it dies when the password changes, and after
    PASSWORD_RESET_TIMEOUT)."""
    link = settings.PASSWORD_RESET_URL.format(
        uid=password_reset_uid(user), token=default_token_generator.make_token(user)
    )
    minutes = settings.PASSWORD_RESET_TIMEOUT // 60
    body = (
        "Someone asked to reset the password of your Brisk account.\n\n"
        f"To choose a new password, open this link within {minutes} minutes:\n\n{link}\n\n"
        "It works once. If you did not ask for it, ignore this e-mail: your password stays as it is.\n"
    )
    return EmailMessage("Reset your Brisk password", body, to=[user.email])


def email_verification_token(user: User) -> str:
    """A signed `{user id, address}`: it confirms this address only (a changed address makes
    it useless) and expires after EMAIL_VERIFICATION_MAX_AGE."""
    return signing.dumps({"u": user.pk, "e": user.email}, salt=EMAIL_VERIFICATION_SALT)


def email_verification_message(user: User) -> EmailMessage:
    link = settings.EMAIL_VERIFICATION_URL.format(token=email_verification_token(user))
    body = (
        "Welcome to Brisk.\n\n"
        f"Please confirm that this address is yours by opening this link:\n\n{link}\n\n"
        "If you did not create an account, ignore this e-mail.\n"
    )
    return EmailMessage("Confirm your e-mail address", body, to=[user.email])
