"""The engine's command line: anchor flags, batch files (CSV and JSON lines), bad rows, keys, order, start-up."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from aerospec.engine.cli import main
from aerospec.engine.types import METHODS, QUANTITIES

ROOT = Path(__file__).resolve().parents[2]
FLUID = ["--viscosity-cp", "1", "--density", "998", "--surface-tension", "72"]
HOLLOW = ["predict", "--type", "hollow_cone", "--orifice-mm", "0.4", "--pressure-bar", "5", *FLUID]
# Today's keys (before engine v2), which every prediction object keeps.
TODAY_KEYS = {
    "spray_type", "pressure_bar", "flow_ml_min", "flow_ml_min_low", "flow_ml_min_high", "cone_deg", "cone_deg_low",
    "cone_deg_high", "dv10_um", "dv10_um_low", "dv10_um_high", "dv50_um", "dv50_um_low", "dv50_um_high", "dv90_um",
    "dv90_um_low", "dv90_um_high", "smd_um", "smd_um_low", "smd_um_high", "rosin_rammler_q", "confidence",
    "flashing", "warnings",
}  # fmt: skip
HEADER = "type,orifice_mm,pressure_bar,viscosity_cp,density,surface_tension,rated_flow_ml_min,rated_pressure_bar,angle_table,full_cone_insert"  # noqa: E501


def run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    return main(argv, out=out), out.getvalue()


def batch(tmp_path: Path, name: str, text: str) -> tuple[int, list[dict]]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    status, out = run(["predict", "--input", str(path)])
    return status, [json.loads(line) for line in out.splitlines()]


def test_one_call_with_every_anchor_flag_keeps_todays_keys_and_adds_method_and_confidence_label():
    status, out = run(
        [
            *HOLLOW, "--rated-flow-ml-min", "60", "--rated-pressure-bar", "3", "--flow-exponent", "0.45",
            "--angle-table", "0.7:39,1.5:58,6:69", "--family", "pump_trigger",
        ]
    )  # fmt: skip
    assert status == 0
    item = json.loads(out)["prediction"]
    assert set(item) >= TODAY_KEYS
    assert set(item["method"]) == set(QUANTITIES) and set(item["method"].values()) <= set(METHODS)
    assert isinstance(item["confidence_label"], str) and item["confidence_label"]
    assert item["flow_ml_min_low"] < item["flow_ml_min"] < item["flow_ml_min_high"]


def test_full_cone_insert_flag_is_accepted_on_a_full_cone():
    args = ["predict", "--type", "full_cone", "--orifice-mm", "1.0", "--pressure-bar", "3", *FLUID]
    status, out = run([*args, "--full-cone-insert", "wide"])
    assert status == 0 and json.loads(out)["prediction"]["spray_type"] == "full_cone"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--angle-table", "1.5:58,0.7:39"], "Angle table pressures must increase strictly"),
        (["--angle-table", "0.7:39,1.5:200"], "angles must be from 0 to 180"),
        (["--angle-table", "0.7-39"], "must be pressure:angle"),
        (["--full-cone-insert", "wide"], "full-cone nozzles only"),
        (["--full-cone-insert", "round"], "must be one of standard, wide, square"),
        (["--rated-flow-ml-min", "60"], "rated_pressure_bar"),
        (["--rated-flow-ml-min", "-1", "--rated-pressure-bar", "3"], "Rated flow must be more than 0"),
        (["--flow-exponent", "abc"], "flow_exponent must be a number"),
        (["--stem-orifice-mm", "0.4", "--family", "industrial_nozzle"], "aerosol actuators only"),
    ],
)
def test_a_bad_anchor_flag_is_a_usage_error_naming_it(flags, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        run([*HOLLOW, *flags])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


ROWS = [
    ("hollow_cone", 0.4, 5, "", "", ""),
    ("full_cone", 1.0, 3, 120, 3, "standard"),
    ("plain_orifice", 0.3, 8, "", "", ""),
    ("hollow_cone", 0.6, 2, 80, 3, ""),
]


def _csv(rows) -> str:
    lines = [HEADER]
    for spray, orifice, p, flow, rated_p, insert in rows:
        table = '"0.7:39,1.5:58,6:69"' if spray == "hollow_cone" and flow else ""  # quoted: it holds commas
        lines.append(f"{spray},{orifice},{p},1,998,72,{flow},{rated_p},{table},{insert}")
    return "\n".join(lines) + "\n"


def _jsonl(rows) -> str:
    out = []
    for spray, orifice, p, flow, rated_p, insert in rows:
        row = {"type": spray, "orifice_mm": orifice, "pressure_bar": p, "viscosity_cp": 1, "density": 998,
               "surface_tension": 72}  # fmt: skip
        if flow:
            row |= {"rated_flow_ml_min": flow, "rated_pressure_bar": rated_p}
        if spray == "hollow_cone" and flow:
            row["angle_table"] = [[0.7, 39], [1.5, 58], [6, 69]]
        if insert:
            row["full_cone_insert"] = insert
        out.append(json.dumps(row))
    return "\n".join(out) + "\n"


def test_batch_csv_prints_one_object_a_line_in_input_order(tmp_path):
    status, answers = batch(tmp_path, "rows.csv", _csv(ROWS))
    assert status == 0
    assert [a["line"] for a in answers] == [2, 3, 4, 5]
    assert [(a["prediction"]["spray_type"], a["prediction"]["pressure_bar"]) for a in answers] == [
        (spray, float(p)) for spray, _, p, *_ in ROWS
    ]
    for answer in answers:
        assert TODAY_KEYS | {"method", "confidence_label"} <= set(answer["prediction"])


def test_batch_json_lines_give_the_same_predictions_as_the_csv(tmp_path):
    _, from_csv = batch(tmp_path, "rows.csv", _csv(ROWS))
    status, from_jsonl = batch(tmp_path, "rows.jsonl", _jsonl(ROWS))
    assert status == 0
    assert [a["line"] for a in from_jsonl] == [1, 2, 3, 4]
    assert [a["prediction"] for a in from_jsonl] == [a["prediction"] for a in from_csv]


def test_bad_rows_print_an_error_with_their_line_and_the_rest_still_run(tmp_path):
    text = "\n".join(
        [
            HEADER,
            "hollow_cone,0.4,5,1,998,72,,,,",
            "hollow_cone,abc,5,1,998,72,,,,",  # line 3: not a number
            "hollow_cone,0.4,,1,998,72,,,,",  # line 4: no pressure
            'hollow_cone,0.4,5,1,998,72,60,3,"1.5:58,0.7:39",',  # line 5: table out of order
            "fan,0.4,5,1,998,72,,,,",  # line 6: no such type
            "hollow_cone,0.4,5,1,998,72,,,,wide",  # line 7: insert on a hollow cone
            "plain_orifice,0.3,8,1,998,72,,,,",
        ]
    )
    status, answers = batch(tmp_path, "mixed.csv", text + "\n")
    assert status == 1
    assert [a["line"] for a in answers] == [2, 3, 4, 5, 6, 7, 8]
    assert [("prediction" in a) for a in answers] == [True, False, False, False, False, False, True]
    errors = {a["line"]: a["error"] for a in answers if "error" in a}
    assert "orifice_mm must be a number" in errors[3]
    assert "pressure_bar is required" in errors[4]
    assert "angle_table" in errors[5] and "increase strictly" in errors[5]
    assert "type must be one of" in errors[6]
    assert "full_cone_insert" in errors[7]
    assert answers[-1]["prediction"]["spray_type"] == "plain_orifice"


def test_bad_json_lines_are_row_errors_too(tmp_path):
    good = json.dumps({"type": "plain_orifice", "orifice_mm": 0.3, "pressure_bar": 8, "viscosity_cp": 1,
                       "density": 998, "surface_tension": 72})  # fmt: skip
    text = "\n".join([good, "{not json", "[1, 2]", good.replace("0.3", '"thin"'), good.replace('"density"', '"dens"')])
    status, answers = batch(tmp_path, "rows.jsonl", text + "\n")
    assert status == 1
    assert ["prediction" in a for a in answers] == [True, False, False, False, False]
    assert "not valid JSON" in answers[1]["error"] and "JSON object" in answers[2]["error"]
    assert "orifice_mm must be a number" in answers[3]["error"] and "unknown column dens" in answers[4]["error"]


def test_an_unknown_csv_column_is_refused_before_any_row(tmp_path):
    status, answers = batch(tmp_path, "rows.csv", "type,orifice_mm,colour\nhollow_cone,0.4,red\n")
    assert status == 1 and answers == [{"line": 1, "error": "unknown column in the header: colour"}]


def test_input_with_row_flags_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "rows.csv").write_text(_csv(ROWS))
    with pytest.raises(SystemExit):
        run(["predict", "--input", str(tmp_path / "rows.csv"), "--type", "hollow_cone"])
    assert "leave out --type" in capsys.readouterr().err


def test_python_m_entry_point_predicts_a_file_without_loading_the_web_app(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text(_csv(ROWS))
    probe = (
        "import sys, runpy; sys.argv = ['x', 'predict', '--input', sys.argv[1]];\n"
        "try:\n runpy.run_module('aerospec.engine', run_name='__main__')\n"
        "except SystemExit as e:\n"
        " print(json.dumps({'exit': e.code, 'loaded': sorted(m for m in ('sqlalchemy', 'flask_sqlalchemy', "
        "'aerospec.catalog', 'aerospec.extensions', 'flask') if m in sys.modules)}))"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-c", "import json\n" + probe, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = done.stdout.splitlines()
    assert json.loads(lines[-1]) == {"exit": 0, "loaded": []}, done.stderr
    assert [json.loads(line)["line"] for line in lines[:-1]] == [2, 3, 4, 5]


def test_flask_engine_predict_runs_the_same_batch(app, tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text(_csv(ROWS))
    result = app.test_cli_runner().invoke(args=["engine", "predict", "--input", str(path)])
    assert result.exit_code == 0, result.output
    direct = batch(tmp_path, "rows.csv", _csv(ROWS))[1]
    assert [json.loads(line) for line in result.output.splitlines()] == direct


def test_a_makers_rating_and_angle_table_given_as_flags_anchor_the_prediction():
    at_3_bar = ["predict", "--type", "hollow_cone", "--orifice-mm", "0.4", "--pressure-bar", "3", *FLUID]
    plain = json.loads(run(at_3_bar)[1])["prediction"]
    anchored = json.loads(
        run([*at_3_bar, "--rated-flow-ml-min", "75", "--rated-pressure-bar", "3", "--angle-table", "1.5:50,3:55"])[1]
    )["prediction"]
    assert anchored["flow_ml_min"] == pytest.approx(75, rel=0.01)  # water at the rating pressure: the rating
    assert anchored["cone_deg"] == pytest.approx(55, abs=0.5)  # a pressure in the table: its angle
    assert anchored["method"]["flow_ml_min"] == anchored["method"]["cone_deg"] == "maker_anchored"
    assert plain["method"]["flow_ml_min"] != "maker_anchored" and plain["method"]["cone_deg"] != "maker_anchored"
    assert "maker-anchored" in anchored["confidence_label"] and "maker-anchored" not in plain["confidence_label"]
