"""Engine fixtures: plain objects, no app or database."""

from __future__ import annotations

import numpy as np
import pytest

from aerospec.engine import Catalog, Fluid

WATER = Fluid(viscosity_cp=0.89, density_kg_m3=997.0, surface_tension_mn_m=72.0)
ETHANOL = Fluid(viscosity_cp=1.08, density_kg_m3=785.0, surface_tension_mn_m=22.0, flash_point_c=12.0)
BUTANE_BLEND = Fluid(
    viscosity_cp=0.5,
    density_kg_m3=670.0,
    surface_tension_mn_m=15.8,
    flash_point_c=-60.0,
    vapour_pressure_kpa=172.0,
    liquefied_propellant=True,
)


ANCHOR_FLOATS = (
    "rated_flow_ml_min",
    "rated_pressure_bar",
    "rated_density_kg_m3",
    "flow_number_ml_min_sqrtbar",
    "flow_exponent",
    "stem_orifice_mm",
    "housing_orifice_mm",
    "vapour_tap_mm",
)


def make_catalog(rows: list[dict]) -> Catalog:
    """A Catalog from row dicts with sensible defaults for the columns a test does not care about."""
    defaults = dict(
        supplier="Spencer",
        spray_type="hollow_cone",
        orifice_mm=0.4,
        swirl_chamber_mm=1.2,
        inlet_area_mm2=0.2,
        max_pressure_bar=12.0,
        min_viscosity_cp=0.1,
        max_viscosity_cp=100.0,
        body_material="POM",
        seal_material="NBR",
        unit_price=1.0,
        lead_time_days=10,
    )
    full = [{**defaults, "sku": f"SKU-{i}", **row} for i, row in enumerate(rows)]
    col = lambda k, dtype=None: np.array([r[k] if r[k] is not None else np.nan for r in full], dtype=dtype)  # noqa: E731
    catalog = Catalog(
        sku=col("sku"),
        supplier=col("supplier"),
        spray_type=col("spray_type"),
        orifice_mm=col("orifice_mm", float),
        swirl_chamber_mm=col("swirl_chamber_mm", float),
        inlet_area_mm2=col("inlet_area_mm2", float),
        max_pressure_bar=col("max_pressure_bar", float),
        min_viscosity_cp=col("min_viscosity_cp", float),
        max_viscosity_cp=col("max_viscosity_cp", float),
        body_material=col("body_material"),
        seal_material=col("seal_material"),
        unit_price=col("unit_price", float),
        lead_time_days=col("lead_time_days"),
    )
    # Engine v2 anchors, only when a row gives one (None in a row: not known for that SKU)
    for name in ANCHOR_FLOATS:
        if any(name in r for r in full):
            setattr(catalog, name, np.array([np.nan if r.get(name) is None else r[name] for r in full], dtype=float))
    if any("full_cone_insert" in r for r in full):
        catalog.full_cone_insert = np.array([r.get("full_cone_insert") or "" for r in full])
    if any("angle_table" in r for r in full):
        catalog.angle_table = np.empty(len(full), dtype=object)
        catalog.angle_table[:] = [tuple(r.get("angle_table") or ()) for r in full]
    return catalog


@pytest.fixture
def mixed_catalog() -> Catalog:
    return make_catalog(
        [
            {"spray_type": "hollow_cone", "orifice_mm": 0.3, "swirl_chamber_mm": 1.0, "inlet_area_mm2": 0.12},
            {"spray_type": "full_cone", "orifice_mm": 0.9, "swirl_chamber_mm": 2.5, "inlet_area_mm2": 0.9},
            {
                "spray_type": "plain_orifice",
                "orifice_mm": 0.5,
                "swirl_chamber_mm": None,
                "inlet_area_mm2": None,
            },
            {
                "spray_type": "hollow_cone",
                "orifice_mm": 0.6,
                "swirl_chamber_mm": None,
                "inlet_area_mm2": None,
            },
            {"spray_type": "hollow_cone", "orifice_mm": 1.2, "swirl_chamber_mm": 4.0, "inlet_area_mm2": 2.0},
        ]
    )
