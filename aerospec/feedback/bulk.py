"""Bulk CSV import of lab results: every row checked and shown beside the prediction it will be compared with,
then, on confirm, all rows stored in one transaction through services.record_feedback (or none)."""

from __future__ import annotations

import csv
import hashlib
import io
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from aerospec.api.schemas import FeedbackBody, field_errors
from aerospec.configurations.models import Configuration
from aerospec.errors import DomainError, ValidationFailed
from aerospec.feedback import aggregates, services
from aerospec.feedback.models import FeedbackImport
from aerospec.models import utcnow

PSI_TO_BAR = 0.06894757293168  # 1 psi = 6894.757293168 Pa (exact, from the pound-force and the inch)

#: Every column a file may have: (name, what it holds). Order is the template's.
COLUMNS = (
    ("actuator_sku", "Required. A SKU of this configuration's saved ranking."),
    ("pressure_bar", "The pressure tested, in bar. Give this or pressure_psi on each row, not both."),
    ("pressure_psi", "The pressure tested, in psi (stored in bar: 1 psi = 0.0689476 bar)."),
    ("flow_rate_actual_ml_min", "Measured flow rate, ml/min (> 0)."),
    ("spray_cone_angle_actual", "Measured spray cone angle, degrees (> 0 and ≤ 180)."),
    ("dv10_um", "Dv10, µm (0.1 to 5000)."),
    ("dv50_um", "Dv50 (volume median diameter), µm. Dv10 ≤ Dv50 ≤ Dv90."),
    ("dv90_um", "Dv90, µm."),
    ("smd_um", "Sauter mean diameter (D32), µm."),
    ("measurement_method", "laser_diffraction, pdpa, imaging or other; required when a droplet size is given."),
    ("temperature_c", "Temperature of the test, °C (-60 to 200)."),
    ("measured_by", "Who measured (up to 120 characters)."),
    ("pass_fail", "pass or fail."),
    ("rating", "Your rating of the actuator, a whole number 1 to 5."),
    ("confidence_in_prediction", "How far the lab trusts the prediction, 1 to 5."),
    ("prediction_matched", "yes or no."),
    ("notes", "What went wrong or what was seen (up to 2000 characters); stored as the issue description."),
    ("test_conditions", "Distance, fluid batch, set-up (up to 2000 characters)."),
)
COLUMN_NAMES = tuple(name for name, _ in COLUMNS)
ALIASES = {"issue_description": "notes"}  # the API's name for the same field
NUMBERS = (
    "flow_rate_actual_ml_min",
    "spray_cone_angle_actual",
    "dv10_um",
    "dv50_um",
    "dv90_um",
    "smd_um",
    "temperature_c",
)
WHOLE_NUMBERS = ("rating", "confidence_in_prediction")
TEXTS = ("measured_by", "test_conditions")
YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0"}


class AlreadyImported(DomainError):
    """The same file was imported into this configuration before: importing it again would duplicate its results."""

    status = 409
    title = "Already imported"

    def __init__(self, record: FeedbackImport):
        when = record.created_at.strftime("%d %B %Y at %H:%M UTC")
        super().__init__(
            f"This file was already imported into this configuration on {when} ({record.row_count} "
            f"result{'s' if record.row_count != 1 else ''}); nothing was added."
        )
        self.record = record


@dataclass
class PreviewRow:
    """One data row of the file: what was read, the result it would store, and what is wrong with it."""

    number: int  # the spreadsheet's row number (the header is row 1)
    values: dict = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    pressure_psi: float | None = None
    result: object | None = None  # the unsaved Feedback, with its prediction
    comparison: list[dict] = field(default_factory=list)


@dataclass
class Preview:
    """A checked file: its rows, the problems with the file as a whole, and its import token."""

    token: str
    text: str
    rows: list[PreviewRow] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    already: FeedbackImport | None = None

    @property
    def errors(self) -> list[str]:
        return self.file_errors + [e for row in self.rows for e in row.errors]

    @property
    def ready(self) -> bool:
        """Every row can be stored and the file was not imported before."""
        return bool(self.rows) and not self.errors and self.already is None


def import_token(config_id: uuid.UUID, text: str) -> str:
    """The import's identity: this configuration and this text (line endings made alike)."""
    return hashlib.sha256(f"{config_id}\n{normalise(text)}".encode()).hexdigest()


