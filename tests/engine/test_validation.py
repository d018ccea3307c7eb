"""The engine's error on public makers' data, from the real validate run (tests/data/README.md).

Every figure is cross-validated by nozzle series or held out (validate.py says which);
the issue-11 targets are asserted where the engine meets them, and where it does not
(standard full-cone angle from the orifice alone; the hollow-cone angle without a table, whose
prior is the unfitted Rizk & Lefebvre correlation since the only public hollow-cone table is
kept for validation), the measured value is guarded so that a regression fails.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from aerospec.engine import calibrate, calibration, validate

FAMILIES = ("hollow_cone", "full_cone_standard", "full_cone_wide", "full_cone_square", "full_cone_wide_square")


@pytest.fixture(scope="module")
def report() -> dict:
    return validate.report()


def test_flow_from_orifice_and_type_alone_is_within_15_percent_per_family(report):
    for family, cv in report["flow_prior"].items():
        assert cv["n"] >= 5, family
        assert cv["mape_pct"] <= 15.0, (family, cv["mape_pct"])


def test_flow_scaled_from_a_rating_is_within_3_percent(report):
    assert report["flow_rated"]["n"] == 15
    assert report["flow_rated"]["mape_pct"] <= 3.0


def test_hollow_cone_angle_without_a_table_misses_6_degrees_and_is_guarded(report):
    # Rizk & Lefebvre unfitted on all 21 usable WhirlJet nozzles (63 angles): 9.28° measured, target 6°
    assert report["angle_prior"]["hollow_cone"]["n"] == 63
    assert report["angle_prior"]["hollow_cone"]["mae_deg"] <= 9.28 + 0.5


def test_no_constant_is_fitted_on_the_whirljet_table_or_the_fulljet_eighth_inch_rows(monkeypatch):
    real = calibrate.load_family

    def shifted(family):
        pts = real(family)
        moved = np.ones(len(pts["d"]), dtype=bool) if family == "hollow_cone" else pts["connection"] == "1/8"
        return {**pts, "q": np.where(moved, pts["q"] * 1.5, pts["q"]), "angle": pts["angle"] + 10.0 * moved[:, None]}

    monkeypatch.setattr(calibrate, "load_family", shifted)
    base = calibration.load()["families"]
    for family in ("hollow_cone", "full_cone_standard", "full_cone_wide"):
        fam = calibrate.cross_validate_family(family)
        assert fam["flow"]["coef"] == base[family]["flow"]["coef"], family
        assert fam["angle"]["coef"] == base[family]["angle"]["coef"], family
    hollow = calibrate.cross_validate_family("hollow_cone")
    assert hollow["fitted_points"] == 0 and hollow["validation_only"] is True
    # ... while the errors reported on them move with the data: they are validation rows
    assert hollow["flow"]["cv"]["mape_pct"] != base["hollow_cone"]["flow"]["cv"]["mape_pct"]


def test_the_90_percent_half_width_is_the_conformal_rank_of_the_residuals():
    assert calibrate._q90(np.arange(1.0, 11.0)) == 10.0  # ⌈11·0.9⌉ = 10th smallest of 10
    assert calibrate._q90(-np.arange(1.0, 21.0)) == 19.0  # ⌈21·0.9⌉ = 19th smallest |r| of 20
    assert calibrate._q90(np.arange(1.0, 5.0)) == 4.0  # fewer than 9: the largest


def test_full_cone_angle_without_a_table_is_within_10_degrees_when_the_rating_is_known(report):
    for family, cv in report["angle_rated"].items():
        assert cv["mae_deg"] <= 10.0, (family, cv["mae_deg"])
    for family in ("full_cone_wide", "full_cone_square", "full_cone_wide_square"):
        assert report["angle_prior"][family]["mae_deg"] <= 10.0, family
    # from the orifice alone the standard insert misses the target (11.31° measured): guard it
    assert report["angle_prior"]["full_cone_standard"]["mae_deg"] <= 11.31 + 0.5


def test_angle_from_a_table_or_one_tabulated_angle_is_within_4_degrees(report):
    # hollow cones included: the levelling-off form (no fit) carries one tabulated angle (3.46°)
    for family, cv in report["angle_one"].items():
        assert cv["mae_deg"] <= 4.0, (family, cv["mae_deg"])
    for family, cv in report["angle_table"].items():
        assert cv["mae_deg"] <= 4.0, (family, cv["mae_deg"])
        # the family shape (hollow cones: P^−½) beats a straight line in ln P between the table's points
        assert cv["mae_deg"] < report["angle_table_ln_p"][family]["mae_deg"], family


def test_90_percent_bands_hold_at_least_80_percent_of_measured_values_per_family_and_quantity(report):
    for family, cv in report["flow_prior"].items():
        assert cv["coverage"] >= 0.80, ("flow", family, cv["coverage"])
    assert report["flow_rated"]["coverage"] >= 0.80
    for family, cv in report["angle_prior"].items():
        assert cv["coverage"] >= 0.80, ("angle", family, cv["coverage"])
    for family, cv in report["angle_rated"].items():
        assert cv["coverage"] >= 0.80, ("rated angle", family, cv["coverage"])
    for family, cv in report["angle_one"].items():
        assert cv["coverage"] >= 0.80, ("one-angle", family, cv["coverage"])
    for family, cv in report["angle_table"].items():
        assert cv["coverage"] >= 0.80, ("table", family, cv["coverage"])
    # below 1 mm (misting nozzles at 69 bar, validation only): two dimensions outside, ×2 each
    assert report["small_orifice"]["coverage"] >= 0.80


def test_held_out_rows_through_the_engine_stay_near_the_cross_validated_error(report):
    held = report["heldout"]
    assert set(held) == {"hollow_cone", "full_cone_standard", "full_cone_wide"}
    # hollow cones: every usable WhirlJet row (nothing fitted), through predict()
    assert held["hollow_cone"]["n"] == 21 and held["hollow_cone"]["band_sized_on_these_rows"]
    assert held["hollow_cone"]["flow_mape_pct"] <= 15.0
    assert held["hollow_cone"]["angle_mae_deg"] <= 9.28 + 0.5
    assert held["full_cone_standard"]["flow_mape_pct"] <= 12.1 + 2.0
    for family, h in held.items():
        assert h["flow_coverage"] >= 0.80, family


def test_smd_against_levitsky_tavor_does_not_grow_and_falls_with_pressure(report):
    smd = report["smd"]
    assert smd["n"] == 2
    assert smd["mape_pct"] < 16.4 + 5.0
    assert smd["predicted_um"][1] < smd["predicted_um"][0]


def test_validate_prints_every_section(capsys):
    validate.main()
    out = capsys.readouterr().out
    for heading in (
        "Flow from orifice and type alone",
        "Flow scaled from a maker's rating",
        "Cone angle without a table",
        "one tabulated angle",
        "each table's middle point left out",
        "Held out",
        "Small orifices, 0.15–0.51 mm",
        "Not validated: orifices below 1 mm",
    ):
        assert heading in out
    for family in FAMILIES:
        assert family in out


def test_small_orifice_misting_table_is_labelled_extrapolated_and_its_error_is_guarded(report):
    small = report["small_orifice"]
    assert small["n"] == 5
    assert small["methods"] == ["extrapolated"]  # never claimed as validated below 1 mm
    # measured: 50 % MAPE (misting nozzles at 69 bar; impeller-limited), 100 % inside the ×4 band
    assert small["mape_pct"] <= 50.0 + 5.0


def test_the_committed_calibration_file_is_what_calibrate_writes_today():
    fresh = json.loads(json.dumps(calibrate.calibrate(), ensure_ascii=False))
    assert fresh == calibration.load(), "run: python -m aerospec.engine.calibrate"


def test_the_full_cone_pressure_shape_depends_on_the_orifice_only_where_enough_series_fit_it():
    fams = calibration.load()["families"]
    for family in calibrate.ANGLE_INTERACTION_FAMILIES:
        assert len(fams[family]["angle"]["coef"]) == 5 and fams[family]["angle"]["coef"][4] != 0.0, family
        assert "ln d·ln P" in fams[family]["angle"]["model"]
    # square inserts: 5 nozzles in 3 series, no ln d·ln P term
    assert fams["full_cone_square"]["angle"]["coef"][4] == 0.0
    # the hollow-cone prior stays Rizk & Lefebvre's power law: no pressure-orifice cross term either
    assert fams["hollow_cone"]["angle"]["coef"][1:] == [0.11, 0.22, 0.0, 0.0]
