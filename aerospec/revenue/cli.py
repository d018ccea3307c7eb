"""`flask revenue …`: seed a history to look at, and backfill the MRR ledger for older subscriptions."""

from __future__ import annotations

import time

import click
from flask.cli import with_appcontext

revenue_cli = click.Group("revenue", help="Revenue analytics: the MRR ledger and a seeded history.")

DEMO_WORKSPACES = 60
DEMO_MONTHS = 12


@revenue_cli.command("seed-history")
@click.option("--workspaces", type=click.IntRange(1, 100_000), default=10_000, show_default=True)
@click.option("--months", type=click.IntRange(1, 120), default=24, show_default=True)
@click.option(
    "--seed", type=int, default=2026, show_default=True, help="Random seed (the same seed, the same history)."
)
@with_appcontext
def seed_history(workspaces: int, months: int, seed: int) -> None:
    """Seed WORKSPACES sample workspaces over MONTHS months of history (slugs seed-…; not customers)."""
    from aerospec.extensions import db
    from aerospec.revenue import seed as seeding

    started = time.perf_counter()
    counts = seeding.seed_history(db.session, workspaces, months, seed=seed)
    db.session.commit()
    click.echo(f"Seeded {workspaces:,} workspaces over {months} months in {time.perf_counter() - started:.1f} s:")
    for table, n in counts.items():
        click.echo(f"  {table}: {n:,} rows")


@revenue_cli.command("backfill")
@with_appcontext
def backfill() -> None:
    """Write MRR ledger rows for subscriptions from before the ledger (idempotent)."""
    from aerospec.extensions import db
    from aerospec.revenue import ledger

    written = ledger.backfill(db.session)
    db.session.commit()
    click.echo(
        f"Backfilled {written['rows']:,} ledger rows for {written['workspaces']:,} workspaces "
        "(each subscription at its current amount: earlier amounts were not recorded)."
    )


def seed_demo_history(session) -> int:
    """The demo's small history (60 workspaces over 12 months) unless one is there; returns workspaces added."""
    from aerospec.revenue import seed as seeding

    if seeding.seeded_workspaces(session):
        return 0
    seeding.seed_history(session, DEMO_WORKSPACES, DEMO_MONTHS, seed=7)
    session.commit()
    return DEMO_WORKSPACES
