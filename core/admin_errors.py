"""Errors inside the admin answer as admin pages (HTML), not as the API's JSON.

A staff user who runs into a database or cache outage in the admin reads an admin page
that says what happened, with a link back; API clients keep their 503 JSON
(core.middleware.ServiceUnavailableMiddleware). The page is drawn without the session,
the user's permissions or the messages, which may be what is down.
"""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.loader import get_template
from django.urls import NoReverseMatch, reverse


def is_admin_request(request: HttpRequest) -> bool:
    try:
        return request.path.startswith(reverse("admin:index"))
    except NoReverseMatch:
        return False


def admin_unavailable_page(request: HttpRequest, what: str) -> HttpResponse:
    """A 503 admin page for `what` ("database" or "cache") being down or too slow."""
    context = {
        "title": f"The {what} is unavailable",
        "what": what,
        "site_title": admin.site.site_title,
        "site_header": admin.site.site_header,
        "site_url": None,
        "has_permission": False,
        "is_nav_sidebar_enabled": False,
        "is_popup": False,
        "retry_url": request.get_full_path() if request.method == "GET" else request.path,
    }
    body = get_template("admin/service_unavailable.html").render(context)
    return HttpResponse(body, status=503, headers={"Retry-After": "5"})
