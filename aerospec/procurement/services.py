"""Procurements: create from a configuration, price from a supplier's quote, the state machine,
submission with an idempotency key, supplier status updates, cancellation, payment records.

Plain functions with explicit session/tenant/actor arguments, shared by the pages, the JSON
API and the jobs. Money is Decimal throughout, rounded to cents half-up (clients.money).

When payment is required (documented in README "Procurement"):
- sample orders must be paid by card (Checkout) before they go to the supplier; paying for a
  draft sample order is what submits it;
- pilot and production orders are placed on account: they may be submitted unpaid and paid
  by Checkout at any time before they are cancelled (payment_status "unpaid" until then).
A commission at the plan's rate is recorded when an order is paid.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aerospec import queueing, search
from aerospec.billing.plans import PLANS
from aerospec.catalog.models import Actuator
from aerospec.compliance import services as audit
from aerospec.configurations.models import Configuration
from aerospec.errors import Conflict, DomainError, ValidationFailed
from aerospec.models import get_owned, utcnow
from aerospec.pagination import Page, window
from aerospec.procurement.clients import (
    QuoteItem,
    SupplierClient,
    SupplierError,
    SupplierOrder,
    SupplierQuote,
    SupplierRejected,
    money,
)
from aerospec.procurement.models import (
    ORDER_TYPES,
    STATUSES,
    SUPPLIERS,
    Procurement,
    ProcurementCommission,
    ProcurementEvent,
    ProcurementLineItem,
)
from aerospec.procurement.quotes import QuoteResult, compare_quotes
from aerospec.procurement.suppliers import supplier_job_timeout
from aerospec.tenancy.features import ensure_feature
from aerospec.web.dates import absolute_date

SUPPLIER_LABELS = {"spencer": "Spencer", "coster": "Coster"}
STATUS_LABELS = {
    "draft": "Draft",
    "submitted": "Submitted",
    "confirmed": "Confirmed by supplier",
    "shipped": "Shipped",
    "delivered": "Delivered",
    "failed": "Failed",
    "cancelled": "Cancelled",
}
TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"submitted", "cancelled"}),
    "submitted": frozenset({"confirmed", "failed", "cancelled"}),
    "confirmed": frozenset({"shipped", "cancelled"}),
    "shipped": frozenset({"delivered"}),
    "delivered": frozenset(),
    "failed": frozenset({"draft", "cancelled"}),  # back to draft to fix and resubmit
    # Only the supplier's refusal takes a cancelled order back: we cancel locally at once and
    # ask the supplier after (jobs.procurement.cancel_at_supplier); if it had already shipped,
    # the order is shipped, not cancelled, whatever we wished. Never a person's choice (USER_TARGETS).
    "cancelled": frozenset({"shipped"}),
}
# What a person may ask for (page button or API PUT); the rest come from the supplier.
USER_TARGETS = frozenset({"submitted", "cancelled", "draft"})
CANCELLABLE = frozenset({"draft", "submitted", "confirmed", "failed"})  # "cancel before shipping"
OPEN_STATUSES = ("submitted", "confirmed", "shipped")  # the status poller follows these
MAX_QTY = 1_000_000
MAX_LINES = 50
# Plan-dependent procurement discount on the supplier subtotal (tenant override: limits["procurement_discount"]).
PROCUREMENT_DISCOUNT = {"starter": Decimal("0"), "professional": Decimal("0.03"), "enterprise": Decimal("0.05")}
COUNTRY = re.compile(r"^[A-Z]{2}$")


class IllegalTransition(Conflict):
    title = "That status change is not allowed"


class SupplierUnavailableError(DomainError):
    """A supplier could not quote or take the order right now (the message names it)."""

    status = 503
    title = "Supplier unavailable"


# -- money and plan terms ---------------------------------------------------------------


def discount_rate(tenant) -> Decimal:
    """The tenant's procurement discount as a fraction (0.03 = 3 %)."""
    override = (tenant.limits or {}).get("procurement_discount")
    if override is not None:
        return Decimal(str(override))
    return PROCUREMENT_DISCOUNT.get(tenant.plan, Decimal("0"))


def commission_rate(tenant) -> Decimal:
    plan = PLANS.get(tenant.plan)
    return plan.procurement_commission if plan is not None else Decimal("0")


def payment_required_before_submit(order_type: str) -> bool:
    return order_type == "sample"


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    discount_rate: Decimal
    discount: Decimal
    tax: Decimal
    shipping: Decimal
    total: Decimal


def price(quote: SupplierQuote, rate: Decimal) -> Totals:
    """Our order's totals from a supplier quote: the discount applies to the goods only.

    Tax is the supplier's, scaled to the discounted goods (it is levied on what is paid);
    shipping is the supplier's as quoted.
    """
    subtotal = money(quote.subtotal)
    discount = money(subtotal * rate)
    taxable = subtotal - discount
    tax = money(quote.tax * taxable / subtotal) if subtotal else money(quote.tax)
    shipping = money(quote.shipping)
    return Totals(subtotal, rate, discount, tax, shipping, money(taxable + tax + shipping))


# -- validation -----------------------------------------------------------------------------


ADDRESS_FIELDS = ("name", "company", "line1", "line2", "city", "region", "postal_code", "country", "phone")
ADDRESS_REQUIRED = ("name", "line1", "city", "postal_code", "country")


