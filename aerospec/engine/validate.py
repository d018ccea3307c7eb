"""Engine error against the published measurements under tests/data (see its README).

    python -m aerospec.engine.validate

Prints MAPE for flow and size per data set (MAE for angle once angle data exist).
"""

from __future__ import annotations

import csv
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


def main() -> None:
    for name, result in (
        ("flow, plain orifice", flow_plain_orifice()),
        ("SMD, pressure swirl", smd_pressure_swirl()),
    ):
        print(f"{name}: MAPE {result['mape_pct']:.1f} % over {result['n']} points — {result['data']}")
        extra = {k: v for k, v in result.items() if k not in {"data", "n", "mape_pct"}}
        if extra:
            print(f"    {extra}")
    print(
        "cone angle: MAE not measured — no published angle table with stated geometry"
        " recorded yet (tests/data/README.md)"
    )


if __name__ == "__main__":
    main()
