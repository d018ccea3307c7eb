"""Custom models (feature custom_models): a workspace's own model trained on a selection of its lab results.

Two kinds, both on ln(measured / physics) per quantity, so a custom model replaces the correction stack
(it is applied over physics alone, never over the shared model):

- `shrinkage`: aerospec.engine.correction.train as is (SKU → family → global, within the seen range).
- `gradient_boosting`: aerospec.engine.boosting (scikit-learn boosted trees on the fluid, pressure, orifice and
  family), stored as JSON arrays it evaluates itself (never pickled), within the seen range.

Either way the metrics say whether it beats the model in use (the shared stack) on the held-out results;
one that does not is still kept, flagged ("beats_in_use": false and a note), so the person sees why not to use it.

Training runs as an RQ job on the `ml` queue (jobs.feedback.train_custom_model), in the workspace's tenant
scope: its rows hold nothing of any other workspace. The selection is split by time (correction.split_by_time):
the model learns on the older results and is scored on the newest against the shared model (the stack the
workspace's predictions use now) and physics alone.
"""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from pydantic import Field, field_validator, model_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aerospec import queueing
from aerospec.api.schemas import Body
from aerospec.engine import boosting, correction
from aerospec.errors import ValidationFailed
from aerospec.feedback import active, learning
from aerospec.feedback.models import CustomModel, Feedback
from aerospec.models import utcnow
from aerospec.tenancy.scoping import tenant_scope

#: Fewest results a selection must hold: MIN_TRAINING_ROWS to learn on and one held out.
MIN_ROWS = learning.MIN_TRAINING_ROWS + 1
#: Per model type: (fewest results in a selection, fewest to learn from).
MIN_FOR = {
    "shrinkage": (MIN_ROWS, learning.MIN_TRAINING_ROWS),
    "gradient_boosting": (boosting.MIN_ROWS, boosting.MIN_TRAINING_ROWS),
}
MODEL_TYPES = tuple(MIN_FOR)
MAX_IDS = 10_000
log = logging.getLogger(__name__)
MISSING = active.MISSING_MODEL
NOT_BETTER = "It does not beat the model in use on the held-out results: predictions with it would likely be no better."


class TrainCustomModelBody(Body):
    """Train a custom model on a selection of the workspace's lab results (ids, or filters, or both)."""

    name: str = Field(max_length=80)  # blank: "Give the model a name." (the validator), not a length message
    model_type: str = "shrinkage"
    feedback_ids: list[str] | None = Field(default=None, max_length=MAX_IDS)
    configuration_id: str | None = None
    sku: str | None = Field(default=None, max_length=40)
    fluid: str | None = Field(default=None, max_length=120)  # the configurations' fluid name
    date_from: str | None = None
    date_to: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Give the model a name.")
        return value.strip()

    @field_validator("model_type")
    @classmethod
    def _type(cls, value: str) -> str:
        if value not in MODEL_TYPES:
            raise ValueError("Must be shrinkage or gradient_boosting.")
        return value

    @field_validator("feedback_ids")
    @classmethod
    def _ids(cls, value):
        if value is None:
            return value
        for item in value:
            try:
                uuid.UUID(item)
            except ValueError as exc:
                raise ValueError(f"“{item[:40]}” is not a lab result id.") from exc
        return [str(uuid.UUID(i)) for i in value]

    @field_validator("configuration_id")
    @classmethod
    def _config(cls, value):
        if value is None:
            return value
        try:
            return str(uuid.UUID(value))
        except ValueError as exc:
            raise ValueError("Not a configuration id.") from exc

    @field_validator("date_from", "date_to")
    @classmethod
    def _date(cls, value):
        if value is None:
            return value
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError as exc:
            raise ValueError("Must be a date, YYYY-MM-DD.") from exc

    @model_validator(mode="after")
    def _order(self):
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("date_from must not be after date_to.")
        return self

    def selection(self) -> dict:
        keys = ("feedback_ids", "configuration_id", "sku", "fluid", "date_from", "date_to")
        return {k: getattr(self, k) for k in keys if getattr(self, k) not in (None, [])}


