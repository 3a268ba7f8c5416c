"""The read-API contract tests, run with the catalogue cache off and on.

`tests/courses/conftest.py` and `tests/programmes/conftest.py` import this: every test of a
`test_api.py` module that uses `api_client` runs twice. With the cache on, each anonymous or
token-bearing GET is sent twice, cold then warm, and both answers must be the same status,
headers and body (but `X-Cache` and `X-Request-ID`); the test then checks the warm one.
A client authenticated with `force_authenticate` sends no credentials the cache could see,
so its reads go to the views as with the cache off.
"""

from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

# Headers that say which path answered, or which request it was: never the same twice.
PER_REQUEST = {"X-Cache", "X-Request-ID"}


class ColdThenWarmClient(APIClient):
    def get(self, path: str, data: Any = None, follow: bool = False, **extra: Any) -> Any:  # type: ignore[override]
        if getattr(self.handler, "_force_user", None) is not None:
            return super().get(path, data, follow, **extra)
        with override_settings(CATALOGUE_CACHE_ENABLED=True):
            cold = super().get(path, data, follow, **extra)
            warm = super().get(path, data, follow, **extra)
        assert warm.status_code == cold.status_code, path
        assert headers(warm) == headers(cold), (path, headers(cold), headers(warm))
        assert warm.content == cold.content, path
        if cold.status_code in (200, 400, 404) and "X-Cache" in cold:
            assert warm["X-Cache"] == "hit", path
        return warm


def headers(response: Any) -> dict[str, str]:
    return {name: value for name, value in response.items() if name not in PER_REQUEST}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.module.__name__.endswith(".test_api") and "api_client" in metafunc.fixturenames:
        metafunc.parametrize("api_client", ["cache off", "cache on"], indirect=True)


@pytest.fixture
def api_client(request: pytest.FixtureRequest) -> APIClient:
    if getattr(request, "param", "cache off") == "cache on":
        return ColdThenWarmClient()
    return APIClient()
