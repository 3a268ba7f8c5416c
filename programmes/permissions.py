"""Who may write programmes."""

from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.views import APIView

from core.permissions import is_staff


class StaffWritesOrReadOnly(permissions.BasePermission):
    """Anyone reads; only staff write (programmes)."""

    message = "Only staff can change programmes."
    allows_anonymous_reads = True  # the schema marks a token optional on reads (core.schema)

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        if not request.user.is_authenticated:
            return False  # 401 via the authenticator's WWW-Authenticate
        return is_staff(request.user)
