"""The configurations API: CRUD at the seed's paths, problem+json on bad input, cross-tenant 404, predict."""

from __future__ import annotations

import uuid

import pytest

from tests.api.conftest import assert_problem, auth  # noqa: F401
from tests.configurations.conftest import BASE


def test_crud_versions_duplicate_share_and_archive(client, team, bearer):
    t = team()
    h = bearer(t.user)
    created = client.post("/api/configurations", json={**BASE, "tags": ["Nasal", "nasal"]}, headers=h)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["fluid_viscosity_cP"] == 1.0 and body["tags"] == ["nasal"] and body["version"] == 1
    cid = body["id"]
    listed = client.get("/api/configurations?q=nasal", headers=h).get_json()
    assert listed["total"] == 1 and listed["configurations"][0]["id"] == cid
    updated = client.put(f"/api/configurations/{cid}", json={"status": "complete"}, headers=h).get_json()
    assert updated["status"] == "complete" and updated["version"] == 2
    copy = client.post(f"/api/configurations/{cid}/duplicate", headers=h)
    assert copy.status_code == 201 and copy.get_json()["name"] == "Copy of Nasal pump"
    shared = client.post(
        f"/api/configurations/{cid}/share", json={"user_id": str(t.other.id), "permission": "edit"}, headers=h
    )
    assert shared.status_code == 200
    other = bearer(t.other)
    assert client.put(f"/api/configurations/{cid}", json={"name": "Edited by other"}, headers=other).status_code == 200
    assert client.get(f"/api/configurations/{cid}", headers=h).get_json()["shares"][0]["permission"] == "edit"
    assert client.delete(f"/api/configurations/{cid}/shares/{t.other.id}", headers=h).status_code == 204
    assert_problem(client.delete(f"/api/configurations/{cid}/shares/{t.other.id}", headers=h), 404)
    assert_problem(client.put(f"/api/configurations/{cid}", json={"name": "again"}, headers=other), 403)
    assert_problem(client.delete(f"/api/configurations/{cid}", headers=other), 403)
    archived = client.delete(f"/api/configurations/{cid}", headers=h)
    assert archived.status_code == 200 and archived.get_json()["archived_at"]


def test_viewers_have_no_api_and_a_user_reads_but_deletes_only_their_own(client, team, bearer):
    t = team()
    cid = client.post("/api/configurations", json=BASE, headers=bearer(t.admin)).get_json()["id"]
    v = bearer(t.viewer)
    assert_problem(client.get(f"/api/configurations/{cid}", headers=v), 403)
    assert_problem(client.post("/api/configurations", json=BASE, headers=v), 403)
    u = bearer(t.user)
    assert client.get(f"/api/configurations/{cid}", headers=u).status_code == 200
    assert_problem(client.delete(f"/api/configurations/{cid}", headers=u), 403)  # the admin's, not theirs
    assert client.get(f"/api/configurations/{cid}", headers=u).status_code == 200


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"max_pressure_bar": 0}, ("max_pressure_bar",)),
        ({"max_pressure_bar": -2}, ("max_pressure_bar",)),
        ({"fluid_viscosity_cP": "thick"}, ("fluid_viscosity_cP",)),
        ({"target_spray_cone_deg": 400}, ("target_spray_cone_deg",)),
        ({"name": ""}, ("name",)),
        ({"colour": "red"}, ("colour",)),
        (
            {"target_spray_cone_deg": None, "target_droplet_size_um": None},
            ("target_spray_cone_deg", "target_flow_rate_ml_min"),
        ),
    ],
)
def test_bad_input_is_problem_json_with_field_errors(client, team, bearer, change, fields):
    t = team()
    response = client.post("/api/configurations", json={**BASE, **change}, headers=bearer(t.user))
    assert_problem(response, 422, fields=fields)


