"""Numbers with units: parsing, conversion to stored units, physical ranges."""

from __future__ import annotations

import pytest

from aerospec.catalog import units


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0,998", 0.998),
        ("0.998", 0.998),
        ("1 000", 1000.0),
        ("1,000.5", 1000.5),
        ("1.000,5", 1000.5),
        ("−20", -20.0),
        ("-40", -40.0),
        ("1.5e3", 1500.0),
        ("1,2 × 10^-3", 0.0012),
        (".5", 0.5),
        (42, 42.0),
    ],
)
def test_parse_number_reads_decimal_commas_separators_and_exponents(text, expected):
    assert units.parse_number(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", "abc", "1.2.3", "12 cP", "nan"])
def test_parse_number_rejects_non_numbers_with_a_message(text):
    with pytest.raises(ValueError, match="not a number"):
        units.parse_number(text)


@pytest.mark.parametrize(
    ("value", "unit", "density", "cp"),
    [
        ("1.2", "cP", None, 1.2),
        ("1,2", "mPa·s", None, 1.2),
        ("1.2", "mPa.s", None, 1.2),
        ("1.2", "mPas", None, 1.2),
        ("1.2", "mPa s", None, 1.2),
        ("0.0012", "Pa·s", None, 1.2),
        ("0.0012", "Pa.s", None, 1.2),
        ("0.012", "P", None, 1.2),
        ("10", "cSt", 960.0, 9.6),
        ("10", "mm²/s", 960.0, 9.6),
        ("10", "mm2/s", 960.0, 9.6),
    ],
)
def test_viscosity_converts_to_cp(value, unit, density, cp):
    assert units.to_cp(value, unit, density) == pytest.approx(cp)


def test_kinematic_viscosity_without_density_says_it_needs_one():
    with pytest.raises(ValueError, match="density"):
        units.to_cp("10", "cSt")


@pytest.mark.parametrize(
    ("value", "unit", "kg_m3"),
    [
        ("998", "kg/m³", 998.0),
        ("998", "kg/m3", 998.0),
        ("0,998", "g/cm3", 998.0),
        ("0.998", "g/cm³", 998.0),
        ("0.998", "g/ml", 998.0),
        ("0.998", "g/mL", 998.0),
        ("1.02", "", 1.02 * 997),
        ("1.02", "relative", 1.02 * 997),
        ("1.02", "SG", 1.02 * 997),
        ("8.34", "lb/gal", 999.35),
    ],
)
def test_density_converts_to_kg_m3(value, unit, kg_m3):
    assert units.to_kg_m3(value, unit) == pytest.approx(kg_m3, rel=1e-3)


@pytest.mark.parametrize(
    ("value", "unit", "mn_m"),
    [("72", "mN/m", 72.0), ("72", "dyn/cm", 72.0), ("72", "dynes/cm", 72.0), ("0,072", "N/m", 72.0)],
)
def test_surface_tension_converts_to_mn_m(value, unit, mn_m):
    assert units.to_mn_m(value, unit) == pytest.approx(mn_m)


@pytest.mark.parametrize(
    ("value", "unit", "celsius"),
    [
        ("20", "°C", 20.0),
        ("20", "deg C", 20.0),
        ("20", "degC", 20.0),
        ("20", "C", 20.0),
        ("68", "°F", 20.0),
        ("68", "deg F", 20.0),
        ("-40", "°F", -40.0),
        ("293.15", "K", 20.0),
    ],
)
def test_temperature_converts_to_celsius(value, unit, celsius):
    assert units.to_celsius(value, unit) == pytest.approx(celsius)


@pytest.mark.parametrize(
    ("value", "unit", "bar"),
    [
        ("5", "bar", 5.0),
        ("500", "kPa", 5.0),
        ("0,5", "MPa", 5.0),
        ("72.52", "psi", 5.0),
        ("1", "atm", 1.01325),
        ("760", "mmHg", 1.01325),
        ("1000", "mbar", 1.0),
    ],
)
def test_pressure_converts_to_bar(value, unit, bar):
    assert units.to_bar(value, unit) == pytest.approx(bar, rel=1e-3)


def test_length_converts_to_mm():
    assert units.to_mm("400", "µm") == pytest.approx(0.4)
    assert units.to_mm("400", "μm") == pytest.approx(0.4)  # Greek mu, as PDFs print it
    assert units.to_mm("0.016", "in") == pytest.approx(0.4064)


@pytest.mark.parametrize(
    ("text", "quantity", "expected"),
    [
        ("0,998 g/cm3", "density", 998.0),
        ("Density: 0,998 g/cm3"[9:], "density", 998.0),
        ("1.2 mPa.s", "viscosity", 1.2),
        ("68°F", "temperature", 20.0),
        ("20 deg C", "temperature", 20.0),
        ("2,5 bar", "pressure", 2.5),
    ],
)
def test_parse_quantity_reads_number_and_unit_together(text, quantity, expected):
    assert units.parse_quantity(text, quantity) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("converter", "unit", "names"),
    [
        (units.to_cp, "furlongs", "cP"),
        (units.to_kg_m3, "stone/pint", "kg/m³"),
        (units.to_mn_m, "mN", "mN/m"),
        (units.to_celsius, "°R", "°C"),
        (units.to_bar, "inHg", "psi"),
    ],
)
def test_unknown_unit_raises_naming_the_unit_and_the_accepted_ones(converter, unit, names):
    with pytest.raises(ValueError) as info:
        converter("1", unit)
    message = str(info.value)
    assert f"unknown unit {unit!r}" in message
    assert names in message


@pytest.mark.parametrize(
    ("prop", "inside", "outside"),
    [
        ("viscosity_cp", [0.05, 1.0, 100_000], [0.01, 200_000]),
        ("density_kg_m3", [300, 998, 2500], [100, 3000]),
        ("surface_tension_mn_m", [5, 72, 80], [1, 120]),
        ("flash_point_c", [-104, 12, 400], [-200, 500]),
    ],
)
def test_check_range_accepts_physical_values_and_names_the_range_otherwise(prop, inside, outside):
    for value in inside:
        assert units.check_range(prop, value) is None
    for value in outside:
        message = units.check_range(prop, value)
        assert message is not None
        bound = units.RANGES[prop]
        assert bound.label in message and bound.unit in message and "between" in message


def test_range_message_shows_the_value_entered():
    assert units.check_range("viscosity_cp", 250_000) == (
        "Viscosity must be between 0.05 and 100,000 cP (got 250,000 cP)"
    )
