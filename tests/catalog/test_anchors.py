"""Makers' anchors on actuators: the rules, the seeded sample ratings, CSV, the engine catalog, the page."""

from __future__ import annotations

import csv
import io
import math
import re

import numpy as np
import pytest
from sqlalchemy import func, select

from aerospec.catalog import seed
from aerospec.catalog import services as catalog
from aerospec.catalog.models import Actuator
from aerospec.engine import Fluid, Geometry, predict
from aerospec.engine.anchors import ANCHOR_FIELDS, check_anchors, format_angle_table, parse_angle_table
from tests.catalog.test_admin_csv import _csv, _row, _upload, admin  # noqa: F401 - the fixture

# ---- the rules


@pytest.mark.parametrize(
    ("values", "spray_type", "field", "words"),
    [
        ({"rated_flow_ml_min": 0}, "hollow_cone", "rated_flow_ml_min", "more than 0"),
        ({"rated_flow_ml_min": 50}, "hollow_cone", "rated_pressure_bar", "needs the pressure"),
        ({"rated_pressure_bar": 3}, "hollow_cone", "rated_flow_ml_min", "needs the pressure"),
        ({"rated_flow_ml_min": 50, "rated_pressure_bar": 3, "flow_number_ml_min_sqrtbar": 29}, "hollow_cone",
         "flow_number_ml_min_sqrtbar", "not both"),
        ({"rated_density_kg_m3": 800}, "hollow_cone", "rated_density_kg_m3", "goes with a rated flow"),
        ({"flow_exponent": float("nan")}, "hollow_cone", "flow_exponent", "must be a number"),
        ({"flow_exponent": 2}, "hollow_cone", "flow_exponent", "at most 1.5"),
        ({"angle_table": ((1.5, 58), (0.7, 39))}, "hollow_cone", "angle_table", "increase strictly"),
        ({"angle_table": ((0.7, 39), (0.7, 45))}, "hollow_cone", "angle_table", "increase strictly"),
        ({"angle_table": ((0.7, -1),)}, "hollow_cone", "angle_table", "from 0 to 180"),
        ({"angle_table": ((0.7, 181),)}, "hollow_cone", "angle_table", "from 0 to 180"),
        ({"angle_table": ((0, 40),)}, "hollow_cone", "angle_table", "positive"),
        ({"full_cone_insert": "wide"}, "hollow_cone", "full_cone_insert", "full-cone nozzles only"),
        ({"full_cone_insert": "oval"}, "full_cone", "full_cone_insert", "one of standard, wide, square"),
        ({"family": "garden_hose"}, "hollow_cone", "family", "one of aerosol_actuator"),
        ({"family": "pump_trigger", "vapour_tap_mm": 0.3}, "hollow_cone", "vapour_tap_mm", "aerosol actuators only"),
        ({"stem_orifice_mm": -0.3}, "hollow_cone", "stem_orifice_mm", "more than 0"),
        ({"orifice_nominal": "maybe"}, "hollow_cone", "orifice_nominal", "true or false"),
    ],
)  # fmt: skip
def test_each_anchor_rule_refuses_with_a_message_on_its_field(values, spray_type, field, words):
    clean, errors = check_anchors(values, spray_type)
    assert words in errors[field], errors
    assert clean[field] in (None, ())  # nothing half-accepted


def test_good_anchors_come_back_clean_with_every_field():
    values = {"rated_flow_ml_min": 50, "rated_pressure_bar": 3, "angle_table": "0.7:39,1.5:58,6:69",
              "full_cone_insert": "square", "family": "industrial_nozzle", "orifice_nominal": False}  # fmt: skip
    clean, errors = check_anchors(values, "full_cone")
    assert errors == {}
    assert set(clean) == set(ANCHOR_FIELDS)
    assert clean["angle_table"] == ((0.7, 39.0), (1.5, 58.0), (6.0, 69.0)) and clean["orifice_nominal"] is False
    Geometry(spray_type="full_cone", orifice_mm=1.0, **clean)  # the names are the engine's


