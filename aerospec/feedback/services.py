"""Record and list lab results; each result keeps the prediction it was measured against."""

from __future__ import annotations

import copy
import dataclasses
import uuid
from collections.abc import Mapping

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aerospec import engine
from aerospec.catalog import own_actuators
from aerospec.catalog.models import Actuator
from aerospec.configurations import services as configs
from aerospec.configurations import wizard
from aerospec.configurations.models import Configuration
from aerospec.engine import calibration
from aerospec.errors import ValidationFailed
from aerospec.feedback import active, aggregates, learning
from aerospec.feedback.models import Feedback
from aerospec.models import get_owned
from aerospec.pagination import Page, window
from aerospec.procurement import services as procurements

#: Measured quantity -> the key of the same quantity in the stored prediction (engine.prediction_item).
QUANTITIES = {
    "flow_rate_actual_ml_min": "flow_ml_min",
    "spray_cone_angle_actual": "cone_deg",
    "dv10_um": "dv10_um",
    "dv50_um": "dv50_um",
    "dv90_um": "dv90_um",
    "smd_um": "smd_um",
}
SIZES = ("dv10_um", "dv50_um", "dv90_um", "smd_um")
#: The physics values (and bands) kept beside a corrected prediction in each stored snapshot.
PHYSICS_KEYS = tuple(f"{q}{end}" for q in QUANTITIES.values() for end in ("", "_low", "_high"))
#: Fields a lab result may carry besides the configuration, SKU and pressure.
FIELDS = (
    *QUANTITIES,
    "droplet_size_range_um",
    "measurement_method",
    "temperature_c",
    "measured_by",
    "rating",
    "pass_fail",
    "issue_description",
    "prediction_matched",
    "confidence_in_prediction",
    "test_conditions",
)


def _field_error(field: str, message: str) -> ValidationFailed:
    return ValidationFailed("Check the fields listed in errors.", field_errors={field: [message]})


def _one_item(cat: engine.Catalog, i: int) -> engine.Catalog:
    """The catalog's item i alone, as a one-row catalog (the same columns the ranking used)."""
    values = {}
    for field in dataclasses.fields(cat):
        if not field.init:  # the engine's per-catalog cache: the new catalog starts its own
            continue
        column = getattr(cat, field.name)
        values[field.name] = column[i : i + 1] if isinstance(column, np.ndarray) else column
    return dataclasses.replace(cat, **values)


def predict_for(session: Session, config: Configuration, supplier: str, sku: str, pressure_bar: float) -> dict:
    """The prediction for one catalog SKU at `pressure_bar` with the configuration's fluid, as prediction_item()
    gives it, corrected by the workspace's active correction models, with the engine (calibration) version,
    the model version (`model_version`, None for physics alone), what the correction did (`correction`) and
    the physics values it started from (`physics`)."""
    cat, _ = own_actuators.actuator_catalog_for(session, config.tenant_id)
    found = [i for i in range(len(cat)) if str(cat.sku[i]) == sku and str(cat.supplier[i]) == supplier]
    if not found:
        raise _field_error("actuator_sku", f"{sku} is no longer in the actuator catalog, so nothing can be predicted.")
    return _predict_item(session, config, cat, found[0], supplier, sku, pressure_bar)


def _predict_item(
    session: Session, config: Configuration, cat: engine.Catalog, i: int, supplier: str, sku: str, pressure: float
) -> dict:
    fluid, _ = wizard.engine_inputs(_config_values(config))
    one = _one_item(cat, i)
    physics = engine.predict(fluid, one, float(pressure))
    families, _ = wizard.catalog_families(one)
    stack = active.stack_for_current(session)
    prediction, applied = active.correct(stack, physics, wizard.sku_keys(one), list(families), fluid, one.orifice_mm)
    item = engine.prediction_item(prediction, 0)
    item["engine_version"] = calibration.load()["version"]
    # What the correction started from (training reads these) and what it did, with the model version.
    raw = engine.prediction_item(physics, 0)
    item["physics"] = {k: raw.get(k) for k in PHYSICS_KEYS}
    item["correction"] = applied.item(0)
    item["model_version"] = item["correction"]["model_version"]
    item["supplier"] = supplier
    item["sku"] = sku
    return item


