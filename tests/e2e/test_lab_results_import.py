"""Issue 12, bulk import in a real browser: from a saved configuration, a CSV with a mistake shows the row's error
and no confirm button; the fixed file previews each row beside its prediction; confirming stores them and says
so; the same file again is refused as already imported. Screenshots of the preview at 1440 and 360 px."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.test_core_flow import _overflow
from tests.e2e.test_flows import _slug

pytestmark = pytest.mark.e2e


def _saved_configuration(live_app, slug: str) -> tuple[str, list[str]]:
    """A ranked configuration saved through the service (the wizard has its own browser tests)."""
    from sqlalchemy import select

    from aerospec.configurations import services as configs
    from aerospec.extensions import db
    from aerospec.limits import counters
    from aerospec.tenancy.models import Membership, Tenant
    from aerospec.tenancy.scoping import tenant_scope
    from tests.configurations.conftest import BASE

    with live_app.test_request_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        with tenant_scope(db.session, tenant.id):
            membership = db.session.scalar(select(Membership).where(Membership.tenant_id == tenant.id))
            config, _ = configs.create_configuration(
                db.session, tenant, membership, dict(BASE), counter=counters.DatabaseCounter()
            )
            db.session.commit()
            out = str(config.id), [e["sku"] for e in config.compatible_actuators[:2]]
        db.session.remove()
    return out


def _upload(page, text: str, name: str = "lab.csv") -> None:
    page.get_by_label("CSV file of lab results", exact=True).set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": text.encode()}
    )
    page.get_by_role("button", name="Check the file").click()
    page.wait_for_load_state("load")


def test_a_lab_imports_results_from_a_csv_after_fixing_a_row(
    new_page, sign_up, unique_email, live_app, screenshot, console_errors
):
    console_errors.allow(r"status of 422")  # a file that cannot be imported is answered 422 with its page
    page = new_page()
    sign_up(page, unique_email("bulk"), name="Lena Lab", company="Bulk Sprays")
    slug = _slug(page)
    config_id, (first, second) = _saved_configuration(live_app, slug)
    page.goto(f"/t/{slug}/configurations/{config_id}")
    page.get_by_role("link", name="Import lab results (CSV)").click()
    page.wait_for_url(re.compile(r"/lab-results/import$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Import lab results")
    expect(page.get_by_text("All or nothing:")).to_be_visible()

    header = "actuator_sku,pressure_bar,spray_cone_angle_actual,dv50_um,measurement_method,pass_fail\n"
    broken = header + f"{first},3,58,61.5,laser_diffraction,pass\n{second},3,60,6l,laser_diffraction,fail\n"
    _upload(page, broken)
    errors = page.get_by_role("alert")
    expect(errors).to_contain_text("Nothing can be imported yet: 1 problem in 2 rows.")
    expect(errors).to_contain_text("row 3: dv50_um '6l' is not a number.")
    expect(page.get_by_role("button", name=re.compile(r"^Import \d+ lab result"))).to_have_count(0)
    screenshot(page, "lab-import-errors")

    fixed = broken.replace(",6l,", ",61,")
    _upload(page, fixed)
    expect(page.get_by_role("status").filter(has_text="All 2 rows can be imported.")).to_be_visible()
    preview = page.locator("table.import-preview")
    expect(preview.locator("tbody tr")).to_have_count(2)
    expect(preview.locator("tbody tr").first).to_contain_text(re.compile(r"Cone: 58 ° measured; [\d.]+ ° predicted"))
    expect(preview.locator("tbody tr").nth(1)).to_contain_text("Ready")
    too_wide = []
    for suffix, width in {"desktop": 1440, "narrow": 360}.items():
        page.set_viewport_size({"width": width, "height": 900})
        if (extra := _overflow(page)) > 1:
            too_wide.append(f"preview at {width}px: {extra}px wider than the window")
        screenshot(page, f"lab-import-preview-{suffix}")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("button", name="Import 2 lab results").click()
    page.wait_for_url(re.compile(rf"/configurations/{config_id}$"))
    expect(page.get_by_text("Imported 2 lab results from lab.csv.")).to_be_visible()

    # The same file again: recognised, nothing to confirm.
    page.get_by_role("link", name="Import lab results (CSV)").click()
    _upload(page, fixed, name="lab-again.csv")
    expect(page.get_by_role("alert")).to_contain_text("Already imported.")
    expect(page.get_by_role("button", name=re.compile(r"^Import \d+ lab result"))).to_have_count(0)
    assert not too_wide, too_wide
    assert not console_errors.unexpected()
