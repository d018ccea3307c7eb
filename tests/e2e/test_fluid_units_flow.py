"""Issue 9 in chromium: a vapour pressure typed in psi on the new-fluid form is shown in kPa, right,
on the fluid's page (and survives the edit form untouched); the SDS upload is reached from the
fluids list; the SDS review asks for the 25 °C viscosity and takes a category.

Screenshots of the fluids list, the fluid form, the fluid's page and the SDS review at 1440 and 360 px land in
test-artifacts/e2e/ (fluid-units-*.png); a 360 px page that scrolls sideways fails the test.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.catalog import sds_pdfs

pytestmark = pytest.mark.e2e

WIDTHS = {"desktop": 1440, "narrow": 360}


def _overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def _shots(page, screenshot, name: str) -> None:
    """Screenshots at 1440 and 360 px, then a fresh load at the usual size (Playwright's screenshot
    leaves style="" on inputs, which htmx would copy under our CSP)."""
    for suffix, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.reload()
        if width == 360:
            assert _overflow(page) <= 1, f"{name} scrolls sideways at 360 px"
        screenshot(page, f"fluid-units-{name}-{suffix}")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.reload()


def _row(page, label: str):
    return page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=label, exact=True))


def test_vapour_pressure_in_psi_is_shown_in_kpa_and_the_sds_upload_is_linked(
    new_page, sign_up, unique_email, screenshot, tmp_path
):
    page = new_page()
    sign_up(page, unique_email("units"), name="Una Units")
    base = page.url  # .../t/<slug>/

    # The fluids list links to the SDS upload.
    page.goto(base + "fluids")
    _shots(page, screenshot, "fluids-list")
    page.get_by_role("link", name="Read from a safety data sheet").click()
    page.wait_for_url(re.compile(r"/fluids/sds/new$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Read a fluid from its safety data sheet")

    # The new-fluid form: 0.8 psi.
    page.goto(base + "fluids/new")
    expect(page.get_by_role("link", name="Upload the PDF")).to_be_visible()
    _shots(page, screenshot, "fluid-form")
    page.get_by_label("Name", exact=True).fill("Propellant blend 0.8 psi")
    page.get_by_label("Viscosity (dynamic) (required)").fill("0.6")
    page.get_by_label("Density (required)").fill("0,87")
    page.get_by_label("Density unit").select_option("g/cm³")
    page.get_by_label("Surface tension (required)").fill("24")
    page.get_by_label("Vapour pressure", exact=True).fill("0.8")
    page.get_by_label("Vapour pressure unit").select_option("psi")
    page.get_by_role("button", name="Save fluid").click()
    page.wait_for_url(re.compile(r"/fluids/[0-9a-f-]{36}$"))
    expect(page.get_by_text("Fluid “Propellant blend 0.8 psi” saved.")).to_be_visible()
    vapour = _row(page, "Vapour pressure")
    expect(vapour.get_by_role("cell").first).to_have_text("5.516 kPa")  # 0.8 × 6.894757 kPa
    expect(vapour).to_contain_text("entered by the user as 0.8 psi")
    expect(_row(page, "Density").get_by_role("cell").first).to_have_text("870 kg/m³")
    fluid_url = page.url
    _shots(page, screenshot, "fluid-page")

    # The edit form shows the stored kPa value; saving it untouched changes nothing.
    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page.get_by_label("Vapour pressure", exact=True)).to_have_value("5.51581")
    expect(page.get_by_label("Vapour pressure unit")).to_have_value("kPa")
    expect(page.get_by_role("link", name="Upload the PDF")).to_have_count(0)  # offered for new fluids only
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(fluid_url)
    expect(_row(page, "Vapour pressure").get_by_role("cell").first).to_have_text("5.516 kPa")
    expect(_row(page, "Vapour pressure")).to_contain_text("entered by the user as 0.8 psi")


def test_sds_review_asks_for_the_25_c_viscosity_and_takes_a_category(
    new_page, sign_up, unique_email, screenshot, tmp_path, console_errors
):
    console_errors.allow(r"status of 422")  # the review's validation answer, swapped in by htmx
    page = new_page()
    sign_up(page, unique_email("sds-units"), name="Sam Sheets")
    base = page.url

    # From the wizard's fluid step.
    page.goto(base + "configurations/new")
    page.get_by_role("link", name="read it from its safety data sheet").click()
    page.wait_for_url(re.compile(r"/fluids/sds/new$"))

    pdf = tmp_path / "solvo.pdf"
    pdf.write_bytes(sds_pdfs.table_layout_sds("SolvoClean 220"))
    page.get_by_label("Safety data sheet (PDF, up to 10 MB)").set_input_files(str(pdf))
    page.get_by_role("button", name="Upload and read").click()
    page.wait_for_url(re.compile(r"/fluids/sds/[0-9a-f-]{36}$"))
    expect(page.get_by_text("The sheet gives 20 cSt at 40 °C, not at 25 °C.")).to_be_visible()
    expect(page.get_by_label("Viscosity at 25 °C")).to_have_value("")
    _shots(page, screenshot, "sds-review")

    # Without the 25 °C value: refused, with what the sheet says.
    page.get_by_label("Surface tension value").fill("28")
    page.get_by_role("button", name="Save fluid").click()
    expect(
        page.get_by_text("The sheet gives the viscosity at 40 °C (20 cSt); enter its value at 25 °C.")
    ).to_be_visible()
    expect(page.get_by_label("Surface tension value")).to_have_value("28")
    screenshot(page, "fluid-units-sds-review-refused")

    page.get_by_label("Viscosity at 25 °C").fill("32")
    page.get_by_label("Category").select_option(label="Solvents")
    page.get_by_role("button", name="Save fluid").click()
    expect(page.get_by_text("Saved “SolvoClean 220” to your fluids")).to_be_visible()
    expect(page.get_by_text("Solvents", exact=True)).to_be_visible()
    # 32 cSt × 847.45 kg/m³ / 1000
    expect(_row(page, "Viscosity (dynamic)").get_by_role("cell").first).to_have_text("27.12 cP")
    expect(_row(page, "Viscosity (dynamic)")).to_contain_text("as the 25 °C value (the sheet gives 20 cSt at 40 °C")