def _config_values(config: Configuration) -> dict:
    """The configuration's fluid (and pressure limit) in the field names wizard.engine_inputs reads."""
    names = (
        "fluid_viscosity_cP",
        "fluid_density_kg_m3",
        "fluid_surface_tension_mN_m",
        "fluid_flash_point_C",
        "fluid_vapour_pressure_kPa",
        "fluid_liquefied_propellant",
        "max_pressure_bar",
    )
    return {name: getattr(config, name) for name in names}


def _ranked_entry(config: Configuration, sku: str) -> dict:
    for entry in config.compatible_actuators or []:
        if entry.get("sku") == sku:
            return entry
    raise _field_error(
        "actuator_sku",
        f"{sku} is not in this configuration's saved ranking; record results for one of its ranked actuators.",
    )


def _check_measured(data: Mapping) -> None:
    """The measured values agree with each other (ranges are checked by the API schema)."""
    if not any(data.get(q) is not None for q in QUANTITIES) and data.get("droplet_size_range_um") is None:
        raise ValidationFailed(
            "A lab result needs at least one measured value.",
            field_errors={"body": ["Give at least one of: " + ", ".join((*QUANTITIES, "droplet_size_range_um")) + "."]},
        )
    sizes = [data.get(k) for k in ("dv10_um", "dv50_um", "dv90_um")]
    given = [s for s in sizes if s is not None]
    if given != sorted(given):
        raise _field_error("dv50_um", "Dv10 ≤ Dv50 ≤ Dv90: the percentiles of one distribution cannot cross.")
    if any(data.get(k) is not None for k in SIZES) and data.get("measurement_method") is None:
        raise _field_error(
            "measurement_method", "Say how the droplet sizes were measured: laser_diffraction, pdpa, imaging or other."
        )
    span = data.get("droplet_size_range_um")
    if span is not None and span[0] >= span[1]:
        raise _field_error("droplet_size_range_um", "Give [smallest, largest] in µm, smallest first.")


def record_feedback(
    session: Session, tenant, actor, data: Mapping, *, memo: dict | None = None, refresh_aggregates: bool = True
) -> Feedback:
    """Record a lab result for one of a configuration's ranked actuators, with the prediction as it is now.

    `data` holds configuration_id, actuator_sku, pressure_bar, optional procurement_id and FIELDS.
    Another workspace's configuration (or order) is NotFound. Does not commit. `memo` and
    `refresh_aggregates=False` are for a caller recording many results at once (see build_feedback; it then
    enqueues each aggregate's refresh once itself).
    """
    row = build_feedback(session, tenant, actor, data, memo=memo)
    session.add(row)
    session.flush()
    if refresh_aggregates:
        aggregates.enqueue_refresh(session, row)
    _emit_created(session, row)  # the feedback.created webhook, after the commit
    learning.after_result(session, tenant)  # every N results of the workspace: train the correction models
    return row


