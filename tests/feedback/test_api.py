"""Lab results through the API: recorded beside the prediction as it was, listed predicted vs measured,
every refusal a problem+json 422 that writes nothing, the role matrix, and another workspace's ids 404."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from aerospec import engine
from aerospec.catalog import services as catalog
from aerospec.catalog.models import Actuator
from aerospec.configurations import wizard
from aerospec.feedback.models import Feedback
from aerospec.tenancy.scoping import tenant_scope, unscoped
from tests.api.conftest import assert_problem

PRESSURE = 3.0


@pytest.fixture
def world(team, make_config, seeded_catalog, bearer, db):
    """A team, a saved configuration ranked against the sample catalog, and its best-ranked actuator."""
    ns = team()
    config = make_config(ns.tenant, ns.user)
    assert config.compatible_actuators, "the saved configuration must carry a ranking"
    ns.config_id = config.id
    ns.ranked = config.compatible_actuators[0]
    ns.sku = ns.ranked["sku"]
    ns.bearer = bearer
    return ns


def _body(ns, **extra) -> dict:
    return {
        "configuration_id": str(ns.config_id),
        "actuator_sku": ns.sku,
        "pressure_bar": PRESSURE,
        "dv50_um": 61.5,
        "dv10_um": 22.0,
        "dv90_um": 130.0,
        "measurement_method": "laser_diffraction",
        "spray_cone_angle_actual": 58.0,
        "flow_rate_actual_ml_min": 410.0,
        "temperature_c": 21.5,
        "measured_by": "Lab 2, R. Franklin",
        "pass_fail": "pass",
        "rating": 4,
        "prediction_matched": True,
        "confidence_in_prediction": 4,
        "test_conditions": "Water, 21 °C, 150 mm from the orifice",
        **extra,
    }


def _count(db) -> int:
    with unscoped(db.session, "tests count lab results in every workspace"):
        return db.session.scalar(select(func.count(Feedback.id)))


def _engine_now(db, config_id, tenant_id, sku, supplier, pressure) -> dict:
    """prediction_item() for that SKU from a prediction over the whole catalog (not the service's path)."""
    from aerospec.configurations.models import Configuration

    with tenant_scope(db.session, tenant_id):
        config = db.session.get(Configuration, config_id)
        fluid, _ = wizard.engine_inputs(
            {c.key: getattr(config, c.key) for c in Configuration.__table__.columns if c.key.startswith("fluid_")}
            | {"max_pressure_bar": config.max_pressure_bar}
        )
    cat, _ = catalog.actuator_catalog(db.session)
    i = next(k for k in range(len(cat)) if cat.sku[k] == sku and cat.supplier[k] == supplier)
    return engine.prediction_item(engine.predict(fluid, cat, pressure), i)


def test_user_records_a_result_and_the_prediction_as_it_was_is_stored(client, db, world):
    response = client.post("/api/feedback", json=_body(world), headers=world.bearer(world.user, world.tenant))
    assert response.status_code == 201, response.get_json()
    got = response.get_json()
    assert got["actuator_sku"] == world.sku and got["pressure_bar"] == PRESSURE
    assert got["dv50_um"] == 61.5 and got["measurement_method"] == "laser_diffraction"
    assert got["created_by_id"] == str(world.user.id)
    expected = _engine_now(db, world.config_id, world.tenant.id, world.sku, world.ranked["supplier"], PRESSURE)
    added = ("engine_version", "sku", "supplier", "physics", "correction", "model_version", "fluid")
    stored = {k: v for k, v in got["prediction"].items() if k not in added}
    assert stored == expected
    # No correction model yet: physics alone, said so, and the physics kept beside it for training.
    assert got["prediction"]["model_version"] is None
    assert got["prediction"]["correction"]["label"].startswith("Physics alone")
    assert got["prediction"]["physics"]["dv50_um"] == expected["dv50_um"]
    # The fluid predicted for is kept with it (its aggregate's key: a typed-in fluid, grouped by its properties).
    assert got["prediction"]["fluid"] == {"key": "props:1/997/72", "name": "Water", "id": None}
    assert got["prediction"]["engine_version"] == "2.0.0"
    assert got["prediction"]["pressure_bar"] == PRESSURE
    # predicted beside measured, with the error and the band verdict
    by_quantity = {c["quantity"]: c for c in got["comparison"]}
    assert set(by_quantity) == {"flow_ml_min", "cone_deg", "dv10_um", "dv50_um", "dv90_um"}
    dv50 = by_quantity["dv50_um"]
    assert dv50["predicted"] == expected["dv50_um"]
    assert dv50["error"] == pytest.approx(61.5 - expected["dv50_um"])
    assert dv50["in_band"] == (expected["dv50_um_low"] <= 61.5 <= expected["dv50_um_high"])
    assert _count(db) == 1


def test_at_the_configurations_pressure_the_stored_prediction_matches_the_saved_ranking(client, db, world):
    pressure = 5.0  # BASE's max_pressure_bar: the pressure the ranking was saved at
    body = _body(world, pressure_bar=pressure)
    response = client.post("/api/feedback", json=body, headers=world.bearer(world.user, world.tenant))
    assert response.status_code == 201, response.get_json()
    stored = response.get_json()["prediction"]
    for key in ("flow_ml_min", "cone_deg", "dv50_um", "dv50_um_low", "dv50_um_high"):
        assert stored[key] == world.ranked[key], key


def test_stored_prediction_does_not_change_when_the_catalog_does(client, db, world):
    headers = world.bearer(world.admin, world.tenant)
    made = client.post("/api/feedback", json=_body(world), headers=world.bearer(world.user, world.tenant))
    assert made.status_code == 201
    before = made.get_json()["prediction"]
    actuator = db.session.scalar(select(Actuator).where(Actuator.sku == world.sku))
    actuator.orifice_mm = actuator.orifice_mm * 2
    for name in ("rated_flow_ml_min", "flow_number_ml_min_sqrtbar"):
        if getattr(actuator, name, None) is not None:
            setattr(actuator, name, getattr(actuator, name) * 4)
    db.session.commit()
    now = _engine_now(db, world.config_id, world.tenant.id, world.sku, world.ranked["supplier"], PRESSURE)
    assert now["flow_ml_min"] != before["flow_ml_min"], "the catalog change must move the engine's answer"
    listed = client.get(f"/api/configurations/{world.config_id}/feedback", headers=headers)
    assert listed.status_code == 200
    assert listed.get_json()["feedback"][0]["prediction"] == before


def test_list_is_paginated_newest_first(client, db, world):
    user = world.bearer(world.user, world.tenant)
    for dv50 in (40.0, 50.0, 60.0):
        body = _body(world, dv50_um=dv50, dv10_um=None, dv90_um=None)
        assert client.post("/api/feedback", json=body, headers=user).status_code == 201
    url = f"/api/configurations/{world.config_id}/feedback"
    first = client.get(url + "?per_page=2", headers=user).get_json()
    assert (first["total"], first["pages"], first["page"], first["per_page"]) == (3, 2, 1, 2)
    second = client.get(url + "?per_page=2&page=2", headers=user).get_json()
    seen = [r["dv50_um"] for r in first["feedback"] + second["feedback"]]
    assert sorted(seen) == [40.0, 50.0, 60.0] and len(second["feedback"]) == 1
    assert_problem(client.get(url + "?per_page=0", headers=user), 422, fields=("per_page",))
    empty = make_second_config_listing(client, world, url)
    assert empty == {"feedback": [], "page": 1, "pages": 1, "per_page": 25, "total": 0}


def make_second_config_listing(client, world, url):
    """The list of a configuration with no results: an empty page, not an error."""
    with_none = client.post(
        "/api/configurations",
        json={
            "name": "Empty",
            "fluid_viscosity_cP": 1.0,
            "fluid_density_kg_m3": 997.0,
            "fluid_surface_tension_mN_m": 72.0,
            "max_pressure_bar": 4.0,
            "target_droplet_size_um": 50.0,
        },
        headers=world.bearer(world.user, world.tenant),
    )
    assert with_none.status_code == 201, with_none.get_json()
    other = with_none.get_json()["id"]
    return client.get(
        f"/api/configurations/{other}/feedback", headers=world.bearer(world.user, world.tenant)
    ).get_json()


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"dv50_um": 9000}, "dv50_um", "≤ 5000 µm"),
        ({"spray_cone_angle_actual": 200}, "spray_cone_angle_actual", "≤ 180 °"),
        ({"flow_rate_actual_ml_min": -3}, "flow_rate_actual_ml_min", "> 0"),
        ({"temperature_c": -300}, "temperature_c", "≥ -60"),
        ({"pressure_bar": 0}, "pressure_bar", "> 0"),
        ({"pressure_bar": 999}, "pressure_bar", "rated to"),
        ({"actuator_sku": "NOT-RANKED-1"}, "actuator_sku", "not in this configuration's saved ranking"),
        ({"dv10_um": 90.0}, "dv50_um", "Dv10 ≤ Dv50 ≤ Dv90"),
        ({"measurement_method": None}, "measurement_method", "how the droplet sizes were measured"),
        ({"measurement_method": "guess"}, "measurement_method", "laser_diffraction"),
        ({"droplet_size_range_um": [80, 20]}, "droplet_size_range_um", "smallest first"),
        ({"rating": 9}, "rating", "5"),
        ({"dv50_um": "big"}, "dv50_um", "Must be a number."),
        ({"colour": "red"}, "colour", "Unknown field."),
    ],
)
def test_bad_values_are_refused_with_the_range_and_nothing_is_written(client, db, world, change, field, words):
    response = client.post("/api/feedback", json=_body(world, **change), headers=world.bearer(world.user, world.tenant))
    problem = assert_problem(response, 422, fields=(field,))
    assert any(words in message for message in problem["errors"][field]), problem["errors"]
    assert _count(db) == 0


