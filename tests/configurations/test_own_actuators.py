"""A workspace's own actuators (issue 12 item 7): typed with units on every path (form, CSV, API), SKUs that collide
with nothing, a CSV preview that imports all or nothing and refuses the same file twice, ranked beside the catalog
for that workspace only with the "own actuator" label, lab results for them, and another workspace's → 404."""

from __future__ import annotations

import io
import math
import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from aerospec.catalog import own_actuators as own
from aerospec.catalog.models import Actuator, TenantActuator
from aerospec.configurations import wizard
from aerospec.engine import types as engine
from aerospec.errors import ValidationFailed
from aerospec.feedback.models import Feedback
from aerospec.tenancy.scoping import tenant_scope, unscoped
from tests.api.conftest import assert_problem

# A valid own actuator in stored units; each unit test replaces one field.
BASE = {
    "sku": "INH-001",
    "name": "In-house hollow cone",
    "maker": "in-house",
    "spray_type": "hollow_cone",
    "orifice_mm": "0.2",
    "swirl_chamber_mm": "1.2",
    "inlet_area_mm2": "0.2",
    "max_pressure_bar": "10",
    "min_viscosity_cp": "0.5",
    "max_viscosity_cp": "50",
    "body_material": "POM",
    "seal_material": "none",
    "family": "aerosol_actuator",
    "rated_flow_ml_min": "60",
    "rated_pressure_bar": "3",
}
# kind -> (unit, typed number, the stored value it must become)
UNIT_CASES = {
    "length": [("mm", "0.3", 0.3), ("µm", "300", 0.3), ("in", "0.01", 0.254)],
    "area": [("mm²", "0.12", 0.12), ("cm²", "0.0012", 0.12), ("in²", "0.0002", 0.129032)],
    "pressure": [("bar", "5", 5.0), ("kPa", "500", 5.0), ("MPa", "0.5", 5.0), ("psi", "72.5189", 5.0)],
    "viscosity": [("cP", "2", 2.0), ("mPa·s", "2", 2.0), ("Pa·s", "0.002", 2.0), ("P", "0.02", 2.0)],
    "flow": [("ml/min", "60", 60.0), ("ml/s", "1", 60.0), ("L/min", "0.06", 60.0), ("L/h", "3.6", 60.0)],
    "density": [("kg/m³", "998", 998.0), ("g/cm³", "0.998", 998.0), ("g/mL", "0.998", 998.0), ("relative", "1", 997.0)],
}
UNIT_FIELDS = [name for name, spec in own.NUMBER_FIELDS.items() if spec.kind]


def test_every_unit_choice_of_every_field_is_tested():
    for kind, choices in own.UNIT_CHOICES.items():
        assert [u for u, *_ in UNIT_CASES[kind]] == [u for u, _ in choices], kind
    assert {own.NUMBER_FIELDS[f].kind for f in UNIT_FIELDS} == set(UNIT_CASES)


def _stored(db, tenant, sku: str) -> TenantActuator:
    with tenant_scope(db.session, tenant.id):
        db.session.expire_all()
        return db.session.scalar(select(TenantActuator).where(TenantActuator.sku == sku))


def _messages(response) -> list[str]:
    """The field and form messages of a page (what a person reads when the form is refused)."""
    import re

    return re.findall(r'class="(?:field-error|form-errors)"[^>]*>(.*?)</', response.get_data(as_text=True), re.S)


def _audit(db, tenant) -> list[tuple[str, str]]:
    from aerospec.compliance.models import AuditLog

    with tenant_scope(db.session, tenant.id):
        rows = db.session.scalars(
            select(AuditLog).where(AuditLog.action.like("own_actuator.%")).order_by(AuditLog.created_at)
        )
        return [(r.action, r.target_name) for r in rows]


def _count(db) -> int:
    with unscoped(db.session, "tests count own actuators in every workspace"):
        return db.session.scalar(select(func.count(TenantActuator.id)))


# ---- units on every path that stores a number