def build_feedback(session: Session, tenant, actor, data: Mapping, *, memo: dict | None = None) -> Feedback:
    """The lab result record_feedback would store, every check made and its prediction computed, not added to
    the session (a preview of it). Raises ValidationFailed or NotFound as record_feedback does.

    `memo` (a dict the caller keeps for one batch of one tenant's results) reuses within the batch what does not
    change between its rows: the configuration, the actuator rows, and the prediction for one SKU at one pressure.
    """
    memo = {} if memo is None else memo

    def remembered(key, compute):
        if key not in memo:
            memo[key] = compute()
        return memo[key]

    config = remembered(
        ("config", tenant.id, str(data["configuration_id"])),
        lambda: configs.get_configuration(session, tenant, data["configuration_id"]),
    )
    sku = data["actuator_sku"]
    entry = _ranked_entry(config, sku)
    supplier = str(entry.get("supplier") or "")
    actuator = remembered(("actuator", supplier, sku), lambda: _actuator_row(session, tenant, supplier, sku))
    if actuator is None:
        raise _field_error("actuator_sku", f"{sku} is no longer in the actuator catalog, so nothing can be predicted.")
    pressure = float(data["pressure_bar"])
    if pressure > actuator.max_pressure_bar:
        raise _field_error(
            "pressure_bar",
            f"{sku} is rated to {actuator.max_pressure_bar:g} bar; a test at {pressure:g} bar is above its rating.",
        )
    _check_measured(data)
    procurement_id = data.get("procurement_id")
    if procurement_id is not None:
        procurement_id = remembered(
            ("order", str(procurement_id)), lambda: procurements.get_procurement(session, tenant, procurement_id).id
        )
    prediction = copy.deepcopy(
        remembered(
            ("prediction", config.id, supplier, sku, pressure),
            lambda: _prediction(session, config, supplier, sku, pressure, memo),
        )
    )
    row = Feedback(
        tenant_id=tenant.id,
        configuration_id=config.id,
        actuator_sku=sku,
        actuator_supplier=supplier,
        procurement_id=procurement_id,
        pressure_bar=pressure,
        prediction=prediction,
        created_by_id=getattr(actor, "user_id", None),
        **{name: data.get(name) for name in FIELDS},
    )
    return row


def _actuator_row(session: Session, tenant, supplier: str, sku: str):
    """The catalog SKU, or this workspace's own actuator, a configuration ranked (None when it is gone)."""
    if supplier == own_actuators.OWN_SUPPLIER:
        # SECURITY: this workspace's own actuators only; another's with the same SKU is not found.
        return own_actuators.find_own_by_sku(session, tenant.id, sku)
    return session.scalar(select(Actuator).where(Actuator.sku == sku, Actuator.supplier == supplier))


def _prediction(session: Session, config: Configuration, supplier: str, sku: str, pressure: float, memo: dict) -> dict:
    if "catalog" not in memo:  # one read of the catalog (and one index of it) for the whole batch
        cat, _ = own_actuators.actuator_catalog_for(session, config.tenant_id)
        memo["catalog"] = (cat, {(str(cat.supplier[i]), str(cat.sku[i])): i for i in range(len(cat))})
    cat, index = memo["catalog"]
    if (supplier, sku) not in index:
        raise _field_error("actuator_sku", f"{sku} is no longer in the actuator catalog, so nothing can be predicted.")
    prediction = _predict_item(session, config, cat, index[(supplier, sku)], supplier, sku, pressure)
    prediction["fluid"] = aggregates.fluid_of(config)  # the fluid predicted for, as it was (its aggregate's key)
    return prediction


def _emit_created(session: Session, row: Feedback) -> None:
    """The `feedback.created` webhook, sent after the commit."""
    from aerospec.webhooks import services as webhooks

    shown = feedback_to_dict(row)  # the API's view of it, so the webhook and the API name fields alike
    keys = ("id", "configuration_id", "actuator_sku", "actuator_supplier", "procurement_id", "pressure_bar")
    data = {key: shown[key] for key in (*keys, "pass_fail", "created_at")}
    measured = (*QUANTITIES, "droplet_size_range_um")
    data["measured"] = {name: shown[name] for name in measured if shown[name] is not None}
    webhooks.emit(session, row.tenant_id, "feedback.created", data)


def get_feedback(session: Session, tenant, feedback_id: uuid.UUID | str) -> Feedback:
    """One lab result of the tenant, or NotFound."""
    return get_owned(session, Feedback, tenant, feedback_id, "No such lab result.")


