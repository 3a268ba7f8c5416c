"""The errors services raise, in the domain's terms; `core.exceptions.exception_handler`
is the one place that turns them into HTTP answers. Services never import DRF.

- `django.core.exceptions.ValidationError`: the input breaks a rule (400), keyed by the
  field at fault where there is one;
- `django.core.exceptions.PermissionDenied`: the caller may not do this (403);
- `NotFound` (404) and `Conflict` (409), below.

Rules the database holds (unique slugs, ranges, states) are not checked twice: a service
writes, and a broken constraint is recognised by its name (`raise_for_constraint`).
"""

import functools
import re
from collections.abc import Mapping
from typing import NoReturn

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections
from django.db.models import UniqueConstraint


class DomainError(Exception):
    """A write the domain's rules refuse; `status_code` is its HTTP equivalent."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """No such thing to act on, as far as the caller may know."""

    status_code = 404


class Conflict(DomainError):
    """The current state of the thing forbids the write (a full course, a completed
    enrollment, a duplicate)."""

    status_code = 409


_CHECK = re.compile(r"CHECK constraint failed: (\w+)")
_UNIQUE = re.compile(r"UNIQUE constraint failed: (.+)$")


def violated_constraint(exc: IntegrityError) -> str | None:
    """The name of the constraint `exc` reports. PostgreSQL names it; SQLite names a CHECK
    and lists the columns of a UNIQUE, which are looked up among the models' constraints
    (a column's own `unique=True` has PostgreSQL's name, `<table>_<column>_key`)."""
    diag = getattr(exc.__cause__, "diag", None)
    if diag is not None:
        return diag.constraint_name
    text = str(exc)
    if match := _CHECK.match(text):
        # A named CHECK gives its name; a column's own check (a Positive*Field's `>= 0`)
        # gives the column, named here as PostgreSQL names it.
        return _column_check_names().get(match.group(1), match.group(1))
    if match := _UNIQUE.match(text):
        qualified = [item.strip() for item in match.group(1).split(",")]
        table = qualified[0].split(".")[0]
        columns = tuple(item.split(".", 1)[1] for item in qualified)
        return _unique_constraint_names().get((table, columns))
    return None


@functools.cache
def _unique_constraint_names() -> dict[tuple[str, tuple[str, ...]], str]:
    names: dict[tuple[str, tuple[str, ...]], str] = {}
    for model in apps.get_models():
        table = model._meta.db_table
        for field in model._meta.local_fields:
            if field.unique and not field.primary_key:
                names[(table, (str(field.column),))] = f"{table}_{field.column}_key"
        for constraint in model._meta.constraints:
            if isinstance(constraint, UniqueConstraint) and constraint.fields and constraint.condition is None:
                columns = tuple(str(model._meta.get_field(name).column) for name in constraint.fields)  # type: ignore[union-attr]
                names[(table, columns)] = constraint.name
    return names


@functools.cache
def _column_check_names() -> dict[str, str]:
    """Column -> `<table>_<column>_check` for the columns with a check of their own
    (`db_check`), where the column's name is found in one table only."""
    tables: dict[str, list[str]] = {}
    for model in apps.get_models():
        for field in model._meta.local_fields:
            if field.db_check(connection=connections[DEFAULT_DB_ALIAS]):
                tables.setdefault(str(field.column), []).append(model._meta.db_table)
    return {column: f"{found[0]}_{column}_check" for column, found in tables.items() if len(found) == 1}


def raise_for_constraint(exc: IntegrityError, errors: Mapping[str, Exception]) -> NoReturn:
    """Raise the error `errors` gives for the constraint `exc` broke, else `exc` itself (a
    constraint the caller did not expect is a bug, not bad input)."""
    error = errors.get(violated_constraint(exc) or "")
    if error is None:
        raise exc
    raise error from exc
