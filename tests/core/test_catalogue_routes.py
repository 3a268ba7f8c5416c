"""The catalogue cache's routes come from the router, the viewsets and their filter sets."""

from typing import Any

import django_filters
import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework.routers import DefaultRouter

from config.api_router import router
from core.catalogue_cache import ALL_FAMILIES, match_route, routes
from core.catalogue_routes import routes_from_urls
from courses.filters import CourseFilter
from courses.views import CourseViewSet
from programmes.filters import ProgrammeFilter

PAGE = {"page", "page_size", "cursor"}


def test_the_cached_routes() -> None:
    table = {route.name: route.params for route in routes()}
    assert table == {
        "programme-list": frozenset(ProgrammeFilter.base_filters) | PAGE,
        "programme-detail": frozenset(ProgrammeFilter.base_filters),  # retrieve filters too
        "programme-courses": frozenset(PAGE) - {"cursor"},  # programme order: page numbers only
        "course-list": frozenset(CourseFilter.base_filters) | PAGE,
        "course-detail": frozenset(CourseFilter.base_filters),
        "course-reviews": frozenset(PAGE),
    }
    assert "seats" in {f for route in routes() if route.name == "course-detail" for f in route.families}
    assert all("seats" not in route.families for route in routes() if route.name != "course-detail")


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/programmes/", "programme-list"),
        ("/programmes/12/courses/", "programme-courses"),
        ("/courses/7/", "course-detail"),
        ("/courses/7/reviews/", "course-reviews"),
        ("/courses/7/enroll/", None),
        ("/enrollments/", None),
        ("/instructor/courses/", None),
        ("/courses.json", None),
    ],
)
def test_match_route(path: str, name: str | None) -> None:
    route = match_route(path)
    assert (route.name if route else None) == name


def test_a_parameter_added_to_a_filter_set_is_in_the_key() -> None:
    class WiderFilter(CourseFilter):
        level = django_filters.CharFilter(field_name="title")

        class Meta(CourseFilter.Meta):
            fields = (*CourseFilter.Meta.fields, "level")

    class WiderViewSet(CourseViewSet):
        filterset_class = WiderFilter

    wider = DefaultRouter(trailing_slash=True)
    wider.register("courses", WiderViewSet, basename="course")
    table = {r.name: r.params for r in routes_from_urls(wider.urls, frozenset(ALL_FAMILIES))}
    assert "level" in table["course-list"]
    assert "level" in table["course-detail"]
    assert "level" not in table["course-reviews"]  # @action(filterset_class=None)


def test_an_unknown_family_is_refused() -> None:
    class Misdeclared(CourseViewSet):
        catalogue_families: Any = {"list": ("courses", "typo")}

    bad = DefaultRouter(trailing_slash=True)
    bad.register("courses", Misdeclared, basename="course")
    with pytest.raises(ImproperlyConfigured, match="typo"):
        routes_from_urls(bad.urls, frozenset(ALL_FAMILIES))


def test_the_router_is_the_api_router() -> None:
    assert {route.name for route in routes()} <= {url.name for url in router.urls}
