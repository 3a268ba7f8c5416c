"""Per-row aggregates as correlated subqueries, so aggregates over different relations
never multiply each other and only the rows of the page pay for them.
"""

import json
from decimal import Decimal
from typing import Any

from django.db.models import Aggregate, IntegerField, JSONField, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, JSONObject


class DecimalJSONDecoder(json.JSONDecoder):
    """JSON numbers with a fraction become Decimal: sums of money stay exact."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["parse_float"] = Decimal
        super().__init__(*args, **kwargs)


def count_subquery(queryset: QuerySet[Any], group_by: str, expression: Aggregate) -> Coalesce:
    """One correlated COUNT per outer row, grouped on the outer key, 0 when nothing matches."""
    counted = queryset.order_by().values(group_by).annotate(n=expression).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _empty_value(aggregate: Aggregate) -> Any:
    """What `aggregate` gives over no rows: its `default`, else 0 for Count, else None."""
    default = getattr(aggregate, "default", None)
    return default if default is not None else aggregate.empty_result_set_value


def stats_subquery(queryset: QuerySet[Any], group_by: str, **aggregates: Aggregate) -> Coalesce:
    """Several aggregates of one relation in ONE correlated subquery, read as a dict.

    A SELECT-list subquery returns a single column, so the aggregates travel as one JSON
    object (`{"name": value, ...}`); an outer row with no related rows gets each
    aggregate's empty value. Use filtered aggregates (`Count("pk", filter=Q(...))`) for
    subsets. Decimal results come back as Decimal, integers as int.
    """
    output = JSONField(decoder=DecimalJSONDecoder)
    row = queryset.order_by().values(group_by).annotate(stats=JSONObject(**aggregates)).values("stats")
    empty = JSONObject(**{name: Value(_empty_value(aggregate)) for name, aggregate in aggregates.items()})
    return Coalesce(Subquery(row, output_field=output), empty, output_field=output)
