"""Every unit of every fluid property, on every path that stores one: the fluid form (new and
edit), the SDS review, and the SDS parser through upload → review → confirm. Each case is
posted to the real page and the stored number checked against a value worked out by hand;
the fluid's page then shows it in the stored unit, with what was typed in its source.

Reference figures (exact by definition unless noted): 1 psi = 0.45359237 kg × 9.80665 m/s² /
(0.0254 m)² = 6.894757293 kPa; 1 atm = 101.325 kPa = 760 mmHg (torr); 1 bar = 100 kPa;
1 US gallon = 3.785411784 L, so 1 lb/gal = 119.8264273 kg/m³; 1 ft³ = 28.316846592 L, so
1 lb/ft³ = 16.01846337 kg/m³; relative density × 997 kg/m³ (water at 25 °C, the product's
reference); cSt × kg/m³ / 1000 = cP; °F → °C: (F − 32) × 5/9; K → °C: K − 273.15.
"""

# ruff: noqa: F811 - the workspace fixture imported from test_sds_views is then named as a test argument

from __future__ import annotations

import html as html_lib
import re

import pytest

from aerospec.catalog import sds_services, units
from aerospec.catalog.models import TenantFluid
from tests.catalog import makers, sds_pdfs
from tests.catalog.test_sds_views import review_data, upload, workspace  # noqa: F401 - a fixture

PSI_KPA = 6.894757293  # kPa per psi

# (column, unit, typed, stored in the column's unit, as the fluid page shows it)
CASES = [
    ("viscosity_cp", "cP", "1.8", 1.8, "1.8 cP"),
    ("viscosity_cp", "mPa·s", "1.8", 1.8, "1.8 cP"),
    ("viscosity_cp", "Pa·s", "0.0018", 1.8, "1.8 cP"),
    ("viscosity_cp", "cSt", "10", 8.7, "8.7 cP"),  # 10 mm²/s × 870 kg/m³ (the density posted) / 1000
    ("viscosity_cp", "mm²/s", "10", 8.7, "8.7 cP"),
    ("density_kg_m3", "kg/m³", "870", 870.0, "870 kg/m³"),
    ("density_kg_m3", "g/cm³", "0.87", 870.0, "870 kg/m³"),
    ("density_kg_m3", "g/mL", "0.87", 870.0, "870 kg/m³"),
    ("density_kg_m3", "relative", "0.87", 867.39, "867.4 kg/m³"),  # 0.87 × 997
    ("surface_tension_mn_m", "mN/m", "24", 24.0, "24 mN/m"),
    ("surface_tension_mn_m", "dyn/cm", "24", 24.0, "24 mN/m"),
    ("surface_tension_mn_m", "N/m", "0.024", 24.0, "24 mN/m"),
    ("flash_point_c", "°C", "55", 55.0, "55 °C"),
    ("flash_point_c", "°F", "131", 55.0, "55 °C"),  # (131 − 32) × 5/9
    ("flash_point_c", "K", "328.15", 55.0, "55 °C"),
    ("boiling_point_c", "°C", "78.4", 78.4, "78.4 °C"),
    ("boiling_point_c", "°F", "173.12", 78.4, "78.4 °C"),  # (173.12 − 32) × 5/9
    ("boiling_point_c", "K", "351.55", 78.4, "78.4 °C"),
    ("vapour_pressure_kpa", "kPa", "5.5", 5.5, "5.5 kPa"),
    ("vapour_pressure_kpa", "hPa", "55", 5.5, "5.5 kPa"),
    ("vapour_pressure_kpa", "mbar", "55", 5.5, "5.5 kPa"),
    ("vapour_pressure_kpa", "bar", "1", 100.0, "100 kPa"),
    ("vapour_pressure_kpa", "psi", "0.8", 0.8 * PSI_KPA, "5.516 kPa"),  # 5.5158058 kPa
    ("vapour_pressure_kpa", "MPa", "0.0055", 5.5, "5.5 kPa"),
    ("vapour_pressure_kpa", "mmHg", "760", 101.325, "101.3 kPa"),
    ("vapour_pressure_kpa", "atm", "1", 101.325, "101.3 kPa"),
]
CASE_IDS = [f"{c[0]}-{c[1]}" for c in CASES]
LABELS = {
    "viscosity_cp": "Viscosity (dynamic)",
    "density_kg_m3": "Density",
    "surface_tension_mn_m": "Surface tension",
    "flash_point_c": "Flash point",
    "vapour_pressure_kpa": "Vapour pressure",
    "boiling_point_c": "Boiling point",
}
STORED_UNITS = {"viscosity_cp": "cP", "density_kg_m3": "kg/m³", "surface_tension_mn_m": "mN/m",
                "flash_point_c": "°C", "vapour_pressure_kpa": "kPa", "boiling_point_c": "°C"}  # fmt: skip