def test_quota_limit_is_402_with_upgrade_message(client, team, bearer):
    t = team(limits={"configurations_per_month": 1})
    h = bearer(t.user)
    assert client.post("/api/configurations", json=BASE, headers=h).get_json()["quota"]["warning"]
    body = assert_problem(client.post("/api/configurations", json=BASE, headers=h), 402)
    assert "Upgrade" in body["detail"]


def test_another_tenants_configuration_is_404_on_every_id_route(client, team, bearer):
    a, b = team(), team()
    cid = client.post("/api/configurations", json=BASE, headers=bearer(a.user)).get_json()["id"]
    h = bearer(b.admin)
    for method, path, body in [
        ("get", f"/api/configurations/{cid}", None),
        ("put", f"/api/configurations/{cid}", {"name": "x"}),
        ("delete", f"/api/configurations/{cid}", None),
        ("post", f"/api/configurations/{cid}/duplicate", None),
        ("post", f"/api/configurations/{cid}/share", {"user_id": str(b.user.id), "permission": "view"}),
        ("delete", f"/api/configurations/{cid}/shares/{a.other.id}", None),
        ("get", f"/api/configurations/{uuid.uuid4()}", None),
    ]:
        response = (
            getattr(client, method)(path, json=body, headers=h) if body else getattr(client, method)(path, headers=h)
        )
        assert_problem(response, 404)
    assert client.get(f"/api/configurations/{cid}", headers=bearer(a.user)).status_code == 200


PREDICT = {
    "fluid_viscosity_cP": 1.0,
    "fluid_density_kg_m3": 998,
    "fluid_surface_tension_mN_m": 72,
    "pressure_bar": 5,
}


def test_predict_for_a_typed_in_geometry(client, team, bearer):
    t = team()
    body = {
        **PREDICT,
        "geometry": {
            "type": "hollow_cone",
            "orifice_mm": 0.4,
            "swirl_chamber_mm": 1.2,
            "inlet_area_mm2": 0.2,
        },
    }
    response = client.post("/api/configurations/predict", json=body, headers=bearer(t.user))
    assert response.status_code == 200, response.get_json()
    prediction = response.get_json()["prediction"]
    for key in ("flow_ml_min", "cone_deg", "dv10_um", "dv50_um", "dv90_um", "smd_um", "confidence"):
        assert key in prediction
    assert prediction["flow_ml_min"] > 0


def test_predict_ranks_the_catalog_without_geometry(client, team, bearer, seeded_catalog):
    t = team()
    body = {**PREDICT, "targets": {"cone_deg": {"value": 60, "tolerance": 20}}}
    answer = client.post("/api/configurations/predict", json=body, headers=bearer(t.user)).get_json()
    first = answer["actuators"][0]
    for key in ("sku", "supplier", "name", "score", "flow_ml_min", "dv50_um", "unit_price", "lead_time_days"):
        assert key in first
    impossible = {**PREDICT, "pressure_bar": 900, "targets": {"dv50_um": {"value": 1, "tolerance": 0.1}}}
    answer = client.post("/api/configurations/predict", json=impossible, headers=bearer(t.user)).get_json()
    assert answer["actuators"] == [] and answer["excluded"][0]["reasons"]
    assert answer["empty"]["top_constraint"] == "pressure"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"pressure_bar": 0}, "pressure_bar"),
        ({"pressure_bar": -1}, "pressure_bar"),
        ({"fluid_viscosity_cP": "x"}, "fluid_viscosity_cP"),
        ({"geometry": {"type": "jet", "orifice_mm": 0.3}}, "geometry.type"),
        ({"geometry": {"type": "plain_orifice", "orifice_mm": 0}}, "geometry.orifice_mm"),
    ],
)
def test_predict_bad_input_is_problem_json(client, team, bearer, change, field):
    t = team()
    response = client.post("/api/configurations/predict", json={**PREDICT, **change}, headers=bearer(t.user))
    assert_problem(response, 422, fields=(field,))
