"""`/docs/` (Swagger UI) and `/redoc/` (ReDoc) as production serves them: Gunicorn with
the production settings and the static files collected as the image collects them, served
by WhiteNoise. Every file the pages load must come from the server itself (a browser
without internet, a locked-down network or a CSP of 'self' sees the same pages), and the
pages must list the API's operations. Screenshots go to artifacts/e2e/."""

import re
from collections.abc import Iterator
from typing import Any

import pytest

from harness import Gunicorn, gunicorn, manage, production_env
from tests.e2e.conftest import SCREENSHOTS

# Paths of the contract that both pages must show.
SOME_PATHS = ["/programmes/", "/courses/{id}/enroll/", "/enrollments/", "/auth/token/", "/me/"]


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gunicorn]:
    root = tmp_path_factory.mktemp("docs-server")
    env = production_env(
        f"sqlite:///{root / 'db.sqlite3'}",
        STATIC_ROOT=str(root / "static"),
        GUNICORN_WORKERS="1",
    )
    # What the Dockerfile runs at build time.
    manage(env, "collectstatic", "--noinput", timeout=300)
    with gunicorn(env) as server:
        yield server


def assets_of(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


@pytest.mark.parametrize("path", ["/docs/", "/redoc/"])
def test_docs_pages_load_only_files_of_this_server(docs_server: Gunicorn, path: str) -> None:
    page = docs_server.get(path, headers={"Accept": "text/html"})  # as a browser asks
    assert page.status == 200
    # The browser is told to load nothing from elsewhere, either.
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'; script-src 'self';")
    assets = assets_of(page.body.decode())
    assert assets, page.body
    for url in assets:
        assert url.startswith("/"), f"{path} loads {url} from another server"
        asset = docs_server.get(url, headers={"Accept": "*/*"})
        assert asset.status == 200, url
        if url.startswith("/static/"):
            # WhiteNoise: the hashed name (pinned content), cached for a year.
            assert re.search(r"\.[0-9a-f]{12}\.", url), url
            assert "immutable" in asset.headers.get("Cache-Control", ""), url


@pytest.fixture
def offline_page(browser: Any, docs_server: Gunicorn) -> Iterator[tuple[Any, list[str]]]:
    """A page that can reach the docs server only: every other request is aborted and
    recorded."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(base_url=docs_server.base_url, viewport={"width": 1400, "height": 1000})
    elsewhere: list[str] = []

    def only_this_server(route: Any) -> None:
        if route.request.url.startswith(docs_server.base_url + "/"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", only_this_server)
    page = context.new_page()
    page.set_default_timeout(30_000)
    failures: list[str] = []
    page.on("response", lambda r: failures.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("pageerror", lambda error: failures.append(f"page error: {error}"))
    yield page, elsewhere
    context.close()
    assert not failures, failures


@pytest.mark.e2e
def test_swagger_ui_lists_the_operations_offline(offline_page: tuple[Any, list[str]]) -> None:
    page, elsewhere = offline_page
    page.goto("/docs/")
    page.wait_for_selector(".opblock-summary-path")
    paths = set(page.locator(".opblock-summary-path").all_inner_texts())
    shown = {p.replace("\u200b", "").strip() for p in paths}
    for path in SOME_PATHS:
        assert path in shown, sorted(shown)
    assert page.locator(".opblock").count() >= 20
    assert "Brisk LMS API" in page.inner_text(".info .title")
    page.screenshot(path=str(SCREENSHOTS / "10-docs-swagger-ui.png"))
    # One operation opened: its parameters and responses are there too.
    page.locator(".opblock-get .opblock-summary", has_text="/programmes/").first.click()
    page.wait_for_selector(".opblock.is-open .responses-table")
    page.screenshot(path=str(SCREENSHOTS / "11-docs-operation.png"))
    assert elsewhere == []


@pytest.mark.e2e
def test_redoc_lists_the_operations_offline(offline_page: tuple[Any, list[str]]) -> None:
    page, elsewhere = offline_page
    page.goto("/redoc/")
    page.wait_for_selector("[data-section-id*='/operation/']")
    text = page.inner_text("body")
    for path in SOME_PATHS:
        assert path in text, path
    assert page.locator("[data-section-id*='/operation/']").count() >= 20
    page.screenshot(path=str(SCREENSHOTS / "12-redoc.png"))
    assert elsewhere == []
