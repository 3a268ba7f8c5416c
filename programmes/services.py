"""Writes to programmes. Each service is one transaction; errors are the domain's
(core.errors), and the unique slug is the database's to check."""

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from core.errors import raise_for_constraint
from core.services import model_update

from .models import Programme

PROGRAMME_FIELDS = ("title", "slug", "summary", "description", "is_active")


def _programme_errors(slug: str) -> dict[str, Exception]:
    """What a broken constraint of a programme write means to the caller."""
    return {
        "programmes_programme_slug_key": ValidationError(
            {"slug": [f"A programme with the slug '{slug}' already exists."]}
        ),
    }


@transaction.atomic
def programme_create(
    *, title: str, slug: str, summary: str = "", description: str = "", is_active: bool = True
) -> Programme:
    """Create a programme (no courses yet: courses join it through course_create/update).
    A slug already taken is a 400."""
    programme = Programme(title=title, slug=slug, summary=summary, description=description, is_active=is_active)
    try:
        programme.save(force_insert=True)
    except IntegrityError as exc:
        raise_for_constraint(exc, _programme_errors(slug))
    return programme


@transaction.atomic
def programme_update(*, programme: Programme, fields: Mapping[str, Any]) -> Programme:
    """Change the given `fields` (keys of PROGRAMME_FIELDS). A slug taken by another
    programme is a 400."""
    unknown = set(fields) - set(PROGRAMME_FIELDS)
    if unknown:
        raise TypeError(f"programme_update() got unknown fields: {sorted(unknown)}")
    try:
        model_update(instance=programme, fields=PROGRAMME_FIELDS, data=fields)
    except IntegrityError as exc:
        raise_for_constraint(exc, _programme_errors(programme.slug))
    return programme


@transaction.atomic
def programme_delete(*, programme: Programme) -> None:
    """Delete a programme and its course links; the courses and their enrollments stay."""
    programme.delete()
