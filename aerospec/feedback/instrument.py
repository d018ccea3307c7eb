"""Read a droplet-size instrument's export (a laser-diffraction run as CSV) into Dv10/Dv50/Dv90 and SMD in µm.

Pure functions, no Flask and no database, so the lab-result form and a bulk import share them.
Two layouts are read, after any preamble of metadata lines (the header is the first line naming a
column we know):

- **percentiles**: columns for Dv10/Dv50/Dv90 and optionally SMD. Header spellings folded together:
  "Dv10", "Dv(10)", "Dv 10", "D10", "Dx(10)", "x10", "D(v,0.1)", "D[v,0.1]"; SMD as "SMD", "D32",
  "D[3,2]", "D(3,2)", "Sauter mean diameter". A unit in the header ("Dv50 (µm)", "Dv50 [mm]",
  "Dv50 microns") converts; none means µm. Several rows (repeat runs) give their mean. A two-column
  "parameter, value[, unit]" listing ("Dv(50), 61.5, µm") is read the same way.
- **size distribution**: a size column ("Size", "Size (µm)", "Particle size", "Diameter", "Bin") with
  volume % per class ("Volume %", "Volume density", "Vol %") or cumulative volume % undersize
  ("Cumulative %", "Undersize %", "% passing", "Q3"). A listed size is the class's upper edge; the
  cumulative volume is interpolated linearly in ln(size) to find Dv10/Dv50/Dv90 (bins are geometric),
  and SMD = Σv / Σ(v/d) over the classes' geometric-mean diameters when volume % per class is given.

Anything that cannot be read is a row-level error ("row 7: size '1,2e' is not a number"), with the
file's line number; `read_instrument_csv` raises InstrumentFileError with all of them, so a caller
stores nothing of a file that is partly unreadable.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from aerospec.catalog.units import parse_number

PERCENTILES = ("dv10_um", "dv50_um", "dv90_um")
SIZES = (*PERCENTILES, "smd_um")
LABELS = {"dv10_um": "Dv10", "dv50_um": "Dv50", "dv90_um": "Dv90", "smd_um": "SMD"}
MAX_ROWS = 20_000
MAX_COLUMNS = 500
MAX_ERRORS = 50  # a file wrong on every line says so once per line up to here, then how many more
_TO_UM = {"um": 1.0, "micron": 1.0, "microns": 1.0, "mm": 1000.0}
_UNIT_IN_HEADER = re.compile(r"(µm|μm|\bum\b|microns?|\bmm\b)", re.IGNORECASE)
_PERCENTILE_KEY = re.compile(r"^(?:dv|dx|d|x)(10|50|90|0\.1|0\.5|0\.9|v0\.1|v0\.5|v0\.9)$")
_FRACTION = {"10": "dv10_um", "50": "dv50_um", "90": "dv90_um", "0.1": "dv10_um", "0.5": "dv50_um", "0.9": "dv90_um"}
_SMD_KEYS = {"smd", "d32", "sauter", "sautermeandiameter", "sauterdiameter", "sautermean", "smdd32"}
_SIZE_KEYS = {"size", "particlesize", "diameter", "dropsize", "dropletsize", "bin", "sizebin", "sizeclass", "class"}
_SIZE_KEYS |= {"uppersize", "sizeupper", "upperedge", "particlediameter", "dropletdiameter", "x"}
_CUMULATIVE_WORDS = ("cum", "undersize", "passing", "below", "finer", "lessthan")
_DENSITY_WORDS = ("vol", "frequency", "inclass", "percent")


class InstrumentFileError(ValueError):
    """The file could not be read as an instrument export; `errors` says where ("row 7: ...")."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(self.errors))


@dataclass(frozen=True)
class Column:
    """What one header cell names: a percentile or SMD, the size, or a volume fraction (density/cumulative)."""

    kind: str  # one of SIZES, "size", "density", "cumulative"
    to_um: float = 1.0  # a size column's factor to µm
    label: str = ""  # the header as written, for messages