def test_pressure_above_the_actuators_rating_names_the_rating(client, db, world):
    rating = db.session.scalar(select(Actuator.max_pressure_bar).where(Actuator.sku == world.sku))
    body = _body(world, pressure_bar=rating + 0.5)
    problem = assert_problem(
        client.post("/api/feedback", json=body, headers=world.bearer(world.user, world.tenant)),
        422,
        fields=("pressure_bar",),
    )
    assert f"rated to {rating:g} bar" in problem["errors"]["pressure_bar"][0]
    assert _count(db) == 0


def test_a_result_without_any_measured_value_is_refused(client, db, world):
    body = {"configuration_id": str(world.config_id), "actuator_sku": world.sku, "pressure_bar": PRESSURE}
    problem = assert_problem(
        client.post("/api/feedback", json=body, headers=world.bearer(world.user, world.tenant)), 422, fields=("body",)
    )
    assert "at least one" in problem["errors"]["body"][0]
    assert _count(db) == 0


def test_viewer_may_read_lab_results_but_not_record_them_and_uses_the_web_app_not_the_api(client, db, world):
    from aerospec.tenancy.permissions import can

    assert can("viewer", "view_feedback") and not can("viewer", "record_feedback")
    user = world.bearer(world.user, world.tenant)
    assert client.post("/api/feedback", json=_body(world), headers=user).status_code == 201
    viewer = world.bearer(world.viewer, world.tenant)
    refused = assert_problem(client.post("/api/feedback", json=_body(world), headers=viewer), 403)
    assert "viewers use the web app" in refused["detail"]  # the matrix's "API access": no for viewers
    assert_problem(client.get(f"/api/configurations/{world.config_id}/feedback", headers=viewer), 403)
    assert _count(db) == 1


