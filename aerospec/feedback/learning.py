"""The correction model that learns from lab results: training, the registry, promotion and roll-back.

The maths is aerospec.engine.correction (pure); this module reads the results it learns from,
keeps every trained model in the registry (correction_models for the shared model,
tenant_correction_models for each workspace's own layer) and says which models a prediction uses.

- The shared model learns from the results of every workspace whose "share our lab results"
  setting is on (Tenant.share_lab_results), read across tenants through the explicit, logged
  bypass (SECURITY: a platform job; an opted-out workspace's rows are never selected).
- Each workspace's own layer learns from that workspace's results alone (read in its tenant
  scope), over the shared model: so a workspace's results always improve its own predictions,
  and its parameters hold nothing of any other workspace.
- Split by time: the newest HOLDOUT_FRACTION of the results are held out; a candidate is trained
  on the rest and becomes active only if its error on the held-out results is lower than that of
  the model in use (physics alone when none is). Otherwise it is kept as "rejected", with both errors.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aerospec import queueing
from aerospec.engine import correction
from aerospec.errors import NotFound, ValidationFailed
from aerospec.feedback.active import active_layer, active_shared, version_label
from aerospec.feedback.models import CorrectionModel, Feedback, TenantCorrectionModel
from aerospec.models import utcnow
from aerospec.tenancy.models import Tenant
from aerospec.tenancy.scoping import tenant_scope, unscoped

log = logging.getLogger(__name__)

#: Fewest results a candidate is trained on (besides at least one held out).
MIN_TRAINING_ROWS = 3
#: Measured field of a Feedback row -> the quantity (correction.QUANTITIES, prediction_item keys).
MEASURED = {
    "flow_rate_actual_ml_min": "flow_ml_min",
    "spray_cone_angle_actual": "cone_deg",
    "dv10_um": "dv10_um",
    "dv50_um": "dv50_um",
    "dv90_um": "dv90_um",
    "smd_um": "smd_um",
}


# ---- the results the models learn from


def _families(session: Session) -> dict[str, str]:
    """sku_key -> family, as the ranking sees it (the catalog's own, or inferred from type and size)."""
    from aerospec.catalog import services as catalog
    from aerospec.configurations import wizard

    cat, _ = catalog.actuator_catalog(session)
    families, _ = wizard.catalog_families(cat)
    return {correction.sku_key(str(s), str(k)): str(f) for s, k, f in zip(cat.supplier, cat.sku, families, strict=True)}


def _orifices(session: Session) -> dict[str, float]:
    """sku_key -> orifice diameter (mm), a feature of the gradient-boosting custom model."""
    from aerospec.catalog import services as catalog

    cat, _ = catalog.actuator_catalog(session)
    pairs = zip(cat.supplier, cat.sku, cat.orifice_mm, strict=True)
    return {correction.sku_key(str(s), str(k)): float(o) for s, k, o in pairs}


def _physics(prediction: dict, quantity: str):
    """The physics value the stored prediction started from (older snapshots were physics alone)."""
    physics = prediction.get("physics") or {}
    return physics.get(quantity, prediction.get(quantity))


def results_query(where):
    """Lab results selected by `where`, oldest first, each with its configuration's fluid properties."""
    from aerospec.configurations.models import Configuration

    return (
        select(
            Feedback,
            Configuration.fluid_viscosity_cP,
            Configuration.fluid_density_kg_m3,
            Configuration.fluid_surface_tension_mN_m,
        )
        .join(Configuration, Configuration.id == Feedback.configuration_id)
        .where(*where)
        .order_by(Feedback.created_at, Feedback.id)
    )


def training_rows(session: Session, where, families: dict[str, str] | None = None) -> list[dict]:
    """Lab results selected by `where` as correction.train rows (the caller opens the right tenant scope)."""
    from aerospec.catalog import own_actuators

    families = _families(session) if families is None else families
    orifices = _orifices(session)
    rows = []
    for fb, viscosity, density, tension in session.execute(results_query(where)):
        key = correction.sku_key(own_actuators.model_supplier(fb.actuator_supplier, fb.tenant_id), fb.actuator_sku)
        prediction = fb.prediction or {}
        measured = {q: getattr(fb, name) for name, q in MEASURED.items() if getattr(fb, name) is not None}
        if not measured:
            continue
        rows.append(
            {
                "id": str(fb.id),
                "tenant_id": str(fb.tenant_id),
                "key": key,
                "family": families.get(key),
                "orifice_mm": orifices.get(key),
                "pressure_bar": fb.pressure_bar,
                "viscosity_cp": viscosity,
                "density_kg_m3": density,
                "surface_tension_mn_m": tension,
                "created_at": fb.created_at,
                "measured": measured,
                "predicted": {q: _physics(prediction, q) for q in measured},
            }
        )
    return rows


def shared_rows(session: Session, families: dict[str, str] | None = None) -> list[dict]:
    """Every sharing workspace's results. SECURITY: crosses tenants (platform job), opted-out ones left out."""
    with unscoped(session, "correction training: lab results of workspaces that share them (platform job)"):
        sharing = select(Tenant.id).where(Tenant.share_lab_results.is_(True), Tenant.deleted_at.is_(None))
        return training_rows(session, (Feedback.tenant_id.in_(sharing),), families)


# ---- the registry


def _next_version(session: Session, model, tenant_id=None) -> int:
    query = select(func.max(model.version))
    if tenant_id is not None:
        query = query.where(model.tenant_id == tenant_id)
    return int(session.scalar(query) or 0) + 1


def _store(session, model, verdict, candidate, train_rows, held, now, note, tenant_id=None):
    status = "active" if verdict["better"] else "rejected"
    kwargs = {"tenant_id": tenant_id} if tenant_id is not None else {}
    row = model(
        version=_next_version(session, model, tenant_id),
        status=status,
        trained_at=now,
        trained_through=max((r["created_at"] for r in train_rows + held), default=None),
        rows_used=len(train_rows),
        rows_held_out=len(held),
        heldout_error=verdict,
        params=candidate,
        note=note if status == "rejected" else None,
        promoted_at=now if status == "active" else None,
        **kwargs,
    )
    if status == "active":
        query = select(model).where(model.status == "active")
        if tenant_id is not None:
            query = query.where(model.tenant_id == tenant_id)
        for old in session.scalars(query):
            old.status, old.retired_at = "retired", now
            old.note = f"Replaced by version {row.version}."
    session.add(row)
    session.flush()
    return row


def train_shared(session: Session, now: datetime | None = None, families=None) -> CorrectionModel | None:
    """Train a shared candidate on the sharing workspaces' older results; promote it if it beats the one in use
    on the newest. None when there are too few results. Does not commit."""
    now = now or utcnow()
    rows = shared_rows(session, families)
    in_use = active_shared(session)
    # SECURITY: a model in use that learned from a workspace which has stopped sharing goes out of use now,
    # better or not: replaced by this training's candidate, or by physics alone when there is none.
    sharing = {r["tenant_id"] for r in rows}
    stale = in_use is not None and bool(set(in_use.params.get("sources") or []) - sharing)
    train_rows, held = correction.split_by_time(rows)
    if len(train_rows) < MIN_TRAINING_ROWS or not held:
        if stale:
            in_use.status, in_use.retired_at = "retired", now
            in_use.note = "Retired: it learned from a workspace that no longer shares its lab results."
            session.flush()
        return None
    candidate = correction.train(train_rows)
    candidate["sources"] = sorted({r["tenant_id"] for r in train_rows})  # which workspaces it learned from
    verdict = correction.compare([candidate], [in_use.params] if in_use else [], held)
    verdict["against"] = f"shared v{in_use.version}" if in_use else "physics alone"
    note = f"Not better than {verdict['against']} on the {len(held)} newest results."
    if stale and not verdict["better"]:
        verdict["better"] = True
        verdict["forced"] = f"shared v{in_use.version} learned from a workspace that no longer shares its lab results"
    return _store(session, CorrectionModel, verdict, candidate, train_rows, held, now, note)


def train_layer(session: Session, tenant: Tenant, now: datetime | None = None, families=None):
    """Train the workspace's own layer over the active shared model on its older results; promote it if the
    shared model plus it beats what the workspace uses now on its newest results. Call in its tenant scope."""
    now = now or utcnow()
    rows = training_rows(session, (Feedback.tenant_id == tenant.id,), families)
    train_rows, held = correction.split_by_time(rows)
    if len(train_rows) < MIN_TRAINING_ROWS or not held:
        return None
    shared = active_shared(session)
    base = [shared.params] if shared else []
    candidate = correction.train(correction.corrected_rows(base, train_rows))
    # A workspace that does not share: its results are not in the shared model, so they add to its counts.
    candidate["disjoint"] = not tenant.share_lab_results
    layer = active_layer(session, tenant)
    in_use = base + ([layer.params] if layer else [])
    verdict = correction.compare(base + [candidate], in_use, held)
    verdict["against"] = version_label(shared, layer) or "physics alone"
    note = f"Not better than {verdict['against']} on the {len(held)} newest results."
    return _store(session, TenantCorrectionModel, verdict, candidate, train_rows, held, now, note, tenant.id)


def train_all(session: Session, tenant_id: uuid.UUID | str | None = None, now: datetime | None = None) -> dict:
    """The shared model, then the layer of one workspace (tenant_id) or of every workspace with results.

    Commits after each model so one workspace's failure costs no one else's. Returns what was trained.
    """
    now = now or utcnow()
    families = _families(session)
    shared = train_shared(session, now, families)
    report = {"shared": _summary(shared), "workspaces": {}}
    session.commit()
    if tenant_id is not None:
        tenant_ids = [uuid.UUID(str(tenant_id))]
    else:
        with unscoped(session, "correction training: list the workspaces that have lab results (platform job)"):
            tenant_ids = list(session.scalars(select(Feedback.tenant_id).distinct()))
    for tid in tenant_ids:
        with tenant_scope(session, tid):
            tenant = session.get(Tenant, tid)
            if tenant is None or tenant.deleted_at is not None:
                continue
            layer = train_layer(session, tenant, now, families)
            report["workspaces"][str(tid)] = _summary(layer)
            session.commit()
    return report


def _summary(row) -> dict | None:
    if row is None:
        return None
    return {"version": row.version, "status": row.status, "heldout_error": row.heldout_error}


def after_result(session: Session, tenant) -> bool:
    """Enqueue training after every FEEDBACK_TRAIN_EVERY_N results of a workspace (on commit); True if enqueued."""
    every = int(current_app.config.get("FEEDBACK_TRAIN_EVERY_N") or 0)
    if every <= 0:
        return False
    count = session.scalar(select(func.count(Feedback.id)).where(Feedback.tenant_id == tenant.id)) or 0
    if count == 0 or count % every:
        return False
    queueing.enqueue(
        session,
        "jobs.feedback.train_correction_models",
        str(tenant.id),
        queue="ml",
        job_id=f"train-correction-{tenant.id}-{count}",
    )
    return True


# ---- promote and roll back (platform admins: CLI)


def list_models(session: Session, tenant_id: uuid.UUID | None = None) -> list:
    """The shared registry (tenant_id None) or one workspace's layers, newest first."""
    if tenant_id is None:
        return list(session.scalars(select(CorrectionModel).order_by(CorrectionModel.version.desc())))
    with tenant_scope(session, tenant_id):
        return list(
            session.scalars(
                select(TenantCorrectionModel)
                .where(TenantCorrectionModel.tenant_id == tenant_id)
                .order_by(TenantCorrectionModel.version.desc())
            )
        )


def promote(session: Session, version: int, tenant_id: uuid.UUID | None = None, *, reason: str) -> object:
    """Make one version the active model of its scope (the active one is retired). Does not commit."""
    model = CorrectionModel if tenant_id is None else TenantCorrectionModel
    with tenant_scope(session, tenant_id) if tenant_id else contextlib.nullcontext():
        query = select(model).where(model.version == version)
        if tenant_id is not None:
            query = query.where(model.tenant_id == tenant_id)
        row = session.scalar(query)
        if row is None:
            raise NotFound(f"No correction model version {version} in that scope.")
        if row.status == "active":
            raise ValidationFailed(f"Version {version} is already the active model.")
        now = utcnow()
        active = select(model).where(model.status == "active")
        if tenant_id is not None:
            active = active.where(model.tenant_id == tenant_id)
        for old in session.scalars(active):
            old.status, old.retired_at, old.note = "retired", now, f"Replaced by version {version} by hand: {reason}"
        row.status, row.promoted_at, row.retired_at = "active", now, None
        row.note = f"Promoted by hand: {reason}"
        session.flush()
        return row


def roll_back(session: Session, tenant_id: uuid.UUID | None = None, *, reason: str) -> object | None:
    """Retire the active model and put back the one active before it (None: physics alone). Does not commit."""
    model = CorrectionModel if tenant_id is None else TenantCorrectionModel
    with tenant_scope(session, tenant_id) if tenant_id else contextlib.nullcontext():
        scope = (model.tenant_id == tenant_id,) if tenant_id is not None else ()
        active = session.scalar(select(model).where(model.status == "active", *scope))
        if active is None:
            raise ValidationFailed("No model is active in that scope: predictions already use physics alone.")
        previous = session.scalar(
            select(model)
            .where(model.status == "retired", model.promoted_at.is_not(None), model.version < active.version, *scope)
            .order_by(model.version.desc())
        )
        now = utcnow()
        active.status, active.retired_at, active.note = "retired", now, f"Rolled back: {reason}"
        if previous is not None:
            previous.status, previous.retired_at = "active", None
            previous.note = f"Restored by roll-back of version {active.version}: {reason}"
        session.flush()
        return previous
