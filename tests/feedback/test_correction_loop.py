"""The loop closes: lab results that the physics misses by a known factor train the correction model, and the
next prediction for that SKU and fluid says "calibrated with N lab results" and is closer to what was measured
(the API, the wizard page and the stored snapshot); promotion only when better on the newest results; roll-back;
a workspace that does not share its results never reaches the shared model or another workspace's predictions.

Training runs in-process here (inline jobs, after the commit of every FEEDBACK_TRAIN_EVERY_N-th result);
tests/jobs/test_correction_worker.py runs it through a real RQ worker.
"""

from __future__ import annotations

import math
import uuid
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from aerospec.configurations import wizard
from aerospec.feedback import learning
from aerospec.feedback.models import CorrectionModel, TenantCorrectionModel
from aerospec.tenancy.scoping import tenant_scope, unscoped
from tests.configurations.conftest import BASE

PRESSURE = BASE["max_pressure_bar"]  # the configuration's pressure: where its ranking and the wizard predict
FLOW_FACTOR, CONE_FACTOR, DV50_FACTOR = 1.4, 1.2, 0.75  # how far the "lab" is from the physics


@pytest.fixture
def loop(team, make_config, seeded_catalog, bearer, db, app):
    app.config["FEEDBACK_TRAIN_EVERY_N"] = 10
    ns = team()
    config = make_config(ns.tenant, ns.user)
    ns.config_id = config.id  # kept: on PostgreSQL an expired row reloads only inside its tenant's scope
    ns.ranked = config.compatible_actuators[0]
    ns.sku = ns.ranked["sku"]
    ns.headers = bearer(ns.user, ns.tenant)
    ns.bearer = bearer
    return ns


def _physics(client, ns, sku, config_id=None, headers=None) -> dict:
    """The first result records the physics prediction it was measured against (no model yet)."""
    got = _record(client, ns, sku, {"flow": 1.0, "cone": 1.0, "dv50": 1.0}, config_id, headers, probe=True)
    return got["prediction"]["physics"]


def _record(client, ns, sku, factors, config_id=None, headers=None, *, physics=None, noise=0.0, probe=False):
    base = physics or {"flow_ml_min": 100.0, "cone_deg": 50.0, "dv50_um": 60.0}
    body = {
        "configuration_id": str(config_id or ns.config_id),
        "actuator_sku": sku,
        "pressure_bar": PRESSURE,
        "flow_rate_actual_ml_min": round(base["flow_ml_min"] * factors["flow"] * math.exp(noise), 4),
        "spray_cone_angle_actual": round(base["cone_deg"] * factors["cone"] * math.exp(-noise), 4),
        "dv50_um": round(base["dv50_um"] * factors["dv50"] * math.exp(noise), 4),
        "measurement_method": "laser_diffraction",
    }
    response = client.post("/api/feedback", json=body, headers=headers or ns.headers)
    assert response.status_code == 201, response.get_json()
    got = response.get_json()
    if probe:  # not a real lab result: remove it again so only the intended results train
        from aerospec.extensions import db
        from aerospec.feedback.models import Feedback

        with tenant_scope(db.session, ns.tenant.id if headers is None else ns.other_tenant.id):
            db.session.delete(db.session.get(Feedback, uuid.UUID(got["id"])))
            db.session.commit()
    return got


def _results_for(client, ns, sku, n, factors, physics, headers=None, config_id=None):
    for i in range(n):
        _record(client, ns, sku, factors, config_id, headers, physics=physics, noise=0.01 * ((i % 3) - 1))


def _predict(client, ns, sku, headers=None, targets=None) -> dict:
    """POST /api/configurations/predict ranking the catalog for the configuration's fluid; the SKU's entry."""
    body = {
        "fluid_viscosity_cP": BASE["fluid_viscosity_cP"],
        "fluid_density_kg_m3": BASE["fluid_density_kg_m3"],
        "fluid_surface_tension_mN_m": BASE["fluid_surface_tension_mN_m"],
        "pressure_bar": PRESSURE,
        "targets": {q: {"value": v} for q, v in (targets or {}).items()},
    }
    response = client.post("/api/configurations/predict", json=body, headers=headers or ns.headers)
    assert response.status_code == 200, response.get_json()
    got = response.get_json()
    found = [a for a in got["actuators"] if a["sku"] == sku]
    return got, (found[0] if found else None)