def normalise(text: str) -> str:
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def decode(raw: bytes) -> str:
    """The file as text, or ValidationFailed when it is not UTF-8 text."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(
            "The file is not UTF-8 text; export it from your spreadsheet as CSV UTF-8.",
            field_errors={"file": ["The file is not UTF-8 text; export it from your spreadsheet as CSV UTF-8."]},
        ) from exc
    if "\x00" in text:
        message = "The file is not a CSV text file (it holds binary data); upload a .csv exported from a spreadsheet."
        raise ValidationFailed(message, field_errors={"file": [message]})
    return normalise(text)


def template_csv(config: Configuration, limit: int = 5) -> str:
    """A CSV with every column and one row per top-ranked SKU (at the configuration's pressure), values blank."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMN_NAMES)
    for entry in (config.compatible_actuators or [])[:limit]:
        if isinstance(entry, dict) and entry.get("sku"):
            row = dict.fromkeys(COLUMN_NAMES, "")
            row["actuator_sku"] = entry["sku"]
            row["pressure_bar"] = f"{config.max_pressure_bar:g}"
            writer.writerow(row.values())
    return out.getvalue()


def _number(row: PreviewRow, name: str, raw: str) -> float | None:
    text = raw.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        hint = " (use a point for decimals)" if "," in text and text.replace(",", "", 1).isdigit() else ""
        row.errors.append(f"row {row.number}: {name} {text[:40]!r} is not a number{hint}.")
        return None
    if not math.isfinite(value):
        row.errors.append(f"row {row.number}: {name} {text[:40]!r} is not a finite number.")
        return None
    return value


def _read_row(row: PreviewRow, cells: Mapping[str, str]) -> dict:
    """The row's cells as typed values; what cannot be read goes to row.errors."""
    data: dict = {}
    sku = (cells.get("actuator_sku") or "").strip()
    if not sku:
        row.errors.append(f"row {row.number}: actuator_sku is empty; give a SKU of this configuration's ranking.")
    data["actuator_sku"] = sku
    bar = _number(row, "pressure_bar", cells.get("pressure_bar", ""))
    psi = _number(row, "pressure_psi", cells.get("pressure_psi", ""))
    if bar is not None and psi is not None:
        row.errors.append(f"row {row.number}: give pressure_bar or pressure_psi, not both.")
    elif bar is None and psi is None and not any(e.startswith(f"row {row.number}: pressure_") for e in row.errors):
        row.errors.append(f"row {row.number}: the pressure tested is missing (pressure_bar or pressure_psi).")
    data["pressure_bar"] = bar if psi is None else psi * PSI_TO_BAR
    row.pressure_psi = psi
    for name in NUMBERS:
        data[name] = _number(row, name, cells.get(name, ""))
    for name in WHOLE_NUMBERS:
        value = _number(row, name, cells.get(name, ""))
        if value is not None and not value.is_integer():
            row.errors.append(f"row {row.number}: {name} {value:g} is not a whole number from 1 to 5.")
            value = None
        data[name] = int(value) if value is not None else None
    method = (cells.get("measurement_method") or "").strip().lower().replace(" ", "_").replace("-", "_")
    data["measurement_method"] = method or None
    verdict = (cells.get("pass_fail") or "").strip().lower()
    data["pass_fail"] = verdict or None
    matched = (cells.get("prediction_matched") or "").strip().lower()
    if matched in YES:
        data["prediction_matched"] = True
    elif matched in NO:
        data["prediction_matched"] = False
    else:
        data["prediction_matched"] = None
        if matched:
            row.errors.append(f"row {row.number}: prediction_matched {matched[:20]!r} is not yes or no.")
    for name in TEXTS:
        data[name] = (cells.get(name) or "").strip() or None
    data["issue_description"] = (cells.get("notes") or "").strip() or None
    return data


def _check(row: PreviewRow, data: dict, config: Configuration) -> dict | None:
    """The row through the API's own rules (ranges, choices, lengths); None when it fails them."""
    body = {k: v for k, v in data.items() if v is not None}
    body["configuration_id"] = str(config.id)
    try:
        return FeedbackBody.model_validate(body).model_dump()
    except ValidationError as error:
        for name, messages in field_errors(error).items():
            shown = name
            if name == "pressure_bar" and row.pressure_psi is not None:
                shown = f"pressure_psi ({row.pressure_psi:g} psi = {data['pressure_bar']:.4g} bar)"
            elif name == "issue_description":
                shown = "notes"
            for message in messages:
                row.errors.append(f"row {row.number}: {shown}: {message}")
        return None


def preview(
    session: Session,
    tenant,
    actor,
    config: Configuration,
    text: str,
    *,
    procurement_id: uuid.UUID | None = None,
    max_rows: int = 200,
    predict: bool = True,
) -> Preview:
    """Read and check a CSV of lab results for `config`, computing each row's prediction; writes nothing.

    With predict=False only the file's own rules are checked (what confirm checks before recording)."""
    text = normalise(text)
    memo: dict = {}
    result = Preview(token=import_token(config.id, text), text=text)
    result.already = session.scalar(
        select(FeedbackImport).where(FeedbackImport.tenant_id == tenant.id, FeedbackImport.token == result.token)
    )
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, None)
        records = list(reader)
    except csv.Error as exc:
        result.file_errors.append(f"The file is not a readable CSV ({exc}); export it from your spreadsheet as CSV.")
        return result
    if header is None or not any(cell.strip() for cell in header):
        result.file_errors.append("The file is empty: it needs a header row and at least one result.")
        return result
    names = [ALIASES.get(cell.strip().lower(), cell.strip().lower()) for cell in header]
    unknown = [n for n in names if n and n not in COLUMN_NAMES]
    if unknown:
        result.file_errors.append(
            "Unknown column" + ("s" if len(unknown) > 1 else "") + ": " + ", ".join(unknown[:10])
            + ". The columns are listed on this page; download the template to start from them."
        )  # fmt: skip
    repeated = sorted({n for n in names if n and names.count(n) > 1})
    if repeated:
        result.file_errors.append("Column given twice: " + ", ".join(repeated) + ".")
    if "actuator_sku" not in names:
        result.file_errors.append("The actuator_sku column is missing.")
    if "pressure_bar" not in names and "pressure_psi" not in names:
        result.file_errors.append("A pressure column is missing: pressure_bar or pressure_psi.")
    if result.file_errors:
        return result
    numbered = [(i + 2, r) for i, r in enumerate(records) if any(cell.strip() for cell in r)]
    if not numbered:
        result.file_errors.append("The file has a header but no results.")
        return result
    if len(numbered) > max_rows:
        result.file_errors.append(
            f"The file has {len(numbered):,} results; at most {max_rows:,} can be imported at once. Split it into "
            "several files."
        )
        return result
    for number, cells in numbered:
        row = PreviewRow(number=number)
        result.rows.append(row)
        if len(cells) > len(names):
            row.errors.append(f"row {number}: {len(cells)} cells but {len(names)} columns; check for a stray comma.")
            continue
        data = _read_row(row, dict(zip(names, cells, strict=False)))
        row.values = data
        if row.errors:
            continue
        checked = _check(row, data, config)
        if checked is None:
            continue
        checked["procurement_id"] = procurement_id
        row.values = checked
        if not predict:
            continue
        try:
            built = services.build_feedback(session, tenant, actor, checked, memo=memo)
        except ValidationFailed as error:
            for name, messages in (error.field_errors or {"": [error.message]}).items():
                label = "" if name in ("", "body", "actuator_sku", "pressure_bar") else f"{name}: "
                row.errors.extend(f"row {number}: {label}{m}" for m in messages)
            continue
        row.values = checked
        row.result = built
        row.comparison = services.comparison(built)
    return result


