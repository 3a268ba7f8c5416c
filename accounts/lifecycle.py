"""Writes of the account lifecycle: refresh and logout, password change and reset, e-mail
verification, revoking every token of a user. Each is one transaction; each logs its
event (accounts.auth_events). The e-mails leave after the commit (core.mail)."""

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from core.mail import send_after_commit

from .auth_events import auth_event
from .emails import (
    EMAIL_VERIFICATION_SALT,
    email_verification_message,
    password_reset_message,
)
from .models import User
from .services import normalize_email
from .tokens import RefreshToken, token_generation, token_pair_for

INVALID_RESET_LINK = "This reset link is invalid or has expired: ask for a new one."
INVALID_VERIFICATION_LINK = "This verification link is invalid or has expired: ask for a new one."
WRONG_CURRENT_PASSWORD = "This is not your current password."
REFRESH_REFUSED = "Token is invalid, expired or already used: sign in again."

# The password of the stand-in user that an unknown address is processed with: a reset
# request for it does the same work as for a real account (see password_reset_request).
_UNUSABLE = "!unknown-address"


def _decode_refresh(raw: str) -> RefreshToken:
    try:
        return RefreshToken(raw)  # type: ignore[arg-type]  # signature, expiry and type
    except TokenError as exc:
        raise InvalidToken(REFRESH_REFUSED) from exc


def _token_user_id(token: RefreshToken) -> int | None:
    try:
        return int(token.payload["user_id"])
    except (KeyError, TypeError, ValueError):
        return None


def refresh_token_rotate(*, raw: str, request: Any = None) -> dict[str, str]:
    """`POST /auth/token/refresh/`: revoke the refresh token presented and answer a new pair.

    A token already used or revoked (by logout, or for all the user's tokens by a password
    change or `tokens_revoke_all`), expired, or of an inactive user is a 401: the second
    of two requests racing with one token loses at the blacklist's unique index.
    """
    token = _decode_refresh(raw)
    user_id = _token_user_id(token)
    user = User.objects.filter(pk=user_id, is_active=True).first() if user_id is not None else None
    if user is None or token_generation(token) != user.token_generation:
        auth_event("token_refresh_refused", request=request, user_id=user_id, reason="revoked")
        raise InvalidToken(REFRESH_REFUSED)
    if not token.revoke(user_id=user.pk):  # its own transaction
        # Reuse of a rotated token: somebody else may hold the new one.
        auth_event("token_refresh_refused", request=request, user_id=user.pk, reason="reused")
        raise InvalidToken(REFRESH_REFUSED)
    auth_event("token_refreshed", request=request, user_id=user.pk)
    return token_pair_for(user)


def refresh_token_logout(*, raw: str, request: Any = None) -> None:
    """`POST /auth/logout/`: revoke the refresh token (again is fine: still logged out).
    The access tokens made from it live out their few minutes (JWT_ACCESS_MINUTES)."""
    token = _decode_refresh(raw)
    claimed = _token_user_id(token)
    user_id = User.objects.filter(pk=claimed).values_list("pk", flat=True).first() if claimed is not None else None
    token.revoke(user_id=user_id)  # its own transaction
    auth_event("logout", request=request, user_id=user_id)