@dataclass
class InstrumentReading:
    """The droplet sizes read from an export, in µm (None where the file has none), and how they were read."""

    dv10_um: float | None = None
    dv50_um: float | None = None
    dv90_um: float | None = None
    smd_um: float | None = None
    layout: str = "percentiles"  # or "distribution"
    rows: int = 0  # data rows read (runs averaged, or size classes)
    method: str | None = None  # the sizing method the file names (METHOD_WORDS), None when it names none
    method_evidence: str | None = None  # the words in the file that named it

    def values(self) -> dict[str, float]:
        """The sizes found, by field name (dv10_um, ...), for a lab result."""
        return {name: getattr(self, name) for name in SIZES if getattr(self, name) is not None}

    def summary(self) -> str:
        """One sentence for the person who imported it."""
        found = ", ".join(f"{LABELS[k]} {v:.4g} µm" for k, v in self.values().items())
        if self.layout == "distribution":
            return f"{found} (interpolated from a size distribution of {self.rows} classes)"
        return f"{found} (the mean of {self.rows} runs)" if self.rows > 1 else found


# ---- the sizing method a file names

#: Words an export's metadata uses for its method or instrument -> the lab result's measurement_method.
METHOD_WORDS = (
    ("laser_diffraction", ("laser diffraction", "laser-diffraction", "spraytec", "mastersizer", "helos", "sympatec",
                           "insitec", "malvern")),
    ("pdpa", ("phase doppler", "phase-doppler", "pdpa", "pdpa/pdi", "pdi ", "artium")),
    ("imaging", ("shadowgraph", "shadow imaging", "particle imaging", "visisizer", "droplet imaging", "imaging")),
)  # fmt: skip
_METHOD_SCAN_LINES = 60


def detect_method(text: str) -> tuple[str | None, str | None]:
    """(method, the words that named it) from an export's first lines, or (None, None) when they name none or
    name two methods (a person must say which)."""
    head = "\n".join(text.splitlines()[:_METHOD_SCAN_LINES]).lower() + " "
    found = {}
    for method, words in METHOD_WORDS:
        for word in words:
            if word in head:
                found.setdefault(method, word.strip())
                break
    if len(found) != 1:
        return None, None
    [(method, word)] = found.items()
    return method, word


# ---- text and cells


def decode(data: bytes) -> str:
    """The file's text: UTF-8 (with or without BOM), UTF-16 with a BOM, else Windows-1252 (instrument PCs).

    Raises InstrumentFileError for what is not text (a NUL byte outside UTF-16: a spreadsheet, a PDF)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InstrumentFileError(["the file says it is UTF-16 text but is not"]) from exc
    if b"\x00" in data:
        raise InstrumentFileError(["this is not a text (CSV) file; export the run as CSV from the instrument software"])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _dialect(text: str) -> str:
    """The delimiter: tab, semicolon (with decimal commas) or comma, whichever the first lines use most."""
    sample = "\n".join(text.splitlines()[:40])
    counts = {d: sample.count(d) for d in ("\t", ";", ",")}
    if counts["\t"]:
        return "\t"
    return ";" if counts[";"] >= max(1, counts[","] // 2) and counts[";"] else ","


def number(text: str) -> float:
    """A cell as a number (decimal comma and exponent allowed); ValueError when it is not one."""
    return parse_number(text.strip().replace("\u00b5", ""))


def _unit_factor(header: str) -> tuple[float, str]:
    """The header's unit factor to µm (1.0 when it names none), and the header with the unit taken out."""
    match = _UNIT_IN_HEADER.search(header)
    if not match:
        return 1.0, header
    unit = match.group(1).lower().replace("µ", "u").replace("μ", "u")
    return _TO_UM.get(unit, 1.0), header[: match.start()] + header[match.end() :]


def header_key(header: str) -> str:
    """A header folded to letters, digits and dots with its unit taken out: 'Dv(10) [µm]' → 'dv10'."""
    _, rest = _unit_factor(header)
    key = re.sub(r"[^a-z0-9.]", "", rest.lower())
    return key.strip(".")