def update_feedback(session: Session, tenant, row: Feedback, data: Mapping) -> Feedback:
    """Correct what was measured (FIELDS, procurement_id); the stored prediction stays. Does not commit."""
    merged = {name: getattr(row, name) for name in FIELDS} | {k: v for k, v in data.items() if k in FIELDS}
    _check_measured(merged)
    if "procurement_id" in data:
        pid = data["procurement_id"]
        row.procurement_id = None if pid is None else procurements.get_procurement(session, tenant, pid).id
    for name in FIELDS:
        if name in data:
            setattr(row, name, data[name])
    session.flush()
    aggregates.enqueue_refresh(session, row)
    return row


def list_feedback(session: Session, tenant, config_id: uuid.UUID | str, *, page: int = 1, per_page: int = 25) -> Page:
    """A page of one configuration's lab results, newest first (NotFound for another workspace's)."""
    config = configs.get_configuration(session, tenant, config_id)
    return _page_of(session, (Feedback.tenant_id == tenant.id, Feedback.configuration_id == config.id), page, per_page)


def _page_of(session: Session, where: tuple, page: int, per_page: int) -> Page:
    """One page of the lab results matching `where`, newest first."""
    total = session.scalar(select(func.count(Feedback.id)).where(*where)) or 0
    page, offset = window(total, page, per_page)
    rows = list(
        session.scalars(
            select(Feedback)
            .where(*where)
            .order_by(Feedback.created_at.desc(), Feedback.id)
            .offset(offset)
            .limit(per_page)
        )
    )
    return Page(rows, total, page, per_page)


def comparison(row: Feedback) -> list[dict]:
    """Predicted beside measured for each quantity the lab measured, with the error and whether it fell in the band.

    error = measured − predicted (in the quantity's unit); error_pct relative to the prediction;
    in_band: inside the stored 90 % band (None where the prediction had no band or no value).
    """
    out = []
    methods = row.prediction.get("method") or {}
    for field, key in QUANTITIES.items():
        measured = getattr(row, field)
        if measured is None:
            continue
        predicted = row.prediction.get(key)
        low, high = row.prediction.get(f"{key}_low"), row.prediction.get(f"{key}_high")
        item = {
            "quantity": key,
            "measured": measured,
            "predicted": predicted,
            "band_low": low,
            "band_high": high,
            # The engine names one method for all drop sizes (under dv50_um): they come from one distribution.
            "method": methods.get(key) or (methods.get("dv50_um") if key in SIZES else None),
            "error": None,
            "error_pct": None,
            "in_band": None,
        }
        if predicted is not None:
            item["error"] = round(measured - predicted, 6)
            item["error_pct"] = round(100.0 * (measured - predicted) / predicted, 2) if predicted else None
            if low is not None and high is not None:
                item["in_band"] = bool(low <= measured <= high)
        out.append(item)
    return out


def feedback_to_dict(row: Feedback) -> dict:
    """A lab result as the API shows it: what was measured, the stored prediction, and the comparison."""
    out = {
        "id": str(row.id),
        "configuration_id": str(row.configuration_id),
        "actuator_sku": row.actuator_sku,
        "actuator_supplier": row.actuator_supplier,
        "procurement_id": str(row.procurement_id) if row.procurement_id else None,
        "pressure_bar": row.pressure_bar,
        **{name: getattr(row, name) for name in FIELDS},
        "created_by_id": str(row.created_by_id) if row.created_by_id else None,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "prediction": row.prediction,
        "comparison": comparison(row),
    }
    return out


def list_order_feedback(session: Session, tenant, procurement_id: uuid.UUID | str, *, page: int = 1,
                        per_page: int = 25) -> Page:  # fmt: skip
    """A page of the lab results recorded against one order, newest first (NotFound for another workspace's)."""
    procurement = procurements.get_procurement(session, tenant, procurement_id)
    return _page_of(
        session, (Feedback.tenant_id == tenant.id, Feedback.procurement_id == procurement.id), page, per_page
    )
