"""Page-number pagination exactly as the API contract states it, for every list.

Pages are computed for their own rows only. PostgreSQL evaluates the SELECT list,
correlated subqueries included, for every row that an OFFSET skips: page 150 of a course
list with per-row aggregates paid for 15,000 rows' aggregates (over a second at the large
demo scale). So a queryset is paged through `DeferredPage`: the OFFSET walks the ids alone
and the page query reads
`... WHERE id IN (SELECT id ... ORDER BY <ordering> LIMIT n OFFSET m) ORDER BY <ordering>`:
still one query. The count is the list's own (core.catalogue_cache.list_count shares it
between the pages of one cached public list).

Page numbers reach the first 10,000 results; past them a page is a 400 naming `?cursor=`,
which pages any depth by the list's ordering (core.cursor_pagination).
"""

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from core.catalogue_cache import list_count
from core.cursor_pagination import CursorPaginationMixin

MAX_PAGE_NUMBER_DIGITS = 18
MAX_PAGE_NUMBER = 10**MAX_PAGE_NUMBER_DIGITS - 1


def positive_int_param(request: Request, name: str) -> int | None:
    """The query parameter `name` as a positive integer, None when absent, else a 400."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > MAX_PAGE_NUMBER_DIGITS or int(raw) < 1:
        raise ValidationError({name: [f"'{name}' must be a positive integer."]})
    return int(raw)


def cursor_pages(view: Any) -> bool:
    """Whether the view's list offers `?cursor=`: every list, unless it says
    `cursor_pages = False` (an action's keyword argument) because its order is no keyset."""
    return bool(getattr(view, "cursor_pages", True))


class DeferredPage:
    """A queryset as Django's Paginator sees it: counted by `count`, sliced on its ids."""

    def __init__(self, queryset: QuerySet[Any], count: Callable[[], int] | None = None) -> None:
        self.queryset = queryset
        self._count = count or queryset.count

    @property
    def ordered(self) -> bool:
        return self.queryset.ordered

    def count(self) -> int:
        return self._count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, page: slice) -> QuerySet[Any]:
        # The ids subquery drops the annotations and joins nobody filters or orders by.
        # Both queries order alike and end with the id tie-breaker: the same rows, in order.
        return self.queryset.filter(pk__in=self.queryset.values("pk")[page])


class PageNumberPagination(CursorPaginationMixin, pagination.PageNumberPagination):
    """`?page=N&page_size=M`: default 10, above 100 clamped, bad values a 400, past the end a
    404, past the first 10,000 results a 400 naming `?cursor=`, which it also serves.
    Every list view gets it (DEFAULT_PAGINATION_CLASS) and needs nothing else."""

    page_size = 10
    page_size_query_param = "page_size"
    max_page_size = 100
    last_page_strings = ()  # "page=last" is not a positive integer

    def get_page_size(self, request: Request) -> int:
        size = positive_int_param(request, self.page_size_query_param)
        if size is None:
            return self.page_size
        return min(size, self.max_page_size)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        """Both parameters as the server reads them: a positive integer of at most 18 digits
        (anything else is a 400), so a client or a fuzzer knows the valid range."""
        descriptions = {
            self.page_query_param: "A page number, from 1; past the last page: 404.",
            self.page_size_query_param: f"Results per page: default {self.page_size}, above {self.max_page_size} "
            f"clamped to {self.max_page_size}.",
        }
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] not in descriptions:
                continue
            parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_NUMBER}
            parameter["description"] = descriptions[parameter["name"]]
        if not cursor_pages(view):
            return parameters
        return [*parameters, self.cursor_schema_parameter()]

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        response = super().get_paginated_response_schema(schema)
        response["required"] = ["results"]  # a cursor page has `next` and `results` only
        return response

    def get_paginated_response(self, data: Any) -> Any:
        if self._cursor_mode:
            return self.get_cursor_response(data)
        return super().get_paginated_response(data)

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any] | None:
        if self.cursor_query_param in request.query_params and cursor_pages(view):
            return self.paginate_by_cursor(queryset, request)
        self.check_depth(request, queryset, positive_int_param(request, self.page_query_param))
        if isinstance(queryset, QuerySet):
            rows = queryset
            queryset = DeferredPage(rows, count=lambda: list_count(request, rows.count))
        return super().paginate_queryset(queryset, request, view)
