"""The programme admin: course counts from annotations, the ordered inline, actions."""

from typing import Any

import pytest
from django.contrib.admin.sites import site
from django.contrib.contenttypes.models import ContentType
from django.test import Client

from programmes.models import Programme, ProgrammeCourse
from tests.factories import CourseFactory, ProgrammeCourseFactory, ProgrammeFactory

pytestmark = pytest.mark.django_db

AUTH = 2  # session + user
PROGRAMMES_URL = "/admin/programmes/programme/"
LINKS_URL = "/admin/programmes/programmecourse/"


@pytest.fixture(autouse=True)
def _warm_content_types() -> None:
    """Cached per process: a running server has them already."""
    ContentType.objects.get_for_models(*site._registry)


def build_programmes(n: int, courses_each: int = 3) -> list[Programme]:
    programmes = ProgrammeFactory.create_batch(n)
    for programme in programmes:
        CourseFactory.create_batch(courses_each - 1, programmes=[programme])
        CourseFactory(programmes=[programme], is_published=False)
    return programmes


def post_action(client: Client, action: str, pks: list[int]) -> Any:
    return client.post(PROGRAMMES_URL, {"action": action, "_selected_action": [str(pk) for pk in pks], "index": "0"})


@pytest.mark.parametrize("rows", [1, 50])
def test_programme_changelist_budget(admin_client: Client, django_assert_num_queries: Any, rows: int) -> None:
    build_programmes(rows)
    with django_assert_num_queries(AUTH + 2):  # + count + page with course_count
        response = admin_client.get(PROGRAMMES_URL)
    assert response.status_code == 200
    result = response.context["cl"].result_list
    assert len(result) == rows
    assert {p.course_count for p in result} == {3}  # drafts included


@pytest.mark.parametrize("rows", [1, 50])
def test_programme_course_changelist_budget(
    admin_client: Client, django_assert_num_queries: Any, on_postgres: bool, rows: int
) -> None:
    build_programmes(rows, courses_each=1)
    count_queries = 2 if on_postgres else 1  # the estimating paginator
    with django_assert_num_queries(AUTH + count_queries + 1):  # + page with programme and course
        response = admin_client.get(LINKS_URL)
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == rows


@pytest.mark.parametrize("courses", [1, 30])
def test_change_form_with_its_courses_budget(
    admin_client: Client, django_assert_num_queries: Any, courses: int
) -> None:
    programme = build_programmes(1, courses_each=courses)[0]
    # + the programme + the inline's rows with their courses (one query, however many)
    with django_assert_num_queries(AUTH + 2):
        response = admin_client.get(f"{PROGRAMMES_URL}{programme.pk}/change/")
    assert response.status_code == 200
    inline = response.context["inline_admin_formsets"][0]
    assert len(inline.formset.forms) == courses


def test_inline_lists_courses_by_position(admin_client: Client) -> None:
    programme = ProgrammeFactory()
    third = ProgrammeCourseFactory(programme=programme, position=2).course
    first = ProgrammeCourseFactory(programme=programme, position=0).course
    second = ProgrammeCourseFactory(programme=programme, position=1).course
    response = admin_client.get(f"{PROGRAMMES_URL}{programme.pk}/change/")
    forms = response.context["inline_admin_formsets"][0].formset.forms
    assert [form.instance.course_id for form in forms] == [first.pk, second.pk, third.pk]


def test_editing_a_programme_and_adding_a_course(admin_client: Client) -> None:
    programme = build_programmes(1, courses_each=2)[0]
    links = list(programme.course_links.order_by("position"))
    new_course = CourseFactory()
    existing, added = "course_links", "course_links-2"
    data = {
        "title": "Renamed programme",
        "slug": programme.slug,
        "summary": programme.summary,
        "description": programme.description,
        "is_active": "on",
        f"{existing}-TOTAL_FORMS": "2",
        f"{existing}-INITIAL_FORMS": "2",
        f"{existing}-0-id": str(links[0].pk),
        f"{existing}-0-programme": str(programme.pk),
        f"{existing}-0-position": "1",
        f"{existing}-1-id": str(links[1].pk),
        f"{existing}-1-programme": str(programme.pk),
        f"{existing}-1-position": "0",
        f"{added}-TOTAL_FORMS": "1",
        f"{added}-INITIAL_FORMS": "0",
        f"{added}-0-course": str(new_course.pk),
        f"{added}-0-position": "2",
        f"{added}-0-programme": str(programme.pk),
    }
    response = admin_client.post(f"{PROGRAMMES_URL}{programme.pk}/change/", data)
    assert response.status_code == 302, response.context and [
        formset.errors for formset in response.context["inline_admin_formsets"]
    ]
    programme.refresh_from_db()
    assert programme.title == "Renamed programme"
    ordered = list(programme.course_links.order_by("position").values_list("course_id", flat=True))
    assert ordered == [links[1].course_id, links[0].course_id, new_course.pk]


@pytest.mark.parametrize("selected", [1, 30])
def test_activate_and_deactivate_run_in_constant_queries(
    admin_client: Client, django_assert_num_queries: Any, selected: int
) -> None:
    programmes = ProgrammeFactory.create_batch(selected, is_active=True)
    other = ProgrammeFactory(is_active=True)
    pks = [p.pk for p in programmes]
    # + the changelist's count + one UPDATE
    with django_assert_num_queries(AUTH + 2):
        response = post_action(admin_client, "deactivate", pks)
    assert response.status_code == 302
    assert Programme.objects.filter(pk__in=pks, is_active=False).count() == selected
    other.refresh_from_db()
    assert other.is_active
    with django_assert_num_queries(AUTH + 2):
        post_action(admin_client, "activate", pks)
    assert Programme.objects.filter(is_active=True).count() == selected + 1


def test_deactivated_programme_is_fresh_in_the_api_at_once(admin_client: Client) -> None:
    programme = ProgrammeFactory(is_active=True)
    api = Client()
    assert api.get("/programmes/", {"is_active": "false"}).json()["count"] == 0
    post_action(admin_client, "deactivate", [programme.pk])
    assert api.get("/programmes/", {"is_active": "false"}).json()["count"] == 1


@pytest.mark.parametrize(
    ("url", "params"),
    [
        (PROGRAMMES_URL, {"q": "Programme"}),
        (PROGRAMMES_URL, {"is_active__exact": "1"}),
        (LINKS_URL, {"q": "Course"}),
    ],
)
def test_searches_and_filters_answer(admin_client: Client, url: str, params: dict[str, str]) -> None:
    build_programmes(2)
    response = admin_client.get(url, params)
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) > 0


def test_link_change_form_renders(admin_client: Client, django_assert_num_queries: Any) -> None:
    link = ProgrammeCourse.objects.get(pk=ProgrammeCourseFactory().pk)
    # + the link + the programme's and the course's autocomplete labels
    with django_assert_num_queries(AUTH + 3):
        response = admin_client.get(f"{LINKS_URL}{link.pk}/change/")
    assert response.status_code == 200
