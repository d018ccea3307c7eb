"""CSV exports of the analytics pages: the same numbers as the page, one of the plan's exports per day each
(recorded as data.exported), refused past the limit with nothing written, and only for roles that may export."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import func, select

from aerospec.compliance.models import AuditLog
from aerospec.tenancy.scoping import tenant_scope
from tests.analytics.conftest import month


@pytest.fixture
def results(lab, record):
    ns = lab(limits={"exports_per_day": 2})
    ns.rows = [record(ns, flow=1.0, cone=1.3, at=month(2026, 1)), record(ns, flow=0.9, dv50=1.1, at=month(2026, 2))]
    return ns


def _exports(db, tenant) -> list[AuditLog]:
    with tenant_scope(db.session, tenant.id):
        return list(
            db.session.scalars(
                select(AuditLog).where(AuditLog.tenant_id == tenant.id, AuditLog.action == "data.exported")
            )
        )


def _table(html: str) -> dict[tuple[str, str], list[str]]:
    """(feedback id, quantity) -> the cells of the page's measurement table: predicted, band, measured."""
    out = {}
    for fid, q, row in re.findall(r'<tr data-feedback="([^"]+)" data-quantity="([^"]+)">(.*?)</tr>', html, re.S):
        cells = dict(re.findall(r'data-label="([^"]+)"[^>]*>(.*?)</t[dh]>', row, re.S))
        out[(fid, q)] = [cells["Predicted"], cells["90 % band"], cells["Measured"], cells["In band"]]
    return out


def test_the_accuracy_csv_has_the_numbers_of_the_page_and_counts_as_an_export(client, db, login, tenant_url, results):
    login(results.user)
    page = _table(client.get(tenant_url(results.tenant, "analytics/accuracy")).get_data(as_text=True))
    response = client.post(tenant_url(results.tenant, "analytics/accuracy/export"))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert re.match(
        r'attachment; filename="analytics-accuracy-[a-z0-9-]+-\d{8}-\d{6}\.csv"',
        response.headers["Content-Disposition"],
    )
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == len(page) == 4  # flow + cone, flow + dv50: each beside its prediction
    for r in rows:
        predicted, band, measured, in_band = page[(r["feedback_id"], r["quantity"])]
        assert float(r["predicted"]) == float(predicted) and float(r["measured"]) == float(measured)
        assert band == (f"{r['band_low']}–{r['band_high']}" if r["band_low"] else "—")
        assert {"yes": "yes", "no": "no", "": "no band"}[r["in_band"]] == in_band
    entry = _exports(db, results.tenant)
    assert [(e.target_type, e.details["rows"]) for e in entry] == [("analytics_accuracy", 4)]


def test_the_date_range_goes_with_the_export(client, db, login, tenant_url, results):
    login(results.user)
    html = client.get(tenant_url(results.tenant, "analytics/accuracy?from=2026-02-01")).get_data(as_text=True)
    assert '<input type="hidden" name="from" value="2026-02-01">' in html
    response = client.post(tenant_url(results.tenant, "analytics/accuracy/export"), data={"from": "2026-02-01"})
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert {r["feedback_id"] for r in rows} == {str(results.rows[1].id)}
    bad = client.post(tenant_url(results.tenant, "analytics/accuracy/export"), data={"from": "02/01/2026"})
    assert bad.status_code == 422 and len(_exports(db, results.tenant)) == 1


def test_past_the_plans_exports_per_day_the_export_is_refused_and_writes_nothing(
    client, db, login, tenant_url, results
):
    login(results.admin)
    for path in ("analytics/usage/export", "analytics/top-configurations/export"):
        assert client.post(tenant_url(results.tenant, path)).status_code == 200
    refused = client.post(tenant_url(results.tenant, "analytics/accuracy/export"))
    assert refused.status_code == 402
    assert "exports per day" in refused.get_data(as_text=True)
    assert [e.target_type for e in _exports(db, results.tenant)] == ["analytics_usage", "analytics_top_configurations"]


@pytest.mark.parametrize(
    "path", ["analytics/accuracy/export", "analytics/usage/export", "analytics/top-configurations/export"]
)
def test_viewers_may_not_export_and_another_workspace_gets_404(client, db, login, tenant_url, results, lab, path):
    login(results.viewer)
    assert client.post(tenant_url(results.tenant, path)).status_code == 403
    other = lab()
    login(other.admin)
    assert client.post(tenant_url(results.tenant, path)).status_code == 404
    assert _exports(db, results.tenant) == []


def test_usage_and_top_csvs_match_their_pages(client, login, tenant_url, results):
    login(results.user)
    usage = client.post(
        tenant_url(results.tenant, "analytics/usage/export"),
        data={"granularity": "month", "from": "2026-01-01", "to": "2026-03-31"},
    )
    rows = list(csv.DictReader(io.StringIO(usage.get_data(as_text=True))))
    assert [(r["period_start"], r["lab_results"]) for r in rows] == [
        ("2026-01-01", "1"),
        ("2026-02-01", "1"),
        ("2026-03-01", "0"),
    ]
    assert "predictions" not in rows[0] and "quotes" not in rows[0]  # not recorded: not exported as zeros
    top = client.post(tenant_url(results.tenant, "analytics/top-configurations/export"))
    lines = list(csv.DictReader(io.StringIO(top.get_data(as_text=True))))
    first = next(r for r in lines if r["kind"] == "sku" and r["name"] == results.sku)
    assert (first["top_ranked"], first["lab_results"]) == ("1", "2")
    assert [r["name"] for r in lines if r["kind"] == "fluid"] == ["Water"]


def test_a_formula_in_a_name_is_neutralised_in_the_csv(client, db, login, tenant_url, lab, record, make_config):
    ns = lab()
    make_config(ns.tenant, ns.user, fluid_name='=HYPERLINK("http://x")')
    login(ns.user)
    body = client.post(tenant_url(ns.tenant, "analytics/top-configurations/export")).get_data(as_text=True)
    assert "'=HYPERLINK" in body
    with tenant_scope(db.session, ns.tenant.id):
        assert db.session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "data.exported")) == 1


def test_a_read_only_workspace_still_views_and_exports_its_analytics(client, db, login, tenant_url, results):
    from aerospec.billing import lifecycle

    results.tenant.subscription_status = "expired"
    results.tenant.trial_ends_at = lifecycle.utcnow()
    db.session.commit()
    login(results.user)
    page = client.get(tenant_url(results.tenant, "analytics/accuracy"))
    assert page.status_code == 200 and "Workspace is read-only." in page.get_data(as_text=True)
    export = client.post(tenant_url(results.tenant, "analytics/accuracy/export"))
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert [e.target_type for e in _exports(db, results.tenant)] == ["analytics_accuracy"]