@pytest.mark.parametrize("name", UNIT_FIELDS)
def test_form_converts_every_unit_of_the_field(client, login, team, tenant_url, db, name):
    t = team()
    login(t.user)
    for n, (unit, typed, expected) in enumerate(UNIT_CASES[own.NUMBER_FIELDS[name].kind]):
        sku = f"F-{n}"
        data = {**BASE, "sku": sku, name: typed, f"{name}_unit": unit}
        response = client.post(tenant_url(t.tenant, "actuators/own/new"), data=data)
        assert response.status_code == 303, _messages(response)
        assert getattr(_stored(db, t.tenant, sku), name) == pytest.approx(expected, rel=1e-5), unit


@pytest.mark.parametrize("name", UNIT_FIELDS)
def test_csv_converts_every_unit_typed_in_a_cell(db, team, name):
    t = team()
    cases = UNIT_CASES[own.NUMBER_FIELDS[name].kind]
    header = list(dict.fromkeys([*BASE, name]))
    lines = [",".join(header)]
    for n, (unit, typed, _expected) in enumerate(cases):
        row = {**BASE, "sku": f"C-{n}", name: f"{typed} {unit}"}
        lines.append(",".join(f'"{row[c]}"' for c in header))
    with tenant_scope(db.session, t.tenant.id):
        rows = own.import_csv(db.session, t.tenant, t.user, "\n".join(lines) + "\n")
        db.session.commit()
    assert len(rows) == len(cases)
    for n, (unit, _typed, expected) in enumerate(cases):
        assert getattr(_stored(db, t.tenant, f"C-{n}"), name) == pytest.approx(expected, rel=1e-5), unit


@pytest.mark.parametrize("name", UNIT_FIELDS)
def test_api_converts_every_unit_given_as_text_and_takes_numbers_in_the_stored_unit(client, team, bearer, db, name):
    t = team()
    h = bearer(t.user)
    for n, (unit, typed, expected) in enumerate(UNIT_CASES[own.NUMBER_FIELDS[name].kind]):
        response = client.post("/api/actuators", json={**BASE, "sku": f"A-{n}", name: f"{typed} {unit}"}, headers=h)
        assert response.status_code == 201, response.get_json()
        answer = response.get_json()
        assert answer.get(name, answer["anchors"].get(name)) == pytest.approx(expected, rel=1e-5), unit
        assert getattr(_stored(db, t.tenant, f"A-{n}"), name) == pytest.approx(expected, rel=1e-5), unit
    number = client.post("/api/actuators", json={**BASE, "sku": "A-num", "orifice_mm": 0.25}, headers=h)
    assert number.status_code == 201 and _stored(db, t.tenant, "A-num").orifice_mm == 0.25


def test_an_unknown_unit_or_a_unit_on_a_plain_number_is_a_field_message(db, team):
    with pytest.raises(ValidationFailed) as caught:
        own.clean_values({**BASE, "orifice_mm": "3 furlongs", "flow_exponent": "0.5 bar", "max_viscosity_cp": "5 cSt"})
    errors = caught.value.field_errors
    assert "unknown unit 'furlongs'" in errors["orifice_mm"][0] and "mm, µm, in" in errors["orifice_mm"][0]
    assert "without a unit" in errors["flow_exponent"][0]
    assert "kinematic" in errors["max_viscosity_cp"][0]


def test_bad_values_each_get_their_message(db):
    with pytest.raises(ValidationFailed) as caught:
        own.clean_values(
            {**BASE, "sku": "", "spray_type": "mist", "orifice_mm": "9 mm", "min_viscosity_cp": "80",
             "body_material": "cardboard", "angle_table": "3:60,1:50", "rated_pressure_bar": ""}
        )  # fmt: skip
    errors = caught.value.field_errors
    assert set(errors) >= {"sku", "spray_type", "orifice_mm", "max_viscosity_cp", "body_material", "angle_table"}
    assert "between 0.05 and 5 mm (got 9 mm)" in errors["orifice_mm"][0]
    assert "rated_pressure_bar" in errors  # a rated flow needs its pressure


# ---- SKUs