# The form as a person fills it: every other property in its stored unit.
BASE = {
    "name": "Unit check",
    "category": "solvent",
    "viscosity_cp": "1.8",
    "viscosity_cp_unit": "cP",
    "density_kg_m3": "870",
    "density_kg_m3_unit": "kg/m³",
    "surface_tension_mn_m": "24",
    "surface_tension_mn_m_unit": "mN/m",
    "flash_point_c": "",
    "flash_point_c_unit": "°C",
    "vapour_pressure_kpa": "",
    "vapour_pressure_kpa_unit": "kPa",
    "boiling_point_c": "",
    "boiling_point_c_unit": "°C",
    "notes": "",
}


def _entered(unit: str, typed: str) -> str:
    return f"relative density {typed}" if unit == "relative" else f"{typed} {unit}"


def _options(page: str, name: str) -> list[str]:
    body = re.search(rf'<select[^>]*name="{re.escape(name)}"[^>]*>(.*?)</select>', page, re.S)
    assert body, f"no select {name}"
    return [html_lib.unescape(v) for v in re.findall(r'<option[^>]*value="([^"]*)"', body.group(1))]


def _property_row(page: str, column: str) -> tuple[str, str]:
    """(value cell, source cell) of one property on the fluid page, as text."""
    match = re.search(
        rf'<th scope="row" data-label="Property">{re.escape(LABELS[column])}</th>\s*'
        r'<td data-label="Value" class="num">(.*?)</td>\s*<td data-label="Source" class="source">(.*?)</td>',
        page,
        re.S,
    )
    assert match, f"no row for {column}"
    return (html_lib.unescape(re.sub(r"<[^>]+>", "", match.group(i)).strip()) for i in (1, 2))


# ---- the tables themselves


def test_cases_cover_every_unit_each_property_offers():
    offered = {(prop, unit) for prop, choices in units.UNIT_CHOICES.items() for unit, _ in choices}
    assert {(c[0], c[1]) for c in CASES} == offered


@pytest.mark.parametrize("prop", list(units.UNIT_CHOICES))
def test_one_in_the_stored_unit_is_stored_as_one(prop):
    """The conversion each column uses leaves its own unit alone (the old form turned 1 kPa into 0.01)."""
    stored = units.UNIT_CHOICES[prop][0][0]
    assert stored == STORED_UNITS[prop] == units.RANGES[prop].unit
    assert units.to_stored(prop, "1", stored, 1000.0) == 1.0


@pytest.mark.parametrize(("prop", "unit", "typed", "expected", "_shown"), CASES, ids=CASE_IDS)
def test_to_stored_converts_every_offered_unit(prop, unit, typed, expected, _shown):
    assert units.to_stored(prop, typed, unit, 870.0) == pytest.approx(expected, rel=1e-9)


# ---- the fluid form


def test_the_form_offers_exactly_these_units(client, tenant_url, workspace):
    tenant, _ = workspace
    page = client.get(tenant_url(tenant, "fluids/new")).get_data(as_text=True)
    for prop, choices in units.UNIT_CHOICES.items():
        assert _options(page, f"{prop}_unit") == [u for u, _ in choices], prop