@transaction.atomic
def password_change(*, user: User, current_password: str, new_password: str, request: Any = None) -> User:
    """`POST /me/password/`: check the current password, run AUTH_PASSWORD_VALIDATORS on the
    new one, and raise the token generation: every token of the user, on every device, is
    revoked (the caller gets a new pair from the view)."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    if not locked.check_password(current_password):
        auth_event("password_change_refused", request=request, user_id=user.pk, level=logging.WARNING)
        raise ValidationError({"current_password": [WRONG_CURRENT_PASSWORD]})
    try:
        validate_password(new_password, user=locked)
    except ValidationError as exc:
        raise ValidationError({"new_password": list(exc.messages)}) from exc
    locked.set_password(new_password)
    locked.token_generation += 1
    locked.save(update_fields=["password", "token_generation"])
    auth_event("password_changed", request=request, user_id=locked.pk)
    return locked


def password_reset_request(*, email: str, request: Any = None) -> None:
    """`POST /auth/password-reset/`: e-mail a reset link to an active account with that
    address. The caller is never told whether one exists, and an unknown address does the
    same work as a known one: the same query, the same token hashing and the same message
    built and handed to the mail thread, which drops the stand-in's (core.mail: no SMTP in
    the request), so both answer in the same time."""
    email = normalize_email(email)
    matches = list(User.objects.filter(email__iexact=email, is_active=True)[:2])
    user = matches[0] if len(matches) == 1 and matches[0].has_usable_password() else None
    target = user if user is not None else User(pk=0, email=email, password=_UNUSABLE)
    send_after_commit(password_reset_message(target), kind="password_reset", deliver=user is not None)
    auth_event("password_reset_requested", request=request, user_id=user.pk if user else None, email=email)


def _reset_user_id(uid: str) -> int | None:
    try:
        return int(force_str(urlsafe_base64_decode(uid)))
    except (TypeError, ValueError, OverflowError, UnicodeDecodeError):
        return None


@transaction.atomic
def password_reset_confirm(*, uid: str, token: str, new_password: str, request: Any = None) -> User:
    """`POST /auth/password-reset/confirm/`: set the new password if the link is valid.

    The token (Django's PasswordResetTokenGenerator) hashes the user's id, password hash
    and e-mail: it works once (the password it hashed is gone), not for another user, and
    not after PASSWORD_RESET_TIMEOUT. The row is locked, so two confirmations racing with
    one link cannot both succeed. Every token of the user is revoked, and the address is
    taken as verified (the link reached it)."""
    user_id = _reset_user_id(uid)
    user = User.objects.select_for_update().filter(pk=user_id, is_active=True).first() if user_id else None
    if user is None or not default_token_generator.check_token(user, token):
        auth_event("password_reset_refused", request=request, user_id=user.pk if user else None)
        raise ValidationError({"token": [INVALID_RESET_LINK]})
    try:
        validate_password(new_password, user=user)
    except ValidationError as exc:
        raise ValidationError({"new_password": list(exc.messages)}) from exc
    user.set_password(new_password)
    user.token_generation += 1
    fields = ["password", "token_generation"]
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        fields.append("email_verified_at")
    user.save(update_fields=fields)
    auth_event("password_reset_done", request=request, user_id=user.pk)
    return user


def email_verification_send(*, user: User, request: Any = None) -> bool:
    """E-mail a verification link to the user's address, unless it is verified already.
    For `POST /me/verify-email/` (registration sends the first, accounts.services)."""
    if user.email_verified:
        return False
    send_after_commit(email_verification_message(user), kind="email_verification")
    auth_event("email_verification_sent", request=request, user_id=user.pk)
    return True


def email_verify(*, token: str, request: Any = None) -> None:
    """`POST /auth/verify-email/`: mark the address of the link verified. One UPDATE; a link
    used again for an address already verified is fine (a second query tells that apart
    from a link for an address the account no longer has)."""
    try:
        data = signing.loads(token, salt=EMAIL_VERIFICATION_SALT, max_age=settings.EMAIL_VERIFICATION_MAX_AGE)
    except signing.BadSignature as exc:
        raise ValidationError({"token": [INVALID_VERIFICATION_LINK]}) from exc
    user_id, email = (data.get("u"), data.get("e")) if isinstance(data, dict) else (None, None)
    if not isinstance(user_id, int) or not isinstance(email, str):
        raise ValidationError({"token": [INVALID_VERIFICATION_LINK]})
    mine = User.objects.filter(pk=user_id, email=email, is_active=True)
    if mine.filter(email_verified_at__isnull=True).update(email_verified_at=timezone.now()):
        auth_event("email_verified", request=request, user_id=user_id)
        return
    if not mine.filter(email_verified_at__isnull=False).exists():
        raise ValidationError({"token": [INVALID_VERIFICATION_LINK]})


def tokens_revoke_all(*, users: QuerySet[User], request: Any = None, by: str = "operator") -> int:
    """Revoke every access and refresh token of these users at once: one UPDATE raising the
    token generation that authentication compares with every token (no per-request cost).
    Returns how many users it changed."""
    changed = users.update(token_generation=F("token_generation") + 1)
    auth_event("tokens_revoked", request=request, users=changed, by=by)
    return changed