def test_sku_may_be_neither_a_catalog_sku_nor_another_own_one(client, team, bearer, db):
    from tests.catalog import makers

    catalog_row = makers.actuator(sku="SP-CLASH-1")
    db.session.commit()
    t = team()
    h = bearer(t.user)
    body = assert_problem(client.post("/api/actuators", json={**BASE, "sku": "sp-clash-1"}, headers=h), 422)
    assert "Spencer catalog SKU" in body["errors"]["sku"][0] and catalog_row.sku in body["errors"]["sku"][0]
    assert client.post("/api/actuators", json=BASE, headers=h).status_code == 201
    again = assert_problem(client.post("/api/actuators", json={**BASE, "name": "Another"}, headers=h), 422)
    assert "already has an own actuator with SKU INH-001" in again["errors"]["sku"][0]
    other = team()  # another workspace may use the same SKU for its own
    assert client.post("/api/actuators", json=BASE, headers=bearer(other.user)).status_code == 201


# ---- API


def test_api_creates_reads_updates_and_deletes_own_actuators_only(client, team, bearer, db, seeded_catalog):
    t = team()
    h = bearer(t.user)
    created = client.post("/api/actuators", json={**BASE, "angle_table": [[1, 50], [3, 62]]}, headers=h)
    assert created.status_code == 201
    body = created.get_json()
    assert body["source"] == "own" and body["label"] == "own actuator" and body["supplier"] == "own"
    assert body["anchors"]["angle_table"] == [[1.0, 50.0], [3.0, 62.0]] and "flow_rating" in body["anchors_given"]
    a_id = body["id"]
    assert client.get(f"/api/actuators/{a_id}", headers=h).get_json()["sku"] == "INH-001"
    changed = client.put(f"/api/actuators/{a_id}", json={**BASE, "name": "Renamed", "orifice_mm": "0.35 mm"}, headers=h)
    assert changed.status_code == 200 and changed.get_json()["name"] == "Renamed"
    assert _stored(db, t.tenant, "INH-001").orifice_mm == 0.35
    catalog_id = str(db.session.scalars(select(Actuator.id)).first())
    assert client.get(f"/api/actuators/{catalog_id}", headers=h).get_json()["source"] == "catalog"
    assert_problem(client.put(f"/api/actuators/{catalog_id}", json=BASE, headers=h), 404)
    assert_problem(client.delete(f"/api/actuators/{catalog_id}", headers=h), 404)
    assert client.delete(f"/api/actuators/{a_id}", headers=h).status_code == 204
    assert_problem(client.get(f"/api/actuators/{a_id}", headers=h), 404)
    assert [action for action, _ in _audit(db, t.tenant)] == [
        "own_actuator.created", "own_actuator.updated", "own_actuator.deleted"
    ]  # fmt: skip


def test_api_lists_own_first_then_the_catalog_filterable_and_paginated(client, team, bearer, db, seeded_catalog):
    t = team()
    h = bearer(t.user)
    for n in range(3):
        client.post("/api/actuators", json={**BASE, "sku": f"L-{n}"}, headers=h)
    listed = client.get("/api/actuators", headers=h).get_json()
    catalog_total = db.session.scalar(select(func.count(Actuator.id)))
    assert listed["total"] == catalog_total + 3 and listed["per_page"] == 50
    assert [a["source"] for a in listed["actuators"][:4]] == ["own", "own", "own", "catalog"]
    only = client.get("/api/actuators?source=own", headers=h).get_json()
    assert only["total"] == 3 and {a["label"] for a in only["actuators"]} == {"own actuator"}
    assert client.get("/api/actuators?source=catalog", headers=h).get_json()["total"] == catalog_total
    assert client.get("/api/actuators?source=own&spray_type=full_cone", headers=h).get_json()["total"] == 0
    assert client.get("/api/actuators?supplier=spencer", headers=h).get_json()["actuators"][0]["source"] == "catalog"
    second = client.get("/api/actuators?page=2", headers=h).get_json()
    assert not {a["id"] for a in second["actuators"]} & {a["id"] for a in listed["actuators"]}
    assert_problem(client.get("/api/actuators?source=theirs", headers=h), 422, fields=("source",))


