"""No answer is kept by a browser or a shared cache unless it says it may be.

The public catalogue says so itself (core.catalogue_cache: `public, max-age=0, s-maxage=...`
with an ETag, or `private, no-cache` for a signed-in learner sharing the public entry).
Every other answer — `/me/`, `/enrollments/`, `/instructor/courses/`, every write, every
error — carries `Cache-Control: private, no-store`, unless its view chose a header itself.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

PRIVATE = "private, no-store"


class PrivateByDefaultMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Cache-Control" not in response:
            response["Cache-Control"] = PRIVATE
        return response
