"""Benchmarks of the configuration pages: `python -m bench.configurations` prints figures.

1. The wizard's results fragment end to end through the test client (routing, tenant
   wall, parsing, ranking ≥ 500 SKUs, rendering), median and p95 server time (target ≤ 30 ms).
2. The configurations list page of a tenant holding 10,000 configurations, paginated
   (target ≤ 50 ms), with the query plan showing the tenant-led index.
Runs on a throwaway SQLite file, or on DATABASE_URL when set (a database you can write to).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path


def _timings(client, url: str, n: int, headers: dict | None = None) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(url, headers=headers or {})
        out.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    return out


def _report(label: str, times: list[float], target: float) -> None:
    times = sorted(times)
    p95 = times[max(0, int(round(0.95 * len(times))) - 1)]
    median = statistics.median(times)
    verdict = "OK" if median <= target else "ABOVE TARGET"
    print(
        f"{label}: median {median:.1f} ms, p95 {p95:.1f} ms over {len(times)} requests "
        f"(target ≤ {target:g} ms) {verdict}"
    )


def main() -> None:
    from flask_migrate import upgrade
    from sqlalchemy import insert, text

    from aerospec import create_app
    from aerospec.accounts import services as accounts
    from aerospec.catalog import services as catalog
    from aerospec.configurations.models import Configuration
    from aerospec.extensions import db
    from aerospec.models import utcnow
    from aerospec.tenancy.models import Membership, Tenant
    from aerospec.tenancy.scoping import tenant_scope
    from tests.factories import _HASH

    tmp = Path(tempfile.mkdtemp(prefix="aerospec-bench-"))
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp / 'bench.sqlite3'}"
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "INSTANCE_PATH": str(tmp),
            "JOBS_MODE": "inline",
            "REDIS_URL": None,
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": False,
            "SECRET_KEY": "bench-" + "x" * 30,
        }
    )
    with app.app_context():
        upgrade()
        catalog.seed_actuators(db.session)
        catalog.seed_fluids(db.session)
        from aerospec.accounts.models import User

        suffix = uuid.uuid4().hex[:8]
        user = User(email=f"bench-{suffix}@example.com", name="Bench", password_hash=_HASH)
        tenant = Tenant(
            name="Bench", slug=f"bench-{suffix}", plan="enterprise", subscription_status="active",
            billing_email="b@example.com", limits={}, features={},
        )  # fmt: skip
        db.session.add_all([user, tenant])
        db.session.flush()
        with tenant_scope(db.session, tenant.id):
            db.session.add(Membership(tenant_id=tenant.id, user_id=user.id, role="admin"))
            db.session.flush()
            now = utcnow()
            rows = [
                {
                    "id": uuid.uuid4(), "tenant_id": tenant.id, "name": f"Configuration {i:05d}",
                    "fluid_name": ("Water", "Ethanol", "Isopropanol")[i % 3], "fluid_viscosity_cP": 1.0 + i % 7,
                    "fluid_density_kg_m3": 997.0, "fluid_surface_tension_mN_m": 72.0, "max_pressure_bar": 5.0,
                    "target_spray_cone_deg": 60.0, "target_spray_cone_tol_deg": 6.0,
                    "status": ("draft", "complete", "ordered", "testing")[i % 4], "tags": ["bench", f"t{i % 10}"],
                    "compatible_actuators": [], "version": 1, "created_by_id": user.id,
                    "fluid_liquefied_propellant": False,
                    "created_at": now - timedelta(minutes=i), "updated_at": now - timedelta(minutes=i),
                }
                for i in range(10_000)
            ]  # fmt: skip
            db.session.execute(insert(Configuration), rows)
        session_row = accounts.start_session(db.session, user, accounts.ClientInfo("127.0.0.1", "bench"))
        session_id = str(session_row.id)
        db.session.commit()
        n_skus = len(catalog.actuator_catalog(db.session).catalog)
        dialect = db.engine.dialect.name
        plan_sql = (
            ("EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN ")
            + "SELECT id FROM configurations WHERE tenant_id = :t AND archived_at IS NULL "
            "ORDER BY updated_at DESC LIMIT 25"
        )
        tenant_param = tenant.id.hex if dialect == "sqlite" else str(tenant.id)
        plan = [" ".join(str(c) for c in row) for row in db.session.execute(text(plan_sql), {"t": tenant_param})]
        slug = tenant.slug

    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = session_id
        sess["_fresh"] = True
    hx = {"HX-Request": "true"}
    wizard_url = (
        f"/t/{slug}/configurations/new?step=results&viscosity_cp=1&density_kg_m3=997&surface_tension_mn_m=72"
        "&pressure_bar=5&cone_deg=60&cone_tol=10&dv50_um=60&dv50_tol=20"
    )
    print(f"database: {dialect}; catalog: {n_skus} SKUs; tenant configurations: 10,000")
    _timings(client, wizard_url, 5, hx)  # warm up (catalog cache, templates)
    _report(f"wizard results fragment ({n_skus} SKUs)", _timings(client, wizard_url, 100, hx), 30)
    list_url = f"/t/{slug}/configurations"
    _timings(client, list_url, 3)
    _report("configurations list, full page (page 1 of 400)", _timings(client, list_url, 50), 50)
    _report(
        "configurations list, fragment, status filter",
        _timings(client, list_url + "?status=testing", 50, hx),
        50,
    )
    _report(
        "configurations list, fragment, page 200 by name",
        _timings(client, list_url + "?sort=name&page=200", 50, hx),
        50,
    )
    print("query plan of the list's page query:")
    for line in plan:
        print("  " + line)


if __name__ == "__main__":
    main()
