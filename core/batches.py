"""Work over any number of rows in bounded pieces: each a short query, writes each in its
own short transaction.

One `UPDATE` of 1.29 million enrollments ran past `statement_timeout` and rolled back
whole; one `SELECT` of two million rows for an export kept its client waiting 11.9 s for
the first byte. Here a selection is walked in primary-key order, `batch_size` rows at a
time, each piece found from the last key seen (`pk > last ORDER BY pk LIMIT n`, an index
range, so the hundredth piece costs what the first does).
"""

from collections.abc import Callable, Iterator
from typing import Any

from django.db import transaction
from django.db.models import QuerySet


def update_in_batches(
    queryset: QuerySet[Any],
    changes: dict[str, Any],
    *,
    batch_size: int,
    after_batch: Callable[[int], None] | None = None,
) -> int:
    """`queryset.update(**changes)`, `batch_size` rows per transaction; the number changed.

    Each transaction finds its rows and updates those still matching `queryset` (a row a
    concurrent write moved out of it meanwhile is left alone), then calls
    `after_batch(changed)` inside it (register on_commit work there: cache invalidation
    follows each batch). A failure rolls back its own batch only; the earlier ones stay.
    """
    total = 0
    last = None
    ordered = queryset.order_by("pk")
    while True:
        with transaction.atomic(savepoint=False):
            rows = ordered if last is None else ordered.filter(pk__gt=last)
            ids = list(rows.values_list("pk", flat=True)[:batch_size])
            if not ids:
                break
            changed = queryset.filter(pk__in=ids).update(**changes)
            total += changed
            if after_batch is not None:
                after_batch(changed)
        if len(ids) < batch_size:
            break
        last = ids[-1]
    return total


def values_in_chunks(queryset: QuerySet[Any], fields: tuple[str, ...], *, chunk_size: int) -> Iterator[tuple[Any, ...]]:
    """`queryset.values_list("pk", *fields)` in primary-key order, one short query per chunk
    (each yields its rows before the next one runs). The first value of a row is its key."""
    ordered = queryset.order_by("pk").values_list("pk", *fields)
    last = None
    while True:
        chunk = list((ordered if last is None else ordered.filter(pk__gt=last))[:chunk_size])
        yield from chunk
        if len(chunk) < chunk_size:
            return
        last = chunk[-1][0]