def selection_where(tenant, selection: dict) -> list:
    """The WHERE clauses of a selection, always inside the tenant (ids, configuration, SKU, dates)."""
    where = [Feedback.tenant_id == tenant.id]
    if selection.get("feedback_ids"):
        where.append(Feedback.id.in_([uuid.UUID(i) for i in selection["feedback_ids"]]))
    if selection.get("configuration_id"):
        where.append(Feedback.configuration_id == uuid.UUID(selection["configuration_id"]))
    if selection.get("sku"):
        where.append(Feedback.actuator_sku == selection["sku"])
    if selection.get("fluid"):
        from aerospec.configurations.models import Configuration

        named = select(Configuration.id).where(
            Configuration.tenant_id == tenant.id, Configuration.fluid_name == selection["fluid"]
        )
        where.append(Feedback.configuration_id.in_(named))
    if selection.get("date_from"):
        where.append(Feedback.created_at >= datetime.combine(date.fromisoformat(selection["date_from"]), time.min, UTC))
    if selection.get("date_to"):
        end = date.fromisoformat(selection["date_to"]) + timedelta(days=1)
        where.append(Feedback.created_at < datetime.combine(end, time.min, UTC))
    return where


def eta_seconds(n: int, model_type: str) -> int:
    """A rough time to train n results (bench.custom_models on this machine: shrinkage ≈ 10k rows/s, boosting ≈ 1k)."""
    per_second = 10_000 if model_type == "shrinkage" else 1_000
    return max(2, math.ceil(2 + n / per_second))


def start(session: Session, tenant, member, *, name: str, model_type: str, selection: dict) -> tuple[CustomModel, int]:
    """Create the model row (status training) and enqueue its training when the session commits; (row, eta)."""
    where = selection_where(tenant, selection)
    count = session.scalar(select(func.count(Feedback.id)).where(*where)) or 0
    errors = {}
    if selection.get("feedback_ids"):
        found = session.scalar(select(func.count(Feedback.id)).where(*where[:2])) or 0
        missing = len(set(selection["feedback_ids"])) - found
        if missing:
            errors["feedback_ids"] = [f"{missing} of these ids are not lab results of this workspace."]
    least, learn = MIN_FOR[model_type]
    if not errors and count < least:
        kind = "a gradient-boosting model" if model_type == "gradient_boosting" else "a model"
        errors["selection"] = [
            f"The selection holds {count} lab result{'s' if count != 1 else ''}; {kind} needs at least {least} "
            f"({learn} to learn from and the newest held out to score it)."
        ]
    if errors:
        raise ValidationFailed("Check the selection of lab results.", field_errors=errors)
    row = CustomModel(
        tenant_id=tenant.id,
        name=name,
        model_type=model_type,
        status="training",
        progress=0,
        selection=selection,
        created_by_id=member.user_id if member is not None else None,
    )
    session.add(row)
    session.flush()
    queueing.enqueue(
        session,
        "jobs.feedback.train_custom_model",
        str(row.id),
        str(tenant.id),
        queue="ml",
        retries=0,
        job_id=f"train-custom-{row.id}",
    )
    return row, eta_seconds(count, model_type)


def _set(session: Session, row: CustomModel, **values) -> None:
    for key, value in values.items():
        setattr(row, key, value)
    session.commit()


def train(session: Session, model_id: str, tenant_id: str) -> dict:
    """The job's body: train one custom model in its tenant's scope; ready with metrics, or failed with why."""
    tid = uuid.UUID(tenant_id)
    with tenant_scope(session, tid):
        query = select(CustomModel).where(CustomModel.id == uuid.UUID(model_id), CustomModel.tenant_id == tid)
        row = session.scalar(query)
        if row is None:
            return {"status": "missing"}
        if row.status == "ready":
            return {"status": "ready"}  # idempotent: a re-run does not train again
        try:
            _set(session, row, progress=10)
            rows = learning.training_rows(session, selection_where(_Scope(tid), row.selection or {}))
            train_rows, held = correction.split_by_time(rows)
            least, learn = MIN_FOR.get(row.model_type, MIN_FOR["shrinkage"])
            if len(train_rows) < learn or not held:
                raise ValueError(
                    f"The selection now holds {len(rows)} usable lab results; this model needs at least {least}."
                )
            _set(session, row, progress=40)
            if row.model_type == "gradient_boosting":
                # 40 → 80 % as each quantity's trees are fitted (the page and the GET show it).
                params = boosting.train(
                    train_rows, held, progress=lambda done: _set(session, row, progress=40 + int(40 * done))
                )
            else:
                params = correction.train(train_rows)
            _set(session, row, progress=80)
            metrics = score(session, tid, params, held)
            _set(
                session,
                row,
                params=params,
                metrics=metrics,
                rows_used=len(train_rows),
                rows_held_out=len(held),
                trained_at=utcnow(),
                status="ready",
                progress=100,
                message=None,
            )
        except Exception as exc:  # noqa: BLE001 - the person sees why it failed; the worker log has the trace
            log.exception("custom model %s failed to train", model_id)
            session.rollback()
            row = session.get(CustomModel, uuid.UUID(model_id))
            _set(session, row, status="failed", message=f"Training failed: {exc}", progress=100)
        return {"status": row.status, "metrics": row.metrics}