def test_user_without_api_access_cannot_record(client, db, team, make_config, seeded_catalog, bearer):
    ns = team(api_enabled_for_users=False)
    config = make_config(ns.tenant, ns.user)
    body = {
        "configuration_id": str(config.id),
        "actuator_sku": config.compatible_actuators[0]["sku"],
        "pressure_bar": PRESSURE,
        "dv50_um": 50.0,
        "measurement_method": "imaging",
    }
    assert_problem(client.post("/api/feedback", json=body, headers=bearer(ns.user, ns.tenant)), 403)
    assert client.post("/api/feedback", json=body, headers=bearer(ns.admin, ns.tenant)).status_code == 201
    assert _count(db) == 1


def test_user_edits_only_their_own_results_and_admin_edits_any(client, db, world):
    user, admin = world.bearer(world.user, world.tenant), world.bearer(world.admin, world.tenant)
    mine = client.post("/api/feedback", json=_body(world), headers=user).get_json()
    theirs = client.post("/api/feedback", json=_body(world), headers=admin).get_json()
    fixed = client.put(f"/api/feedback/{mine['id']}", json={"dv50_um": 64.0}, headers=user)
    assert fixed.status_code == 200, fixed.get_json()
    assert fixed.get_json()["dv50_um"] == 64.0
    assert fixed.get_json()["prediction"] == mine["prediction"], "an edit keeps the prediction as it was"
    refused = assert_problem(client.put(f"/api/feedback/{theirs['id']}", json={"dv50_um": 1.0}, headers=user), 403)
    assert "only the lab results you recorded" in refused["detail"]
    assert client.put(f"/api/feedback/{mine['id']}", json={"pass_fail": "fail"}, headers=admin).status_code == 200
    assert_problem(
        client.put(f"/api/feedback/{mine['id']}", json={"dv90_um": 10.0}, headers=admin), 422, fields=("dv50_um",)
    )
    viewer = world.bearer(world.viewer, world.tenant)
    assert_problem(client.put(f"/api/feedback/{mine['id']}", json={"dv50_um": 2.0}, headers=viewer), 403)
    listed = client.get(f"/api/configurations/{world.config_id}/feedback", headers=user).get_json()
    by_id = {r["id"]: r for r in listed["feedback"]}
    assert (by_id[mine["id"]]["dv50_um"], by_id[mine["id"]]["pass_fail"]) == (64.0, "fail")
    assert by_id[theirs["id"]]["dv50_um"] == 61.5