def _entry(db, tenant, sku, pressure=PRESSURE) -> dict:
    """The wizard's prediction for one catalog SKU ("Predict with my fluid"), as the workspace sees it."""
    from aerospec import engine
    from aerospec.catalog.models import Actuator

    actuator = db.session.scalar(select(Actuator).where(Actuator.sku == sku))
    fluid = engine.Fluid(BASE["fluid_viscosity_cP"], BASE["fluid_density_kg_m3"], BASE["fluid_surface_tension_mN_m"])
    with tenant_scope(db.session, tenant.id):
        (entry,) = wizard.ranked_entries(db.session, fluid, engine.Targets(pressure), actuator_id=actuator.id).entries
    return entry


def _shared(db):
    return list(db.session.scalars(select(CorrectionModel).order_by(CorrectionModel.version)))


def test_results_the_physics_misses_train_a_model_and_the_next_prediction_is_calibrated_and_closer(
    client, db, loop, login, tenant_url
):
    answer, _ = _predict(client, loop, loop.sku)
    assert answer["model_version"] is None
    first = answer["actuators"][0]
    assert first["correction"]["calibrated"] is False
    assert first["correction"]["label"].startswith("Physics alone: no correction model")
    before = _entry(db, loop.tenant, loop.sku)
    physics = _physics(client, loop, loop.sku)
    assert physics["flow_ml_min"] == pytest.approx(before["flow_ml_min"], rel=1e-2)
    measured = {
        "flow_ml_min": physics["flow_ml_min"] * FLOW_FACTOR,
        "cone_deg": physics["cone_deg"] * CONE_FACTOR,
        "dv50_um": physics["dv50_um"] * DV50_FACTOR,
    }
    _results_for(client, loop, loop.sku, 9, {"flow": FLOW_FACTOR, "cone": CONE_FACTOR, "dv50": DV50_FACTOR}, physics)
    assert _shared(db) == [], "nine results: not yet the tenth that triggers training"
    _results_for(client, loop, loop.sku, 1, {"flow": FLOW_FACTOR, "cone": CONE_FACTOR, "dv50": DV50_FACTOR}, physics)

    (model,) = _shared(db)  # the 10th result's commit ran the training job (inline here)
    assert model.status == "active" and model.version == 1
    assert model.rows_used == 8 and model.rows_held_out == 2  # the 2 newest were held out
    err = model.heldout_error["quantities"]["flow_ml_min"]
    assert err["after"] < err["before"] and err["before"] == pytest.approx(math.log(FLOW_FACTOR), abs=0.02)

    # Ranked for targets at what the lab measured, the corrected SKU is near the top of the API's answer.
    answer, after = _predict(
        client, loop, loop.sku, targets={"cone_deg": measured["cone_deg"], "dv50_um": measured["dv50_um"]}
    )
    assert after is not None, "the corrected SKU must rank among the 50 best for targets at what was measured"
    assert after == {
        **after,
        **{k: v for k, v in _entry(db, loop.tenant, loop.sku).items() if k in ("flow_ml_min", "correction")},
    }
    assert answer["model_version"].startswith("shared v1")
    cx = after["correction"]
    assert cx["calibrated"] is True and cx["label"] == "calibrated with 8 lab results"
    assert cx["model_version"] == answer["model_version"]
    assert cx["quantities"]["flow_ml_min"]["level"] == "sku"
    for q in ("flow_ml_min", "cone_deg", "dv50_um"):
        assert abs(math.log(after[q] / measured[q])) < 0.5 * abs(math.log(before[q] / measured[q])), q
    # The band: never narrower than the measured spread of the results behind it (all within ±1 %).
    assert after["flow_ml_min_low"] < measured["flow_ml_min"] < after["flow_ml_min_high"]

    # The wizard page shows it too.
    login(loop.user)
    from aerospec.catalog.models import Actuator

    actuator_id = db.session.scalar(select(Actuator.id).where(Actuator.sku == loop.sku))
    from aerospec.configurations.models import Configuration

    with tenant_scope(db.session, loop.tenant.id):
        args = wizard.args_for_config(db.session.get(Configuration, loop.config_id)) | {"actuator": str(actuator_id)}
    page = client.get(tenant_url(loop.tenant, "configurations/new") + "?" + urlencode(args))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Calibrated with 8 lab results" in html and f"model {answer['model_version']}" in html

    # The next lab result stores which model made its prediction, and the physics it corrected.
    got = _record(
        client, loop, loop.sku, {"flow": FLOW_FACTOR, "cone": CONE_FACTOR, "dv50": DV50_FACTOR}, physics=physics
    )
    assert got["prediction"]["model_version"] == answer["model_version"]
    assert got["prediction"]["physics"]["flow_ml_min"] == pytest.approx(physics["flow_ml_min"])
    assert got["prediction"]["flow_ml_min"] == pytest.approx(after["flow_ml_min"], rel=1e-2)

    # "Rank again" on the configuration page stores the corrected entries with their label.
    from aerospec.configurations import services as configs

    with tenant_scope(db.session, loop.tenant.id):
        config = db.session.get(Configuration, loop.config_id)
        ranked = wizard.rank_for_configuration(db.session, configs.snapshot(config))
    assert ranked and all(e["correction"]["model_in_use"] == answer["model_version"] for e in ranked)
    labels = [e["correction"]["label"] for e in ranked]
    assert all("calibrated with" in label or "Physics alone" in label for label in labels)


