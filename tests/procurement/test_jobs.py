"""Order lifecycle jobs against the sandbox over real HTTP: send with retries, poll, cancel, sweep.

Jobs run inline in tests and inline mode swallows a job's exception (it logs it), so the
retries RQ would make are made here by calling the job functions as RQ would; the last
test runs the send job through a real RQ worker on a real Redis.
"""

from __future__ import annotations

import os
import time
import uuid

import pytest
from sqlalchemy import func, select

from aerospec.compliance.models import AuditLog
from aerospec.models import utcnow
from aerospec.notifications.models import EmailMessage
from aerospec.procurement import services
from aerospec.procurement.clients import SupplierTimeout, SupplierUnavailable
from aerospec.procurement.models import Procurement, ProcurementEvent
from aerospec.tenancy.scoping import tenant_scope
from jobs import procurement as jobs
from tests.conftest import need
from tests.procurement import test_services as shared
from tests.procurement.test_services import SHIP_TO, audits, events, in_stock

catalog, make_order = shared.catalog, shared.make_order  # the shared fixtures, by name


def ids(order) -> tuple[str, str]:
    return str(order.tenant_id), str(order.id)


def mails(db, user, status: str | None = None) -> list[EmailMessage]:
    rows = db.session.scalars(
        select(EmailMessage).where(EmailMessage.to_address == user.email, EmailMessage.template == "procurement_status")
    ).all()
    return [m for m in rows if status is None or services.STATUS_LABELS.get(status, status) in m.subject]


def sandbox_order(sandbox, supplier: str, order_id: str):
    return sandbox.state.orders[supplier][order_id]


def advance_to(sandbox, when, extra_seconds: float = 60) -> None:
    """Move the sandbox clock just past `when`."""
    sandbox.advance(max(0.0, (when - sandbox.state.clock.now()).total_seconds()) + extra_seconds)


@pytest.fixture
def sweep_now(app, monkeypatch):
    """The sweeper resends and re-cancels without waiting PROCUREMENT_RESEND_AFTER_SECONDS."""
    monkeypatch.setitem(app.config, "PROCUREMENT_RESEND_AFTER_SECONDS", 0)


# -- sending ------------------------------------------------------------------------------------


def test_submit_sends_the_order_once_and_stores_the_suppliers_id(db, team, make_order, sandbox):
    t = team()
    order = make_order(t, submit=True)
    with tenant_scope(db.session, t.tenant.id):
        assert order.status == "confirmed" and order.submit_attempts == 1
        (remote,) = sandbox.state.orders["spencer"].values()
        assert order.supplier_order_id == remote.order_id and remote.reference == order.reference
        assert order.expected_delivery == remote.deliver_at.date()
        assert jobs.send_to_supplier(*ids(order)) == "skipped"  # a duplicate job is harmless
    assert sandbox.requests("spencer", "POST /orders") == 1


@pytest.mark.parametrize("supplier", ["spencer", "coster"])
def test_outage_during_submit_keeps_the_order_submitted_and_the_retry_sends_it_once(
    db, team, make_order, sandbox, supplier
):
    t = team()
    # the first attempt runs (and fails) when the submit commits
    order = make_order(t, supplier=supplier, submit=True, faults={supplier: {"error_rate": 1}})
    with tenant_scope(db.session, t.tenant.id):
        assert order.status == "submitted" and order.supplier_order_id is None
        assert order.submit_attempts == 1 and "HTTP 503" in order.last_submit_error
        (attempt,) = events(db, order, kind="submit")
        assert "stays submitted" in attempt.message

        with pytest.raises(SupplierUnavailable):  # RQ's first retry, still in the outage
            jobs.send_to_supplier(*ids(order))
        assert order.status == "submitted" and order.submit_attempts == 2
        assert len(events(db, order, kind="submit")) == 2, "the failed attempt was committed before the re-raise"
        assert not sandbox.state.orders[supplier]

        sandbox.admin("DELETE", "/_faults")
        assert jobs.send_to_supplier(*ids(order)) == "sent"
        assert order.status == "confirmed" and order.last_submit_error is None and order.submit_attempts == 3
        (remote,) = sandbox.state.orders[supplier].values()
        assert order.supplier_order_id == remote.order_id
        assert jobs.send_to_supplier(*ids(order)) == "skipped"
    assert len(sandbox.state.orders[supplier]) == 1


