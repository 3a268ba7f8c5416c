from typing import Any

from rest_framework import serializers
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer

from core.serializers import NewPasswordField, StrictInputSerializer

from .auth_events import auth_event
from .models import User
from .tokens import RefreshToken


class UserSerializer(serializers.ModelSerializer[User]):
    """The caller as `GET /me/` and `POST /auth/register/` show them."""

    # Annotation from accounts.selectors.user_profile_list.
    enrollment_count = serializers.IntegerField(read_only=True)
    # A column of the row (User.email_verified): no query.
    email_verified = serializers.BooleanField(read_only=True)

    class Meta:
        model = User
        fields = (
            "id",
            "email",
            "first_name",
            "last_name",
            "role",
            "plan",
            "enrollment_count",
            "email_verified",
            "date_joined",
        )
        read_only_fields = fields


class UserBriefSerializer(serializers.ModelSerializer[User]):
    name = serializers.CharField(read_only=True)  # User.name reads loaded columns only.

    class Meta:
        model = User
        fields = ("id", "name")
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

    # accounts.tokens.RefreshToken: the `staff` and `gen` claims, and no row at login.
    token_class = RefreshToken

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        data = super().validate(attrs)  # a failure is logged by the user_login_failed signal
        auth_event("login", request=self.context.get("request"), user_id=getattr(self.user, "pk", None))
        return data
