import os

import pytest

from ..orders.conftest import world  # noqa: F401  (the buying world, for the journeys)

CHROMIUM = os.environ.get("HALLES_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # the machines run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # the network is closed: do not try to reach it
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser(live_server):
    # Playwright's sync API runs an event loop in this thread; the Django ORM calls the tests
    # make around it are synchronous and safe.
    # Depending on live_server makes the browser close first: Chromium's kept-alive
    # connections then end while the server may still use the shared database connection
    # (the other way round, its request threads failed on it after the session).
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, settings):
    settings.SITE_URL = live_server.url  # links in e-mails point at the test server
    context = browser.new_context(base_url=live_server.url, locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
