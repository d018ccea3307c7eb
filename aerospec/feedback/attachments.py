"""The instrument export attached to a lab result: checked, read into the result's values, kept, downloaded."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath, PureWindowsPath

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from aerospec.api.schemas import FEEDBACK_RANGES
from aerospec.errors import NotFound, ValidationFailed
from aerospec.feedback.forms import METHOD_LABELS
from aerospec.feedback.instrument import LABELS, InstrumentFileError, InstrumentReading, decode, read_instrument_csv
from aerospec.feedback.models import Feedback, FeedbackFile

MAX_FILE_BYTES = 1024 * 1024
EXTENSIONS = {".csv": "text/csv", ".txt": "text/plain", ".tsv": "text/tab-separated-values"}
FIELD = "instrument_file"
SIZE_FIELDS = ("dv10_um", "dv50_um", "dv90_um", "smd_um")
_BINARY_KINDS = {
    b"PK\x03\x04": "a zip archive or an Excel workbook (.xlsx): save it as CSV first",
    b"\xd0\xcf\x11\xe0": "an old Excel or Word file (.xls): save it as CSV first",
    b"%PDF": "a PDF report: export the run as CSV instead",
}


def _refuse(*messages: str) -> ValidationFailed:
    return ValidationFailed(
        "The instrument file cannot be used; nothing was stored.", field_errors={FIELD: list(messages)}
    )


def clean_filename(filename: str) -> str:
    """The file's own name without any folder a browser sent, at most 255 characters."""
    name = PureWindowsPath(PurePosixPath(filename or "").name).name.strip()
    return (name or "instrument-export.csv")[-255:]


def read_upload(filename: str, data: bytes) -> InstrumentReading:
    """Check an upload (size, type) and read its droplet sizes; ValidationFailed with row errors otherwise."""
    name = clean_filename(filename)
    if len(data) > MAX_FILE_BYTES:
        raise _refuse(f"{name} is {len(data) / 1048576:.1f} MB; an instrument export may be at most 1 MB.")
    if not data:
        raise _refuse(f"{name} is empty.")
    for magic, what in _BINARY_KINDS.items():
        if data.startswith(magic):
            raise _refuse(f"{name} is {what}.")
    suffix = PurePosixPath(name.lower()).suffix
    if suffix not in EXTENSIONS:
        raise _refuse(f"{name} is not a CSV export: choose a .csv, .tsv or .txt file.")
    try:
        decode(data)
        reading = read_instrument_csv(data)
    except InstrumentFileError as error:
        raise _refuse(*[f"{name}: {message}" for message in error.errors]) from error
    outside = []
    for field, value in reading.values().items():
        low, high, unit = FEEDBACK_RANGES[field]
        if not low <= value <= high:
            outside.append(
                f"{name}: {LABELS[field]} reads {value:,.6g} {unit}, outside what a spray's droplets measure "
                f"({low:g}–{high:g} {unit}); check the unit in the file's header (µm or mm)."
            )
    if outside:
        raise _refuse(*outside)
    return reading


def merge_reading(data: Mapping, reading: InstrumentReading) -> dict:
    """The typed values with the file's droplet sizes filling the blanks; a typed value the file contradicts is
    a field message (which one is right is for the person to say)."""
    merged = dict(data)
    errors: dict[str, list[str]] = {}
    for name, value in reading.values().items():
        typed = merged.get(name)
        if typed is None:
            merged[name] = value
        elif abs(typed - value) > 1e-9 * max(abs(typed), abs(value)):
            errors[name] = [
                f"You typed {LABELS[name]} {typed:.6g} µm but the file says {value:.6g} µm: "
                "clear the field to use the file's value, or attach the right file."
            ]
    if reading.method is not None:
        chosen = merged.get("measurement_method")
        if chosen is None:
            merged["measurement_method"] = reading.method
        elif chosen != reading.method:
            errors["measurement_method"] = [
                f"You chose {METHOD_LABELS.get(chosen, chosen)} but the file names "
                f"{METHOD_LABELS[reading.method]} ('{reading.method_evidence}'): choose the method the run used."
            ]
    if errors:
        raise ValidationFailed(
            "The typed values and the instrument file disagree; nothing was stored.", field_errors=errors
        )
    return merged


