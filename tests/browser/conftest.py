"""Browser tests: a real headless Chromium (Debian's ``chromium``) driven by Playwright.

``page`` is a fresh tab that records console errors and uncaught page errors; a test fails if any
occurred, and a failing test leaves a screenshot in ``tests/browser/screenshots/``. Without
Chromium or Playwright the tests are skipped, except under CI (``CI`` set), where that is a failure:
``.ci/run`` installs both. ``module_page`` is a ``page`` on a made-up origin serving web/, for tests
that import the viewer's ES modules one by one.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any, Iterator, List

import pytest
from viewer_helpers import ORIGIN, WEB

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"


def _missing() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    if shutil.which("chromium") is None:
        return "Debian's chromium is not installed (apt-get install chromium)"
    return ""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module.

    Not one per session: while Playwright's sync API is open it keeps an asyncio event loop running
    in the main thread, so every later test that calls ``asyncio.run`` (the async programs of the
    core behaviour tests) would fail with "cannot be called from a running event loop".
    """
    missing = _missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run under CI: {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page (1280x800) that fails the test on console errors and saves a screenshot on failure."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    errors: List[str] = []
    tab.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)[-150:]
        try:
            tab.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        except Exception:  # noqa: BLE001 - a screenshot is a courtesy; the test's own failure matters
            pass
    context.close()
    if errors:
        pytest.fail("the page logged errors: " + " | ".join(errors))


@pytest.fixture
def module_page(page: Any) -> Iterator[Any]:
    """A page on a made-up origin whose files are the web/ directory, so ES modules import each other
    as they do when served (file:// pages cannot import modules)."""

    def serve(route: Any) -> None:
        name = route.request.url[len(ORIGIN) + 1:].split("?", 1)[0] or "index.html"
        path = WEB / name
        if name == "index.html":
            route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>modules</title>")
        elif path.is_file() and path.parent == WEB:
            route.fulfill(status=200, content_type="text/javascript", body=path.read_text())
        else:
            route.fulfill(status=404, body="")

    page.route(f"{ORIGIN}/**", serve)
    page.goto(f"{ORIGIN}/index.html")
    yield page