def clean_address(value) -> dict:
    """A ship-to address with the required parts; field errors under ship_to_address.<part>."""
    if not isinstance(value, Mapping):
        raise ValidationFailed(field_errors={"ship_to_address": ["Give the address as an object with its parts."]})
    errors: dict[str, list[str]] = {}
    out: dict[str, str] = {}
    for key in value:
        if key not in ADDRESS_FIELDS:
            errors.setdefault(f"ship_to_address.{key}", []).append("Not an address field.")
    for key in ADDRESS_FIELDS:
        raw = value.get(key)
        if raw is None or raw == "":
            if key in ADDRESS_REQUIRED:
                errors.setdefault(f"ship_to_address.{key}", []).append("Required.")
            continue
        if not isinstance(raw, str):
            errors.setdefault(f"ship_to_address.{key}", []).append("Must be text.")
            continue
        text = raw.strip()
        if len(text) > 200:
            errors.setdefault(f"ship_to_address.{key}", []).append("At most 200 characters.")
        if key == "country":
            text = text.upper()
            if not COUNTRY.match(text):
                errors.setdefault("ship_to_address.country", []).append("Use the two-letter country code, e.g. US.")
        if key == "postal_code" and not re.match(r"^[A-Za-z0-9][A-Za-z0-9 -]{1,11}$", text):
            errors.setdefault("ship_to_address.postal_code", []).append("Not a postal code.")
        if text:
            out[key] = text
        elif key in ADDRESS_REQUIRED:
            errors.setdefault(f"ship_to_address.{key}", []).append("Required.")
    if errors:
        raise ValidationFailed(field_errors=errors)
    return out


def clean_items(session: Session, supplier: str | None, items) -> list[QuoteItem]:
    """[{sku, qty}] → QuoteItems, each SKU in the catalog (of `supplier` when one is chosen)."""
    if not isinstance(items, Sequence) or isinstance(items, str) or not items:
        raise ValidationFailed(field_errors={"items": ["Choose at least one actuator and its quantity."]})
    if len(items) > MAX_LINES:
        raise ValidationFailed(field_errors={"items": [f"At most {MAX_LINES} lines per order."]})
    errors: dict[str, list[str]] = {}
    merged: dict[str, int] = {}
    first: dict[str, int] = {}  # a SKU's errors point at the first line that names it
    for i, raw in enumerate(items):
        try:
            item = QuoteItem.coerce(raw)
        except (ValueError, KeyError, TypeError) as exc:
            message = str(exc) if isinstance(exc, ValueError) else "Each item needs a sku and a qty."
            errors.setdefault(f"items.{i}", []).append(message)
            continue
        if item.qty > MAX_QTY:
            errors.setdefault(f"items.{i}.qty", []).append(f"At most {MAX_QTY:,} per line.")
            continue
        merged[item.sku] = merged.get(item.sku, 0) + item.qty
        first.setdefault(item.sku, i)
    for sku, qty in merged.items():
        if qty > MAX_QTY:
            errors.setdefault(f"items.{first[sku]}.qty", []).append(
                f"At most {MAX_QTY:,} of {sku} in all (lines for the same SKU are added together)."
            )
    if errors:
        raise ValidationFailed(field_errors=errors)
    known = dict(session.execute(select(Actuator.sku, Actuator.supplier).where(Actuator.sku.in_(list(merged)))).all())
    for sku in merged:
        i = first[sku]
        if sku not in known:
            errors.setdefault(f"items.{i}.sku", []).append(f"{sku} is not in the actuator catalog.")
        elif supplier and known[sku] != supplier:
            errors.setdefault(f"items.{i}.sku", []).append(
                f"{sku} is a {SUPPLIER_LABELS[known[sku]]} part; {SUPPLIER_LABELS[supplier]} cannot supply it."
            )
    if errors:
        raise ValidationFailed(field_errors=errors)
    return [QuoteItem(sku, qty) for sku, qty in merged.items()]


def items_by_supplier(session: Session, items: Sequence[QuoteItem]) -> dict[str, list[QuoteItem]]:
    """Route each item to the supplier that carries its SKU (the compare call's input)."""
    owners = dict(
        session.execute(select(Actuator.sku, Actuator.supplier).where(Actuator.sku.in_([i.sku for i in items]))).all()
    )
    routed: dict[str, list[QuoteItem]] = {}
    for item in items:
        if item.sku in owners:
            routed.setdefault(owners[item.sku], []).append(item)
    return routed


# -- reading ----------------------------------------------------------------------------------


def get_procurement(session: Session, tenant, procurement_id) -> Procurement:
    return get_owned(session, Procurement, tenant, procurement_id, "No such order.")


