"""Plan limits in one place: what a tenant may use, what it has used, and the 80/90/100 % emails.

Metering on top of aerospec.limits (the tenant's limits, the counters, the upgrade messages):
- `use(...)`: reserve units atomically or raise LimitReached (402) naming the plan that allows
  more; after a use that crosses 80, 90 or 100 % of the limit, one email per
  (metric, period, threshold) goes to the tenant's billing address (a BillingNotice row,
  insert-or-skip under its unique constraint, makes it once only).
- `reserve(...)`: `use` for a row being created, its Redis unit held by the session's transaction.
- `count_api_call(...)`: one call to the JSON API (called from its bearer authentication);
  `release_api_call(...)` gives it back when the call answers 4xx or 5xx (the API's after-request hook).
- `peek`, `usage_summary`, `usage_history`: what the billing page shows.
- `roll_up_tenant`: copy the live counters into usage_rollups (jobs.usage.roll_up_usage).

Where each count lives:

    metric                    with Redis (production, embedded)      without Redis
    configurations_per_month  INCR key, seeded from the rows         configurations created this month
    exports_per_day           INCR key, seeded from the audit log    data.exported audit entries today
    api_calls_per_month       INCR key, seeded from the roll-up row  the usage_rollups row (count + 1)
    seats                     members + pending invitations (tenancy.services.seat_usage)

(the database's counts: aerospec.limits.counters.database_count). Services here take the counter
(`counters.counter_for(app)`) and `now` explicitly, flush but never commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from aerospec.billing.models import BillingNotice, UsageRollup
from aerospec.billing.plans import FEATURES, LIMIT_LABELS, LIMIT_NAMES, PLANS, get_plan
from aerospec.compliance import services as audit
from aerospec.errors import LimitReached, ValidationFailed
from aerospec.limits import counters
from aerospec.limits.counters import Counter, QuotaUse, RedisCounter
from aerospec.limits.effective import limit_for
from aerospec.limits.messages import API_CALLS, SEATS, better_plans, noun, upgrade_message
from aerospec.notifications import services as notifications
from aerospec.tenancy.features import ensure_feature
from aerospec.tenancy.models import Tenant
from aerospec.tenancy.scoping import tenant_scope
from aerospec.tenancy.services import seat_usage

THRESHOLDS = (80, 90, 100)
NOTICE_KIND = "limit"
COUNTED = ("configurations_per_month", "exports_per_day", API_CALLS)
# While a limit is unlimited Redis keeps counting, so a limit set later starts from the truth.
_NO_LIMIT = 2**62
_UNSET = object()


# ---- counting


def _insert(session: Session):
    """INSERT with ON CONFLICT for the session's database (SQLite or PostgreSQL)."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _reserve_in_rollup(session: Session, tenant: Tenant, limit: int | None, amount: int, now: datetime) -> int:
    """API calls without Redis: count = count + amount on the month's roll-up row, within the limit.

    One conditional UPDATE is atomic on both databases; a missing row is inserted
    (ON CONFLICT DO NOTHING: a racing insert wins and the UPDATE is tried again).
    """
    table = UsageRollup.__table__
    period = counters.period_stamp("month", now)
    where = [table.c.tenant_id == tenant.id, table.c.metric == API_CALLS, table.c.period == period]
    if limit is not None:
        where.append(table.c["count"] + amount <= limit)
    for _ in range(2):
        used = session.execute(
            update(table)
            .where(*where)
            .values(count=table.c["count"] + amount, updated_at=now)
            .returning(table.c["count"])
        ).scalar()
        if used is not None:
            return int(used)
        if limit is not None and amount > limit:
            return -1
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... ON CONFLICT DO NOTHING.
        inserted = session.execute(
            _insert(session)(table)
            .values(id=uuid.uuid4(), tenant_id=tenant.id, metric=API_CALLS, period=period, count=amount, updated_at=now)
            .on_conflict_do_nothing(index_elements=["tenant_id", "metric", "period"])
            .returning(table.c.id)
        ).scalar()
        if inserted is not None:
            return amount
    return -1  # the row exists and is full


def use(
    session: Session,
    tenant: Tenant,
    name: str,
    *,
    counter: Counter,
    now: datetime,
    amount: int = 1,
    seed: Callable[[], int] | None = None,
    limit: int | None | object = _UNSET,
) -> QuotaUse:
    """Reserve `amount` units of a metered limit, or raise LimitReached (402) naming the plan that allows more.

    `seed` and `limit` default to the metric's database count and the tenant's limit
    (`reserve` passes its own). Seats are not counted here: the
    invitation service checks them (tenancy.services.invite).
    """
    return _use(session, tenant, name, counter=counter, now=now, amount=amount, seed=seed, limit=limit)[0]


