"""Paying for an order: open a checkout through the billing provider, and apply its events.

When payment is required (see services.py and README "Procurement"): a sample order must be
paid before it goes to the supplier, and paying a draft sample order is what submits it;
pilot and production orders may be paid by Checkout at any time before they are cancelled.

payment_status: unpaid → pending (a checkout is open) → paid | failed; a failed payment (or
an abandoned checkout) allows a new checkout. Only provider events move an order to paid or
failed, through services.record_payment (idempotent: a repeat or a late failure changes
nothing once paid; it records the commission and submits a paid draft).
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from aerospec.billing.providers import BillingProvider, CheckoutSession, LineItem, from_minor, to_minor
from aerospec.billing.webhooks import ProviderEvent, handles
from aerospec.compliance import services as audit
from aerospec.errors import Conflict
from aerospec.procurement import services
from aerospec.procurement.models import Procurement
from aerospec.tenancy.features import ensure_feature
from aerospec.tenancy.permissions import ensure_permitted

log = logging.getLogger(__name__)

KIND = "procurement"  # metadata.kind on our checkout sessions and payment intents
PAYMENT_LABELS = {
    "unpaid": "Not paid",
    "pending": "Waiting for payment",
    "paid": "Paid",
    "failed": "Payment failed",
}


def order_page_path(tenant_slug: str, procurement_id) -> str:
    """The order's page, where the payer comes back to (the pages' URL scheme)."""
    return f"/t/{tenant_slug}/procurements/{procurement_id}"


def settled(procurement: Procurement) -> bool:
    """Nothing is in flight (pending is the only unsettled payment state): the API's `settled`."""
    return procurement.payment_status != "pending"


def payable_problems(procurement: Procurement) -> list[str]:
    """What stops this order being paid now (empty when a checkout may open)."""
    if procurement.payment_status == "paid":
        return ["This order is already paid."]
    if procurement.status == "cancelled":
        return ["This order is cancelled; there is nothing to pay."]
    problems = []
    if not procurement.selected_supplier or procurement.quote is None:
        problems.append("Choose a supplier's quote first: the total comes from it.")
    elif procurement.total <= 0:
        problems.append("This order has no total to pay.")
    return problems


def start_checkout(
    session: Session,
    tenant,
    membership,
    actor,
    procurement: Procurement,
    *,
    provider: BillingProvider,
    success_url: str,
    cancel_url: str,
    client=None,
) -> CheckoutSession:
    """Open a payment-mode Checkout Session for the order's total; the payer goes to its url."""
    ensure_permitted(membership, "order_samples")
    ensure_feature(tenant, "ecommerce")
    problems = payable_problems(procurement)
    if problems:
        raise Conflict(" ".join(problems))
    currency = procurement.currency.lower()
    amount = to_minor(procurement.total, currency)
    supplier = services.SUPPLIER_LABELS.get(procurement.selected_supplier or "", "supplier")
    lines = len(procurement.items)
    description = (
        f"AeroSpec {procurement.order_type} order {procurement.reference}: "
        f"{lines} line{'s' if lines != 1 else ''} from {supplier}"
    )
    checkout = provider.create_checkout_session(
        mode="payment",
        amount_minor=amount,
        currency=currency,
        description=description,
        metadata={"kind": KIND, "tenant_id": str(tenant.id), "procurement_id": str(procurement.id)},
        customer_email=getattr(actor, "email", None),
        success_url=success_url,
        cancel_url=cancel_url,
        line_items=[LineItem(name=description, unit_amount=amount, quantity=1)],
        client_reference_id=str(procurement.id),
    )
    was = procurement.payment_status
    procurement.payment_status = "pending"
    procurement.payment_provider = provider.name
    procurement.checkout_session_id = checkout.id
    procurement.payment_error = None
    services.add_event(
        session,
        procurement,
        "payment",
        f"Checkout opened for {procurement.currency} {procurement.total:,.2f}"
        + (" (a new try after a failed payment)." if was == "failed" else "."),
        actor=actor,
    )
    audit.record(
        session,
        tenant.id,
        "procurement.checkout_started",
        actor=actor,
        client=client,
        target_type="procurement",
        target_id=procurement.id,
        details={
            "reference": procurement.reference,
            "total": str(procurement.total),
            "currency": procurement.currency,
            "provider": provider.name,
            "session_id": checkout.id,
        },
    )
    session.flush()
    return checkout


def payment_state(procurement: Procurement) -> dict:
    """The order's payment as GET /api/procurements/<id>/payment-status shows it."""
    return {
        "procurement_id": str(procurement.id),
        "reference": procurement.reference,
        "status": procurement.status,
        "payment_status": procurement.payment_status,
        "payment_label": PAYMENT_LABELS.get(procurement.payment_status, procurement.payment_status),
        "paid_at": procurement.paid_at.isoformat() if procurement.paid_at else None,
        "settled": settled(procurement),
        "payment_required_before_submit": services.payment_required_before_submit(procurement.order_type),
        "payment_provider": procurement.payment_provider,
        "checkout_session_id": procurement.checkout_session_id,
        "payment_error": procurement.payment_error,
        "total": str(procurement.total),
        "currency": procurement.currency,
    }