def test_api_refusals_are_problems_and_write_nothing(client, team, bearer, db):
    t = team()
    h = bearer(t.user)
    before = _count(db)
    assert_problem(client.post("/api/actuators", json={**BASE, "orifice_mm": "0.3 furlongs"}, headers=h), 422,
                   fields=("orifice_mm",))  # fmt: skip
    assert_problem(client.post("/api/actuators", json={**BASE, "colour": "red"}, headers=h), 422, fields=("colour",))
    assert_problem(client.post("/api/actuators", json={**BASE, "orifice_mm": True}, headers=h), 422,
                   fields=("orifice_mm",))  # fmt: skip
    assert_problem(client.post("/api/actuators", json={"sku": "X"}, headers=h), 422)
    assert_problem(client.post("/api/actuators", json=BASE, headers=bearer(t.viewer)), 403)
    assert _count(db) == before


def test_another_workspaces_own_actuator_is_404_on_every_api_route(client, team, bearer, db):
    a, b = team(), team()
    mine = client.post("/api/actuators", json=BASE, headers=bearer(a.user)).get_json()["id"]
    hb = bearer(b.admin)
    assert_problem(client.get(f"/api/actuators/{mine}", headers=hb), 404)
    assert_problem(client.put(f"/api/actuators/{mine}", json={**BASE, "name": "Taken"}, headers=hb), 404)
    assert_problem(client.delete(f"/api/actuators/{mine}", headers=hb), 404)
    assert client.get("/api/actuators?source=own", headers=hb).get_json()["total"] == 0
    assert _stored(db, a.tenant, "INH-001").name == BASE["name"]


# ---- ranking: beside the catalog, for that workspace only, labelled


def _anchored(**extra) -> dict:
    """An own actuator the maker anchored at the configuration's targets (flow and angle at 5 bar)."""
    return {**BASE, "sku": "INH-MATCH", "family": "", "rated_flow_ml_min": "120", "rated_pressure_bar": "5",
            "angle_table": "5:60", **extra}  # fmt: skip


def test_own_actuator_ranks_beside_the_catalog_for_its_workspace_only(client, team, bearer, db, seeded_catalog):
    a, b = team(), team()
    assert client.post("/api/actuators", json=_anchored(), headers=bearer(a.user)).status_code == 201
    body = {"fluid_viscosity_cP": 1.0, "fluid_density_kg_m3": 997, "fluid_surface_tension_mN_m": 72,
            "pressure_bar": 5, "targets": {"cone_deg": {"value": 60, "tolerance": 5},
                                           "flow_ml_min": {"value": 120, "tolerance": 12}}}  # fmt: skip
    ranked = client.post("/api/configurations/predict", json=body, headers=bearer(a.user)).get_json()["actuators"]
    mine = [e for e in ranked if e["sku"] == "INH-MATCH"]
    assert mine and mine[0]["label"] == "own actuator" and mine[0]["source"] == "own"
    assert mine[0]["method"]["flow_ml_min"] == "maker_anchored"
    assert mine[0]["unit_price"] is None and mine[0]["lead_time_days"] is None
    assert {e["source"] for e in ranked} == {"own", "catalog"}
    theirs = client.post("/api/configurations/predict", json=body, headers=bearer(b.user)).get_json()["actuators"]
    assert "INH-MATCH" not in {e["sku"] for e in theirs}
    with tenant_scope(db.session, b.tenant.id):
        cat, _ = own.actuator_catalog_for(db.session, b.tenant.id)
        assert "INH-MATCH" not in set(cat.sku)