def _use(
    session: Session,
    tenant: Tenant,
    name: str,
    *,
    counter: Counter,
    now: datetime,
    amount: int,
    seed: Callable[[], int] | None,
    limit,
) -> tuple[QuotaUse, bool]:
    """`use`, also saying whether it wrote rows (the roll-up counter or a notice) the caller must commit."""
    if name not in COUNTED:
        raise KeyError(f"{name!r} is not a counted limit")
    if amount < 1:
        raise ValueError("amount must be at least 1")
    if limit is _UNSET:
        limit = limit_for(tenant, name)
    if limit is not None and limit <= 0:
        raise LimitReached(upgrade_message(tenant, name, 0))
    seed = seed or counters.database_count(session, tenant, name, now)
    wrote = False
    if name == API_CALLS and not isinstance(counter, RedisCounter):
        used, wrote = _reserve_in_rollup(session, tenant, limit, amount, now), True
    elif limit is None:
        if not isinstance(counter, RedisCounter):
            return QuotaUse(name, 0, None), False  # the rows themselves are the count
        used = counter.reserve(session, tenant, name, _NO_LIMIT, seed, now, amount)
    else:
        used = counter.reserve(session, tenant, name, limit, seed, now, amount)
    if used < 0:
        raise LimitReached(upgrade_message(tenant, name, limit))
    if limit is not None and _notify_thresholds(session, tenant, name, used, amount, limit, now):
        wrote = True
    return QuotaUse(name, used, limit), wrote


def reserve(
    session: Session,
    tenant: Tenant,
    name: str,
    limit: int | None,
    counter: Counter,
    seed: Callable[[], int],
    now: datetime,
) -> QuotaUse:
    """Take one unit of a quota for a row being created, or raise LimitReached (402) with the upgrade message.

    Through `use`, so crossing 80/90/100 % of the limit emails the tenant; a unit taken from Redis is given
    back if the session's transaction does not commit (counters.hold).
    """
    quota = use(session, tenant, name, counter=counter, now=now, seed=seed, limit=limit)
    counters.hold(session, counter, tenant, name, now)
    return quota


def take_export(session: Session, tenant: Tenant, counter: Counter, now: datetime) -> QuotaUse:
    """Take one of the day's exports, or raise LimitReached (402); the caller records the export as a
    data.exported audit entry in the same transaction (those entries are what the database count reads)."""
    limit = limit_for(tenant, "exports_per_day")
    return reserve(
        session, tenant, "exports_per_day", limit, counter, counters.exports_today(session, tenant, now), now
    )


def count_api_call(session: Session, tenant: Tenant, counter: Counter, now: datetime) -> bool:
    """Count one call to the JSON API against the month's limit; 402 when used up or not in the plan.

    Returns True when it wrote rows the caller must commit (the roll-up row when there
    is no Redis, or a threshold notice): the API's bearer authentication commits then.
    """
    limit = limit_for(tenant, API_CALLS)
    if limit is not None and limit <= 0:
        raise LimitReached(upgrade_message(tenant, API_CALLS, 0))
    ensure_feature(tenant, "api_access")  # a platform admin may switch the API off for a workspace
    return _use(session, tenant, API_CALLS, counter=counter, now=now, amount=1, seed=None, limit=limit)[1]


def release_api_call(session: Session, tenant_id: uuid.UUID, counter: Counter, now: datetime, key: str) -> None:
    """Give back the unit of an API call that failed (answered 4xx or 5xx): only answered calls use the quota.

    Redis: one atomic DECR of the month's key (`key`, as counted). Without Redis: the roll-up row's count less
    one, and the row removed when this call had made it (count 1), so a refused first call leaves no row.
    The caller commits.
    """
    if isinstance(counter, RedisCounter):
        counter.release_key(key)
        return
    table = UsageRollup.__table__
    period = counters.period_stamp("month", now)
    where = [table.c.tenant_id == tenant_id, table.c.metric == API_CALLS, table.c.period == period]
    session.execute(table.delete().where(*where, table.c["count"] <= 1))
    session.execute(update(table).where(*where, table.c["count"] > 1).values(count=table.c["count"] - 1))


