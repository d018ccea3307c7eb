"""Trials and dunning as one state machine over `Tenant.subscription_status`.

The tenant's status is the one state; everything else (access, banners, emails) is read from it.

    state       access      how it is left
    ----------  ----------  -----------------------------------------------------------------
    trialing    full        subscription active/paid → active; trial_ends_at passes → expired
    active      full        a failed payment → past_due; subscription ended → canceled
    past_due    full        7 days of grace (banner, emails) → read_only; 3 failed attempts or
                            14 days since past_due_since → suspended; paid → active
    read_only   read_only   3 failed attempts or 14 days → suspended; paid → active
    suspended   suspended   paid (or a new active subscription) → active
    expired     read_only   paid / subscribed → active (the trial ended without a subscription)
    canceled    read_only   subscribed again → active (cancel at period end, then the period ended)

read_only means view and export, no create; suspended means only the billing page, the dashboard
and the settings page (see aerospec.billing.enforcement). Events move the state through the one
TRANSITIONS table; a pair that is not in it is ignored (webhooks arrive late and out of order, so
an event that no longer applies is a no-op, never an error).

Entry points, each idempotent and each taking the time explicitly:

- `on_subscription_active(session, tenant, subscription=None, now)`: a subscription became active
  or trialing at the provider (checkout.session.completed, customer.subscription.created/updated
  with status active|trialing).
- `on_payment_failed(session, tenant, attempt_count, now)`: invoice.payment_failed (Stripe's
  invoice.attempt_count).
- `on_payment_succeeded(session, tenant, now)`: invoice.paid / invoice.payment_succeeded.
- `on_subscription_canceled(session, tenant, now)`: customer.subscription.deleted (the end of the
  period of a subscription canceled at period end, or an immediate cancel).
- `tick(session, tenant, now)`: the time-driven moves (trial expiry, grace → read_only,
  → suspended), run daily by jobs.lifecycle.daily_billing_tick.
- `apply_subscription(session, tenant, subscription_obj, now)` and `apply_invoice(session, tenant,
  invoice_obj, now)`: the same moves read from Stripe-shaped objects, for the webhook handlers.
- `access(tenant, now, past_due_since=None)`: "full" | "read_only" | "suspended". It applies the
  time-driven moves on the fly, so access is exact between two runs of the daily job.

Dunning bookkeeping: past_due_since and the failed-attempt count live on the tenant's current
BillingSubscription (past_due_since, failed_payment_count) when there is one; every failed payment
is also audited as `billing.payment_failed` with both values in its details, and without a
subscription row the machine reads them back from its latest such entry.

Every move is audited (`billing.status_<state>`) and emailed to the tenant's billing email and its
admins. Emails go out once: each claims a BillingNotice (tenant, kind, key) row first, insert-or-skip,
in the same transaction as the email, so a repeated event or a second run of the daily job sends
nothing twice. Kinds and keys: trial_reminder 7d|3d|1d|expired; dunning <cycle>:day-0|day-3|day-6|
read-only|suspended|restored, where <cycle> is past_due_since (one dunning cycle per failure);
lifecycle active:<time>|canceled:<time>.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from aerospec.billing.models import BillingNotice, BillingSubscription
from aerospec.compliance import services as audit
from aerospec.models import utcnow
from aerospec.notifications import services as notifications
from aerospec.tenancy import services as tenancy
from aerospec.tenancy.models import Tenant
from aerospec.tenancy.scoping import tenant_scope

log = logging.getLogger(__name__)

GRACE_DAYS = 7  # past_due keeps full access this long, then read_only
SUSPEND_AFTER_DAYS = 14  # since past_due_since
MAX_FAILED_ATTEMPTS = 3
TRIAL_REMINDER_DAYS = (7, 3, 1)
DUNNING_REMINDER_DAYS = (3, 6)  # day 6 says "read-only tomorrow"
DAY = timedelta(days=1)

STATES = ("trialing", "active", "past_due", "read_only", "suspended", "expired", "canceled")
# How each state reads, on the billing page and in the audit log.
STATE_LABELS = {
    "trialing": "Free trial",
    "active": "Active",
    "past_due": "Payment overdue (grace period)",
    "read_only": "Read-only: payment overdue",
    "suspended": "Suspended: payment overdue",
    "expired": "Trial ended: read-only",
    "canceled": "Subscription ended: read-only",
    "suspended_by_admin": "Suspended by AeroSpec",
}
ACCESS = {
    "trialing": "full",
    "active": "full",
    "past_due": "full",
    "read_only": "read_only",
    "expired": "read_only",
    "canceled": "read_only",
    "suspended": "suspended",
}
DUNNING_STATES = ("past_due", "read_only", "suspended")
# Not a subscription status: what effective_status reads while a platform admin has suspended the workspace.
ADMIN_SUSPENDED = "suspended_by_admin"

# (event, from state) → to state. Anything else is ignored.
TRANSITIONS: dict[tuple[str, str], str] = {
    ("subscription_active", "trialing"): "active",
    ("subscription_active", "expired"): "active",
    ("subscription_active", "canceled"): "active",
    ("subscription_active", "past_due"): "active",
    ("subscription_active", "read_only"): "active",
    ("subscription_active", "suspended"): "active",
    ("payment_succeeded", "trialing"): "active",  # a subscription's first (or $0 trial) invoice
    ("payment_succeeded", "expired"): "active",
    ("payment_succeeded", "past_due"): "active",
    ("payment_succeeded", "read_only"): "active",
    ("payment_succeeded", "suspended"): "active",
    ("payment_failed", "active"): "past_due",
    ("payment_failed", "past_due"): "past_due",
    ("payment_failed", "read_only"): "read_only",
    ("payment_failed", "suspended"): "suspended",
    ("trial_ended", "trialing"): "expired",
    ("grace_ended", "past_due"): "read_only",
    ("dunning_exhausted", "past_due"): "suspended",
    ("dunning_exhausted", "read_only"): "suspended",
    ("subscription_canceled", "active"): "canceled",
    ("subscription_canceled", "past_due"): "canceled",
    ("subscription_canceled", "read_only"): "canceled",
    # A suspended tenant whose subscription the provider then cancels stays suspended: it still owes.
}

# The email each move sends: (to state, from state or "*") → (template, notice kind, key template).
_MOVE_EMAILS: dict[tuple[str, str], tuple[str, str, str]] = {
    ("active", "trialing"): ("billing_active", "lifecycle", "active:{stamp}"),
    ("active", "expired"): ("billing_active", "lifecycle", "active:{stamp}"),
    ("active", "canceled"): ("billing_active", "lifecycle", "active:{stamp}"),
    ("active", "past_due"): ("billing_restored", "dunning", "{cycle}:restored"),
    ("active", "read_only"): ("billing_restored", "dunning", "{cycle}:restored"),
    ("active", "suspended"): ("billing_restored", "dunning", "{cycle}:restored"),
    ("past_due", "*"): ("billing_payment_failed", "dunning", "{cycle}:day-0"),
    ("read_only", "*"): ("billing_read_only", "dunning", "{cycle}:read-only"),
    ("suspended", "*"): ("billing_suspended", "dunning", "{cycle}:suspended"),
    ("expired", "*"): ("billing_trial_expired", "trial_reminder", "expired"),
    ("canceled", "*"): ("billing_canceled", "lifecycle", "canceled:{stamp}"),
}

REASONS = {
    "expired": "the free trial ended without a subscription",
    "canceled": "the subscription ended",
    "read_only": "a payment is overdue",
    "suspended": "a payment is still overdue after the grace period",
    "past_due": "the last payment failed",
    "suspended_by_admin": "AeroSpec suspended it",
}


@dataclass(frozen=True)
class Dunning:
    """Where a dunning cycle stands: when the first failure of the cycle happened, and attempts so far."""

    since: datetime | None
    attempts: int


# ---- reading the state


def effective_status(tenant: Tenant, now: datetime | None = None, past_due_since: datetime | None = None) -> str:
    """The status with the time-driven moves applied, whether or not the daily job has run yet."""
    now = now or utcnow()
    if tenant.suspended_at is not None:
        return ADMIN_SUSPENDED  # above any billing state: paying does not lift it, reactivation does
    status = tenant.subscription_status
    if status == "trialing" and tenant.trial_ends_at is not None and tenant.trial_ends_at <= now:
        return "expired"
    if status in ("past_due", "read_only") and past_due_since is not None:
        age = now - past_due_since
        if age >= timedelta(days=SUSPEND_AFTER_DAYS):
            return "suspended"
        if status == "past_due" and age >= timedelta(days=GRACE_DAYS):
            return "read_only"
    return status


def access(tenant: Tenant, now: datetime | None = None, past_due_since: datetime | None = None) -> str:
    """What the tenant's members may do now: "full", "read_only" (view and export) or "suspended"."""
    status = effective_status(tenant, now, past_due_since)
    if status == ADMIN_SUSPENDED:
        return "suspended"  # a platform admin's suspension (Tenant.suspended_at): the same enforcement
    if status not in ACCESS:
        log.warning("unknown subscription status %r for tenant %s: full access", status, tenant.id)
        return "full"
    return ACCESS[status]


