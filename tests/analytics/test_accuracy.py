"""Accuracy analytics: computed from each lab result and the prediction stored with it (never recomputed), per
quantity, family, SKU, fluid and month, with the share inside the stored 90 % band; a date range; the API and
the page agree, and another workspace sees none of it."""

from __future__ import annotations

import pytest
from sqlalchemy.orm.attributes import flag_modified

from aerospec.analytics import services as analytics
from aerospec.feedback.models import Feedback
from aerospec.tenancy.scoping import tenant_scope
from tests.analytics.conftest import month
from tests.api.conftest import assert_problem


def _expected(rows: list, field: str, key: str) -> dict:
    """The figures worked out here from the stored predictions, apart from the service's code."""
    errors, inside, banded = [], 0, 0
    for r in rows:
        measured = getattr(r, field)
        if measured is None:
            continue
        predicted = r.prediction[key]
        errors.append(100 * (measured - predicted) / predicted)
        low, high = r.prediction[f"{key}_low"], r.prediction[f"{key}_high"]
        if low is not None and high is not None:
            banded += 1
            inside += low <= measured <= high
    return {
        "n": len(errors),
        "mae": sum(abs(e) for e in errors) / len(errors),
        "bias": sum(errors) / len(errors),
        "inside": inside,
        "banded": banded,
    }


@pytest.fixture
def results(lab, record):
    """Three lab results in three months: one exact, one 30 % high on cone angle, one 20 % low on flow."""
    ns = lab()
    ns.rows = [
        record(ns, flow=1.0, cone=1.0, dv50=1.0, at=month(2026, 1)),
        record(ns, flow=1.05, cone=1.3, at=month(2026, 2)),
        record(ns, flow=0.8, dv50=1.6, at=month(2026, 3)),
    ]
    return ns


def test_each_quantity_is_the_stored_prediction_against_the_measurement(db, results):
    with tenant_scope(db.session, results.tenant.id):
        data = analytics.accuracy(db.session, results.tenant, analytics.DateRange(None, None))
    assert data.results == 3
    for field, key in (
        ("flow_rate_actual_ml_min", "flow_ml_min"),
        ("spray_cone_angle_actual", "cone_deg"),
        ("dv50_um", "dv50_um"),
    ):
        want = _expected(results.rows, field, key)
        got = data.overall[key]
        assert got["n"] == want["n"]
        assert got["mean_abs_error_pct"] == pytest.approx(want["mae"], abs=0.06)
        assert got["mean_error_pct"] == pytest.approx(want["bias"], abs=0.06)
        assert (got["in_band"], got["with_band"]) == (want["inside"], want["banded"])
    assert data.overall["flow_ml_min"]["n"] == 3 and data.overall["cone_deg"]["n"] == 2
    assert data.overall["smd_um"]["n"] == 0
    # 30 % off on cone angle is outside any band the engine gives; exact is inside.
    cone = [p for p in data.points if p.quantity == "cone_deg"]
    assert [p.in_band for p in cone] == [False, True]  # newest first


def test_the_prediction_is_read_as_stored_not_recomputed(db, results):
    row = results.rows[0]
    with tenant_scope(db.session, results.tenant.id):
        stored = db.session.get(Feedback, row.id)
        stored.prediction = {**stored.prediction, "flow_ml_min": stored.flow_rate_actual_ml_min / 2}
        flag_modified(stored, "prediction")
        db.session.commit()
        data = analytics.accuracy(db.session, results.tenant, analytics.DateRange(None, None))
    point = next(p for p in data.points if p.feedback_id == str(row.id) and p.quantity == "flow_ml_min")
    assert point.error_pct == pytest.approx(100.0)


def test_error_by_month_says_how_many_results_are_behind_each_point(db, results):
    with tenant_scope(db.session, results.tenant.id):
        data = analytics.accuracy(db.session, results.tenant, analytics.DateRange(None, None))
    assert [(m["month"], m["results"]) for m in data.by_month] == [("2026-01", 1), ("2026-02", 1), ("2026-03", 1)]
    assert data.by_month[0]["quantities"]["flow_ml_min"]["mean_abs_error_pct"] == pytest.approx(0, abs=0.06)
    assert data.by_month[2]["quantities"]["flow_ml_min"]["mean_abs_error_pct"] == pytest.approx(20, abs=0.06)
    assert "cone_deg" not in data.by_month[2]["quantities"]  # not measured that month


def test_error_by_family_sku_and_fluid(db, results):
    with tenant_scope(db.session, results.tenant.id):
        data = analytics.accuracy(db.session, results.tenant, analytics.DateRange(None, None))
    assert [r["group"] for r in data.by_fluid] == ["Water"]
    assert [(r["sku"], r["supplier"], r["results"]) for r in data.by_sku] == [(results.sku, results.supplier, 3)]
    from sqlalchemy import select

    from aerospec.catalog.models import Actuator

    family = db.session.scalar(select(Actuator.family).where(Actuator.sku == results.sku))
    assert [r["group"] for r in data.by_family] == [family or analytics.FAMILY_UNKNOWN]
    assert data.by_family[0]["quantities"]["flow_ml_min"]["n"] == 3


def test_a_date_range_keeps_only_the_results_recorded_in_it(db, results):
    span = analytics.DateRange(month(2026, 2, 1).date(), month(2026, 2, 28).date())
    with tenant_scope(db.session, results.tenant.id):
        data = analytics.accuracy(db.session, results.tenant, span)
    assert data.results == 1 and {p.feedback_id for p in data.points} == {str(results.rows[1].id)}


@pytest.fixture
def api(results, bearer):
    results.headers = bearer(results.user, results.tenant)
    return results


