"""Real-browser tests: headless Chromium driven by Playwright's sync API against
pytest-django's live_server. Chromium is Debian's (CI installs it); a missing browser is a
test failure with instructions, never a skip."""
from __future__ import annotations

import os
import shutil

import pytest

# Playwright's sync API keeps an event loop running in this thread; Django would otherwise
# refuse the ORM calls the tests make to arrange data and check what was written.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium_executable() -> str:
    path = os.environ.get("UTILIS_CHROMIUM") or shutil.which("chromium")
    if not path or not os.path.exists(path):
        pytest.fail(
            "No Chromium found for the browser tests: install Debian's chromium "
            "(apt-get install chromium) or set UTILIS_CHROMIUM to the browser's path.",
            pytrace=False,
        )
    return path


@pytest.fixture
def browser_page(live_server):
    """A function that opens a 1280 px wide page on the live server. Chromium starts inside
    the test (not at fixture setup) so that a missing browser is reported as a failure."""
    playwrights, browsers = [], []

    def open_page(width: int = 1280, height: int = 900):
        from playwright.sync_api import sync_playwright

        executable = chromium_executable()
        playwright = sync_playwright().start()
        playwrights.append(playwright)
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        browsers.append(browser)
        context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": height})
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield open_page
    for browser in browsers:
        browser.close()
    for playwright in playwrights:
        playwright.stop()