def current_subscription(session: Session, tenant: Tenant) -> BillingSubscription | None:
    """The tenant's current subscription mirror (not ended, newest first), or None."""
    with tenant_scope(session, tenant.id):
        return session.scalar(
            select(BillingSubscription)
            .where(BillingSubscription.tenant_id == tenant.id)
            .order_by(BillingSubscription.ended_at.is_not(None), BillingSubscription.created_at.desc())
            .limit(1)
        )


def dunning(session: Session, tenant: Tenant, subscription: BillingSubscription | None = None) -> Dunning:
    """The current dunning cycle: from the subscription row, else from the last failed-payment audit entry."""
    subscription = subscription or current_subscription(session, tenant)
    if subscription is not None and subscription.past_due_since is not None:
        return Dunning(subscription.past_due_since, subscription.failed_payment_count)
    with tenant_scope(session, tenant.id):
        page = audit.list_entries(session, tenant.id, action="billing.payment_failed", per_page=1)
    if page.items:
        details = page.items[0].details or {}
        since = details.get("past_due_since")
        return Dunning(datetime.fromisoformat(since) if since else None, int(details.get("attempt_count") or 0))
    return Dunning(None, 0)


def request_access(session: Session, tenant: Tenant, now: datetime | None = None) -> str:
    """access() for a request: loads past_due_since only when the tenant is in dunning."""
    since = dunning(session, tenant).since if tenant.subscription_status in ("past_due", "read_only") else None
    return access(tenant, now, since)