def peek(session: Session, tenant: Tenant, name: str, *, counter: Counter, now: datetime) -> int:
    """Units of `name` used in the current period (seats: members plus pending invitations)."""
    if name == SEATS:
        return seat_usage(session, tenant).used
    seed = counters.database_count(session, tenant, name, now)
    if name == API_CALLS and not isinstance(counter, RedisCounter):
        return seed()
    return counter.peek(session, tenant, name, seed, now)


def _period_label(period: str, now: datetime) -> str:
    start, _ = counters.period_bounds(period, now)
    return start.strftime("%B %Y") if period == "month" else f"{start.day} {start.strftime('%B %Y')}"


def usage_summary(session: Session, tenant: Tenant, counter: Counter, now: datetime) -> list[dict]:
    """Each limit with its use for the billing page's bars.

    [{name, label, used, limit, percent, period, period_label, resets_at, state}], where
    percent is None when unlimited or not included, and state is one of unlimited,
    not_included, ok, warning (from 80 %) or full.
    """
    rows = []
    for name in LIMIT_NAMES:
        limit = limit_for(tenant, name)
        used = peek(session, tenant, name, counter=counter, now=now)
        period = None if name == SEATS else counters.QUOTAS[name][0]
        percent = None if not limit else round(100 * used / limit)
        if limit is None:
            state = "unlimited"
        elif limit == 0:
            state = "not_included"
        else:
            state = "full" if used >= limit else "warning" if used * 100 >= THRESHOLDS[0] * limit else "ok"
        rows.append(
            {
                "name": name,
                "label": LIMIT_LABELS[name],
                "used": used,
                "limit": limit,
                "percent": percent,
                "period": period,
                "period_label": _period_label(period, now) if period else None,
                "resets_at": counters.period_bounds(period, now)[1] if period else None,
                "state": state,
            }
        )
    return rows


def usage_history(session: Session, tenant: Tenant, name: str, limit: int = 12) -> list[UsageRollup]:
    """The latest rolled-up periods of a metric, newest first (for trends on the billing page)."""
    return list(
        session.scalars(
            select(UsageRollup)
            .where(UsageRollup.tenant_id == tenant.id, UsageRollup.metric == name)
            .order_by(UsageRollup.period.desc())
            .limit(limit)
        )
    )


# ---- once-only notices


def claim_notice(session: Session, tenant_id: uuid.UUID, kind: str, key: str, now: datetime) -> bool:
    """True the first time (tenant, kind, key) is claimed; the unique constraint settles races."""
    table = BillingNotice.__table__
    inserted = session.execute(
        _insert(session)(table)
        .values(id=uuid.uuid4(), tenant_id=tenant_id, kind=kind, key=key, sent_at=now)
        .on_conflict_do_nothing(index_elements=["tenant_id", "kind", "key"])
        .returning(table.c.id)  # not rowcount: psycopg reports -1 for ON CONFLICT DO NOTHING
    ).scalar()
    return inserted is not None


