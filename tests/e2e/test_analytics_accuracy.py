"""The accuracy page in chromium: a user whose workspace has lab results sees a scatter per measured quantity
with its identity line and bands, the table of the same numbers, a date range that refuses a backwards range
(saying why beside the field) and then filters, and a CSV download with the numbers the table shows.
Screenshots at 1440 and 360 px."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.configurations.conftest import BASE
from tests.e2e.test_billing_flow import _shots
from tests.e2e.test_wizard_predictions import _slug

pytestmark = pytest.mark.e2e

CONFIG = {**BASE, "name": "Analytics pump"}
# (month, flow factor, cone factor): measured = the stored prediction × the factor.
RESULTS = [(1, 1.0, 1.0), (2, 1.2, 0.95), (3, 0.97, 1.3)]


def _lab_results(live_app, slug: str) -> None:
    """A saved configuration and three lab results recorded through the services, in January to March."""
    from aerospec.configurations import services as configs
    from aerospec.extensions import db
    from aerospec.feedback import services as feedback
    from aerospec.limits import counters
    from aerospec.tenancy.models import Membership, Tenant
    from aerospec.tenancy.scoping import tenant_scope, unscoped

    with live_app.app_context():
        with unscoped(db.session, "the test finds the workspace it signed up"):
            tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        with tenant_scope(db.session, tenant.id):
            member = db.session.scalar(select(Membership).where(Membership.tenant_id == tenant.id))
            config, _ = configs.create_configuration(
                db.session, tenant, member, dict(CONFIG), counter=counters.DatabaseCounter()
            )
            ranked = config.compatible_actuators[0]
            for m, flow, cone in RESULTS:
                predicted = feedback.predict_for(db.session, config, ranked["supplier"], ranked["sku"], 3.0)
                row = feedback.record_feedback(
                    db.session,
                    tenant,
                    member,
                    {
                        "configuration_id": config.id,
                        "actuator_sku": ranked["sku"],
                        "pressure_bar": 3.0,
                        "flow_rate_actual_ml_min": round(predicted["flow_ml_min"] * flow, 3),
                        "spray_cone_angle_actual": round(predicted["cone_deg"] * cone, 3),
                    },
                )
                row.created_at = datetime(2026, m, 12, 9, 0, tzinfo=UTC)
            db.session.commit()
        db.session.remove()


def _table(page) -> dict[tuple[str, str], list[str]]:
    rows = page.locator("#table-points tbody tr")
    out = {}
    for i in range(rows.count()):
        row = rows.nth(i)
        cells = [row.locator(f"[data-label='{label}']").inner_text().strip() for label in ("Predicted", "Measured")]
        out[(row.get_attribute("data-feedback"), row.get_attribute("data-quantity"))] = cells
    return out


def test_a_user_with_lab_results_sees_the_scatter_and_table_and_downloads_the_same_numbers(
    new_page, sign_up, unique_email, live_app, screenshot
):
    page = new_page()
    sign_up(page, unique_email("analytics"), name="Ana Lytics")
    slug = _slug(page)

    # Before any lab result: the empty state says where results come from.
    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Analytics").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Analytics: prediction accuracy")
    expect(page.locator("#accuracy-empty")).to_contain_text("No lab results yet")
    expect(page.locator("#accuracy-empty")).to_contain_text("Record one from a configuration")

    _lab_results(live_app, slug)
    page.reload()
    expect(page.locator("#accuracy-summary")).to_contain_text("3 lab results")
    for q, name in (
        ("flow_ml_min", "Flow rate: measured against predicted"),
        ("cone_deg", "Cone angle: measured against predicted"),
    ):
        chart = page.get_by_role("img", name=name)
        expect(chart).to_be_visible()
        expect(chart.locator("circle")).to_have_count(3)
        expect(chart.locator("line.chart-identity")).to_have_count(1)
        expect(chart.locator("line.chart-whisker")).to_have_count(3)
        expect(page.locator(f"#overall-{q}")).to_contain_text("of 3")
    expect(page.locator("#table-points tbody tr")).to_have_count(6)
    expect(page.get_by_role("img", name="Mean absolute error by month")).to_contain_text("n=1")
    shown = _table(page)

    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    text = download.value.path().read_text(encoding="utf-8")
    exported = {(r["feedback_id"], r["quantity"]): r for r in csv.DictReader(io.StringIO(text))}
    assert set(exported) == set(shown)
    for key, (predicted, measured) in shown.items():
        assert float(exported[key]["predicted"]) == float(predicted)
        assert float(exported[key]["measured"]) == float(measured)

    # A backwards range is refused beside the field, with what was typed kept; fixing it filters the page.
    page.get_by_label("From (UTC)").fill("2026-03-01")
    page.get_by_label("To (UTC, included)").fill("2026-02-01")
    page.get_by_role("button", name="Show").click()
    to_field = page.get_by_label("To (UTC, included)")
    expect(to_field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#range-to-error")).to_have_text("The end date must be on or after the start date.")
    expect(page.get_by_label("From (UTC)")).to_have_value("2026-03-01")
    to_field.fill("2026-03-31")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#range-to-error")).to_have_count(0)
    expect(page.locator("#accuracy-summary")).to_contain_text("1 lab result")
    expect(page.locator("#table-points tbody tr")).to_have_count(2)
    with page.expect_download() as march:
        page.get_by_role("button", name="Download CSV").click()
    rows = list(csv.DictReader(io.StringIO(march.value.path().read_text(encoding="utf-8"))))
    assert len(rows) == 2 and {r["recorded_at"][:7] for r in rows} == {"2026-03"}

    page.goto(f"/t/{slug}/analytics/accuracy")
    _shots(page, screenshot, "analytics-accuracy")
