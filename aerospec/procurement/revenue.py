"""Platform-admin reads of procurement commissions: the list and revenue per month.

Commissions belong to tenants, so every read here crosses tenants through
`unscoped(...)` with a reason; only platform-admin views and API routes call these.
Money stays Decimal; callers format it (the API as strings).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aerospec.errors import ValidationFailed
from aerospec.pagination import Page, window
from aerospec.procurement.clients import money
from aerospec.procurement.models import Procurement, ProcurementCommission
from aerospec.tenancy.models import Tenant
from aerospec.tenancy.scoping import unscoped

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class CommissionFilters:
    """Which commissions: one tenant, and/or a date range [date_from, date_to] (UTC, inclusive)."""

    tenant_id: uuid.UUID | None = None
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def parse(cls, args) -> CommissionFilters:
        """From query arguments tenant_id, from, to (YYYY-MM-DD, or YYYY-MM for a whole month)."""
        errors: dict[str, list[str]] = {}
        tenant_id = None
        if args.get("tenant_id"):
            try:
                tenant_id = uuid.UUID(str(args["tenant_id"]))
            except ValueError:
                errors["tenant_id"] = ["Must be a workspace id."]
        date_from = _parse_day(args.get("from"), "from", errors, end=False)
        date_to = _parse_day(args.get("to"), "to", errors, end=True)
        if date_from and date_to and date_from > date_to:
            errors["to"] = ["Must not be before “from”."]
        if errors:
            raise ValidationFailed("Check the filters listed in errors.", field_errors=errors)
        return cls(tenant_id, date_from, date_to)

    def query(self) -> dict[str, str]:
        """The filters as query arguments (for pagination links)."""
        out = {}
        if self.tenant_id:
            out["tenant_id"] = str(self.tenant_id)
        if self.date_from:
            out["from"] = self.date_from.isoformat()
        if self.date_to:
            out["to"] = self.date_to.isoformat()
        return out


def _parse_day(value, name: str, errors: dict, *, end: bool) -> date | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        if len(text) == 7:  # a month: its first day, or its last for "to"
            first = date.fromisoformat(text + "-01")
            return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1) if end else first
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = ["Use a date as YYYY-MM-DD or a month as YYYY-MM."]
        return None


def _where(filters: CommissionFilters) -> list:
    clauses = []
    if filters.tenant_id:
        clauses.append(ProcurementCommission.tenant_id == filters.tenant_id)
    if filters.date_from:
        clauses.append(ProcurementCommission.created_at >= datetime.combine(filters.date_from, time.min, UTC))
    if filters.date_to:
        after = filters.date_to + timedelta(days=1)
        clauses.append(ProcurementCommission.created_at < datetime.combine(after, time.min, UTC))
    return clauses


@dataclass(frozen=True)
class CommissionRow:
    id: uuid.UUID
    tenant_id: uuid.UUID
    tenant_name: str
    tenant_slug: str
    procurement_id: uuid.UUID
    reference: str
    plan: str
    rate: Decimal
    base_amount: Decimal
    amount: Decimal
    currency: str
    created_at: datetime

    def to_dict(self) -> dict:
        """JSON-ready: money and rates as strings, never floats."""
        return {
            "id": str(self.id),
            "tenant_id": str(self.tenant_id),
            "tenant_name": self.tenant_name,
            "procurement_id": str(self.procurement_id),
            "reference": self.reference,
            "plan": self.plan,
            "rate": str(self.rate),
            "base_amount": f"{self.base_amount:.2f}",
            "amount": f"{self.amount:.2f}",
            "currency": self.currency,
            "created_at": self.created_at.isoformat(),
        }


def list_commissions(session: Session, filters: CommissionFilters, page: int = 1, per_page: int = 25) -> Page:
    """Commissions across every tenant, newest first, with the tenant and order reference."""
    C = ProcurementCommission  # noqa: N806 - short alias for a long query
    where = _where(filters)
    with unscoped(session, "platform admin: commissions list"):
        total = session.scalar(select(func.count(C.id)).where(*where)) or 0
        page, offset = window(total, page, per_page)
        rows = session.execute(
            select(
                C.id,
                C.tenant_id,
                Tenant.name,
                Tenant.slug,
                C.procurement_id,
                Procurement.reference,
                C.plan,
                C.rate,
                C.base_amount,
                C.amount,
                C.currency,
                C.created_at,
            )  # fmt: skip
            .join(Procurement, Procurement.id == C.procurement_id)
            .join(Tenant, Tenant.id == C.tenant_id)
            .where(*where)
            .order_by(C.created_at.desc(), C.id)
            .limit(per_page)
            .offset(offset)
        ).all()
    return Page([CommissionRow(*row) for row in rows], total, page, per_page)


def commission_totals(session: Session, filters: CommissionFilters) -> list[dict]:
    """Per currency over the filtered commissions: count, order value and commission."""
    C = ProcurementCommission  # noqa: N806
    with unscoped(session, "platform admin: commission totals"):
        rows = session.execute(
            select(C.currency, func.count(C.id), func.sum(C.base_amount), func.sum(C.amount))
            .where(*_where(filters))
            .group_by(C.currency)
            .order_by(C.currency)
        ).all()
    return [
        {"currency": cur, "orders": n, "order_value": _dec(value), "commissions": _dec(amount)}
        for cur, n, value, amount in rows
    ]


def _month(session: Session, column):
    """The UTC month of a timestamp as 'YYYY-MM', in the database's own dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.strftime("%Y-%m", column)  # SQLite keeps UTC timestamps without a zone


def monthly_revenue(session: Session, filters: CommissionFilters | None = None) -> list[dict]:
    """Commissions summed per month (oldest first), with the count and value of the orders."""
    C = ProcurementCommission  # noqa: N806
    month = _month(session, C.created_at).label("month")
    with unscoped(session, "platform admin: monthly revenue"):
        rows = session.execute(
            select(month, C.currency, func.sum(C.amount), func.count(C.id), func.sum(C.base_amount))
            .where(*_where(filters or CommissionFilters()))
            .group_by(month, C.currency)
            .order_by(month, C.currency)
        ).all()
    return [
        {"month": m, "currency": cur, "commissions": _dec(amount), "orders": n, "order_value": _dec(value)}
        for m, cur, amount, n, value in rows
    ]


def commission_tenants(session: Session) -> list[Tenant]:
    """Workspaces that have at least one commission (for the filter), by name."""
    with unscoped(session, "platform admin: workspaces with commissions"):
        ids = select(ProcurementCommission.tenant_id).distinct()
        return list(session.scalars(select(Tenant).where(Tenant.id.in_(ids)).order_by(Tenant.name)))


def _dec(value) -> Decimal:
    """A SUM as Decimal cents (SQLite may hand back a float or int for NUMERIC sums)."""
    return money(Decimal(str(value))) if value is not None else ZERO