def test_a_retrain_that_is_not_better_on_the_newest_results_is_rejected_and_the_active_model_stays(client, db, loop):
    physics = _physics(client, loop, loop.sku)
    factors = {"flow": FLOW_FACTOR, "cone": CONE_FACTOR, "dv50": DV50_FACTOR}
    _results_for(client, loop, loop.sku, 10, factors, physics)
    (first,) = _shared(db)
    assert first.status == "active"
    # Ten more results at which the physics is right after all: the newest contradict the model in use ...
    _results_for(client, loop, loop.sku, 10, {"flow": 1.0, "cone": 1.0, "dv50": 1.0}, physics)
    models = _shared(db)
    assert [m.status for m in models] == ["retired", "active"] or [m.status for m in models] == ["active", "rejected"]
    # ... and whichever way it went, the verdict was on the 4 newest results against v1.
    second = models[1]
    assert second.rows_held_out == 4 and second.heldout_error["against"] == "shared v1"
    better = second.heldout_error["after"] < second.heldout_error["before"]
    assert (second.status == "active") == better


def test_rollback_and_promote_move_the_active_model_and_predictions_follow(client, db, loop, app):
    physics = _physics(client, loop, loop.sku)
    _results_for(client, loop, loop.sku, 10, {"flow": FLOW_FACTOR, "cone": CONE_FACTOR, "dv50": DV50_FACTOR}, physics)
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["feedback", "models", "list"])
    assert listed.exit_code == 0 and "v1 active" in listed.output and "→" in listed.output
    out = runner.invoke(args=["feedback", "models", "rollback", "--reason", "lab recalibrated its rig"])
    assert out.exit_code == 0, out.output
    assert "physics alone" in out.output
    # The shared model is out of use (the workspace's own layer, when one was promoted, still applies).
    assert "shared" not in (_entry(db, loop.tenant, loop.sku)["correction"]["model_in_use"] or "")
    out = runner.invoke(args=["feedback", "models", "promote", "1", "--reason", "rig was fine"])
    assert out.exit_code == 0, out.output
    assert _entry(db, loop.tenant, loop.sku)["correction"]["model_version"].startswith("shared v1")
    bad = runner.invoke(args=["feedback", "models", "promote", "7", "--reason", "x"])
    assert bad.exit_code != 0 and "No correction model version 7" in bad.output
    from aerospec.admin.models import AdminAuditLog

    actions = set(db.session.scalars(select(AdminAuditLog.action)))
    assert {"correction_model.promoted", "correction_model.rolled_back"} <= actions