@dataclass(frozen=True)
class _Scope:
    id: uuid.UUID


def score(session: Session, tenant_id: uuid.UUID, params: dict, held: list[dict]) -> dict:
    """Held-out RMS ln errors (≈ relative errors) per quantity of this model, the shared model and physics alone."""
    shared = active.stack_for(session, _Scope(tenant_id))
    scores = {
        "custom": correction.evaluate([params], held),
        "shared": correction.evaluate(shared.models, held),
        "physics": correction.evaluate([], held),
    }
    quantities = {
        q: {"n": v["n"], **{name: scores[name][q]["rmse_ln"] for name in scores if q in scores[name]}}
        for q, v in scores["physics"].items()
    }
    total = {name: correction.total_error(s) for name, s in scores.items()}
    beats = not math.isnan(total["custom"]) and total["custom"] < total["shared"] - 1e-12
    return {
        "beats_in_use": beats,
        "note": None if beats else NOT_BETTER,
        "held_out": len(held),
        "shared_version": shared.version or "physics alone",
        "quantities": quantities,
        "overall": {name: (None if math.isnan(t) else math.sqrt(t)) for name, t in total.items()},
        "unit": "RMS of ln(measured / predicted) on the newest results of the selection (0.1 ≈ 10 % error)",
    }


get = active.custom_model


def list_for(session: Session, tenant, *, page: int = 1, per_page: int = 50):
    query = select(CustomModel).where(CustomModel.tenant_id == tenant.id).order_by(CustomModel.created_at.desc())
    return session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all(), (
        session.scalar(select(func.count(CustomModel.id)).where(CustomModel.tenant_id == tenant.id)) or 0
    )


stack_of = active.custom_stack


def to_dict(row: CustomModel) -> dict:
    return {
        "model_id": str(row.id),
        "name": row.name,
        "model_type": row.model_type,
        "status": row.status,
        "progress": row.progress,
        "message": row.message,
        "selection": row.selection,
        "rows_used": row.rows_used,
        "rows_held_out": row.rows_held_out,
        "metrics": row.metrics,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "trained_at": row.trained_at.isoformat() if row.trained_at else None,
    }


def parse(data: dict) -> TrainCustomModelBody:
    """The page's form fields validated as the API validates its body (ValidationFailed with field messages)."""
    from pydantic import ValidationError

    from aerospec.api.schemas import field_errors

    try:
        return TrainCustomModelBody.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed("Some fields need attention.", field_errors=field_errors(exc)) from exc


def count_selection(session: Session, tenant, selection: dict) -> int:
    """How many of the workspace's lab results a selection holds (the form shows it as it changes)."""
    return session.scalar(select(func.count(Feedback.id)).where(*selection_where(tenant, selection))) or 0


def selection_choices(session: Session, tenant) -> dict[str, list[str]]:
    """The fluids and actuator SKUs the workspace has lab results for (the form's choices)."""
    from aerospec.configurations.models import Configuration

    skus = session.scalars(
        select(Feedback.actuator_sku).where(Feedback.tenant_id == tenant.id).distinct().order_by(Feedback.actuator_sku)
    ).all()
    fluids = session.scalars(
        select(Configuration.fluid_name)
        .join(Feedback, Feedback.configuration_id == Configuration.id)
        .where(Feedback.tenant_id == tenant.id, Configuration.fluid_name.is_not(None))
        .distinct()
        .order_by(Configuration.fluid_name)
    ).all()
    return {"skus": list(skus), "fluids": list(fluids)}
