"""Feedback aggregates in-process (inline jobs, the suite's database): kept current on each new or edited result,
recomputed (never incremented) so a re-run changes nothing, rebuilt from scratch by the CLI, read through the API,
and another workspace's never seen."""

from __future__ import annotations

import math
import uuid

import pytest
from sqlalchemy import select, update

from aerospec.configurations.models import Configuration
from aerospec.feedback.models import Feedback, FeedbackAggregate
from aerospec.tenancy.scoping import tenant_scope, unscoped
from jobs.feedback import refresh_feedback_aggregate
from tests.api.conftest import assert_problem
from tests.feedback.test_api import _body


@pytest.fixture
def world(team, make_config, seeded_catalog, bearer, db):
    """A team, a saved configuration ranked against the sample catalog, and its best-ranked actuator."""
    return _lab(team, make_config, bearer)


def _lab(team, make_config, bearer):
    ns = team()
    config = make_config(ns.tenant, ns.user)
    ns.config_id, ns.ranked, ns.bearer = config.id, config.compatible_actuators[0], bearer
    ns.sku = ns.ranked["sku"]
    return ns


COLUMNS = [c.key for c in FeedbackAggregate.__table__.columns if c.key not in ("id", "computed_at")]


def _aggregates(db, tenant_id) -> list[dict]:
    with tenant_scope(db.session, tenant_id):
        db.session.expire_all()
        rows = db.session.scalars(select(FeedbackAggregate).order_by(FeedbackAggregate.actuator_sku))
        return [{c: getattr(r, c) for c in COLUMNS} for r in rows]


def _post(client, ns, **values):
    response = client.post("/api/feedback", json=_body(ns, **values), headers=ns.bearer(ns.user, ns.tenant))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _rmse(pairs) -> float:
    return math.sqrt(sum((a - p) ** 2 for p, a in pairs) / len(pairs))


def test_each_new_result_recomputes_its_aggregate_from_the_results(client, db, world):
    first = _post(client, world, spray_cone_angle_actual=50.0, dv50_um=60.0, flow_rate_actual_ml_min=400.0)
    [row] = _aggregates(db, world.tenant.id)
    assert (row["result_count"], row["pass_count"], row["fail_count"]) == (1, 1, 0)
    second = _post(
        client,
        world,
        spray_cone_angle_actual=66.0,
        dv50_um=70.0,
        dv10_um=None,
        dv90_um=None,
        flow_rate_actual_ml_min=None,
        pass_fail="fail",
    )
    third = _post(client, world, spray_cone_angle_actual=None, dv50_um=None, dv10_um=None, dv90_um=None, pass_fail=None)
    [row] = _aggregates(db, world.tenant.id)
    assert (row["actuator_sku"], row["actuator_supplier"]) == (world.sku, world.ranked["supplier"])
    assert (row["fluid_key"], row["fluid_name"]) == ("props:1/997/72", "Water")
    assert (row["result_count"], row["pass_count"], row["fail_count"]) == (3, 1, 1)
    # Paired means and RMSE over the results that measured each quantity, from each result's stored prediction.
    cone = [(r["prediction"]["cone_deg"], r["spray_cone_angle_actual"]) for r in (first, second)]
    dv50 = [(r["prediction"]["dv50_um"], r["dv50_um"]) for r in (first, second)]
    flow = [(r["prediction"]["flow_ml_min"], r["flow_rate_actual_ml_min"]) for r in (first, third)]
    assert row["cone_count"] == 2 and row["dv50_count"] == 2 and row["flow_count"] == 2
    assert row["avg_actual_cone_deg"] == 58.0
    assert math.isclose(row["avg_predicted_cone_deg"], sum(p for p, _ in cone) / 2)
    assert math.isclose(row["rmse_cone_deg"], _rmse(cone))
    assert math.isclose(row["avg_actual_dv50_um"], 65.0) and math.isclose(row["rmse_dv50_um"], _rmse(dv50))
    assert math.isclose(row["rmse_flow_ml_min"], _rmse(flow))
    assert row["rmse_cone_deg"] > 0  # a real error, not a placeholder
    with tenant_scope(db.session, world.tenant.id):
        newest = db.session.scalar(select(Feedback.created_at).order_by(Feedback.created_at.desc()))
    assert row["last_result_at"] == newest


def test_an_edited_result_recomputes_the_aggregate(client, db, world):
    made = _post(client, world, spray_cone_angle_actual=50.0)
    before = _aggregates(db, world.tenant.id)[0]["rmse_cone_deg"]
    edited = client.put(
        f"/api/feedback/{made['id']}",
        json={"spray_cone_angle_actual": 80.0, "pass_fail": "fail"},
        headers=world.bearer(world.user, world.tenant),
    )
    assert edited.status_code == 200, edited.get_json()
    [row] = _aggregates(db, world.tenant.id)
    assert row["rmse_cone_deg"] == abs(80.0 - made["prediction"]["cone_deg"]) != before
    assert (row["result_count"], row["pass_count"], row["fail_count"]) == (1, 0, 1)


