"""Regression guard: engine error against published data (tests/data/README.md) must not grow."""

from __future__ import annotations

from aerospec.engine import validate

# Measured with `python -m aerospec.engine.validate` (values as printed), each guarded with
# the margin given next to it. The margins leave room for harmless refactors, not for a
# change of correlation: a change that makes any figure worse than value + margin fails.
FLOW_PLAIN_MAPE_PCT = 5.2  # margin 3 points
SMD_SWIRL_MAPE_PCT = 16.4  # margin 5 points
FLOW_SWIRL_MAPE_PCT = 18.3  # WhirlJet, 35 nozzles at 0.7 bar; margin 3 points
FLOW_SWIRL_SMALL_MAPE_PCT = 14.4  # WhirlJet, d_o <= 2.4 mm (7 nozzles); margin 3 points
CONE_SWIRL_MAE_DEG = 12.5  # WhirlJet, 35 nozzles x 3 pressures; margin 2 degrees
CONE_SWIRL_SMALL_MAE_DEG = 5.0  # WhirlJet, d_o <= 2.4 mm (21 points); margin 2 degrees
OVERALL_FLOW_MAPE_PCT = 13.5  # both flow data sets pooled (55 points); margin 3 points


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


def test_hollow_cone_flow_error_against_whirljet_table_does_not_grow():
    result = validate.flow_hollow_cone_whirljet()
    assert result["n"] == 35
    assert result["n_small_orifice"] == 7
    assert result["mape_pct"] < FLOW_SWIRL_MAPE_PCT + 3.0
    assert result["mape_small_orifice_pct"] < FLOW_SWIRL_SMALL_MAPE_PCT + 3.0


def test_hollow_cone_angle_error_against_whirljet_table_does_not_grow():
    result = validate.cone_hollow_cone_whirljet()
    assert result["n"] == 105
    assert result["n_small_orifice"] == 21
    assert result["mae_deg"] < CONE_SWIRL_MAE_DEG + 2.0
    assert result["mae_small_orifice_deg"] < CONE_SWIRL_SMALL_MAE_DEG + 2.0
    # every catalog angle widens from 0.7 to 6 bar; the engine's angle must widen too
    assert result["measured_pressure_exponent"] > 0
    assert result["predicted_pressure_exponent"] > 0


def test_pooled_errors_do_not_grow():
    result = validate.overall()
    assert result["flow_n"] == 55
    assert result["cone_n"] == 105
    assert result["size_n"] == 2
    assert result["flow_mape_pct"] < OVERALL_FLOW_MAPE_PCT + 3.0
    assert result["size_mape_pct"] < SMD_SWIRL_MAPE_PCT + 5.0
    assert result["cone_mae_deg"] < CONE_SWIRL_MAE_DEG + 2.0
