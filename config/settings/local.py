"""Local development: DEBUG on by default, the browsable API for people."""

from importlib.util import find_spec

from .base import *  # noqa: F403
from .base import INSTALLED_APPS, MIDDLEWARE, REST_FRAMEWORK, env

DEBUG = env.bool("DEBUG", default=True)

REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] = [
    "drf_orjson_renderer.renderers.ORJSONRenderer",
    "rest_framework.renderers.BrowsableAPIRenderer",
]

# django-debug-toolbar: here only. It is in requirements-dev.txt, not requirements.txt, so
# the production image cannot import it (tests/core/test_settings.py checks both).
if DEBUG and env.bool("DEBUG_TOOLBAR", default=True) and find_spec("debug_toolbar"):
    INSTALLED_APPS = [*INSTALLED_APPS, "debug_toolbar"]
    _after = MIDDLEWARE.index("core.health.HealthCheckMiddleware") + 1
    MIDDLEWARE = [*MIDDLEWARE[:_after], "debug_toolbar.middleware.DebugToolbarMiddleware", *MIDDLEWARE[_after:]]
    INTERNAL_IPS = ["127.0.0.1", "::1"]
    # Collapsed by default, and off the admin's pages unless asked for (config.local_toolbar).
    DEBUG_TOOLBAR_ON_ADMIN = env.bool("DEBUG_TOOLBAR_ON_ADMIN", default=False)
    DEBUG_TOOLBAR_CONFIG = {
        "SHOW_COLLAPSED": True,
        "SHOW_TOOLBAR_CALLBACK": "config.local_toolbar.show_toolbar",
    }
