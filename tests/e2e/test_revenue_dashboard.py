"""The revenue dashboard in chromium: a platform admin sees the figures the services compute over a seeded
history, every chart beside a table of its numbers, each figure's definition one click away and a CSV per
table; after a new subscription lands in the ledger, a reload shows the higher MRR; anyone else gets 404.
Screenshots at 1440 and 360 px."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.test_billing_flow import _shots

pytestmark = pytest.mark.e2e


def _make_platform_admin(live_app, email: str) -> None:
    from aerospec.accounts.models import User
    from aerospec.extensions import db

    with live_app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        user.is_platform_admin = True
        db.session.commit()
        db.session.remove()


def _seed(live_app) -> None:
    from aerospec.extensions import db
    from aerospec.revenue import seed

    with live_app.app_context():
        seed.seed_history(db.session, 80, 12, seed=13)
        db.session.commit()
        db.session.remove()


def _figures(live_app) -> dict[str, str]:
    from aerospec.extensions import db
    from aerospec.revenue import services
    from aerospec.revenue.views import usd_cents

    with live_app.app_context():
        d = services.dashboard(db.session)
        db.session.remove()
    return {"mrr": usd_cents(d.summary.mrr), "customers": f"{d.summary.customers:,}", "cents": d.summary.mrr}


def _new_paying_workspace(live_app) -> int:
    """A workspace that signs up and starts paying Professional monthly: one ledger row, +USD 2,000."""
    from aerospec.extensions import db
    from aerospec.models import utcnow
    from aerospec.revenue import ledger
    from aerospec.tenancy.models import Tenant
    from aerospec.tenancy.scoping import tenant_scope

    with live_app.app_context():
        tenant = Tenant(
            name="Fresh Paying Sprays", slug=f"fresh-{utcnow().timestamp():.0f}", billing_email="b@x.example"
        )
        db.session.add(tenant)
        db.session.flush()
        with tenant_scope(db.session, tenant.id):
            entry = ledger.record(
                db.session, tenant.id, after=200_000, plan="professional", interval="month",
                at=utcnow(), event_id=f"evt_e2e_{tenant.id.hex}", source="stripe",
            )  # fmt: skip
            added = entry.mrr_after  # read before the commit (row-level security on PostgreSQL)
        db.session.commit()
        db.session.remove()
    return added


def test_admin_reads_figures_charts_with_tables_definitions_and_csv(
    new_page, sign_up, unique_email, live_app, screenshot, console_errors
):
    console_errors.allow(r"admin/revenue: Failed to load resource: .* 404")  # the outsider's 404, on purpose
    outsider = new_page()
    sign_up(outsider, unique_email("outsider"), name="Otto Outsider")
    response = outsider.goto("/admin/revenue")
    assert response.status == 404  # a workspace admin is not a platform admin

    email = unique_email("finance")
    page = new_page()
    sign_up(page, email, name="Fiona Finance")
    _make_platform_admin(live_app, email)
    _seed(live_app)
    expected = _figures(live_app)

    page.goto("/admin/revenue")
    expect(page.get_by_role("heading", level=1, name="Revenue")).to_be_visible()
    expect(page.locator("#figure-mrr")).to_have_text(expected["mrr"])
    expect(page.locator("#figure-customers")).to_have_text(expected["customers"])
    expect(page.locator("#figure-lab-results")).to_have_text("Not collected yet")
    expect(page.get_by_text("workspaces here are seeded sample history")).to_be_visible()

    charts = page.locator("svg.chart")
    assert charts.count() == 4  # MRR with forecast, movements, commissions, daily active users
    for i in range(charts.count()):
        chart = charts.nth(i)
        expect(chart).to_be_visible()
        assert chart.get_attribute("role") == "img"
        assert chart.locator("desc").text_content().strip()
        # the same numbers as a table in the chart's own section
        chart_id = chart.get_attribute("id")
        section = page.locator(f"section:has(#{chart_id})")
        assert section.count() == 1 and section.locator("table").count() >= 1, chart_id
    movements = page.locator("#table-movements tbody tr")
    assert movements.count() >= 6
    expect(page.locator("#table-cohorts")).to_be_visible()
    expect(page.locator("#forecast-assumption")).to_contain_text("Assumption:")

    # A definition is one click away, and the definitions page has an anchor per figure.
    nrr = page.locator("details.definition").filter(has_text="Net revenue retention").first
    expect(nrr.get_by_text("New and reactivated revenue is left out")).to_be_hidden()
    nrr.locator("summary").click()
    expect(nrr.get_by_text("New and reactivated revenue is left out")).to_be_visible()

    with page.expect_download() as download:
        page.get_by_role("link", name="Download “MRR movements, churn and NRR by month” as CSV").click()
    assert download.value.suggested_filename == "aerospec-revenue-movements.csv"
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("month,mrr_start_usd,new_usd") and len(lines) >= 7

    _shots(page, screenshot, "revenue-dashboard")

    # A new subscription lands in the ledger: after a reload the MRR is higher by exactly its amount.
    added = _new_paying_workspace(live_app)
    page.reload()
    from aerospec.revenue.views import usd_cents

    expect(page.locator("#figure-mrr")).to_have_text(usd_cents(expected["cents"] + added))

    page.goto("/admin/revenue/definitions#ltv")
    expect(page.locator("#ltv")).to_have_text("LTV (lifetime value)")
    screenshot(page, "revenue-definitions")
