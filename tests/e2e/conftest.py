"""Browser end-to-end fixtures: a live server on a real database, and Debian's chromium.

The live server commits for real (no rollback fixture): SQLite in a fresh file, or a
throwaway PostgreSQL database and non-superuser role when DATABASE_URL points at one;
the fluid library and the sample actuator catalog are seeded into it.
CSRF stays on, so htmx's header and the forms' hidden tokens are exercised; jobs run
inline, so emails land in the dev outbox right after the commit that queued them.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask

from tests.conftest import PostgresDatabase, make_overrides, need, supplier_overrides

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
# Short waits: the server is local, so anything slower than this is a bug, not a lag.
TIMEOUT_MS = 5_000
#: A full-page screenshot is an artifact for a person to look at, not a check: it gets longer than the
#: assertions do, since rendering a long page on a loaded 2-core machine took over 5 s.
SCREENSHOT_TIMEOUT_MS = 30_000
PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class LiveServer:
    """The running app and where it answers."""

    app: Flask
    base_url: str


@pytest.fixture(scope="session")
def live(tmp_path_factory, sandbox_server) -> Iterator[LiveServer]:
    """The app served over real HTTP on 127.0.0.1 with a database of its own.

    Its supplier clients talk to the session's supplier sandbox over real HTTP, and an
    order page asks the supplier for news on every status poll (no 60 s throttle), so a
    test that advances the sandbox clock sees the order move on the page's next poll."""
    yield from serve_live(tmp_path_factory, sandbox_server)


def serve_live(tmp_path_factory, sandbox_server, **config) -> Iterator[LiveServer]:
    """Migrate and seed a fresh database, serve the app on it over HTTP (`config`: more settings), stop it after."""
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from aerospec import create_app
    from aerospec.extensions import db

    url = os.environ.get("DATABASE_URL", "")
    pg = None
    if url.startswith(("postgres://", "postgresql")):
        pg = PostgresDatabase(url)
        database_url = pg.create()
    else:
        database_url = f"sqlite:///{tmp_path_factory.mktemp('e2e-db') / 'e2e.sqlite3'}"
    instance = tmp_path_factory.mktemp("e2e-instance")
    app = create_app(
        make_overrides(
            database_url,
            instance,
            WTF_CSRF_ENABLED=True,
            DEV_OUTBOX_ENABLED=True,
            PRODUCTION=False,
            PROCUREMENT_PAGE_POLL_SECONDS=0,
            # Jobs inline unless a test's server asks for real ones (JOBS_MODE="rq" and its REDIS_URL).
            **({"JOBS_MODE": "inline"} | supplier_overrides(sandbox_server) | config),
        )
    )
    with app.app_context():
        upgrade()
        # The wizard and the catalog pages need the fluid library and the sample actuators.
        from aerospec.catalog import services as catalog

        catalog.seed_fluids(db.session)
        catalog.seed_actuators(db.session)
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base_url = f"http://127.0.0.1:{server.server_port}"
    # Links in emails must point at this server, not the test default.
    app.config["BASE_URL"] = base_url
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app, base_url)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if pg is not None:
            pg.drop()


@pytest.fixture(scope="session")
def live_server(live) -> str:
    """The live server's base URL, e.g. http://127.0.0.1:54321."""
    return live.base_url


@pytest.fixture(scope="session")
def live_app(live) -> Flask:
    """The Flask app the live server runs: seed rows in its database inside `with live_app.app_context()`."""
    return live.app


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's chromium driven by Playwright (playwright cannot download browsers here)."""
    need(CHROMIUM.exists(), f"{CHROMIUM} is not installed (apt-get install chromium)")
    for stale in ARTIFACTS.glob("FAILED-*.png"):  # from an earlier run: would mislead a reader
        stale.unlink()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# Every page reports each Content-Security-Policy violation (an inline style that htmx copies, a stray