def test_a_lost_answer_is_replayed_by_the_supplier_not_ordered_twice(db, team, make_order, sandbox):
    t = team()
    # the supplier makes the order, but only after our 1.5 s timeout
    order = make_order(t, submit=True, faults={"spencer": {"latency_ms": 1800}})
    with tenant_scope(db.session, t.tenant.id):
        assert order.status == "submitted" and "did not answer" in order.last_submit_error
        for _ in range(100):  # the sandbox finishes the request the client gave up on
            if sandbox.state.orders["spencer"]:
                break
            time.sleep(0.05)
        (made,) = sandbox.state.orders["spencer"].values()
        assert order.supplier_order_id is None, "we never heard the answer"

        sandbox.faults(spencer={"latency_ms": 0})
        assert jobs.send_to_supplier(*ids(order)) == "sent"
        assert order.supplier_order_id == made.order_id and order.status == "confirmed"
        assert "no second order" in events(db, order, kind="submit")[-1].message
    assert len(sandbox.state.orders["spencer"]) == 1


def test_a_timeout_is_retried_by_the_job_with_the_same_idempotency_key(db, team, make_order, sandbox):
    t = team()
    order = make_order(t, submit=True, faults={"spencer": {"hang": True, "hang_seconds": 5}})
    with tenant_scope(db.session, t.tenant.id):
        key = order.idempotency_key
        with pytest.raises(SupplierTimeout):
            jobs.send_to_supplier(*ids(order))
        sandbox.admin("DELETE", "/_faults")  # wakes the hung requests: they replay, or make the one order
        assert jobs.send_to_supplier(*ids(order)) == "sent"
        assert order.idempotency_key == key and order.submit_attempts == 3
    assert set(sandbox.state.idempotency["spencer"]) == {key}
    assert len(sandbox.state.orders["spencer"]) == 1


def test_a_rejected_order_fails_with_the_suppliers_message_and_a_new_key_on_return_to_draft(
    db, team, make_order, sandbox
):
    t = team()
    order = make_order(t)
    with tenant_scope(db.session, t.tenant.id):
        order.items[0].sku = "SP-DISCONTINUED-1"  # discontinued since the quote: the supplier refuses it
        db.session.commit()
        services.submit(db.session, t.tenant, t.user, order)
        db.session.commit()
        assert order.status == "failed" and order.supplier_order_id is None
        assert "Unknown SKU SP-DISCONTINUED-1" in order.failure_reason
        assert len(audits(db, order, "procurement.failed")) == 1
        assert mails(db, t.user, "failed")
        first_key = order.idempotency_key
        assert sandbox.requests("spencer", "POST /orders") == 1, "a 4xx is not retried"

        services.request_status(db.session, t.tenant, t.user, order, "draft")
        order.items[0].sku = in_stock("spencer")
        db.session.commit()
        assert order.status == "draft" and order.failure_reason is None
        assert order.idempotency_key != first_key

        services.submit(db.session, t.tenant, t.user, order)
        db.session.commit()
        assert order.status == "confirmed"
    assert set(sandbox.state.idempotency["spencer"]) == {order.idempotency_key}


