"""Read section 9 (physical and chemical properties) of a safety data sheet PDF.

Pure: bytes in, `SdsExtraction` out; no Flask, no database. pdfplumber extracts the
text and the ruled tables; each property found keeps the line it came from, the value
converted to the units of the TenantFluid columns, and a note on what was done to it
(decimal comma, range midpoint, qualifier, kinematic → dynamic viscosity).

Conventions, as documented on the review page:
- relative density (specific gravity) × 997 kg/m³ (water at 25 °C) → density;
- kinematic viscosity (cSt = mm²/s) × density (g/cm³) → dynamic viscosity (cP = mPa·s);
- a range "a - b" gives its midpoint; "approx.", "<", ">" are kept in the note;
- a comma is a decimal separator ("0,998"), unless the number also has a point
  ("1,013.25"), in which case the comma groups thousands.
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from dataclasses import asdict, dataclass, field

from aerospec.catalog import units
from aerospec.catalog.units import WATER_DENSITY_KG_M3  # water at 25 °C

log = logging.getLogger(__name__)

MAX_PAGES = 50  # SDSs run 8-20 pages; a longer file is refused before any page is read

# The TenantFluid column each property fills and the unit its value is in.
PROPERTY_UNITS = {
    "density_kg_m3": "kg/m³",
    "viscosity_cp": "cP",
    "surface_tension_mn_m": "mN/m",
    "flash_point_c": "°C",
    "vapour_pressure_kpa": "kPa",
    "boiling_point_c": "°C",
}
PROPERTY_LABELS = {
    "density_kg_m3": "Density",
    "viscosity_cp": "Viscosity (dynamic)",
    "surface_tension_mn_m": "Surface tension",
    "flash_point_c": "Flash point",
    "vapour_pressure_kpa": "Vapour pressure",
    "boiling_point_c": "Boiling point",
}


class SdsParseError(Exception):
    """The file cannot be read as a safety data sheet; `message` tells the user what to do."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class ExtractedItem:
    """One property read from the sheet."""

    property: str  # a TenantFluid column: density_kg_m3, viscosity_cp, ...
    value: float | None  # converted to PROPERTY_UNITS[property]; None when it needs the user
    unit: str
    raw: str  # the line of the sheet it came from
    note: str = ""
    original: str = ""  # the value as written, e.g. "0,95 - 0,98 g/cm3"
    kinematic_mm2_s: float | None = None  # kept so the review can convert with a corrected density
    temperature_c: float | None = None  # the temperature the sheet gives the value at ("at 40 °C")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SdsExtraction:
    product_name: str | None
    items: list[ExtractedItem] = field(default_factory=list)
    pages: int = 0

    def by_property(self) -> dict[str, ExtractedItem]:
        return {item.property: item for item in self.items}


# ---- numbers and units

_NUM = r"[-−]?\d+(?:[.,]\d+)*"
_QUALIFIER = r"(?:approx\.?|approximately|ca\.?|circa|about|~|≈|<=|>=|≤|≥|<|>)"
_VALUE_RE = re.compile(
    rf"(?P<qual>{_QUALIFIER})?\s*(?P<a>{_NUM})"
    rf"(?:\s*(?:-|–|—|to|bis|à|\.\.\.?)\s*(?P<qual2>{_QUALIFIER})?\s*(?P<b>{_NUM}))?",
    re.IGNORECASE,
)
_NO_DATA_RE = re.compile(
    r"^\s*(?:no\s+data|not\s+(?:available|determined|known|established|relevant|tested)|"
    r"n\.?\s*/?\s*d\.?\b|n\.?\s*/\s*a\.?\b|none|unknown|—|-+$)",
    re.IGNORECASE,
)
_NOT_APPLICABLE_RE = re.compile(
    r"^\s*(?:not\s+applicable|n\.?\s*/\s*a\.?\b|does\s+not\s+flash|non[- ]?flammable)", re.I
)
_CONDITION_RE = re.compile(
    rf"(?:\bat\b|@|\()\s*(?P<t>{_NUM})\s*(?P<u>°\s*[CF]|℃|℉|deg\.?\s*[CF]\b|[CF]\b)", re.IGNORECASE
)