def test_api_accuracy_matches_the_service_and_pages_its_points(client, db, api):
    response = client.get("/api/analytics/accuracy?per_page=2", headers=api.headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["results"] == 3 and body["points_total"] == 7
    assert len(body["points"]) == 2 and body["points_page"] == {"page": 1, "per_page": 2, "pages": 4}
    want = _expected(api.rows, "flow_rate_actual_ml_min", "flow_ml_min")
    flow = body["quantities"]["flow_ml_min"]
    assert flow["n"] == 3 and flow["in_band"] == want["inside"] and flow["unit"] == "mL/min"
    assert flow["in_band_share_90"][0] <= flow["in_band_share"] <= flow["in_band_share_90"][1]
    feb = client.get("/api/analytics/accuracy?from=2026-02-01&to=2026-02-28", headers=api.headers).get_json()
    assert feb["results"] == 1 and feb["range"] == {"from": "2026-02-01", "to": "2026-02-28"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-13-01", "from"),
        ("to=yesterday", "to"),
        ("from=2026-03-01&to=2026-02-01", "to"),
        ("from=1999-12-31", "from"),
        ("per_page=0", "per_page"),
        ("page=-1", "page"),
    ],
)
def test_api_accuracy_refuses_a_bad_query_with_the_field_named(client, api, query, field):
    body = assert_problem(client.get(f"/api/analytics/accuracy?{query}", headers=api.headers), 422, fields=(field,))
    assert body["errors"][field][0]


def test_api_roles_follow_the_matrix_and_another_workspace_sees_nothing(client, api, lab, bearer):
    assert client.get("/api/analytics/accuracy", headers=bearer(api.admin, api.tenant)).status_code == 200
    # Viewers may not view analytics (and have no API access at all).
    assert_problem(client.get("/api/analytics/accuracy", headers=bearer(api.viewer, api.tenant)), 403)
    other = lab()
    theirs = client.get("/api/analytics/accuracy", headers=bearer(other.user, other.tenant)).get_json()
    assert theirs["results"] == 0 and theirs["points"] == [] and theirs["by_sku"] == []


def test_the_page_shows_a_scatter_per_measured_quantity_and_the_table(client, login, tenant_url, api):
    login(api.user)
    html = client.get(tenant_url(api.tenant, "analytics/accuracy")).get_data(as_text=True)
    for q in ("flow_ml_min", "cone_deg", "dv50_um"):
        assert f'id="chart-scatter-{q}"' in html
    assert 'id="chart-scatter-smd_um"' not in html  # nothing measured: no empty chart
    assert 'class="chart-identity"' in html and 'class="chart-whisker"' in html
    assert html.count("<tr data-feedback=") == 7
    assert 'id="chart-error-by-month"' in html and "n=1" in html
    assert "3 lab results" in html
    assert 'id="export-csv"' in html


def test_the_page_keeps_a_mistyped_date_and_says_what_is_wrong(client, login, tenant_url, api):
    login(api.user)
    html = client.get(tenant_url(api.tenant, "analytics/accuracy?from=2026-02-30")).get_data(as_text=True)
    assert 'value="2026-02-30"' in html  # what was typed stays in the field
    assert 'aria-describedby="range-from-error"' in html and 'id="range-from-error"' in html
    assert "Give a date as YYYY-MM-DD" in html


def test_an_empty_workspace_is_told_how_to_get_lab_results(client, login, tenant_url, lab):
    ns = lab()
    login(ns.user)
    html = client.get(tenant_url(ns.tenant, "analytics/accuracy")).get_data(as_text=True)
    assert 'id="accuracy-empty"' in html and "No lab results yet" in html and "Record one from a configuration" in html
    assert 'class="chart"' not in html and 'id="export-csv"' not in html


@pytest.mark.parametrize("path", ["analytics/accuracy", "analytics/usage", "analytics/top-configurations"])
def test_pages_refuse_viewers_and_hide_from_other_workspaces(client, login, tenant_url, api, lab, make_config, path):
    make_config(api.tenant, api.user, name="Secret line", fluid_name="Secret glycol blend 7")
    login(api.user)
    assert "Secret glycol blend 7" in client.get(tenant_url(api.tenant, "analytics/top-configurations")).get_data(
        as_text=True
    )
    login(api.viewer)
    assert client.get(tenant_url(api.tenant, path)).status_code == 403
    other = lab()
    login(other.admin)
    assert client.get(tenant_url(api.tenant, path)).status_code == 404
    mine = client.get(tenant_url(other.tenant, path)).get_data(as_text=True)
    assert str(api.rows[0].id) not in mine and "Secret glycol blend 7" not in mine
    if path == "analytics/accuracy":
        assert 'id="accuracy-empty"' in mine


def test_the_measurement_table_is_paged_and_keeps_the_range_in_its_links(client, login, tenant_url, lab, record):
    ns = lab()
    for i in range(13):  # 13 results × (flow, cone) = 26 rows: two pages of 25
        record(ns, flow=1 + i / 100, cone=1.0, at=month(2026, 1 + i % 3, 1 + i))
    login(ns.user)
    first = client.get(tenant_url(ns.tenant, "analytics/accuracy?from=2026-01-01")).get_data(as_text=True)
    assert first.count("<tr data-feedback=") == 25 and "Page 1 of 2" in first
    assert f'href="/t/{ns.tenant.slug}/analytics/accuracy?from=2026-01-01&amp;page=2"' in first
    second = client.get(tenant_url(ns.tenant, "analytics/accuracy?from=2026-01-01&page=2")).get_data(as_text=True)
    assert second.count("<tr data-feedback=") == 1 and "Page 2 of 2" in second
    past = client.get(tenant_url(ns.tenant, "analytics/accuracy?page=999")).get_data(as_text=True)
    assert "Page 2 of 2" in past  # past the end: the last page
