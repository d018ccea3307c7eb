"""In the browser: the catalog filters by actuator family, and an actuator page says which makers'
figures the SKU has and which it lacks, in words, readable at 360 px."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def test_family_filter_and_the_makers_data_of_an_actuator(new_page, sign_up, unique_email, screenshot):
    page = sign_up(new_page(), unique_email("anchors"))
    base = page.url  # .../t/<slug>/
    page.goto(base + "actuators?sort=sku")
    page.get_by_label("Actuator family").select_option("industrial_nozzle")
    page.get_by_label("Spray type").select_option("full_cone")
    expect(page).to_have_url(re.compile(r"family=industrial_nozzle"))
    rows = page.locator("#actuator-results tbody tr")
    expect(rows.first).to_be_visible()
    expect(rows.first).to_contain_text("Full cone")
    rows.first.get_by_role("link").first.click()

    section = page.get_by_role("region", name="Maker's data")
    expect(section).to_be_visible()
    expect(section).to_contain_text("Given:")
    expect(section).to_contain_text("Full-cone insert")
    expect(section.locator("#anchors-summary")).to_contain_text("maker's figures that apply to it")
    expect(section.locator("#anchors-summary")).to_contain_text("sample data")
    expect(page.get_by_text("Industrial nozzle", exact=True)).to_be_visible()
    # Every fact says "Given" or "Missing" in words, not by colour or an icon alone.
    facts = section.locator("dd")
    assert facts.count() >= 4
    for i in range(facts.count()):
        assert re.match(r"(Given|Missing): \S", facts.nth(i).inner_text())
    screenshot(page, "actuator-anchors-desktop")

    page.set_viewport_size({"width": 360, "height": 800})
    page.reload()
    expect(section).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{overflow}px of horizontal overflow at 360 px"
    screenshot(page, "actuator-anchors-360")
