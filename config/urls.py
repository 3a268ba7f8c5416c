from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from core.views import RedocView, SchemaView, SwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("schema/", SchemaView.as_view(), name="schema"),
    # Swagger UI and ReDoc from our own static files (drf-spectacular-sidecar), under a
    # Content-Security-Policy of 'self': they render offline (core.views).
    path("docs/", SwaggerView.as_view(url_name="schema"), name="docs"),
    path("redoc/", RedocView.as_view(url_name="schema"), name="redoc"),
    path("", include("accounts.urls")),
    path("", include("config.api_router")),
]
# /healthz and /readyz are answered by core.health.HealthCheckMiddleware, ahead of host
# validation and the HTTPS redirect, so they have no route here.

if "debug_toolbar" in settings.INSTALLED_APPS:  # local settings only
    from debug_toolbar.toolbar import debug_toolbar_urls

    urlpatterns += debug_toolbar_urls()

handler400 = "core.exceptions.bad_request"
handler403 = "core.exceptions.permission_denied"
handler404 = "core.exceptions.not_found"
handler500 = "core.exceptions.server_error"