def list_procurements(
    session: Session,
    tenant,
    *,
    status: str | None = None,
    order_type: str | None = None,
    supplier: str | None = None,
    configuration_id: uuid.UUID | None = None,
    q: str | None = None,
    page: int = 1,
    per_page: int = 25,
) -> Page:
    """A page of the tenant's orders, newest first."""
    query = select(Procurement).where(Procurement.tenant_id == tenant.id)
    if status in STATUSES:
        query = query.where(Procurement.status == status)
    if order_type in ORDER_TYPES:
        query = query.where(Procurement.order_type == order_type)
    if supplier in SUPPLIERS:
        query = query.where(Procurement.selected_supplier == supplier)
    if configuration_id is not None:
        query = query.where(Procurement.configuration_id == configuration_id)
    if q:
        query = query.where(
            search.contains(Procurement.reference, q)
            | search.contains(Procurement.supplier_order_id, q)
            | search.contains(Procurement.tracking_number, q)
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page, offset = window(total, page, per_page)
    rows = session.scalars(
        query.order_by(Procurement.created_at.desc(), Procurement.id).limit(per_page).offset(offset)
    ).all()
    return Page(list(rows), total, page, per_page)


# -- events, audit, email ---------------------------------------------------------------------


# How each order status reads on the timeline (see event_tone).
STATUS_TONES = {"failed": "danger", "delivered": "success", "confirmed": "success", "cancelled": "neutral"}
TONES = ("success", "danger", "warning", "info", "neutral")


# How order entries read in the audit log: labels, not keys; a total with its currency.
audit.register_detail_formats(
    "procurement.",
    {
        "from": audit.labelled(STATUS_LABELS),
        "to": audit.labelled(STATUS_LABELS),
        "supplier": audit.labelled(SUPPLIER_LABELS),
        "order_type": audit.labelled({t: t.title() for t in ORDER_TYPES}),
        "provider": audit.labelled({"offline": "Offline (test mode)", "stripe": "Stripe"}),
        "total": lambda value, details: f"{details.get('currency') or 'USD'} {Decimal(str(value)):,.2f}",
        "currency": audit.hidden,  # shown with the total
    },
)
SUPPLIER_STEPS = frozenset({"confirmed", "shipped", "delivered"})


def event_source(event: ProcurementEvent, procurement: Procurement) -> str:
    """Who a timeline line is from: the member who acted, the payment provider, the supplier whose answer
    it records (accepted, confirmed, shipped, delivered, refused, cancelled on their side), else AeroSpec."""
    if event.actor is not None:
        return event.actor.name
    if event.kind == "payment":
        return "Payment provider"
    supplier = SUPPLIER_LABELS.get(procurement.selected_supplier or "", "Supplier")
    if event.kind == "submit" and event.tone == "success":  # the supplier's acceptance, not our attempt
        return supplier
    if event.kind == "status" and (
        event.to_status in SUPPLIER_STEPS
        or (event.to_status == "failed" and procurement.selected_supplier)
        or (event.to_status == "cancelled" and procurement.supplier_order_id)
    ):
        return supplier
    return "AeroSpec"


def add_event(
    session: Session,
    procurement: Procurement,
    kind: str,
    message: str,
    *,
    actor=None,
    from_status=None,
    to_status=None,
    tone: str | None = None,
) -> ProcurementEvent:
    """One timeline line; `tone` (success, danger, warning, info) says whether it is good or bad news."""
    if tone is not None and tone not in TONES:
        raise ValueError(f"unknown tone {tone!r}")
    event = ProcurementEvent(
        tenant_id=procurement.tenant_id,
        procurement=procurement,
        kind=kind,
        message=message,
        actor_id=actor.id if actor is not None else None,
        from_status=from_status,
        to_status=to_status,
        tone=tone,
    )
    session.add(event)
    return event


def event_tone(event: ProcurementEvent) -> str:
    """success, danger, warning, info or neutral: the timeline dot's colour and icon (never the only signal)."""
    if event.tone:
        return event.tone
    if event.kind == "status":
        return STATUS_TONES.get(event.to_status or "", "info")
    return "neutral"  # rows written before events carried a tone


def _notify(session: Session, procurement: Procurement, subject_status: str, message: str) -> None:
    """Email the order's creator about a change (queued after commit)."""
    from aerospec.notifications.services import queue_email
    from aerospec.tenancy.models import Tenant

    creator = procurement.created_by
    if creator is None:
        return
    tenant = session.get(Tenant, procurement.tenant_id)
    queue_email(
        session,
        creator.email,
        "procurement_status",
        reference=procurement.reference,
        status=subject_status,
        status_label=STATUS_LABELS.get(subject_status, subject_status.replace("_", " ").capitalize()),
        message=message,
        procurement_id=str(procurement.id),
        tenant_slug=tenant.slug,
        tenant_name=tenant.name,
        supplier=SUPPLIER_LABELS.get(procurement.selected_supplier or "", ""),
        tracking_number=procurement.tracking_number,
        expected_delivery=procurement.expected_delivery,
        total=procurement.total,
        currency=procurement.currency,
    )


STATUS_TIMESTAMPS = {
    "submitted": "submitted_at",
    "confirmed": "confirmed_at",
    "shipped": "shipped_at",
    "delivered": "delivered_at",
    "cancelled": "cancelled_at",
    "failed": "failed_at",
}


def transition(
    session: Session,
    procurement: Procurement,
    to_status: str,
    *,
    actor=None,
    message: str = "",
    at: datetime | None = None,
    client=None,
) -> Procurement:
    """Move an order along the state machine: event, audit entry and an email to its creator.

    Raises IllegalTransition (409) for anything TRANSITIONS does not allow.
    """
    if to_status not in STATUSES:
        raise ValidationFailed(field_errors={"status": [f"Unknown status {to_status!r}."]})
    from_status = procurement.status
    if to_status not in TRANSITIONS[from_status]:
        raise IllegalTransition(
            f"An order that is {STATUS_LABELS[from_status].lower()} cannot become {to_status}"
            + (f" (allowed: {', '.join(sorted(TRANSITIONS[from_status]))})." if TRANSITIONS[from_status] else ".")
        )
    procurement.status = to_status
    stamp = STATUS_TIMESTAMPS.get(to_status)
    if stamp:
        setattr(procurement, stamp, at or utcnow())
    text = message or f"{STATUS_LABELS[from_status]} → {STATUS_LABELS[to_status]}"
    event = add_event(session, procurement, "status", text, actor=actor, from_status=from_status, to_status=to_status)
    audit.record(
        session,
        procurement.tenant_id,
        f"procurement.{to_status}",
        actor=actor,
        client=client,
        # Without a person, the log names who reported it as the timeline does ("Spencer", "AeroSpec").
        actor_email=None if actor is not None else event_source(event, procurement),
        target_type="procurement",
        target_id=procurement.id,
        details={"reference": procurement.reference, "from": from_status, "to": to_status, "message": message},
    )
    _notify(session, procurement, to_status, text)
    _emit_status(session, procurement, from_status)
    return procurement


def _cents(value) -> str:
    return str(Decimal(value or 0).quantize(Decimal("0.01")))


def purchase_order(procurement: Procurement) -> dict:
    """The `procurement.submitted` webhook's data: the purchase order as an ERP books it."""
    unit = Decimal("0.0001")
    supplier = procurement.selected_supplier
    return {
        "id": str(procurement.id),
        "reference": procurement.reference,
        "order_type": procurement.order_type,
        "status": procurement.status,
        "configuration_id": str(procurement.configuration_id) if procurement.configuration_id else None,
        "supplier": {
            "key": supplier,
            "name": SUPPLIER_LABELS.get(supplier or "") or None,
            "order_id": procurement.supplier_order_id,
        },
        "currency": procurement.currency,
        "lines": [
            {
                "position": item.position,
                "sku": item.sku,
                "description": item.description,
                "quantity": item.qty,
                "unit_price": str(Decimal(item.unit_price).quantize(unit)) if item.unit_price is not None else None,
                "line_total": _cents(item.line_total),
                "lead_time_days": item.lead_time_days,
            }
            for item in sorted(procurement.items, key=lambda i: i.position)
        ],
        "subtotal": _cents(procurement.subtotal),
        "discount_rate": str(Decimal(procurement.discount_rate or 0).quantize(unit)),
        "discount": _cents(procurement.discount),
        "tax": _cents(procurement.tax),
        "shipping": _cents(procurement.shipping),
        "total": _cents(procurement.total),
        "ship_to": dict(procurement.ship_to_address or {}),
        "lead_time_days": procurement.lead_time_days,
        "expected_delivery": procurement.expected_delivery,
        "payment_status": procurement.payment_status,
        "notes": procurement.notes,
        "submitted_at": procurement.submitted_at,
        "created_at": procurement.created_at,
    }


def _emit_status(session: Session, procurement: Procurement, from_status: str) -> None:
    """The order's webhooks, sent after the commit (nothing when the change is rolled back)."""
    from aerospec.webhooks import services as webhooks

    now = utcnow()
    webhooks.emit(
        session,
        procurement.tenant_id,
        "procurement.status_changed",
        {
            "id": str(procurement.id),
            "reference": procurement.reference,
            "status": procurement.status,
            "previous_status": from_status,
            "updated_at": now,
        },
    )
    if procurement.status == "submitted":
        webhooks.emit(session, procurement.tenant_id, "procurement.submitted", purchase_order(procurement))


# -- create and edit ---------------------------------------------------------------------------


def _reference() -> str:
    return "PO-" + secrets.token_hex(4).upper()


def _configuration(session: Session, tenant, configuration_id) -> Configuration | None:
    if configuration_id in (None, ""):
        return None
    try:
        cid = configuration_id if isinstance(configuration_id, uuid.UUID) else uuid.UUID(str(configuration_id))
    except ValueError as exc:
        raise ValidationFailed(field_errors={"configuration_id": ["Not a configuration id."]}) from exc
    config = session.scalar(select(Configuration).where(Configuration.id == cid, Configuration.tenant_id == tenant.id))
    if config is None:
        raise ValidationFailed(field_errors={"configuration_id": ["No such configuration in this workspace."]})
    return config


def usable_quote(supplier: str, result: QuoteResult | None) -> SupplierQuote:
    """The chosen supplier's quote from its answer, or why the order cannot be priced from it."""
    if result is None:
        raise ValidationFailed(field_errors={"selected_supplier": [f"Unknown supplier {supplier!r}."]})
    if not result.ok:
        raise SupplierUnavailableError(
            f"{SUPPLIER_LABELS[supplier]} could not quote right now: {result.error} "
            "Try again in a moment, or choose the other supplier."
        )
    unavailable = [line.sku for line in result.quote.items if line.availability == "unavailable"]
    if unavailable:
        raise ValidationFailed(
            field_errors={"items": [f"{SUPPLIER_LABELS[supplier]} cannot supply {', '.join(unavailable)}."]}
        )
    return result.quote


def fetch_quote(clients: Sequence[SupplierClient], supplier: str, items: Sequence[QuoteItem], timeout: float):
    """One supplier's quote for these items (cached briefly), or SupplierUnavailableError."""
    chosen = [c for c in clients if c.name == supplier]
    results = compare_quotes(chosen, list(items), timeout) if chosen else []
    return usable_quote(supplier, results[0] if results else None)


def configuration_items(session: Session, config: Configuration, qty: int, top: int) -> dict[str, list[QuoteItem]]:
    """The configuration's top-`top` ranked actuators of each supplier, each at `qty` (ranking order kept)."""
    skus: list[str] = []
    for entry in config.compatible_actuators or []:
        sku = entry.get("sku") if isinstance(entry, dict) else entry
        if isinstance(sku, str) and sku and sku not in skus:
            skus.append(sku)
    # The catalog, not the saved entry, says who supplies a SKU today.
    routed = items_by_supplier(session, [QuoteItem(sku, qty) for sku in skus])
    return {supplier: items[:top] for supplier, items in routed.items()}


def comparison_items(
    session: Session,
    config: Configuration | None,
    items: Sequence[QuoteItem],
    supplier: str | None,
    compared: Sequence[QuoteItem] | None,
) -> dict[str, list[QuoteItem]]:
    """What each supplier is asked when an order is created, for its record of quotes.

    The chosen supplier: the order's own items. The others: the comparison the order came from
    (`compared`, the compare panel's actuators, at the order's quantity when it has one), else the
    configuration's best-ranked actuator of each at the order's total quantity (as POST
    /api/procurements/compare with top 1 would).
    """
    asked: dict[str, list[QuoteItem]] = {}
    if compared:
        # An order of one quantity throughout (a sample of 1 each, from a comparison at 100 each) has the
        # others asked at that quantity too, so the record compares like with like.
        order_qty = {i.qty for i in items}
        if len(order_qty) == 1 and {i.qty for i in compared} != order_qty:
            compared = [QuoteItem(i.sku, next(iter(order_qty))) for i in compared]
        asked.update(items_by_supplier(session, compared))
    elif config is not None:
        asked.update(configuration_items(session, config, sum(i.qty for i in items), top=1))
    if supplier:
        asked[supplier] = list(items)
    else:  # an unpriced draft: each supplier that carries its items is asked for them
        for owner, own in items_by_supplier(session, items).items():
            asked.setdefault(owner, own)
    return asked


def quotes_record(results: Sequence[QuoteResult], asked: Mapping[str, Sequence[QuoteItem]], selected) -> list[dict]:
    """suppliers_quoted: every supplier's answer (quote or error) with what it was asked, in SUPPLIERS order."""
    answered = {r.supplier: r for r in results}
    record = []
    for name in SUPPLIERS:
        result = answered.get(name)
        if result is not None:
            entry = result.to_dict()
        else:
            reason = (
                f"{SUPPLIER_LABELS[name]} could not be asked (no client is configured for it)."
                if asked.get(name)
                else f"Not asked: neither this order nor its configuration has a {SUPPLIER_LABELS[name]} actuator."
            )
            entry = {
                "name": name,
                "label": SUPPLIER_LABELS[name],
                "ok": False,
                "error": reason,
                "error_type": "NotAsked",
            }
        entry["requested"] = [{"sku": i.sku, "qty": i.qty} for i in asked.get(name, ())]
        entry["selected"] = name == selected
        record.append(entry)
    return record


def _clean_compared(session: Session, value) -> list[QuoteItem] | None:
    """compared_items: the actuators the order was compared on ({sku, qty} like items), or None."""
    if value is None:
        return None
    try:
        return clean_items(session, None, value)
    except ValidationFailed as exc:
        raise ValidationFailed(
            field_errors={"compared_items" + key.removeprefix("items"): msgs for key, msgs in exc.field_errors.items()}
        ) from exc


def _apply_quote(session: Session, tenant, procurement: Procurement, quote: SupplierQuote) -> None:
    names = dict(
        session.execute(
            select(Actuator.sku, Actuator.name).where(
                Actuator.supplier == quote.supplier, Actuator.sku.in_([line.sku for line in quote.items])
            )
        ).all()
    )
    procurement.items.clear()
    session.flush()
    for position, line in enumerate(quote.items):
        procurement.items.append(
            ProcurementLineItem(
                tenant_id=procurement.tenant_id,
                position=position,
                sku=line.sku,
                description=names.get(line.sku),
                qty=line.qty,
                unit_price=line.unit_price,
                line_total=money(line.line_total),
                availability=line.availability,
                lead_time_days=line.lead_time_days,
            )
        )
    totals = price(quote, discount_rate(tenant))
    procurement.subtotal = totals.subtotal
    procurement.discount_rate = totals.discount_rate
    procurement.discount = totals.discount
    procurement.tax = totals.tax
    procurement.shipping = totals.shipping
    procurement.total = totals.total
    procurement.currency = quote.currency
    procurement.lead_time_days = quote.lead_time_days
    procurement.quote = quote.to_dict()
    procurement.quoted_at = quote.quoted_at
    procurement.selected_supplier = quote.supplier


def _unpriced(procurement: Procurement, items: Sequence[QuoteItem]) -> None:
    """Items without a chosen supplier: quantities only, no money yet."""
    procurement.items.clear()
    for position, item in enumerate(items):
        procurement.items.append(
            ProcurementLineItem(tenant_id=procurement.tenant_id, position=position, sku=item.sku, qty=item.qty)
        )
    for name in ("subtotal", "discount", "tax", "shipping", "total"):
        setattr(procurement, name, Decimal("0"))
    procurement.selected_supplier = None
    procurement.quote = None
    procurement.quoted_at = None
    procurement.lead_time_days = None


def _clean_order_type(value) -> str:
    if value not in ORDER_TYPES:
        raise ValidationFailed(field_errors={"order_type": [f"Choose one of: {', '.join(ORDER_TYPES)}."]})
    return value


def _clean_supplier(value) -> str | None:
    if value in (None, ""):
        return None
    if value not in SUPPLIERS:
        raise ValidationFailed(field_errors={"selected_supplier": [f"Choose one of: {', '.join(SUPPLIERS)}."]})
    return value


def create_procurement(
    session: Session,
    tenant,
    actor,
    data: Mapping,
    *,
    clients: Sequence[SupplierClient],
    quote_timeout: float = 5.0,
    client=None,
) -> Procurement:
    """A draft order from {configuration_id?, order_type, items[{sku, qty}], selected_supplier?,
    ship_to_address, notes?, compared_items?}; priced from the chosen supplier's live (or briefly
    cached) quote, and keeping what every supplier quoted then (suppliers_quoted)."""
    ensure_feature(tenant, "ecommerce")  # ordering and payment: a platform admin can switch it off per tenant
    errors: dict[str, list[str]] = {}
    parsed: dict = {}
    for name, fn in (
        ("order_type", lambda: _clean_order_type(data.get("order_type", "sample"))),
        ("selected_supplier", lambda: _clean_supplier(data.get("selected_supplier"))),
        ("configuration", lambda: _configuration(session, tenant, data.get("configuration_id"))),
        ("ship_to_address", lambda: clean_address(data.get("ship_to_address"))),
        ("compared", lambda: _clean_compared(session, data.get("compared_items"))),
    ):
        try:
            parsed[name] = fn()
        except ValidationFailed as exc:
            errors.update(exc.field_errors)
    try:
        parsed["items"] = clean_items(session, parsed.get("selected_supplier"), data.get("items"))
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
    notes = data.get("notes")
    if notes is not None and (not isinstance(notes, str) or len(notes) > 2000):
        errors["notes"] = ["Notes are text of at most 2,000 characters."]
    if errors:
        raise ValidationFailed(field_errors=errors)

    supplier = parsed["selected_supplier"]
    config = parsed["configuration"]
    asked = comparison_items(session, config, parsed["items"], supplier, parsed["compared"])
    results = compare_quotes(clients, asked, quote_timeout) if asked else []  # all at once, cache first
    quote = usable_quote(supplier, next((r for r in results if r.supplier == supplier), None)) if supplier else None
    procurement = Procurement(
        tenant_id=tenant.id,
        configuration_id=config.id if config else None,
        created_by_id=actor.id if actor is not None else None,
        created_by=actor,
        reference=_reference(),
        order_type=parsed["order_type"],
        status="draft",
        ship_to_address=parsed["ship_to_address"],
        notes=(notes or "").strip() or None,
        idempotency_key=uuid.uuid4().hex,
        payment_status="unpaid",
    )
    session.add(procurement)
    if quote is not None:
        _apply_quote(session, tenant, procurement, quote)
    else:
        _unpriced(procurement, parsed["items"])
    procurement.suppliers_quoted = quotes_record(results, asked, supplier)
    session.flush()
    add_event(session, procurement, "status", "Order created as a draft.", actor=actor, to_status="draft")
    audit.record(
        session,
        tenant.id,
        "procurement.created",
        actor=actor,
        client=client,
        target_type="procurement",
        target_id=procurement.id,
        details={"reference": procurement.reference, "order_type": procurement.order_type, "supplier": supplier},
    )
    return procurement


def update_procurement(
    session: Session,
    tenant,
    actor,
    procurement: Procurement,
    data: Mapping,
    *,
    clients: Sequence[SupplierClient],
    quote_timeout: float = 5.0,
    client=None,
) -> Procurement:
    """PUT: edit a draft (items, supplier, order type, address, notes) and/or change `status`.

    A status change is the only edit allowed outside draft; fields and a status in one body
    apply the fields first (so a draft can be completed and submitted in one call).
    """
    fields = {k: v for k, v in data.items() if k != "status"}
    if fields:
        if procurement.status != "draft":
            raise Conflict(f"Only a draft can be edited; this order is {procurement.status}.")
        errors: dict[str, list[str]] = {}
        changes: dict = {}
        try:
            if "order_type" in fields:
                changes["order_type"] = _clean_order_type(fields["order_type"])
            if "selected_supplier" in fields:
                changes["selected_supplier"] = _clean_supplier(fields["selected_supplier"])
            if "ship_to_address" in fields:
                changes["ship_to_address"] = clean_address(fields["ship_to_address"])
            if "configuration_id" in fields:
                config = _configuration(session, tenant, fields["configuration_id"])
                changes["configuration_id"] = config.id if config else None
        except ValidationFailed as exc:
            errors.update(exc.field_errors)
        supplier = changes.get("selected_supplier", procurement.selected_supplier)
        raw_items = fields.get("items", [{"sku": i.sku, "qty": i.qty} for i in procurement.items])
        try:
            items = clean_items(session, supplier, raw_items)
        except ValidationFailed as exc:
            errors.update(exc.field_errors)
        if "notes" in fields and fields["notes"] is not None and not isinstance(fields["notes"], str):
            errors["notes"] = ["Notes are text."]
        unknown = set(fields) - {
            "order_type",
            "selected_supplier",
            "ship_to_address",
            "configuration_id",
            "items",
            "notes",
        }
        for name in unknown:
            errors[name] = ["Not a field you can change."]
        if errors:
            raise ValidationFailed(field_errors=errors)
        quote = None
        if supplier and ("items" in fields or "selected_supplier" in fields or procurement.quote is None):
            quote = fetch_quote(clients, supplier, items, quote_timeout)
        for key in ("order_type", "ship_to_address", "configuration_id"):
            if key in changes:
                setattr(procurement, key, changes[key])
        if "notes" in fields:
            procurement.notes = (fields["notes"] or "").strip() or None
        if quote is not None:
            _apply_quote(session, tenant, procurement, quote)
        elif not supplier and ("items" in fields or "selected_supplier" in fields):
            _unpriced(procurement, items)
        add_event(session, procurement, "note", "Draft edited: " + ", ".join(sorted(fields)) + ".", actor=actor)
        audit.record(
            session,
            tenant.id,
            "procurement.updated",
            actor=actor,
            client=client,
            target_type="procurement",
            target_id=procurement.id,
            details={"reference": procurement.reference, "fields": sorted(fields)},
        )
    if "status" in data and data["status"] != procurement.status:
        request_status(session, tenant, actor, procurement, data["status"], client=client)
    session.flush()
    return procurement


def request_status(session: Session, tenant, actor, procurement: Procurement, to_status, *, client=None) -> Procurement:
    """A person's status change (page button or API PUT): submit, cancel, or back to draft after a failure."""
    if not isinstance(to_status, str) or to_status not in STATUSES:
        raise ValidationFailed(field_errors={"status": [f"Choose one of: {', '.join(STATUSES)}."]})
    if to_status not in USER_TARGETS:
        raise IllegalTransition(
            f"{STATUS_LABELS[to_status]} is set from the supplier's updates, not by hand. "
            "You can submit, cancel, or return a failed order to draft."
        )
    if to_status == "submitted":
        return submit(session, tenant, actor, procurement, client=client)
    if to_status == "cancelled":
        return cancel(session, tenant, actor, procurement, client=client)
    if procurement.status != "failed":
        raise IllegalTransition(f"Only a failed order can go back to draft; this order is {procurement.status}.")
    procurement.idempotency_key = uuid.uuid4().hex  # the supplier refused the last one: a new order next time
    procurement.supplier_order_id = None
    procurement.failure_reason = None
    return transition(
        session, procurement, "draft", actor=actor, message="Returned to draft to fix and resubmit.", client=client
    )


PAY_FIRST = "Pay for this sample order: samples go to the supplier once paid."


def ready_to_submit(procurement: Procurement) -> list[str]:
    """What still stops this order going to the supplier (empty when it can go)."""
    problems = []
    if not procurement.selected_supplier or procurement.quote is None:
        problems.append("Choose a supplier's quote.")
    if not procurement.items:
        problems.append("Add at least one actuator.")
    if not procurement.ship_to_address:
        problems.append("Give a ship-to address.")
    if payment_required_before_submit(procurement.order_type) and procurement.payment_status != "paid":
        problems.append(PAY_FIRST)
    return problems


def submit(session: Session, tenant, actor, procurement: Procurement, *, client=None) -> Procurement:
    """draft → submitted, then a job sends the order to the supplier (retried until it lands)."""
    ensure_feature(tenant, "ecommerce")
    if "submitted" not in TRANSITIONS[procurement.status]:
        raise IllegalTransition(f"This order is {procurement.status}; only a draft can be submitted.")
    problems = ready_to_submit(procurement)
    if problems:
        raise Conflict(" ".join(problems))
    transition(
        session, procurement, "submitted", actor=actor, message="Submitted; sending to the supplier.", client=client
    )
    enqueue_send(session, procurement)
    return procurement


def enqueue_send(session: Session, procurement: Procurement) -> None:
    queueing.enqueue(
        session,
        "jobs.procurement.send_to_supplier",
        str(procurement.tenant_id),
        str(procurement.id),
        queue="default",
        job_id=f"procurement-send-{procurement.id}-{procurement.submit_attempts}",
        retries=3,
        timeout=supplier_job_timeout(),
    )


def cancel(session: Session, tenant, actor, procurement: Procurement, *, clients=None, client=None) -> Procurement:
    """Cancel before shipping. An order the supplier already holds is cancelled there first."""
    if procurement.status not in CANCELLABLE:
        raise IllegalTransition(
            f"This order is {STATUS_LABELS[procurement.status].lower()}; only orders not yet shipped can be cancelled."
        )
    if procurement.supplier_order_id:
        queueing.enqueue(
            session,
            "jobs.procurement.cancel_at_supplier",
            str(procurement.tenant_id),
            str(procurement.id),
            job_id=f"procurement-cancel-{procurement.id}",
            timeout=supplier_job_timeout(),
        )
    return transition(session, procurement, "cancelled", actor=actor, message="Cancelled.", client=client)


def withdrawal(procurement: Procurement) -> str | None:
    """What "cancel procurement" (DELETE /api/procurements/<id>, the page's one button) does now.

    "delete": a draft, or a cancelled order never sent, with no payment on it;
    "cancel": any other order not yet shipped (a draft with a payment is cancelled, not
    deleted, so the payment stays on record); None: shipped or delivered, or already cancelled.
    """
    has_payment = procurement.payment_status in ("paid", "pending")
    if procurement.status == "draft":
        return "cancel" if has_payment else "delete"
    if procurement.status == "cancelled":
        return None if procurement.supplier_order_id or has_payment else "delete"
    return "cancel" if procurement.status in CANCELLABLE else None


def withdraw(session: Session, tenant, actor, procurement: Procurement, *, client=None) -> str:
    """Cancel procurement: delete a draft, cancel an order not yet shipped (at the supplier too).

    Returns "deleted", "cancelled" or "unchanged" (already cancelled: a repeated DELETE is
    harmless); IllegalTransition (409) once the order has shipped.
    """
    action = withdrawal(procurement)
    if action == "delete":
        delete_draft(session, tenant, actor, procurement, client=client)
        return "deleted"
    if action == "cancel":
        cancel(session, tenant, actor, procurement, client=client)
        return "cancelled"
    if procurement.status == "cancelled":
        return "unchanged"
    raise IllegalTransition(
        f"This order is {STATUS_LABELS[procurement.status].lower()}; "
        "only orders not yet shipped can be cancelled or deleted."
    )


def delete_draft(session: Session, tenant, actor, procurement: Procurement, *, client=None) -> None:
    """Delete a draft (or a cancelled order never sent) with no payment on it; others must be cancelled."""
    if withdrawal(procurement) != "delete":
        if procurement.status == "cancelled":
            raise Conflict("This cancelled order was sent to the supplier or paid for; it stays on record.")
        if procurement.payment_status in ("paid", "pending"):
            raise Conflict("This order has a payment; cancel it instead of deleting it.")
        raise Conflict(f"This order is {procurement.status}; cancel it instead of deleting it.")
    audit.record(
        session,
        tenant.id,
        "procurement.deleted",
        actor=actor,
        client=client,
        target_type="procurement",
        target_id=procurement.id,
        details={"reference": procurement.reference},
    )
    session.delete(procurement)
    session.flush()


# -- the supplier side (jobs call these) ------------------------------------------------------


def send_to_supplier(session: Session, procurement: Procurement, client: SupplierClient) -> str:
    """Place a submitted order with its supplier; returns what happened.

    Idempotent: an order that already has a supplier_order_id is not sent again, and every
    attempt carries the same idempotency key, so a retry after a lost answer cannot make a
    second order. SupplierUnavailable (timeouts, 5xx after the client's own retries) is
    recorded and re-raised for the job's retry; a 4xx rejection fails the order.
    """
    if procurement.supplier_order_id or procurement.status != "submitted":
        return "skipped"
    procurement.submit_attempts += 1
    try:
        order = client.submit_order(
            [QuoteItem(i.sku, i.qty) for i in procurement.items],
            idempotency_key=procurement.idempotency_key,
            ship_to=procurement.ship_to_address,
            reference=procurement.reference,
        )
    except SupplierRejected as exc:
        procurement.failure_reason = f"{SUPPLIER_LABELS[client.name]} refused the order: {exc.message}"
        transition(session, procurement, "failed", message=procurement.failure_reason)
        return "failed"
    except SupplierError as exc:
        procurement.last_submit_error = str(exc)
        add_event(
            session,
            procurement,
            "submit",
            f"Attempt {procurement.submit_attempts}: {exc}. The order stays submitted and will be sent again.",
            tone="warning",
        )
        raise
    procurement.last_submit_error = None
    procurement.supplier_order_id = order.order_id
    add_event(
        session,
        procurement,
        "submit",
        f"{SUPPLIER_LABELS[client.name]} accepted the order as {order.order_id}"
        + (" (a retry: the supplier recognised it, no second order)." if order.replayed else "."),
        tone="success",
    )
    apply_supplier_status(session, procurement, order)
    return "sent"


def apply_supplier_status(session: Session, procurement: Procurement, order: SupplierOrder) -> list[str]:
    """Follow the supplier's status (confirmed → shipped → delivered), one legal step at a time."""
    procurement.last_polled_at = utcnow()
    if order.tracking_number and order.tracking_number != procurement.tracking_number:
        procurement.tracking_number = order.tracking_number
    if order.expected_delivery and order.expected_delivery != procurement.expected_delivery:
        procurement.expected_delivery = order.expected_delivery
    if procurement.status in ("cancelled", "failed", "delivered", "draft"):
        return []
    target = order.status
    if target == "cancelled":  # cancelled on the supplier's side (their portal, their stock)
        if "cancelled" not in TRANSITIONS[procurement.status]:
            return []
        message = f"{SUPPLIER_LABELS[order.supplier]} cancelled order {order.order_id} on their side."
        transition(session, procurement, "cancelled", message=message, at=order.cancelled_at)
        return ["cancelled"]
    path = ["confirmed", "shipped", "delivered"]
    if target not in path:
        return []
    moved = []
    for step in path[: path.index(target) + 1]:
        if step in TRANSITIONS[procurement.status]:
            at = {"shipped": order.shipped_at, "delivered": order.delivered_at}.get(step)
            at = min(at, utcnow()) if at else None  # a supplier clock running ahead must not date it in the future
            message = {
                "confirmed": f"{SUPPLIER_LABELS[order.supplier]} confirmed order {order.order_id}"
                + (
                    f"; expected delivery {absolute_date(order.expected_delivery)}." if order.expected_delivery else "."
                ),
                "shipped": f"Shipped; tracking number {order.tracking_number}."
                if order.tracking_number
                else "Shipped.",
                "delivered": "Delivered.",
            }[step]
            transition(session, procurement, step, message=message, at=at)
            moved.append(step)
    return moved


# -- payment ----------------------------------------------------------------------------------


def record_payment(
    session: Session,
    procurement: Procurement,
    *,
    succeeded: bool,
    provider: str,
    payment_intent_id: str | None = None,
    error: str | None = None,
    at: datetime | None = None,
) -> bool:
    """Set payment_status from a provider event; idempotent (a repeat changes nothing).

    On the first success: paid_at, a commission at the plan's rate, and a draft order is
    submitted (paying is the submit step for sample orders). Returns whether anything changed.
    """
    if procurement.payment_status == "paid":
        return False  # a late failure or a repeat cannot undo a payment
    if payment_intent_id:
        procurement.payment_intent_id = payment_intent_id
    procurement.payment_provider = provider
    if not succeeded:
        if procurement.payment_status == "failed" and procurement.payment_error == error:
            return False
        procurement.payment_status = "failed"
        procurement.payment_error = error or "The payment was declined."
        add_event(session, procurement, "payment", f"Payment failed: {procurement.payment_error}", tone="danger")
        audit.record(
            session,
            procurement.tenant_id,
            "procurement.payment_failed",
            actor_email="payment provider",
            target_type="procurement",
            target_id=procurement.id,
            details={"reference": procurement.reference, "error": procurement.payment_error},
        )
        _notify(session, procurement, "payment_failed", f"Payment failed: {procurement.payment_error}")
        return True
    procurement.payment_status = "paid"
    procurement.paid_at = at or utcnow()
    procurement.payment_error = None
    add_event(session, procurement, "payment", f"Paid {procurement.currency} {procurement.total:,.2f}.", tone="success")
    audit.record(
        session,
        procurement.tenant_id,
        "procurement.paid",
        actor_email="payment provider",
        target_type="procurement",
        target_id=procurement.id,
        details={
            "reference": procurement.reference,
            "total": str(procurement.total),
            "currency": procurement.currency,
            "provider": provider,
        },
    )
    _record_commission(session, procurement)
    _notify(session, procurement, "paid", f"Payment received: {procurement.currency} {procurement.total:,.2f}.")
    if procurement.status == "draft" and not ready_to_submit(procurement):
        transition(session, procurement, "submitted", message="Paid; sending to the supplier.")
        enqueue_send(session, procurement)
    return True


def _record_commission(session: Session, procurement: Procurement) -> ProcurementCommission | None:
    existing = session.scalar(
        select(ProcurementCommission).where(
            ProcurementCommission.procurement_id == procurement.id,
            ProcurementCommission.tenant_id == procurement.tenant_id,
        )
    )
    if existing is not None:
        return existing
    from aerospec.tenancy.models import Tenant

    tenant = session.get(Tenant, procurement.tenant_id)
    rate = commission_rate(tenant)
    commission = ProcurementCommission(
        tenant_id=procurement.tenant_id,
        procurement_id=procurement.id,
        plan=tenant.plan,
        rate=rate,
        base_amount=procurement.total,
        amount=money(procurement.total * rate),
        currency=procurement.currency,
    )
    session.add(commission)
    session.flush()
    return commission


audit.register_target_kind(
    "procurement",
    audit.TargetKind(
        "Order", endpoint="procurement.detail", id_arg="procurement_id", model=Procurement, name_column="reference"
    ),
)
