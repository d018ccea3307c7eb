"""Regression guard: engine error against published data (tests/data/README.md) must not grow."""

from __future__ import annotations

from aerospec.engine import validate

# Measured when the engine was written (python -m aerospec.engine.validate) plus a margin.
FLOW_PLAIN_MAPE_PCT = 5.2
SMD_SWIRL_MAPE_PCT = 16.4


def test_plain_orifice_flow_error_against_nozzle_table_does_not_grow():
    result = validate.flow_plain_orifice()
    assert result["n"] == 20
    assert result["mape_pct"] < FLOW_PLAIN_MAPE_PCT + 3.0


def test_pressure_swirl_smd_error_against_levitsky_tavor_does_not_grow():
    result = validate.smd_pressure_swirl()
    assert result["n"] == 2
    assert result["mape_pct"] < SMD_SWIRL_MAPE_PCT + 5.0
    # the measured D32 halves from 2 to 5 bar; the engine must at least fall with pressure
    assert result["predicted_um"][1] < result["predicted_um"][0]
