"""`flask engine predict` prints JSON and fails clearly on bad input."""

from __future__ import annotations

import json

BASE = [
    "engine",
    "predict",
    "--type",
    "hollow_cone",
    "--orifice-mm",
    "0.4",
    "--viscosity-cp",
    "1",
    "--density",
    "998",
    "--surface-tension",
    "72",
]


def test_engine_predict_prints_all_values_as_json(app):
    result = app.test_cli_runner().invoke(
        args=[*BASE, "--pressure-bar", "5", "--swirl-chamber-mm", "1.2", "--inlet-area-mm2", "0.2"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)["prediction"]
    for key in ("flow_ml_min", "cone_deg", "dv10_um", "dv50_um", "dv90_um", "smd_um"):
        assert out[f"{key}_low"] < out[key] < out[f"{key}_high"]
    assert out["rosin_rammler_q"] == 2.5


def test_engine_predict_flags_a_liquefied_propellant(app):
    result = app.test_cli_runner().invoke(args=[*BASE, "--pressure-bar", "5", "--liquefied-propellant"])
    assert result.exit_code == 0
    out = json.loads(result.output)["prediction"]
    assert out["flashing"] is True
    assert any("Flash-boiling" in w for w in out["warnings"])


def test_engine_predict_rejects_zero_pressure_with_a_clear_message(app):
    result = app.test_cli_runner().invoke(args=[*BASE, "--pressure-bar", "0"])
    assert result.exit_code != 0
    assert "pressure_bar must be a positive number" in result.output


def test_engine_predict_rejects_an_unknown_spray_type(app):
    args = [*BASE, "--pressure-bar", "5"]
    args[args.index("hollow_cone")] = "fan"
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code != 0
    assert "hollow_cone" in result.output
