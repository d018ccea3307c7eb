"""Issue 12 item 7 in chromium: a user adds an actuator of their own (typed with units) on its form page, then
ranks a fluid in the wizard and sees it in the results beside the catalog, labelled "own actuator", readable at
360 px. Screenshots land in test-artifacts/e2e/own-actuators-*.png."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e
SHOT_MS = 30_000  # a long page at 360 px takes a while to capture on a busy machine


def _shot(target, name: str, **options) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target.screenshot(path=str(ARTIFACTS / f"{name}.png"), timeout=SHOT_MS, **options)


def test_user_adds_an_own_actuator_and_sees_it_ranked_with_the_label(new_page, sign_up, unique_email):
    page = sign_up(new_page(), unique_email("own-actuator"))
    base = page.url  # .../t/<slug>/
    page.goto(base + "actuators")
    page.get_by_role("link", name="Add your own actuators").click()
    expect(page.get_by_role("heading", name="Own actuators")).to_be_visible()
    expect(page.get_by_text("No own actuators yet.")).to_be_visible()
    page.get_by_role("link", name="Add an actuator").click()

    page.fill("#sku", "INH-E2E-1")
    page.fill("#name", "In-house swirl insert")
    page.fill("#maker", "in-house")
    page.select_option("#spray_type", "hollow_cone")
    page.fill("#orifice_mm", "0,012 in")  # a unit typed after the number wins over the list
    page.fill("#swirl_chamber_mm", "1200")
    page.select_option("#swirl_chamber_mm_unit", "µm")
    page.fill("#max_pressure_bar", "145")
    page.select_option("#max_pressure_bar_unit", "psi")
    page.fill("#min_viscosity_cp", "0.5")
    page.fill("#max_viscosity_cp", "0.05")
    page.select_option("#max_viscosity_cp_unit", "Pa·s")
    page.select_option("#body_material", "POM")
    page.fill("#rated_flow_ml_min", "2")
    page.select_option("#rated_flow_ml_min_unit", "ml/s")
    page.fill("#rated_pressure_bar", "5")
    page.fill("#angle_table", "5:60")
    _shot(page, "own-actuators-form", full_page=True)
    page.get_by_role("button", name="Save actuator").click()

    expect(page.get_by_role("heading", name="INH-E2E-1 own actuator")).to_be_visible()
    geometry = page.get_by_role("region", name="Geometry")
    expect(geometry).to_contain_text("0.3048 mm")  # 0.012 in
    expect(geometry).to_contain_text("1.2 mm")  # 1200 µm
    ratings = page.get_by_role("region", name="Ratings and materials")
    expect(ratings).to_contain_text("9.99")  # 145 psi in bar
    expect(ratings).to_contain_text("0.5–50 cP")
    expect(page.get_by_role("region", name="Maker's data")).to_contain_text("120 ml/min at 5 bar")

    query = {"step": "results", "fluid_name": "Water", "viscosity_cp": "1", "density_kg_m3": "997",
             "surface_tension_mn_m": "72", "pressure_bar": "5", "cone_deg": "60", "cone_tol": "5",
             "flow_ml_min": "120", "flow_tol": "12"}  # fmt: skip
    page.goto(base + "configurations/new?" + urlencode(query))
    row = page.locator('.ranking-table tbody tr[data-sku="INH-E2E-1"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text("own actuator")
    expect(row).to_contain_text("In-house swirl insert")
    expect(row).to_contain_text("maker-anchored")
    catalog_rows = page.locator(".ranking-table tbody tr:not([data-sku='INH-E2E-1'])")
    assert catalog_rows.count() > 0  # ranked beside the catalog, not instead of it
    _shot(row, "own-actuators-ranked-row-desktop")
    _shot(page, "own-actuators-ranked-desktop")

    page.set_viewport_size({"width": 360, "height": 800})
    page.reload()
    expect(row).to_contain_text("own actuator")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{overflow}px of horizontal overflow at 360 px"
    _shot(row, "own-actuators-ranked-row-360")
    page.goto(base + "actuators/own")
    expect(page.locator(".own-table")).to_contain_text("INH-E2E-1")
    _shot(page, "own-actuators-list-360", full_page=True)
