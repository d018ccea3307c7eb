"""`flask engine predict`: spray prediction for any typed-in geometry, printed as JSON."""

from __future__ import annotations

import json

import click

from aerospec.engine import SPRAY_TYPES, Fluid, Geometry, predict, prediction_item


@click.group("engine")
def engine_cli() -> None:
    """Spray prediction engine."""


@engine_cli.command("predict")
@click.option("--type", "spray_type", required=True, type=click.Choice(SPRAY_TYPES), help="Spray type.")
@click.option("--orifice-mm", required=True, type=float, help="Exit orifice diameter (mm).")
@click.option("--pressure-bar", required=True, type=float, help="Pressure drop across the nozzle (bar).")
@click.option("--viscosity-cp", required=True, type=float, help="Dynamic viscosity (cP = mPa·s).")
@click.option("--density", "density_kg_m3", required=True, type=float, help="Density (kg/m³).")
@click.option("--surface-tension", "surface_tension_mn_m", required=True, type=float, help="Surface tension (mN/m).")
@click.option("--swirl-chamber-mm", type=float, default=None, help="Swirl-chamber diameter (mm), swirl types.")
@click.option("--inlet-area-mm2", type=float, default=None, help="Total swirl inlet-port area (mm²), swirl types.")
@click.option("--orifice-length-mm", type=float, default=None, help="Exit orifice length (mm); default l/d = 2.")
@click.option("--flash-point-c", type=float, default=None, help="Flash point (°C).")
@click.option("--vapour-pressure-kpa", type=float, default=None, help="Vapour pressure at use temperature (kPa).")
@click.option("--liquefied-propellant", is_flag=True, help="The liquid is (or contains) a liquefied gas.")
def predict_command(
    spray_type: str,
    orifice_mm: float,
    pressure_bar: float,
    viscosity_cp: float,
    density_kg_m3: float,
    surface_tension_mn_m: float,
    swirl_chamber_mm: float | None,
    inlet_area_mm2: float | None,
    orifice_length_mm: float | None,
    flash_point_c: float | None,
    vapour_pressure_kpa: float | None,
    liquefied_propellant: bool,
) -> None:
    """Print predicted flow, cone angle, Dv10/Dv50/Dv90 and SMD with their bands as JSON."""
    try:
        fluid = Fluid(
            viscosity_cp=viscosity_cp,
            density_kg_m3=density_kg_m3,
            surface_tension_mn_m=surface_tension_mn_m,
            flash_point_c=flash_point_c,
            vapour_pressure_kpa=vapour_pressure_kpa,
            liquefied_propellant=liquefied_propellant,
        )
        geometry = Geometry(
            spray_type=spray_type,
            orifice_mm=orifice_mm,
            swirl_chamber_mm=swirl_chamber_mm,
            inlet_area_mm2=inlet_area_mm2,
            orifice_length_mm=orifice_length_mm,
        )
        prediction = predict(fluid, geometry, pressure_bar)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(json.dumps({"prediction": prediction_item(prediction, 0)}, indent=2, ensure_ascii=False))
