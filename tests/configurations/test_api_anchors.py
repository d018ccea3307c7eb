"""The API's actuator endpoints show anchors; POST /api/configurations/predict takes anchors in `geometry`."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from aerospec.catalog.models import Actuator
from aerospec.engine.anchors import ANCHOR_FIELDS
from tests.api.conftest import assert_problem

PREDICT = {"fluid_viscosity_cP": 1.0, "fluid_density_kg_m3": 998, "fluid_surface_tension_mN_m": 72, "pressure_bar": 5}
TODAY_KEYS = ("flow_ml_min", "flow_ml_min_low", "flow_ml_min_high", "cone_deg", "dv50_um", "confidence", "warnings")


def test_actuator_detail_shows_every_anchor_and_which_are_given_and_missing(client, team, bearer, seeded_catalog, db):
    t = team()
    a = db.session.scalars(
        select(Actuator).where(Actuator.rated_flow_ml_min.is_not(None), Actuator.spray_type == "full_cone")
    ).first()
    a_id, flow, table = str(a.id), a.rated_flow_ml_min, [list(p) for p in a.angle_points]
    response = client.get(f"/api/actuators/{a_id}", headers=bearer(t.user))
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == a_id and body["is_sample_data"] is True
    assert set(body["anchors"]) == set(ANCHOR_FIELDS)
    assert body["anchors"]["rated_flow_ml_min"] == flow and body["anchors"]["angle_table"] == table
    assert "flow_rating" in body["anchors_given"] and "flow_exponent" in body["anchors_missing"]
    assert ("angle_table" in body["anchors_given"]) == bool(table)
    assert_problem(client.get(f"/api/actuators/{uuid.uuid4()}", headers=bearer(t.user)), 404)


def test_actuator_list_filters_by_family_and_pages(client, team, bearer, seeded_catalog):
    t = team()
    h = bearer(t.user)
    listed = client.get("/api/actuators?family=aerosol_actuator", headers=h).get_json()
    assert listed["total"] > 0 and listed["per_page"] == 50
    assert {a["anchors"]["family"] for a in listed["actuators"]} == {"aerosol_actuator"}
    second = client.get("/api/actuators?family=aerosol_actuator&page=2", headers=h).get_json()
    assert not {a["id"] for a in second["actuators"]} & {a["id"] for a in listed["actuators"]}
    assert_problem(client.get("/api/actuators?family=garden_hose", headers=h), 422, fields=("family",))
    assert_problem(client.get("/api/actuators", headers=bearer(t.viewer)), 403)


def test_predict_accepts_every_anchor_in_geometry(client, team, bearer):
    t = team()
    geometry = {
        "type": "full_cone", "orifice_mm": 1.0, "family": "industrial_nozzle", "rated_flow_ml_min": 340,
        "rated_pressure_bar": 3, "rated_density_kg_m3": 998, "flow_exponent": 0.5,
        "angle_table": [[0.7, 55], [3, 60], [6, 58]], "full_cone_insert": "wide", "orifice_nominal": True,
    }  # fmt: skip
    response = client.post(
        "/api/configurations/predict", json={**PREDICT, "geometry": geometry}, headers=bearer(t.user)
    )
    assert response.status_code == 200, response.get_json()
    prediction = response.get_json()["prediction"]
    for key in TODAY_KEYS:
        assert key in prediction
    assert prediction["spray_type"] == "full_cone" and prediction["pressure_bar"] == 5


@pytest.mark.parametrize(
    ("geometry", "field", "words"),
    [
        ({"type": "hollow_cone", "rated_flow_ml_min": 60}, "geometry.rated_pressure_bar", "needs the pressure"),
        ({"type": "hollow_cone", "angle_table": [[1.5, 58], [0.7, 39]]}, "geometry.angle_table", "increase strictly"),
        ({"type": "hollow_cone", "angle_table": [[0.7, 200]]}, "geometry.angle_table", "from 0 to 180"),
        ({"type": "hollow_cone", "angle_table": "0.7:39"}, "geometry.angle_table", "list of [bar, degrees]"),
        ({"type": "hollow_cone", "full_cone_insert": "wide"}, "geometry.full_cone_insert", "full-cone nozzles only"),
        ({"type": "full_cone", "full_cone_insert": "oval"}, "geometry.full_cone_insert", ""),
        ({"type": "hollow_cone", "flow_exponent": -0.5}, "geometry.flow_exponent", "more than 0"),
        ({"type": "hollow_cone", "rated_flow_ml_min": "60", "rated_pressure_bar": 3},
         "geometry.rated_flow_ml_min", "Must be a number"),
        ({"type": "hollow_cone", "family": "pump_trigger", "stem_orifice_mm": 0.4}, "geometry.stem_orifice_mm",
         "aerosol actuators only"),
    ],
)  # fmt: skip
def test_bad_anchors_in_geometry_are_problem_json_on_their_field(client, team, bearer, geometry, field, words):
    t = team()
    body = {**PREDICT, "geometry": {"orifice_mm": 0.4, **geometry}}
    problem = assert_problem(
        client.post("/api/configurations/predict", json=body, headers=bearer(t.user)), 422, fields=(field,)
    )
    assert any(words in message for message in problem["errors"][field]), problem


def test_a_rating_in_geometry_anchors_the_predicted_flow(client, team, bearer):
    t = team()
    geometry = {"type": "hollow_cone", "orifice_mm": 0.4, "rated_flow_ml_min": 75, "rated_pressure_bar": 5}
    h = bearer(t.user)
    anchored = client.post("/api/configurations/predict", json={**PREDICT, "geometry": geometry}, headers=h)
    bare = client.post("/api/configurations/predict", json={**PREDICT, "geometry": {"type": "hollow_cone",
                       "orifice_mm": 0.4}}, headers=h)  # fmt: skip
    anchored, bare = anchored.get_json()["prediction"], bare.get_json()["prediction"]
    assert anchored["flow_ml_min"] == pytest.approx(75, rel=0.01)
    assert anchored["method"]["flow_ml_min"] == "maker_anchored" and bare["method"]["flow_ml_min"] != "maker_anchored"
