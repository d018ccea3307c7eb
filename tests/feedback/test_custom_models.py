"""Custom models (feature custom_models): trained on a selection of a workspace's lab results by a job on the
`ml` queue (in-process here; tests/jobs/test_custom_model_worker.py runs a real RQ worker), scored on the newest
results against the shared model and physics alone, and used by POST /api/configurations/predict?model_id=.
Another workspace's model answers 404, a model not ready 409, a plan without the feature 402."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from aerospec.feedback.models import CustomModel
from aerospec.tenancy.scoping import tenant_scope, unscoped
from tests.api.conftest import assert_problem
from tests.configurations.conftest import BASE
from tests.configurations.test_ranking_on_save import PREDICT
from tests.feedback.test_correction_loop import (
    CONE_FACTOR,
    DV50_FACTOR,
    FLOW_FACTOR,
    PRESSURE,
    _physics,
    _predict,
    _results_for,
)

FACTORS = {"flow": FLOW_FACTOR, "cone": CONE_FACTOR, "dv50": DV50_FACTOR}


@pytest.fixture
def lab(team, make_config, seeded_catalog, bearer, db, app):
    """An enterprise workspace with 8 lab results for its best-ranked SKU, all off the physics by FACTORS."""
    app.config["FEEDBACK_TRAIN_EVERY_N"] = 0  # no shared model: "shared" is physics alone here
    ns = team(plan="enterprise")
    config = make_config(ns.tenant, ns.user)
    ns.config_id = config.id
    ns.sku = config.compatible_actuators[0]["sku"]
    ns.headers = bearer(ns.user, ns.tenant)
    ns.bearer = bearer
    from flask import current_app

    client = current_app.test_client()
    ns.physics = _physics(client, ns, ns.sku)
    _results_for(client, ns, ns.sku, 8, FACTORS, ns.physics)
    return ns


def _train(client, ns, headers=None, **body):
    return client.post(
        "/api/ml/custom-models/train",
        json={"name": "Line 3 water", "model_type": "shrinkage", "sku": ns.sku, **body},
        headers=headers or ns.headers,
    )


def test_train_then_predict_with_the_model_moves_the_prediction_towards_what_the_lab_measured(client, db, lab):
    response = _train(client, lab)
    assert response.status_code == 202, response.get_json()
    started = response.get_json()
    assert started["status"] == "training" and started["eta_seconds"] >= 1
    model_id = started["model_id"]

    got = client.get(f"/api/ml/custom-models/{model_id}", headers=lab.headers).get_json()
    assert got["status"] == "ready" and got["progress"] == 100, got
    assert got["rows_used"] + got["rows_held_out"] == 8 and got["rows_held_out"] >= 1
    flow = got["metrics"]["quantities"]["flow_ml_min"]
    assert flow["custom"] < flow["physics"] and flow["shared"] == pytest.approx(flow["physics"])
    assert got["metrics"]["shared_version"] == "physics alone"

    listed = client.get("/api/ml/custom-models", headers=lab.headers).get_json()
    assert [m["model_id"] for m in listed["models"]] == [model_id] and listed["total"] == 1

    measured_flow = lab.physics["flow_ml_min"] * FLOW_FACTOR
    measured_dv50 = lab.physics["dv50_um"] * DV50_FACTOR
    measured_cone = lab.physics["cone_deg"] * CONE_FACTOR
    targets = {"cone_deg": {"value": measured_cone}, "dv50_um": {"value": measured_dv50}}
    _, plain = _predict(client, lab, lab.sku, targets={"cone_deg": lab.physics["cone_deg"]})
    answer = client.post(
        f"/api/configurations/predict?model_id={model_id}",
        json={
            "fluid_viscosity_cP": BASE["fluid_viscosity_cP"],
            "fluid_density_kg_m3": BASE["fluid_density_kg_m3"],
            "fluid_surface_tension_mN_m": BASE["fluid_surface_tension_mN_m"],
            "pressure_bar": BASE["max_pressure_bar"],
            "targets": targets,
        },
        headers=lab.headers,
    ).get_json()
    assert answer["model_version"] == "custom “Line 3 water”"
    assert plain is not None, "the SKU must be in the plain ranking"
    found = [a for a in answer["actuators"] if a["sku"] == lab.sku]
    assert found, (len(answer["actuators"]), answer.get("excluded_total"), [a["sku"] for a in answer["actuators"]][:5])
    (entry,) = found
    assert plain["flow_ml_min"] == pytest.approx(lab.physics["flow_ml_min"], rel=0.01)  # no model: physics
    assert entry["flow_ml_min"] > plain["flow_ml_min"]  # the lab measured 1.4× the physics' flow
    assert entry["dv50_um"] < plain["dv50_um"]  # and 0.75× its Dv50
    assert abs(entry["flow_ml_min"] - measured_flow) < abs(plain["flow_ml_min"] - measured_flow)
    assert abs(entry["dv50_um"] - measured_dv50) < abs(plain["dv50_um"] - measured_dv50)
    # The body field works the same way.
    body_answer = client.post(
        "/api/configurations/predict",
        json={**PREDICT, "model_id": model_id},
        headers=lab.headers,
    )
    assert body_answer.status_code == 200, body_answer.get_json()
    typed = body_answer.get_json()
    # A typed-in geometry is no SKU: the model's global level (same fluid, same pressure) applies to it.
    assert typed["model_version"] == "custom “Line 3 water”"
    assert typed["prediction"]["correction"]["quantities"]["flow_ml_min"]["factor"] > 1


def test_another_workspaces_model_answers_404_everywhere(client, db, lab, team, bearer):
    model_id = _train(client, lab).get_json()["model_id"]
    other = team(plan="enterprise")
    h = bearer(other.user, other.tenant)
    assert_problem(client.get(f"/api/ml/custom-models/{model_id}", headers=h), 404)
    assert client.get("/api/ml/custom-models", headers=h).get_json()["models"] == []
    body = PREDICT
    got = assert_problem(client.post(f"/api/configurations/predict?model_id={model_id}", json=body, headers=h), 404)
    assert got["errors"]["model_id"] == [f"Unknown model “{model_id}”."]
    assert_problem(client.get("/api/ml/custom-models/not-a-uuid", headers=lab.headers), 404)
    # Another workspace's lab result ids cannot be selected: refused, nothing written.
    with unscoped(db.session, "tests read a result id"):
        from aerospec.feedback.models import Feedback

        foreign = str(db.session.scalar(select(Feedback.id).where(Feedback.tenant_id == lab.tenant.id)))
    before = _models(db)
    refused = _train(client, lab, headers=h, sku=None, feedback_ids=[foreign])
    got = assert_problem(refused, 422, fields=("feedback_ids",))
    assert "not lab results of this workspace" in got["errors"]["feedback_ids"][0]
    assert _models(db) == before


def _models(db) -> int:
    with unscoped(db.session, "tests count custom models"):
        return db.session.scalar(select(func.count(CustomModel.id)))


def test_a_model_not_ready_answers_409_and_a_failed_one_says_why(client, db, lab):
    model_id = _train(client, lab).get_json()["model_id"]
    with tenant_scope(db.session, lab.tenant.id):
        row = db.session.get(CustomModel, uuid.UUID(model_id))
        row.status, row.progress = "training", 40
        db.session.commit()
    body = PREDICT
    got = assert_problem(
        client.post(f"/api/configurations/predict?model_id={model_id}", json=body, headers=lab.headers), 409
    )
    assert "training (40 %)" in got["detail"]
    got = client.get(f"/api/ml/custom-models/{model_id}", headers=lab.headers).get_json()
    assert got["status"] == "training" and got["progress"] == 40


def test_a_selection_too_small_is_refused_and_nothing_is_written(client, db, lab):
    before = _models(db)
    got = assert_problem(_train(client, lab, sku="NO-SUCH-SKU"), 422, fields=("selection",))
    assert "holds 0 lab results" in got["errors"]["selection"][0]
    for bad, field in (
        ({"model_type": "neural"}, "model_type"),
        ({"name": "  "}, "name"),
        ({"date_from": "2026-13-01"}, "date_from"),
        ({"feedback_ids": ["x"]}, "feedback_ids"),
    ):
        assert_problem(_train(client, lab, **bad), 422, fields=(field,))
    assert _models(db) == before
    # Gradient boosting needs more: the 8 results of this SKU are too few for its trees.
    got = assert_problem(_train(client, lab, model_type="gradient_boosting"), 422, fields=("selection",))
    assert "holds 8 lab results; a gradient-boosting model needs at least 12" in got["errors"]["selection"][0]
    assert _models(db) == before


@pytest.mark.parametrize("plan", ["starter", "professional"])
def test_plans_without_custom_models_get_402_naming_the_plan(client, db, team, bearer, plan):
    t = team(plan=plan)
    h = bearer(t.user, t.tenant)
    got = assert_problem(_train(client, SimpleNamespace(sku="SP-1"), headers=h), 402)
    assert "Enterprise" in got["detail"]
    assert_problem(client.get("/api/ml/custom-models", headers=h), 402)
    body = {**PREDICT, "model_id": "lab-v7"}
    assert_problem(client.post("/api/configurations/predict", json=body, headers=h), 402)


def test_viewers_cannot_train(client, db, lab):
    h = lab.bearer(lab.viewer, lab.tenant)
    got = client.post("/api/ml/custom-models/train", json={"name": "x"}, headers=h)
    assert got.status_code == 403, got.get_json()


# ---- gradient boosting


def test_gradient_boosting_trains_reports_progress_and_metrics_and_predicts_with_its_model(
    client, db, lab, monkeypatch
):
    from flask import current_app

    from aerospec.feedback import custom

    _results_for(current_app.test_client(), lab, lab.sku, 6, FACTORS, lab.physics)  # 14 results in all
    seen = []
    real_set = custom._set

    def spy(session, row, **values):  # the job runs in-process here: record what a GET would have shown
        real_set(session, row, **values)
        seen.append(row.progress)

    monkeypatch.setattr(custom, "_set", spy)
    response = _train(client, lab, model_type="gradient_boosting", name="Line 3 trees")
    monkeypatch.undo()
    assert response.status_code == 202, response.get_json()
    started = response.get_json()
    assert started["status"] == "training" and started["eta_seconds"] >= 2
    assert seen[0] == 10 and 40 < seen[-3] <= 80 and seen[-1] == 100 and seen == sorted(seen), seen
    got = client.get(f"/api/ml/custom-models/{started['model_id']}", headers=lab.headers).get_json()
    assert got["status"] == "ready" and got["model_type"] == "gradient_boosting", got
    assert got["rows_used"] == 11 and got["rows_held_out"] == 3
    metrics = got["metrics"]
    flow = metrics["quantities"]["flow_ml_min"]
    assert flow["custom"] < 0.5 * flow["physics"] and flow["shared"] == pytest.approx(flow["physics"])
    assert metrics["beats_in_use"] is True and metrics["note"] is None
    with tenant_scope(db.session, lab.tenant.id):
        params = db.session.get(CustomModel, uuid.UUID(started["model_id"])).params
    assert params["kind"] == "gradient_boosting" and params["quantities"]["flow_ml_min"]["trees"]["feature"]

    answer, entry = _predict_with(client, lab, started["model_id"])
    assert answer["model_version"] == "custom “Line 3 trees”"
    _, plain = _predict(client, lab, lab.sku, targets={"cone_deg": lab.physics["cone_deg"]})
    measured_flow = lab.physics["flow_ml_min"] * FLOW_FACTOR
    assert abs(entry["flow_ml_min"] - measured_flow) < 0.1 * abs(plain["flow_ml_min"] - measured_flow)
    assert entry["correction"]["model_version"] == "custom “Line 3 trees”"
    assert entry["correction"]["quantities"]["flow_ml_min"]["level"] == "boosting"


def _predict_with(client, ns, model_id):
    body = {
        "fluid_viscosity_cP": BASE["fluid_viscosity_cP"],
        "fluid_density_kg_m3": BASE["fluid_density_kg_m3"],
        "fluid_surface_tension_mN_m": BASE["fluid_surface_tension_mN_m"],
        "pressure_bar": PRESSURE,
        # Targets at what the lab measured, so the SKU ranks among the first 50 with the model.
        "targets": {
            "cone_deg": {"value": ns.physics["cone_deg"] * CONE_FACTOR},
            "dv50_um": {"value": ns.physics["dv50_um"] * DV50_FACTOR},
        },
    }
    got = client.post(f"/api/configurations/predict?model_id={model_id}", json=body, headers=ns.headers)
    assert got.status_code == 200, got.get_json()
    answer = got.get_json()
    (entry,) = [a for a in answer["actuators"] if a["sku"] == ns.sku]
    return answer, entry


def test_a_gradient_boosting_model_that_does_not_beat_the_model_in_use_is_flagged(
    client, db, team, make_config, seeded_catalog, app, bearer
):
    """The lab measured exactly what the physics said: nothing to learn, so it ties and says so."""
    from flask import current_app

    from tests.feedback.test_correction_loop import _results_for as record

    app.config["FEEDBACK_TRAIN_EVERY_N"] = 0
    ns = team(plan="enterprise")
    config = make_config(ns.tenant, ns.user)
    ns.config_id, ns.sku = config.id, config.compatible_actuators[0]["sku"]
    ns.headers = bearer(ns.user, ns.tenant)
    test_client = current_app.test_client()
    physics = _physics(test_client, ns, ns.sku)
    record(test_client, ns, ns.sku, 13, {"flow": 1.0, "cone": 1.0, "dv50": 1.0}, physics)
    got = _train(client, ns, model_type="gradient_boosting").get_json()
    got = client.get(f"/api/ml/custom-models/{got['model_id']}", headers=ns.headers).get_json()
    assert got["status"] == "ready" and got["metrics"]["beats_in_use"] is False
    assert "does not beat the model in use" in got["metrics"]["note"]


# ---- the page


def test_the_models_page_shows_the_empty_state_then_the_progress_bar_then_the_metrics(
    client, db, team, login, tenant_url
):
    from tests.feedback.makers import custom_model

    t = team(plan="enterprise")
    login(t.viewer)  # viewers read
    html = client.get(tenant_url(t.tenant, "models")).get_data(as_text=True)
    assert "No custom models yet" in html and "<progress" not in html
    with tenant_scope(db.session, t.tenant.id):
        row = custom_model(db.session, t.tenant.id, status="training")
        row.progress = 40
        db.session.commit()
    response = client.get(tenant_url(t.tenant, "models"), headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'value="40"' in html and "Training (40 %)" in html
    assert 'hx-trigger="every 2s"' in html
    with tenant_scope(db.session, t.tenant.id):
        row = db.session.get(CustomModel, row.id)
        row.status, row.progress, row.rows_used, row.rows_held_out = "ready", 100, 8, 2
        row.metrics = {"overall": {"custom": 0.05, "shared": 0.3, "physics": 0.3}}
        db.session.commit()
    response = client.get(tenant_url(t.tenant, "models"), headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 286, "nothing training: htmx stops polling"
    assert "Ready" in html and "0.050 · 0.300 · 0.300" in html and "every 2s" not in html


def test_the_models_page_is_402_without_the_feature_and_404_for_another_workspace(client, db, team, login, tenant_url):
    t, other = team(plan="professional"), team(plan="enterprise")
    login(t.user)
    assert client.get(tenant_url(t.tenant, "models")).status_code == 402
    assert client.get(tenant_url(other.tenant, "models")).status_code == 404


# ---- the training form on the page


def test_the_form_shows_the_count_of_matching_results_and_starts_training(client, db, lab, login, tenant_url):
    login(lab.user)
    html = client.get(tenant_url(lab.tenant, "models")).get_data(as_text=True)
    assert 'id="train-model-form"' in html
    assert "<strong>8</strong> matching lab results" in html
    assert "Gradient boosting (scikit-learn)" in html and "Needs at least 12 results" in html
    assert f'<option value="{lab.sku}">' in html
    preview = client.get(
        tenant_url(lab.tenant, f"models?preview=1&sku={lab.sku}&date_from=2000-01-01"), headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert preview.strip().startswith('<p id="selection-count"') and "<strong>8</strong>" in preview
    none = client.get(tenant_url(lab.tenant, "models?preview=1&date_to=2000-01-01"), headers={"HX-Request": "true"})
    assert "<strong>0</strong> matching lab results" in none.get_data(as_text=True)
    assert '<option value="Water">' in html  # the configuration's fluid, by its name
    for fluid, n in (("Water", 8), ("Glycerol", 0)):
        got = client.get(tenant_url(lab.tenant, f"models?preview=1&fluid={fluid}"), headers={"HX-Request": "true"})
        assert f"<strong>{n}</strong> matching lab result" in got.get_data(as_text=True)
    bad = client.get(tenant_url(lab.tenant, "models?preview=1&date_to=2000-13-01"), headers={"HX-Request": "true"})
    assert "Give the dates as YYYY-MM-DD" in bad.get_data(as_text=True)

    before = _models(db)
    form = {"name": "From the page", "model_type": "shrinkage", "sku": lab.sku, "fluid": "", "date_from": ""}
    response = client.post(tenant_url(lab.tenant, "models"), data=form)
    assert response.status_code == 303 and response.headers["Location"].endswith("/models")
    assert _models(db) == before + 1
    html = client.get(tenant_url(lab.tenant, "models")).get_data(as_text=True)
    assert "From the page" in html and "Ready" in html and "Shrinkage" in html
    with tenant_scope(db.session, lab.tenant.id):
        row = db.session.scalar(select(CustomModel).where(CustomModel.name == "From the page"))
        assert row.selection == {"sku": lab.sku} and row.created_by_id == lab.user.id


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"name": "  "}, "name", "Give the model a name."),
        ({"name": ""}, "name", "Give the model a name."),
        ({"model_type": "neural"}, "model_type", "Must be shrinkage or gradient_boosting."),
        ({"date_from": "2026-13-01"}, "date_from", "Must be a date, YYYY-MM-DD."),
        ({"date_from": "2026-05-02", "date_to": "2026-05-01"}, None, "date_from must not be after date_to."),
        ({"model_type": "gradient_boosting"}, None, "a gradient-boosting model needs at least 12"),
        ({"sku": "NO-SUCH"}, None, "The selection holds 0 lab results"),
    ],
)
def test_the_form_says_what_is_wrong_keeps_the_input_and_writes_nothing(
    client, db, lab, login, tenant_url, form, field, message
):
    login(lab.user)
    before = _models(db)
    data = {"name": "Keep me", "model_type": "shrinkage", **form}
    response = client.post(tenant_url(lab.tenant, "models"), data=data, headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and html.strip().startswith('<section class="card" id="train-model"')
    assert message in html
    if field:
        assert f'id="{field}-error"' in html or f'id="{field}-0' in html
    if data["name"].strip():
        assert 'value="Keep me"' in html
    assert _models(db) == before


def test_viewers_see_no_form_and_cannot_post_it(client, db, lab, login, tenant_url):
    login(lab.viewer)
    html = client.get(tenant_url(lab.tenant, "models")).get_data(as_text=True)
    assert "train-model-form" not in html and "Members who record lab results can train one" in html
    before = _models(db)
    response = client.post(tenant_url(lab.tenant, "models"), data={"name": "x", "model_type": "shrinkage"})
    assert response.status_code == 403 and _models(db) == before


@pytest.mark.parametrize("plan", ["starter", "professional"])
def test_without_the_feature_the_page_names_the_plan_and_has_no_form(client, db, team, login, tenant_url, plan):
    t = team(plan=plan)
    login(t.admin)
    response = client.get(tenant_url(t.tenant, "models"))
    html = response.get_data(as_text=True)
    assert response.status_code == 402 and "Enterprise" in html and "train-model-form" not in html
    before = _models(db)
    posted = client.post(tenant_url(t.tenant, "models"), data={"name": "x", "model_type": "shrinkage"})
    assert posted.status_code == 402 and _models(db) == before


# ---- the wizard's model picker


def _wizard(tenant, lab_ns=None, **extra) -> str:
    from urllib.parse import urlencode

    params = {
        "step": "results",
        "viscosity_cp": BASE["fluid_viscosity_cP"],
        "density_kg_m3": BASE["fluid_density_kg_m3"],
        "surface_tension_mn_m": BASE["fluid_surface_tension_mN_m"],
        "pressure_bar": PRESSURE,
        **extra,
    }
    if lab_ns is not None:  # targets at what the lab measured, so its SKU ranks near the top with the model
        params["cone_deg"] = round(lab_ns.physics["cone_deg"] * CONE_FACTOR, 2)
        params["dv50_um"] = round(lab_ns.physics["dv50_um"] * DV50_FACTOR, 2)
    return f"/t/{tenant.slug}/configurations/new?{urlencode(params)}"


def test_the_wizard_ranks_with_the_picked_model_and_each_prediction_names_it(client, db, lab, login):
    model_id = _train(client, lab, name="Line 3 water").get_json()["model_id"]
    login(lab.viewer)  # viewers explore the wizard too
    plain = client.get(_wizard(lab.tenant, lab)).get_data(as_text=True)
    assert '<option value="">AeroSpec\'s models</option>' in plain
    assert f'<option value="{model_id}">Line 3 water (shrinkage, ' in plain
    assert "Fix these" not in plain and "model custom" not in plain and 'id="model-in-use"' not in plain
    picked = client.get(_wizard(lab.tenant, lab, model=model_id)).get_data(as_text=True)
    assert f'<option value="{model_id}" selected>' in picked
    assert 'id="model-in-use"' in picked and "Predicted with your model <strong>Line 3 water</strong>" in picked
    assert "model custom “Line 3 water”" in picked  # the calibrated entries say which model made them
    assert f"model={model_id}" in picked  # links keep the pick


def test_another_workspaces_model_in_the_wizard_is_unknown_and_never_used(client, db, lab, team, login):
    model_id = _train(client, lab).get_json()["model_id"]
    other = team(plan="enterprise")
    login(other.user)
    response = client.get(_wizard(other.tenant, model=model_id))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Unknown model: pick one of this workspace&#39;s models" in html
    assert "Line 3 water" not in html and "model custom" not in html and 'id="model-in-use"' not in html
    assert "Fix these to rank actuators" in html  # nothing ranked with a model that is not its own
    assert "ranking-count" not in html and "empty-results" not in html
    assert "Unknown model" in client.get(_wizard(other.tenant, model="not-a-uuid")).get_data(as_text=True)


def test_without_the_feature_the_wizard_has_no_picker_and_refuses_a_model(client, db, team, login, seeded_catalog):
    t = team(plan="professional")
    login(t.user)
    html = client.get(_wizard(t.tenant)).get_data(as_text=True)
    assert 'name="model"' not in html
    refused = client.get(_wizard(t.tenant, model=str(uuid.uuid4()))).get_data(as_text=True)
    assert "Enterprise" in refused and 'name="model"' in refused  # the picker shows only to say why