def _threshold_count(limit: int, percent: int) -> int:
    return -(-limit * percent // 100)  # ceil: 80 % of 5 is the 4th unit


def _notify_thresholds(
    session: Session, tenant: Tenant, name: str, used: int, amount: int, limit: int, now: datetime
) -> bool:
    """Email the billing address when this use crossed 80, 90 or 100 % (the highest crossed, once)."""
    before = used - amount
    crossed = [p for p in THRESHOLDS if before < _threshold_count(limit, p) <= used]
    if not crossed:
        return False
    percent = max(crossed)
    period = counters.QUOTAS[name][0]
    key = f"{name}:{counters.period_stamp(period, now)}:{percent}"
    if not claim_notice(session, tenant.id, NOTICE_KIND, key, now):
        return False
    _, resets_at = counters.period_bounds(period, now)
    better = better_plans(tenant, name, limit)
    notifications.queue_email(
        session,
        tenant.billing_email,
        "usage_threshold",
        tenant_name=tenant.name,
        tenant_slug=tenant.slug,
        limit_label=LIMIT_LABELS[name],
        noun=noun(name),
        percent=percent,
        used=used,
        limit=limit,
        period=period,
        period_label=_period_label(period, now),
        resets_at=resets_at,
        plan_name=get_plan(tenant.plan).name,
        better_plans=better,
    )
    return True


# ---- roll-up


def _stored_count(session: Session, tenant: Tenant, name: str, counter: Counter, at: datetime) -> int | None:
    """The live count of the period containing `at`, or None when the roll-up row is already the count."""
    if isinstance(counter, RedisCounter):
        stored = counter.stored(tenant, name, at)
        if stored is not None:
            return stored
    if name == API_CALLS:
        return None  # no Redis (or its key is gone): the roll-up row is the count
    return counters.database_count(session, tenant, name, at)()


def _set_rollup(session: Session, tenant: Tenant, name: str, period: str, count: int, now: datetime) -> bool:
    table = UsageRollup.__table__
    match = (table.c.tenant_id == tenant.id, table.c.metric == name, table.c.period == period)
    if session.execute(update(table).where(*match).values(count=count, updated_at=now)).rowcount:
        return True
    if count == 0:
        return False  # no history row for an idle period
    session.execute(
        _insert(session)(table)
        .values(id=uuid.uuid4(), tenant_id=tenant.id, metric=name, period=period, count=count, updated_at=now)
        .on_conflict_do_update(
            index_elements=["tenant_id", "metric", "period"], set_={"count": count, "updated_at": now}
        )
    )
    return True


def roll_up_tenant(session: Session, tenant: Tenant, counter: Counter, now: datetime) -> int:
    """Write the current and the just-closed period of every counter into usage_rollups (idempotent).

    Returns how many roll-up rows were written. The tenant must be in context.
    """
    written = 0
    for name in COUNTED:
        period = counters.QUOTAS[name][0]
        start, _ = counters.period_bounds(period, now)
        for at in (start - timedelta(seconds=1), now):
            count = _stored_count(session, tenant, name, counter, at)
            if count is not None and _set_rollup(session, tenant, name, counters.period_stamp(period, at), count, now):
                written += 1
    return written


# ---- platform-admin overrides

MAX_LIMIT = 100_000_000
FEATURE_CHOICES = ("default", "on", "off")


def parse_overrides(form: Mapping) -> tuple[str, dict, dict]:
    """Read the override form: plan, limit_<name> (blank = plan default, a number or
    "unlimited") and feature_<name> (default, on, off); ValidationFailed with field messages."""
    errors: dict[str, list[str]] = {}
    plan = (form.get("plan") or "").strip()
    if plan not in PLANS:
        errors["plan"] = [f"Choose one of: {', '.join(p.name for p in PLANS.values())}."]
    limits: dict[str, int | None] = {}
    for name in LIMIT_NAMES:
        raw = (form.get(f"limit_{name}") or "").strip().replace(",", "").replace("_", "")
        if raw == "":
            continue
        if raw.lower() == "unlimited":
            limits[name] = None
            continue
        try:
            value = int(raw)
        except ValueError:
            value = -1
        if not 0 <= value <= MAX_LIMIT:
            errors[f"limit_{name}"] = [
                f"Enter a whole number from 0 to {MAX_LIMIT:,}, the word unlimited, "
                "or leave it blank for the plan's limit."
            ]
        else:
            limits[name] = value
    features: dict[str, bool] = {}
    for name in FEATURES:
        choice = (form.get(f"feature_{name}") or "default").strip()
        if choice not in FEATURE_CHOICES:
            errors[f"feature_{name}"] = ["Choose plan default, on or off."]
        elif choice != "default":
            features[name] = choice == "on"
    if errors:
        raise ValidationFailed(field_errors=errors)
    return plan, limits, features


def override_plan(
    session: Session,
    tenant: Tenant,
    *,
    plan: str,
    limits: dict[str, int | None],
    features: dict[str, bool],
    actor,
    client=None,
) -> bool:
    """A platform admin sets a workspace's plan and its limit and feature overrides.

    Recorded as billing.plan_overridden in the workspace's own audit log (before and
    after). Returns False when nothing changed (and nothing is recorded).
    """
    if plan not in PLANS:
        raise ValidationFailed(field_errors={"plan": ["Choose a plan."]})
    unknown = set(limits) - set(LIMIT_NAMES) | set(features) - set(FEATURES)
    if unknown:
        raise ValidationFailed(f"Unknown limits or features: {', '.join(sorted(unknown))}.")
    before = {"plan": tenant.plan, "limits": dict(tenant.limits or {}), "features": dict(tenant.features or {})}
    after = {"plan": plan, "limits": dict(limits), "features": dict(features)}
    if before == after:
        return False
    # New dicts, not in-place edits: the JSON columns only notice assignment.
    tenant.plan, tenant.limits, tenant.features = plan, dict(limits), dict(features)
    with tenant_scope(session, tenant.id):
        session.flush()
        audit.record(
            session,
            tenant.id,
            "billing.plan_overridden",
            actor=actor,
            client=client,
            target_type="tenant",
            target_id=tenant.id,
            details={"before": before, "after": after},
        )
    return True