def parse_number(text: str) -> float:
    """'0,998' → 0.998; '1,013.25' → 1013.25; '−5' → -5 (units.parse_number's rules)."""
    return units.parse_number(text.strip())


def _fmt(x: float) -> str:
    return f"{x:.4g}"


@dataclass
class _Reading:
    value: float
    unit_text: str  # what followed the number
    rest: str  # the text after the unit (conditions, method)
    original: str
    notes: list[str]


def _read_value(text: str) -> _Reading | None:
    """The first number (or range) in `text`, with its qualifier and the text after it."""
    match = _VALUE_RE.search(text)
    if match is None:
        return None
    notes: list[str] = []
    a = parse_number(match["a"])
    value = a
    if match["b"]:
        b = parse_number(match["b"])
        # "-21 - 10" is a range; "5-10" too; but "2-3" after a word like "pH 2-3" is also a range.
        value = (a + b) / 2
        notes.append(f"range {_fmt(a)}–{_fmt(b)}, midpoint used")
    qualifier = (match["qual"] or "").lower()
    if qualifier in {"<", "≤", "<="}:
        notes.append(f"the sheet gives an upper bound ({match['qual']} {match['a']})")
    elif qualifier in {">", "≥", ">="}:
        notes.append(f"the sheet gives a lower bound ({match['qual']} {match['a']})")
    elif qualifier:
        notes.append("approximate on the sheet")
    if "," in match["a"] and "." not in match["a"] and match["a"].count(",") == 1:
        notes.append("decimal comma read")
    rest = text[match.end() :]
    unit_match = re.match(r"\s*([^\s(),;]+(?:\s?[·.]?\s?s\b)?)", rest)
    unit_text = unit_match.group(1) if unit_match else ""
    after = rest[unit_match.end() :] if unit_match else rest
    if unit_text.lower() in {"at", "@", "bei", "à"}:  # no unit, a condition follows
        unit_text, after = "", rest
    original = (match.group(0) + " " + unit_text).strip()
    return _Reading(value, unit_text, after, original, notes)


def _condition(text: str) -> str:
    """'at 20 °C' → 'at 20 °C' (temperatures given as °F are converted)."""
    measured = _condition_c(text)
    if measured is None:
        return ""
    celsius, fahrenheit = measured
    return f"at {_fmt(celsius)} °C" + (f" ({_fmt(fahrenheit)} °F)" if fahrenheit is not None else "")


def _condition_c(text: str) -> tuple[float, float | None] | None:
    """The temperature of a condition ('at 40 °C', '@ 104 °F') in °C, and the °F it was given in."""
    match = _CONDITION_RE.search(text)
    if not match:
        return None
    t = parse_number(match["t"])
    unit = match["u"].upper().replace(" ", "")
    if "F" in unit or "℉" in unit:
        return (t - 32) * 5 / 9, t
    return t, None


def measured_at(text: str) -> float | None:
    """The temperature in °C a value is given at ('… at 40 °C', '… @ 104 °F'), or None."""
    measured = _condition_c(text)
    return None if measured is None else float(f"{measured[0]:.6g}")


def _norm_unit(unit: str) -> str:
    return units.normalise_unit(unit.replace("℃", "°C").replace("℉", "°F")).rstrip(",;:")


def _convert(converter, value: float, unit: str) -> float | None:
    """A units.py conversion, or None when the unit is not one of that quantity's."""
    try:
        return converter(value, unit.replace("℃", "°C").replace("℉", "°F"))
    except ValueError:
        return None


_CONDITION_WORDS = {"at", "@", "bei", "à", "and", "to", "(closed", "(open"}


