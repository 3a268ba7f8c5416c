"""Shapes of the account lifecycle endpoints (the rules are in accounts.lifecycle)."""

from typing import Any

from rest_framework import serializers

from core.serializers import StrictInputSerializer

# A JWT of ours is ~300 characters; anything much longer is not one.
TOKEN_MAX_LENGTH = 2048


def password_field() -> serializers.CharField:
    return serializers.CharField(
        write_only=True, max_length=128, trim_whitespace=False, style={"input_type": "password"}
    )


class RefreshSerializer(StrictInputSerializer[Any]):
    """`POST /auth/token/refresh/` and `POST /auth/logout/`."""

    refresh = serializers.CharField(max_length=TOKEN_MAX_LENGTH, trim_whitespace=False)


class TokenPairSerializer(serializers.Serializer[Any]):
    """A new `{access, refresh}` pair (the refresh token used to get it is now revoked)."""

    access = serializers.CharField(read_only=True)
    refresh = serializers.CharField(read_only=True)


class PasswordChangeSerializer(StrictInputSerializer[Any]):
    current_password = password_field()
    new_password = password_field()


class PasswordResetSerializer(StrictInputSerializer[Any]):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmSerializer(StrictInputSerializer[Any]):
    """The `uid` and `token` of the e-mailed link, and the new password."""

    uid = serializers.CharField(max_length=64, trim_whitespace=False)
    token = serializers.CharField(max_length=128, trim_whitespace=False)
    new_password = password_field()


class EmailVerifySerializer(StrictInputSerializer[Any]):
    """The `token` of the e-mailed verification link."""

    token = serializers.CharField(max_length=512, trim_whitespace=False)


class EmailVerifiedSerializer(serializers.Serializer[Any]):
    email_verified = serializers.BooleanField(read_only=True)


class DetailSerializer(serializers.Serializer[Any]):
    detail = serializers.CharField(read_only=True)
