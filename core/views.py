"""Views of the API's own plumbing (the probes are in core.health)."""

import threading
from typing import Any

from django.utils import translation
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.request import Request
from rest_framework.response import Response


class SchemaView(SpectacularAPIView):
    """`GET /schema/`, built once per process and then served from memory.

    drf-spectacular builds the schema on every request (about a second here), and the
    first builds in a process are not thread-safe: its extensions import their targets
    lazily, and two threads doing it at once raised AttributeError, a 500 for both (found
    by tests/fault/test_fuzz.py, whose three fuzzers load the schema together from a fresh
    gthread worker; tests/fault/test_faults.py reproduces it). One thread builds it under
    a lock; every caller gets the same document (SERVE_PUBLIC, no versioning), so one copy
    per language is kept.
    """

    _lock = threading.Lock()
    _built: dict[tuple[str | None, str | None], Any] = {}

    def _get_schema_response(self, request: Request) -> Response:
        version = self.api_version or request.version or self._get_version_parameter(request)
        key = (version, translation.get_language())
        with self._lock:
            if key not in self._built:
                self._built[key] = super()._get_schema_response(request).data
        filename = self._get_filename(request, version)
        return Response(data=self._built[key], headers={"Content-Disposition": f'inline; filename="{filename}"'})


# The documentation pages load nothing from elsewhere (drf-spectacular-sidecar serves
# Swagger UI and ReDoc from our static files): the browser is told so, and blocks anything
# that would, such as ReDoc's attribution logo on a CDN. Inline styles stay allowed: both
# UIs set them from JavaScript. ReDoc searches in a worker made from a blob.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


class DocsPageMixin:
    """Adds DOCS_CONTENT_SECURITY_POLICY to a documentation page's answer."""

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        response["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
        return response


class SwaggerView(DocsPageMixin, SpectacularSwaggerSplitView):
    """`GET /docs/`: Swagger UI; its settings script is `/docs/?script` (no inline script)."""


class RedocView(DocsPageMixin, SpectacularRedocView):
    """`GET /redoc/`: ReDoc, without the third-party fonts of drf-spectacular's page."""

    template_name = "core/redoc.html"