def replace_sizes(stored: Mapping, data: Mapping, reading: InstrumentReading) -> dict:
    """On an edit: the file's sizes replace the stored ones the person left as they were (or blanked); a size
    they changed to something else than the file says is a field message (merge_reading's)."""
    merged = dict(data)
    for name in reading.values():
        typed, kept = merged.get(name), stored.get(name)
        if typed is None or (kept is not None and abs(typed - kept) <= 1e-9 * max(abs(typed), abs(kept))):
            merged[name] = None
    if reading.method is not None and merged.get("measurement_method") == stored.get("measurement_method"):
        merged["measurement_method"] = None
    return merge_reading(merged, reading)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pending_token(secret: str | bytes, tenant_id, target_id, filename: str, data: bytes) -> str:
    """A signature over a previewed file (workspace, configuration or order, name, content): the confirm stores
    exactly what the person checked, in the place they checked it."""
    key = secret.encode() if isinstance(secret, str) else secret
    message = f"lab-file:{tenant_id}:{target_id}:{clean_filename(filename)}:{sha256(data)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def pending_file(secret: str | bytes, tenant_id, target_id, filename: str, content: str, token: str) -> bytes:
    """The previewed file back from its hidden fields, checked against its signature; ValidationFailed when the
    preview was changed or is from elsewhere."""
    try:
        data = base64.b64decode(content or "", validate=True)
    except (binascii.Error, ValueError) as error:
        raise _refuse("The previewed file could not be read back: choose the file again.") from error
    expected = pending_token(secret, tenant_id, target_id, filename, data)
    if not data or not hmac.compare_digest(expected, token or ""):
        raise _refuse("The preview does not match the file it showed: choose the file again.")
    return data


def replace_file(session: Session, tenant, row: Feedback, filename: str, data: bytes,
                 summary: str | None) -> FeedbackFile:  # fmt: skip
    """Attach a file to a stored result, in place of the one it had (checked by read_upload and
    ensure_not_imported). Does not commit."""
    old = session.scalar(
        select(FeedbackFile).where(FeedbackFile.tenant_id == tenant.id, FeedbackFile.feedback_id == row.id)
    )
    if old is not None:
        session.delete(old)
        session.flush()  # the old file's hash and result slot are free before the new one takes them
    return attach_file(session, tenant, row, filename, None, data, summary)


def ensure_not_imported(session: Session, tenant, data: bytes, *, replacing: Feedback | None = None) -> None:
    """Refuse a file this workspace already attached to a result (the same file imported twice); `replacing`:
    the result whose file an edit replaces (the same file again there is said so, not counted twice)."""
    digest = sha256(data)
    existing = session.scalar(
        select(FeedbackFile)
        .options(defer(FeedbackFile.content))
        .where(FeedbackFile.tenant_id == tenant.id, FeedbackFile.sha256 == digest)
    )
    if existing is not None and replacing is not None and existing.feedback_id == replacing.id:
        raise _refuse(f"{existing.filename} is already this result's file; nothing was changed.")
    if existing is not None:
        result = session.scalar(
            select(Feedback).where(Feedback.tenant_id == tenant.id, Feedback.id == existing.feedback_id)
        )
        on = f" ({result.actuator_sku} at {result.pressure_bar:.4g} bar)" if result is not None else ""
        raise _refuse(
            f"{existing.filename} was already imported{on} on {existing.created_at:%d %b %Y}; "
            "the same file twice would count one run as two results."
        )


def attach_file(session: Session, tenant, row: Feedback, filename: str, content_type: str | None, data: bytes,
                summary: str | None) -> FeedbackFile:  # fmt: skip
    """Keep the uploaded file with its result (checked by read_upload and ensure_not_imported). Does not commit."""
    name = clean_filename(filename)
    kept = FeedbackFile(
        tenant_id=tenant.id,
        feedback_id=row.id,
        filename=name,
        # What we serve it as is decided here, never taken from the browser (an HTML "CSV" stays text).
        content_type=EXTENSIONS.get(PurePosixPath(name.lower()).suffix, "text/plain"),
        size_bytes=len(data),
        sha256=sha256(data),
        summary=summary,
        content=data,
    )
    session.add(kept)
    session.flush()
    return kept


def files_for(session: Session, tenant, feedback_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, FeedbackFile]:
    """The files of these results (without their content), by result id."""
    ids = list(feedback_ids)
    if not ids:
        return {}
    rows = session.scalars(
        select(FeedbackFile)
        .options(defer(FeedbackFile.content))
        .where(FeedbackFile.tenant_id == tenant.id, FeedbackFile.feedback_id.in_(ids))
    )
    return {f.feedback_id: f for f in rows}


def get_file(session: Session, tenant, feedback: Feedback) -> FeedbackFile:
    """The file of one of the tenant's results, or NotFound."""
    kept = session.scalar(
        select(FeedbackFile).where(FeedbackFile.tenant_id == tenant.id, FeedbackFile.feedback_id == feedback.id)
    )
    if kept is None:
        raise NotFound("This lab result has no instrument file.")
    return kept