def confirm(
    session: Session,
    tenant,
    actor,
    config: Configuration,
    text: str,
    token: str,
    *,
    filename: str | None = None,
    procurement_id: uuid.UUID | None = None,
    max_rows: int = 200,
) -> tuple[FeedbackImport, Preview]:
    """Store every row of a previewed file through record_feedback, in the caller's transaction: all or none.

    The import is claimed first under its unique token, so a second confirm (a double click, the back button,
    the same file uploaded again) raises AlreadyImported and adds nothing. Raises ValidationFailed when a row
    no longer passes (nothing is stored). Does not commit.
    """
    text = normalise(text)
    if import_token(config.id, text) != token:
        message = "The file changed since its preview; upload it again to see what will be imported."
        raise ValidationFailed(message, field_errors={"file": [message]})
    checked = preview(
        session, tenant, actor, config, text, procurement_id=procurement_id, max_rows=max_rows, predict=False
    )
    if checked.already is not None:
        raise AlreadyImported(checked.already)
    if not checked.ready:
        message = "Some rows cannot be imported; nothing was stored."
        raise ValidationFailed(message, field_errors={"file": checked.errors})
    record = FeedbackImport(
        tenant_id=tenant.id,
        configuration_id=config.id,
        procurement_id=procurement_id,
        token=token,
        filename=(filename or "")[:255] or None,
        row_count=len(checked.rows),
        created_by_id=getattr(actor, "user_id", None),
        created_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError:  # a concurrent confirm of the same file won the claim
        existing = session.scalar(
            select(FeedbackImport).where(FeedbackImport.tenant_id == tenant.id, FeedbackImport.token == token)
        )
        raise AlreadyImported(existing) from None
    ids, stored, problems, memo = [], [], [], {}
    for row in checked.rows:
        try:
            result = services.record_feedback(session, tenant, actor, row.values, memo=memo, refresh_aggregates=False)
        except ValidationFailed as error:  # the catalog or the ranking changed since the preview
            problems.extend(f"row {row.number}: {m}" for ms in error.field_errors.values() for m in ms)
            continue
        ids.append(str(result.id))
        stored.append(result)
    if problems:
        raise ValidationFailed("Some rows cannot be imported; nothing was stored.", field_errors={"file": problems})
    record.feedback_ids = ids
    session.flush()
    # One refresh per aggregate the rows count towards, not one per row.
    seen = set()
    for result in stored:
        key = (result.actuator_supplier, result.actuator_sku, result.prediction["fluid"]["key"])
        if key not in seen:
            seen.add(key)
            aggregates.enqueue_refresh(session, result)
    return record, checked