def test_angle_table_text_round_trips():
    table = ((0.7, 39.0), (1.5, 58.0), (6.0, 69.0), (12.5, 71.25))
    assert format_angle_table(table) == "0.7:39,1.5:58,6:69,12.5:71.25"
    assert parse_angle_table(format_angle_table(table)) == table
    assert parse_angle_table(" ") == () and format_angle_table(None) == ""


# ---- the seeded sample catalog

WATER = Fluid(**seed.WATER)


def test_every_seeded_sku_has_a_family_and_anchors_that_pass_the_rules():
    rows = seed.generate_actuators()
    assert {r["family"] for r in rows} == {"aerosol_actuator", "pump_trigger", "industrial_nozzle"}
    for r in rows:
        assert check_anchors(r, r["spray_type"])[1] == {}, r["sku"]
        assert r["is_sample_data"] is True
    mbu = [r for r in rows if "-MB-" in r["sku"] or ".MBU." in r["sku"]]
    assert mbu and all(r["family"] == "aerosol_actuator" and r["stem_orifice_mm"] for r in mbu)
    full = [r for r in rows if r["spray_type"] == "full_cone"]
    assert all(r["full_cone_insert"] in ("standard", "wide", "square") for r in full)
    # Some SKUs publish everything, some not: the pages show both.
    rated = [r for r in rows if r["rated_flow_ml_min"] or r["flow_number_ml_min_sqrtbar"]]
    assert 0.7 * len(rows) < len(rated) < len(rows)
    assert any(r["angle_table"] for r in rows) and any(not r["angle_table"] for r in rows)


def test_seeded_ratings_are_the_engines_own_prediction_with_water_rounded_as_printed():
    rows = seed.generate_actuators()
    checked = 0
    for r in rows[::23]:
        geometry = Geometry(
            spray_type=r["spray_type"], orifice_mm=r["orifice_mm"], swirl_chamber_mm=r["swirl_chamber_mm"],
            inlet_area_mm2=r["inlet_area_mm2"], family=r["family"], full_cone_insert=r["full_cone_insert"],
        )  # fmt: skip
        if r["rated_flow_ml_min"]:
            expected = float(predict(WATER, geometry, r["rated_pressure_bar"]).flow_ml_min[0])
            assert r["rated_flow_ml_min"] == pytest.approx(expected, rel=0.006), r["sku"]
            checked += 1
        if r["flow_number_ml_min_sqrtbar"]:
            p = seed.RATING_PRESSURE_BAR[r["family"]]
            p = min(p, r["max_pressure_bar"])
            expected = float(predict(WATER, geometry, p).flow_ml_min[0]) / math.sqrt(p)
            assert r["flow_number_ml_min_sqrtbar"] == pytest.approx(expected, rel=0.006), r["sku"]
            checked += 1
        for p, angle in r["angle_table"]:
            assert abs(angle - float(predict(WATER, geometry, p).cone_deg[0])) <= 0.5, r["sku"]
    assert checked > 15


def test_anchors_do_not_change_the_other_seeded_columns():
    # Anchors come from a stream of their own: prices, stock and geometry stay as they were generated.
    first = seed._base_actuators(seed.SEED)
    rows = seed.generate_actuators()
    keys = [k for k in first[0] if not k.startswith("_")]
    assert [{k: r[k] for k in keys} for r in rows] == [{k: r[k] for k in keys} for r in first]


# ---- stored, exported, imported, built into the engine's catalog


def test_seeded_anchors_are_stored_and_reach_the_engine_catalog(db):
    catalog.seed_actuators(db.session)
    cat, ids = catalog.actuator_catalog(db.session)
    rows = {a.id: a for a in db.session.scalars(select(Actuator))}
    for name in ("rated_flow_ml_min", "rated_pressure_bar", "flow_number_ml_min_sqrtbar", "stem_orifice_mm"):
        column = getattr(cat, name)
        assert column is not None and column.dtype == float
        for i in range(0, len(ids), 41):
            stored = getattr(rows[ids[i]], name)
            assert (np.isnan(column[i]) and stored is None) or column[i] == stored
    for i in range(0, len(ids), 41):
        a = rows[ids[i]]
        assert cat.family[i] == a.family and cat.full_cone_insert[i] == (a.full_cone_insert or "")
        assert cat.angle_table[i] == a.angle_points
    assert cat.flow_exponent is None  # no sample SKU publishes one: the whole column stays None
    assert catalog.actuator_catalog(db.session).catalog is cat  # cached as before