def _spelled_over_tokens(reading: _Reading, accepts) -> _Reading:
    """The reading with its unit widened over the next words when only they make one
    ('deg C', 'mm Hg', 'N·s / m²', 'kg/(m·s)'): the first unit text `accepts(unit)` takes."""
    if accepts(reading.unit_text):
        return reading
    words = reading.rest.split()
    unit = reading.unit_text
    for taken, word in enumerate(words[:2], start=1):
        if word.lower() in _CONDITION_WORDS or (word.startswith("(") and not unit.endswith("/")):
            break
        unit = f"{unit} {word}"
        if accepts(unit):
            rest = reading.rest.split(None, taken)
            return _Reading(
                reading.value,
                unit,
                " " + (rest[taken] if len(rest) > taken else ""),
                f"{reading.original} {' '.join(words[:taken])}",
                reading.notes,
            )
    return reading


def _converts(converter):
    return lambda unit: _convert(converter, 1.0, unit) is not None


def _temperature_c(reading: _Reading) -> tuple[float, str] | None:
    value = _convert(units.to_celsius, reading.value, reading.unit_text)
    if value is None:
        return None
    u = _norm_unit(reading.unit_text)
    return value, ("°F" if "f" in u else "K" if "k" in u else "°C")


# ---- one property at a time


def _density(label_kind: str, reading: _Reading, raw: str) -> ExtractedItem | None:
    reading = _spelled_over_tokens(reading, _converts(units.to_kg_m3))
    u = _norm_unit(reading.unit_text)
    notes = list(reading.notes)
    if label_kind == "relative" or u in units.RELATIVE or u.startswith("(") or u == "(water":
        if not 0.3 <= reading.value <= 3.5:
            return None
        value = reading.value * WATER_DENSITY_KG_M3
        why = "relative density" if label_kind == "relative" else "no unit given, read as relative density"
        notes.append(f"{why} {_fmt(reading.value)} × {_fmt(WATER_DENSITY_KG_M3)} kg/m³ (water at 25 °C)")
    else:
        value = _convert(units.to_kg_m3, reading.value, reading.unit_text)
        if value is None:
            return None
        if u not in {"kg/m3", "g/l"}:
            notes.append(f"{_fmt(reading.value)} {reading.unit_text} → {_fmt(value)} kg/m³")
    condition = _condition(reading.rest)
    if condition:
        notes.append(condition)
    item = ExtractedItem("density_kg_m3", value, "kg/m³", raw, "; ".join(notes), reading.original)
    item.temperature_c = measured_at(reading.rest)
    return item


def _viscosity(label_kind: str, reading: _Reading, raw: str) -> ExtractedItem | None:
    reading = _spelled_over_tokens(
        reading, lambda unit: _norm_unit(unit) in units.KINEMATIC or _converts(units.to_cp)(unit)
    )
    u = _norm_unit(reading.unit_text)
    rest = reading.rest
    unit_text = reading.unit_text
    notes = list(reading.notes)
    condition = _condition(rest)
    if u in units.KINEMATIC:
        kinematic = reading.value * units.KINEMATIC[u]
        if condition:
            notes.append(condition)
        item = ExtractedItem("viscosity_cp", None, "cP", raw, "; ".join(notes), reading.original)
        item.kinematic_mm2_s = kinematic
        item.temperature_c = measured_at(rest)
        return item
    value = _convert(units.to_cp, reading.value, unit_text)
    if value is None:
        return None
    if u not in {"cp", "mpas", "cps"}:
        notes.append(f"{_fmt(reading.value)} {unit_text} → {_fmt(value)} cP")
    if condition:
        notes.append(condition)
    item = ExtractedItem("viscosity_cp", value, "cP", raw, "; ".join(notes), reading.original)
    item.temperature_c = measured_at(rest)
    return item


def _temperature_item(prop: str, reading: _Reading, raw: str) -> ExtractedItem | None:
    reading = _spelled_over_tokens(reading, _converts(units.to_celsius))
    converted = _temperature_c(reading)
    if converted is None:
        return None
    value, unit_in = converted
    notes = list(reading.notes)
    if unit_in != "°C":
        notes.append(f"{_fmt(reading.value)} {unit_in} → {_fmt(value)} °C")
    method = _method_note(reading.rest + " " + raw)
    if method:
        notes.append(method)
    pressure = re.search(r"(?:at|@)\s*(" + _NUM + r")\s*(hPa|kPa|mbar|bar|mmHg|atm)", reading.rest, re.I)
    if pressure:
        notes.append(f"at {pressure.group(1)} {pressure.group(2)}")
    return ExtractedItem(prop, value, "°C", raw, "; ".join(notes), reading.original)


