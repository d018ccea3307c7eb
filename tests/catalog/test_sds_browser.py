"""The SDS flow in Debian's chromium: upload by label, review beside the source text, save.

Uses tests/e2e's live server (real HTTP, CSRF on, jobs inline) and sign-up helper;
screenshots land in test-artifacts/e2e/ for a human to look at. Each test drives its own
Playwright in a thread of its own: Playwright's sync API refuses to start while another
instance (tests/e2e's session browser) runs in the same thread, whatever the test order.
"""

# ruff: noqa: F811 - fixtures imported from tests/e2e are then named as test arguments

from __future__ import annotations

import re
import threading

import pytest

from tests.catalog import sds_pdfs
from tests.conftest import need
from tests.e2e.conftest import (  # noqa: F401 - pytest fixtures
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    ConsoleErrors,
    live,
    live_server,
    sign_up,
    unique_email,
)


@pytest.fixture
def in_browser(live_server):
    """in_browser(fn, allow=()) → run fn(page, screenshot) in a fresh chromium page, in its own thread."""
    need(CHROMIUM.exists(), f"{CHROMIUM} is not installed (apt-get install chromium)")

    def _run(fn, allow: tuple[str, ...] = ()):
        errors: list[BaseException] = []
        console = ConsoleErrors()
        for pattern in allow:
            console.allow(pattern)

        def shot(page, name: str) -> None:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

        def body() -> None:
            from playwright.sync_api import sync_playwright

            try:
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                    try:
                        context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
                        context.set_default_timeout(TIMEOUT_MS)
                        page = context.new_page()
                        console.watch(page)
                        try:
                            fn(page, shot)
                        except BaseException:
                            ARTIFACTS.mkdir(parents=True, exist_ok=True)
                            page.screenshot(path=str(ARTIFACTS / f"FAILED-{fn.__name__}.png"), full_page=True)
                            raise
                    finally:
                        browser.close()
            except BaseException as exc:  # re-raised in the test's thread
                errors.append(exc)

        thread = threading.Thread(target=body, name="sds-browser")
        thread.start()
        thread.join(120)
        if errors:
            raise errors[0]
        assert not thread.is_alive(), "the browser test did not finish"
        assert not console.unexpected(), "browser reported errors:\n" + "\n".join(console.unexpected())

    return _run


def test_sds_upload_review_and_save_in_a_browser(in_browser, sign_up, unique_email, tmp_path):
    in_browser(
        lambda page, screenshot: _upload_review_and_save(page, screenshot, sign_up, unique_email, tmp_path),
        allow=(r"status of 422",),  # the review form's validation answer, swapped in by htmx
    )


def _upload_review_and_save(page, screenshot, sign_up, unique_email, tmp_path):
    from playwright.sync_api import expect

    sign_up(page, unique_email("sds"), name="Ada Admin")
    base = page.url  # .../t/<slug>/
    page.goto(base + "fluids/sds/new")
    expect(page.get_by_role("heading", level=1)).to_contain_text("safety data sheet")
    screenshot(page, "sds-upload-desktop")

    pdf = tmp_path / "glycol-40.pdf"
    pdf.write_bytes(sds_pdfs.text_layout_sds("AeroBase Glycol 40"))
    page.get_by_label("Safety data sheet (PDF, up to 10 MB)").set_input_files(str(pdf))
    page.get_by_role("button", name="Upload and read").click()
    page.wait_for_url(re.compile(r"/fluids/sds/[0-9a-f-]{36}$"))
    expect(page.get_by_text("Density: 1.036 g/cm³ at 20 °C")).to_be_visible()
    expect(page.get_by_label("Density value")).to_have_value("1036")
    screenshot(page, "sds-review-desktop")
    page.set_viewport_size({"width": 360, "height": 800})
    screenshot(page, "sds-review-narrow")
    page.set_viewport_size({"width": 1280, "height": 900})
    # Playwright's screenshot leaves style="" on inputs (caret hiding), which htmx's settle step
    # would then copy under our CSP: start the interaction from a fresh load.
    page.reload()

    # The sheet gives the viscosity at 20 °C: the review asks for the 25 °C value.
    expect(page.get_by_text("The sheet gives 3.4 mPa·s at 20 °C, not at 25 °C.")).to_be_visible()
    expect(page.get_by_label("Viscosity at 25 °C")).to_have_value("")
    # Submit without surface tension: htmx swaps the form back with the message, input kept.
    page.get_by_label("Viscosity at 25 °C").fill("3,6")
    page.get_by_role("button", name="Save fluid").click()
    expect(page.get_by_text("Safety data sheets rarely give it")).to_be_visible()
    expect(page.get_by_label("Viscosity at 25 °C")).to_have_value("3,6")
    screenshot(page, "sds-review-error")

    page.get_by_label("Surface tension value").fill("38")
    page.get_by_role("button", name="Save fluid").click()
    expect(page.get_by_text("Saved “AeroBase Glycol 40” to your fluids")).to_be_visible()
    screenshot(page, "sds-saved")


def test_unreadable_sheet_shows_what_to_do(in_browser, sign_up, unique_email, tmp_path):
    in_browser(lambda page, screenshot: _unreadable(page, screenshot, sign_up, unique_email, tmp_path))


def _unreadable(page, screenshot, sign_up, unique_email, tmp_path):
    from playwright.sync_api import expect

    sign_up(page, unique_email("sds-scan"), name="Ada Admin")
    base = page.url
    page.goto(base + "fluids/sds/new")
    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(sds_pdfs.scanned_sds())
    page.get_by_label("Safety data sheet (PDF, up to 10 MB)").set_input_files(str(pdf))
    page.get_by_role("button", name="Upload and read").click()
    expect(page.get_by_text("looks scanned")).to_be_visible()
    expect(page.get_by_role("link", name="Type the values in")).to_be_visible()
    screenshot(page, "sds-failed")


def test_a_sheet_past_a_limit_says_which_in_the_browser(in_browser, sign_up, unique_email, tmp_path):
    in_browser(lambda page, screenshot: _past_a_limit(page, screenshot, sign_up, unique_email, tmp_path))


def _past_a_limit(page, screenshot, sign_up, unique_email, tmp_path):
    from playwright.sync_api import expect

    sign_up(page, unique_email("sds-pages"), name="Ada Admin")
    page.goto(page.url + "fluids/sds/new")
    pdf = tmp_path / "bundle.pdf"
    pdf.write_bytes(sds_pdfs.many_pages_pdf(60))
    page.get_by_label("Safety data sheet (PDF, up to 10 MB)").set_input_files(str(pdf))
    page.get_by_role("button", name="Upload and read").click()
    expect(page.get_by_role("alert")).to_contain_text("This PDF has 60 pages; we read safety data sheets of up to 50")
    expect(page.get_by_role("link", name="Type the values in")).to_be_visible()
    screenshot(page, "sds-too-many-pages-desktop")
    page.set_viewport_size({"width": 360, "height": 800})
    screenshot(page, "sds-too-many-pages-narrow")
