"""The schedule: every recurring job, in one place (an `rq cron` config module).

Loaded by `python -m jobs.worker` (which runs the cron scheduler beside the worker),
or on its own with `rq cron jobs.schedule --url $REDIS_URL`. Every job here is
idempotent, so a duplicate run (two schedulers, a retry) does no harm.
"""

from rq import cron

from jobs.billing import push_commissions, run_offline_billing_cycle
from jobs.emails import sweep_queued_emails
from jobs.feedback import send_lab_result_reminders, train_correction_models
from jobs.impersonation import end_expired_impersonations
from jobs.lifecycle import daily_billing_tick
from jobs.procurement import poll_open_orders
from jobs.revenue import roll_up_revenue_days
from jobs.suppliers import sync_supplier_catalog
from jobs.tenancy import purge_deleted_tenants
from jobs.usage import roll_up_usage
from jobs.webhooks import sweep_due_deliveries

# Daily at 03:17 UTC: hard-delete workspaces soft-deleted more than 30 days ago.
cron.register(purge_deleted_tenants, queue_name="default", cron="17 3 * * *", name="purge_deleted_tenants")

# Every 10 minutes: follow open orders at their suppliers, resend stuck submissions,
# finish pending cancellations.
cron.register(poll_open_orders, queue_name="default", cron="*/10 * * * *", job_timeout=300, name="poll_open_orders")

# Every 4 hours: refresh catalog prices, stock and lead times from Spencer and Coster (batched).
cron.register(
    sync_supplier_catalog, queue_name="sync", cron="0 */4 * * *", job_timeout=1800, name="sync_supplier_catalog"
)

# Hourly at :05: roll the live usage counters up into usage_rollups (current and just-closed periods).
cron.register(roll_up_usage, queue_name="billing", cron="5 * * * *", name="roll_up_usage")

# Hourly at :25: the revenue dashboard's daily summary (active users, paid orders) for days that have closed.
cron.register(roll_up_revenue_days, queue_name="default", cron="25 * * * *", name="roll_up_revenue_days")

# Daily at 06:05 UTC: expire trials, grace → read-only → suspended, trial and dunning reminders (once each).
cron.register(daily_billing_tick, queue_name="billing", cron="5 6 * * *", name="daily_billing_tick")

# Daily at 05:35 UTC: procurement commissions become Stripe invoice items on the next subscription invoice.
cron.register(push_commissions, queue_name="billing", cron="35 5 * * *", name="push_commissions")

# Hourly at :20: offline subscriptions end at period end when set to cancel, renew, or retry a failed
# payment (day 0, 3, 8) — the offline provider's stand-in for Stripe's billing cycle.
cron.register(run_offline_billing_cycle, queue_name="billing", cron="20 * * * *", name="run_offline_billing_cycle")

# Every 5 minutes: send again any email still queued after 5 minutes (its job was never enqueued).
cron.register(sweep_queued_emails, queue_name="emails", cron="*/5 * * * *", name="sweep_queued_emails")

# Every minute: an impersonation whose time is up is ended ("expired") in the workspace and admin audit logs,
# so no audit log shows a start without an end once the admin stops making requests.
cron.register(end_expired_impersonations, queue_name="default", cron="* * * * *", name="end_expired_impersonations")

# Daily at 02:40 UTC: train the correction models on the lab results (shared, then each workspace's own layer);
# a model becomes active only if it beats the one in use on the newest results. Also after every
# FEEDBACK_TRAIN_EVERY_N results of a workspace (feedback.learning.after_result).
cron.register(
    train_correction_models, queue_name="ml", cron="40 2 * * *", job_timeout=3600, name="train_correction_models"
)
# Hourly at :40: remind the person who ordered to record lab results, FEEDBACK_REMINDER_DAYS (3) after delivery;
# once per order, and not when a result is already recorded for it.
cron.register(send_lab_result_reminders, queue_name="default", cron="40 * * * *", name="send_lab_result_reminders")
# Every minute: send again any webhook delivery overdue by 2 minutes (its scheduled attempt was lost).
cron.register(sweep_due_deliveries, queue_name="webhooks", cron="* * * * *", name="sweep_due_deliveries")
