"""The selection options shared by the enrollment commands: the admin changelist's filters."""

import argparse
from typing import Any

from django.core.management.base import CommandError
from django.db.models import Q, QuerySet

from courses.models import Enrollment


def add_enrollment_selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--status", choices=[s.value for s in Enrollment.Status], help="Only this status.")
    parser.add_argument("--course", type=int, action="append", default=[], help="A course id (repeatable).")
    parser.add_argument("--user", help="A learner's e-mail address (exact).")
    parser.add_argument("--search", help="Part of the learner's e-mail or of the course title, as in the admin.")
    parser.add_argument("--all", action="store_true", help="Every enrollment (required when no other option is).")


def enrollment_selection(options: dict[str, Any]) -> QuerySet[Enrollment]:
    rows = Enrollment.objects.all()
    if options["status"]:
        rows = rows.filter(status=options["status"])
    if options["course"]:
        rows = rows.filter(course_id__in=options["course"])
    if options["user"]:
        rows = rows.filter(user__email__iexact=options["user"])
    if options["search"]:
        term = options["search"]
        rows = rows.filter(Q(user__email__icontains=term) | Q(course__title__icontains=term))
    narrowed = any(options[name] for name in ("status", "course", "user", "search"))
    if not narrowed and not options["all"]:
        raise CommandError("Select enrollments with --status, --course, --user or --search, or pass --all.")
    return rows