def _method_note(text: str) -> str:
    t = text.lower()
    kinds = []
    if "closed cup" in t or re.search(r"\bc\.?\s?c\.?\b", t):
        kinds.append("closed cup")
    elif "open cup" in t or re.search(r"\bo\.?\s?c\.?\b", t):
        kinds.append("open cup")
    for method in (
        "Pensky-Martens",
        "Tag",
        "Abel",
        "Cleveland",
        "Setaflash",
        "ISO 2719",
        "ASTM D93",
        "ASTM D56",
    ):
        if method.lower() in t:
            kinds.append(method)
            break
    return ", ".join(kinds)


def _pressure(reading: _Reading, raw: str) -> ExtractedItem | None:
    reading = _spelled_over_tokens(reading, _converts(units.to_kpa))
    u = _norm_unit(reading.unit_text)
    value = _convert(units.to_kpa_absolute, reading.value, reading.unit_text)
    if value is None:
        return None
    notes = list(reading.notes)
    if units.is_gauge(reading.unit_text):
        notes.append(
            f"{_fmt(reading.value)} {reading.unit_text} is a gauge pressure: + {_fmt(units.ATMOSPHERE_KPA)} kPa "
            f"(1 atm) → {_fmt(value)} kPa absolute"
        )
    elif u != "kpa":
        notes.append(f"{_fmt(reading.value)} {reading.unit_text} → {_fmt(value)} kPa")
    condition = _condition(reading.rest)
    notes.append(condition or "temperature not stated")
    return ExtractedItem("vapour_pressure_kpa", value, "kPa", raw, "; ".join(notes), reading.original)


def _tension(reading: _Reading, raw: str) -> ExtractedItem | None:
    reading = _spelled_over_tokens(reading, _converts(units.to_mn_m))
    u = _norm_unit(reading.unit_text)
    value = _convert(units.to_mn_m, reading.value, reading.unit_text)
    if value is None:
        return None
    notes = list(reading.notes)
    if u != "mn/m":
        notes.append(f"{_fmt(reading.value)} {reading.unit_text} → {_fmt(value)} mN/m")
    condition = _condition(reading.rest)
    if condition:
        notes.append(condition)
    return ExtractedItem("surface_tension_mn_m", value, "mN/m", raw, "; ".join(notes), reading.original)


# Labels, most specific first; (property, kind, pattern). Vapour density and bulk
# density are different quantities and must not be read as the liquid's density.
_LABELS: list[tuple[str, str, re.Pattern]] = [
    (prop, kind, re.compile(pattern, re.IGNORECASE))
    for prop, kind, pattern in (
        (
            "skip",
            "",
            r"vapou?r\s+density|bulk\s+density|relative\s+vapou?r\s+density|density\s+of\s+(?:the\s+)?vapou?r",
        ),
        ("skip", "", r"auto[- ]?ignition|decomposition|melting|freezing|pour\s+point|evaporation\s+rate"),
        ("density_kg_m3", "relative", r"relative\s+density|specific\s+gravity|sp\.?\s*gr\.?\b|s\.g\.(?=\s)"),
        ("density_kg_m3", "absolute", r"density"),
        ("viscosity_cp", "kinematic", r"kinematic\s+viscosity|viscosity\s*[,(]?\s*kinematic"),
        ("viscosity_cp", "dynamic", r"dynamic\s+viscosity|viscosity\s*[,(]?\s*dynamic|viscosity"),
        ("flash_point_c", "", r"flash\s*-?\s*point"),
        ("vapour_pressure_kpa", "", r"vapou?r\s+pressure"),
        ("boiling_point_c", "", r"(?:initial\s+)?boiling\s+(?:point|range)"),
        ("surface_tension_mn_m", "", r"surface\s+tension"),
    )
]
_BULLET_RE = re.compile(r"^\s*(?:[-•*·–]\s*|\(?[a-z]\)\s+|\d+(?:\.\d+)+\.?(?:[a-z]\)?\.?)?\s+)", re.I)


