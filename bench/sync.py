"""Catalog sync benchmark: `run_sync` over N SKUs × 2 suppliers, database writes included.

    python -m bench.sync [--skus 10000] [--in-process]

Prints per supplier the SKUs, requests made (batches of 500 for Spencer, 1,000 for
Coster), rows updated and seconds (fetch + bulk write), then the run's wall time; a
second pass shows a re-sync of an already-synced catalog. The sandbox runs as its own
process unless --in-process; the database is a throwaway SQLite file, or DATABASE_URL
when set (a database you can write to). `bench.suppliers` measures the fetch alone.
Figures, not a timed test.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from decimal import Decimal
from pathlib import Path

SUPPLIERS = ("spencer", "coster")


def _rows(n: int) -> list[dict]:
    from aerospec.sandbox import pricing

    return [
        {
            "supplier": s, "sku": sku, "name": f"{s} {sku}", "spray_type": "hollow_cone", "orifice_mm": 0.4,
            "swirl_chamber_mm": 1.2, "inlet_area_mm2": 0.24, "max_pressure_bar": 10.0, "min_viscosity_cp": 0.3,
            "max_viscosity_cp": 20.0, "body_material": "PP", "seal_material": "none", "unit_price": Decimal("1"),
            "currency": "USD", "stock": 0, "lead_time_days": 30, "is_sample_data": True,
        }
        for s in SUPPLIERS
        for sku in pricing.sample_skus(s, n)
    ]  # fmt: skip


def _report(label: str, run, wall: float) -> None:
    print(f"{label}: status {run.status}, {run.skus_updated:,} of {run.skus_requested:,} SKUs updated, "
          f"{run.requests_made} requests, {wall:.2f} s wall")  # fmt: skip
    for name, e in run.suppliers.items():
        print(f"  {name:8} {e['skus']:,} SKUs in {e['requests']} requests ({e['batch_size']:,} per request), "
              f"{e['updated']:,} updated ({e['changed']:,} changed), {e['unknown']} unknown, "
              f"{e['seconds']:.2f} s fetch + write{'  ERROR ' + e['error'] if e['error'] else ''}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=10_000, help="SKUs per supplier")
    parser.add_argument("--in-process", action="store_true", help="serve the sandbox from a thread here")
    args = parser.parse_args()

    from flask_migrate import upgrade
    from sqlalchemy import insert

    from aerospec import create_app
    from aerospec.catalog.models import Actuator
    from aerospec.extensions import db
    from aerospec.procurement.clients import CosterClient, SpencerClient
    from aerospec.procurement.sync import run_sync
    from aerospec.sandbox.state import DEFAULT_KEYS
    from bench.suppliers import running_sandbox

    tmp = Path(tempfile.mkdtemp(prefix="aerospec-bench-"))
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp / 'bench.sqlite3'}"
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "INSTANCE_PATH": str(tmp),
            "JOBS_MODE": "inline",
            "REDIS_URL": None,
            "SECRET_KEY": "bench-" + "x" * 30,
        }
    )
    rows = _rows(args.skus)
    with app.app_context(), running_sandbox(args.in_process) as sandbox:
        upgrade()
        db.session.execute(insert(Actuator), rows)
        db.session.commit()
        where = "a thread of this process" if args.in_process else "its own process"
        print(f"sandbox on {sandbox.base_url} ({where}); database {db.engine.dialect.name}\n")
        clients = [
            SpencerClient(sandbox.url("spencer"), DEFAULT_KEYS["spencer"], timeout=30, retries=2),
            CosterClient(sandbox.url("coster"), DEFAULT_KEYS["coster"], timeout=30, retries=2),
        ]
        try:
            for label in (f"sync of {args.skus:,} SKUs × 2 suppliers", "re-sync (values unchanged)"):
                t0 = time.perf_counter()
                run = run_sync(db.session, clients, trigger="manual")
                _report(label, run, time.perf_counter() - t0)
                print()
        finally:
            for client in clients:
                client.close()


if __name__ == "__main__":
    main()
