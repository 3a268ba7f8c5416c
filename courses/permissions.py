"""Who may write courses, and who has a course dashboard."""

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.permissions import is_instructor, is_instructor_or_staff
from core.permissions import is_staff


class CourseWritePermission(permissions.BasePermission):
    """Anyone reads; staff and instructors create; staff or the course's own instructor
    change or delete it. Other writes on a course (enrol, review, bulk) check their own."""

    message = "Only staff or this course's instructor can change it."
    allows_anonymous_reads = True  # the schema marks a token optional on reads (core.schema)
    OWNER_ACTIONS = frozenset({"update", "partial_update", "destroy"})

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        if not request.user.is_authenticated:
            return False
        action = getattr(view, "action", None)
        if action == "create":
            self.message = "Only staff and instructors can create courses."
            return is_staff(request.user) or is_instructor(request.user)
        if action in self.OWNER_ACTIONS:
            return is_staff(request.user) or is_instructor(request.user)
        return True

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        if getattr(view, "action", None) not in self.OWNER_ACTIONS:
            return True
        return is_staff(request.user) or obj.instructor_id == request.user.pk


class IsInstructorOrStaff(permissions.BasePermission):
    """Instructors and staff; anyone else is a 403 (anonymous a 401)."""

    message = "Only instructors and staff have a course dashboard."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return is_instructor_or_staff(request.user)
