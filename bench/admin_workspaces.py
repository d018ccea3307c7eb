"""The platform console's workspace list with filters: `python -m bench.admin_workspaces` prints figures.

Seeds N workspaces (default 10,000; plans, statuses and trial ends spread, 1–4 members each, some over
their seat limit) into a throwaway SQLite file, or a fresh PostgreSQL database and non-superuser role on
the server DATABASE_URL names (row-level security on, as in production). Then, as a signed-in platform
admin through the test client, it requests /admin/tenants with each filter set and prints the median and
p95 server time over the runs, and the number of rows each matched. Target: ≤ 100 ms. Figures, not a test.

    python -m bench.admin_workspaces [--workspaces 10000] [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

QUERIES = {
    "first page, no filter": "",
    "search by member email": "q=member-4711@",
    "search by name part": "q=sprays+12",
    "plan=starter": "plan=starter",
    "status=past_due": "status=past_due",
    "trial ending within 7 days": "trial_ending=7",
    "past due": "past_due=1",
    "over a limit": "over_limit=1",
    "plan + trial ending + sort by trial end": "plan=professional&trial_ending=10&sort=trial_end",
    "page 200, newest first": "sort=newest&page=200",
}


def _seed(app, count: int) -> uuid.UUID:
    from sqlalchemy import insert

    from aerospec.accounts.models import User
    from aerospec.extensions import db
    from aerospec.models import utcnow
    from aerospec.tenancy.models import Membership, Tenant
    from aerospec.tenancy.scoping import unscoped
    from tests.factories import _HASH

    now = utcnow()
    plans = ("starter", "professional", "enterprise")
    statuses = ("trialing", "active", "active", "past_due", "canceled")
    tenants, users, members = [], [], []
    for n in range(count):
        tid = uuid.uuid4()
        status = statuses[n % len(statuses)]
        tenants.append(
            {
                "id": tid,
                "name": f"Sprays {n:05d}",
                "slug": f"sprays-{n:05d}",
                "plan": plans[n % 3],
                "subscription_status": status,
                "billing_email": f"billing-{n}@example.com",
                "trial_ends_at": now + timedelta(days=n % 30) if status == "trialing" else None,
                "limits": {},
                "features": {},
                "extra_seats": 0,
                "api_enabled_for_users": False,
                "created_at": now - timedelta(minutes=n),
                "updated_at": now,
            }
        )
        for k in range(1 + n % 4):  # starter workspaces with 2+ members are over their 1 seat
            uid = uuid.uuid4()
            users.append(
                {
                    "id": uid,
                    "email": f"member-{n}-{k}@example.com" if k else f"member-{n}@example.com",
                    "name": f"Member {n}",
                    "password_hash": _HASH,
                    "is_platform_admin": False,
                    "password_changed_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            members.append(
                {
                    "id": uuid.uuid4(),
                    "tenant_id": tid,
                    "user_id": uid,
                    "role": "admin" if k == 0 else "user",
                    "created_at": now,
                    "updated_at": now,
                }
            )
    admin_id = uuid.uuid4()
    users.append(
        {
            "id": admin_id,
            "email": "bench-admin@example.com",
            "name": "Bench Admin",
            "password_hash": _HASH,
            "is_platform_admin": True,
            "password_changed_at": now,
            "created_at": now,
            "updated_at": now,
        }
    )
    with app.app_context(), unscoped(db.session, "bench: seed workspaces"):
        for table, rows in ((Tenant, tenants), (User, users), (Membership, members)):
            for i in range(0, len(rows), 2000):
                db.session.execute(insert(table), rows[i : i + 2000])
        db.session.commit()
        db.session.execute(__import__("sqlalchemy").text("ANALYZE"))
        db.session.commit()
    return admin_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspaces", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade

    from aerospec import create_app
    from aerospec.accounts import services as accounts
    from aerospec.accounts.models import User
    from aerospec.extensions import db

    tmp = Path(tempfile.mkdtemp(prefix="aerospec-bench-admin-"))
    server_url = os.environ.get("DATABASE_URL")
    pg = None
    if server_url and server_url.startswith(("postgres://", "postgresql")):
        from tests.conftest import PostgresDatabase

        pg = PostgresDatabase(server_url)
        url = pg.create()
    else:
        url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    try:
        app = create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": url,
                "INSTANCE_PATH": str(tmp),
                "JOBS_MODE": "inline",
                "REDIS_URL": None,
                "RATELIMIT_ENABLED": False,
                "WTF_CSRF_ENABLED": False,
                "AUTH_THROTTLE_ENABLED": False,
                "SECRET_KEY": "bench-" + "x" * 30,
                "LOG_LEVEL": "WARNING",
            }
        )
        with app.app_context():
            upgrade()
        started = time.perf_counter()
        admin_id = _seed(app, args.workspaces)
        print(
            f"database: {'postgresql (row-level security on)' if pg else 'sqlite'}; "
            f"{args.workspaces:,} workspaces seeded in {time.perf_counter() - started:.1f} s"
        )
        with app.app_context():
            admin = db.session.get(User, admin_id)
            login = accounts.start_session(db.session, admin, accounts.ClientInfo("127.0.0.1", "bench"))
            db.session.commit()
            sid = str(login.id)
        client = app.test_client()
        with client.session_transaction() as sess:
            sess["_user_id"], sess["_fresh"] = sid, True
        print(f"\n/admin/tenants, {args.runs} runs each (server time per request, ms):")
        print(f"{'filters':42} {'median':>8} {'p95':>8}  matched")
        for label, query in QUERIES.items():
            times = []
            for _ in range(args.runs + 2):
                t0 = time.perf_counter()
                response = client.get(f"/admin/tenants?{query}", headers={"HX-Request": "true"})
                times.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200, response.status_code
            times = sorted(times[2:])  # the first two warm caches
            body = response.get_data(as_text=True)
            found = re.search(r"([\d,]+) workspaces?\b", body)
            matched = found.group(1) if found else "0"
            p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
            print(f"{label:42} {statistics.median(times):8.1f} {p95:8.1f}  {matched}")
    finally:
        if pg is not None:
            with app.app_context():
                db.session.remove()
                for engine in db.engines.values():
                    engine.dispose()
            pg.drop()


if __name__ == "__main__":
    main()