def test_export_writes_the_anchor_columns_with_the_angle_table_in_one_cell(db):
    catalog.seed_actuators(db.session)
    rows = list(csv.DictReader(io.StringIO(catalog.export_actuators_csv(db.session))))
    assert set(ANCHOR_FIELDS) <= set(rows[0])
    tabled = next(r for r in rows if r["angle_table"].count(":") >= 3)
    assert tabled["angle_table"] == format_angle_table(parse_angle_table(tabled["angle_table"]))
    stored = db.session.scalar(select(Actuator).where(Actuator.sku == tabled["sku"]))
    assert parse_angle_table(tabled["angle_table"]) == stored.angle_points


def test_import_with_anchors_stores_them(client, admin, db):  # noqa: F811
    row = _row(family="industrial_nozzle", rated_flow_ml_min="120", rated_pressure_bar="3",
               angle_table="0.7:39,1.5:58,6:69", orifice_nominal="true")  # fmt: skip
    response = _upload(client, _csv([row]))
    assert response.status_code == 200 and "1 added" in response.get_data(as_text=True)
    a = db.session.scalar(select(Actuator).where(Actuator.sku == row["sku"]))
    assert (a.rated_flow_ml_min, a.rated_pressure_bar, a.orifice_nominal) == (120.0, 3.0, True)
    assert a.angle_points == ((0.7, 39.0), (1.5, 58.0), (6.0, 69.0)) and a.family == "industrial_nozzle"


def test_bad_anchor_rows_are_listed_by_row_and_nothing_is_written(client, admin, db):  # noqa: F811
    rows = [
        _row(sku="CV.HCS.040.01", rated_flow_ml_min="120", rated_pressure_bar="3"),
        _row(sku="CV.HCS.040.02", angle_table="1.5:58,0.7:39"),
        _row(sku="CV.HCS.040.03", full_cone_insert="wide"),
        _row(sku="CV.HCS.040.04", rated_flow_ml_min="lots", rated_pressure_bar="3"),
        _row(sku="CV.HCS.040.05", angle_table="0.7:39,1.5:190"),
    ]
    response = _upload(client, _csv(rows))
    html = response.get_data(as_text=True)
    assert "row 3: angle_table" in html and "increase strictly" in html
    assert "row 4: full_cone_insert" in html and "row 5: rated_flow_ml_min" in html
    assert "row 6: angle_table" in html and "from 0 to 180" in html
    assert "row 2:" not in html
    assert db.session.scalar(select(func.count()).select_from(Actuator)) == 0


def test_importing_a_file_without_anchor_columns_keeps_the_stored_anchors(client, admin, db):  # noqa: F811
    header = [c for c in catalog.CSV_COLUMNS if c not in ANCHOR_FIELDS]
    row = _row(rated_flow_ml_min="120", rated_pressure_bar="3")
    assert _upload(client, _csv([row])).status_code == 200
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerow({**row, "unit_price": "0.15"})
    assert _upload(client, out.getvalue().encode()).status_code == 200
    a = db.session.scalar(select(Actuator).where(Actuator.sku == row["sku"]))
    assert float(a.unit_price) == 0.15 and a.rated_flow_ml_min == 120.0


# ---- the actuator page


@pytest.fixture
def member(db, factories, login):
    tenant = factories.TenantFactory()
    login(factories.member(tenant, "viewer"))
    catalog.seed_actuators(db.session)
    db.session.commit()
    return tenant


