"""Writes and exports over many courses or enrollments at once, for the admin's actions and
their management commands: bounded batches, each its own short transaction, the catalogue
cache invalidated right after each (core.batches)."""

import csv
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from core.batches import update_in_batches, values_in_chunks

from .models import Course, Enrollment

BATCH_SIZE = 1_000
EXPORT_CHUNK_SIZE = 2_000

# (header, lookup): the lookups join users and courses in each chunk's one query.
EXPORT_COLUMNS = (
    ("user_email", "user__email"),
    ("course_slug", "course__slug"),
    ("course_title", "course__title"),
    ("status", "status"),
    ("progress", "progress"),
    ("amount_paid", "amount_paid"),
    ("enrolled_at", "enrolled_at"),
    ("completed_at", "completed_at"),
)


def enrollments_cancel(queryset: QuerySet[Enrollment], *, batch_size: int = BATCH_SIZE) -> int:
    """Cancel the active enrollments of `queryset` (as enrollment_cancel does for one:
    completed ones stay completed); the number cancelled."""
    active = queryset.filter(status=Enrollment.Status.ACTIVE)
    return update_in_batches(active, {"status": Enrollment.Status.CANCELLED}, batch_size=batch_size)


def courses_set_published(queryset: QuerySet[Course], published: bool, *, batch_size: int = BATCH_SIZE) -> int:
    """Publish (or unpublish) the courses of `queryset` not already so; the number changed."""
    return update_in_batches(
        queryset.filter(is_published=not published),
        {"is_published": published, "updated_at": timezone.now()},
        batch_size=batch_size,
    )


class _Echo:
    """A file whose write() returns the line: csv.writer then yields lines one by one."""

    def write(self, value: str) -> str:
        return value


def _csv_safe(value: Any) -> Any:
    """Keep a spreadsheet from reading a cell as a formula (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def enrollments_csv(queryset: QuerySet[Enrollment], *, chunk_size: int = EXPORT_CHUNK_SIZE) -> Iterator[str]:
    """CSV lines of `queryset` in id order: the header at once, before any query, then one
    short query per `chunk_size` rows, so the first byte never waits for the whole set."""
    writer = csv.writer(_Echo())
    yield writer.writerow(["id", *(header for header, _lookup in EXPORT_COLUMNS)])
    fields = tuple(lookup for _header, lookup in EXPORT_COLUMNS)
    for row in values_in_chunks(queryset, fields, chunk_size=chunk_size):
        yield writer.writerow([_csv_safe(value) for value in row])
