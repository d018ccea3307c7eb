"""The schedule: every recurring job, in one place (an `rq cron` config module).

Loaded by `python -m jobs.worker` (which runs the cron scheduler beside the worker),
or on its own with `rq cron jobs.schedule --url $REDIS_URL`. Every job here is
idempotent, so a duplicate run (two schedulers, a retry) does no harm.
"""

from rq import cron

from jobs.tenancy import purge_deleted_tenants

# Daily at 03:17 UTC: hard-delete workspaces soft-deleted more than 30 days ago.
cron.register(purge_deleted_tenants, queue_name="default", cron="17 3 * * *", name="purge_deleted_tenants")