def test_the_sweeper_resends_an_order_whose_retries_ran_out(db, team, make_order, sandbox, app, monkeypatch):
    t = team()
    order = make_order(t, submit=True, faults={"spencer": {"error_rate": 1}})
    with tenant_scope(db.session, t.tenant.id):
        for _ in range(3):  # RQ's three retries, all in the outage
            with pytest.raises(SupplierUnavailable):
                jobs.send_to_supplier(*ids(order))
        assert order.submit_attempts == 4 and order.status == "submitted"
    sandbox.admin("DELETE", "/_faults")

    assert jobs.poll_open_orders() == {"waiting": 1}, "an attempt was just made: not yet"
    monkeypatch.setitem(app.config, "PROCUREMENT_RESEND_AFTER_SECONDS", 0)
    assert jobs.poll_open_orders() == {"sent": 1}
    with tenant_scope(db.session, t.tenant.id):
        assert order.status == "confirmed" and order.supplier_order_id
    assert len(sandbox.state.orders["spencer"]) == 1


# -- polling -------------------------------------------------------------------------------------


@pytest.mark.parametrize("supplier", ["spencer", "coster"])
def test_polling_follows_the_order_to_delivered_with_event_audit_and_email(db, team, make_order, sandbox, supplier):
    t = team()
    order = make_order(t, supplier=supplier, submit=True)
    with tenant_scope(db.session, t.tenant.id):
        remote = sandbox_order(sandbox, supplier, order.supplier_order_id)
        assert order.status == "confirmed" and order.tracking_number is None
        assert jobs.poll_open_orders() == {"unchanged": 1}

        advance_to(sandbox, remote.ship_at)
        assert jobs.poll_open_orders() == {"moved": 1}
        assert order.status == "shipped" and order.tracking_number == remote.tracking_number
        # The sandbox clock runs ahead of ours: its ship time is capped at when we learned of it.
        assert remote.ship_at > utcnow() and order.shipped_at <= utcnow()

        advance_to(sandbox, remote.deliver_at)
        assert jobs.poll_order(*ids(order)) == "moved"
        assert order.status == "delivered" and order.shipped_at <= order.delivered_at <= utcnow()

        steps = [(e.from_status, e.to_status) for e in events(db, order, kind="status")]
        assert steps[-3:] == [("submitted", "confirmed"), ("confirmed", "shipped"), ("shipped", "delivered")]
        assert remote.tracking_number in events(db, order, to_status="shipped")[0].message
        for status in ("confirmed", "shipped", "delivered"):
            (entry,) = audits(db, order, f"procurement.{status}")
            assert entry.actor_email == services.SUPPLIER_LABELS[order.selected_supplier]  # "Spencer", as the timeline
            (mail,) = mails(db, t.user, status)
            assert mail.status == "sent" and order.reference in mail.subject
        shipped_mail = mails(db, t.user, "shipped")[0]
        assert remote.tracking_number in shipped_mail.text_body

        polls = sandbox.requests(
            supplier, "GET /orders/<order_id>" if supplier == "spencer" else "GET /v2/orders/<order_id>"
        )
        before = (len(events(db, order)), len(mails(db, t.user)), order.last_polled_at)
        assert jobs.poll_order(*ids(order)) == "skipped"
        assert jobs.poll_open_orders() == {}
        assert (len(events(db, order)), len(mails(db, t.user)), order.last_polled_at) == before
    path = "GET /orders/<order_id>" if supplier == "spencer" else "GET /v2/orders/<order_id>"
    assert sandbox.requests(supplier, path) == polls, "a delivered order is not asked about again"


def test_one_failing_supplier_does_not_stop_the_poll_of_the_others(db, team, make_order, sandbox):
    t, u = team(), team()
    spencer = [make_order(t, supplier="spencer", submit=True) for _ in range(2)]
    coster = make_order(u, supplier="coster", submit=True)
    advance_to(sandbox, sandbox_order(sandbox, "coster", coster.supplier_order_id).ship_at)
    sandbox.faults(spencer={"error_rate": 1})
    polls = sandbox.requests("spencer", "GET /orders/<order_id>")
    # across two tenants; Spencer's second order waits for the next run instead of a second timeout
    assert jobs.poll_open_orders() == {"error": 1, "deferred": 1, "moved": 1}
    assert sandbox.requests("spencer", "GET /orders/<order_id>") == polls + 2  # one call and its one retry
    with tenant_scope(db.session, u.tenant.id):
        assert coster.status == "shipped"
    with tenant_scope(db.session, t.tenant.id):
        assert [o.status for o in spencer] == ["confirmed", "confirmed"]
    sandbox.admin("DELETE", "/_faults")
    recovered = jobs.poll_open_orders()  # the next run asks about all three again
    assert set(recovered) <= {"moved", "unchanged"} and sum(recovered.values()) == 3


