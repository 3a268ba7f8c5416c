"""Logout, refresh rotation, password change and reset, e-mail verification.

Each view checks the shape of its body and calls one service of accounts.lifecycle.
"""

from typing import Any, cast

from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt.views import TokenViewBase

from .lifecycle import (
    email_verification_send,
    email_verify,
    password_change,
    password_reset_confirm,
    password_reset_request,
    refresh_token_logout,
    refresh_token_rotate,
)
from .lifecycle_serializers import (
    DetailSerializer,
    EmailVerifiedSerializer,
    EmailVerifySerializer,
    PasswordChangeSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
    RefreshSerializer,
    TokenPairSerializer,
)
from .models import User
from .throttling import ClientIPRateThrottle, EmailRateThrottle, ResetUidRateThrottle, UserRateThrottle
from .tokens import token_pair_for

RESET_REQUESTED = "If an account has this address, a reset link is on its way."


def _valid(serializer_class: type, request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return cast(dict[str, Any], serializer.validated_data)


class TokenRefreshView(TokenViewBase):
    """`POST /auth/token/refresh/` `{refresh}` -> `{access, refresh}`: the refresh token is
    used up (rotation); using it again, or after logout, is a 401."""

    serializer_class = RefreshSerializer

    @extend_schema(request=RefreshSerializer, responses={200: TokenPairSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raw = _valid(RefreshSerializer, request)["refresh"]
        return Response(refresh_token_rotate(raw=raw, request=request))


class LogoutView(TokenViewBase):
    """`POST /auth/logout/` `{refresh}` -> 204: that refresh token is revoked everywhere."""

    serializer_class = RefreshSerializer

    @extend_schema(request=RefreshSerializer, responses={204: None})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        refresh_token_logout(raw=_valid(RefreshSerializer, request)["refresh"], request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(generics.GenericAPIView[User]):
    """`POST /me/password/` `{current_password, new_password}` -> a new `{access, refresh}`;
    every other token of the user is revoked."""

    serializer_class = PasswordChangeSerializer
    permission_classes = (permissions.IsAuthenticated,)
    throttle_classes = (ClientIPRateThrottle, UserRateThrottle)
    throttle_scope = "auth_password_change"

    @extend_schema(request=PasswordChangeSerializer, responses={200: TokenPairSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = _valid(PasswordChangeSerializer, request)
        user = password_change(user=cast(User, request.user), request=request, **data)
        return Response(token_pair_for(user))


class PasswordResetView(generics.GenericAPIView[User]):
    """`POST /auth/password-reset/` `{email}` -> 202, whether or not the address has an account."""

    serializer_class = PasswordResetSerializer
    permission_classes = (permissions.AllowAny,)
    throttle_classes = (ClientIPRateThrottle, EmailRateThrottle)
    throttle_scope = "auth_password_reset"

    @extend_schema(request=PasswordResetSerializer, responses={202: DetailSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        password_reset_request(email=_valid(PasswordResetSerializer, request)["email"], request=request)
        return Response({"detail": RESET_REQUESTED}, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(generics.GenericAPIView[User]):
    """`POST /auth/password-reset/confirm/` `{uid, token, new_password}` -> 204."""

    serializer_class = PasswordResetConfirmSerializer
    permission_classes = (permissions.AllowAny,)
    throttle_classes = (ClientIPRateThrottle, ResetUidRateThrottle)
    throttle_scope = "auth_password_reset_confirm"

    @extend_schema(request=PasswordResetConfirmSerializer, responses={204: None})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        password_reset_confirm(request=request, **_valid(PasswordResetConfirmSerializer, request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmailVerifyView(generics.GenericAPIView[User]):
    """`POST /auth/verify-email/` `{token}` -> 200 `{email_verified: true}`."""

    serializer_class = EmailVerifySerializer
    permission_classes = (permissions.AllowAny,)
    throttle_classes = (ClientIPRateThrottle,)
    throttle_scope = "auth_email_verify"

    @extend_schema(request=EmailVerifySerializer, responses={200: EmailVerifiedSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        email_verify(token=_valid(EmailVerifySerializer, request)["token"], request=request)
        return Response({"email_verified": True})


class EmailVerifyResendView(generics.GenericAPIView[User]):
    """`POST /me/verify-email/` -> 202: a new verification link to the caller's address
    (none when it is verified already: `email_verified` says which)."""

    serializer_class = EmailVerifiedSerializer
    permission_classes = (permissions.IsAuthenticated,)
    throttle_classes = (ClientIPRateThrottle, UserRateThrottle)
    throttle_scope = "auth_email_verify_resend"

    @extend_schema(request=None, responses={202: EmailVerifiedSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = cast(User, request.user)
        email_verification_send(user=user, request=request)
        return Response({"email_verified": user.email_verified}, status=status.HTTP_202_ACCEPTED)
