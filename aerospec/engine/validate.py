"""Engine error against the published measurements under tests/data (see its README).

    python -m aerospec.engine.validate

Prints MAPE for flow and size and MAE for the cone angle, per data set and pooled.
Only measures: nothing here feeds back into the engine's constants.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from aerospec.engine.predict import predict
from aerospec.engine.types import Fluid, Geometry

DATA = Path(__file__).resolve().parents[2] / "tests" / "data"
WATER_20C = Fluid(viscosity_cp=1.0, density_kg_m3=998.0, surface_tension_mn_m=72.8)
PSI_TO_BAR = 0.0689476
GPM_TO_ML_MIN = 3785.41


def _rows(name: str) -> list[dict]:
    with (DATA / name).open(newline="") as fh:
        return list(csv.DictReader(fh))


def _mape(predicted: np.ndarray, measured: np.ndarray) -> float:
    return float(np.mean(np.abs(predicted - measured) / measured) * 100.0)


def flow_plain_orifice() -> dict:
    """MAPE of plain-orifice flow against the pressure-washer nozzle table."""
    rows = _rows("engine_flow_pressure_washer_nozzles.csv")
    predicted = np.array(
        [
            predict(
                WATER_20C,
                Geometry("plain_orifice", float(r["orifice_mm"])),
                float(r["pressure_psi"]) * PSI_TO_BAR,
            ).flow_ml_min[0]
            for r in rows
        ]
    )
    measured = np.array([float(r["flow_gpm"]) * GPM_TO_ML_MIN for r in rows])
    return {
        "data": "ultimatewasher.com nozzle table (water)",
        "n": len(rows),
        "mape_pct": _mape(predicted, measured),
        "mean_ratio": float(np.mean(predicted / measured)),
        "_predicted": predicted,
        "_measured": measured,
    }


def smd_pressure_swirl() -> dict:
    """MAPE of hollow-cone SMD against Levitsky & Tavor (2020), geometry assumed."""
    rows = _rows("engine_smd_pressure_swirl.csv")

    def geometry(r: dict) -> Geometry:
        opt = lambda k: float(r[k]) if r[k] else None  # noqa: E731
        return Geometry(
            "hollow_cone",
            float(r["orifice_mm_assumed"]),
            opt("swirl_chamber_mm_assumed"),
            opt("inlet_area_mm2_assumed"),
        )

    predicted = np.array([predict(WATER_20C, geometry(r), float(r["pressure_bar"])).smd_um[0] for r in rows])
    measured = np.array([float(r["d32_um"]) for r in rows])
    return {
        "data": "Levitsky & Tavor 2020, Micromachines 11:584 (water; geometry assumed)",
        "n": len(rows),
        "mape_pct": _mape(predicted, measured),
        "predicted_um": predicted.round(1).tolist(),
        "measured_um": measured.tolist(),
    }


WHIRLJET = "engine_hollow_cone_whirljet.csv"
WHIRLJET_DATA = (
    "Spraying Systems WhirlJet AX/BX, CAT75HYD metric, as transcribed in a public repository"
    " (water; swirl geometry not given, engine defaults D_s = 3·d_o, K = 0.4)"
)
#: Pressures (bar) of the catalog's three spray-angle columns, and the capacity pressure.
WHIRLJET_ANGLE_BAR = {"angle_deg_0p7bar": 0.7, "angle_deg_1p5bar": 1.5, "angle_deg_6bar": 6.0}
WHIRLJET_FLOW_BAR = 0.7
#: Subset nearest the product's range (aerosol/trigger orifices are 0.2–1 mm; the catalog's
#: smallest is 1.2 mm): orifice ≤ 2.4 mm.
SMALL_ORIFICE_MM = 2.4


def _swirl_geometry(r: dict) -> Geometry:
    opt = lambda k: float(r[k]) if r.get(k) else None  # noqa: E731
    return Geometry(
        "hollow_cone",
        float(r["orifice_mm"]),
        opt("swirl_chamber_mm_assumed"),
        opt("inlet_area_mm2_assumed"),
    )


def flow_hollow_cone_whirljet() -> dict:
    """MAPE of hollow-cone (pressure-swirl) flow against the WhirlJet capacities at 0.7 bar."""
    rows = _rows(WHIRLJET)
    predicted = np.array([predict(WATER_20C, _swirl_geometry(r), WHIRLJET_FLOW_BAR).flow_ml_min[0] for r in rows])
    measured = np.array([float(r["flow_l_min_0p7bar"]) * 1000.0 for r in rows])
    d_o = np.array([float(r["orifice_mm"]) for r in rows])
    small = d_o <= SMALL_ORIFICE_MM
    return {
        "data": WHIRLJET_DATA,
        "n": len(rows),
        "mape_pct": _mape(predicted, measured),
        "mean_ratio": float(np.mean(predicted / measured)),
        "n_small_orifice": int(small.sum()),
        "mape_small_orifice_pct": _mape(predicted[small], measured[small]),
        "_predicted": predicted,
        "_measured": measured,
    }


def cone_hollow_cone_whirljet() -> dict:
    """MAE of the full cone angle against the WhirlJet angles at 0.7, 1.5 and 6 bar."""
    rows = _rows(WHIRLJET)
    pressures = np.array(list(WHIRLJET_ANGLE_BAR.values()))
    predicted = np.array([predict(WATER_20C, _swirl_geometry(r), pressures).cone_deg for r in rows])
    measured = np.array([[float(r[k]) for k in WHIRLJET_ANGLE_BAR] for r in rows])
    d_o = np.array([float(r["orifice_mm"]) for r in rows])
    small = d_o <= SMALL_ORIFICE_MM
    err = predicted - measured
    # Pressure exponent of the angle between 0.7 and 6 bar (Rizk & Lefebvre: 0.11).
    span = math.log(pressures[-1] / pressures[0])
    return {
        "data": WHIRLJET_DATA,
        "n": int(measured.size),
        "mae_deg": float(np.mean(np.abs(err))),
        "bias_deg": float(np.mean(err)),
        "mae_by_pressure_deg": {
            f"{p:g} bar": round(float(np.mean(np.abs(err[:, j]))), 2) for j, p in enumerate(pressures)
        },
        "n_small_orifice": int(measured[small].size),
        "mae_small_orifice_deg": float(np.mean(np.abs(err[small]))),
        "measured_pressure_exponent": float(np.mean(np.log(measured[:, -1] / measured[:, 0])) / span),
        "predicted_pressure_exponent": float(np.mean(np.log(predicted[:, -1] / predicted[:, 0])) / span),
        "_predicted": predicted.ravel(),
        "_measured": measured.ravel(),
    }


def overall() -> dict:
    """Every data set pooled, point-weighted: MAPE flow, MAPE size, MAE angle."""
    flows = [flow_plain_orifice(), flow_hollow_cone_whirljet()]
    pred = np.concatenate([f["_predicted"] for f in flows])
    meas = np.concatenate([f["_measured"] for f in flows])
    size = smd_pressure_swirl()
    cone = cone_hollow_cone_whirljet()
    return {
        "flow_n": int(meas.size),
        "flow_mape_pct": _mape(pred, meas),
        "size_n": size["n"],
        "size_mape_pct": size["mape_pct"],
        "cone_n": cone["n"],
        "cone_mae_deg": cone["mae_deg"],
    }


def _print(name: str, result: dict, metric: str, unit: str) -> None:
    label = metric.split("_")[0].upper()
    print(f"{name}: {label} {result[metric]:.1f} {unit} over {result['n']} points — {result['data']}")
    extra = {
        k: (round(v, 3) if isinstance(v, float) else v)
        for k, v in result.items()
        if k not in {"data", "n", metric} and not k.startswith("_")
    }
    if extra:
        print(f"    {extra}")


def main() -> None:
    _print("flow, plain orifice", flow_plain_orifice(), "mape_pct", "%")
    _print("flow, hollow cone (pressure swirl)", flow_hollow_cone_whirljet(), "mape_pct", "%")
    _print("SMD, pressure swirl", smd_pressure_swirl(), "mape_pct", "%")
    _print("cone angle, hollow cone", cone_hollow_cone_whirljet(), "mae_deg", "°")
    o = overall()
    print(
        f"overall: flow MAPE {o['flow_mape_pct']:.1f} % ({o['flow_n']} points), "
        f"size MAPE {o['size_mape_pct']:.1f} % ({o['size_n']} points), "
        f"cone-angle MAE {o['cone_mae_deg']:.1f}° ({o['cone_n']} points)"
    )


if __name__ == "__main__":
    main()