def _page(client, tenant_url, tenant, a) -> str:
    response = client.get(tenant_url(tenant, f"actuators/{a.id}"))
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_actuator_page_says_which_anchors_a_sku_has_and_which_it_lacks(client, member, tenant_url, db):
    rich = db.session.scalars(select(Actuator).where(Actuator.rated_flow_ml_min.is_not(None))).all()
    a = next(x for x in rich if x.angle_table and x.spray_type == "full_cone")
    html = _page(client, tenant_url, member, a)
    assert 'aria-labelledby="anchors-h"' in html and "Maker's data" in html
    assert f"<strong>Given:</strong> {a.rated_flow_ml_min:g} ml/min at {a.rated_pressure_bar:g} bar, with water" in html
    first_p, first_deg = a.angle_points[0]
    assert f"{first_deg:g}° at {first_p:g} bar" in html
    assert "<strong>Missing:</strong> not published: the spray type&#39;s calibrated exponent is used" in html
    assert "it lacks flow exponent" in html and "sample data, not the supplier" in html
    facts = catalog.anchor_facts(a)
    given = sum(f.given for f in facts)
    assert f"This SKU has {given} of the {len(facts)} maker's figures that apply to it" in html
    assert "Industrial nozzle" in html

    bare = db.session.scalars(
        select(Actuator).where(
            Actuator.rated_flow_ml_min.is_(None), Actuator.flow_number_ml_min_sqrtbar.is_(None),
            Actuator.family == "aerosol_actuator",
        )
    ).first()  # fmt: skip
    html = _page(client, tenant_url, member, bare)
    assert "<strong>Missing:</strong> not published: flow is predicted from the geometry and spray type" in html
    assert "lacks flow rating" in html and "Valve stem orifice" in html
    assert "Aerosol actuator (button and valve)" in html


def test_the_catalog_page_filters_by_actuator_family(client, member, tenant_url, db):
    html = client.get(tenant_url(member, "actuators?family=pump_trigger&supplier=spencer&sort=sku")).get_data(
        as_text=True
    )
    expected = db.session.scalars(
        select(Actuator).where(Actuator.family == "pump_trigger", Actuator.supplier == "spencer")
    ).all()
    assert expected and f"{len(expected)} actuator" in html
    shown = re.findall(r'class="sku">([^<]+)<', html)
    assert shown and set(shown) <= {a.sku for a in expected}
    assert '<label for="f-family">Actuator family</label>' in html
    assert '<option value="pump_trigger" selected>Pump or trigger insert</option>' in html


def test_the_engine_reads_the_stored_ratings_through_the_catalog_builder(db):
    catalog.seed_actuators(db.session)
    cat, _ = catalog.actuator_catalog(db.session)
    rated = ~np.isnan(cat.rated_flow_ml_min)
    by_number = ~np.isnan(cat.flow_number_ml_min_sqrtbar)
    assert rated.any() and by_number.any() and (~rated & ~by_number).any()
    pressure = np.where(rated, cat.rated_pressure_bar, 2.0)
    prediction = predict(WATER, cat, pressure)
    # An aerosol actuator's valve (stem and housing orifices) takes part of the pressure before the actuator's own
    # orifice, whose rating the maker states: its flow is below the rating, and not called maker-anchored.
    missing = np.full(len(cat), np.nan)
    stem = missing if cat.stem_orifice_mm is None else cat.stem_orifice_mm
    housing = missing if cat.housing_orifice_mm is None else cat.housing_orifice_mm
    valved = ~np.isnan(stem) | ~np.isnan(housing)
    alone = ~valved
    assert (rated & alone).any() and (by_number & alone).any()
    assert np.allclose(prediction.flow_ml_min[rated & alone], cat.rated_flow_ml_min[rated & alone], rtol=0.01)
    assert np.allclose(
        prediction.flow_ml_min[by_number & alone],
        cat.flow_number_ml_min_sqrtbar[by_number & alone] * np.sqrt(2.0),
        rtol=0.01,
    )
    assert (prediction.flow_ml_min[rated & valved] < cat.rated_flow_ml_min[rated & valved]).all()
    method = prediction.method["flow_ml_min"]
    assert (method[(rated | by_number) & alone] == "maker_anchored").all()
    assert (method[~rated & ~by_number] != "maker_anchored").all()


def test_the_import_page_explains_the_anchor_columns(client, admin):  # noqa: F811
    html = client.get("/admin/catalog/import").get_data(as_text=True)
    assert "rated_flow_ml_min" in html and "<code>0.7:39,1.5:58,6:69</code>" in html
    assert "a file without them keeps the figures already stored" in html
