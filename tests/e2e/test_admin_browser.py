"""Staff work in Django admin, driven in a real headless Chromium (tests/e2e/conftest.py).

Screenshots go to artifacts/e2e/, which git ignores.
"""

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from courses.models import Course, Enrollment
from programmes.models import Programme
from tests.e2e.conftest import SCREENSHOTS
from tests.factories import CourseFactory, EnrollmentFactory, ProgrammeFactory, StaffFactory

PASSWORD = "browser-staff-password"

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def api_get(live_server: Any, path: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(live_server.url + path, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@override_settings(CATALOGUE_CACHE_ENABLED=True)
def test_staff_manage_the_catalogue_in_admin(page: Any, live_server: Any) -> None:
    staff = StaffFactory(email="admin@brisk.test", is_superuser=True, password=PASSWORD)
    programme = ProgrammeFactory(title="Data Science")
    course = CourseFactory(title="Statistics 101", programmes=[programme])
    CourseFactory(title="Hidden Course", is_published=False, programmes=[programme])
    EnrollmentFactory.create_batch(3, course=course)
    learner = EnrollmentFactory(course=course).user

    # Log in.
    page.goto("/admin/login/")
    page.fill("#id_username", staff.email)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    shot(page, "01-index")

    # Every changelist opens.
    for path, name in [
        ("/admin/accounts/user/", "users"),
        ("/admin/programmes/programme/", "programmes"),
        ("/admin/programmes/programmecourse/", "programme-courses"),
        ("/admin/courses/category/", "categories"),
        ("/admin/courses/course/", "courses"),
        ("/admin/courses/enrollment/", "enrollments"),
        ("/admin/courses/review/", "reviews"),
    ]:
        response = page.goto(path)
        assert response is not None
        assert response.status == 200, path
        page.wait_for_selector("#changelist")
        shot(page, f"02-changelist-{name}")

    # Search enrollments by the learner's e-mail.
    page.goto("/admin/courses/enrollment/")
    page.fill("#searchbar", learner.email)
    page.press("#searchbar", "Enter")
    page.wait_for_selector("#result_list")
    assert page.locator("#result_list tbody tr").count() == 1
    shot(page, "03-enrollment-search")

    # Filter courses by publication.
    page.goto("/admin/courses/course/?is_published__exact=0")
    page.wait_for_selector("#result_list")
    assert page.locator("#result_list tbody tr").count() == 1
    assert "Hidden Course" in page.inner_text("#result_list")
    shot(page, "04-course-filter")

    # Edit a programme; the API shows the change at once, though it had cached the page.
    assert api_get(live_server, f"/programmes/{programme.pk}/")[1]["title"] == "Data Science"
    page.goto(f"/admin/programmes/programme/{programme.pk}/change/")
    page.fill("#id_title", "Data Science, renamed")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist")
    shot(page, "05-programme-saved")
    assert Programme.objects.get(pk=programme.pk).title == "Data Science, renamed"
    status, body = api_get(live_server, f"/programmes/{programme.pk}/")
    assert status == 200
    assert body["title"] == "Data Science, renamed"

    # An action: unpublish the course; the API hides it at once.
    assert api_get(live_server, f"/courses/{course.pk}/")[0] == 200
    page.goto("/admin/courses/course/?is_published__exact=1")
    page.check(f"#result_list input[name=_selected_action][value='{course.pk}']")
    page.select_option("select[name=action]", "unpublish")
    page.click("button[name=index]")
    page.wait_for_selector(".messagelist")
    shot(page, "06-course-unpublished")
    assert not Course.objects.get(pk=course.pk).is_published
    assert api_get(live_server, f"/courses/{course.pk}/")[0] == 404

    # Cancel enrollments with an action.
    page.goto(f"/admin/courses/enrollment/?course__id__exact={course.pk}")
    page.check("#action-toggle")
    page.select_option("select[name=action]", "cancel")
    page.click("button[name=index]")
    page.wait_for_selector(".messagelist")
    shot(page, "07-enrollments-cancelled")
    assert not Enrollment.objects.filter(course=course).exclude(status=Enrollment.Status.CANCELLED).exists()