@dataclass(frozen=True)
class Trial:
    """A running trial: when it ends and the whole days left (rounded up), and whether a subscription carries it."""

    ends_at: datetime
    days_left: int
    subscribed: bool  # a subscription carries the trial: its first charge is at ends_at

    @property
    def days_label(self) -> str:
        return f"{self.days_left} day{'s' if self.days_left != 1 else ''}"


def trial_of(
    tenant: Tenant, subscription: BillingSubscription | None = None, now: datetime | None = None
) -> Trial | None:
    """The one reading of a trial for every page and email (banner, billing page, portal, reminders).

    A subscription in its trial (carried over at checkout, or changed during it) says when it ends;
    without one, the workspace's own trial does while it is trialing. None when no trial is running.
    """
    now = now or utcnow()
    if subscription is not None and subscription.status == "trialing" and subscription.ended_at is None:
        ends_at = subscription.trial_end
        if ends_at is not None and ends_at > now:
            return Trial(ends_at, tenancy.days_until(ends_at, now), True)
    if tenant.subscription_status == "trialing" and tenant.trial_ends_at is not None and tenant.trial_ends_at > now:
        return Trial(tenant.trial_ends_at, tenancy.days_until(tenant.trial_ends_at, now), False)
    return None


def grace_days_left(since: datetime | None, now: datetime | None = None) -> int | None:
    """Whole days (rounded up) until a past-due workspace becomes read-only; 0 once over."""
    if since is None:
        return None
    remaining = since + timedelta(days=GRACE_DAYS) - (now or utcnow())
    if remaining.total_seconds() <= 0:
        return 0
    return -(-int(remaining.total_seconds()) // 86400)


def banner(session: Session, tenant: Tenant, now: datetime | None = None) -> dict | None:
    """What the app shell's billing banner says, or None (the trial banner covers trialing)."""
    now = now or utcnow()
    if tenant.subscription_status in ("trialing", "active") and tenant.suspended_at is None:
        return None
    cycle = dunning(session, tenant) if tenant.subscription_status in DUNNING_STATES else Dunning(None, 0)
    status = effective_status(tenant, now, cycle.since)
    info = {"status": status, "reason": REASONS.get(status, ""), "access": access(tenant, now, cycle.since)}
    if status == "past_due":
        days = grace_days_left(cycle.since, now)
        info["days_left"] = days
        info["level"] = "warning" if days is None or days > 3 else "danger"
        info["read_only_on"] = cycle.since + timedelta(days=GRACE_DAYS) if cycle.since else None
    else:
        info["level"] = "danger"
    return info


# ---- moving the state


def _stamp(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%S")


def _apply(session: Session, tenant: Tenant, event: str, now: datetime, **details) -> str:
    """Move the tenant along TRANSITIONS for `event`: audit and email a real move; ignore the rest."""
    before = tenant.subscription_status
    after = TRANSITIONS.get((event, before))
    if after is None:
        log.info("billing lifecycle: %s ignored for tenant %s in state %s", event, tenant.id, before)
        return before
    if after == before:
        return after
    tenant.subscription_status = after
    session.flush()
    clean = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in details.items() if v is not None}
    audit.record(
        session,
        tenant.id,
        f"billing.status_{after}",
        actor_email="billing",
        target_type="tenant",
        target_id=tenant.id,
        details={"from": before, "to": after, "event": event, **clean},
    )
    mail = _MOVE_EMAILS.get((after, before)) or _MOVE_EMAILS.get((after, "*"))
    if mail is not None:
        template, kind, key = mail
        since = details.get("past_due_since")
        cycle = _stamp(since) if isinstance(since, datetime) else _stamp(now)
        send_once(
            session,
            tenant,
            kind,
            key.format(stamp=_stamp(now), cycle=cycle),
            template,
            now,
            previous=before,
            past_due_since=since if isinstance(since, datetime) else None,
            attempt_count=details.get("attempt_count"),
        )
    log.info("billing lifecycle: tenant %s %s → %s (%s)", tenant.id, before, after, event)
    return after


def _clear_dunning(subscription: BillingSubscription | None) -> None:
    if subscription is not None:
        subscription.past_due_since = None
        subscription.failed_payment_count = 0


def on_subscription_active(
    session: Session, tenant: Tenant, subscription: BillingSubscription | None = None, now: datetime | None = None
) -> str:
    """A subscription became active (or trialing) at the provider: the workspace is active."""
    now = now or utcnow()
    with tenant_scope(session, tenant.id):
        before = tenant.subscription_status
        cycle = dunning(session, tenant, subscription) if before in DUNNING_STATES else Dunning(None, 0)
        after = _apply(session, tenant, "subscription_active", now, past_due_since=cycle.since)
        if after == "active" and before in DUNNING_STATES:
            _clear_dunning(subscription or current_subscription(session, tenant))
        session.flush()
        return after


def on_payment_failed(
    session: Session,
    tenant: Tenant,
    attempt_count: int,
    now: datetime | None = None,
    subscription: BillingSubscription | None = None,
) -> str:
    """A subscription payment failed (attempt `attempt_count`): start or continue the dunning cycle."""
    now = now or utcnow()
    with tenant_scope(session, tenant.id):
        before = tenant.subscription_status
        if ("payment_failed", before) not in TRANSITIONS:
            log.info("billing lifecycle: payment failure ignored for tenant %s in state %s", tenant.id, before)
            return before
        subscription = subscription or current_subscription(session, tenant)
        previous = dunning(session, tenant, subscription) if before in DUNNING_STATES else Dunning(None, 0)
        if attempt_count and previous.since is not None and attempt_count <= previous.attempts:
            return _escalate(session, tenant, now, previous)  # an attempt we already counted
        since = previous.since or now
        attempts = max(int(attempt_count or 0), previous.attempts + (0 if attempt_count else 1), 1)
        if subscription is not None:
            subscription.past_due_since = since
            subscription.failed_payment_count = attempts
        audit.record(
            session,
            tenant.id,
            "billing.payment_failed",
            actor_email="billing",
            target_type="tenant",
            target_id=tenant.id,
            details={"attempt_count": attempts, "past_due_since": since.isoformat()},
        )
        _apply(session, tenant, "payment_failed", now, past_due_since=since, attempt_count=attempts)
        return _escalate(session, tenant, now, Dunning(since, attempts))


def on_payment_succeeded(
    session: Session, tenant: Tenant, now: datetime | None = None, subscription: BillingSubscription | None = None
) -> str:
    """A subscription payment went through: a past-due, read-only, suspended or expired workspace is active again."""
    now = now or utcnow()
    with tenant_scope(session, tenant.id):
        before = tenant.subscription_status
        subscription = subscription or current_subscription(session, tenant)
        cycle = dunning(session, tenant, subscription) if before in DUNNING_STATES else Dunning(None, 0)
        after = _apply(session, tenant, "payment_succeeded", now, past_due_since=cycle.since)
        if after == "active":
            _clear_dunning(subscription)
        session.flush()
        return after


def on_subscription_canceled(session: Session, tenant: Tenant, now: datetime | None = None) -> str:
    """The subscription ended (canceled at period end, or at once): the workspace becomes read-only."""
    now = now or utcnow()
    with tenant_scope(session, tenant.id):
        return _apply(session, tenant, "subscription_canceled", now)


def invoice_subscription_id(invoice: dict) -> str | None:
    """The subscription an invoice bills (older API versions: `subscription`; 2025-03-31 on: `parent`)."""
    ref = invoice.get("subscription") or ((invoice.get("parent") or {}).get("subscription_details") or {}).get(
        "subscription"
    )
    if isinstance(ref, dict):
        ref = ref.get("id")
    return str(ref) if ref else None


def apply_invoice(
    session: Session,
    tenant: Tenant,
    invoice: dict,
    now: datetime | None = None,
    *,
    subscription: dict | None = None,
    row: BillingSubscription | None = None,
) -> str:
    """invoice.paid / invoice.payment_succeeded / invoice.payment_failed: move the workspace.

    Only subscription invoices count (one-off invoices never move the workspace). With `subscription`
    (the subscription object as the provider has it now) the workspace follows that subscription, and
    the invoice only says which failure to count (see `_apply_invoice_by_subscription`). Without it (the
    offline provider, whose events are emitted in order) it acts on the invoice object's own state: a
    paid invoice restores access; an unpaid one with attempts is a failed payment (attempt_count).
    """
    if not invoice_subscription_id(invoice) and not str(invoice.get("billing_reason") or "").startswith("subscription"):
        return tenant.subscription_status
    if subscription is not None:
        return _apply_invoice_by_subscription(session, tenant, invoice, subscription, now, row)
    if invoice.get("status") == "paid" or invoice.get("paid") is True:
        return on_payment_succeeded(session, tenant, now)
    attempts = int(invoice.get("attempt_count") or 0)
    if invoice.get("status") == "open" and attempts > 0:
        return on_payment_failed(session, tenant, attempts, now)
    return tenant.subscription_status


def _apply_invoice_by_subscription(
    session: Session,
    tenant: Tenant,
    invoice: dict,
    subscription: dict,
    now: datetime | None,
    row: BillingSubscription | None,
) -> str:
    """An invoice event, decided by the subscription's current state at the provider.

    Invoice events arrive late and out of order: an older invoice's failure can be delivered after a
    newer invoice was paid. The subscription's status now is the truth: active or trialing keeps (or
    makes) the workspace active whatever the invoice says; a failure starts or continues dunning only
    while the subscription is past_due or unpaid and the invoice is its latest; a paid invoice restores
    access only once the subscription is in good standing again.
    """
    state = subscription.get("status")
    paid = invoice.get("status") == "paid" or invoice.get("paid") is True
    if state in ("active", "trialing"):
        if paid:
            return on_payment_succeeded(session, tenant, now, row)
        return on_subscription_active(session, tenant, row, now)  # an older or already-settled failure
    if state in ("canceled", "incomplete_expired"):
        return on_subscription_canceled(session, tenant, now)
    if state in ("past_due", "unpaid") and not paid:
        latest = subscription.get("latest_invoice")
        latest = latest.get("id") if isinstance(latest, dict) else latest
        attempts = int(invoice.get("attempt_count") or 0)
        if attempts > 0 and (latest is None or latest == invoice.get("id")):
            return on_payment_failed(session, tenant, attempts, now, row)
    # An older invoice's failure while the latest is owed, an older invoice paid while the latest is
    # still owed, or a subscription that is incomplete or paused: nothing moves on this event.
    return tenant.subscription_status


def apply_subscription(
    session: Session,
    tenant: Tenant,
    subscription: dict,
    now: datetime | None = None,
    row: BillingSubscription | None = None,
) -> str:
    """customer.subscription.created/updated/deleted: act on the subscription object's status.

    active/trialing → on_subscription_active; canceled/incomplete_expired (the period of a
    cancel-at-period-end subscription ended, or deleted) → on_subscription_canceled; past_due and
    unpaid are left to the invoice events, which carry the attempt count.
    """
    status = subscription.get("status")
    if status in ("active", "trialing"):
        return on_subscription_active(session, tenant, row, now)
    if status in ("canceled", "incomplete_expired"):
        return on_subscription_canceled(session, tenant, now)
    return tenant.subscription_status


def _escalate(session: Session, tenant: Tenant, now: datetime, cycle: Dunning) -> str:
    """Dunning by time and attempts: read-only after the grace, suspended after 3 attempts or 14 days."""
    status = tenant.subscription_status
    if status not in ("past_due", "read_only") or cycle.since is None:
        return status
    age = now - cycle.since
    details = {"past_due_since": cycle.since, "attempt_count": cycle.attempts}
    if cycle.attempts >= MAX_FAILED_ATTEMPTS or age >= timedelta(days=SUSPEND_AFTER_DAYS):
        return _apply(session, tenant, "dunning_exhausted", now, **details)
    if age >= timedelta(days=GRACE_DAYS):
        return _apply(session, tenant, "grace_ended", now, **details)
    return status


def tick(session: Session, tenant: Tenant, now: datetime | None = None) -> str:
    """The time-driven moves: trial expiry, grace over → read_only, → suspended."""
    now = now or utcnow()
    with tenant_scope(session, tenant.id):
        status = tenant.subscription_status
        if status == "trialing" and tenant.trial_ends_at is not None and tenant.trial_ends_at <= now:
            return _apply(session, tenant, "trial_ended", now, trial_ends_at=tenant.trial_ends_at)
        if status in ("past_due", "read_only"):
            return _escalate(session, tenant, now, dunning(session, tenant))
        return status


def send_reminders(session: Session, tenant: Tenant, now: datetime | None = None) -> list[str]:
    """Trial reminders (7, 3, 1 days before the end) and dunning reminders (day 3, day 6); each once."""
    now = now or utcnow()
    sent: list[str] = []
    with tenant_scope(session, tenant.id):
        status = tenant.subscription_status
        trial = trial_of(tenant, None, now) if status == "trialing" else None
        if trial is not None:
            days_left = trial.days_left
            due = [d for d in TRIAL_REMINDER_DAYS if days_left <= d]
            if due:
                # Only the most urgent one due: a 2-day-old trial of 5 days gets "3 days", not also "7 days".
                threshold = min(due)
                key = f"{threshold}d"
                if send_once(
                    session,
                    tenant,
                    "trial_reminder",
                    key,
                    "billing_trial_reminder",
                    now,
                    days_left=days_left,
                    trial_ends_at=trial.ends_at,
                ):
                    sent.append(f"trial_reminder:{key}")
        elif status == "past_due":
            cycle = dunning(session, tenant)
            if cycle.since is not None:
                age_days = int((now - cycle.since).total_seconds() // 86400)
                due = [d for d in DUNNING_REMINDER_DAYS if age_days >= d]
                if due:
                    day = max(due)
                    template = "billing_read_only_tomorrow" if day == DUNNING_REMINDER_DAYS[-1] else "billing_dunning"
                    key = f"{_stamp(cycle.since)}:day-{day}"
                    if send_once(
                        session,
                        tenant,
                        "dunning",
                        key,
                        template,
                        now,
                        past_due_since=cycle.since,
                        attempt_count=cycle.attempts,
                    ):
                        sent.append(f"dunning:{key}")
    return sent


def daily(session: Session, tenant: Tenant, now: datetime | None = None) -> dict:
    """The daily pass for one tenant: time-driven moves, then the reminders due."""
    now = now or utcnow()
    before = tenant.subscription_status
    after = tick(session, tenant, now)
    return {"from": before, "to": after, "sent": send_reminders(session, tenant, now)}


# ---- emails, once each


def claim_notice(session: Session, tenant: Tenant, kind: str, key: str, now: datetime) -> bool:
    """Insert the (tenant, kind, key) notice row, or skip when it exists; True when this call inserted it."""
    values = {"id": uuid.uuid4(), "tenant_id": tenant.id, "kind": kind, "key": key, "sent_at": now}
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        statement = (
            insert(BillingNotice.__table__)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["tenant_id", "kind", "key"])
            .returning(BillingNotice.__table__.c.id)
        )
        with tenant_scope(session, tenant.id):
            return session.execute(statement).first() is not None
    from sqlalchemy.exc import IntegrityError

    try:
        with session.begin_nested(), tenant_scope(session, tenant.id):
            session.add(BillingNotice(**values))
            session.flush()
    except IntegrityError:
        return False
    return True


def billing_endpoint() -> str:
    """The billing page's endpoint, or the settings page's until a billing page is registered."""
    return "billing.page" if "billing.page" in current_app.view_functions else "tenancy.settings"


def billing_url(tenant: Tenant) -> str:
    """The billing page's absolute URL for emails (built on BASE_URL, with or without a request)."""
    path = current_app.url_map.bind("localhost").build(billing_endpoint(), {"tenant_slug": tenant.slug})
    return current_app.config.get("BASE_URL", "").rstrip("/") + path


def recipients(session: Session, tenant: Tenant) -> list[str]:
    """The billing email first, then each admin's, without repeats."""
    addresses = [tenant.billing_email] if tenant.billing_email else []
    with tenant_scope(session, tenant.id):
        for membership in tenancy.list_members(session, tenant):
            if membership.role == "admin" and membership.user.email not in addresses:
                addresses.append(membership.user.email)
    return addresses


def send_once(session: Session, tenant: Tenant, kind: str, key: str, template: str, now: datetime, **context) -> bool:
    """Email the tenant's billing contacts unless this (kind, key) notice went out before."""
    if not claim_notice(session, tenant, kind, key, now):
        return False
    past_due_since = context.get("past_due_since")
    read_only_on = past_due_since + timedelta(days=GRACE_DAYS) if past_due_since else None
    days_left = context.get("days_left")
    full = {
        "tenant_name": tenant.name,
        "tenant_slug": tenant.slug,
        "plan_name": tenant.plan.title(),
        "billing_link": billing_url(tenant),
        "trial_ends_at": tenant.trial_ends_at,
        "read_only_on": read_only_on,
        "suspend_on": past_due_since + timedelta(days=SUSPEND_AFTER_DAYS) if past_due_since else None,
        "grace_days": GRACE_DAYS,
        "max_attempts": MAX_FAILED_ATTEMPTS,
        "days_label": f"{days_left} day{'s' if days_left != 1 else ''}" if days_left is not None else "",
        **context,
    }
    for address in recipients(session, tenant):
        notifications.queue_email(session, address, template, **full)
    return True
