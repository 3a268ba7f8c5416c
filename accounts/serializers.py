from rest_framework import serializers

from .models import User


class UserSerializer(serializers.ModelSerializer[User]):
    """The caller as `GET /me/` and `POST /auth/register/` show them."""

    # Annotation from accounts.selectors.user_profile_list.
    enrollment_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = User
        fields = ("id", "email", "first_name", "last_name", "role", "plan", "enrollment_count", "date_joined")
        read_only_fields = fields


class RegisterSerializer(serializers.Serializer[User]):
    """The shape of a registration; the rules (password strength, unique e-mail) are in
    accounts.services.user_register. Fields not listed (role, plan, is_staff) are ignored."""

    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        write_only=True, max_length=128, trim_whitespace=False, style={"input_type": "password"}
    )
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")


class UserNamesSerializer(serializers.Serializer[User]):
    """`PATCH /me/`: names only; anything else sent is ignored."""

    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