def test_engine_catalog_appends_own_rows_and_is_rebuilt_when_they_change(db, team):
    from tests.catalog import makers

    makers.actuator()
    t = team()
    with tenant_scope(db.session, t.tenant.id):
        base = own.actuator_catalog_for(db.session, t.tenant.id)
        makers.own_actuator(t.tenant, sku="E-1", angle_table=[[1.0, 40.0], [3.0, 55.0]], rated_flow_ml_min=50.0,
                            rated_pressure_bar=3.0)  # fmt: skip
        cat, ids = own.actuator_catalog_for(db.session, t.tenant.id)
        assert len(cat) == len(base.catalog) + 1 and len(ids) == len(cat)
        i = len(cat) - 1
        assert cat.sku[i] == "E-1" and own.is_own(cat, i) and cat.angle_table[i] == ((1.0, 40.0), (3.0, 55.0))
        assert cat.rated_flow_ml_min[i] == 50.0 and math.isnan(cat.unit_price[i])
        assert all(math.isnan(v) for v in cat.rated_flow_ml_min[:i]) or cat.rated_flow_ml_min is not None
        assert own.actuator_catalog_for(db.session, t.tenant.id) is own.actuator_catalog_for(db.session, t.tenant.id)
        makers.own_actuator(t.tenant, sku="E-2")
        assert len(own.actuator_catalog_for(db.session, t.tenant.id).catalog) == len(cat) + 1
        prediction = engine.Fluid(1.0, 997.0, 72.0)
        ranking = wizard.ranked_entries(db.session, prediction, engine.Targets(pressure_bar=3.0), top=10_000)
        assert {"E-1", "E-2"} <= {e["sku"] for e in ranking.entries if e["source"] == "own"}


def test_saved_configuration_ranks_own_actuators_and_the_page_labels_them(
    client, login, team, bearer, db, seeded_catalog, make_config, tenant_url
):
    t = team()
    assert client.post("/api/actuators", json=_anchored(), headers=bearer(t.user)).status_code == 201
    config = make_config(t.tenant, t.user, target_flow_rate_ml_min=120.0, target_flow_rate_tol_ml_min=12.0,
                         target_droplet_size_um=None)  # fmt: skip
    entry = next(e for e in config.compatible_actuators if e["sku"] == "INH-MATCH")
    assert entry["label"] == "own actuator"
    config_id = config.id  # read before login commits (on PostgreSQL the row is then behind RLS)
    login(t.user)
    page = client.get(tenant_url(t.tenant, f"configurations/{config_id}")).get_data(as_text=True)
    assert "INH-MATCH" in page and "own actuator" in page


# ---- lab results for an own actuator


def test_lab_result_for_an_own_actuator_is_recorded_with_its_prediction(
    client, team, bearer, db, seeded_catalog, make_config
):
    t = team()
    h = bearer(t.user)
    assert client.post("/api/actuators", json=_anchored(), headers=h).status_code == 201
    config = make_config(t.tenant, t.user, target_flow_rate_ml_min=120.0, target_flow_rate_tol_ml_min=12.0,
                         target_droplet_size_um=None)  # fmt: skip
    body = {"configuration_id": str(config.id), "actuator_sku": "INH-MATCH", "pressure_bar": 5.0,
            "flow_rate_actual_ml_min": 118.0, "spray_cone_angle_actual": 61.0}  # fmt: skip
    response = client.post("/api/feedback", json=body, headers=h)
    assert response.status_code == 201, response.get_json()
    with tenant_scope(db.session, t.tenant.id):
        row = db.session.scalar(select(Feedback).where(Feedback.actuator_sku == "INH-MATCH"))
        assert row.actuator_supplier == "own" and row.prediction["flow_ml_min"] == pytest.approx(120.0, rel=0.05)
    over = assert_problem(client.post("/api/feedback", json={**body, "pressure_bar": 12.0}, headers=h), 422)
    assert "rated to 10 bar" in over["errors"]["pressure_bar"][0]


def test_another_workspace_cannot_record_results_for_an_own_sku_it_does_not_have(
    client, team, bearer, db, seeded_catalog, make_config
):
    a, b = team(), team()
    assert client.post("/api/actuators", json=_anchored(), headers=bearer(a.user)).status_code == 201
    config_b = make_config(b.tenant, b.user)
    body = {"configuration_id": str(config_b.id), "actuator_sku": "INH-MATCH", "pressure_bar": 5.0,
            "flow_rate_actual_ml_min": 118.0}  # fmt: skip
    refused = assert_problem(client.post("/api/feedback", json=body, headers=bearer(b.user)), 422)
    assert "not in this configuration's saved ranking" in refused["errors"]["actuator_sku"][0]