def _classify(label: str) -> tuple[str, str] | None:
    for prop, kind, pattern in _LABELS:
        if pattern.search(label):
            return prop, kind
    return None


def _item_from(label: str, value_text: str, raw: str) -> ExtractedItem | None:
    """Read one labelled value; None when the label is not a property we want or has no value."""
    kind = _classify(label)
    if kind is None or kind[0] == "skip":
        return None
    prop, label_kind = kind
    value_text = value_text.strip()
    if prop == "flash_point_c" and _NOT_APPLICABLE_RE.match(value_text):
        return ExtractedItem(
            prop,
            None,
            "°C",
            raw,
            "the sheet says not applicable (usually a non-flammable liquid); left empty",
            value_text,
        )
    if not value_text or _NO_DATA_RE.match(value_text):
        return None
    reading = _read_value(value_text)
    if reading is None:
        return None
    if prop == "density_kg_m3":
        return _density(label_kind, reading, raw)
    if prop == "viscosity_cp":
        return _viscosity(label_kind, reading, raw)
    if prop in {"flash_point_c", "boiling_point_c"}:
        return _temperature_item(prop, reading, raw)
    if prop == "vapour_pressure_kpa":
        return _pressure(reading, raw)
    return _tension(reading, raw)


def _split_line(line: str) -> tuple[str, str] | None:
    """'Density : 0,998 g/cm3' or 'Density 0,998 g/cm3' → (label, value)."""
    text = _BULLET_RE.sub("", line, count=1).strip()
    if ":" in text:
        label, _, value = text.partition(":")
        if _classify(label) is not None and len(label) <= 80:
            return label.strip(), value
    # two-column layouts come out as "Label value": the label is the text before the first number
    # or value word ("not applicable", "no data").
    match = re.search(rf"{_QUALIFIER}?\s*{_NUM}|\bnot\s+applicable\b|\bno\s+data\b", text, re.I)
    if match and match.start() > 0:
        label = text[: match.start()]
        if _classify(label) is not None and len(label) <= 80:
            return label.rstrip(" .:-–"), text[match.start() :]
    return None


# ---- sections


_SECTION_9_RE = re.compile(
    r"^\s*(?:(?:section|sect\.?|abschnitt|rubrique)\s*9(?![.,]\d)\b|9(?![.,]\d)\s*[.:)\-–—]?\s*physical)",
    re.I,
)
_NEXT_SECTION_RE = re.compile(
    r"^\s*(?:(?:section|sect\.?|abschnitt|rubrique)\s*1[0-6](?![.,]\d)\b|1[0-6](?![.,]\d)\s*[.:)\-–—]?\s*"
    r"(?:stability|toxicolog|ecolog|disposal|transport|regulatory|other\s+information))",
    re.I,
)
_SECTION_2_RE = re.compile(r"^\s*(?:(?:section|sect\.?)\s*2(?![.,]\d)\b|2(?![.,]\d)\s*[.:)\-–—]?\s*hazard)", re.I)
_PRODUCT_RE = re.compile(
    r"^\s*(?:1\.1\.?\s*)?(?:product\s+name|trade\s+name|product\s+identifier|name\s+of\s+(?:the\s+)?product|"
    r"commercial\s+name|product\s+designation|product)\s*[:\-–]?\s*(?P<name>.*)$",
    re.I,
)


def _section_9(lines: list[str]) -> list[str] | None:
    start = next((i for i, line in enumerate(lines) if _SECTION_9_RE.match(line)), None)
    if start is None:
        return None
    # A table of contents may list section 9 early: use the last heading that has content after it.
    starts = [i for i, line in enumerate(lines) if _SECTION_9_RE.match(line)]
    for start in reversed(starts):
        end = next((j for j in range(start + 1, len(lines)) if _NEXT_SECTION_RE.match(lines[j])), len(lines))
        if end - start > 2 or start == starts[0]:
            return lines[start + 1 : end]
    return lines[start + 1 :]