def classify(header: str) -> Column | None:
    """What a header cell names (None: a column we do not read, such as the sample name or the date)."""
    raw = (header or "").strip()
    if not raw:
        return None
    factor, _ = _unit_factor(raw)
    key = header_key(raw)
    match = _PERCENTILE_KEY.match(key)
    if match:
        return Column(_FRACTION[match.group(1).removeprefix("v")], factor, raw)
    if key in _SMD_KEYS or key.startswith("sauter"):
        return Column("smd_um", factor, raw)
    sized = key in _SIZE_KEYS or key.startswith(("size", "particlesize", "diameter", "dropsize", "dropletsize"))
    if sized and not any(word in key for word in (*_CUMULATIVE_WORDS, "vol")):
        return Column("size", factor, raw)
    if raw.startswith("Q3") or any(word in key for word in _CUMULATIVE_WORDS):
        return Column("cumulative", 1.0, raw)
    if raw.startswith("q3") or any(word in key for word in _DENSITY_WORDS) or (key == "" and "%" in raw):
        return Column("density", 1.0, raw)
    return None


# ---- reading the file


def _rows(text: str) -> list[tuple[int, list[str]]]:
    """(line number, cells) of every non-blank line, the line numbers as a text editor counts them."""
    reader = csv.reader(io.StringIO(text), delimiter=_dialect(text))
    out = []
    try:
        for cells in reader:
            if len(out) > MAX_ROWS:
                raise InstrumentFileError([f"the file has more than {MAX_ROWS:,} lines; export one run at a time"])
            if any(cell.strip() for cell in cells):
                out.append((reader.line_num, [cell.strip() for cell in cells[:MAX_COLUMNS]]))
    except csv.Error as exc:
        raise InstrumentFileError([f"row {reader.line_num}: {exc}"]) from exc
    return out


def _columns(cells: list[str]) -> dict[int, Column]:
    return {i: column for i, cell in enumerate(cells) if (column := classify(cell)) is not None}


def _is_percentile_table(columns: dict[int, Column]) -> bool:
    return any(c.kind in SIZES for c in columns.values())


def _is_distribution(columns: dict[int, Column]) -> bool:
    kinds = {c.kind for c in columns.values()}
    return "size" in kinds and bool(kinds & {"density", "cumulative"})


def read_instrument_csv(data: bytes | str) -> InstrumentReading:
    """Dv10/Dv50/Dv90 (and SMD) in µm from an instrument export; InstrumentFileError with row errors otherwise."""
    text = decode(data) if isinstance(data, bytes) else data
    reading = _read(text)
    reading.method, reading.method_evidence = detect_method(text)
    return reading


def _read(text: str) -> InstrumentReading:
    rows = _rows(text)
    if not rows:
        raise InstrumentFileError(["the file is empty"])
    listing = _read_listing(rows)
    if listing is not None:
        return listing
    for position, (_, cells) in enumerate(rows):
        columns = _columns(cells)
        if _is_percentile_table(columns):
            return _read_percentiles(columns, rows[position + 1 :])
        if _is_distribution(columns):
            return _read_distribution(columns, rows[position + 1 :])
    raise InstrumentFileError(
        [
            "no column for Dv10, Dv50, Dv90 or SMD, and no size distribution (a size column with volume % or "
            "cumulative %) was found; name the columns like 'Dv10 (µm)' or 'Size (µm), Volume %'"
        ]
    )


def _bounded(errors: list[str]) -> list[str]:
    if len(errors) <= MAX_ERRORS:
        return errors
    return [*errors[:MAX_ERRORS], f"and {len(errors) - MAX_ERRORS} more rows that cannot be read"]


def _size(line: int, kind: str, cell: str, to_um: float, errors: list[str]) -> float | None:
    """A droplet-size cell in µm, or None with its row error added to `errors`."""
    try:
        value = number(cell) * to_um
    except ValueError:
        errors.append(f"row {line}: {LABELS[kind]} '{cell}' is not a number")
        return None
    if value <= 0:
        errors.append(f"row {line}: {LABELS[kind]} must be above 0 µm (got {value:g})")
        return None
    return value


def _read_listing(rows: list[tuple[int, list[str]]]) -> InstrumentReading | None:
    """A 'parameter, value[, unit]' listing (every line's first cell names a size), else None."""
    found: dict[str, tuple[int, list[str]]] = {}
    for line, cells in rows:
        column = classify(cells[0]) if cells else None
        if column is None or column.kind not in SIZES:
            continue
        if len(cells) < 2 or _columns(cells[1:]):
            return None  # a header row of a table, not a listing
        found.setdefault(column.kind, (line, cells))
    if not found:
        return None
    errors, reading = [], InstrumentReading(layout="percentiles", rows=1)
    for kind, (line, cells) in found.items():
        factor, _ = _unit_factor(cells[0])
        if len(cells) > 2 and cells[2]:
            unit_factor, rest = _unit_factor(cells[2])
            if rest.strip():
                errors.append(f"row {line}: unit '{cells[2]}' is not µm or mm")
                continue
            factor = unit_factor
        value = _size(line, kind, cells[1], factor, errors)
        if value is not None:
            setattr(reading, kind, value)
    _finish(reading, errors)
    return reading