# -- provider events ----------------------------------------------------------------------


def _order_for(session: Session, event: ProviderEvent) -> Procurement | None:
    """The order an event's object is about (metadata.kind == procurement), locked for the update."""
    meta = event.metadata
    if meta.get("kind") != KIND or event.tenant_id is None:
        return None
    try:
        procurement_id = uuid.UUID(str(meta.get("procurement_id")))
    except ValueError:
        log.warning("billing event %s: bad procurement_id %r", event.id, meta.get("procurement_id"))
        return None
    order = session.scalar(
        select(Procurement)
        .where(Procurement.id == procurement_id, Procurement.tenant_id == event.tenant_id)
        .with_for_update()
    )
    if order is None:
        log.warning("billing event %s: order %s not found (deleted?)", event.id, procurement_id)
    return order


def _check_amount(session: Session, order: Procurement, amount, event: ProviderEvent) -> None:
    """Note (not refuse) a payment whose amount differs from the order's total: money was taken."""
    if not isinstance(amount, int):
        return
    expected = to_minor(order.total, order.currency)
    if amount != expected:
        log.warning("order %s paid %s minor units, total is %s", order.reference, amount, expected)
        services.add_event(
            session,
            order,
            "note",
            f"The payment ({order.currency} {from_minor(amount, order.currency):,.2f}) differs from the order total "
            f"({order.currency} {order.total:,.2f}); check it with the payment provider.",
            tone="warning",
        )


@handles("checkout.session.completed", "checkout.session.async_payment_succeeded")
def checkout_completed(session: Session, event: ProviderEvent) -> str | None:
    """A payment-mode checkout finished: paid when the session says so (async methods settle later)."""
    obj = event.object
    if obj.get("mode") != "payment":
        return None
    order = _order_for(session, event)
    if order is None:
        return None
    if obj.get("payment_status") not in ("paid", "no_payment_required"):
        return f"order {order.reference}: checkout complete, payment still processing"
    changed = services.record_payment(
        session,
        order,
        succeeded=True,
        provider=event.provider,
        payment_intent_id=obj.get("payment_intent") if isinstance(obj.get("payment_intent"), str) else None,
        at=event.created,
    )
    if changed:
        _check_amount(session, order, obj.get("amount_total"), event)
    return f"order {order.reference}: {'paid' if changed else 'already paid'}"


@handles("checkout.session.async_payment_failed")
def checkout_payment_failed(session: Session, event: ProviderEvent) -> str | None:
    """A delayed payment method (bank debit) failed after the checkout completed."""
    obj = event.object
    if obj.get("mode") != "payment":
        return None
    order = _order_for(session, event)
    if order is None:
        return None
    changed = services.record_payment(
        session, order, succeeded=False, provider=event.provider, error="The bank payment failed."
    )
    return f"order {order.reference}: {'payment failed' if changed else 'unchanged'}"


@handles("checkout.session.expired")
def checkout_expired(session: Session, event: ProviderEvent) -> str | None:
    """The payer never finished this checkout: the order is payable again (if it was waiting on it)."""
    obj = event.object
    if obj.get("mode") != "payment":
        return None
    order = _order_for(session, event)
    if order is None:
        return None
    if order.payment_status != "pending" or order.checkout_session_id != obj.get("id"):
        return f"order {order.reference}: expired checkout was not the current one"
    order.payment_status = "unpaid"
    services.add_event(
        session, order, "payment", "The checkout expired without a payment; the order can be paid again."
    )
    return f"order {order.reference}: checkout expired"


@handles("payment_intent.succeeded")
def payment_intent_succeeded(session: Session, event: ProviderEvent) -> str | None:
    """The charge went through: paid (whichever of this and checkout.session.completed comes first)."""
    obj = event.object
    order = _order_for(session, event)
    if order is None:
        return None
    if obj.get("status") != "succeeded":  # re-read the object, not the event name
        return f"order {order.reference}: payment intent is {obj.get('status')}"
    changed = services.record_payment(
        session, order, succeeded=True, provider=event.provider, payment_intent_id=obj.get("id"), at=event.created
    )
    if changed:
        _check_amount(session, order, obj.get("amount_received"), event)
    return f"order {order.reference}: {'paid' if changed else 'already paid'}"


@handles("payment_intent.payment_failed")
def payment_intent_failed(session: Session, event: ProviderEvent) -> str | None:
    """A declined card: failed with the provider's reason, and a new checkout may follow."""
    obj = event.object
    order = _order_for(session, event)
    if order is None:
        return None
    if obj.get("status") == "succeeded":
        return f"order {order.reference}: payment intent has since succeeded"
    error = (obj.get("last_payment_error") or {}).get("message") or "The payment was declined."
    changed = services.record_payment(
        session, order, succeeded=False, provider=event.provider, payment_intent_id=obj.get("id"), error=error
    )
    return f"order {order.reference}: {'payment failed' if changed else 'unchanged'}"
