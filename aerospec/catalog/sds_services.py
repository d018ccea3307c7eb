"""Safety-data-sheet uploads: store, parse (in a job), review and save as a tenant fluid.

Plain functions with explicit arguments; they flush and never commit. The view or job
that calls them commits once; the parse job is enqueued on the session, so it runs only
after the upload commits.
"""

from __future__ import annotations

import hashlib
import logging
import math
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from aerospec import queueing
from aerospec.catalog import sds, sds_limits, units
from aerospec.catalog import services as catalog
from aerospec.catalog.models import SdsDocument, TenantFluid
from aerospec.errors import Conflict, ValidationFailed

log = logging.getLogger(__name__)

MAX_SDS_BYTES = 10 * 1024 * 1024
PARSE_JOB = "jobs.sds.parse_sds_document"
PARSE_QUEUE = "sds"  # its own queue and worker: a sheet that is slow to read never holds up other jobs


# ---- upload


def upload_sds_document(
    session: Session, tenant_id: uuid.UUID, user_id: uuid.UUID | None, filename: str, content: bytes
) -> tuple[SdsDocument, bool]:
    """Store an uploaded SDS and queue its parse; the same file again reuses the earlier one.

    Returns (document, reused). Refuses empty, oversized and non-PDF files with a field message.
    """
    filename = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:255] or "safety-data-sheet.pdf"
    if not content:
        raise ValidationFailed(
            "The file is empty.", field_errors={"file": ["The file is empty. Choose the PDF again."]}
        )
    if len(content) > MAX_SDS_BYTES:
        message = f"The file is {len(content) / 1024 / 1024:.1f} MB; the limit is 10 MB. Upload a smaller PDF."
        raise ValidationFailed(message, field_errors={"file": [message]})
    if not sds.is_pdf(content):
        message = "This file is not a PDF. Upload the safety data sheet as a PDF file."
        raise ValidationFailed(message, field_errors={"file": [message]})

    digest = hashlib.sha256(content).hexdigest()
    existing = session.scalars(
        select(SdsDocument)
        .where(SdsDocument.tenant_id == tenant_id, SdsDocument.sha256 == digest)
        .order_by(SdsDocument.created_at.desc())
        .limit(1)
    ).first()
    if existing is not None:
        if existing.status == "failed" or existing.status == "queued":
            # Same bytes parse the same way, but a parser fix (or a lost job) deserves another try.
            existing.status, existing.error = "queued", None
            _enqueue_parse(session, existing)
        session.flush()
        return existing, True

    document = SdsDocument(
        tenant_id=tenant_id,
        uploaded_by_id=user_id,
        filename=filename,
        size_bytes=len(content),
        sha256=digest,
        content=content,
        status="queued",
        extracted=[],
    )
    session.add(document)
    session.flush()
    _enqueue_parse(session, document)
    return document, False


def _enqueue_parse(session: Session, document: SdsDocument) -> None:
    queueing.enqueue(
        session,
        PARSE_JOB,
        str(document.tenant_id),
        str(document.id),
        queue=PARSE_QUEUE,
        job_id=f"sds-parse-{document.id}",
        retries=1,
    )


def list_sds_documents(session: Session, tenant_id: uuid.UUID, limit: int = 20) -> list[SdsDocument]:
    """The tenant's latest uploads, newest first."""
    return list(
        session.scalars(
            select(SdsDocument)
            .where(SdsDocument.tenant_id == tenant_id)
            .order_by(SdsDocument.created_at.desc())
            .limit(limit)
        )
    )


# ---- parse (job)


def get_document(session: Session, tenant_id: uuid.UUID, document_id: uuid.UUID) -> SdsDocument | None:
    """The tenant's document by id, or None."""
    return session.scalars(
        select(SdsDocument).where(SdsDocument.id == document_id, SdsDocument.tenant_id == tenant_id)
    ).first()


def mark_parsing(document: SdsDocument) -> bool:
    """Claim a queued document for parsing; False when it is already done (idempotent job)."""
    if document.status in ("parsed", "failed"):
        return False
    document.status = "parsing"
    return True


def parse_document(
    session: Session, document: SdsDocument, limits: sds_limits.ParseLimits | None = None
) -> SdsDocument:
    """Run the section-9 parser on the stored PDF (in a child process within `limits`) and record what
    it found, or why it failed: all of it or nothing (a limit hit leaves no value behind)."""
    if document.status == "parsed":
        return document
    try:
        result = sds_limits.parse_isolated(document.content, limits)
    except sds.SdsParseError as error:
        document.status, document.error, document.extracted = "failed", error.message, []
        document.product_name = None
    except Exception:
        # The parser is deterministic: a retry would fail the same way and leave the page polling.
        log.exception("SDS parser crashed on document %s", document.id)
        document.status = "failed"
        document.error = "We could not read this PDF. Type the values in instead, or try another copy of the sheet."
        document.extracted = []
    else:
        document.status, document.error = "parsed", None
        document.extracted = [item.to_dict() for item in result.items]
        document.product_name = result.product_name
    session.flush()
    return document


