"""A seeded history to look at and to measure: workspaces signing up over N months, trials that convert
or lapse, upgrades, downgrades, seats added and removed, failed payments (recovered or not), churn,
reactivation, paid orders with their commissions, invoices, login sessions and API usage.

`flask revenue seed-history --workspaces 10000 --months 24` writes it with bulk inserts (one random
generator with a fixed seed, so a run is reproducible); `make run`'s demo seed writes a small one. Every
seeded workspace's slug starts with `seed-` and its ledger rows have source "seed", and the dashboard
says how many workspaces are seeded sample history rather than customers.

The ledger rows are written with the same classification the event handler uses (`ledger.classify`):
what the dashboard reads from a seeded history is what it would read from the same events.
"""

from __future__ import annotations

import random
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from aerospec.accounts.models import User, UserSession
from aerospec.billing.models import BillingSubscription, Invoice, UsageRollup
from aerospec.billing.plans import PLANS, TRIAL_PLAN, price_quote
from aerospec.models import utcnow
from aerospec.procurement.models import Procurement, ProcurementCommission
from aerospec.revenue import rollups
from aerospec.revenue.ledger import Running, entry_fields, month_of, subscription_mrr
from aerospec.revenue.models import MrrLedgerEntry
from aerospec.revenue.services import SEEDED_SLUG_PREFIX
from aerospec.tenancy.models import Membership, Tenant
from aerospec.tenancy.scoping import unscoped

SLUG_PREFIX = SEEDED_SLUG_PREFIX
TRIAL = timedelta(days=14)
DAY = timedelta(days=1)
CHUNK = 2000
# Monthly chances for a paying workspace (a simple, stated model, not fitted to anything).
P_CONVERT = 0.38
P_STARTER = 0.55
P_ANNUAL = 0.25
P_UPGRADE = 0.02
P_DOWNGRADE = 0.012
P_ADD_SEATS = 0.03
P_REMOVE_SEATS = 0.01
P_FAILED_PAYMENT = 0.04
P_FAILED_CHURNS = 0.3
P_CHURN = 0.022
P_REACTIVATE = 0.01
ORDERS_PER_MONTH = 0.6
ADJECTIVES = ("Nordic", "Alpine", "Coastal", "Bright", "Fine", "Clear", "Summit", "Harbor", "Meadow", "Cedar")
NOUNS = ("Mist", "Spray", "Aerosol", "Atomics", "Dispensing", "Formulations", "Coatings", "Care", "Labs", "Pumps")


@dataclass
class Batch:
    """Rows per table, inserted in chunks."""

    rows: dict[type, list[dict]] = field(default_factory=dict)

    def add(self, model: type, **row) -> None:
        self.rows.setdefault(model, []).append(row)

    def flush(self, session: Session) -> dict[str, int]:
        counts = {}
        order = (Tenant, User, Membership, BillingSubscription, Invoice, MrrLedgerEntry, Procurement)
        order += (ProcurementCommission, UserSession, UsageRollup)
        for model in order:
            rows = self.rows.get(model, [])
            keys = set().union(*rows) if rows else set()
            for row in rows:  # one statement for many rows needs the same keys in each (the rest are NULL)
                for key in keys - row.keys():
                    row[key] = None
            for i in range(0, len(rows), CHUNK):
                session.execute(insert(model.__table__), rows[i : i + CHUNK])
            counts[model.__tablename__] = len(rows)
        return counts


def _money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _password_hash() -> str:
    """One argon2 hash of a random password for every seeded user: nobody can sign in as them."""
    from aerospec.accounts.services import hash_password

    return hash_password(secrets.token_urlsafe(24))


