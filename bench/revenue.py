"""The revenue dashboard over a seeded 10,000-workspace, 24-month history: `python -m bench.revenue` prints figures.

What it runs, on a fresh PostgreSQL database and non-superuser role on the server DATABASE_URL names (row-level
security on, as in production), or a throwaway SQLite file without DATABASE_URL:

1. Migrates, then seeds the history with `flask revenue seed-history`'s function (timed).
2. In process (Flask test client, signed in as a platform admin): GET /admin/revenue a few times to warm up,
   then `--requests` times; prints the median, p95 and max server time, the SQL statements per request and
   the page size; the same for one CSV export (it reads the same figures).
3. The row counts the dashboard reads over.

    python -m bench.revenue [--workspaces 10000] [--months 24] [--requests 30]

Target (issue 13, Speed): the dashboard renders in ≤ 300 ms on PostgreSQL. Figures, not a timed test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 300


def _database() -> tuple[str, object | None]:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql")):
        from tests.conftest import PostgresDatabase

        pg = PostgresDatabase(url)
        return pg.create(), pg
    return f"sqlite:///{tempfile.mkdtemp(prefix='bench-revenue-')}/bench.sqlite3", None


def _time(client, url: str, n: int, statements: list) -> dict:
    for _ in range(3):
        assert client.get(url).status_code == 200, url
    times, counts, size = [], [], 0
    for _ in range(n):
        statements.clear()
        t0 = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - t0) * 1e3)
        assert response.status_code == 200, (url, response.status_code)
        counts.append(len([s for s in statements if "set_config(" not in s]))
        size = len(response.data)
    times.sort()
    return {
        "median": statistics.median(times),
        "p95": times[max(0, int(len(times) * 0.95) - 1)],
        "max": times[-1],
        "statements": max(counts),
        "bytes": size,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspaces", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade
    from sqlalchemy import event, func, select

    from aerospec import create_app
    from aerospec.accounts import services as accounts
    from aerospec.accounts.models import User, UserSession
    from aerospec.extensions import db
    from aerospec.procurement.models import ProcurementCommission
    from aerospec.revenue import seed
    from aerospec.revenue.models import MrrLedgerEntry
    from aerospec.tenancy.models import Tenant
    from aerospec.tenancy.scoping import unscoped
    from tests.conftest import make_overrides
    from tests.factories import _HASH

    url, pg = _database()
    try:
        app = create_app(make_overrides(url, Path(tempfile.mkdtemp(prefix="bench-revenue-instance-"))))
        with app.app_context():
            upgrade()
            started = time.perf_counter()
            counts = seed.seed_history(db.session, args.workspaces, args.months)
            db.session.commit()
            seeded_s = time.perf_counter() - started
            admin = User(
                email="bench-admin@example.com", name="Bench Admin", password_hash=_HASH, is_platform_admin=True
            )
            db.session.add(admin)
            db.session.flush()
            login = accounts.start_session(db.session, admin, accounts.ClientInfo("127.0.0.1", "bench"))
            db.session.commit()
            session_id = str(login.id)
            with unscoped(db.session, "bench: row counts"):
                sizes = {
                    "workspaces": db.session.scalar(select(func.count()).select_from(Tenant)),
                    "ledger rows": db.session.scalar(select(func.count()).select_from(MrrLedgerEntry)),
                    "paid orders": db.session.scalar(select(func.count()).select_from(ProcurementCommission)),
                    "login sessions": db.session.scalar(select(func.count()).select_from(UserSession)),
                }
            engine = db.engine
        client = app.test_client()
        with client.session_transaction() as sess:
            sess["_user_id"] = session_id
            sess["_fresh"] = True
        statements: list[str] = []

        def count(conn, cursor, statement, params, context, executemany):
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        pages = {
            "GET /admin/revenue": "/admin/revenue",
            "GET /admin/revenue/export/movements.csv": "/admin/revenue/export/movements.csv",
        }
        results = {label: _time(client, path, args.requests, statements) for label, path in pages.items()}
        event.remove(engine, "before_cursor_execute", count)

        database = "PostgreSQL (row-level security on)" if pg else "SQLite"
        print(f"Revenue dashboard on {database}, {args.workspaces:,} workspaces over {args.months} months")
        print(f"  seeded in {seeded_s:.1f} s: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        print("  reads over: " + ", ".join(f"{k} {v:,}" for k, v in sizes.items()))
        for label, r in results.items():
            print(
                f"  {label}: median {r['median']:.0f} ms, p95 {r['p95']:.0f} ms, max {r['max']:.0f} ms "
                f"over {args.requests} requests; {r['statements']} SQL statements; {r['bytes']:,} bytes"
            )
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"  machine load average (1, 5, 15 min) at the end: {load} on {os.cpu_count()} cores")
        verdict = "meets" if results["GET /admin/revenue"]["p95"] <= TARGET_MS else "misses"
        print(f"  target: the dashboard in ≤ {TARGET_MS} ms — p95 {verdict} it")
    finally:
        if pg is not None:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            pg.drop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
