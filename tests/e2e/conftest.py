"""The browser for the tests of this folder: Debian's chromium (/usr/bin/chromium, or
BRISK_CHROMIUM), driven by Playwright, whose own browser download is never used. The
tests are skipped when it is absent, unless BRISK_E2E_REQUIRED is set (CI sets it, and
installs chromium). Screenshots go to artifacts/e2e/, which git ignores."""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("BRISK_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e"


def _chromium_missing() -> bool:
    return not os.path.exists(CHROMIUM)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if _chromium_missing():
        if os.environ.get("BRISK_E2E_REQUIRED"):
            pytest.fail(f"chromium not found at {CHROMIUM}")
        pytest.skip(f"chromium not found at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright runs an event loop in this thread; the ORM calls of the test are still
    # synchronous and run outside it.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