def test_two_workspaces_own_skus_of_the_same_name_are_different_actuators_to_the_correction_model(db, team):
    a, b = team(), team()
    assert own.model_supplier("own", a.tenant.id) != own.model_supplier("own", b.tenant.id)
    assert own.model_supplier("spencer", a.tenant.id) == "spencer"


# ---- CSV: preview, row-level errors, all or nothing, the same file twice


def _csv(rows: list[dict]) -> str:
    header = list(BASE)
    return "\n".join([",".join(header), *(",".join(f'"{r[c]}"' for c in header) for r in rows)]) + "\n"


def test_csv_with_a_bad_row_names_it_and_imports_nothing(db, team):
    t = team()
    text = _csv([{**BASE, "sku": "OK-1"}, {**BASE, "sku": "BAD-2", "orifice_mm": "12 mm"}, {**BASE, "sku": "OK-1"}])
    with tenant_scope(db.session, t.tenant.id):
        report = own.check_csv(db.session, t.tenant, text)
        assert not report.ok and [r["line"] for r in report.rows] == [2]
        assert {(e["line"], e["field"]) for e in report.errors} == {(3, "orifice_mm"), (4, "sku")}
        with pytest.raises(ValidationFailed):
            own.import_csv(db.session, t.tenant, t.user, text)
    assert _count(db) == 0


def test_csv_header_problems_are_refused_before_any_row(db, team):
    t = team()
    with tenant_scope(db.session, t.tenant.id):
        report = own.check_csv(db.session, t.tenant, "sku,name,colour\nX,Y,red\n")
    assert [e["line"] for e in report.errors] == [1, 1] and "lacks spray_type" in report.errors[0]["message"]


def test_csv_page_previews_then_imports_and_refuses_the_same_file_twice(client, login, team, tenant_url, db):
    t = team()
    login(t.user)
    url = tenant_url(t.tenant, "actuators/own/import")
    text = _csv([{**BASE, "sku": "P-1"}, {**BASE, "sku": "P-2", "orifice_mm": "0.012 in"}])
    preview = client.post(url, data={"file": (io.BytesIO(text.encode()), "mine.csv")})
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Preview: 2 actuators to add" in page and "P-2" in page
    assert _count(db) == 0  # a preview writes nothing
    done = client.post(url, data={"step": "confirm", "csv_text": text, "filename": "mine.csv"})
    assert done.status_code == 303 and _count(db) == 2
    assert _audit(db, t.tenant) == [("own_actuator.imported", "P-1")]
    assert _stored(db, t.tenant, "P-2").orifice_mm == pytest.approx(0.3048)
    again = client.post(url, data={"file": (io.BytesIO(text.encode()), "mine.csv")})
    assert again.status_code == 422 and "already imported" in again.get_data(as_text=True)
    replay = client.post(url, data={"step": "confirm", "csv_text": text, "filename": "mine.csv"})
    assert replay.status_code == 422 and _count(db) == 2


# ---- pages and roles


