"""The API's URLs plus `/_test/sleep/<seconds>/`, a plain Django view (not DRF, so the
503 comes from core.middleware) that runs `pg_sleep`. Test settings only."""

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import include, path


def sleep(request: HttpRequest, seconds: int) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(%s)", [seconds])
    return JsonResponse({"slept": seconds})


urlpatterns = [
    path("_test/sleep/<int:seconds>/", sleep),
    path("", include("config.urls")),
]

handler400 = "core.exceptions.bad_request"
handler403 = "core.exceptions.permission_denied"
handler404 = "core.exceptions.not_found"
handler500 = "core.exceptions.server_error"