def test_a_workspace_that_does_not_share_never_reaches_the_shared_model_or_another_workspace(
    client, db, loop, team, make_config
):
    # B opts out and records results for its SKU that the physics misses by 2×.
    b = team()
    with tenant_scope(db.session, b.tenant.id):
        b.tenant.share_lab_results = False
        db.session.commit()
    b_config = make_config(b.tenant, b.user)
    b_config_id, b_sku = b_config.id, b_config.compatible_actuators[1]["sku"]
    assert b_sku != loop.sku
    b_headers = loop.bearer(b.user, b.tenant)
    loop.other_tenant = b.tenant
    physics_b = _physics(client, loop, b_sku, b_config_id, b_headers)
    _results_for(client, loop, b_sku, 10, {"flow": 2.0, "cone": 2.0, "dv50": 2.0}, physics_b, b_headers, b_config_id)
    assert _shared(db) == [], "B's results alone must not train the shared model"
    # ... but they improve B's own predictions (its own layer), counted as results the shared model never saw.
    b_after = _entry(db, b.tenant, b_sku)
    assert b_after["correction"]["label"] == "calibrated with 8 lab results"
    assert b_after["correction"]["model_version"] == "workspace v1"
    assert b_after["flow_ml_min"] > 1.5 * physics_b["flow_ml_min"]

    # A (sharing) records results for its own SKU: the shared model is trained from A's results only.
    physics_a = _physics(client, loop, loop.sku)
    _results_for(client, loop, loop.sku, 10, {"flow": FLOW_FACTOR, "cone": CONE_FACTOR, "dv50": DV50_FACTOR}, physics_a)
    (shared,) = _shared(db)
    for part in shared.params["quantities"].values():
        assert set(part["skus"]) == {f"{loop.ranked['supplier']}:{loop.sku}"}, "B's SKU must not be in it"
        assert part["global"]["n"] == 8
    # A's layer holds A's SKU alone; B's layer holds B's alone.
    with tenant_scope(db.session, loop.tenant.id):
        a_layers = list(db.session.scalars(select(TenantCorrectionModel)))
    with tenant_scope(db.session, b.tenant.id):
        b_layers = list(db.session.scalars(select(TenantCorrectionModel)))
    assert {layer.tenant_id for layer in a_layers} == {loop.tenant.id}
    for layer in a_layers:
        for part in layer.params["quantities"].values():
            assert not any(key.endswith(f":{b_sku}") for key in part["skus"])
    assert all(layer.tenant_id == b.tenant.id for layer in b_layers)
    # A's prediction for B's SKU knows nothing of B's results: only the shared global level (A's 8 results).
    a_on_b = _entry(db, loop.tenant, b_sku)
    assert a_on_b["correction"]["quantities"]["flow_ml_min"]["level"] in ("global", "family", None)
    assert a_on_b["flow_ml_min"] < 1.5 * physics_b["flow_ml_min"]


def test_outside_the_pressure_the_model_has_seen_the_prediction_is_physics_alone_and_says_so(client, db, loop):
    physics = _physics(client, loop, loop.sku)
    _results_for(client, loop, loop.sku, 10, {"flow": FLOW_FACTOR, "cone": CONE_FACTOR, "dv50": DV50_FACTOR}, physics)
    entry = _entry(db, loop.tenant, loop.sku, pressure=2.0)  # the results were all at 5 bar
    assert entry["correction"]["calibrated"] is False
    assert "outside the range" in entry["correction"]["label"]


def test_training_across_workspaces_is_an_explicit_logged_bypass(client, db, loop, caplog):
    physics = _physics(client, loop, loop.sku)
    _results_for(client, loop, loop.sku, 9, {"flow": FLOW_FACTOR, "cone": CONE_FACTOR, "dv50": DV50_FACTOR}, physics)
    caplog.set_level("INFO", logger="aerospec.tenancy.scoping")
    with unscoped(db.session, "test: the platform job runs with no tenant in context"):
        pass
    caplog.clear()
    learning.train_all(db.session)
    assert any("correction training" in r.getMessage() for r in caplog.records)


def test_a_workspace_that_stops_sharing_takes_its_results_out_of_the_shared_model_at_the_next_training(
    client, db, loop
):
    physics = _physics(client, loop, loop.sku)
    _results_for(client, loop, loop.sku, 10, {"flow": FLOW_FACTOR, "cone": CONE_FACTOR, "dv50": DV50_FACTOR}, physics)
    (shared,) = _shared(db)
    assert shared.status == "active" and shared.params["sources"] == [str(loop.tenant.id)]
    with tenant_scope(db.session, loop.tenant.id):
        loop.tenant.share_lab_results = False
        db.session.commit()
    learning.train_all(db.session)
    db.session.expire_all()
    (shared,) = _shared(db)
    assert shared.status == "retired" and "no longer shares" in shared.note
    # Its own results still improve its own predictions: its layer now counts them on their own.
    entry = _entry(db, loop.tenant, loop.sku)
    assert entry["correction"]["model_version"].startswith("workspace v")
    assert entry["correction"]["label"] == "calibrated with 8 lab results"
