"""The fluid library JSON (built with thermo at build time) and its seeding."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from aerospec.catalog import build_fluids, seed, units
from aerospec.catalog import services as catalog
from aerospec.catalog.models import Fluid

REQUIRED = ("viscosity_cp", "density_kg_m3", "surface_tension_mn_m")


def library():
    return json.loads(seed.FLUIDS_JSON.read_text(encoding="utf-8"))["fluids"]


def test_library_has_at_least_thirty_fluids_with_unique_names():
    fluids = library()
    assert len(fluids) >= 30
    assert len({f["name"] for f in fluids}) == len(fluids)


def test_every_given_property_of_every_fluid_names_its_source():
    for fluid in library():
        for prop in catalog.FLUID_PROPERTIES:
            if fluid.get(prop) is not None:
                source = fluid["sources"].get(prop, "")
                assert len(source) > 10, f"{fluid['name']}: {prop} has no source"
        for prop in REQUIRED:
            assert fluid[prop] is not None, f"{fluid['name']} lacks {prop}"
        # Flash point: a value with its source, or a source saying why there is none.
        assert fluid["sources"].get("flash_point_c"), f"{fluid['name']}: flash point source missing"


def test_every_library_value_lies_in_the_physical_range_the_forms_enforce():
    for fluid in library():
        for prop in ("viscosity_cp", "density_kg_m3", "surface_tension_mn_m", "flash_point_c"):
            if fluid.get(prop) is not None:
                assert units.check_range(prop, fluid[prop]) is None, (fluid["name"], prop, fluid[prop])


def test_pure_components_say_they_were_computed_with_thermo_at_25_c():
    water = next(f for f in library() if f["name"] == "Water")
    assert water["sources"]["viscosity_cp"].startswith("computed with thermo 0.6.1 (method ")
    assert "at 25 °C" in water["sources"]["viscosity_cp"]
    assert water["viscosity_cp"] == pytest.approx(0.890, abs=0.01)
    assert water["density_kg_m3"] == pytest.approx(997.0, abs=1.0)
    assert water["surface_tension_mn_m"] == pytest.approx(72.0, abs=0.3)


def test_the_library_covers_the_named_bases_solvents_and_propellants():
    names = " | ".join(f["name"] for f in library()).lower()
    for expected in ("water", "ethanol", "isopropanol", "acetone", "propylene glycol", "glycerol/water",
                     "mineral oil", "silicone oil", "butane", "isobutane", "propane", "dimethyl ether",
                     "hexane", "heptane", "ethyl acetate"):  # fmt: skip
        assert expected in names, expected
    pdms = [f for f in library() if f["name"].startswith("Silicone oil")]
    assert len(pdms) >= 5
    glycerol_blends = [f for f in library() if f["name"].startswith("Glycerol/water")]
    assert len(glycerol_blends) >= 4


def test_liquefied_propellants_are_marked_with_a_vapour_pressure_above_one_atmosphere():
    propellants = [f for f in library() if f["liquefied_propellant"]]
    assert {"Propane (A-108)", "Isobutane (A-31)", "n-Butane (A-17)", "Dimethyl ether (DME)"} <= {
        f["name"] for f in propellants
    }
    for f in propellants:
        assert f["vapour_pressure_kpa"] > 101.325, f["name"]
    assert not next(f for f in library() if f["name"] == "Ethanol")["liquefied_propellant"]


def test_glycerol_water_viscosity_follows_cheng_against_measured_segur_values():
    # Segur & Oberstar (1951) via Cheng (2008): 50 wt% at 25 °C is about 5.0 cP, 80 wt% about 45.9 cP.
    assert build_fluids.cheng_viscosity_cp(0.5) == pytest.approx(5.0, rel=0.05)
    assert build_fluids.cheng_viscosity_cp(0.8) == pytest.approx(45.9, rel=0.05)
    assert build_fluids.volk_kahler_density(0.5) == pytest.approx(1123.0, rel=0.003)


def test_silicone_oil_dynamic_viscosity_is_the_grade_times_density():
    pdms = next(f for f in library() if f["name"] == "Silicone oil (PDMS) 100 cSt")
    assert pdms["viscosity_cp"] == pytest.approx(100 * pdms["density_kg_m3"] / 1000, rel=1e-3)


def test_seeding_fluids_twice_creates_no_duplicates(db):
    created, updated = catalog.seed_fluids(db.session)
    assert created == len(library())
    again = catalog.seed_fluids(db.session)
    assert again == (0, 0)
    assert db.session.scalar(select(func.count()).select_from(Fluid)) == len(library())


def test_seeding_fluids_restores_a_changed_library_value(db):
    catalog.seed_fluids(db.session)
    water = db.session.scalar(select(Fluid).where(Fluid.name == "Water"))
    water.viscosity_cp = 5.0
    db.session.flush()
    assert catalog.seed_fluids(db.session) == (0, 1)
    assert water.viscosity_cp == pytest.approx(0.89, abs=0.01)


def test_seed_fluids_command_is_idempotent(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["catalog", "seed-fluids"])
    assert first.exit_code == 0, first.output
    assert f"{len(library())} added" in first.output
    second = runner.invoke(args=["catalog", "seed-fluids"])
    assert "0 added, 0 updated" in second.output
