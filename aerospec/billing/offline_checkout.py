"""The offline provider's bookkeeping when its checkout page is paid or declined.

What Stripe does behind its hosted page, done here: mark the checkout row, start the subscription
(carrying over the trial), issue the first offline invoice, and return the Stripe-shaped events the
page then hands to the one intake (`billing.webhooks`). It sits above the provider interface
(`billing.providers`, which only shapes objects and events) and above invoices and subscriptions,
which it uses; none of them imports it.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app
from sqlalchemy.orm import object_session

from aerospec.billing import invoices
from aerospec.billing.models import OfflineCheckoutSession
from aerospec.billing.plans import price_lookup
from aerospec.billing.providers import (
    add_interval,
    offline_checkout_object,
    offline_event,
    offline_id,
    offline_payment_intent_object,
    offline_subscription_object,
)
from aerospec.billing.subscriptions import carried_trial_end
from aerospec.models import utcnow
from aerospec.tenancy.models import Tenant
from aerospec.tenancy.scoping import tenant_scope


def complete(row: OfflineCheckoutSession, *, succeed: bool) -> list[dict]:
    """The payer pressed Pay or Decline: update the row and return the events Stripe would send."""
    builder = OUTCOMES.get(row.mode)
    if builder is None:
        raise ValueError(f"the offline provider cannot complete a {row.mode} checkout yet")
    return builder(row, succeed)


def _complete_payment(row, succeed: bool) -> list[dict]:
    """Payment mode: paid → checkout.session.completed + payment_intent.succeeded; declined →
    payment_intent.payment_failed, and the session stays open for another try (as on Stripe)."""
    if not succeed:
        return [offline_event("payment_intent.payment_failed", offline_payment_intent_object(row, succeeded=False))]
    row.status = "complete"
    row.payment_status = "paid"
    row.completed_at = utcnow()
    return [
        offline_event("checkout.session.completed", offline_checkout_object(row)),
        offline_event("payment_intent.succeeded", offline_payment_intent_object(row, succeeded=True)),
    ]


def _complete_subscription(row, succeed: bool) -> list[dict]:
    """Subscription mode, paid: checkout.session.completed (its subscription expanded), then
    customer.subscription.created and, unless a trial carries over, invoice.paid with the first
    offline invoice (the workspace price, the extra seats and every pending commission). A declined
    card sends nothing, as on Stripe: the page says so and the checkout stays open."""
    if not succeed:
        return []
    session = object_session(row)
    tenant = session.get(Tenant, row.tenant_id)
    now = utcnow()
    meta = dict(row.metadata_ or {})
    interval = meta.get("interval", "month")
    items = []
    for line in row.line_items or []:
        found = price_lookup(line.get("price"), current_app.config)
        items.append({**line, "kind": found[2] if found else "plan"})
    customer = tenant.billing_customer_id or offline_id("cus")
    trial_end = carried_trial_end(tenant, now)
    sub = offline_subscription_object(
        subscription_id=offline_id("sub"),
        customer=customer,
        status="trialing" if trial_end else "active",
        items=items,
        currency=row.currency,
        interval=interval,
        period_start=now,
        period_end=trial_end or add_interval(now, interval),
        trial_end=trial_end,
        metadata=meta,
        created=now,
    )
    row.status = "complete"
    row.payment_status = "paid"
    row.completed_at = now
    checkout = offline_checkout_object(row) | {"customer": customer, "subscription": sub}
    events = [
        offline_event("checkout.session.completed", checkout),
        offline_event("customer.subscription.created", sub),
    ]
    if trial_end is None:
        end = add_interval(now, interval)
        lines = [
            invoices.subscription_line(item["name"], int(item["quantity"]), int(item["unit_amount"]), now, end)
            for item in items
        ]
        with tenant_scope(session, tenant.id):
            invoice = invoices.issue_offline_invoice(
                session,
                tenant,
                sub["id"],
                lines,
                now,
                end,
                now,
                currency=row.currency,
                billing_reason="subscription_create",
            )
            obj = invoices.invoice_object(invoice)
        obj |= {"customer": customer, "subscription": sub["id"], "billing_reason": "subscription_create"}
        events.append(offline_event("invoice.paid", obj))
    return events


# mode → builder of the events a completed offline checkout emits.
OUTCOMES: dict[str, Callable[..., list[dict]]] = {
    "payment": _complete_payment,
    "subscription": _complete_subscription,
}
