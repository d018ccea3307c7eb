"""Lab-result jobs through a real RQ worker on a real Redis (and PostgreSQL with row-level security when
DATABASE_URL names one): a recorded or edited result enqueues the aggregate job after commit, which recomputes its
group; running it again changes nothing; the scheduled reminder job emails a delivered order's creator once."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from aerospec import queueing
from aerospec.accounts import services as accounts
from aerospec.catalog import services as catalog
from aerospec.configurations import services as configs
from aerospec.extensions import db
from aerospec.feedback import services as feedback
from aerospec.feedback.models import FeedbackAggregate
from aerospec.limits import counters
from aerospec.models import utcnow
from aerospec.notifications.models import EmailMessage
from aerospec.tenancy import services as tenancy
from aerospec.tenancy.models import Membership, Tenant
from aerospec.tenancy.scoping import tenant_scope
from jobs.feedback import send_lab_result_reminders
from jobs.worker import build_worker
from tests.configurations.conftest import BASE
from tests.feedback.makers import delivered_order
from tests.jobs.test_worker import rq_app  # noqa: F401 - fixture

PASSWORD = "feedback job test passphrase 3"  # noqa: S105 - a throwaway test login


def _world(app) -> dict:
    """A workspace with a ranked configuration (committed in the job test's own database)."""
    with app.test_request_context():
        catalog.seed_actuators(db.session)
        catalog.seed_fluids(db.session)
        db.session.commit()
        user, tenant = tenancy.sign_up(
            db.session,
            email=f"lab-{uuid.uuid4().hex[:6]}@example.com",
            password=PASSWORD,
            name="Lena Lab",
            company="Worker Sprays Ltd",
            client=accounts.ClientInfo("127.0.0.1", "pytest"),
        )
        db.session.commit()
        with tenant_scope(db.session, tenant.id):
            membership = db.session.scalar(select(Membership).where(Membership.tenant_id == tenant.id))
            config, _ = configs.create_configuration(
                db.session, tenant, membership, dict(BASE), counter=counters.DatabaseCounter()
            )
            db.session.commit()
            world = {"tenant_id": tenant.id, "user_id": user.id, "email": user.email, "config_id": config.id}
            world["sku"] = config.compatible_actuators[0]["sku"]
        db.session.remove()
    return world


def _record(app, world, **values) -> uuid.UUID:
    with app.test_request_context(), tenant_scope(db.session, world["tenant_id"]):
        tenant = db.session.get(Tenant, world["tenant_id"])
        membership = db.session.scalar(select(Membership).where(Membership.tenant_id == tenant.id))
        data = {"configuration_id": world["config_id"], "actuator_sku": world["sku"], "pressure_bar": 3.0, **values}
        row = feedback.record_feedback(db.session, tenant, membership, data)
        assert queueing.get_queue(app, "default").count == 0, "nothing may be enqueued before the commit"
        db.session.commit()
        row_id = row.id
        db.session.remove()
    return row_id


def _aggregate(app, world) -> dict | None:
    with app.app_context(), tenant_scope(db.session, world["tenant_id"]):
        row = db.session.scalar(select(FeedbackAggregate))
        values = {c.key: getattr(row, c.key) for c in FeedbackAggregate.__table__.columns} if row else None
        db.session.remove()
    return values


def test_a_recorded_and_an_edited_result_refresh_the_aggregate_by_a_real_worker(rq_app):  # noqa: F811
    world = _world(rq_app)
    first = _record(rq_app, world, spray_cone_angle_actual=50.0, pass_fail="pass")
    assert queueing.get_queue(rq_app, "default").count == 1
    assert _aggregate(rq_app, world) is None  # not yet: the worker has not run
    build_worker(rq_app, ["default"]).work(burst=True)
    row = _aggregate(rq_app, world)
    assert (row["result_count"], row["pass_count"], row["cone_count"]) == (1, 1, 1)
    assert row["actuator_sku"] == world["sku"] and row["fluid_key"] == "props:1/997/72"

    _record(rq_app, world, spray_cone_angle_actual=70.0, pass_fail="fail")
    with rq_app.test_request_context(), tenant_scope(db.session, world["tenant_id"]):
        tenant = db.session.get(Tenant, world["tenant_id"])
        edited = feedback.get_feedback(db.session, tenant, first)
        feedback.update_feedback(db.session, tenant, edited, {"spray_cone_angle_actual": 54.0})
        predicted = edited.prediction["cone_deg"]
        db.session.commit()
        db.session.remove()
    assert queueing.get_queue(rq_app, "default").count == 2
    build_worker(rq_app, ["default"]).work(burst=True)
    row = _aggregate(rq_app, world)
    assert (row["result_count"], row["pass_count"], row["fail_count"], row["cone_count"]) == (2, 1, 1, 2)
    assert row["avg_actual_cone_deg"] == 62.0
    assert abs(row["avg_predicted_cone_deg"] - predicted) < 1e-9  # same SKU, fluid and pressure: one prediction
    expected_rmse = (((54.0 - predicted) ** 2 + (70.0 - predicted) ** 2) / 2) ** 0.5
    assert abs(row["rmse_cone_deg"] - expected_rmse) < 1e-9

    # The same job again (a retry, a duplicate enqueue) recomputes the same row: nothing is added twice.
    key = (str(world["tenant_id"]), row["actuator_supplier"], row["actuator_sku"], row["fluid_key"])
    for _ in range(2):
        queueing.get_queue(rq_app, "default").enqueue("jobs.feedback.refresh_feedback_aggregate", *key)
    build_worker(rq_app, ["default"]).work(burst=True)
    again = _aggregate(rq_app, world)
    assert {k: v for k, v in again.items() if k != "computed_at"} == {
        k: v for k, v in row.items() if k != "computed_at"
    }


def test_the_reminder_job_emails_a_delivered_orders_creator_once_by_a_real_worker(rq_app):  # noqa: F811
    world = _world(rq_app)
    delivered = utcnow() - timedelta(days=3, hours=2)
    with rq_app.app_context(), tenant_scope(db.session, world["tenant_id"]):
        tenant = db.session.get(Tenant, world["tenant_id"])
        user = accounts.get_user_by_email(db.session, world["email"])
        order = delivered_order(db.session, tenant, user, world["config_id"], delivered, sku=world["sku"])
        reference = order.reference
        db.session.commit()
        db.session.remove()
    for _ in range(2):  # two runs (the next hour, or a second scheduler): one email
        queueing.get_queue(rq_app, "default").enqueue(send_lab_result_reminders)  # as the cron schedule does
        build_worker(rq_app, ["default", "emails"]).work(burst=True)
    with rq_app.app_context():
        mails = list(db.session.scalars(select(EmailMessage).where(EmailMessage.template == "feedback_reminder")))
        assert [(m.to_address, m.status) for m in mails] == [(world["email"], "sent")]
        assert reference in mails[0].subject and "/lab-results/import?order=" in mails[0].text_body
        db.session.remove()


def test_the_schedule_runs_the_reminder_job_hourly(rq_app):  # noqa: F811
    from rq.cron import CronScheduler

    scheduler = CronScheduler(connection=queueing.get_redis(rq_app))
    scheduler.load_config_from_file("jobs.schedule")
    jobs = {job.name: job for job in scheduler.get_jobs()}
    assert jobs["send_lab_result_reminders"].cron == "40 * * * *"