def _read_percentiles(columns: dict[int, Column], rows: list[tuple[int, list[str]]]) -> InstrumentReading:
    """The mean of each percentile column over the data rows (repeat runs), every cell a positive number."""
    size_columns = {i: c for i, c in columns.items() if c.kind in SIZES}
    values: dict[str, list[float]] = {c.kind: [] for c in size_columns.values()}
    blanks: dict[str, list[int]] = {c.kind: [] for c in size_columns.values()}
    errors: list[str] = []
    runs = 0
    for line, cells in rows:
        runs += 1
        for i, column in size_columns.items():
            cell = cells[i] if i < len(cells) else ""
            if not cell:
                blanks[column.kind].append(line)
                continue
            value = _size(line, column.kind, cell, column.to_um, errors)
            if value is not None:
                values[column.kind].append(value)
    if runs == 0:
        raise InstrumentFileError(["the file has a header but no data rows"])
    reading = InstrumentReading(layout="percentiles", rows=runs)
    for kind, got in values.items():
        if got and blanks[kind]:
            errors.extend(f"row {line}: {LABELS[kind]} is empty" for line in blanks[kind])
        if got:
            setattr(reading, kind, math.fsum(got) / len(got))
    errors.sort(key=lambda e: int(re.match(r"row (\d+)", e).group(1)) if e.startswith("row ") else 0)
    _finish(reading, errors)
    return reading


def _finish(reading: InstrumentReading, errors: list[str]) -> None:
    """Raise the row errors; else check what was read holds together (percentiles in order)."""
    if errors:
        raise InstrumentFileError(_bounded(errors))
    given = [(k, getattr(reading, k)) for k in PERCENTILES if getattr(reading, k) is not None]
    for (k1, v1), (k2, v2) in zip(given, given[1:], strict=False):
        if v1 > v2:
            raise InstrumentFileError(
                [f"{LABELS[k1]} ({v1:.4g} µm) is above {LABELS[k2]} ({v2:.4g} µm): percentiles of one run cannot cross"]
            )
    if not reading.values():
        raise InstrumentFileError(["the file has no droplet size in it"])


def _read_distribution(columns: dict[int, Column], rows: list[tuple[int, list[str]]]) -> InstrumentReading:
    """Dv10/50/90 (and SMD) from a size-distribution table; every row's size and volume a number."""
    size_i = next(i for i, c in columns.items() if c.kind == "size")
    # Cumulative wins when both are given: it is what the percentiles are read from.
    vol_i = next((i for i, c in columns.items() if c.kind == "cumulative"), None)
    kind = "cumulative"
    if vol_i is None:
        vol_i, kind = next(i for i, c in columns.items() if c.kind == "density"), "density"
    to_um = columns[size_i].to_um
    sizes: list[float] = []
    volumes: list[float] = []
    errors: list[str] = []
    for line, cells in rows:
        size_cell = cells[size_i] if size_i < len(cells) else ""
        vol_cell = cells[vol_i] if vol_i < len(cells) else ""
        row_errors = []
        try:
            size = number(size_cell) * to_um
            if size <= 0:
                row_errors.append(f"row {line}: size must be above 0 µm (got {size:g})")
        except ValueError:
            row_errors.append(f"row {line}: size '{size_cell}' is not a number")
        try:
            volume = number(vol_cell.rstrip("%"))
            if volume < 0:
                row_errors.append(f"row {line}: volume '{vol_cell}' is below 0 %")
        except ValueError:
            row_errors.append(f"row {line}: volume '{vol_cell}' is not a number")
        if row_errors:
            errors.extend(row_errors)
            continue
        sizes.append(size)
        volumes.append(volume)
    if errors:
        raise InstrumentFileError(_bounded(errors))
    if len(sizes) < 2:
        raise InstrumentFileError(["a size distribution needs at least two size classes"])
    try:
        result = percentiles_from_distribution(sizes, volumes, cumulative=kind == "cumulative")
    except ValueError as exc:
        raise InstrumentFileError([str(exc)]) from exc
    reading = InstrumentReading(layout="distribution", rows=len(sizes), **result)
    _finish(reading, [])
    return reading


