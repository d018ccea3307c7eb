"""The configuration edit form takes every unit the fluid form takes (one conversion, units.to_stored), shows
numbers rounded for reading, and a default ±10 % tolerance follows its target when the target is edited.

Reference figures as in tests/catalog/test_fluid_units.py (1 psi = 6.894757293 kPa, °F → °C: (F − 32) × 5/9,
relative density × 997 kg/m³, cSt × kg/m³ / 1000 = cP)."""

from __future__ import annotations

import pytest

from aerospec.catalog import units
from aerospec.configurations import services as configs
from aerospec.configurations.forms import UNIT_CHOICES, WITH_UNIT
from aerospec.configurations.models import Configuration
from aerospec.tenancy.scoping import tenant_scope
from tests.catalog.test_fluid_units import CASES, PSI_KPA
from tests.configurations.test_ranking_on_save import WATER_30, _create, _membership, form_fields

COLUMN_OF = {column: name for name, (_label, column) in WITH_UNIT.items()}
# The fluid form's cases for the columns a configuration keeps (the boiling point it does not), and the pressure.
EDIT_CASES = [(COLUMN_OF[c[0]], c[1], c[2], c[3]) for c in CASES if c[0] in COLUMN_OF] + [
    ("max_pressure_bar", "bar", "5", 5.0),
    ("max_pressure_bar", "kPa", "500", 5.0),
    ("max_pressure_bar", "MPa", "0.5", 5.0),
    ("max_pressure_bar", "psi", "72.5", 72.5 * PSI_KPA / 100),
]


def test_the_cases_cover_every_unit_the_edit_form_offers():
    offered = {(name, unit) for name, choices in UNIT_CHOICES.items() for unit, _ in choices}
    assert {(c[0], c[1]) for c in EDIT_CASES} == offered
    # The same lists as the fluid form's, for the fluid's columns.
    for name, (_label, column) in WITH_UNIT.items():
        if column != "pressure_bar":
            assert UNIT_CHOICES[name] == units.UNIT_CHOICES[column]


@pytest.fixture
def editing(db, client, login, team, seeded_catalog):
    """(edit URL, the form's fields as the page shows them, read(): the stored configuration)."""
    t = team()
    config = _create(db, t, {**WATER_30, "fluid_density_kg_m3": 870.0})
    cid = config.id
    login(t.user)
    url = f"/t/{t.tenant.slug}/configurations/{cid}/edit"

    def read() -> Configuration:
        db.session.expire_all()
        with tenant_scope(db.session, t.tenant.id):
            return db.session.get(Configuration, cid)

    return url, form_fields(client.get(url).get_data(as_text=True), "edit-form"), read


@pytest.mark.parametrize(("name", "unit", "typed", "expected"), EDIT_CASES, ids=[f"{c[0]}-{c[1]}" for c in EDIT_CASES])
def test_every_unit_is_stored_in_the_stored_unit(client, editing, name, unit, typed, expected):
    url, fields, read = editing
    response = client.post(url, data={**fields, name: typed, f"{name}_unit": unit})
    assert response.status_code == 303, response.get_data(as_text=True)
    # Converted kinematic viscosities use the density the form carries (870 kg/m³), like the fluid form.
    assert getattr(read(), name) == pytest.approx(expected, rel=1e-9)


def test_a_unit_typed_after_the_number_wins_and_an_unknown_one_is_said_at_the_field(client, editing):
    url, fields, read = editing
    assert client.post(url, data={**fields, "fluid_flash_point_C": "212 °F"}).status_code == 303
    assert read().fluid_flash_point_C == pytest.approx(100.0)
    bad = client.post(url, data={**fields, "max_pressure_bar": "5 furlongs"}, headers={"HX-Request": "true"})
    page = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "Pressure: unknown unit &#39;furlongs&#39;; use one of bar" in page and 'value="5 furlongs"' in page
    forged = client.post(url, data={**fields, "fluid_density_kg_m3_unit": "stone"})
    assert forged.status_code == 422 and "unknown unit" in forged.get_data(as_text=True)
    assert read().max_pressure_bar == 6.0


def test_the_form_rounds_for_reading_and_an_untouched_save_keeps_every_digit(db, client, login, team, seeded_catalog):
    t = team()
    stored = {"fluid_flash_point_C": (100 - 32) * 5 / 9, "fluid_vapour_pressure_kPa": 0.8 * PSI_KPA}
    config = _create(db, t, {**WATER_30, **stored})
    cid = config.id
    login(t.user)
    url = f"/t/{t.tenant.slug}/configurations/{cid}/edit"
    page = client.get(url).get_data(as_text=True)
    fields = form_fields(page, "edit-form")
    assert (fields["fluid_flash_point_C"], fields["fluid_vapour_pressure_kPa"]) == ("37.7778", "5.51581")
    assert "37.7777777" not in page
    assert (fields["fluid_flash_point_C_unit"], fields["max_pressure_bar_unit"]) == ("°C", "bar")
    assert "Nothing changed." in client.post(url, data=fields, follow_redirects=True).get_data(as_text=True)
    db.session.expire_all()
    with tenant_scope(db.session, t.tenant.id):
        again = db.session.get(Configuration, cid)
        assert (again.fluid_flash_point_C, again.fluid_vapour_pressure_kPa) == tuple(stored.values())
        assert again.version == 1


def test_a_default_tolerance_follows_its_target_and_a_chosen_one_stays(db, team, seeded_catalog):
    t = team()
    config = _create(db, t, {**WATER_30, "target_spray_cone_deg": 60.0, "target_spray_cone_tol_deg": 5.0})
    assert (config.target_droplet_size_tol_um, config.target_spray_cone_tol_deg) == (3.0, 5.0)
    with tenant_scope(db.session, t.tenant.id):
        actor = _membership(db, t.tenant, t.user)
        # The form sends the tolerance back as it showed it; the API may leave it out.
        configs.update_configuration(
            db.session, t.tenant, actor, config, {"target_droplet_size_um": "40", "target_droplet_size_tol_um": "3"}
        )
        assert config.target_droplet_size_tol_um == 4.0  # ±10 % of 40, not the ±3 of 30
        configs.update_configuration(db.session, t.tenant, actor, config, {"target_droplet_size_um": 50})
        assert config.target_droplet_size_tol_um == 5.0
        configs.update_configuration(db.session, t.tenant, actor, config, {"target_spray_cone_deg": 70})
        assert config.target_spray_cone_tol_deg == 5.0  # chosen by the person: stays
        # A tolerance changed with its target is what the person asked for.
        configs.update_configuration(
            db.session, t.tenant, actor, config, {"target_droplet_size_um": 20, "target_droplet_size_tol_um": 6}
        )
        assert config.target_droplet_size_tol_um == 6.0
        configs.update_configuration(db.session, t.tenant, actor, config, {"target_droplet_size_um": 30})
        assert config.target_droplet_size_tol_um == 6.0  # not the default of 20 µm: the person's, it stays
        db.session.commit()