# <style>) to the test. Playwright injects this listener and its binding outside the page's CSP.
CSP_LISTENER = """document.addEventListener("securitypolicyviolation", (e) => window.__aerospecCspViolation(
  `${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
  + ` at ${e.sourceFile || "?"}:${e.lineNumber}:${e.columnNumber}`
  + (e.sample ? ` (${e.sample})` : "")));"""


class ConsoleErrors:
    """Console errors, uncaught exceptions and CSP violations of every page in a test; any unexpected one fails it.

    A CSP violation is never expected: `allow()` cannot excuse one."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.allowed: list[re.Pattern[str]] = []
        self.csp: list[str] = []

    def allow(self, pattern: str) -> None:
        """Expect one kind of error (e.g. the resource error a deliberate 403 logs)."""
        self.allowed.append(re.compile(pattern))

    def watch(self, page) -> None:
        page.on(
            "console",
            lambda msg: msg.type == "error" and self.errors.append(f"console error on {page.url}: {msg.text}"),
        )
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught exception on {page.url}: {exc}"))

    def watch_csp(self, context) -> None:
        """Record every CSP violation on every page of `context` (call before its first page)."""
        context.expose_binding(
            "__aerospecCspViolation",
            lambda source, text: self.csp.append(f"CSP violation on {source['frame'].url}: {text}"),
        )
        context.add_init_script(CSP_LISTENER)

    def take_csp(self) -> list[str]:
        """The CSP violations so far, clearing them (for a test that provokes one on purpose)."""
        taken, self.csp = self.csp, []
        return taken

    def unexpected(self) -> list[str]:
        console = [e for e in self.errors if not any(p.search(e) for p in self.allowed)]
        return console + self.csp


@pytest.fixture
def console_errors() -> ConsoleErrors:
    return ConsoleErrors()


@pytest.fixture
def new_page(browser, live_server, console_errors, request) -> Iterator[Callable[[], object]]:
    """new_page() → a page in a fresh browser context (its own cookies), watched for console errors.

    new_page(base_url) opens it on another server (e.g. one started with serve_live and other settings)."""
    contexts = []

    def _new_page(base_url: str | None = None):
        context = browser.new_context(base_url=base_url or live_server, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        contexts.append(context)
        console_errors.watch_csp(context)
        page = context.new_page()
        console_errors.watch(page)
        return page

    yield _new_page
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    if failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for i, context in enumerate(contexts):
            for j, page in enumerate(context.pages):
                path = ARTIFACTS / f"FAILED-{request.node.name}-{i}-{j}.png"
                page.screenshot(path=str(path), full_page=True, timeout=SCREENSHOT_TIMEOUT_MS)
    for context in contexts:
        context.close()
    unexpected = console_errors.unexpected()
    if unexpected and not failed:
        pytest.fail("browser reported errors:\n" + "\n".join(unexpected))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item so fixtures can tell a failed test at teardown."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def screenshot(request) -> Callable[[object, str], Path]:
    """screenshot(page, name) → a full-page PNG under test-artifacts/e2e/ for a human to look at."""

    def _shot(page, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True, timeout=SCREENSHOT_TIMEOUT_MS)
        return path

    return _shot


@pytest.fixture
def unique_email() -> Callable[[str], str]:
    """unique_email('admin') → an address no other test (or rerun on the same DB) has used."""
    return lambda who: f"{who}-{secrets.token_hex(4)}@example.com"


@pytest.fixture
def sign_up() -> Callable[..., object]:
    """sign_up(page, email, ...) → fill the sign-up form by its labels and land on the dashboard."""
    from playwright.sync_api import expect

    def _sign_up(page, email: str, name: str = "Ada Admin", company: str | None = None, password: str = PASSWORD):
        page.goto("/signup")
        page.get_by_label("Your name", exact=True).fill(name)
        page.get_by_label("Company", exact=True).fill(company or f"Acme Sprays {secrets.token_hex(3)}")
        page.get_by_label("Work email", exact=True).fill(email)
        page.get_by_label("Password", exact=True).fill(password)
        page.get_by_role("button", name="Create my workspace").click()
        page.wait_for_url(re.compile(r"/t/[^/]+/$"))
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        return page

    return _sign_up
