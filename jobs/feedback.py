"""Correction-model training: the shared model and the workspaces' own layers (queue `ml`)."""

from __future__ import annotations

from aerospec.extensions import db
from aerospec.feedback import learning


def train_correction_models(tenant_id: str | None = None) -> dict:
    """Train the shared model, then one workspace's layer (tenant_id) or every workspace's; promote what beats
    the model in use on the newest results (idempotent: a re-run trains again on the same results and promotes
    only if strictly better)."""
    return learning.train_all(db.session, tenant_id)


def train_custom_model(model_id: str, tenant_id: str) -> dict:
    """Train one workspace's custom model in its tenant scope (ready with held-out metrics, or failed with why)."""
    from aerospec.feedback import custom

    return custom.train(db.session, model_id, tenant_id)
