"""Flask CLI commands: seed demo data, end-to-end helpers."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

DEMO_EMAIL = "demo@aerospec.example"
DEMO_PASSWORD = "spray-demo-2026!"  # noqa: S105 - the published demo login, printed by seed-demo
DEMO_ADMIN_EMAIL = "admin@aerospec.example"
DEMO_ADMIN_PASSWORD = "console-admin-2026!"  # noqa: S105 - the published demo platform admin, printed too


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Create the demo tenant and its admin (idempotent) and print the login."""
    from aerospec.accounts import services as accounts
    from aerospec.extensions import db
    from aerospec.tenancy import services as tenancy

    session = db.session
    user = accounts.get_user_by_email(session, DEMO_EMAIL)
    if user is None:
        user, tenant = tenancy.sign_up(
            session,
            email=DEMO_EMAIL,
            password=DEMO_PASSWORD,
            name="Dana Demo",
            company="Demo Sprays Ltd",
            client=accounts.ClientInfo(ip_address="127.0.0.1", user_agent="seed-demo"),
        )
        session.commit()
    from aerospec.catalog import services as catalog

    fluids = catalog.seed_fluids(session)
    actuators = catalog.seed_actuators(session)
    session.commit()
    from aerospec.admin.cli import make_admin

    make_admin(session, DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, "Pat Platform")  # idempotent: granted if it exists
    session.commit()
    memberships = tenancy.memberships_for_user(session, user)
    slug = memberships[0].tenant.slug if memberships else "?"
    saved = _seed_demo_configuration(session, memberships[0]) if memberships else None
    click.echo("")
    click.echo("  Demo workspace ready.")
    click.echo(f"  Log in as {DEMO_EMAIL} / {DEMO_PASSWORD}  (workspace /t/{slug}/)")
    click.echo(f"  Platform admin: {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD}  (console /admin/tenants)")
    click.echo(f"  Fluid library: {fluids[0]} added, {fluids[1]} updated.")
    click.echo(f"  Sample actuator catalog: {actuators[0]} added, {actuators[1]} updated.")
    if saved:
        click.echo(f"  Saved configuration “{saved}”: open it to compare supplier quotes and order samples.")
    from aerospec.revenue.cli import seed_demo_history

    history = seed_demo_history(session)
    if history:
        click.echo(f"  Revenue dashboard (/admin/revenue): {history} sample workspaces of seeded history added.")
    click.echo("")


def _seed_demo_configuration(session, membership) -> str | None:
    """One saved configuration in the demo workspace (ethanol room spray), unless it has some already."""
    from flask import current_app
    from sqlalchemy import func, select

    from aerospec.catalog.models import Fluid
    from aerospec.configurations import services as configs
    from aerospec.configurations import wizard
    from aerospec.configurations.models import Configuration
    from aerospec.limits import counters
    from aerospec.tenancy.scoping import tenant_scope

    tenant = membership.tenant
    with tenant_scope(session, tenant.id):
        if session.scalar(select(func.count()).select_from(Configuration).where(Configuration.tenant_id == tenant.id)):
            return None
        ethanol = session.scalar(select(Fluid).where(Fluid.name == "Ethanol"))
        if ethanol is None:
            return None
        args = {
            "fluid_id": str(ethanol.id),
            "pressure_bar": "5",
            "cone_deg": "60",
            "dv50_um": "40",
            "flow_ml_min": "50",
        }
        state = wizard.parse_state(session, tenant, {**args, "step": "results"})
        if state.errors or state.targets is None:
            return None
        data = {
            "name": "Ethanol room spray",
            "description": "Demo: a fine ethanol mist at 5 bar.",
            "status": "complete",
        }
        data |= wizard.configuration_data(session, tenant, state)
        config, _ = configs.create_configuration(
            session, tenant, membership, data, counter=counters.counter_for(current_app._get_current_object())
        )
        session.commit()
        return config.name


catalog_cli = click.Group("catalog", help="The fluid library and the actuator catalog.")


@catalog_cli.command("seed-fluids")
@with_appcontext
def seed_fluids() -> None:
    """Load the fluid library from aerospec/catalog/data/fluids.json (idempotent, by name)."""
    from aerospec.catalog import services as catalog
    from aerospec.extensions import db

    created, updated = catalog.seed_fluids(db.session)
    db.session.commit()
    click.echo(f"Fluid library: {created} added, {updated} updated.")


@catalog_cli.command("seed-actuators")
@with_appcontext
def seed_actuators() -> None:
    """Load the deterministic SAMPLE actuator catalog (idempotent, by supplier and SKU)."""
    from aerospec.catalog import services as catalog
    from aerospec.extensions import db

    created, updated = catalog.seed_actuators(db.session)
    db.session.commit()
    click.echo(f"Sample actuator catalog: {created} added, {updated} updated.")
    click.echo("These are generated sample rows, not the suppliers' real products, prices or stock.")


def register_cli(app: Flask) -> None:
    """Attach the CLI commands to the app."""
    app.cli.add_command(seed_demo)
    app.cli.add_command(__import__("aerospec.admin.cli", fromlist=["admin_cli"]).admin_cli)
    app.cli.add_command(__import__("aerospec.configurations.cli", fromlist=["engine_cli"]).engine_cli)
    app.cli.add_command(catalog_cli)
    app.cli.add_command(__import__("aerospec.revenue.cli", fromlist=["revenue_cli"]).revenue_cli)
    app.cli.add_command(__import__("aerospec.feedback.cli", fromlist=["feedback_cli"]).feedback_cli)