def test_a_jump_straight_to_delivered_records_every_step(db, team, make_order, sandbox):
    t = team()
    order = make_order(t, submit=True)
    advance_to(sandbox, sandbox_order(sandbox, "spencer", order.supplier_order_id).deliver_at)
    assert jobs.poll_open_orders() == {"moved": 1}
    with tenant_scope(db.session, t.tenant.id):
        assert [e.to_status for e in events(db, order, kind="status")][-2:] == ["shipped", "delivered"]
        assert order.tracking_number and order.status == "delivered"


def test_a_supplier_side_cancellation_is_followed(db, team, make_order, sandbox):
    t = team()
    order = make_order(t, supplier="coster", submit=True)
    sandbox.state.cancel_order("coster", order.supplier_order_id, sandbox.state.clock.now())
    assert jobs.poll_open_orders() == {"moved": 1}
    with tenant_scope(db.session, t.tenant.id):
        assert order.status == "cancelled"
        assert "cancelled order" in events(db, order, to_status="cancelled")[0].message
        assert len(audits(db, order, "procurement.cancelled")) == 1


def test_poll_order_leaves_an_order_still_being_sent_to_the_send_job(db, team, make_order, sandbox):
    t = team()
    order = make_order(t, submit=True, faults={"spencer": {"error_rate": 1}})
    tenant_id, order_id = ids(order)
    assert jobs.poll_order(tenant_id, order_id) == "waiting"
    assert jobs.poll_order(tenant_id, str(uuid.uuid4())) == "skipped"


# -- cancelling -----------------------------------------------------------------------------------


@pytest.mark.parametrize("supplier", ["spencer", "coster"])
def test_cancelling_before_shipping_cancels_the_suppliers_order(db, team, make_order, sandbox, supplier):
    t = team()
    order = make_order(t, supplier=supplier, submit=True)
    with tenant_scope(db.session, t.tenant.id):
        services.request_status(db.session, t.tenant, t.user, order, "cancelled")
        db.session.commit()  # cancel_at_supplier runs (inline) after this commit
        remote = sandbox_order(sandbox, supplier, order.supplier_order_id)
        assert remote.status_at(sandbox.state.clock.now()) == "cancelled"
        assert order.status == "cancelled"
        assert f"cancelled order {remote.order_id}" in events(db, order, kind="note")[-1].message
        assert jobs.cancel_at_supplier(*ids(order)) == "skipped"  # answered: not asked again
        advance_to(sandbox, remote.deliver_at)
        assert jobs.poll_open_orders() == {}
        assert order.status == "cancelled"


