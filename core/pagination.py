"""Page-number pagination exactly as the API contract states it."""

from typing import Any

from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

MAX_PAGE_NUMBER_DIGITS = 18


def positive_int_param(request: Request, name: str) -> int | None:
    """The query parameter `name` as a positive integer, None when absent, else a 400."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > MAX_PAGE_NUMBER_DIGITS or int(raw) < 1:
        raise ValidationError({name: [f"'{name}' must be a positive integer."]})
    return int(raw)


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=N&page_size=M`: default 10, above 100 clamped, bad values a 400, past the end a 404."""

    page_size = 10
    page_size_query_param = "page_size"
    max_page_size = 100
    last_page_strings = ()  # "page=last" is not a positive integer

    def get_page_size(self, request: Request) -> int:
        size = positive_int_param(request, self.page_size_query_param)
        if size is None:
            return self.page_size
        return min(size, self.max_page_size)

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any] | None:
        positive_int_param(request, self.page_query_param)
        return super().paginate_queryset(queryset, request, view)