def test_running_the_job_again_changes_nothing(client, db, world):
    _post(client, world)
    _post(client, world, dv50_um=70.0, dv90_um=150.0)
    once = _aggregates(db, world.tenant.id)
    key = (str(world.tenant.id), once[0]["actuator_supplier"], once[0]["actuator_sku"], once[0]["fluid_key"])
    refresh_feedback_aggregate(*key)
    refresh_feedback_aggregate(*key)
    assert _aggregates(db, world.tenant.id) == once
    assert once[0]["result_count"] == 2


def test_a_group_whose_results_are_gone_loses_its_row(client, db, world):
    made = _post(client, world)
    assert _aggregates(db, world.tenant.id)
    with tenant_scope(db.session, world.tenant.id):
        db.session.execute(Feedback.__table__.delete().where(Feedback.__table__.c.id == uuid.UUID(made["id"])))
        db.session.commit()
    row = _aggregates(db, world.tenant.id)[0]
    refresh_feedback_aggregate(str(world.tenant.id), row["actuator_supplier"], row["actuator_sku"], row["fluid_key"])
    assert _aggregates(db, world.tenant.id) == []


def test_the_cli_rebuilds_from_scratch_and_only_the_workspace_asked(app, client, db, world, team, make_config):
    _post(client, world)
    _post(client, world, spray_cone_angle_actual=70.0)
    good = _aggregates(db, world.tenant.id)
    other = _lab(team, make_config, world.bearer)
    _post(client, other)
    other_good = _aggregates(db, other.tenant.id)
    # Corrupt both workspaces' rows, as a bug or a hand edit might.
    with unscoped(db.session, "tests corrupt the aggregates"):
        db.session.execute(update(FeedbackAggregate).values(result_count=99, rmse_cone_deg=0.0))
        db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["feedback", "rebuild-aggregates", "--tenant", world.tenant.slug])
    assert result.exit_code == 0, result.output
    assert f"{world.tenant.slug}: 1 aggregate" in result.output
    assert _aggregates(db, world.tenant.id) == good
    assert _aggregates(db, other.tenant.id)[0]["result_count"] == 99  # not asked: left alone
    result = runner.invoke(args=["feedback", "rebuild-aggregates"])
    assert result.exit_code == 0, result.output
    assert _aggregates(db, other.tenant.id) == other_good
    assert _aggregates(db, world.tenant.id) == good
    missing = runner.invoke(args=["feedback", "rebuild-aggregates", "--tenant", "no-such-workspace"])
    assert missing.exit_code != 0 and "No workspace with the slug 'no-such-workspace'" in missing.output


def test_results_for_another_fluid_are_their_own_aggregate(client, db, world, make_config):
    glycerol = make_config(
        world.tenant, world.user, name="Glycerol mix", fluid_name="Glycerol 50 %", fluid_viscosity_cP=1.5
    )
    with tenant_scope(db.session, world.tenant.id):
        water = db.session.get(Configuration, world.config_id).compatible_actuators
        second = {e["sku"] for e in glycerol.compatible_actuators}
        glycerol_id = glycerol.id
    both = [e["sku"] for e in water if e["sku"] in second]
    assert both, "one actuator must rank for both fluids for this test"
    world.sku = both[0]
    _post(client, world)
    world.config_id = glycerol_id
    _post(client, world)
    rows = _aggregates(db, world.tenant.id)
    assert sorted((r["actuator_sku"], r["fluid_key"], r["fluid_name"], r["result_count"]) for r in rows) == [
        (both[0], "props:1.5/997/72", "Glycerol 50 %", 1),
        (both[0], "props:1/997/72", "Water", 1),
    ]


def test_api_lists_the_workspaces_aggregates_and_never_anothers(client, db, world, team, make_config):
    _post(client, world)
    other = _lab(team, make_config, world.bearer)
    _post(client, other)
    _post(client, other)
    got = client.get("/api/feedback/aggregates", headers=world.bearer(world.user, world.tenant))
    assert got.status_code == 200, got.get_json()
    body = got.get_json()
    assert body["total"] == 1 and len(body["aggregates"]) == 1
    [row] = body["aggregates"]
    assert row["result_count"] == 1 and row["actuator_sku"] == world.sku and row["droplet_size_quantity"] == "dv50_um"
    assert "tenant_id" not in row
    theirs = client.get("/api/feedback/aggregates", headers=other.bearer(other.admin, other.tenant)).get_json()
    assert theirs["aggregates"][0]["result_count"] == 2
    filtered = client.get(f"/api/feedback/aggregates?sku={world.sku}", headers=world.bearer(world.user, world.tenant))
    assert filtered.get_json()["total"] == 1
    none = client.get("/api/feedback/aggregates?sku=NOPE", headers=world.bearer(world.user, world.tenant))
    assert none.get_json() == {"aggregates": [], "page": 1, "pages": 1, "per_page": 25, "total": 0}
    assert_problem(
        client.get("/api/feedback/aggregates?per_page=0", headers=world.bearer(world.user, world.tenant)),
        422,
        fields=("per_page",),
    )
