"""Correction training through a real RQ worker on a real Redis (and PostgreSQL with row-level security when
DATABASE_URL names one): the FEEDBACK_TRAIN_EVERY_N-th lab result enqueues the job on the `ml` queue when it
commits, the worker trains across workspaces through the logged bypass, and the next prediction uses the model."""

from __future__ import annotations

import math
import uuid

from rq.job import Job, JobStatus
from sqlalchemy import select

from aerospec import engine, queueing
from aerospec.extensions import db
from jobs.worker import build_worker
from tests.jobs.test_worker import rq_app as rq_app  # noqa: F401 - the fixture, shared

FACTOR = 1.5


def _workspace(app):
    from aerospec.accounts.services import ClientInfo
    from aerospec.catalog import services as catalog
    from aerospec.tenancy import services as tenancy

    with app.test_request_context():
        catalog.seed_actuators(db.session)
        catalog.seed_fluids(db.session)
        _, tenant = tenancy.sign_up(
            db.session,
            email=f"lab-{uuid.uuid4().hex[:8]}@example.com",
            password="correction-worker-test-1",  # noqa: S106 - a throwaway test login
            name="Lab Admin",
            company="Lab Sprays Ltd",
            client=ClientInfo(ip_address="127.0.0.1", user_agent="pytest"),
        )
        db.session.commit()
        return tenant.id


def _configuration(app, tenant_id):
    from aerospec.configurations import services as configs
    from aerospec.limits import counters
    from aerospec.tenancy.models import Membership, Tenant
    from aerospec.tenancy.scoping import tenant_scope
    from tests.configurations.conftest import BASE

    with app.test_request_context(), tenant_scope(db.session, tenant_id):
        tenant = db.session.get(Tenant, tenant_id)
        member = db.session.scalar(select(Membership).where(Membership.tenant_id == tenant_id))
        config, _ = configs.create_configuration(
            db.session, tenant, member, dict(BASE), counter=counters.DatabaseCounter()
        )
        db.session.commit()
        return config.id, config.compatible_actuators[0]["sku"]


def _record(app, tenant_id, config_id, sku, n) -> dict:
    from aerospec.feedback import services as feedback
    from aerospec.tenancy.models import Membership, Tenant
    from aerospec.tenancy.scoping import tenant_scope

    physics = None
    for i in range(n):
        with app.test_request_context(), tenant_scope(db.session, tenant_id):
            tenant = db.session.get(Tenant, tenant_id)
            member = db.session.scalar(select(Membership).where(Membership.tenant_id == tenant_id))
            if physics is None:
                config = feedback.configs.get_configuration(db.session, tenant, config_id)
                supplier = config.compatible_actuators[0]["supplier"]
                physics = feedback.predict_for(db.session, config, supplier, sku, 5.0)["physics"]
            wobble = math.exp(0.01 * ((i % 3) - 1))
            data = {
                "configuration_id": config_id,
                "actuator_sku": sku,
                "pressure_bar": 5.0,
                "flow_rate_actual_ml_min": physics["flow_ml_min"] * FACTOR * wobble,
            }
            feedback.record_feedback(db.session, tenant, member, data)
            db.session.commit()  # the n-th result's commit enqueues the training job
    return physics


def _prediction(app, tenant_id, sku) -> dict:
    from aerospec.catalog.models import Actuator
    from aerospec.configurations import wizard
    from aerospec.tenancy.scoping import tenant_scope
    from tests.configurations.conftest import BASE

    fluid = engine.Fluid(BASE["fluid_viscosity_cP"], BASE["fluid_density_kg_m3"], BASE["fluid_surface_tension_mN_m"])
    with app.app_context(), tenant_scope(db.session, tenant_id):
        actuator_id = db.session.scalar(select(Actuator.id).where(Actuator.sku == sku))
        results = wizard.ranked_entries(db.session, fluid, engine.Targets(5.0), actuator_id=actuator_id)
        return results.entries[0]


def test_the_nth_result_enqueues_training_and_a_real_worker_promotes_a_model_the_next_prediction_uses(rq_app):
    rq_app.config["FEEDBACK_TRAIN_EVERY_N"] = 5
    tenant_id = _workspace(rq_app)
    config_id, sku = _configuration(rq_app, tenant_id)
    queue = queueing.get_queue(rq_app, "ml")
    physics = _record(rq_app, tenant_id, config_id, sku, 4)
    assert queue.count == 0, "four results: no training yet"
    _record(rq_app, tenant_id, config_id, sku, 1)
    assert queue.count == 1
    job_id = queue.jobs[0].id
    assert job_id == f"train-correction-{tenant_id}-5"

    build_worker(rq_app, ["ml"]).work(burst=True)

    assert Job.fetch(job_id, connection=queueing.get_redis(rq_app)).get_status() == JobStatus.FINISHED
    from aerospec.feedback.models import CorrectionModel

    with rq_app.app_context():
        (model,) = db.session.scalars(select(CorrectionModel)).all()
        assert model.status == "active" and model.rows_used == 4 and model.rows_held_out == 1
        assert (
            model.heldout_error["quantities"]["flow_ml_min"]["after"]
            < model.heldout_error["quantities"]["flow_ml_min"]["before"]
        )
    entry = _prediction(rq_app, tenant_id, sku)
    assert entry["correction"]["label"] == "calibrated with 4 lab results"
    measured = physics["flow_ml_min"] * FACTOR
    assert abs(math.log(entry["flow_ml_min"] / measured)) < 0.5 * math.log(FACTOR)


def test_training_is_on_the_schedule_daily_on_the_ml_queue(rq_app):
    from rq.cron import CronScheduler

    scheduler = CronScheduler(connection=queueing.get_redis(rq_app))
    scheduler.load_config_from_file("jobs.schedule")
    (job,) = [j for j in scheduler.get_jobs() if j.name == "train_correction_models"]
    assert job.cron == "40 2 * * *" and job.queue_name == "ml"
