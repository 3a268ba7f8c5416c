"""Bearer authentication: simplejwt's, plus the per-user token generation."""

from typing import Any

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed

from .tokens import token_generation

REVOKED = "This token was revoked: sign in again."


class JWTAuthentication(authentication.JWTAuthentication):
    """One query, the user row, as before: its `token_generation` must equal the token's
    `gen` claim, or every token made before `accounts.lifecycle.tokens_revoke_all` (or a
    password change or reset) is a 401."""

    def get_user(self, validated_token: Any) -> Any:
        user = super().get_user(validated_token)
        if token_generation(validated_token) != getattr(user, "token_generation", 0):
            raise AuthenticationFailed(REVOKED, code="token_revoked")
        return user


class JWTScheme(SimpleJWTScheme):
    """The schema's `jwtAuth` (drf-spectacular's for simplejwt) for this subclass too."""

    target_class = "accounts.authentication.JWTAuthentication"
