"""`flask feedback models list|train|promote|rollback`: the correction-model registry from the command line;
`flask feedback rebuild-aggregates`: the lab-result aggregates recomputed from the results themselves.

Platform operators only (the CLI runs with the database's credentials); promote and roll back are
written to the platform audit log (admin_email "cli").
"""

from __future__ import annotations

import json
import uuid

import click
from flask.cli import AppGroup

feedback_cli = AppGroup("feedback", help="Lab results and the correction model that learns from them.")
models_cli = AppGroup("models", help="The correction models: list, train, promote, roll back.")
feedback_cli.add_command(models_cli)

_WORKSPACE = click.option("--workspace", "tenant_id", default=None, help="A workspace id: its own layer, not shared.")


def _pct(x) -> str:
    return "—" if x is None else f"{100 * x:.1f} %"


def _tenant_uuid(tenant_id: str | None) -> uuid.UUID | None:
    if tenant_id is None:
        return None
    try:
        return uuid.UUID(tenant_id)
    except ValueError as exc:
        raise click.BadParameter(f"{tenant_id!r} is not a workspace id (a UUID).", param_hint="--workspace") from exc


def describe(row) -> str:
    """One registry row in a line: version, status, rows, held-out error before → after per quantity."""
    err = row.heldout_error or {}
    parts = [
        f"{q} {_pct(v.get('before'))} → {_pct(v.get('after'))} (n={v.get('n')})"
        for q, v in (err.get("quantities") or {}).items()
    ]
    return (
        f"v{row.version} {row.status:<9} trained {row.trained_at:%Y-%m-%d %H:%M} UTC on {row.rows_used} results, "
        f"judged on the {row.rows_held_out} newest against {err.get('against', '?')}: "
        f"all {_pct(err.get('before'))} → {_pct(err.get('after'))}; " + "; ".join(parts)
    )


@models_cli.command("list")
@_WORKSPACE
def list_models(tenant_id: str | None) -> None:
    """The registry, newest first, with each model's held-out error (RMS of ln measured/predicted)."""
    from aerospec.extensions import db
    from aerospec.feedback import learning

    rows = learning.list_models(db.session, _tenant_uuid(tenant_id))
    if not rows:
        click.echo("No correction model has been trained yet: predictions use physics alone.")
    for row in rows:
        click.echo(describe(row))


@models_cli.command("train")
@_WORKSPACE
def train(tenant_id: str | None) -> None:
    """Train now (the shared model, then one workspace's layer or all of them) and print what was promoted."""
    from aerospec.extensions import db
    from aerospec.feedback import learning

    report = learning.train_all(db.session, _tenant_uuid(tenant_id))
    click.echo(json.dumps(report, indent=2, default=str))


def _audit(action: str, row, tenant_id, reason: str) -> None:
    from aerospec.admin import audit
    from aerospec.extensions import db

    audit.record(
        db.session,
        action,
        admin=None,
        admin_email="cli",
        target_type="correction_model",
        target_id=str(row.id) if row is not None else None,
        tenant_id=tenant_id,
        details={"version": getattr(row, "version", None), "workspace": str(tenant_id) if tenant_id else "shared"},
        reason=reason,
    )


@models_cli.command("promote")
@click.argument("version", type=int)
@_WORKSPACE
@click.option("--reason", required=True, help="Why (kept in the registry and the platform audit log).")
def promote(version: int, tenant_id: str | None, reason: str) -> None:
    """Make VERSION the active model of its scope (the active one is retired)."""
    from aerospec.errors import NotFound, ValidationFailed
    from aerospec.extensions import db
    from aerospec.feedback import learning

    tid = _tenant_uuid(tenant_id)
    try:
        row = learning.promote(db.session, version, tid, reason=reason)
    except (NotFound, ValidationFailed) as exc:
        raise click.ClickException(exc.message) from exc
    _audit("correction_model.promoted", row, tid, reason)
    db.session.commit()
    click.echo(f"Version {version} is now the active model.")


@models_cli.command("rollback")
@_WORKSPACE
@click.option("--reason", required=True, help="Why (kept in the registry and the platform audit log).")
def rollback(tenant_id: str | None, reason: str) -> None:
    """Retire the active model and restore the one active before it (or physics alone)."""
    from aerospec.errors import ValidationFailed
    from aerospec.extensions import db
    from aerospec.feedback import learning

    tid = _tenant_uuid(tenant_id)
    try:
        previous = learning.roll_back(db.session, tid, reason=reason)
    except ValidationFailed as exc:
        raise click.ClickException(exc.message) from exc
    _audit("correction_model.rolled_back", previous, tid, reason)
    db.session.commit()
    click.echo(f"Version {previous.version} is active again." if previous else "Predictions now use physics alone.")


@feedback_cli.command("rebuild-aggregates")
@click.option("--tenant", "slug", default=None, help="One workspace's slug (default: every workspace).")
def rebuild_aggregates(slug: str | None) -> None:
    """Drop and recompute the feedback aggregates of one workspace or all, from their lab results."""
    from sqlalchemy import select

    from aerospec.extensions import db
    from aerospec.feedback import aggregates
    from aerospec.tenancy.models import Tenant
    from aerospec.tenancy.scoping import unscoped

    with unscoped(db.session, "feedback rebuild-aggregates: the workspaces to rebuild"):
        query = select(Tenant.id, Tenant.slug).order_by(Tenant.created_at)
        if slug:
            query = query.where(Tenant.slug == slug)
        tenants = db.session.execute(query).all()
    db.session.commit()
    if slug and not tenants:
        raise click.ClickException(f"No workspace with the slug {slug!r}.")
    total = 0
    for tenant_id, tenant_slug in tenants:
        groups = aggregates.rebuild_tenant(db.session, tenant_id)
        db.session.commit()  # one workspace a transaction: a failure later leaves the ones done rebuilt
        total += groups
        if slug or groups:
            click.echo(f"  {tenant_slug}: {groups} aggregate{'s' if groups != 1 else ''}")
    click.echo(f"Rebuilt {total} aggregate{'s' if total != 1 else ''} in {len(tenants)} workspace(s).")
