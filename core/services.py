"""Pieces every app's services share."""

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models


def model_update(*, instance: models.Model, fields: Iterable[str], data: Mapping[str, Any]) -> list[str]:
    """Set those of `fields` that `data` has on `instance` and save just them (with any
    `auto_now` column, such as `updated_at`): one UPDATE, none when `data` has none of them.
    Returns the names set."""
    changed = [name for name in fields if name in data]
    for name in changed:
        setattr(instance, name, data[name])
    if changed:
        auto_now = [
            field.name
            for field in instance._meta.concrete_fields
            if getattr(field, "auto_now", False) and field.name not in changed
        ]
        instance.save(update_fields=[*changed, *auto_now])
    return changed
