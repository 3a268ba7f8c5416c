"""What a token carries and how one is revoked.

- `gen`: the user's `token_generation` when the token was made. Authentication compares it
  with the user row it loads anyway (accounts.authentication), so raising the column
  (a password change or reset, `manage.py revoke_tokens`, the admin's "Sign out everywhere")
  refuses every access and refresh token of the user at once, with no extra query.
- `staff`: whether the holder is staff, for the catalogue cache (core.catalogue_cache).

Refresh tokens are revoked one by one in simplejwt's blacklist tables (PostgreSQL, so every
instance refuses them): on logout, and on use, since a refresh answers a new refresh token
(rotation). A login writes nothing: the `OutstandingToken` row of a refresh token is
written when it is revoked, not when it is made (a row per login would make every login a
write, for tokens that are mostly never revoked). The row's unique `jti` and the blacklist
row's unique `token` are the arbiters: of two requests racing with one refresh token, the
second insert fails and that request is a 401.
"""

from typing import Any, cast

from django.db import IntegrityError, transaction
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import BlacklistMixin, Token
from rest_framework_simplejwt.tokens import RefreshToken as SimpleRefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from .models import User

GENERATION_CLAIM = "gen"


def token_generation(token: Any) -> int:
    """The generation a token was made in (0 for tokens made before the claim existed)."""
    value = token.get(GENERATION_CLAIM, 0)
    return value if isinstance(value, int) else -1


class RefreshToken(SimpleRefreshToken):
    """simplejwt's refresh token with the `gen` and `staff` claims, and no row at login."""

    @classmethod
    def for_user(cls, user: Any) -> "RefreshToken":
        # Token.for_user, past BlacklistMixin.for_user and its OutstandingToken insert.
        token = cast(RefreshToken, super(BlacklistMixin, cls).for_user(user))
        token[GENERATION_CLAIM] = user.token_generation
        token["staff"] = bool(user.is_staff)
        return token

    def verify(self, *args: Any, **kwargs: Any) -> None:
        # Signature, expiry and type only: whether it was revoked is decided by the
        # blacklist insert in revoke() (one statement, race-free), not by a prior SELECT.
        Token.verify(self, *args, **kwargs)

    def revoke(self, *, user_id: int | None) -> bool:
        """Blacklist this token. True when this call revoked it, False when it already was.

        Runs in the caller's transaction when there is one; two inserts when the token was
        never revoked, the usual case.
        """
        jti = str(self.payload["jti"])
        row = {
            "user_id": user_id,
            "token": str(self),
            "created_at": datetime_from_epoch(self.payload["iat"]) if "iat" in self.payload else None,
            "expires_at": datetime_from_epoch(self.payload["exp"]),
        }
        try:
            with transaction.atomic():
                outstanding = OutstandingToken.objects.create(jti=jti, **row)
                BlacklistedToken.objects.create(token=outstanding)
            return True
        except IntegrityError:
            pass
        # The jti has a row already: revoked before, or listed by simplejwt's own for_user.
        try:
            with transaction.atomic():
                known = OutstandingToken.objects.filter(jti=jti).first()
                if known is None:  # the user went away meanwhile: nothing left to use it for
                    return False
                BlacklistedToken.objects.create(token=known)
            return True
        except IntegrityError:
            return False


def token_pair_for(user: User) -> dict[str, str]:
    """A new `{access, refresh}` pair for the user, in their current generation."""
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}
