"""`flask feedback …`: rebuild the lab-result aggregates from the results themselves."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

feedback_cli = click.Group("feedback", help="Lab results: aggregates.")


@feedback_cli.command("rebuild-aggregates")
@click.option("--tenant", "slug", default=None, help="One workspace's slug (default: every workspace).")
@with_appcontext
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