class Workspace:
    """One seeded workspace's life, month by month."""

    def __init__(self, batch: Batch, rng: random.Random, number: int, signed_up: datetime, now: datetime, pw: str):
        self.batch, self.rng, self.now = batch, rng, now
        self.id = uuid.uuid4()
        self.signed_up = signed_up
        self.cohort = month_of(signed_up)
        self.number = number
        self.mrr = 0
        self.ever_paid = False
        self.plan, self.interval, self.seats = TRIAL_PLAN, "month", 0
        self.last_plan, self.last_interval = None, None
        self.sub_id: uuid.UUID | None = None
        self.sub_row: dict | None = None
        self.events = 0
        self.status = "trialing"
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {number:05d}"
        self.slug = f"{SLUG_PREFIX}{number:05d}"
        self.user_ids = [uuid.uuid4() for _ in range(rng.choice((1, 1, 2, 3)))]
        batch.add(
            Tenant,
            id=self.id,
            name=name,
            slug=self.slug,
            plan=TRIAL_PLAN,
            subscription_status="trialing",
            trial_ends_at=signed_up + TRIAL,
            billing_email=f"billing@{self.slug}.example",
            limits={},
            features={},
            extra_seats=0,
            api_enabled_for_users=False,
            created_at=signed_up,
            updated_at=signed_up,
        )
        for i, user_id in enumerate(self.user_ids):
            batch.add(
                User,
                id=user_id,
                email=f"user{i + 1}@{self.slug}.example",
                name=f"Member {i + 1} of {name}",
                password_hash=pw,
                is_platform_admin=False,
                password_changed_at=signed_up,
                created_at=signed_up,
                updated_at=signed_up,
            )
            batch.add(
                Membership,
                id=uuid.uuid4(),
                tenant_id=self.id,
                user_id=user_id,
                role="admin" if i == 0 else "user",
                created_at=signed_up,
                updated_at=signed_up,
            )

    # -- changes ---------------------------------------------------------------------------------

    def _ledger(self, at: datetime, after: int) -> None:
        state = Running(self.mrr, self.last_plan, self.last_interval, None, self.ever_paid)
        fields = entry_fields(
            self.id,
            self.cohort,
            state,
            after=after,
            plan=self.plan,
            interval=self.interval,
            at=at,
            event_id=f"seed:{self.id}:{self.events + 1}",
            source="seed",
            subscription_id=self.sub_id,
        )
        if fields is None:
            return
        self.events += 1
        self.batch.add(MrrLedgerEntry, id=uuid.uuid4(), created_at=at, **fields)
        self.mrr = after
        self.ever_paid = self.ever_paid or after > 0
        self.last_plan, self.last_interval = self.plan, self.interval

    def _amount(self) -> int:
        return subscription_mrr(self.plan, self.interval, self.seats, "active")

    def start_paying(self, at: datetime) -> None:
        rng = self.rng
        self.plan = "starter" if rng.random() < P_STARTER else "professional"
        self.interval = "year" if rng.random() < P_ANNUAL else "month"
        self.seats = rng.choice((0, 0, 0, 1, 2)) if self.plan == "professional" else 0
        self.sub_id = uuid.uuid4()
        self.sub_row = {
            "id": self.sub_id,
            "tenant_id": self.id,
            "provider": "offline",
            "provider_customer_id": f"cus_seed_{self.number:05d}",
            "provider_subscription_id": f"sub_seed_{self.sub_id.hex[:16]}",
            "plan": self.plan,
            "interval": self.interval,
            "status": "active",
            "extra_seats": self.seats,
            "credit_balance": 0,
            "current_period_start": at,
            "current_period_end": at,
            "trial_end": self.signed_up + TRIAL if not self.ever_paid else None,
            "cancel_at_period_end": False,
            "failed_payment_count": 0,
            "created_at": at,
            "updated_at": at,
        }
        self.batch.rows.setdefault(BillingSubscription, []).append(self.sub_row)  # later changes update it
        self.status = "active"
        self._ledger(at, self._amount())
        self.period_end = at

    def change(self, at: datetime, plan: str, seats: int) -> None:
        self.plan, self.seats = plan, seats
        self.sub_row.update(plan=plan, extra_seats=seats, updated_at=at)
        self._ledger(at, self._amount())

    def churn(self, at: datetime) -> None:
        self.sub_row.update(status="canceled", canceled_at=at, ended_at=at, updated_at=at)
        self.status = "canceled"
        self._ledger(at, 0)
        self.sub_id, self.sub_row = None, None

    def invoice(self, at: datetime, *, paid: bool, attempts: int = 1) -> None:
        quote = price_quote(self.plan, self.interval, self.seats)
        end = at + (timedelta(days=365) if self.interval == "year" else timedelta(days=30))
        lines = [
            {
                "description": line.description,
                "quantity": line.quantity,
                "amount": line.amount_minor,
                "kind": "subscription",
                "ref": None,
            }
            for line in quote.lines
        ]
        total = quote.total_minor
        self.batch.add(
            Invoice,
            id=uuid.uuid4(),
            tenant_id=self.id,
            provider="offline",
            provider_invoice_id=f"in_seed_{uuid.uuid4().hex[:20]}",
            subscription_id=self.sub_id,
            status="paid" if paid else "open",
            currency="usd",
            subtotal=total,
            tax=0,
            total=total,
            amount_paid=total if paid else 0,
            amount_due=total,
            attempt_count=attempts,
            period_start=at,
            period_end=end,
            issued_at=at,
            paid_at=at + DAY * (attempts - 1) * 3 if paid else None,
            next_payment_attempt=None if paid else at + 3 * DAY,
            lines=lines,
            created_at=at,
            updated_at=at,
        )
        self.period_end = end
        if self.sub_row is not None:
            self.sub_row.update(current_period_start=at, current_period_end=end)

    def order(self, at: datetime) -> None:
        rng = self.rng
        value = _money(min(25_000.0, rng.lognormvariate(7.0, 0.8)))
        rate = PLANS[self.plan].procurement_commission
        procurement_id = uuid.uuid4()
        supplier = "spencer" if rng.random() < 0.55 else "coster"
        self.batch.add(
            Procurement,
            id=procurement_id,
            tenant_id=self.id,
            created_by_id=self.user_ids[0],
            reference=f"PO-{procurement_id.hex[:8].upper()}",
            order_type=rng.choice(("sample", "sample", "pilot", "production")),
            status="delivered" if at < self.now - 14 * DAY else "confirmed",
            selected_supplier=supplier,
            currency="USD",
            subtotal=value,
            discount_rate=Decimal("0"),
            discount=Decimal("0"),
            tax=Decimal("0"),
            shipping=Decimal("0"),
            total=value,
            ship_to_address={},
            idempotency_key=procurement_id.hex,
            submit_attempts=1,
            submitted_at=at,
            payment_status="paid",
            payment_provider="offline",
            paid_at=at,
            created_at=at,
            updated_at=at,
        )
        self.batch.add(
            ProcurementCommission,
            id=uuid.uuid4(),
            tenant_id=self.id,
            procurement_id=procurement_id,
            plan=self.plan,
            rate=rate,
            base_amount=value,
            amount=(value * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
            currency="USD",
            created_at=at,
        )

    def sessions(self, since: datetime) -> None:
        """Login sessions in the last weeks while the workspace could be used (trial or paying)."""
        rng = self.rng
        day = max(since, self.signed_up)
        while day < self.now:
            if self.active_on(day):
                for user_id in self.user_ids:
                    if rng.random() < 0.45:
                        start = day + timedelta(hours=rng.randint(7, 18))
                        if start >= self.now:
                            continue
                        last = min(self.now, start + timedelta(minutes=rng.randint(5, 240)))
                        self.batch.add(
                            UserSession,
                            id=uuid.uuid4(),
                            user_id=user_id,
                            kind="web" if rng.random() < 0.85 else "api",
                            ip_address="127.0.0.1",
                            user_agent="seed-history",
                            remember=False,
                            started_at=start,
                            last_activity_at=last,
                            ended_at=last,
                            end_reason="logout",
                        )
            day += DAY

    def active_on(self, day: datetime) -> bool:
        return day < self.signed_up + TRIAL or any(a <= day < b for a, b in self.paying_spans)

    # -- the life --------------------------------------------------------------------------------

    def live(self) -> None:
        rng, now = self.rng, self.now
        self.paying_spans: list[tuple[datetime, datetime]] = []
        trial_end = self.signed_up + TRIAL
        if trial_end > now:
            return  # still in its trial
        if rng.random() >= P_CONVERT:
            self.status = "expired"
            return
        self.start_paying(trial_end)
        span_start = trial_end
        self.invoice(trial_end, paid=True)
        month = trial_end
        api_months: dict[str, int] = {}
        while True:
            month = month + timedelta(days=30)
            if month > now:
                break
            if self.sub_row is None:  # churned: maybe back
                if rng.random() < P_REACTIVATE:
                    self.start_paying(month)
                    span_start = month
                    self.invoice(month, paid=True)
                continue
            for _ in range(_poisson(rng, ORDERS_PER_MONTH)):
                placed = month + timedelta(hours=rng.randint(1, 600))
                if placed <= now:
                    self.order(placed)
            if self.plan == "professional":
                api_months[month_of(month)] = int(rng.triangular(0, 12_500, 2_500))
            roll = rng.random()
            if roll < P_CHURN:
                self.churn(month)
                self.paying_spans.append((span_start, month))
                continue
            if self.period_end <= month + timedelta(days=1):  # the period ends: renew, maybe fail
                if rng.random() < P_FAILED_PAYMENT:
                    self.sub_row.update(status="past_due", failed_payment_count=1, past_due_since=month)
                    self.status = "past_due"
                    if rng.random() < P_FAILED_CHURNS and month + 8 * DAY <= now:
                        self.invoice(month, paid=False, attempts=3)
                        self.churn(month + 8 * DAY)
                        self.paying_spans.append((span_start, month + 8 * DAY))
                        continue
                    self.invoice(month, paid=True, attempts=2)
                    self.sub_row.update(status="active", failed_payment_count=0, past_due_since=None)
                    self.status = "active"
                else:
                    self.invoice(month, paid=True)
            roll = rng.random()
            at = month + timedelta(days=rng.randint(1, 25))
            if at > now:
                continue
            if self.plan == "starter" and roll < P_UPGRADE:
                self.change(at, "professional", 0)
            elif self.plan == "professional" and roll < P_DOWNGRADE:
                self.change(at, "starter", 0)
            elif self.plan == "professional" and roll < P_DOWNGRADE + P_ADD_SEATS:
                self.change(at, "professional", self.seats + rng.randint(1, 3))
            elif self.plan == "professional" and self.seats and roll < P_DOWNGRADE + P_ADD_SEATS + P_REMOVE_SEATS:
                self.change(at, "professional", self.seats - 1)
        if self.sub_row is not None:
            self.paying_spans.append((span_start, now + DAY))
        for period, count in api_months.items():
            self.batch.add(
                UsageRollup,
                id=uuid.uuid4(),
                tenant_id=self.id,
                metric="api_calls_per_month",
                period=period,
                count=count,
                updated_at=now,
            )

    def finish(self) -> None:
        status = self.status if self.sub_row is not None or self.status in ("expired", "trialing") else "canceled"
        tenant = self.batch.rows[Tenant][self.number - self.first_number]
        tenant.update(subscription_status=status, plan=self.plan if self.ever_paid else TRIAL_PLAN)
        tenant["extra_seats"] = self.seats if self.sub_row is not None else 0


def _poisson(rng: random.Random, mean: float) -> int:
    n, p, threshold = 0, 1.0, pow(2.718281828459045, -mean)
    while True:
        p *= rng.random()
        if p <= threshold:
            return n
        n += 1


def seeded_workspaces(session: Session) -> int:
    """How many workspaces are seeded sample history (slug seed-…)."""
    with unscoped(session, "revenue: count seeded workspaces"):
        return int(
            session.scalar(select(func.count()).select_from(Tenant).where(Tenant.slug.startswith(SLUG_PREFIX))) or 0
        )


def seed_history(
    session: Session, workspaces: int, months: int, *, now: datetime | None = None, seed: int = 2026
) -> dict[str, int]:
    """Write the history (see the module's docstring). Adds to any earlier seeded history; does not commit."""
    now = now or utcnow()
    rng = random.Random(seed)  # noqa: S311 - a reproducible sample history, not a secret
    start = now - timedelta(days=30 * months)
    batch = Batch()
    pw = _password_hash()
    first = seeded_workspaces(session) + 1
    span = (now - start).total_seconds()
    session_since = now - timedelta(days=37)
    for i in range(workspaces):
        # Sign-ups grow over the period: a later time is likelier (density rising linearly to twice the first).
        u = rng.random()
        offset = ((1 + 3 * u) ** 0.5 - 1) / 1.0 * span  # inverse CDF of density ∝ 1 + x on [0, 1]
        signed_up = start + timedelta(seconds=min(span - 60, offset))
        ws = Workspace(batch, rng, first + i, signed_up, now, pw)
        ws.first_number = first
        ws.live()
        ws.finish()
        ws.sessions(session_since)
    with unscoped(session, "revenue: seed a sample history across new workspaces"):
        counts = batch.flush(session)
    counts["revenue_day_rollups"] = rollups.roll_up(session, now)
    if session.get_bind().dialect.name == "postgresql":
        # Tens of thousands of rows at once: refresh the planner's statistics, as autovacuum later would.
        for table in counts:
            session.execute(text(f'ANALYZE "{table}"'))  # noqa: S608 - our own table names
    return counts
