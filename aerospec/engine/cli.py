"""`python -m aerospec.engine predict`: the engine from the command line, one geometry or a file of them.

A light entry point: it imports the engine and numpy, never the web app, so a call starts in a
fraction of the time `flask` needs to build the app (`flask engine predict` delegates here).
Only the standard library's argparse, csv and json besides the engine.

    python -m aerospec.engine predict --type hollow_cone --orifice-mm 0.4 --pressure-bar 5 \\
        --viscosity-cp 1 --density 998 --surface-tension 72 --rated-flow-ml-min 60 --rated-pressure-bar 3
    python -m aerospec.engine predict --input rows.csv     # or rows.jsonl; "-" reads standard input

One geometry prints {"prediction": {...}}. A file (CSV with a header, or JSON lines) whose column
names are the flags' names with underscores prints one JSON object a line, in input order:
{"line": n, "prediction": {...}} or, for a row that cannot be predicted, {"line": n, "error": "..."};
the other rows still run. Exit status: 0 when every row was predicted, 1 when any failed, 2 for a
usage error (no such file, a flag missing).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Iterator, Mapping
from typing import TextIO

from aerospec.engine import anchors as anchor_rules
from aerospec.engine.types import FAMILIES, FULL_CONE_INSERTS, QUANTITIES, SPRAY_TYPES

#: Column (= flag without "--", dashes as underscores) -> (kind, help). Kinds: str, num, bool.
COLUMNS: dict[str, tuple[str, str]] = {
    "type": ("str", f"Spray type: {', '.join(SPRAY_TYPES)}."),
    "orifice_mm": ("num", "Exit orifice diameter (mm)."),
    "pressure_bar": ("num", "Pressure drop across the nozzle (bar)."),
    "viscosity_cp": ("num", "Dynamic viscosity (cP = mPa·s)."),
    "density": ("num", "Density (kg/m³)."),
    "surface_tension": ("num", "Surface tension (mN/m)."),
    "swirl_chamber_mm": ("num", "Swirl-chamber diameter (mm), swirl types."),
    "inlet_area_mm2": ("num", "Total swirl inlet-port area (mm²), swirl types."),
    "orifice_length_mm": ("num", "Exit orifice length (mm); default l/d = 2."),
    "flash_point_c": ("num", "Flash point (°C)."),
    "vapour_pressure_kpa": ("num", "Vapour pressure at use temperature (kPa)."),
    "liquefied_propellant": ("bool", "The liquid is (or contains) a liquefied gas."),
    "family": ("str", f"Actuator family: {', '.join(FAMILIES)}."),
    "rated_flow_ml_min": ("num", "Maker's rated flow (ml/min), with --rated-pressure-bar."),
    "rated_pressure_bar": ("num", "Pressure of the maker's rating (bar)."),
    "rated_density_kg_m3": ("num", "Density of the rating fluid (kg/m³); default water."),
    "flow_number_ml_min_sqrtbar": ("num", "Maker's flow number, Q/√ΔP with water (ml/min per √bar)."),
    "flow_exponent": ("num", "n in Q ∝ ΔP^n; default the family's."),
    "angle_table": ("str", 'Maker\'s spray angles, bar:degrees, e.g. "0.7:39,1.5:58,6:69".'),
    "full_cone_insert": ("str", f"Full-cone insert: {', '.join(FULL_CONE_INSERTS)}."),
    "orifice_nominal": ("bool", "The orifice is a catalog's nominal size."),
    "stem_orifice_mm": ("num", "Aerosol valve stem orifice (mm)."),
    "housing_orifice_mm": ("num", "Aerosol valve housing orifice (mm)."),
    "vapour_tap_mm": ("num", "Aerosol valve vapour tap (mm)."),
}
REQUIRED = ("type", "orifice_mm", "pressure_bar", "viscosity_cp", "density", "surface_tension")
_TRUE, _FALSE = ("true", "1", "yes", "y"), ("false", "0", "no", "n", "")


class RowError(ValueError):
    """A row that cannot be predicted; the message says which field and why."""


def _value(name: str, raw: object) -> object:
    """One cell (CSV text, or a JSON value) as the engine wants it; None when empty."""
    kind = COLUMNS[name][0]
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise RowError(f"{name} must be true or false (got {raw!r})")
    if kind == "num":
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise RowError(f"{name} must be a number (got {raw!r})")
        try:
            return float(raw)
        except ValueError:
            raise RowError(f"{name} must be a number (got {raw!r})") from None
    if name == "angle_table" and isinstance(raw, list):
        return tuple(tuple(point) if isinstance(point, list) else point for point in raw)
    if not isinstance(raw, str):
        raise RowError(f"{name} must be text (got {raw!r})")
    return raw.strip()


def predict_row(row: Mapping[str, object]) -> dict:
    """Predict one row ({column: value}); returns the prediction item. Raises RowError."""
    from aerospec.engine import Fluid, Geometry, predict, prediction_item

    unknown = sorted(set(row) - set(COLUMNS))
    if unknown:
        raise RowError(f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
    values = {name: _value(name, row.get(name)) for name in COLUMNS}
    missing = [name for name in REQUIRED if values[name] is None]
    if missing:
        raise RowError(f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} required")
    if values["type"] not in SPRAY_TYPES:
        raise RowError(f"type must be one of {', '.join(SPRAY_TYPES)} (got {values['type']!r})")
    given = {name: values[name] for name in anchor_rules.ANCHOR_FIELDS}
    clean, problems = anchor_rules.check_anchors(given, values["type"])
    if problems:
        raise RowError("; ".join(f"{name}: {message.rstrip('.')}" for name, message in problems.items()))
    try:
        fluid = Fluid(
            viscosity_cp=values["viscosity_cp"],
            density_kg_m3=values["density"],
            surface_tension_mn_m=values["surface_tension"],
            flash_point_c=values["flash_point_c"],
            vapour_pressure_kpa=values["vapour_pressure_kpa"],
            liquefied_propellant=bool(values["liquefied_propellant"]),
        )
        geometry = Geometry(
            spray_type=values["type"],
            orifice_mm=values["orifice_mm"],
            swirl_chamber_mm=values["swirl_chamber_mm"],
            inlet_area_mm2=values["inlet_area_mm2"],
            orifice_length_mm=values["orifice_length_mm"],
            **clean,
        )
        prediction = predict(fluid, geometry, values["pressure_bar"])
    except ValueError as exc:
        raise RowError(str(exc)) from exc
    item = prediction_item(prediction, 0)
    # Engine v2 fields: taken from prediction_item when it gives them, else from the Prediction
    # (None when the engine does not fill them: nothing is made up here).
    if "method" not in item:
        method = prediction.method
        item["method"] = {q: str(method[q][0]) for q in QUANTITIES if q in method} if method else None
    if "confidence_label" not in item:
        label = prediction.confidence_label
        item["confidence_label"] = None if label is None else str(label[0])
    return item


def read_rows(stream: TextIO, name: str = "") -> Iterator[tuple[int, dict | None, str | None]]:
    """(line, row, error) per data row of a CSV (header = line 1) or JSON-lines file, in order."""
    text = stream.read()
    first = text.lstrip()[:1]
    if name.endswith((".jsonl", ".ndjson", ".json")) or (not name.endswith(".csv") and first == "{"):
        for line, raw in enumerate(text.splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except json.JSONDecodeError as exc:
                yield line, None, f"not valid JSON: {exc.msg} at column {exc.colno}"
                continue
            if not isinstance(row, dict):
                yield line, None, "each line must be a JSON object"
                continue
            yield line, row, None
        return
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        yield 1, None, "the file is empty: give a header row, then one row per geometry"
        return
    header = [h.strip() for h in header]
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        yield 1, None, f"unknown column{'s' if len(unknown) > 1 else ''} in the header: {', '.join(unknown)}"
        return
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            yield line, None, f"has {len(cells)} cells for {len(header)} columns"
            continue
        yield line, dict(zip(header, cells, strict=True)), None


def run_file(stream: TextIO, out: TextIO, name: str = "") -> int:
    """Predict every row of a file, one JSON object a line to `out`; 1 when any row failed, else 0."""
    failed = False
    for line, row, error in read_rows(stream, name):
        if error is None:
            try:
                answer = {"line": line, "prediction": predict_row(row)}
            except RowError as exc:
                error = str(exc)
        if error is not None:
            failed = True
            answer = {"line": line, "error": error}
        out.write(json.dumps(answer, ensure_ascii=False) + "\n")
    return 1 if failed else 0


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Spray prediction engine.")
    commands = parser.add_subparsers(dest="command", required=True)
    predict = commands.add_parser(
        "predict", help="Predict flow, cone angle and drop sizes with their bands, as JSON.", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    predict.add_argument("--input", metavar="FILE", help="CSV with a header, or JSON lines; '-' reads stdin.")
    for name, (kind, text) in COLUMNS.items():
        flag = "--" + name.replace("_", "-")
        if kind == "bool":
            predict.add_argument(flag, action="store_true", default=None, help=text)
        else:
            predict.add_argument(flag, dest=name, default=None, help=text)
    return parser


def main(argv: list[str] | None = None, out: TextIO | None = None, prog: str = "python -m aerospec.engine") -> int:
    """Run the command line; returns the exit status (argparse exits with 2 on a usage error)."""
    out = out or sys.stdout
    parser = _parser(prog)
    args = vars(parser.parse_args(argv))
    path = args.pop("input")
    args.pop("command")
    row = {name: value for name, value in args.items() if value is not None}
    if path is not None:
        if row:
            parser.error(f"--input reads every value from the file; leave out --{next(iter(row)).replace('_', '-')}")
        if path == "-":
            return run_file(sys.stdin, out, "")
        try:
            with open(path, encoding="utf-8-sig", newline="") as stream:
                return run_file(stream, out, path)
        except OSError as exc:
            parser.error(f"cannot read {path}: {exc.strerror}")
    missing = [name for name in REQUIRED if name not in row]
    if missing:
        parser.error("give --input FILE, or " + ", ".join("--" + n.replace("_", "-") for n in missing))
    try:
        item = predict_row(row)
    except RowError as exc:
        parser.error(str(exc))
    out.write(json.dumps({"prediction": item}, indent=2, ensure_ascii=False) + "\n")
    return 0