def test_another_workspaces_configuration_and_results_answer_404(client, db, world, team, make_config):
    other = team()
    outsider = world.bearer(other.admin, other.tenant)
    made = client.post("/api/feedback", json=_body(world), headers=world.bearer(world.user, world.tenant)).get_json()
    assert_problem(client.post("/api/feedback", json=_body(world), headers=outsider), 404)
    assert_problem(client.get(f"/api/configurations/{world.config_id}/feedback", headers=outsider), 404)
    assert_problem(client.put(f"/api/feedback/{made['id']}", json={"dv50_um": 1.0}, headers=outsider), 404)
    assert_problem(client.get(f"/api/configurations/{uuid.uuid4()}/feedback", headers=outsider), 404)
    assert _count(db) == 1


def test_another_workspaces_order_cannot_be_attached(client, db, world):
    body = _body(world, procurement_id=str(uuid.uuid4()))
    assert_problem(client.post("/api/feedback", json=body, headers=world.bearer(world.user, world.tenant)), 404)
    assert _count(db) == 0


def test_roles_page_lists_lab_results_as_every_role_reads_them_and_users_record_them(client, login, world, tenant_url):
    login(world.viewer)
    page = client.get(tenant_url(world.tenant, "roles")).get_data(as_text=True)
    for label in ("Read lab results and download their instrument files", "Record lab results", "Edit lab results"):
        assert label in page, label
    assert "(API)" not in page  # the configuration and order pages record them too
    # Every permission's page exists now, so the roles page lists none as coming soon.
    assert 'id="coming-soon-heading"' not in page and "lab results page" not in page