def _product_name(lines: list[str]) -> str | None:
    head = []
    for line in lines[:80]:
        if _SECTION_2_RE.match(line):
            break
        head.append(line)
    for i, line in enumerate(head):
        match = _PRODUCT_RE.match(line)
        if not match:
            continue
        name = match["name"].strip(" :-–")
        if not name and i + 1 < len(head):  # "Product identifier" with the name on the next line
            name = head[i + 1].strip()
            inner = _PRODUCT_RE.match(name)
            if inner:
                name = inner["name"].strip(" :-–")
        if name and not re.match(r"^(identifier|name)$", name, re.I):
            return name[:200]
    return None


# ---- the PDF


def _open(content: bytes):
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
    from pdfplumber.utils.exceptions import PdfminerException

    try:
        return pdfplumber.open(io.BytesIO(content))
    except MemoryError:
        raise  # a limit of the process reading it (catalog.sds_limits), not a damaged file
    except PdfminerException as exc:
        inner = exc.args[0] if exc.args else exc
        if isinstance(inner, PDFPasswordIncorrect | PDFEncryptionError):
            raise SdsParseError(
                "encrypted",
                "This PDF is password-protected, so its text cannot be read. Save an unprotected copy "
                "(or ask the supplier for one) and upload that, or type the values in instead.",
            ) from exc
        raise SdsParseError(
            "corrupt",
            "This PDF is damaged and could not be read. Download it again from the supplier and retry.",
        ) from exc
    except Exception as exc:  # pdfminer raises many kinds on broken files
        raise SdsParseError(
            "corrupt",
            "This PDF is damaged and could not be read. Download it again from the supplier and retry.",
        ) from exc


def is_pdf(content: bytes) -> bool:
    """PDF magic bytes: '%PDF-' within the first 1024 bytes (as readers accept)."""
    return b"%PDF-" in content[:1024]


def _page_content(page) -> tuple[str, list[list[str]]]:
    text = page.extract_text() or ""
    rows: list[list[str]] = []
    for table in page.extract_tables() or []:
        for row in table:
            cells = [" ".join((c or "").split()) for c in row]
            cells = [c for c in cells if c]
            if len(cells) >= 2:
                rows.append(cells)
    return text, rows


def too_many_pages_message(pages: int, max_pages: int) -> str:
    return (
        f"This PDF has {pages} pages; we read safety data sheets of up to {max_pages} pages (they usually "
        "run 8–20). Upload the sheet on its own, not bundled with other documents, or type the values in instead."
    )