@pytest.mark.parametrize(("prop", "unit", "typed", "expected", "shown"), CASES, ids=CASE_IDS)
def test_new_fluid_form_stores_each_unit_converted_and_the_page_shows_it(
    client, rows, tenant_url, workspace, prop, unit, typed, expected, shown
):
    tenant, _ = workspace
    response = client.post(tenant_url(tenant, "fluids/new"), data={**BASE, prop: typed, f"{prop}_unit": unit})
    assert response.status_code == 303, response.get_data(as_text=True)
    [fluid] = rows(tenant, TenantFluid)
    assert getattr(fluid, prop) == pytest.approx(expected, rel=1e-9)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    value, source = _property_row(page, prop)
    assert value == shown
    assert source == f"entered by the user as {_entered(unit, typed)}"


@pytest.mark.parametrize(("prop", "unit", "typed", "expected", "shown"), CASES, ids=CASE_IDS)
def test_edit_form_stores_each_unit_converted(
    client, db, rows, tenant_url, workspace, prop, unit, typed, expected, shown
):
    tenant, _ = workspace
    fluid_id = makers.tenant_fluid(
        tenant, viscosity_cp=3.0, density_kg_m3=1000.0, surface_tension_mn_m=50.0, flash_point_c=10.0,
        vapour_pressure_kpa=1.0, boiling_point_c=100.0,
    ).id  # fmt: skip
    db.session.commit()
    edit = tenant_url(tenant, f"fluids/{fluid_id}/edit")
    data = {**BASE, prop: typed, f"{prop}_unit": unit}
    response = client.post(edit, data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    [fluid] = rows(tenant, TenantFluid)
    assert getattr(fluid, prop) == pytest.approx(expected, rel=1e-9)
    value, source = _property_row(client.get(response.headers["Location"]).get_data(as_text=True), prop)
    assert value == shown
    assert source == f"entered by the user as {_entered(unit, typed)}"


def test_the_issue_examples_are_stored_in_kpa(client, rows, tenant_url, workspace):
    """5.5 kPa was stored as 0.055, 0.8 psi as 0.05516, 1 bar as 1."""
    tenant, _ = workspace
    expected = {("5.5", "kPa"): 5.5, ("0.8", "psi"): 5.516, ("1", "bar"): 100.0}
    for typed, unit in expected:
        data = {**BASE, "name": f"{typed} {unit}", "vapour_pressure_kpa": typed, "vapour_pressure_kpa_unit": unit}
        assert client.post(tenant_url(tenant, "fluids/new"), data=data).status_code == 303
    stored = {f.name: f.vapour_pressure_kpa for f in rows(tenant, TenantFluid)}
    assert stored == {f"{t} {u}": pytest.approx(kpa, abs=5e-4) for (t, u), kpa in expected.items()}


def test_a_unit_typed_after_the_number_is_converted_too(client, rows, tenant_url, workspace):
    tenant, _ = workspace
    data = {**BASE, "vapour_pressure_kpa": "0,8 psi", "vapour_pressure_kpa_unit": "kPa", "flash_point_c": "131 °F"}
    assert client.post(tenant_url(tenant, "fluids/new"), data=data).status_code == 303
    [fluid] = rows(tenant, TenantFluid)
    assert fluid.vapour_pressure_kpa == pytest.approx(0.8 * PSI_KPA, rel=1e-9)
    assert fluid.flash_point_c == pytest.approx(55.0)
    assert fluid.sources["vapour_pressure_kpa"] == "entered by the user as 0.8 psi"


def _form_fields(page: str) -> dict[str, str]:
    """The edit form as the browser would send it back untouched."""
    data = {}
    for name, value in re.findall(r'<input[^>]*name="([a-z0-9_]+)"[^>]*value="([^"]*)"', page):
        data[name] = html_lib.unescape(value)
    for name, body in re.findall(r'<select[^>]*name="([a-z0-9_]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', body)
        data[name] = html_lib.unescape(next(g for g in chosen.groups() if g is not None))
    notes = re.search(r'<textarea[^>]*name="notes"[^>]*>(.*?)</textarea>', page, re.S)
    data["notes"] = html_lib.unescape(notes.group(1).strip()) if notes else ""
    return data


def test_saving_the_edit_form_untouched_keeps_every_value_and_source(client, rows, tenant_url, workspace):
    """The old form divided the vapour pressure by 100 again on every save of the edit form."""
    tenant, _ = workspace
    typed = {
        **BASE,
        "viscosity_cp": "10", "viscosity_cp_unit": "cSt",
        "density_kg_m3": "0.87", "density_kg_m3_unit": "relative",
        "surface_tension_mn_m": "0.024", "surface_tension_mn_m_unit": "N/m",
        "flash_point_c": "131", "flash_point_c_unit": "°F",
        "vapour_pressure_kpa": "0.8", "vapour_pressure_kpa_unit": "psi",
        "boiling_point_c": "351.55", "boiling_point_c_unit": "K",
    }  # fmt: skip
    response = client.post(tenant_url(tenant, "fluids/new"), data=typed)
    assert response.status_code == 303
    [fluid] = rows(tenant, TenantFluid)
    first = {p: getattr(fluid, p) for p in STORED_UNITS}
    sources = dict(fluid.sources)
    assert first["vapour_pressure_kpa"] == pytest.approx(5.5158058, rel=1e-7)
    assert first["viscosity_cp"] == pytest.approx(10 * 867.39 / 1000)

    edit = tenant_url(tenant, f"fluids/{fluid.id}/edit")
    page = client.get(edit).get_data(as_text=True)
    fields = _form_fields(page)
    # Prefilled in the stored unit, that unit selected.
    assert (fields["vapour_pressure_kpa"], fields["vapour_pressure_kpa_unit"]) == ("5.51581", "kPa")
    assert (fields["flash_point_c"], fields["flash_point_c_unit"]) == ("55", "°C")
    assert (fields["density_kg_m3"], fields["density_kg_m3_unit"]) == ("867.39", "kg/m³")
    for _ in range(3):
        assert client.post(edit, data=_form_fields(client.get(edit).get_data(as_text=True))).status_code == 303
    [again] = rows(tenant, TenantFluid)
    assert {p: getattr(again, p) for p in STORED_UNITS} == first
    assert again.sources == sources
    value, source = _property_row(client.get(tenant_url(tenant, f"fluids/{fluid.id}")).get_data(as_text=True),
                                  "vapour_pressure_kpa")  # fmt: skip
    assert (value, source) == ("5.516 kPa", "entered by the user as 0.8 psi")


def test_changing_only_the_unit_on_the_edit_form_converts_the_number(client, rows, tenant_url, workspace, db):
    tenant, _ = workspace
    fluid_id = makers.tenant_fluid(tenant, vapour_pressure_kpa=5.5).id
    db.session.commit()
    edit = tenant_url(tenant, f"fluids/{fluid_id}/edit")
    fields = _form_fields(client.get(edit).get_data(as_text=True))
    fields["vapour_pressure_kpa_unit"] = "bar"  # "5.5" now means 5.5 bar
    assert client.post(edit, data=fields).status_code == 303
    assert rows(tenant, TenantFluid)[0].vapour_pressure_kpa == pytest.approx(550.0)


# ---- the SDS review


REVIEW_KEYS = {p.column: p.key for p in sds_services.REVIEW_PROPERTIES}


def _review_base(name: str = "Reviewed") -> dict:
    data = {"name": name, "category": "solvent"}
    for column, key in REVIEW_KEYS.items():
        data[f"{key}_value"] = BASE[column]
        data[f"{key}_unit"] = BASE[f"{column}_unit"]
    return data


def test_the_sds_review_offers_the_same_units_as_the_form(client, tenant_url, workspace):
    tenant, _ = workspace
    response = upload(client, tenant_url, tenant, sds_pdfs.text_layout_sds())
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    for column, key in REVIEW_KEYS.items():
        assert _options(page, f"{key}_unit") == [u for u, _ in units.UNIT_CHOICES[column]], column


@pytest.mark.parametrize(("prop", "unit", "typed", "expected", "shown"), CASES, ids=CASE_IDS)
def test_sds_review_stores_each_unit_converted(client, rows, tenant_url, workspace, prop, unit, typed, expected, shown):
    tenant, _ = workspace
    location = upload(client, tenant_url, tenant, sds_pdfs.text_layout_sds(), "glycol.pdf").headers["Location"]
    key = REVIEW_KEYS[prop]
    response = client.post(location, data={**_review_base(), f"{key}_value": typed, f"{key}_unit": unit})
    assert response.status_code == 303, response.get_data(as_text=True)
    [fluid] = rows(tenant, TenantFluid)
    assert getattr(fluid, prop) == pytest.approx(expected, rel=1e-9)
    value, source = _property_row(client.get(response.headers["Location"]).get_data(as_text=True), prop)
    assert value == shown
    assert source.startswith("entered by Ada Formulator")


# ---- the SDS parser: every spelling of every unit it accepts, upload → review → confirm

D = 870.0  # the density line a kinematic-viscosity sheet also carries
# (unit key in units.py's tables, sheet line, column, stored value)
PARSED = [
    # dynamic viscosity, at 25 °C so the review takes it
    ("cp", "Viscosity: 1.8 cP at 25 °C", "viscosity_cp", 1.8),
    ("mpas", "Viscosity: 1.8 mPa·s at 25 °C", "viscosity_cp", 1.8),
    ("mpas", "Viscosity: 1.8 mPa s at 25 °C", "viscosity_cp", 1.8),
    ("mpas", "Viscosity: 1.8 mPa.s at 25 °C", "viscosity_cp", 1.8),
    ("centipoise", "Viscosity: 1.8 centipoise at 25 °C", "viscosity_cp", 1.8),
    ("cps", "Viscosity: 1.8 cps at 25 °C", "viscosity_cp", 1.8),
    ("pas", "Viscosity: 0.0018 Pa·s at 25 °C", "viscosity_cp", 1.8),
    ("pas", "Viscosity: 0.0018 Pa s at 25 °C", "viscosity_cp", 1.8),
    ("nsm2", "Viscosity: 0.0018 N s m-2 at 25 °C", "viscosity_cp", 1.8),
    ("ns/m2", "Viscosity: 0.0018 N·s/m² at 25 °C", "viscosity_cp", 1.8),
    ("kg/ms", "Viscosity: 0.0018 kg/m·s at 25 °C", "viscosity_cp", 1.8),
    ("kg/(ms)", "Viscosity: 0.0018 kg/(m·s) at 25 °C", "viscosity_cp", 1.8),
    ("p", "Viscosity: 0.018 P at 25 °C", "viscosity_cp", 1.8),
    ("poise", "Viscosity: 0.018 poise at 25 °C", "viscosity_cp", 1.8),
    ("dpas", "Viscosity: 0.018 dPa·s at 25 °C", "viscosity_cp", 1.8),
    # kinematic viscosity × the sheet's density 870 kg/m³ / 1000
    ("cst", "Kinematic viscosity: 10 cSt at 25 °C", "viscosity_cp", 8.7),
    ("mm2/s", "Kinematic viscosity: 10 mm²/s at 25 °C", "viscosity_cp", 8.7),
    ("mm2/s", "Kinematic viscosity: 10 mm2/s at 25 °C", "viscosity_cp", 8.7),
    ("centistokes", "Kinematic viscosity: 10 centistokes at 25 °C", "viscosity_cp", 8.7),
    ("st", "Kinematic viscosity: 0.1 St at 25 °C", "viscosity_cp", 8.7),
    ("stokes", "Kinematic viscosity: 0.1 stokes at 25 °C", "viscosity_cp", 8.7),
    ("cm2/s", "Kinematic viscosity: 0.1 cm²/s at 25 °C", "viscosity_cp", 8.7),
    ("m2/s", "Kinematic viscosity: 0.00001 m²/s at 25 °C", "viscosity_cp", 8.7),
    # density
    ("kg/m3", "Density: 870 kg/m³", "density_kg_m3", 870.0),
    ("kg/m3", "Density: 870 kg/m3", "density_kg_m3", 870.0),
    ("kgm3", "Density: 870 kg m-3", "density_kg_m3", 870.0),
    ("g/l", "Density: 870 g/L", "density_kg_m3", 870.0),
    ("g/cm3", "Density: 0.87 g/cm³", "density_kg_m3", 870.0),
    ("gcm3", "Density: 0.87 g cm-3", "density_kg_m3", 870.0),
    ("g/cc", "Density: 0.87 g/cc", "density_kg_m3", 870.0),
    ("g/ml", "Density: 0.87 g/mL", "density_kg_m3", 870.0),
    ("kg/l", "Density: 0.87 kg/L", "density_kg_m3", 870.0),
    ("kg/dm3", "Density: 0.87 kg/dm³", "density_kg_m3", 870.0),
    ("lb/gal", "Density: 7.26 lb/gal", "density_kg_m3", 7.26 * 119.8264273),  # 869.94
    ("lbs/gal", "Density: 7.26 lbs/gal", "density_kg_m3", 7.26 * 119.8264273),
    ("lb/ft3", "Density: 54.3 lb/ft³", "density_kg_m3", 54.3 * 16.01846337),  # 869.80
    # relative density × 997 kg/m³
    ("", "Relative density: 0.87", "density_kg_m3", 867.39),
    ("", "Density: 0.87", "density_kg_m3", 867.39),
    ("", "Specific gravity: 0.87", "density_kg_m3", 867.39),
    ("relative", "Density: 0.87 relative", "density_kg_m3", 867.39),
    ("relativedensity", "Density: 0.87 relative density", "density_kg_m3", 867.39),
    ("sg", "Density: 0.87 SG", "density_kg_m3", 867.39),
    ("specificgravity", "Density: 0.87 specific gravity", "density_kg_m3", 867.39),
    ("(water=1)", "Relative density: 0.87 (water = 1)", "density_kg_m3", 867.39),
    ("water=1", "Density: 0.87 water=1", "density_kg_m3", 867.39),
    ("(h2o=1)", "Density: 0.87 (H2O = 1)", "density_kg_m3", 867.39),
    ("h2o=1", "Density: 0.87 H2O=1", "density_kg_m3", 867.39),
    # surface tension
    ("mn/m", "Surface tension: 24 mN/m at 25 °C", "surface_tension_mn_m", 24.0),
    ("dyn/cm", "Surface tension: 24 dyn/cm at 25 °C", "surface_tension_mn_m", 24.0),
    ("dynes/cm", "Surface tension: 24 dynes/cm at 25 °C", "surface_tension_mn_m", 24.0),
    ("dyne/cm", "Surface tension: 24 dyne/cm at 25 °C", "surface_tension_mn_m", 24.0),
    ("n/m", "Surface tension: 0.024 N/m at 25 °C", "surface_tension_mn_m", 24.0),
    ("mj/m2", "Surface tension: 24 mJ/m² at 25 °C", "surface_tension_mn_m", 24.0),
    # temperatures
    ("°c", "Flash point: 55 °C (closed cup)", "flash_point_c", 55.0),
    ("°c", "Flash point: 55 ℃", "flash_point_c", 55.0),
    ("°c", "Flash point: 55 deg C", "flash_point_c", 55.0),
    ("c", "Flash point: 55 C", "flash_point_c", 55.0),
    ("celsius", "Flash point: 55 celsius", "flash_point_c", 55.0),
    ("°celsius", "Flash point: 55 °Celsius", "flash_point_c", 55.0),
    ("oc", "Flash point: 55 oC", "flash_point_c", 55.0),
    ("°f", "Flash point: 131 °F", "flash_point_c", 55.0),
    ("°f", "Flash point: 131 ℉", "flash_point_c", 55.0),
    ("f", "Flash point: 131 F", "flash_point_c", 55.0),
    ("fahrenheit", "Flash point: 131 fahrenheit", "flash_point_c", 55.0),
    ("°fahrenheit", "Flash point: 131 °Fahrenheit", "flash_point_c", 55.0),
    ("of", "Flash point: 131 oF", "flash_point_c", 55.0),
    ("k", "Flash point: 328.15 K", "flash_point_c", 55.0),
    ("kelvin", "Flash point: 328.15 kelvin", "flash_point_c", 55.0),
    ("°k", "Flash point: 328.15 °K", "flash_point_c", 55.0),
    ("°c", "Boiling point: 78.4 °C", "boiling_point_c", 78.4),
    ("°f", "Boiling point: 173.12 °F", "boiling_point_c", 78.4),
    ("k", "Boiling point: 351.55 K", "boiling_point_c", 78.4),
    # vapour pressure (absolute)
    ("kpa", "Vapour pressure: 5.5 kPa at 25 °C", "vapour_pressure_kpa", 5.5),
    ("hpa", "Vapour pressure: 55 hPa at 25 °C", "vapour_pressure_kpa", 5.5),
    ("mbar", "Vapour pressure: 55 mbar at 25 °C", "vapour_pressure_kpa", 5.5),
    ("pa", "Vapour pressure: 5500 Pa at 25 °C", "vapour_pressure_kpa", 5.5),
    ("mpa", "Vapour pressure: 0.0055 MPa at 25 °C", "vapour_pressure_kpa", 5.5),
    ("bar", "Vapour pressure: 1 bar at 25 °C", "vapour_pressure_kpa", 100.0),
    ("bara", "Vapour pressure: 1 bara at 25 °C", "vapour_pressure_kpa", 100.0),
    ("barg", "Vapour pressure: 1 barg at 25 °C", "vapour_pressure_kpa", 100.0 + 101.325),  # gauge + 1 atm
    ("psi", "Vapour pressure: 0.8 psi at 25 °C", "vapour_pressure_kpa", 0.8 * PSI_KPA),
    ("psia", "Vapour pressure: 0.8 psia at 25 °C", "vapour_pressure_kpa", 0.8 * PSI_KPA),
    ("psig", "Vapour pressure: 0.8 psig at 25 °C", "vapour_pressure_kpa", 0.8 * PSI_KPA + 101.325),
    ("atm", "Vapour pressure: 1 atm at 25 °C", "vapour_pressure_kpa", 101.325),
    ("mmhg", "Vapour pressure: 760 mmHg at 25 °C", "vapour_pressure_kpa", 101.325),
    ("mmhg", "Vapour pressure: 760 mm Hg at 25 °C", "vapour_pressure_kpa", 101.325),
    ("torr", "Vapour pressure: 760 torr at 25 °C", "vapour_pressure_kpa", 101.325),
]
TABLES = {
    "viscosity_cp": set(units.VISCOSITY.factors) | set(units.KINEMATIC),
    "density_kg_m3": set(units.DENSITY.factors) | units.RELATIVE,
    "surface_tension_mn_m": set(units.SURFACE_TENSION.factors),
    "flash_point_c": units._CELSIUS | units._FAHRENHEIT | units._KELVIN,
    "vapour_pressure_kpa": set(units.PRESSURE.factors),
}


@pytest.mark.parametrize("column", list(TABLES))
def test_parser_cases_cover_every_unit_spelling_the_tables_accept(column):
    covered = {key for key, _line, col, _ in PARSED if col == column}
    assert covered == TABLES[column]


@pytest.mark.parametrize(("key", "line", "column", "expected"), PARSED, ids=[p[1] for p in PARSED])
def test_a_sheet_in_each_unit_is_read_and_confirmed_as_stored(
    client, rows, tenant_url, workspace, key, line, column, expected
):
    tenant, _ = workspace
    lines = (line, f"Density: {D:g} kg/m³") if line.startswith("Kinematic") else (line,)
    response = upload(client, tenant_url, tenant, sds_pdfs.property_lines_sds(lines), "units.pdf")
    location = response.headers["Location"]
    page = client.get(location).get_data(as_text=True)
    assert f"<q>{html_lib.escape(line, quote=False)}</q>" in page
    data = review_data(page)
    for prop_key, value, unit in (
        ("density", "870", "kg/m³"),
        ("viscosity", "1.8", "cP"),
        ("surface_tension", "24", "mN/m"),
    ):
        if not data[f"{prop_key}_value"]:
            data[f"{prop_key}_value"], data[f"{prop_key}_unit"] = value, unit
    saved = client.post(location, data=data)
    assert saved.status_code == 303, saved.get_data(as_text=True)
    [fluid] = rows(tenant, TenantFluid)
    # The review prefills six significant digits of what was read.
    assert getattr(fluid, column) == pytest.approx(expected, rel=1e-5)
    assert fluid.sources[column].startswith(f"SDS units.pdf, section 9: '{line}")


def test_a_psi_vapour_pressure_reaches_the_configuration_and_its_csv_export_in_kpa(
    client, db, rows, tenant_url, workspace
):
    """The wrong number flowed from the fluid into the configurations made from it and their export."""
    import csv
    import io

    from aerospec.catalog import services as catalog
    from aerospec.configurations.models import Configuration

    catalog.seed_actuators(db.session)
    db.session.commit()
    tenant, _ = workspace
    data = {**BASE, "name": "Psi blend", "vapour_pressure_kpa": "0.8", "vapour_pressure_kpa_unit": "psi"}
    assert client.post(tenant_url(tenant, "fluids/new"), data=data).status_code == 303
    fluid_id = rows(tenant, TenantFluid)[0].id
    wizard = {"fluid_id": str(fluid_id), "step": "results", "pressure_bar": "5", "cone_deg": "60", "name": "Psi run"}
    saved = client.post(tenant_url(tenant, "configurations"), data=wizard, headers={"HX-Request": "true"})
    assert saved.status_code == 200, saved.get_data(as_text=True)
    [config] = rows(tenant, Configuration)
    assert config.fluid_id == fluid_id
    assert config.fluid_vapour_pressure_kPa == pytest.approx(0.8 * PSI_KPA, rel=1e-9)
    export = client.post(tenant_url(tenant, "configurations/export"), data={"format": "csv"})
    [row] = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert float(row["fluid_vapour_pressure_kPa"]) == pytest.approx(0.8 * PSI_KPA, rel=1e-9)


def test_the_fluids_list_and_the_fluid_page_write_a_converted_flash_point_alike(client, tenant_url, workspace, db):
    """100 °F is 37.78 °C on both pages (the list rounded it to 38 °C while the fluid page said 37.78)."""
    tenant, _ = workspace
    fluid = makers.tenant_fluid(tenant, name="Fahrenheit blend", flash_point_c=(100 - 32) * 5 / 9)
    fluid_id = fluid.id  # before the commit: row-level security hides a reload outside the workspace
    db.session.commit()
    listing = client.get(tenant_url(tenant, "fluids")).get_data(as_text=True)
    cell = re.search(r'<td data-label="Flash point" class="num">([^<]*)</td>', listing)
    assert cell and cell.group(1) == "37.78 °C"
    value, _source = _property_row(client.get(tenant_url(tenant, f"fluids/{fluid_id}")).get_data(as_text=True),
                                   "flash_point_c")  # fmt: skip
    assert value == "37.78 °C"
