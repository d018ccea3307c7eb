"""`flask engine predict` runs the engine without building the web app; every other command still gets the app."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aerospec.cli import runs_engine_command_only

ROOT = Path(__file__).resolve().parents[2]
ONE = ["predict", "--type", "hollow_cone", "--orifice-mm", "0.4", "--pressure-bar", "5", "--viscosity-cp", "1",
       "--density", "998", "--surface-tension", "72", "--rated-flow-ml-min", "60",
       "--rated-pressure-bar", "3"]  # fmt: skip
HEAVY = ("sqlalchemy", "flask_sqlalchemy", "aerospec.extensions", "aerospec.catalog", "stripe")
#: Runs the real `flask` entry point in a child and reports which heavy modules it imported.
PROBE = (
    "import json, sys\n"
    "from flask.cli import main\n"
    "sys.argv = ['flask', *json.loads(sys.argv[1])]\n"
    "try:\n"
    "    main()\n"
    "except SystemExit as e:\n"
    "    code = e.code\n"
    f"sys.stderr.write(json.dumps({{'exit': code, 'loaded': [m for m in {HEAVY!r} if m in sys.modules]}}) + '\\n')\n"
)


def flask(args: list[str]) -> tuple[dict, str]:
    env = {k: v for k, v in os.environ.items() if k != "FLASK_RUN_FROM_CLI"} | {"FLASK_APP": "app.py"}
    done = subprocess.run(  # noqa: S603 - our own interpreter and the flask entry point
        [sys.executable, "-c", PROBE, json.dumps(args)], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    return json.loads(done.stderr.strip().splitlines()[-1]), done.stdout


def test_flask_engine_predict_answers_like_python_m_without_building_the_app():
    status, out = flask(["engine", *ONE])
    assert status == {"exit": 0, "loaded": []}
    direct = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "aerospec.engine", *ONE], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(out) == json.loads(direct.stdout)
    assert json.loads(out)["prediction"]["method"]["flow_ml_min"] == "maker_anchored"


def test_flask_options_before_engine_still_take_the_light_path():
    status, out = flask(["--app", "app.py", "engine", *ONE])
    assert status == {"exit": 0, "loaded": []}
    assert "prediction" in json.loads(out)


def test_other_flask_commands_still_build_the_whole_app():
    status, out = flask(["routes"])
    assert status["exit"] == 0 and "sqlalchemy" in status["loaded"]
    assert "configurations." in out and "/api/configurations/predict" in out
    status, out = flask(["--help"])
    assert status["exit"] == 0
    for command in ("db", "engine", "seed-demo", "catalog", "admin"):
        assert f"  {command} " in out, command


@pytest.mark.parametrize(
    ("argv", "environ", "expected"),
    [
        (["flask", "engine", "predict"], {"FLASK_RUN_FROM_CLI": "true"}, True),
        (["flask", "-A", "app.py", "--debug", "engine"], {"FLASK_RUN_FROM_CLI": "true"}, True),
        (["flask", "--app", "engine", "db", "upgrade"], {"FLASK_RUN_FROM_CLI": "true"}, False),
        (["flask", "db", "upgrade"], {"FLASK_RUN_FROM_CLI": "true"}, False),
        (["flask", "--help"], {"FLASK_RUN_FROM_CLI": "true"}, False),
        (["gunicorn", "engine"], {}, False),  # not the flask command line: always the whole app
    ],
)
def test_only_the_flask_engine_command_skips_the_app(argv, environ, expected):
    assert runs_engine_command_only(argv, environ) is expected
