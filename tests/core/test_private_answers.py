"""Private answers say `Cache-Control: private, no-store`: no browser or proxy keeps them."""

from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from tests.factories import CourseFactory, EnrollmentFactory, ProgrammeFactory

pytestmark = pytest.mark.django_db

NO_STORE = "private, no-store"


def as_user(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def bearer_client(user: Any) -> APIClient:
    from accounts.serializers import TokenObtainSerializer

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {TokenObtainSerializer.get_token(user).access_token}")
    return client


@pytest.mark.parametrize("cache_on", [False, True])
def test_private_reads(student: Any, instructor: Any, cache_on: bool) -> None:
    EnrollmentFactory(user=student)
    with override_settings(CATALOGUE_CACHE_ENABLED=cache_on):
        for client, url in [
            (bearer_client(student), "/me/"),
            (bearer_client(student), "/enrollments/"),
            (bearer_client(instructor), "/instructor/courses/"),
            (APIClient(), "/me/"),  # the 401 too
        ]:
            response = client.get(url)
            assert response["Cache-Control"] == NO_STORE, (url, response.status_code)


def test_authenticated_writes(student: Any, instructor: Any, staff: Any) -> None:
    course = CourseFactory(instructor=instructor, capacity=5)
    learner = as_user(student)
    responses = {
        "me patch": learner.patch("/me/", {"first_name": "New"}, format="json"),
        "enroll": learner.post(f"/courses/{course.pk}/enroll/"),
        "progress": None,
        "cancel": None,
        "course create": as_user(staff).post(
            "/courses/",
            {"title": "T", "slug": "t", "description": "d", "price": "1.00", "instructor_id": instructor.pk},
            format="json",
        ),
        "programme create": as_user(staff).post("/programmes/", {"title": "P", "slug": "p"}, format="json"),
        "bulk": as_user(staff).post(
            f"/courses/{course.pk}/enrollments/bulk/", {"user_ids": [instructor.pk]}, format="json"
        ),
        "token": APIClient().post("/auth/token/", {"email": student.email, "password": "x"}, format="json"),
    }
    enrollment_id = responses["enroll"].json()["id"]
    responses["progress"] = learner.patch(f"/enrollments/{enrollment_id}/", {"progress": 10}, format="json")
    responses["cancel"] = learner.post(f"/enrollments/{enrollment_id}/cancel/")
    for name, response in responses.items():
        assert response is not None
        assert response["Cache-Control"] == NO_STORE, (name, response.status_code, response.content[:200])


@override_settings(CATALOGUE_CACHE_ENABLED=True)
def test_public_catalogue_keeps_its_own_header(student: Any) -> None:
    ProgrammeFactory()
    assert APIClient().get("/programmes/")["Cache-Control"].startswith("public")
    assert bearer_client(student).get("/programmes/")["Cache-Control"] == "private, no-cache"
