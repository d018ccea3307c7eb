"""Custom-model training through a real RQ worker on a real Redis (and PostgreSQL with row-level security when
DATABASE_URL names one): starting a model enqueues its job on the `ml` queue at commit, the model reads
"training" until the worker has run, then "ready" with held-out metrics, and predictions with it move towards
what the lab measured; a selection that vanished before the job ran fails with a message."""

from __future__ import annotations

import math
import uuid

from rq.job import Job, JobStatus
from sqlalchemy import delete, select

from aerospec import engine, queueing
from aerospec.extensions import db
from jobs.worker import build_worker
from tests.jobs.test_correction_worker import FACTOR, _configuration, _record, _workspace
from tests.jobs.test_worker import rq_app as rq_app  # noqa: F401 - the fixture, shared


def _start(app, tenant_id, sku) -> str:
    from aerospec.feedback import custom
    from aerospec.tenancy.models import Membership, Tenant
    from aerospec.tenancy.scoping import tenant_scope

    with app.test_request_context(), tenant_scope(db.session, tenant_id):
        tenant = db.session.get(Tenant, tenant_id)
        member = db.session.scalar(select(Membership).where(Membership.tenant_id == tenant_id))
        row, eta = custom.start(
            db.session, tenant, member, name="Worker model", model_type="shrinkage", selection={"sku": sku}
        )
        db.session.commit()
        assert eta >= 1
        return str(row.id)


def _model(app, tenant_id, model_id):
    from aerospec.feedback.models import CustomModel
    from aerospec.tenancy.scoping import tenant_scope

    with app.app_context(), tenant_scope(db.session, tenant_id):
        row = db.session.get(CustomModel, uuid.UUID(model_id))
        return {"status": row.status, "progress": row.progress, "message": row.message, "metrics": row.metrics}


def test_a_real_worker_trains_the_model_and_predictions_with_it_move_towards_the_lab(rq_app):
    rq_app.config["FEEDBACK_TRAIN_EVERY_N"] = 0
    tenant_id = _workspace(rq_app)
    config_id, sku = _configuration(rq_app, tenant_id)
    physics = _record(rq_app, tenant_id, config_id, sku, 6)
    queue = queueing.get_queue(rq_app, "ml")
    model_id = _start(rq_app, tenant_id, sku)
    assert queue.count == 1 and queue.jobs[0].id == f"train-custom-{model_id}"
    assert _model(rq_app, tenant_id, model_id)["status"] == "training"

    build_worker(rq_app, ["ml"]).work(burst=True)

    job = Job.fetch(f"train-custom-{model_id}", connection=queueing.get_redis(rq_app))
    assert job.get_status() == JobStatus.FINISHED
    got = _model(rq_app, tenant_id, model_id)
    assert got["status"] == "ready" and got["progress"] == 100, got
    flow = got["metrics"]["quantities"]["flow_ml_min"]
    assert flow["custom"] < flow["physics"]

    from aerospec.catalog.models import Actuator
    from aerospec.configurations import wizard
    from aerospec.feedback import custom
    from aerospec.tenancy.models import Tenant
    from aerospec.tenancy.scoping import tenant_scope
    from tests.configurations.conftest import BASE

    fluid = engine.Fluid(BASE["fluid_viscosity_cP"], BASE["fluid_density_kg_m3"], BASE["fluid_surface_tension_mN_m"])
    with rq_app.app_context(), tenant_scope(db.session, tenant_id):
        tenant = db.session.get(Tenant, tenant_id)
        stack, _ = custom.stack_of(db.session, tenant, model_id)
        actuator_id = db.session.scalar(select(Actuator.id).where(Actuator.sku == sku))
        (entry,) = wizard.ranked_entries(
            db.session, fluid, engine.Targets(5.0), actuator_id=actuator_id, stack=stack
        ).entries
    measured = physics["flow_ml_min"] * FACTOR
    assert entry["correction"]["model_version"] == "custom “Worker model”"
    assert abs(math.log(entry["flow_ml_min"] / measured)) < 0.5 * math.log(FACTOR)


def test_a_selection_gone_before_the_job_runs_fails_with_a_message(rq_app):
    from aerospec.feedback.models import Feedback
    from aerospec.tenancy.scoping import tenant_scope

    rq_app.config["FEEDBACK_TRAIN_EVERY_N"] = 0
    tenant_id = _workspace(rq_app)
    config_id, sku = _configuration(rq_app, tenant_id)
    _record(rq_app, tenant_id, config_id, sku, 5)
    model_id = _start(rq_app, tenant_id, sku)
    with rq_app.app_context(), tenant_scope(db.session, tenant_id):
        db.session.execute(delete(Feedback).where(Feedback.tenant_id == tenant_id))
        db.session.commit()

    build_worker(rq_app, ["ml"]).work(burst=True)

    got = _model(rq_app, tenant_id, model_id)
    assert got["status"] == "failed" and "needs at least 4" in got["message"], got