def test_pages_list_show_edit_and_delete_with_confirmation(client, login, team, tenant_url, db):
    from tests.catalog import makers

    t = team()
    row = makers.own_actuator(t.tenant, sku="PG-1", name="Page insert")
    row = SimpleNamespace(id=row.id)  # its id, read before the commit puts the row behind RLS (PostgreSQL)
    db.session.commit()
    login(t.user)
    listing = client.get(tenant_url(t.tenant, "actuators/own")).get_data(as_text=True)
    assert "PG-1" in listing and "own actuator" in listing and "Import a CSV" in listing
    assert "Add your own actuators" in client.get(tenant_url(t.tenant, "actuators")).get_data(as_text=True)
    detail = client.get(tenant_url(t.tenant, f"actuators/own/{row.id}"))
    assert detail.status_code == 200 and "Page insert" in detail.get_data(as_text=True)
    edit = tenant_url(t.tenant, f"actuators/own/{row.id}/edit")
    assert 'value="0.3"' in client.get(edit).get_data(as_text=True)
    bad = client.post(edit, data={**BASE, "sku": "PG-1", "orifice_mm": "abc"})
    assert bad.status_code == 422 and "does not start with a number" in " ".join(_messages(bad))
    assert client.post(edit, data={**BASE, "sku": "PG-1", "name": "Renamed"}).status_code == 303
    assert _stored(db, t.tenant, "PG-1").name == "Renamed"
    confirm = client.get(tenant_url(t.tenant, f"actuators/own/{row.id}/delete")).get_data(as_text=True)
    assert "Delete own actuator PG-1?" in confirm and _count(db) == 1
    assert client.post(tenant_url(t.tenant, f"actuators/own/{row.id}/delete")).status_code == 303
    assert _count(db) == 0
    assert _audit(db, t.tenant) == [("own_actuator.updated", "PG-1"), ("own_actuator.deleted", "PG-1")]


def test_viewer_reads_own_actuators_but_cannot_add_edit_or_delete(client, login, team, tenant_url, db):
    from tests.catalog import makers

    t = team()
    row = SimpleNamespace(id=makers.own_actuator(t.tenant, sku="V-1").id)
    db.session.commit()
    login(t.viewer)
    listing = client.get(tenant_url(t.tenant, "actuators/own"))
    assert listing.status_code == 200 and "V-1" in listing.get_data(as_text=True)
    assert "Add an actuator" not in listing.get_data(as_text=True)
    assert client.get(tenant_url(t.tenant, f"actuators/own/{row.id}")).status_code == 200
    for path in ("actuators/own/new", f"actuators/own/{row.id}/edit", f"actuators/own/{row.id}/delete",
                 "actuators/own/import"):  # fmt: skip
        assert client.post(tenant_url(t.tenant, path), data=BASE).status_code == 403, path
    assert _count(db) == 1


def test_another_workspaces_own_actuator_page_is_404(client, login, team, tenant_url, db):
    from tests.catalog import makers

    a, b = team(), team()
    row = SimpleNamespace(id=makers.own_actuator(a.tenant, sku="HIDDEN-1").id)
    db.session.commit()
    login(b.admin)
    for path in (f"actuators/own/{row.id}", f"actuators/own/{row.id}/edit", f"actuators/own/{row.id}/delete"):
        assert client.get(tenant_url(b.tenant, path)).status_code == 404, path
    assert "HIDDEN-1" not in client.get(tenant_url(b.tenant, "actuators/own")).get_data(as_text=True)


def test_new_id_is_not_found(client, login, team, tenant_url):
    t = team()
    login(t.user)
    assert client.get(tenant_url(t.tenant, f"actuators/own/{uuid.uuid4()}")).status_code == 404


def test_predict_with_my_fluid_works_for_an_own_actuator_and_not_for_another_workspaces(
    client, login, team, tenant_url, db, seeded_catalog
):
    from tests.catalog import makers

    a, b = team(), team()
    row_id = makers.own_actuator(a.tenant, sku="PW-1", rated_flow_ml_min=90.0, rated_pressure_bar=3.0).id
    db.session.commit()
    login(a.user)
    query = {"actuator": str(row_id), "step": "results", "viscosity_cp": "1", "density_kg_m3": "997",
             "surface_tension_mn_m": "72", "pressure_bar": "3"}  # fmt: skip
    page = client.get(tenant_url(a.tenant, "configurations/new"), query_string=query).get_data(as_text=True)
    assert "Predicting <strong>PW-1</strong>" in page and 'data-sku="PW-1"' in page and "own actuator" in page
    login(b.user)
    theirs = client.get(tenant_url(b.tenant, "configurations/new"), query_string=query).get_data(as_text=True)
    assert "PW-1" not in theirs and "not in the catalog any more" in theirs
