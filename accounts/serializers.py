from typing import Any

from rest_framework import serializers
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer

from core.serializers import NewPasswordField, StrictInputSerializer

from .models import User


class UserSerializer(serializers.ModelSerializer[User]):
    """The caller as `GET /me/` and `POST /auth/register/` show them."""

    # Annotation from accounts.selectors.user_profile_list.
    enrollment_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = User
        fields = ("id", "email", "first_name", "last_name", "role", "plan", "enrollment_count", "date_joined")
        read_only_fields = fields


class RegisterSerializer(StrictInputSerializer[User]):
    """The shape of a registration; the rules (password strength, unique e-mail) are in
    accounts.services.user_register. Fields not listed (role, plan, is_staff) are ignored."""

    email = serializers.EmailField(max_length=254)
    password = NewPasswordField()
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")


class UserNamesSerializer(StrictInputSerializer[User]):
    """`PATCH /me/`: names only; anything else sent is ignored."""

    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)


class TokenObtainSerializer(StrictInputSerializer[Any], TokenObtainPairSerializer):
    """`POST /auth/token/`. The tokens carry a `staff` claim, so the catalogue cache can tell
    from a verified token alone, with no query, that the caller sees the public catalogue
    (core.catalogue_cache); access tokens made by refresh inherit it. `{"email": 5}` is a
    400 naming the field (StrictInputSerializer), not a 401 for an e-mail "5"."""

    @classmethod
    def get_token(cls, user: Any) -> Any:
        token = super().get_token(user)
        token["staff"] = bool(user.is_staff)
        return token
