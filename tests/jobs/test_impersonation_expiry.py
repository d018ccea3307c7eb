"""Impersonation expiry as a scheduled job (issue 13): a real RQ worker on a real Redis ends every impersonation
whose time is up, writing the same end entries as the request-time path ("expired" in the workspace audit log,
and the admin audit log), and never a second pair whichever of the two comes first, or when both race."""

from __future__ import annotations

import uuid
from datetime import timedelta

import time_machine
from rq.cron import CronScheduler
from sqlalchemy import select

from aerospec import queueing
from aerospec.accounts import services as accounts
from aerospec.admin import impersonation
from aerospec.admin.cli import make_admin
from aerospec.admin.models import AdminAuditLog, Impersonation
from aerospec.compliance.models import AuditLog
from aerospec.extensions import db
from aerospec.models import utcnow
from aerospec.tenancy import services as tenancy
from aerospec.tenancy.scoping import tenant_scope
from jobs.impersonation import end_expired_impersonations
from jobs.worker import build_worker
from tests.jobs.test_worker import rq_app  # noqa: F401 - fixture

PASSWORD = "expiry job test passphrase 7"  # noqa: S105 - throwaway test logins
CLIENT = accounts.ClientInfo("127.0.0.1", "pytest")


def _world(app):
    """(admin id, user id, tenant id, a test client logged in as the admin)."""
    with app.test_request_context():
        user, tenant = tenancy.sign_up(
            db.session,
            email=f"mona-{uuid.uuid4().hex[:6]}@example.com",
            password=PASSWORD,
            name="Mona Member",
            company="Expiry Sprays Ltd",
            client=CLIENT,
        )
        admin, _ = make_admin(db.session, f"ops-{uuid.uuid4().hex[:6]}@aerospec.example", PASSWORD, "Olive Ops")
        row = accounts.start_session(db.session, admin, CLIENT)
        ids = admin.id, user.id, tenant.id, row.id
        db.session.commit()
        db.session.remove()
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = str(ids[3])
        sess["_fresh"] = True
    return ids[0], ids[1], ids[2], client


def _start(client, user_id, minutes="5") -> uuid.UUID:
    response = client.post(f"/admin/users/{user_id}/impersonate", data={"minutes": minutes, "reason": "Ticket 77"})
    assert response.status_code == 303, response.get_data(as_text=True)
    with client.session_transaction() as sess:
        return uuid.UUID(sess[impersonation.SESSION_KEY])


def _ends(app, tenant_id, imp_id):
    """(the workspace's end entries' "how", the admin log's end entries) for this impersonation."""
    with app.app_context():
        with tenant_scope(db.session, tenant_id):
            tenant_hows = [
                e.details["how"]
                for e in db.session.scalars(select(AuditLog).where(AuditLog.action == "impersonation.ended"))
                if e.details["impersonation_id"] == str(imp_id)
            ]
        admin_hows = [
            e.details["how"]
            for e in db.session.scalars(select(AdminAuditLog).where(AdminAuditLog.action == "impersonation.ended"))
            if e.details["impersonation_id"] == str(imp_id)
        ]
        imp = db.session.get(Impersonation, imp_id)
        state = (imp.end_reason, imp.ended_at == imp.expires_at if imp.ended_at else None)
        db.session.remove()
    return tenant_hows, admin_hows, state


def _run_job(app, now) -> None:
    queueing.get_queue(app, "default").enqueue(end_expired_impersonations, now=now)  # as the cron schedule does
    build_worker(app, ["default"]).work(burst=True)


def _banner(client) -> bool:
    return "You are viewing AeroSpec as" in client.get("/admin/tenants").get_data(as_text=True)


def test_the_schedule_runs_the_expiry_job_every_minute(rq_app):  # noqa: F811
    scheduler = CronScheduler(connection=queueing.get_redis(rq_app))
    scheduler.load_config_from_file("jobs.schedule")
    jobs = {job.name: job for job in scheduler.get_jobs()}
    assert jobs["end_expired_impersonations"].cron == "* * * * *"


def test_the_job_ends_an_expired_impersonation_and_the_admins_next_request_adds_nothing(rq_app):  # noqa: F811
    admin_id, user_id, tenant_id, client = _world(rq_app)
    imp_id = _start(client, user_id)
    assert _banner(client)
    _run_job(rq_app, utcnow() + timedelta(minutes=4))  # not yet due
    assert _ends(rq_app, tenant_id, imp_id) == ([], [], (None, None))

    later = utcnow() + timedelta(minutes=6)
    _run_job(rq_app, later)
    assert _ends(rq_app, tenant_id, imp_id) == (["expired"], ["expired"], ("expired", True))
    with time_machine.travel(later, tick=False):
        assert not _banner(client)  # the admin is themselves again
        page = client.get("/admin/tenants")
        assert page.status_code == 200
    _run_job(rq_app, later + timedelta(minutes=1))  # the next minute's run
    assert _ends(rq_app, tenant_id, imp_id) == (["expired"], ["expired"], ("expired", True))


def test_the_admins_request_ends_it_first_and_the_job_then_adds_nothing(rq_app):  # noqa: F811
    admin_id, user_id, tenant_id, client = _world(rq_app)
    imp_id = _start(client, user_id)
    later = utcnow() + timedelta(minutes=6)
    with time_machine.travel(later, tick=False):
        assert not _banner(client)
    assert _ends(rq_app, tenant_id, imp_id) == (["expired"], ["expired"], ("expired", True))
    _run_job(rq_app, later + timedelta(minutes=1))
    assert _ends(rq_app, tenant_id, imp_id) == (["expired"], ["expired"], ("expired", True))


def test_a_request_holding_the_row_from_before_the_job_ended_it_writes_no_second_end(rq_app):  # noqa: F811
    """The race: a request read the impersonation open, the job ends it, then the request ends it too."""
    admin_id, user_id, tenant_id, client = _world(rq_app)
    imp_id = _start(client, user_id)
    later = utcnow() + timedelta(minutes=6)
    with rq_app.app_context():
        stale = db.session.get(Impersonation, imp_id)
        assert stale.ended_at is None
        _run_job(rq_app, later)  # the worker's own app context and session
        assert stale.ended_at is None  # this session has not seen it
        assert impersonation.end(db.session, stale, "expired", later) is False
        db.session.commit()
        assert stale.end_reason == "expired"
        db.session.remove()
    assert _ends(rq_app, tenant_id, imp_id) == (["expired"], ["expired"], ("expired", True))


def test_the_job_leaves_running_impersonations_alone_and_ends_each_expired_one(rq_app):  # noqa: F811
    _, first_user, first_tenant, first_admin = _world(rq_app)
    _, second_user, second_tenant, second_admin = _world(rq_app)
    short = _start(first_admin, first_user, minutes="5")
    long = _start(second_admin, second_user, minutes="30")
    _run_job(rq_app, utcnow() + timedelta(minutes=10))
    assert _ends(rq_app, first_tenant, short) == (["expired"], ["expired"], ("expired", True))
    assert _ends(rq_app, second_tenant, long) == ([], [], (None, None))
    assert _banner(second_admin)  # still viewing as the user
