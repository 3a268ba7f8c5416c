from typing import Any, cast

from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt.views import TokenObtainPairView

from core.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent

from .models import User
from .selectors import user_profile
from .serializers import RegisterSerializer, TokenObtainSerializer, UserNamesSerializer, UserSerializer
from .services import user_register, user_update_names
from .throttling import ClientIPRateThrottle, EmailRateThrottle


class RegisterView(generics.GenericAPIView[User]):
    """`POST /auth/register/`: a new student account (201, without the password)."""

    serializer_class = RegisterSerializer
    permission_classes = (permissions.AllowAny,)
    throttle_classes = (ClientIPRateThrottle, EmailRateThrottle)
    throttle_scope = "auth_register"

    @extend_schema(request=RegisterSerializer, responses={201: UserSerializer}, parameters=[IDEMPOTENCY_KEY_PARAMETER])
    @idempotent
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_register(**serializer.validated_data)
        user.enrollment_count = 0  # type: ignore[attr-defined]  # a new account has none
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


class TokenView(TokenObtainPairView):
    """`POST /auth/token/`: `{email, password}` -> `{access, refresh}`; wrong credentials 401."""

    serializer_class = TokenObtainSerializer
    throttle_classes = (ClientIPRateThrottle, EmailRateThrottle)
    throttle_scope = "auth_token"


class MeView(generics.GenericAPIView[User]):
    """`GET /me/` and `PATCH /me/` (names only)."""

    serializer_class = UserSerializer
    permission_classes = (permissions.IsAuthenticated,)
    http_method_names = ["get", "patch", "head", "options"]

    def get_object(self) -> User:
        return user_profile(user_id=cast(User, self.request.user).pk)

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(UserSerializer(self.get_object()).data)

    @extend_schema(request=UserNamesSerializer, responses={200: UserSerializer})
    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = UserNamesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user_update_names(user=cast(User, request.user), **serializer.validated_data)
        return Response(UserSerializer(self.get_object()).data)
