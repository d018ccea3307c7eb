"""Safety data sheets are read on their own queue by a worker process of their own, in a child process
within memory, time and page limits: the worker as the Procfile starts it (`python -m jobs.worker`, a real
RQ worker on a real Redis) keeps sending emails and running default jobs while a sheet takes its full
time, a 77 KB PDF that inflates to 50 MB fails on memory without the worker's own memory growing, and
each sheet fails with the message of the limit it hit (issue 10 item 4)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from rq import Queue, Worker
from rq.job import Job, JobStatus

from aerospec import queueing
from aerospec.catalog import sds_limits
from aerospec.extensions import db
from tests.catalog import sds_pdfs
from tests.jobs.conftest import worker_environment

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 6  # the parse's wall-clock limit in these workers (production: 20 s)
MEMORY_MB = 160  # its address-space limit here (production: 256 MB): the bomb reaches it in a second, busy or not


@pytest.fixture
def lane_env(tmp_path, own_database_url):
    """(app, env): the environment the worker processes run on, and an app of this process on the same."""
    settings = {"SDS_PARSE_TIMEOUT_SECONDS": str(TIMEOUT), "SDS_PARSE_MEMORY_MB": str(MEMORY_MB)}
    with worker_environment(own_database_url, tmp_path / "instance", "lane-test-", **settings) as (app, env):
        yield app, env


def _tenant(app) -> uuid.UUID:
    from aerospec.accounts.services import ClientInfo
    from aerospec.tenancy import services as tenancy

    with app.test_request_context():
        _, tenant = tenancy.sign_up(
            db.session,
            email=f"lane-{uuid.uuid4().hex[:8]}@example.com",
            password="sds-lane-test-password-1",  # noqa: S106 - a throwaway test login
            name="Lane Admin",
            company="Lane Sprays Ltd",
            client=ClientInfo(ip_address="127.0.0.1", user_agent="pytest"),
        )
        db.session.commit()
        return tenant.id


def _upload(app, tenant_id, content: bytes, name: str) -> uuid.UUID:
    from aerospec.catalog import sds_services
    from aerospec.tenancy.scoping import tenant_scope

    with app.test_request_context(), tenant_scope(db.session, tenant_id):
        document, _ = sds_services.upload_sds_document(db.session, tenant_id, None, name, content)
        document_id = document.id
        db.session.commit()  # the parse job goes to the sds queue on this commit
    return document_id


def _document(app, tenant_id, document_id) -> tuple[str, str | None, list, str | None]:
    from aerospec.catalog.models import SdsDocument
    from aerospec.tenancy.scoping import tenant_scope

    with app.app_context(), tenant_scope(db.session, tenant_id):
        document = db.session.get(SdsDocument, document_id)
        state = (document.status, document.error, document.extracted, document.product_name)
        db.session.rollback()
        return state


def _wait(what: str, condition, limit: float):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {limit} s")


def _peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM for {pid}")


@pytest.fixture
def worker_process(lane_env, tmp_path):
    """`python -m jobs.worker --no-cron` as the Procfile runs it (every queue), stopped after the test."""
    _, env = lane_env
    log = tmp_path / "worker.log"
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "jobs.worker", "--no-cron"],
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


def test_a_slow_sheet_holds_up_no_other_job_and_a_bomb_fails_on_memory_without_the_worker_growing(
    lane_env, worker_process
):
    app, _ = lane_env
    connection = queueing.get_redis(app)
    tenant_id = _tenant(app)

    def lane_pid() -> int | None:
        workers = Worker.all(queue=Queue("sds", connection=connection))
        return workers[0].pid if workers else None

    pid = _wait("a worker listens on the sds queue", lane_pid, 60)
    general = _wait(
        "a worker listens on the default queue", lambda: Worker.all(queue=Queue("default", connection=connection)), 60
    )

    slow = _upload(app, tenant_id, sds_pdfs.slow_pdf(), "slow.pdf")
    _wait("the slow sheet is being read", lambda: _document(app, tenant_id, slow)[0] == "parsing", 30)
    started = time.monotonic()

    # Meanwhile: an email and a default job, enqueued after the sheet, both done while it is still read.
    from aerospec.notifications import services as notifications
    from aerospec.notifications.models import EmailMessage

    with app.test_request_context():
        message = notifications.queue_email(db.session, "ops@example.com", "password_reset", user_name="O", token="t")
        message_id = message.id
        db.session.commit()
    default_job = queueing.get_queue(app, "default").enqueue("jobs.tenancy.purge_deleted_tenants")

    def email_sent() -> bool:
        with app.app_context():
            status = db.session.get(EmailMessage, message_id).status
            db.session.rollback()
            return status == "sent"

    _wait("the default job finished", lambda: default_job.get_status(refresh=True) == JobStatus.FINISHED, TIMEOUT)
    _wait("the email was sent", email_sent, TIMEOUT)
    assert _document(app, tenant_id, slow)[0] == "parsing", "the other jobs ran while the sheet was read"
    assert time.monotonic() - started < TIMEOUT

    status, error, extracted, product = _wait(
        "the slow sheet failed", lambda: (s := _document(app, tenant_id, slow))[0] == "failed" and s, TIMEOUT + 20
    )
    assert error == sds_limits.too_slow_message(sds_limits.ParseLimits(timeout_seconds=TIMEOUT))
    assert (extracted, product) == ([], None)  # nothing half-written

    # The inflation bomb: the lane's own peak memory stays where it was.
    before = _peak_rss_mb(pid)
    bomb = _upload(app, tenant_id, sds_pdfs.inflation_bomb_pdf(), "bomb.pdf")
    status, error, extracted, product = _wait(
        "the bomb failed", lambda: (s := _document(app, tenant_id, bomb))[0] == "failed" and s, TIMEOUT + 20
    )
    assert error == sds_limits.too_much_memory_message(sds_limits.ParseLimits(memory_mb=MEMORY_MB))
    assert (extracted, product) == ([], None)
    assert lane_pid() == pid  # the same worker, alive
    grown = _peak_rss_mb(pid) - before
    assert grown < 32, f"the worker's peak memory grew {grown:.0f} MB reading the bomb"
    job = Job.fetch(f"sds-parse-{bomb}", connection=connection)
    assert job.origin == "sds"
    # The sheet's row is committed failed a moment before RQ records the job as finished.
    _wait("the bomb's job finished", lambda: job.get_status(refresh=True) == JobStatus.FINISHED, 10)
    assert pid not in [w.pid for w in general]  # the lane is a process of its own
    assert "sds" not in {q.name for w in general for q in w.queues}
    # The Procfile's one command listens on every queue there is, between its two processes.
    assert {q.name for w in Worker.all(connection=connection) for q in w.queues} == set(queueing.QUEUES)
