"""Writes to programmes. Each service is one transaction; errors are DRF exceptions."""

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from rest_framework.exceptions import ValidationError

from core.cache_invalidation import COURSES, PROGRAMMES, catalogue_changed_on_commit

from .models import Programme

PROGRAMME_FIELDS = ("title", "slug", "summary", "description", "is_active")


def _check_slug_free(slug: str, *, exclude_pk: int | None = None) -> None:
    taken = Programme.objects.filter(slug=slug)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise ValidationError({"slug": [f"A programme with the slug '{slug}' already exists."]})


def _save(programme: Programme, **kwargs: Any) -> None:
    try:
        programme.save(**kwargs)
    except IntegrityError as exc:  # a concurrent write took the slug after our check
        if "slug" not in str(exc):
            raise
        raise ValidationError({"slug": [f"A programme with the slug '{programme.slug}' already exists."]}) from exc


@transaction.atomic
def programme_create(
    *, title: str, slug: str, summary: str = "", description: str = "", is_active: bool = True
) -> Programme:
    """Create a programme (no courses yet: courses join it through course_create/update).
    A slug already taken is a 400."""
    _check_slug_free(slug)
    programme = Programme(title=title, slug=slug, summary=summary, description=description, is_active=is_active)
    _save(programme, force_insert=True)
    catalogue_changed_on_commit(PROGRAMMES)
    return programme


@transaction.atomic
def programme_update(*, programme: Programme, fields: Mapping[str, Any]) -> Programme:
    """Change the given `fields` (keys of PROGRAMME_FIELDS). A slug taken by another
    programme is a 400."""
    unknown = set(fields) - set(PROGRAMME_FIELDS)
    if unknown:
        raise TypeError(f"programme_update() got unknown fields: {sorted(unknown)}")
    if "slug" in fields and fields["slug"] != programme.slug:
        _check_slug_free(fields["slug"], exclude_pk=programme.pk)
    for name, value in fields.items():
        setattr(programme, name, value)
    if fields:
        _save(programme, update_fields=[*fields, "updated_at"])
    # Course details list their programmes.
    catalogue_changed_on_commit(PROGRAMMES, COURSES)
    return programme


@transaction.atomic
def programme_delete(*, programme: Programme) -> None:
    """Delete a programme and its course links; the courses and their enrollments stay."""
    programme.delete()
    catalogue_changed_on_commit(PROGRAMMES, COURSES)
