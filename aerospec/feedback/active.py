"""Which correction models a workspace's predictions use now, and applying them (read side of the registry).

Apart from aerospec.feedback.learning (training) so the wizard and the API can ask for the active
models without importing what training needs. The stack is the shared model, then the workspace's
own layer; both are the active rows of the registry.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from aerospec.engine import Fluid, Prediction, correction
from aerospec.errors import Conflict
from aerospec.feedback.models import CorrectionModel, CustomModel, TenantCorrectionModel
from aerospec.models import get_owned
from aerospec.tenancy.scoping import current_tenant_id


def active_shared(session: Session) -> CorrectionModel | None:
    return session.scalar(select(CorrectionModel).where(CorrectionModel.status == "active"))


def active_layer(session: Session, tenant) -> TenantCorrectionModel | None:
    return session.scalar(
        select(TenantCorrectionModel).where(
            TenantCorrectionModel.tenant_id == tenant.id, TenantCorrectionModel.status == "active"
        )
    )


@dataclass
class Stack:
    """The models a workspace's predictions use now, in order, and how the version reads."""

    models: list[dict] = field(default_factory=list)
    version: str | None = None


def version_label(shared: CorrectionModel | None, layer: TenantCorrectionModel | None) -> str | None:
    """ "shared v3 + workspace v2", "shared v3", "workspace v1", or None (physics alone)."""
    parts = []
    if shared is not None:
        parts.append(f"shared v{shared.version}")
    if layer is not None:
        parts.append(f"workspace v{layer.version}")
    return " + ".join(parts) or None


def stack_for(session: Session, tenant) -> Stack:
    """The active shared model and the workspace's active layer (tenant None: the shared model alone)."""
    shared = active_shared(session)
    layer = active_layer(session, tenant) if tenant is not None else None
    models = [m.params for m in (shared, layer) if m is not None]
    return Stack(models, version_label(shared, layer))


def stack_for_current(session: Session) -> Stack:
    """The stack of the workspace in context (tenancy.scoping), or the shared model alone without one."""
    tenant_id = current_tenant_id()
    return stack_for(session, _Tenant(tenant_id) if tenant_id else None)


@dataclass(frozen=True)
class _Tenant:
    id: uuid.UUID


def correct(
    stack: Stack,
    prediction: Prediction,
    keys: Sequence[str | None],
    families: Sequence[str | None],
    fluid: Fluid,
    orifice_mm: Sequence[float] | None = None,
) -> tuple[Prediction, correction.Applied]:
    """The prediction corrected by the stack, and per item what was applied (correction.apply)."""
    return correction.apply(
        stack.models, prediction, keys, families, fluid, version=stack.version, orifice_mm=orifice_mm
    )


# ---- custom models (feedback.custom trains them; predictions and the wizard's picker read them here)

MISSING_MODEL = "No such custom model in this workspace."


def custom_model(session: Session, tenant, model_id) -> CustomModel:
    """One of the workspace's custom models (404 for an unknown id or another workspace's)."""
    return get_owned(session, CustomModel, tenant, model_id, MISSING_MODEL)


def custom_stack(session: Session, tenant, model_id) -> tuple[Stack, CustomModel]:
    """The stack a prediction with this model uses (the model alone, over physics): 404 / 409 when not usable."""
    row = custom_model(session, tenant, model_id)
    if row.status != "ready":
        raise Conflict(
            f"Custom model “{row.name}” is {row.status}"
            + (f" ({row.progress} %)" if row.status == "training" else f": {row.message}")
            + "; predict with it once it is ready."
        )
    return Stack([row.params], f"custom “{row.name}”"), row


def ready_custom_models(session: Session, tenant) -> list[CustomModel]:
    """The workspace's models a prediction can use (ready), newest first: the wizard's model picker."""
    query = (
        select(CustomModel)
        .where(CustomModel.tenant_id == tenant.id, CustomModel.status == "ready")
        .order_by(CustomModel.created_at.desc())
    )
    return list(session.scalars(query.limit(100)))
