"""The worker process: build the app once, run an RQ worker with its scheduler, and the cron schedule.

`python -m jobs.worker [--burst] [--no-cron] [queue ...]`. Jobs run in this process
(no fork per job), each inside a fresh app context so it gets its own DB session, and
log their job id and tenant.

Without queue names it works every queue: the lanes (`queueing.LANES`: `sds`, safety data sheets,
each read for up to 20 s in a child process of its own) in a second worker process it starts (and
restarts should it die), all the others here, so an upload that takes its full time to read never
holds up an email, a billing event or an order send. With queue names it works exactly those, here
(`python -m jobs.worker sds` is a worker of the SDS lane alone, to scale it on its own).

A worker killed mid-job (a dyno restart, the OOM killer) leaves its job "started". RQ gives such
a job up as abandoned once its execution's TTL has passed and a worker's maintenance sweeps the
registry, then retries it (every enqueued job has Retry). With RQ's defaults that took ~12 minutes
(a 180 s timeout + 60 s, and an idle worker sweeping only every 7-10 minutes); here the TTL is the
job's timeout (30 s for supplier calls, 60 s for most queues: queueing.JOB_TIMEOUTS) plus 10 s, and
an idle worker sweeps every 15 s, so the job runs again well within two minutes
(bench/worker_recovery.py measures it).
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import sys
import threading
import time

from rq import Queue, SimpleWorker

from aerospec import create_app, queueing
from aerospec.observability import bind

log = logging.getLogger("jobs.worker")

MAINTENANCE_INTERVAL = 15  # seconds between sweeps for abandoned jobs (RQ's default: 600)
# An idle worker only looks at the clock between dequeues, which wait worker_ttl - 15 s (RQ's default
# 420 s: the sweep above ran every ~7 minutes): a 30 s TTL makes it wake every 15 s.
WORKER_TTL = 30
ABANDON_MARGIN = 10  # seconds past a job's timeout before a silent execution counts as abandoned


class AppWorker(SimpleWorker):
    """An RQ worker that runs every job inside the app's context."""

    app = None

    def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
        # The job runs in this thread, bounded by its timeout (RQ's death penalty); once that and a
        # margin have passed without an end, the worker is dead. (SimpleWorker adds 60 s.)
        if job.timeout is None or job.timeout < 0:
            return super().get_heartbeat_ttl(job, working_time)
        return int(job.timeout) + ABANDON_MARGIN

    def perform_job(self, job, queue, *args, **kwargs):
        tenant = (job.meta or {}).get("tenant_id")
        with self.app.app_context(), bind(job=job.func_name, job_id=job.id, tenant=tenant, queue=queue.name):
            started = time.perf_counter()
            try:
                return super().perform_job(job, queue, *args, **kwargs)
            finally:
                from aerospec.extensions import db

                db.session.remove()
                log.info(
                    "job %s ended: %s",
                    job.func_name,
                    getattr(job.get_status(refresh=False), "value", None),
                    extra={"duration_ms": round((time.perf_counter() - started) * 1000, 1)},
                )


def _run_cron(redis_url: str) -> None:
    """Run the rq cron scheduler on the schedule in jobs/schedule.py (own process)."""
    import redis
    from rq.cron import CronScheduler

    from aerospec.observability import configure_logging

    configure_logging()
    connection = redis.Redis.from_url(redis_url)
    scheduler = CronScheduler(connection=connection)
    scheduler.load_config_from_file("jobs.schedule")
    scheduler.start()


def _run_lane(argv: list[str]) -> int:
    """A lane's process: a warm shutdown when the main worker dies (Linux's parent-death signal), then main()."""
    import contextlib
    import ctypes
    import signal

    # Not Linux: no prctl, and the lane outlives a killed parent until it is stopped.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    return main(argv)


class Lane:
    """A worker process of its own for some queues (spawned: a fresh interpreter that builds its own app),
    started with the main worker and started again, after a pause, when it dies (exit status not 0: a
    crash, the OOM killer); a warm shutdown (SIGTERM, as a dyno stop sends every process) ends it."""

    RESTART_AFTER = 5.0  # seconds

    def __init__(self, queues: list[str], *, burst: bool):
        self.queues, self.burst = queues, burst
        self.process: multiprocessing.process.BaseProcess | None = None
        self.stopping = threading.Event()
        self.watcher = threading.Thread(target=self._watch, name=f"lane-{'-'.join(queues)}", daemon=True)

    def _spawn(self) -> None:
        argv = [*self.queues, "--no-cron"] + (["--burst"] if self.burst else [])
        self.process = multiprocessing.get_context("spawn").Process(
            target=_run_lane, args=(argv,), name=f"rq-worker-{'-'.join(self.queues)}"
        )  # not a daemon: its RQ worker starts a scheduler process of its own; stop() ends it
        self.process.start()

    def _watch(self) -> None:
        while not self.stopping.is_set():
            self.process.join(1.0)
            if self.process.exitcode is None or self.stopping.is_set():
                continue
            if self.burst or self.process.exitcode == 0:
                return  # worked its queues empty (burst), or asked to stop
            log.warning("worker for %s exited (%s); starting it again", self.queues, self.process.exitcode)
            if not self.stopping.wait(self.RESTART_AFTER):
                self._spawn()

    def start(self) -> Lane:
        self._spawn()
        self.watcher.start()
        return self

    def stop(self, timeout: float = 25.0) -> None:
        """Warm shutdown (SIGTERM: the lane finishes the job it is on), then SIGKILL after `timeout`."""
        self.stopping.set()
        if self.burst:
            self.process.join()  # burst: wait until it has worked its queues empty
        elif self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(5)


def build_worker(app, queue_names: list[str] | None = None) -> AppWorker:
    """An AppWorker on the app's Redis, listening to the given (or all) queues."""
    connection = queueing.get_redis(app)
    queues = [Queue(name, connection=connection) for name in (queue_names or queueing.QUEUES)]
    worker = AppWorker(queues, connection=connection, maintenance_interval=MAINTENANCE_INTERVAL, worker_ttl=WORKER_TTL)
    worker.app = app
    return worker


def main(argv: list[str] | None = None) -> int:
    """Entry point for the Procfile's worker process."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("queues", nargs="*", help="queues to listen to (default: all)")
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument("--no-cron", action="store_true", help="do not run the cron schedule")
    args = parser.parse_args(argv)

    app = create_app()  # configures logging (JSON lines); refuses to start on unchosen fakes in production
    if queueing.get_redis(app) is None:
        log.warning("No Redis available (JOBS_MODE=inline): jobs run inside the web process.")
        return 0
    lanes: list[Lane] = []
    queue_names = args.queues
    if not queue_names:  # every queue: the lanes in processes of their own, the rest here
        queue_names = [name for name in queueing.QUEUES if name not in queueing.LANES]
        lanes = [Lane([name], burst=args.burst).start() for name in queueing.LANES]
    worker = build_worker(app, queue_names)
    cron = None
    if not args.no_cron and not args.burst:
        cron = multiprocessing.get_context("spawn").Process(
            target=_run_cron, args=(queueing.get_redis_url(app),), name="rq-cron", daemon=True
        )
        cron.start()
    try:
        worker.work(with_scheduler=True, burst=args.burst)
    finally:
        for lane in lanes:
            lane.stop()
        if cron is not None and cron.is_alive():
            cron.terminate()
            cron.join(5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
