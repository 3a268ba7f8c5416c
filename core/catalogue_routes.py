"""The catalogue cache's routes, derived from the code that defines the API.

A viewset opts in with `catalogue_families`: the actions whose anonymous GET answer is
cached, each with the catalogue families (core.catalogue_cache.TABLE_FAMILIES) its page
reads. Everything else comes from the code that serves the route, so it cannot drift from
it: the pattern is the router's own URL pattern, the parameters are those of the action's
filter set (`@action(filterset_class=None)` has none), search and ordering filters, and,
for every action but `retrieve`, the paginator's page and page size. A parameter added to
a filter set is in the cache key and the normalised query at once.

settings.CATALOGUE_CACHE_ROUTER names the router (config builds it; core imports no app).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class Route:
    name: str
    pattern: re.Pattern[str]
    families: tuple[str, ...]
    params: frozenset[str]


def _view_attribute(callback: Any, name: str) -> Any:
    """An attribute as the view instance of this URL sees it: `@action(...)` keyword
    arguments override the viewset's class attributes."""
    initkwargs = getattr(callback, "initkwargs", {})
    if name in initkwargs:
        return initkwargs[name]
    return getattr(callback.cls, name, None)


def _filter_params(callback: Any) -> set[str]:
    from django_filters.rest_framework import DjangoFilterBackend
    from rest_framework.filters import OrderingFilter, SearchFilter

    params: set[str] = set()
    for backend in _view_attribute(callback, "filter_backends") or ():
        if issubclass(backend, DjangoFilterBackend):
            filterset_class = _view_attribute(callback, "filterset_class")
            if filterset_class is not None:
                params |= set(filterset_class.base_filters)
        elif issubclass(backend, SearchFilter) and _view_attribute(callback, "search_fields"):
            params.add(backend.search_param)
        elif issubclass(backend, OrderingFilter) and _view_attribute(callback, "ordering_fields"):
            params.add(backend.ordering_param)
    return params


def _page_params(callback: Any) -> set[str]:
    pagination_class = _view_attribute(callback, "pagination_class")
    if pagination_class is None:
        return set()
    paginator = pagination_class()
    wanted = ["page_query_param", "page_size_query_param"]
    if _view_attribute(callback, "cursor_pages") is not False:
        wanted.append("cursor_query_param")
    names = (getattr(paginator, name, None) for name in wanted)
    return {name for name in names if name}


def routes_from_urls(patterns: list[Any], known_families: frozenset[str]) -> tuple[Route, ...]:
    """The cached routes among a router's URL patterns (mounted at the site's root)."""
    routes = []
    for url in patterns:
        callback = url.callback
        actions = getattr(callback, "actions", None)
        if getattr(callback, "cls", None) is None or not actions or "get" not in actions:
            continue
        regex = url.pattern.regex
        if "format" in regex.groupindex:  # `.json` suffix variants are not cached
            continue
        action = actions["get"]
        families = getattr(callback.cls, "catalogue_families", {}).get(action)
        if families is None:
            continue
        unknown = set(families) - known_families
        if unknown:
            raise ImproperlyConfigured(f"{callback.cls.__name__}.catalogue_families: unknown families {unknown}")
        params = _filter_params(callback)
        if action != "retrieve":
            params |= _page_params(callback)
        pattern = re.compile("^/" + regex.pattern.removeprefix("^"))
        routes.append(Route(url.name, pattern, tuple(families), frozenset(params)))
    return tuple(routes)
