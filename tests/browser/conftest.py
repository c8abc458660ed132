"""Real-browser journeys: Debian's Chromium driven by Playwright against pytest-django's live server.

Every test in this folder is marked `browser`. Each test gets fresh browser contexts (English,
1280×900) pointed at the live server; the server thread shares the test's database (the
live server uses a transactional database), so rows the test builds with the factories are
what the pages show, and what the pages do can be read back from the database.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.factories import PASSWORD

HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"  # Debian's Chromium: Playwright downloads no browser here
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
TIMEOUT_MS = 10_000  # a broken page fails fast instead of hanging
VIEWPORT = {"width": 1280, "height": 900}

_PAGES = pytest.StashKey[list]()
# Every page reports Content-Security-Policy violations (the DOM event, in every document the
# page loads) to the test, which fails on any: the policy refuses inline script and style.
_CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolation(`${event.effectiveDirective} blocked ${event.blockedURI || "inline"} `
    + `at ${event.sourceFile || document.location.href}:${event.lineNumber}`);
});
"""
_SHOTS_DIR = pytest.StashKey[Path]()


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(str(item.path)).resolve().is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, screenshot every page the test still has open (into its tmp_path) and
    name the files in the failure report, under the assertion."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    folder = item.stash.get(_SHOTS_DIR, None)
    shots = []
    for number, page in enumerate(item.stash.get(_PAGES, [])):
        if page.is_closed():
            continue
        path = folder / f"failure-page{number}.png"
        try:
            page.screenshot(path=str(path), full_page=True)
        except Exception as exc:  # the report must survive a dead page
            shots.append(f"page {number} ({page.url}): no screenshot ({exc.__class__.__name__})")
        else:
            shots.append(f"page {number} ({page.url}): {path}")
    if shots:
        text = "\n".join(shots)
        if hasattr(report.longrepr, "addsection"):
            report.longrepr.addsection("Screenshots", text)
        else:
            report.sections.append(("Screenshots", text))


@pytest.fixture(scope="package")
def browser():
    """One Chromium for every test of this folder.

    Why DJANGO_ALLOW_ASYNC_UNSAFE: Playwright's sync API drives the browser from an asyncio
    event loop that stays *running* in this (the main) thread for as long as Playwright is
    started; it switches greenlets, it never leaves the loop. Django sees that running loop
    and refuses every ORM call of the test body, of the factories and of pytest-django's
    database flush with SynchronousOnlyOperation, although none of them runs in a coroutine:
    they are plain synchronous code, one at a time. So the variable is set before Playwright
    starts, i.e. before any test here touches the database with the loop running.

    Why package scope and not the whole session: the variable must stay set as long as the
    loop runs, and a process-wide setting leaks into the rest of the suite, including child
    processes (`manage.py check --deploy` in tests/marketplace/test_settings.py then fails
    with async.E001). The browser is closed, Playwright stopped and the variable restored
    when the run leaves this folder (pytest-django runs these live-server tests together).
    """
    previous = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = previous


@pytest.fixture
def new_page(browser: Browser, live_server, request, tmp_path):
    """A factory of pages, each in its own fresh context (its own cookies: its own user)."""
    contexts = []
    pages: list[Page] = []
    request.node.stash[_PAGES] = pages
    request.node.stash[_SHOTS_DIR] = tmp_path

    violations: list[str] = []

    def make() -> Page:
        context = browser.new_context(base_url=live_server.url, locale="en-US", viewport=VIEWPORT)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        context.expose_function("__cspViolation", lambda text: violations.append(text))
        context.add_init_script(_CSP_LISTENER)
        contexts.append(context)
        page = context.new_page()
        page.on(
            "console",
            lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
        )
        pages.append(page)
        return page

    make.csp_violations = violations
    yield make
    for context in contexts:
        context.close()
    assert violations == [], "Content-Security-Policy violations"


@pytest.fixture
def page(new_page) -> Page:
    return new_page()


@pytest.fixture
def log_in():
    """Log in through the login page: `log_in(page, email, next_url="/portal/")`."""

    def do(page: Page, email: str, password: str = PASSWORD, *, next_url: str = "") -> None:
        page.goto(f"/accounts/login/?next={next_url}" if next_url else "/accounts/login/")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
        # The header names the user once logged in (the login page stays on a failure).
        assert "/accounts/login/" not in page.url, f"login failed for {email}: still on {page.url}"

    return do