# ---- review and save


@dataclass(frozen=True)
class ReviewProperty:
    """One row of the review form: the TenantFluid column and how it is entered."""

    key: str  # form field prefix
    column: str  # TenantFluid column
    label: str
    units: tuple[str, ...]  # unit choices; the first is the stored unit
    required: bool


def _review(key: str, column: str, label: str, required: bool) -> ReviewProperty:
    return ReviewProperty(key, column, label, tuple(u for u, _ in units.UNIT_CHOICES[column]), required)


# The unit choices are the fluid form's (units.UNIT_CHOICES), stored unit first.
REVIEW_PROPERTIES: tuple[ReviewProperty, ...] = (
    _review("density", "density_kg_m3", "Density", True),
    _review("viscosity", "viscosity_cp", "Viscosity", True),
    _review("surface_tension", "surface_tension_mn_m", "Surface tension", True),
    _review("flash_point", "flash_point_c", "Flash point", False),
    _review("vapour_pressure", "vapour_pressure_kpa", "Vapour pressure", False),
    _review("boiling_point", "boiling_point_c", "Boiling point", False),
)
UNIT_LABELS = {unit: label for choices in units.UNIT_CHOICES.values() for unit, label in choices}

# Fluids are described at 25 °C. Viscosity changes strongly with temperature, and one value
# at another temperature cannot be converted honestly (ASTM D341's viscosity-temperature
# relation and Andrade's equation each need two measured points), so a viscosity the sheet
# gives at another temperature is not taken: the review asks for the 25 °C value.
REFERENCE_TEMPERATURE_C = 25.0
VISCOSITY_TEMPERATURE_TOLERANCE_K = 1.0


def sheet_temperature(item: dict) -> float | None:
    """The temperature (°C) the sheet gives an extracted value at; read from its line for
    documents parsed before the parser recorded it."""
    if "temperature_c" in item:
        return item["temperature_c"]
    return sds.measured_at(item.get("raw") or "")


def viscosity_needs_25c(item: dict | None) -> bool:
    """Whether the sheet's viscosity is at a stated temperature other than 25 °C (±1 K)."""
    if item is None or item.get("property") != "viscosity_cp":
        return False
    measured = sheet_temperature(item)
    return measured is not None and abs(measured - REFERENCE_TEMPERATURE_C) > VISCOSITY_TEMPERATURE_TOLERANCE_K


SURFACE_TENSION_HINT = (
    "Safety data sheets rarely give surface tension. Typical values at 20–25 °C: water 72 mN/m; "
    "glycol/water blends 40–60; glycerol 63; ethanol, isopropanol and acetone 22–24; "
    "mineral and silicone oils 20–30; propellants (butane, propane, DME) 11–16. "
    "The fluid library lists measured values for common bases."
)


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _as_given(item: dict) -> tuple[str, str]:
    """('20 cSt', '40 °C'): a value as the sheet prints it and the temperature it is given at."""
    return item.get("original") or item.get("raw") or "", f"{_fmt(sheet_temperature(item))} °C"


def review_defaults(document: SdsDocument) -> dict[str, str]:
    """Form data prefilled from what the parser extracted (value in the stored unit)."""
    data: dict[str, str] = {"name": document.product_name or document.filename.rsplit(".", 1)[0], "category": "other"}
    extracted = {item["property"]: item for item in document.extracted or []}
    for prop in REVIEW_PROPERTIES:
        item = extracted.get(prop.column)
        data[f"{prop.key}_unit"] = prop.units[0]
        data[f"{prop.key}_value"] = ""
        if item is None:
            continue
        if viscosity_needs_25c(item):
            # Asked for, not prefilled; in the kind of unit the sheet uses.
            data[f"{prop.key}_unit"] = "cSt" if item.get("kinematic_mm2_s") is not None else prop.units[0]
        elif item.get("kinematic_mm2_s") is not None:
            # Keep it kinematic so a corrected density converts it on save.
            data[f"{prop.key}_value"] = _fmt(item["kinematic_mm2_s"])
            data[f"{prop.key}_unit"] = "cSt"
        elif item.get("value") is not None:
            data[f"{prop.key}_value"] = _fmt(item["value"])
    return data


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-9)


