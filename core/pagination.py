"""Page-number pagination exactly as the API contract states it."""

from typing import Any

from django.core.cache import caches
from django.core.paginator import Paginator
from django.utils.functional import cached_property
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

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


class CachedCountPaginator(Paginator):
    """A paginator whose count, when a cache key is given, is computed once per version of
    the data and shared by every page of the same filtered list."""

    count_key: str | None = None

    @cached_property
    def count(self) -> int:
        if self.count_key is None:
            return super().count
        from core.catalogue_cache import CACHE_ALIAS, CacheUnavailable, cache_call, cache_call_quietly

        cache = caches[CACHE_ALIAS]
        try:
            cached = cache_call(cache.get, self.count_key)
        except CacheUnavailable:
            return super().count
        if cached is not None:
            return int(cached)
        value = super().count
        cache_call_quietly(cache.set, self.count_key, value)
        return value


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
            parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_NUMBER}
            parameter["description"] = descriptions.get(parameter["name"], parameter["description"])
        return parameters

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any] | None:
        positive_int_param(request, self.page_query_param)
        count_key = getattr(request, "catalogue_count_key", None)

        def make_paginator(*args: Any, **kwargs: Any) -> Paginator:
            paginator = CachedCountPaginator(*args, **kwargs)
            paginator.count_key = count_key
            return paginator

        self.django_paginator_class = make_paginator  # type: ignore[assignment]
        return super().paginate_queryset(queryset, request, view)
