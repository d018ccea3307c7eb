"""The instrument export attached to a lab result: checked, read into the result's values, kept, downloaded."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath, PureWindowsPath

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from aerospec.errors import NotFound, ValidationFailed
from aerospec.feedback.instrument import LABELS, InstrumentFileError, InstrumentReading, decode, read_instrument_csv
from aerospec.feedback.models import Feedback, FeedbackFile

MAX_FILE_BYTES = 1024 * 1024
EXTENSIONS = {".csv": "text/csv", ".txt": "text/plain", ".tsv": "text/tab-separated-values"}
FIELD = "instrument_file"
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
        return read_instrument_csv(data)
    except InstrumentFileError as error:
        raise _refuse(*[f"{name}: {message}" for message in error.errors]) from error


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
    if errors:
        raise ValidationFailed(
            "The typed values and the instrument file disagree; nothing was stored.", field_errors=errors
        )
    return merged


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def ensure_not_imported(session: Session, tenant, data: bytes) -> None:
    """Refuse a file this workspace already attached to a result (the same file imported twice)."""
    digest = sha256(data)
    existing = session.scalar(
        select(FeedbackFile)
        .options(defer(FeedbackFile.content))
        .where(FeedbackFile.tenant_id == tenant.id, FeedbackFile.sha256 == digest)
    )
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
