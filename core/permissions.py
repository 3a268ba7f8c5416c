"""Permissions every app shares. Each app keeps its own rules in its `permissions.py`;
reads stay public (or as each viewset says), anonymous writes are a 401, writes by the
wrong role a 403."""

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.views import APIView


def is_staff(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.is_staff)


class IsStaff(permissions.BasePermission):
    """Staff only (bulk enrollment)."""

    message = "Only staff can do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return is_staff(request.user)