def parse_sds(content: bytes, *, max_pages: int = MAX_PAGES) -> SdsExtraction:
    """Extract product name and section 9 properties from a safety data sheet PDF of at most `max_pages` pages."""
    if not is_pdf(content):
        raise SdsParseError("not_pdf", "This file is not a PDF. Upload the safety data sheet as a PDF file.")
    texts: list[str] = []
    table_rows: list[list[str]] = []
    images = 0
    # pdfminer warns about harmless quirks of real-world PDFs; they are not our errors.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pdf = _open(content)
        try:
            pages = pdf.pages
            page_count = len(pages)
            if page_count > max_pages:
                raise SdsParseError("too_many_pages", too_many_pages_message(page_count, max_pages))
            for page in pages:
                text, rows = _page_content(page)
                texts.append(text)
                table_rows.extend(rows)
                images += len(page.images)
        except (SdsParseError, MemoryError):
            raise
        except Exception as exc:
            raise SdsParseError(
                "corrupt",
                "This PDF is damaged and could not be read. Download it again from the supplier and retry.",
            ) from exc
        finally:
            pdf.close()
    for w in caught:
        log.debug("pdf warning: %s", w.message)

    full_text = "\n".join(texts)
    if len(re.sub(r"\s", "", full_text)) < 40:
        raise SdsParseError(
            "scanned",
            "This PDF looks scanned: it has no text we can read"
            + (" (only images)" if images else "")
            + ". Type the values in instead, or ask the supplier for a text PDF.",
        )
    lines = [" ".join(line.split()) for line in full_text.splitlines()]
    lines = [line for line in lines if line]
    product_name = _product_name(lines)
    section = _section_9(lines)
    if section is None:
        raise SdsParseError(
            "no_section_9",
            "We could not find section 9 (physical and chemical properties) in this PDF. "
            "Check it is a safety data sheet in the 16-section format, or type the values in instead.",
        )

    found: dict[str, ExtractedItem] = {}
    ranks: dict[str, int] = {}
    section_text = "\n".join(section)
    # Ruled tables first: their cells keep label and value apart even when they wrap.
    for cells in table_rows:
        label, value = cells[0], " ".join(cells[1:])
        if " ".join(label.split()[:3]) not in section_text:
            continue  # a table in another section
        item = _item_from(label, value, " ".join(cells))
        if item is not None and _better(item, label, found.get(item.property), ranks):
            found[item.property] = item
            ranks[item.property] = _rank(item, label)
    for line in section:
        parts = _split_line(line)
        if parts is None:
            continue
        item = _item_from(parts[0], parts[1], line)
        if item is not None and _better(item, parts[0], found.get(item.property), ranks):
            found[item.property] = item
            ranks[item.property] = _rank(item, parts[0])

    _convert_kinematic(found)
    if not any(item.value is not None or item.kinematic_mm2_s is not None for item in found.values()):
        raise SdsParseError(
            "no_properties",
            "Section 9 of this sheet gives none of the properties we need (density, viscosity, flash point, "
            "vapour pressure, boiling point). Type the values in instead.",
        )
    order = list(PROPERTY_UNITS)
    items = sorted(found.values(), key=lambda i: order.index(i.property))
    for item in items:
        if item.value is not None:
            item.value = float(f"{item.value:.6g}")
    return SdsExtraction(product_name=product_name, items=items, pages=page_count)


def _rank(item: ExtractedItem, label: str) -> int:
    """How directly a line gives its property: a density with a unit ("Density: 0.95 g/cm³")
    is the density itself, while a relative density (or a bare number read as one) goes through
    the 997 kg/m³ convention, so a sheet that prints both is read from the first."""
    if item.property != "density_kg_m3" or item.value is None:
        return 0
    kind = _classify(label)
    return 2 if kind is not None and kind[1] == "absolute" and "relative density" not in item.note else 1


def _better(item: ExtractedItem, label: str, current: ExtractedItem | None, ranks: dict[str, int]) -> bool:
    """Whether `item` replaces what an earlier line gave for the same property."""
    if current is None:
        return True
    if _rank(item, label) > ranks.get(item.property, 0):
        return True
    return current.value is None and item.value is not None and current.kinematic_mm2_s is None


def kinematic_to_dynamic(kinematic_mm2_s: float, density_kg_m3: float) -> float:
    """cSt × g/cm³ = cP."""
    return kinematic_mm2_s * density_kg_m3 / 1000.0


def _convert_kinematic(found: dict[str, ExtractedItem]) -> None:
    item = found.get("viscosity_cp")
    if item is None or item.kinematic_mm2_s is None:
        return
    density = found.get("density_kg_m3")
    notes = [item.note] if item.note else []
    if density is not None and density.value is not None:
        item.value = kinematic_to_dynamic(item.kinematic_mm2_s, density.value)
        notes.insert(
            0,
            f"kinematic {_fmt(item.kinematic_mm2_s)} mm²/s × {_fmt(density.value / 1000)} g/cm³ "
            f"→ {_fmt(item.value)} cP",
        )
    else:
        notes.insert(0, f"kinematic {_fmt(item.kinematic_mm2_s)} mm²/s: enter the density to convert it to cP")
    item.note = "; ".join(notes)
