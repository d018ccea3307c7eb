"""The worker process: build the app once, run an RQ worker with its scheduler, and the cron schedule.

`python -m jobs.worker [--burst] [--no-cron] [queue ...]`. Jobs run in this process
(no fork per job), each inside a fresh app context so it gets its own DB session.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import sys

from rq import Queue, SimpleWorker

from aerospec import create_app, queueing

log = logging.getLogger("jobs.worker")


class AppWorker(SimpleWorker):
    """An RQ worker that runs every job inside the app's context."""

    app = None

    def perform_job(self, job, queue, *args, **kwargs):
        with self.app.app_context():
            try:
                return super().perform_job(job, queue, *args, **kwargs)
            finally:
                from aerospec.extensions import db

                db.session.remove()


def _run_cron(redis_url: str) -> None:
    """Run the rq cron scheduler on the schedule in jobs/schedule.py (own process)."""
    import redis
    from rq.cron import CronScheduler

    connection = redis.Redis.from_url(redis_url)
    scheduler = CronScheduler(connection=connection)
    scheduler.load_config_from_file("jobs.schedule")
    scheduler.start()


def build_worker(app, queue_names: list[str] | None = None) -> AppWorker:
    """An AppWorker on the app's Redis, listening to the given (or all) queues."""
    connection = queueing.get_redis(app)
    queues = [Queue(name, connection=connection) for name in (queue_names or queueing.QUEUES)]
    worker = AppWorker(queues, connection=connection)
    worker.app = app
    return worker


def main(argv: list[str] | None = None) -> int:
    """Entry point for the Procfile's worker process."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("queues", nargs="*", help="queues to listen to (default: all)")
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument("--no-cron", action="store_true", help="do not run the cron schedule")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    app = create_app()
    if queueing.get_redis(app) is None:
        log.warning("No Redis available (JOBS_MODE=inline): jobs run inside the web process.")
        return 0
    worker = build_worker(app, args.queues)
    cron = None
    if not args.no_cron and not args.burst:
        cron = multiprocessing.get_context("spawn").Process(
            target=_run_cron, args=(queueing.get_redis_url(app),), name="rq-cron", daemon=True
        )
        cron.start()
    try:
        worker.work(with_scheduler=True, burst=args.burst)
    finally:
        if cron is not None and cron.is_alive():
            cron.terminate()
            cron.join(5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
