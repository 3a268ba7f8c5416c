"""Pages whose joins and aggregates are computed for the rows of the page only.

PostgreSQL evaluates the SELECT list, correlated subqueries included, for every row that
an OFFSET skips: page 150 of a course list with per-row aggregates paid for 15,000 rows'
aggregates (over a second at the large demo scale). Paged through `DeferredPage`, the
OFFSET walks the ids alone and the page query reads
`... WHERE id IN (SELECT id ... ORDER BY <ordering> LIMIT n OFFSET m) ORDER BY <ordering>`:
still one query, and the same count query as before.
"""

from typing import Any

from django.db.models import QuerySet
from rest_framework.generics import GenericAPIView


class DeferredPage:
    """A queryset as Django's Paginator sees it: counted as is, sliced on its ids."""

    def __init__(self, queryset: QuerySet[Any]) -> None:
        self.queryset = queryset

    @property
    def ordered(self) -> bool:
        return self.queryset.ordered

    def count(self) -> int:
        return self.queryset.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, page: slice) -> QuerySet[Any]:
        # The ids subquery drops the annotations and joins nobody filters or orders by.
        # Both queries order alike and end with the id tie-breaker: the same rows, in order.
        return self.queryset.filter(pk__in=self.queryset.values("pk")[page])


class DeferredPageMixin(GenericAPIView[Any]):
    """Paginates every list of the view through `DeferredPage`."""

    def paginate_queryset(self, queryset: Any) -> list[Any] | None:
        if isinstance(queryset, QuerySet):
            queryset = DeferredPage(queryset)
        return super().paginate_queryset(queryset)