def percentiles_from_distribution(
    sizes_um: Sequence[float], volumes: Sequence[float], *, cumulative: bool = False
) -> dict[str, float | None]:
    """Dv10, Dv50, Dv90 (and SMD from volume % per class) of a size distribution, in µm.

    `sizes_um` are the classes' upper edges; `volumes` the volume % in each class (or, with
    cumulative=True, the cumulative volume % undersize at each size). Fractions (summing to 1) and
    percentages both work: the distribution is normalised to its total. The cumulative curve is
    interpolated linearly in ln(size). ValueError (with words for a person) when it cannot be read.
    """
    pairs = sorted(zip(sizes_um, volumes, strict=True))
    sizes = [float(s) for s, _ in pairs]
    vols = [float(v) for _, v in pairs]
    if any(s <= 0 or not math.isfinite(s) for s in sizes):
        raise ValueError("sizes must be positive numbers")
    if any(not math.isfinite(v) or v < 0 for v in vols):
        raise ValueError("volumes must be numbers of 0 % or more")
    for a, b in zip(sizes, sizes[1:], strict=False):
        if a == b:
            raise ValueError(f"size {a:g} µm is listed twice")
    if cumulative:
        for a, b in zip(vols, vols[1:], strict=False):
            if b < a - 1e-9:
                raise ValueError(
                    "the cumulative volume falls as size rises: is it oversize? export cumulative undersize"
                )
        top = vols[-1]
        if top <= 0:
            raise ValueError("the cumulative volume never rises above 0 %")
        if not (abs(top - 100.0) <= 2.0 or abs(top - 1.0) <= 0.02):
            raise ValueError(f"the cumulative volume ends at {top:g}, not 100 % (or 1)")
        cum = [100.0 * v / top for v in vols]
        density = [cum[0]] + [b - a for a, b in zip(cum, cum[1:], strict=False)]
    else:
        total = math.fsum(vols)
        if total <= 0:
            raise ValueError("every class has 0 % volume")
        if not (90.0 <= total <= 110.0 or 0.9 <= total <= 1.1):
            raise ValueError(f"the volume percentages add up to {total:g}, not 100 % (or 1)")
        density = [100.0 * v / total for v in vols]
        cum, running = [], 0.0
        for d in density:
            running += d
            cum.append(running)
        cum[-1] = 100.0
    out: dict[str, float | None] = {}
    for name, target in (("dv10_um", 10.0), ("dv50_um", 50.0), ("dv90_um", 90.0)):
        out[name] = _interpolate(sizes, cum, target, name)
    out["smd_um"] = None if cumulative else _sauter(sizes, density)
    return out


def _interpolate(sizes: list[float], cum: list[float], target: float, name: str) -> float:
    """The size at which the cumulative volume reaches `target` %, linear in ln(size) between classes."""
    if cum[0] >= target:
        if cum[0] == target:
            return sizes[0]
        raise ValueError(
            f"{LABELS[name]} lies inside the first size class (already {cum[0]:.3g} % at {sizes[0]:g} µm): "
            "export a distribution that starts at smaller sizes"
        )
    for i in range(1, len(sizes)):
        if cum[i] >= target:
            c0, c1 = cum[i - 1], cum[i]
            t = (target - c0) / (c1 - c0)
            return math.exp(math.log(sizes[i - 1]) + t * (math.log(sizes[i]) - math.log(sizes[i - 1])))
    return sizes[-1]  # unreachable: the curve is normalised to end at 100 %


def _sauter(sizes: list[float], density: list[float]) -> float | None:
    """D[3,2] = Σv / Σ(v/d), d the class's geometric-mean diameter (its upper edge for the first class)."""
    weighted = 0.0
    for i, v in enumerate(density):
        if v <= 0:
            continue
        d = sizes[0] if i == 0 else math.sqrt(sizes[i - 1] * sizes[i])
        weighted += v / d
    return math.fsum(density) / weighted if weighted > 0 else None