@pytest.mark.parametrize("supplier", ["spencer", "coster"])
def test_cancelling_after_the_supplier_shipped_is_refused_and_the_order_follows_the_shipment(
    db, team, make_order, sandbox, supplier
):
    t = team()
    order = make_order(t, supplier=supplier, submit=True)
    remote = sandbox_order(sandbox, supplier, order.supplier_order_id)
    advance_to(sandbox, remote.ship_at)  # shipped at the supplier; our poll has not seen it yet
    with tenant_scope(db.session, t.tenant.id):
        assert order.status == "confirmed"
        services.request_status(db.session, t.tenant, t.user, order, "cancelled")
        db.session.commit()
        assert order.status == "shipped", "the supplier shipped it: it is not cancelled"
        assert order.cancelled_at is None and order.tracking_number == remote.tracking_number
        timeline = [(e.from_status, e.to_status) for e in events(db, order, kind="status")]
        assert timeline[-2:] == [("confirmed", "cancelled"), ("cancelled", "shipped")]
        refusal = events(db, order, to_status="shipped")[-1].message
        assert "refused the cancellation" in refusal and remote.tracking_number in refusal
        assert len(audits(db, order, "procurement.cancelled")) == 1
        assert len(audits(db, order, "procurement.shipped")) == 1
        assert "refused the cancellation" in mails(db, t.user, "shipped")[0].text_body
        assert remote.status_at(sandbox.state.clock.now()) == "shipped"

        advance_to(sandbox, remote.deliver_at)
        assert jobs.poll_open_orders() == {"moved": 1}
        assert order.status == "delivered"


def test_a_refused_cancellation_of_a_delivered_order_ends_delivered(db, team, make_order, sandbox):
    t = team()
    order = make_order(t, submit=True)
    advance_to(sandbox, sandbox_order(sandbox, "spencer", order.supplier_order_id).deliver_at)
    with tenant_scope(db.session, t.tenant.id):
        services.request_status(db.session, t.tenant, t.user, order, "cancelled")
        db.session.commit()
        assert order.status == "delivered"
        assert [e.to_status for e in events(db, order, kind="status")][-3:] == ["cancelled", "shipped", "delivered"]


def test_a_cancellation_during_an_outage_is_finished_by_the_sweeper(db, team, make_order, sandbox, sweep_now):
    t = team()
    order = make_order(t, submit=True)
    sandbox.faults(spencer={"error_rate": 1})
    with tenant_scope(db.session, t.tenant.id):
        services.request_status(db.session, t.tenant, t.user, order, "cancelled")
        db.session.commit()  # the inline cancel job fails in the outage
        remote = sandbox_order(sandbox, "spencer", order.supplier_order_id)
        assert remote.cancelled_at is None and order.status == "cancelled"
        assert "trying again" in events(db, order, kind="note")[-1].message
        with pytest.raises(SupplierUnavailable):  # RQ's retry, still in the outage
            jobs.cancel_at_supplier(*ids(order))
    sandbox.admin("DELETE", "/_faults")
    assert jobs.poll_open_orders() == {"cancelled": 1}
    assert remote.cancelled_at is not None
    assert jobs.poll_open_orders() == {}


def test_a_draft_cancelled_never_reaches_the_supplier(db, team, make_order, sandbox):
    t = team()
    order = make_order(t)
    with tenant_scope(db.session, t.tenant.id):
        services.request_status(db.session, t.tenant, t.user, order, "cancelled")
        db.session.commit()
        assert jobs.cancel_at_supplier(*ids(order)) == "skipped"
    assert jobs.poll_open_orders() == {}
    assert sandbox.requests("spencer", "POST /orders/<order_id>/cancel") == 0


def test_a_cancelled_submission_is_not_sent_by_a_late_retry(db, team, make_order, sandbox, sweep_now):
    t = team()
    order = make_order(t, submit=True, faults={"spencer": {"error_rate": 1}})
    sandbox.admin("DELETE", "/_faults")
    with tenant_scope(db.session, t.tenant.id):
        services.request_status(db.session, t.tenant, t.user, order, "cancelled")
        db.session.commit()
        assert jobs.send_to_supplier(*ids(order)) == "skipped"
    assert jobs.poll_open_orders() == {}
    assert not sandbox.state.orders["spencer"]


# -- a real RQ worker -----------------------------------------------------------------------------


