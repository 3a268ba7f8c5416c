"""Local development: DEBUG on by default, the browsable API for people."""

from .base import *  # noqa: F403
from .base import REST_FRAMEWORK, env

DEBUG = env.bool("DEBUG", default=True)

REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] = [
    "drf_orjson_renderer.renderers.ORJSONRenderer",
    "rest_framework.renderers.BrowsableAPIRenderer",
]