def save_fluid_from_sds(
    session: Session,
    tenant,
    document: SdsDocument,
    user,
    *,
    name: str,
    values: dict[str, tuple[str, str]],
    category: str = "other",
) -> TenantFluid:
    """Create the tenant fluid the user confirmed: each value with its source (the SDS line,
    or 'entered by <user>' where they corrected or added it).

    `values` maps a review key ("density", ...) to (number as typed, unit).
    """
    if document.status != "parsed":
        raise Conflict("This safety data sheet has not been read yet; wait for it to finish.")
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = ["Name the fluid."]
    elif len(name) > 120:
        errors["name"] = ["Use at most 120 characters."]

    extracted = {item["property"]: item for item in document.extracted or []}
    who = getattr(user, "name", None) or getattr(user, "email", "a user")
    numbers: dict[str, tuple[float, str]] = {}
    for prop in REVIEW_PROPERTIES:
        text, unit = values.get(prop.key, ("", prop.units[0]))
        text = (text or "").strip()
        if unit not in prop.units:
            errors[f"{prop.key}_unit"] = [f"Choose one of {', '.join(prop.units)}."]
            continue
        if not text:
            if viscosity_needs_25c(extracted.get(prop.column)):
                given, at = _as_given(extracted[prop.column])
                errors[f"{prop.key}_value"] = [
                    f"The sheet gives the viscosity at {at} ({given}); enter its value at 25 °C."
                ]
            elif prop.required:
                hint = (
                    " Safety data sheets rarely give it: see the typical values below."
                    if prop.key == "surface_tension"
                    else ""
                )
                errors[f"{prop.key}_value"] = [f"Enter the {prop.label.lower()}.{hint}"]
            continue
        try:
            numbers[prop.key] = (units.parse_number(text), unit)
        except ValueError as exc:
            errors[f"{prop.key}_value"] = [f"{exc}; enter a number such as 0.998 or 0,998."]

    stored: dict[str, float | None] = {}
    density = None
    if "density" in numbers:
        try:
            density = units.to_stored("density_kg_m3", *numbers["density"])
        except ValueError as exc:
            errors["density_value"] = [str(exc)]
    for prop in REVIEW_PROPERTIES:
        if prop.key not in numbers:
            stored[prop.column] = None
            continue
        number, unit = numbers[prop.key]
        try:
            value = density if prop.key == "density" else units.to_stored(prop.column, number, unit, density)
        except ValueError as exc:
            errors.setdefault(f"{prop.key}_value", []).append(str(exc))
            continue
        stored[prop.column] = value
    if errors:
        raise ValidationFailed("Some values need attention; see the messages below.", field_errors=errors)

    sources: dict[str, str] = {}
    for prop in REVIEW_PROPERTIES:
        item = extracted.get(prop.column)
        value = stored.get(prop.column)
        sds_line = f"SDS {document.filename}, section 9: '{item['raw']}'" if item else None
        if value is None:
            if item is not None and item.get("value") is None and item.get("kinematic_mm2_s") is None:
                sources[prop.column] = sds_line  # e.g. flash point "not applicable"
            continue
        from_sheet = False
        if viscosity_needs_25c(item):
            given, at = _as_given(item)
            sources[prop.column] = f"entered by {who} as the 25 °C value (the sheet gives {given} at {at}; {sds_line})"
            continue
        if item is not None:
            number, unit = numbers[prop.key]
            if item.get("kinematic_mm2_s") is not None and unit in ("cSt", "mm²/s"):
                from_sheet = _same(number, item["kinematic_mm2_s"])
            elif item.get("value") is not None:
                from_sheet = _same(value, item["value"])
        if from_sheet:
            sources[prop.column] = sds_line
            if prop.column == "viscosity_cp" and item.get("kinematic_mm2_s") is not None:
                sources[prop.column] += f" (kinematic, converted with density {_fmt(stored['density_kg_m3'])} kg/m³)"
        elif item is not None:
            sources[prop.column] = f"entered by {who} (corrected; {sds_line})"
        else:
            sources[prop.column] = f"entered by {who}"

    notes = (
        f"Read from the safety data sheet {document.filename}"
        + (f" ({document.product_name})" if document.product_name else "")
        + " and confirmed by the user."
    )
    values_in = {"name": name, "category": category, "liquefied_propellant": False, "notes": notes, **stored}
    try:
        # Range checks and the row itself: the catalog's one way to create a tenant fluid.
        return catalog.create_tenant_fluid(
            session, tenant, user, values_in, sources=sources, sds_document_id=document.id
        )
    except ValidationFailed as error:
        by_column = {prop.column: f"{prop.key}_value" for prop in REVIEW_PROPERTIES}
        raise ValidationFailed(
            error.message,
            field_errors={by_column.get(k, k): v for k, v in error.field_errors.items()},
        ) from error