@pytest.fixture
def rq_app(tmp_path, sandbox_server):
    """An app whose jobs go through a real Redis (db 13 locally), on a database of its own."""
    import redis
    from flask_migrate import upgrade
    from rq import Queue

    from aerospec import create_app, queueing
    from aerospec.extensions import db
    from tests.conftest import PostgresDatabase, make_overrides, supplier_overrides

    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/13"
    try:
        reachable = bool(redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        reachable = False
    need(reachable, f"a Redis at {redis_url}")
    pg, url = None, os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql")):
        pg = PostgresDatabase(url)
        database_url = pg.create()
    else:
        database_url = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    extra = {"JOBS_MODE": "rq", "REDIS_URL": redis_url} | supplier_overrides(sandbox_server)
    app = create_app(make_overrides(database_url, tmp_path / "instance", **extra))
    with app.app_context():
        upgrade()
    connection = queueing.get_redis(app)
    for name in ("default", "emails"):
        Queue(name, connection=connection).empty()
    yield app
    for name in ("default", "emails"):
        Queue(name, connection=connection).empty()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if pg is not None:
        pg.drop()


def test_outage_during_submit_through_a_real_rq_worker(rq_app, sandbox):
    from datetime import UTC, datetime, timedelta

    from rq.job import Job, JobStatus
    from rq.registry import ScheduledJobRegistry

    from aerospec import queueing
    from aerospec.catalog import services as catalog_services
    from aerospec.extensions import db
    from aerospec.procurement.suppliers import supplier_clients
    from jobs.worker import build_worker
    from tests import factories

    with rq_app.app_context():
        factories.bind(db.session)
        catalog_services.seed_actuators(db.session)
        tenant = factories.TenantFactory()
        user = factories.member(tenant, "admin")
        db.session.commit()
        tenant_id, user_id = tenant.id, user.id
        with tenant_scope(db.session, tenant_id):
            order = services.create_procurement(
                db.session,
                tenant,
                user,
                {"order_type": "pilot", "items": [{"sku": in_stock("spencer"), "qty": 5}],
                 "selected_supplier": "spencer", "ship_to_address": SHIP_TO},
                clients=supplier_clients(rq_app),
            )  # fmt: skip
            db.session.commit()
            sandbox.faults(spencer={"error_rate": 1})
            services.submit(db.session, tenant, user, order)
            db.session.commit()  # the send job goes to Redis only now
            order_id = order.id
        db.session.remove()

    connection = queueing.get_redis(rq_app)
    job_id = f"procurement-send-{order_id}-0"
    queue = queueing.get_queue(rq_app, "default")
    assert [j.id for j in queue.jobs] == [job_id]

    build_worker(rq_app, ["default"]).work(burst=True)
    job = Job.fetch(job_id, connection=connection)
    assert job.get_status() == JobStatus.SCHEDULED and job.retries_left == 2  # Retry(max=3): one used
    with rq_app.app_context(), tenant_scope(db.session, tenant_id):
        stored = db.session.get(Procurement, order_id)
        assert stored.status == "submitted" and stored.submit_attempts == 1 and stored.last_submit_error
        submits = db.session.scalar(
            select(func.count()).select_from(ProcurementEvent).where(ProcurementEvent.kind == "submit")
        )
        assert submits == 1, "the attempt outlived the failed job"
        db.session.remove()

    sandbox.admin("DELETE", "/_faults")
    ScheduledJobRegistry(queue=queue).schedule(job, datetime.now(UTC) - timedelta(seconds=1))  # due now, not in 10 s
    build_worker(rq_app, ["default"]).work(burst=True, with_scheduler=True)

    assert Job.fetch(job_id, connection=connection).get_status() == JobStatus.FINISHED
    with rq_app.app_context(), tenant_scope(db.session, tenant_id):
        stored = db.session.get(Procurement, order_id)
        (remote,) = sandbox.state.orders["spencer"].values()
        assert stored.status == "confirmed" and stored.supplier_order_id == remote.order_id
        assert stored.submit_attempts == 2
        entries = db.session.scalars(select(AuditLog.action).where(AuditLog.target_id == str(order_id))).all()
        assert "procurement.confirmed" in entries and user_id
        db.session.remove()
