"""Issue 12's lab results in a real browser: a user records a result for a saved configuration typed in (a typo
first, then fixed), then one from an instrument CSV (a file with unreadable rows first: its row errors shown and
nothing stored; then the right file, shown for checking before it is stored, and confirmed), and sees each beside
the prediction; the same file again is refused; a file is attached on a result's edit page; a viewer sees the list
but no form."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, PASSWORD
from tests.e2e.test_configuration_edits import _add_member
from tests.e2e.test_flows import _log_in, _slug
from tests.e2e.test_procurement_flow import _save_configuration

pytestmark = pytest.mark.e2e

GOOD_CSV = b"Sample,Dv(10) [um],Dv(50) [um],Dv(90) [um]\nrun 1,21.0,60.0,128.0\nrun 2,23.0,62.0,132.0\n"
EDIT_CSV = b"Dv10 (um),Dv50 (um),Dv90 (um)\n15.0,41.5,90.0\n"
BAD_CSV = "Size (µm);Volume %\n1;0\n2;5\n4;20\n8;30\n16;30\n1,2e;10\n32;x\n".encode()


def _login_as(new_page, email: str):
    page = new_page()
    page.goto("/login")
    _log_in(page, email, PASSWORD)
    page.wait_for_url(re.compile(r"/t/[^/]+/?$"))
    return page


def _open_form(section):
    details = section.locator("details.lab-form-details")
    if details.get_attribute("open") is None:
        section.get_by_text("Record a lab result", exact=True).click()
    return section.locator("#lab-form")


def test_user_records_typed_and_instrument_results_and_a_viewer_only_reads(
    new_page, sign_up, unique_email, live_app, screenshot, console_errors
):
    console_errors.allow(r"status of 422")  # the two refusals below answer 422 (htmx swaps their messages in)
    admin = new_page()
    sign_up(admin, unique_email("lab-admin"), name="Ada Admin", company="Lab Sprays")
    slug = _slug(admin)
    user_email = _add_member(live_app, slug, "user", "Uma User")
    viewer_email = _add_member(live_app, slug, "viewer", "Vera Viewer")

    page = _login_as(new_page, user_email)
    detail_url = _save_configuration(page, slug, "Ethanol mist")
    section = page.locator("#lab-results")
    expect(section.get_by_role("heading", name="Lab results")).to_be_visible()
    expect(section).to_contain_text("No lab results yet.")

    # Typed in, with a typo first: the message sits at the field and what was typed stays.
    form = _open_form(section)
    form.get_by_label("Actuator tested", exact=True).select_option(index=1)
    sku = form.get_by_label("Actuator tested", exact=True).input_value()
    form.get_by_label("Pressure tested", exact=True).fill("forty-five")
    form.get_by_label("Pressure unit", exact=True).select_option("psi")
    form.get_by_label("Dv50", exact=True).fill("41.5")
    form.get_by_label("Cone angle (°)", exact=True).fill("62")
    form.get_by_label("Droplet sizing method", exact=True).select_option("laser_diffraction")
    form.get_by_label("Measured by", exact=True).fill("R. Franklin")
    form.get_by_role("button", name="Record result").click()
    pressure = section.get_by_label("Pressure tested", exact=True)
    expect(pressure).to_have_attribute("aria-invalid", "true")
    expect(section.locator("#pressure_bar-error")).to_contain_text("'forty-five' does not start with a number")
    expect(section.get_by_label("Measured by", exact=True)).to_have_value("R. Franklin")
    expect(section).to_contain_text("No lab results yet.")
    screenshot(page, "lab-results-typed-error")

    pressure.fill("45")
    section.get_by_role("button", name="Record result").click()
    expect(section.locator("#lab-saved")).to_contain_text(f"Recorded {sku} at 3.103 bar.")
    expect(section).to_contain_text("1 result, newest first")
    table = section.get_by_role("table", name=re.compile(rf"Predicted and measured for {re.escape(sku)}"))
    expect(table.get_by_role("row", name=re.compile(r"^Dv50"))).to_contain_text("41.5 µm")
    expect(table.get_by_role("row", name=re.compile(r"^Dv50"))).to_contain_text(re.compile(r"Inside|Outside"))
    expect(table.get_by_role("row", name=re.compile(r"^Cone angle"))).to_contain_text("62 °")
    expect(section.locator("#pressure_bar-error")).to_have_count(0)

    # From an instrument file: unreadable rows first (each named, nothing stored), then the right file.
    form = _open_form(section)
    form.get_by_label("Actuator tested", exact=True).select_option(index=2)
    form.get_by_label("Pressure tested", exact=True).fill("3")
    expect(form.get_by_label("Pressure unit", exact=True)).to_have_value("psi")  # kept from the last result
    form.get_by_label("Pressure unit", exact=True).select_option("bar")
    form.get_by_label("Droplet sizing method", exact=True).select_option("laser_diffraction")
    form.get_by_label(re.compile(r"^Instrument export")).set_input_files(
        {"name": "run-bad.csv", "mimeType": "text/csv", "buffer": BAD_CSV}
    )
    form.get_by_role("button", name="Record result").click()
    errors = section.locator("#instrument_file-error")
    expect(errors).to_contain_text("run-bad.csv: row 7: size '1,2e' is not a number")
    expect(errors).to_contain_text("row 8: volume 'x' is not a number")
    expect(section).to_contain_text("1 result, newest first")
    screenshot(page, "lab-results-file-errors")
    section.screenshot(path=str(ARTIFACTS / "lab-results-section-file-errors.png"))

    section.get_by_label(re.compile(r"^Instrument export")).set_input_files(
        {"name": "run-0412.csv", "mimeType": "text/csv", "buffer": GOOD_CSV}
    )
    section.get_by_role("button", name="Record result").click()
    # The file is shown first: what was read, the method, beside the prediction; nothing stored yet.
    preview = section.get_by_role("region", name="Check what was read from run-0412.csv")
    expect(preview).to_contain_text("Nothing is stored yet.")
    read = preview.get_by_role("table", name="Droplet sizes read from run-0412.csv")
    expect(read.get_by_role("row", name=re.compile(r"^Dv10"))).to_contain_text("22 µm")
    expect(read.get_by_role("row", name=re.compile(r"^Dv50"))).to_contain_text("61 µm")
    expect(read.get_by_role("row", name=re.compile(r"^Dv90"))).to_contain_text("130 µm")
    expect(preview).to_contain_text("the mean of 2 runs")
    expect(preview).to_contain_text("Method: Laser diffraction (as chosen above; the file does not name one).")
    expect(section).to_contain_text("1 result, newest first")  # nothing stored by the preview
    screenshot(page, "lab-results-file-preview")
    section.screenshot(path=str(ARTIFACTS / "lab-results-section-file-preview.png"))
    page.set_viewport_size({"width": 360, "height": 800})
    section.screenshot(path=str(ARTIFACTS / "lab-results-section-file-preview-narrow.png"))
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "preview overflows 360 px"
    page.set_viewport_size({"width": 1440, "height": 900})
    preview.get_by_role("button", name="Confirm and record").click()
    expect(section.locator("#lab-saved")).to_contain_text("read from run-0412.csv")
    expect(section.get_by_role("region", name=re.compile("^Check what was read"))).to_have_count(0)
    expect(section).to_contain_text("2 results, newest first")
    expect(section.locator("#instrument_file-error")).to_have_count(0)
    newest = section.locator("article.lab-result").first
    expect(newest.get_by_role("heading", level=3)).to_contain_text("at 3 bar")
    expect(newest.get_by_role("row", name=re.compile(r"^Dv10"))).to_contain_text("22 µm")
    expect(newest.get_by_role("row", name=re.compile(r"^Dv50"))).to_contain_text("61 µm")
    expect(newest.get_by_role("row", name=re.compile(r"^Dv90"))).to_contain_text("130 µm")
    expect(newest.get_by_role("link", name="Download run-0412.csv")).to_be_visible()
    with page.expect_download() as download:
        newest.get_by_role("link", name="Download run-0412.csv").click()
    assert download.value.suggested_filename == "run-0412.csv"
    assert Path(download.value.path()).read_bytes() == GOOD_CSV

    # The same file again: refused before any preview, nothing stored.
    form = _open_form(section)
    form.get_by_label("Actuator tested", exact=True).select_option(index=1)
    form.get_by_label("Pressure tested", exact=True).fill("3")
    form.get_by_label(re.compile(r"^Instrument export")).set_input_files(
        {"name": "run-0412-copy.csv", "mimeType": "text/csv", "buffer": GOOD_CSV}
    )
    form.get_by_role("button", name="Record result").click()
    expect(section.locator("#instrument_file-error")).to_contain_text("run-0412.csv was already imported")
    expect(section.get_by_role("region", name=re.compile("^Check what was read"))).to_have_count(0)
    expect(section).to_contain_text("2 results, newest first")

    # The typed result (no file yet) takes one on its edit page.
    typed = section.locator("article.lab-result").nth(1)
    typed.get_by_role("link", name=re.compile("^Edit")).click()
    expect(page.get_by_text("No instrument file is attached to this result")).to_be_visible()
    page.get_by_label(re.compile(r"^Instrument export")).set_input_files(
        {"name": "run-0413.csv", "mimeType": "text/csv", "buffer": EDIT_CSV}
    )
    screenshot(page, "lab-results-edit-attach")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#lab-results")).to_contain_text("2 results, newest first")
    edited = page.locator("#lab-results article.lab-result").nth(1)
    expect(edited.get_by_role("link", name="Download run-0413.csv")).to_be_visible()
    expect(edited.get_by_role("row", name=re.compile(r"^Dv50"))).to_contain_text("41.5 µm")
    expect(edited.get_by_role("row", name=re.compile(r"^Dv90"))).to_contain_text("90 µm")

    # A reload (no htmx) shows the same state.
    page.goto(detail_url)
    expect(page.locator("#lab-results")).to_contain_text("2 results, newest first")
    screenshot(page, "lab-results-desktop")
    page.locator("#lab-results").screenshot(path=str(ARTIFACTS / "lab-results-section-desktop.png"))
    page.set_viewport_size({"width": 360, "height": 800})
    screenshot(page, "lab-results-narrow")
    page.locator("#lab-results").screenshot(path=str(ARTIFACTS / "lab-results-section-narrow.png"))

    viewer = _login_as(new_page, viewer_email)
    viewer.goto(detail_url)
    lab = viewer.locator("#lab-results")
    expect(lab).to_contain_text("2 results, newest first")
    expect(lab.get_by_role("table")).to_have_count(2)
    expect(lab.get_by_text("Record a lab result")).to_have_count(0)
    expect(lab.locator("form")).to_have_count(0)
    expect(lab.get_by_role("link", name=re.compile("^Edit"))).to_have_count(0)
