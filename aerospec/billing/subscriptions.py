"""Subscriptions: the mirror of the provider's subscription, and the events that move it.

Mirror. `upsert_subscription` copies a Stripe-shaped subscription object into
`billing_subscriptions` (keyed by the provider's subscription id) and sets the tenant's plan
from it. State is always re-read from the object, never from the event's name, and an object
older than the one last applied (the event's `created`, kept in provider_updated_at) changes
nothing, so out-of-order deliveries cannot move the mirror back. A canceled subscription is final.
The dunning bookkeeping on the row (past_due_since, failed_payment_count) belongs to
billing.lifecycle and is never overwritten from the object.

Events (registered with `webhooks.handles`; the tenant is found by the object's customer id,
else by its metadata.tenant_id):

    customer.subscription.created/updated/deleted  upsert, then lifecycle.apply_subscription
    checkout.session.completed (subscription mode) store the customer on the tenant; apply the
                                                    subscription (Stripe: retrieved from Stripe;
                                                    offline: the object the session carries)
    invoice.paid / payment_succeeded / payment_failed  invoices.upsert_invoice (unless the mirrored
                                                    invoice is already further along), then
                                                    lifecycle.apply_invoice from the subscription
                                                    re-read from Stripe (offline: from the invoice)
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from aerospec.billing import invoices, lifecycle, webhooks
from aerospec.billing.models import BillingSubscription
from aerospec.billing.plans import (
    BILLING_INTERVALS,
    PLANS,
    PriceQuote,
    get_plan,
    item_price_id,
    plan_for_price,
    price_id,
    price_lookup,
    price_quote,
    price_setting,
)
from aerospec.billing.providers import (
    BillingProvider,
    CheckoutSession,
    LineItem,
    PaymentProviderError,
    from_unix,
)
from aerospec.billing.webhooks import ProviderEvent, handles
from aerospec.compliance import services as audit
from aerospec.errors import Conflict, ValidationFailed
from aerospec.models import isoformat, utcnow
from aerospec.tenancy import services as tenancy
from aerospec.tenancy.models import Tenant
from aerospec.tenancy.scoping import tenant_scope, unscoped
from aerospec.web.dates import absolute_date

log = logging.getLogger(__name__)

# How billing entries read in the audit log: the plan's name, not its key ("Professional", not "professional").
audit.register_detail_formats(
    "billing.",
    {
        "plan": lambda key, _details: PLANS[key].name if key in PLANS else str(key),
        "interval": audit.labelled({"month": "Monthly", "year": "Annual"}),
        "provider": audit.labelled({"offline": "Offline (test mode)", "stripe": "Stripe"}),
        "from": audit.labelled(lifecycle.STATE_LABELS),
        "to": audit.labelled(lifecycle.STATE_LABELS),
        "event": audit.hidden,  # the provider event's internal name; the action already says what happened
        "period_end": lambda value, _details: absolute_date(datetime.fromisoformat(str(value))),
    },
)

KIND = "subscription"  # metadata.kind on our subscription checkouts and subscriptions
FINAL = ("canceled", "incomplete_expired")  # Stripe never revives these
PLAN_SETTING = ("trialing", "active", "past_due", "unpaid")  # states in which the subscription's plan is the tenant's


# -- small readers of Stripe-shaped objects -------------------------------------------------------


def _plain(obj: Any) -> dict:
    """An SDK StripeObject as a plain dict (SDK objects are not dicts); dicts pass through."""
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _id(value: Any) -> str | None:
    """A reference that may be an id or an expanded object."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return str(value) if value else None


def _items(obj: Mapping) -> list[dict]:
    return [dict(item) for item in (((obj.get("items") or {}).get("data")) or [])]


def _item_price(item: Mapping) -> dict:
    price = item.get("price") or item.get("plan") or {}
    return price if isinstance(price, Mapping) else {"id": price}


def split_items(obj: Mapping, config: Mapping) -> tuple[dict, dict | None]:
    """(the workspace price's item, the seat add-on's item or None) of a subscription object.

    An item is the add-on when its price is a configured (or offline) seat price; the first other
    item is the workspace price (an unconfigured price, as on a subscription from before the seat
    add-on existed, counts as the workspace price)."""
    base: dict | None = None
    seat: dict | None = None
    for item in _items(obj):
        found = price_lookup(_id(_item_price(item)), config)
        if found is not None and found[2] == "seat":
            seat = seat or item
        elif base is None:
            base = item
    return base or {}, seat


def subscription_fields(obj: Mapping, config: Mapping, fallback_plan: str) -> dict:
    """The mirror's columns read from a subscription object (older and newer API versions)."""
    item, seat_item = split_items(obj, config)
    price = _item_price(item)
    price_ref = _id(price)
    metadata = obj.get("metadata") or {}
    known = plan_for_price(price_ref, config)
    if known is None:
        # An unconfigured price (or the offline provider without price ids): our own metadata says.
        interval = (price.get("recurring") or {}).get("interval") or metadata.get("interval")
        plan = metadata.get("plan") if metadata.get("plan") in PLANS else fallback_plan
        known = (plan, interval if interval in ("month", "year") else "month")
    plan, interval = known
    return {
        "provider_customer_id": _id(obj.get("customer")) or "",
        "plan": plan,
        "interval": interval,
        "price_id": price_ref,
        "status": str(obj.get("status") or "incomplete"),
        "extra_seats": int(seat_item.get("quantity") or 0) if seat_item else 0,
        # Newer API versions (2025-03-31 on) keep the period on the item, older ones on the subscription.
        "current_period_start": from_unix(item.get("current_period_start") or obj.get("current_period_start")),
        "current_period_end": from_unix(item.get("current_period_end") or obj.get("current_period_end")),
        "trial_end": from_unix(obj.get("trial_end")),
        "cancel_at_period_end": bool(obj.get("cancel_at_period_end")),
        "canceled_at": from_unix(obj.get("canceled_at")),
        "ended_at": from_unix(obj.get("ended_at")),
    }


# -- the mirror -----------------------------------------------------------------------------------


def find_subscription(session: Session, tenant: Tenant, provider_subscription_id: str) -> BillingSubscription | None:
    """The tenant's mirror row of a provider subscription, or None."""
    return session.scalar(
        select(BillingSubscription).where(
            BillingSubscription.tenant_id == tenant.id,
            BillingSubscription.provider_subscription_id == provider_subscription_id,
        )
    )


def upsert_subscription(
    session: Session,
    tenant: Tenant,
    obj: Mapping,
    *,
    provider: str,
    as_of: datetime,
    event_type: str = "",
) -> tuple[BillingSubscription | None, bool]:
    """Mirror a subscription object as of `as_of`; returns (row, applied). A stale object changes nothing."""
    obj = _plain(obj)
    sub_id = _id(obj.get("id"))
    if not sub_id:
        raise ValueError("a subscription object needs an id")
    row = find_subscription(session, tenant, sub_id)
    fields = subscription_fields(obj, current_app.config, row.plan if row is not None else tenant.plan)
    if row is not None:
        stamp = row.provider_updated_at
        if stamp is not None and as_of < stamp:
            log.info("subscription %s: object of %s is older than %s, ignored", sub_id, as_of, stamp)
            return row, False
        if stamp is not None and as_of == stamp and event_type == "customer.subscription.created":
            # Same second as an update we already applied: `created` describes the earlier state.
            return row, False
        if row.status in FINAL and fields["status"] not in FINAL:
            log.info("subscription %s is %s: a %s object cannot revive it", sub_id, row.status, fields["status"])
            return row, False
    else:
        row = BillingSubscription(tenant_id=tenant.id, provider=provider, provider_subscription_id=sub_id)
        session.add(row)
    for name, value in fields.items():
        if name == "provider_customer_id" and not value:
            continue
        setattr(row, name, value)
    if not row.provider_customer_id:
        row.provider_customer_id = tenant.billing_customer_id or ""
    row.provider_updated_at = as_of
    if fields["status"] in PLAN_SETTING and tenant.plan != fields["plan"]:
        log.info("tenant %s: plan %s → %s from subscription %s", tenant.id, tenant.plan, fields["plan"], sub_id)
        tenant.plan = fields["plan"]
    if fields["status"] in PLAN_SETTING:
        tenant.extra_seats = fields["extra_seats"]  # the seat limit: included + these
    elif fields["status"] in FINAL:
        tenant.extra_seats = 0
    if fields["provider_customer_id"] and not tenant.billing_customer_id:
        tenant.billing_customer_id = fields["provider_customer_id"]
    session.flush()
    _emit_updated(session, tenant, row)
    return row, True


def _emit_updated(session: Session, tenant: Tenant, row: BillingSubscription) -> None:
    """The `subscription.updated` webhook, sent after the commit."""
    from aerospec.webhooks import services as webhooks

    webhooks.emit(
        session,
        tenant,
        "subscription.updated",
        {
            "id": row.provider_subscription_id,
            "plan": row.plan,
            "interval": row.interval,
            "status": row.status,
            "cancel_at_period_end": bool(row.cancel_at_period_end),
            "current_period_end": row.current_period_end,
        },
    )


def apply_subscription_object(
    session: Session, tenant: Tenant, obj: Mapping, *, provider: str, as_of: datetime, event_type: str = ""
) -> str:
    """Mirror the object, then move the workspace's state from it (what every subscription event does)."""
    obj = _plain(obj)
    row, applied = upsert_subscription(session, tenant, obj, provider=provider, as_of=as_of, event_type=event_type)
    if not applied:
        return f"subscription {obj.get('id')}: stale object ignored ({tenant.subscription_status})"
    status = lifecycle.apply_subscription(session, tenant, obj, as_of, row=row)
    return f"subscription {obj.get('id')}: {row.status}, plan {row.plan}/{row.interval}, workspace {status}"


# -- finding the tenant ---------------------------------------------------------------------------


def tenant_for_customer(session: Session, obj: dict) -> uuid.UUID | None:
    """The tenant whose provider customer the object belongs to (subscriptions, invoices, sessions)."""
    customer = obj.get("id") if obj.get("object") == "customer" else _id(obj.get("customer"))
    if not customer:
        return None
    # SECURITY: before any tenant is known; the customer id was stored by us and the event is verified.
    with unscoped(session, "billing event: find the tenant of a provider customer"):
        return session.scalar(select(Tenant.id).where(Tenant.billing_customer_id == customer))


if tenant_for_customer not in webhooks.TENANT_RESOLVERS:
    # The customer is the stronger tie (Stripe sets it; metadata is copied by us), so it goes first.
    webhooks.TENANT_RESOLVERS.insert(0, tenant_for_customer)


def _tenant(session: Session, event: ProviderEvent) -> Tenant | None:
    if event.tenant_id is None:
        log.warning(
            "billing event %s (%s): no tenant for customer %r", event.id, event.type, event.object.get("customer")
        )
        return None
    tenant = session.get(Tenant, event.tenant_id)
    if tenant is None or tenant.deleted_at is not None:
        return None
    return tenant


def _as_of(event: ProviderEvent) -> datetime:
    return event.created or utcnow()


# -- handlers -------------------------------------------------------------------------------------


@handles("customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted")
def subscription_changed(session: Session, event: ProviderEvent) -> str | None:
    """The provider's subscription changed: mirror it and move the workspace's state from it."""
    tenant = _tenant(session, event)
    if tenant is None:
        return None
    return apply_subscription_object(
        session, tenant, event.object, provider=event.provider, as_of=_as_of(event), event_type=event.type
    )


def retrieve_subscription(provider_name: str, subscription_id: str) -> dict | None:
    """The subscription as Stripe has it now (None when this app cannot ask Stripe)."""
    from aerospec.billing.providers import get_provider

    if provider_name != "stripe":
        return None
    provider = get_provider(current_app)
    if getattr(provider, "name", None) != "stripe":
        log.warning("a Stripe subscription %s arrived but STRIPE_SECRET_KEY is not set here", subscription_id)
        return None
    return provider.retrieve_subscription(subscription_id)


@handles("checkout.session.completed")
def subscription_checkout_completed(session: Session, event: ProviderEvent) -> str | None:
    """A subscription checkout finished: keep the tenant's customer and apply its subscription."""
    obj = event.object
    if obj.get("mode") != "subscription":
        return None
    tenant = _tenant(session, event)
    if tenant is None:
        return None
    customer = _id(obj.get("customer"))
    if customer and not tenant.billing_customer_id:
        tenant.billing_customer_id = customer
    elif customer and tenant.billing_customer_id != customer:
        log.warning("tenant %s has customer %s; checkout used %s", tenant.id, tenant.billing_customer_id, customer)
    subscription = obj.get("subscription")
    if isinstance(subscription, Mapping):  # expanded (the offline provider always sends it so)
        return apply_subscription_object(
            session, tenant, subscription, provider=event.provider, as_of=_as_of(event), event_type=event.type
        )
    if not subscription:
        return f"subscription checkout {obj.get('id')}: no subscription on it yet"
    # Re-read from Stripe: the object we get is the state now, newer than any event so far.
    fresh = retrieve_subscription(event.provider, str(subscription))
    if fresh is None:
        return f"subscription checkout {obj.get('id')}: waiting for customer.subscription.* for {subscription}"
    return apply_subscription_object(session, tenant, fresh, provider=event.provider, as_of=utcnow())


@handles("invoice.paid", "invoice.payment_succeeded", "invoice.payment_failed")
def invoice_changed(session: Session, event: ProviderEvent) -> str | None:
    """A subscription invoice was paid or failed: mirror it and move the workspace (dunning) from it."""
    tenant = _tenant(session, event)
    if tenant is None:
        return None
    obj = _plain(event.object)
    invoice = invoices.upsert_invoice(session, tenant, obj, provider=event.provider)
    if invoice.status != obj.get("status"):
        # The mirror is already further along (paid before this failed attempt arrived): stale.
        return f"invoice {invoice.provider_invoice_id}: stale {obj.get('status')} object, stays {invoice.status}"
    subscription_id = lifecycle.invoice_subscription_id(obj)
    current = retrieve_subscription(event.provider, subscription_id) if subscription_id else None
    if current is None:  # the offline provider: its events are emitted in order, with the state they carry
        status = lifecycle.apply_invoice(session, tenant, obj, _as_of(event))
        return f"invoice {invoice.provider_invoice_id}: {invoice.status}, workspace {status}"
    # Re-read from Stripe: the subscription's state now decides, not the order invoice events arrive in
    # (an older invoice's failure delivered after a newer one was paid must not make the workspace past due).
    current = _plain(current)
    row, _ = upsert_subscription(session, tenant, current, provider=event.provider, as_of=utcnow())
    status = lifecycle.apply_invoice(session, tenant, obj, _as_of(event), subscription=current, row=row)
    return (
        f"invoice {invoice.provider_invoice_id}: {invoice.status}, subscription {current.get('status')} "
        f"at the provider, workspace {status}"
    )


# -- subscribing ----------------------------------------------------------------------------------

STRIPE_MIN_TRIAL = timedelta(hours=48)  # Stripe refuses a subscription_data.trial_end sooner than this
MAX_EXTRA_SEATS = 500


class TalkToUs(ValidationFailed):
    """A plan that is arranged with sales, not bought at a checkout."""

    title = "Talk to us"


class DoesNotFit(Conflict):
    """A change the workspace does not fit into: more members (and invitations) than the seats it would have."""

    title = "The workspace does not fit this plan"


ENTERPRISE_MESSAGE = (
    "Enterprise is priced with you, not bought online: write to sales@aerospec.example and we set it up "
    "with you (unlimited seats and usage, the lowest commission on sample orders)."
)


def carried_trial_end(tenant: Tenant, now: datetime) -> datetime | None:
    """The trial's end to carry into a new subscription: only while trialing with more than 48 h left."""
    if tenant.subscription_status != "trialing" or tenant.trial_ends_at is None:
        return None
    return tenant.trial_ends_at if tenant.trial_ends_at - now > STRIPE_MIN_TRIAL else None


def check_choice(plan_key: str, interval: str) -> None:
    """A plan and interval someone may check out (ValidationFailed naming the field otherwise)."""
    if plan_key not in PLANS:
        raise ValidationFailed(
            "Choose a plan.", field_errors={"plan": [f"Choose one of: {', '.join(p for p in PLANS)}."]}
        )
    if interval not in BILLING_INTERVALS:
        raise ValidationFailed("Choose monthly or annual billing.", field_errors={"interval": ["month or year."]})
    if get_plan(plan_key).monthly_price is None:
        raise TalkToUs(ENTERPRISE_MESSAGE, field_errors={"plan": [ENTERPRISE_MESSAGE]})


def seat_limit_on(tenant: Tenant, plan_key: str) -> int | None:
    """The seats `plan_key` includes for the workspace, before extra seats (a platform admin's override wins)."""
    overrides = tenant.limits or {}
    return overrides["seats"] if "seats" in overrides else get_plan(plan_key).included_seats


def seats_needed(session: Session, tenant: Tenant, plan_key: str) -> int:
    """The extra seats `plan_key` needs for the members and pending invitations the workspace has now."""
    included = seat_limit_on(tenant, plan_key)
    if included is None or not get_plan(plan_key).sells_extra_seats:
        return 0
    return max(0, tenancy.seat_usage(session, tenant).used - included)


def _seat_words(count: int) -> str:
    return f"{count} seat{'s' if count != 1 else ''}"


def check_extra_seats(session: Session, tenant: Tenant, plan_key: str, extra_seats: Any) -> int:
    """The extra seats someone typed, as a whole number the plan sells and the workspace fits into."""
    field = "extra_seats"
    text = str(extra_seats).strip() if extra_seats is not None else ""
    if isinstance(extra_seats, bool) or not text.isdigit():
        raise ValidationFailed(
            "Extra seats must be a whole number.",
            field_errors={field: ["Enter a whole number of extra seats, 0 or more."]},
        )
    count = int(text)
    if count > MAX_EXTRA_SEATS:
        raise ValidationFailed(
            "Too many extra seats.",
            field_errors={field: [f"At most {MAX_EXTRA_SEATS} extra seats online; write to sales for more."]},
        )
    plan = get_plan(plan_key)
    if count and not plan.sells_extra_seats:
        message = (
            f"{plan.name} sells no extra seats: it includes {_seat_words(plan.included_seats or 0)}. Upgrade for more."
        )
        raise ValidationFailed(message, field_errors={field: [message]})
    needed = seats_needed(session, tenant, plan_key)
    if count < needed:
        usage = tenancy.seat_usage(session, tenant)
        included = seat_limit_on(tenant, plan_key) or 0
        pending = f" and {usage.pending} pending invitation{'s' if usage.pending != 1 else ''}" if usage.pending else ""
        raise DoesNotFit(
            f"{plan.name} includes {_seat_words(included)}, and this workspace has {usage.members} "
            f"member{'s' if usage.members != 1 else ''}{pending}: keep at least {needed} extra "
            f"seat{'s' if needed != 1 else ''}, or remove members or revoke invitations on the Members page first.",
            field_errors={field: [f"At least {needed} for the team you have now."]},
        )
    return count


def downgrade_blocker(session: Session, tenant: Tenant, plan_key: str) -> str | None:
    """Why the workspace cannot move to `plan_key` now (its members exceed what the plan allows), or None.

    Staying on the plan it has (an interval switch) is never blocked, and a plan that sells extra
    seats is never too small (the seats it needs are added to it).
    """
    if plan_key == tenant.plan or get_plan(plan_key).sells_extra_seats:
        return None
    limit = seat_limit_on(tenant, plan_key)
    if limit is None:
        return None
    members = tenancy.seat_usage(session, tenant).members
    if members <= limit:
        return None
    name, extra = get_plan(plan_key).name, members - limit
    return (
        f"{name} includes {_seat_words(limit)}, and this workspace has {members} "
        f"member{'s' if members != 1 else ''}. "
        f"Remove {extra} member{'s' if extra != 1 else ''} on the Members page before switching to {name}, "
        "or keep a plan with more seats."
    )


def ensure_fits(session: Session, tenant: Tenant, plan_key: str) -> None:
    """Raise DoesNotFit (409) when the workspace has more members than `plan_key` allows."""
    blocker = downgrade_blocker(session, tenant, plan_key)
    if blocker is not None:
        raise DoesNotFit(blocker)


def ensure_customer(session: Session, tenant: Tenant, provider: BillingProvider) -> str:
    """The tenant's one provider customer, created the first time (one per tenant, never per user)."""
    existing = tenant.billing_customer_id
    offline_id = bool(existing) and existing.startswith("cus_offline_")
    if existing and (provider.name == "offline") == offline_id:
        return existing
    customer = provider.create_customer(
        name=tenant.name,
        email=tenant.billing_email,
        metadata={"tenant_id": str(tenant.id), "tenant_slug": tenant.slug},
        # SECURITY-neutral: a retried request (or two admins at once) must not create a second customer.
        idempotency_key=f"aerospec-customer-{tenant.id}",
    )
    tenant.billing_customer_id = customer
    session.flush()
    return customer


def live_subscription(session: Session, tenant: Tenant) -> BillingSubscription | None:
    """The tenant's subscription that is still running (not canceled or ended), or None."""
    row = lifecycle.current_subscription(session, tenant)
    if row is None or row.status in FINAL or row.ended_at is not None:
        return None
    return row


def _price_or_fail(plan: str, interval: str, kind: str = "plan") -> str:
    price = price_id(plan, interval, current_app.config, kind)
    if price is None:
        log.error("no Stripe price configured for %s/%s (%s)", plan, interval, price_setting(plan, interval, kind))
        raise PaymentProviderError(
            "This plan cannot be bought online just now. Nothing was charged or changed; write to us."
        )
    return price


def subscription_items(quote: PriceQuote) -> list[dict]:
    """The subscription's items for a price (workspace price ×1, extra seats × n): price id, unit, quantity."""
    return [
        {
            "kind": line.kind,
            "price": item_price_id(quote.plan.key, quote.interval, current_app.config, line.kind),
            "unit_amount": line.unit_minor,
            "quantity": line.quantity,
            "description": line.description,
        }
        for line in quote.lines
    ]


def _metadata(tenant: Tenant, quote: PriceQuote) -> dict[str, str]:
    return {
        "kind": KIND,
        "tenant_id": str(tenant.id),
        "plan": quote.plan.key,
        "interval": quote.interval,
        "extra_seats": str(quote.extra_seats),
    }


def subscribe(
    session: Session,
    tenant: Tenant,
    actor,
    plan: str,
    interval: str,
    provider: BillingProvider,
    success_url: str,
    cancel_url: str,
    *,
    extra_seats: Any = None,
    now: datetime | None = None,
    client=None,
) -> CheckoutSession:
    """Open a subscription-mode Checkout Session: the workspace price (quantity 1) and, where the plan sells
    them, the extra seats the team needs (or the number given); the payer goes to its url.

    One customer per tenant; a trial with more than 48 h left carries over as the subscription's trial.
    """
    now = now or utcnow()
    check_choice(plan, interval)
    if live_subscription(session, tenant) is not None:
        raise Conflict("This workspace already has a subscription: change its plan instead of subscribing again.")
    ensure_fits(session, tenant, plan)  # a team bigger than a plan without extra seats cannot buy it
    extra = (
        seats_needed(session, tenant, plan)
        if extra_seats is None
        else check_extra_seats(session, tenant, plan, extra_seats)
    )
    quote = price_quote(plan, interval, extra)
    items = []
    for item in subscription_items(quote):
        configured = price_id(plan, interval, current_app.config, item["kind"])
        if configured is None and provider.name == "stripe":
            _price_or_fail(plan, interval, item["kind"])
        items.append(LineItem(item["description"], item["unit_amount"], item["quantity"], configured or item["price"]))
    customer = ensure_customer(session, tenant, provider)
    trial_end = carried_trial_end(tenant, now)
    audit.record(
        session,
        tenant.id,
        "billing.checkout_started",
        actor=actor,
        client=client,
        target_type="tenant",
        target_id=tenant.id,
        details={"plan": plan, "interval": interval, "extra_seats": extra, "provider": provider.name},
    )
    return provider.create_checkout_session(
        mode="subscription",
        amount_minor=0 if trial_end else quote.total_minor,
        currency="usd",
        description=quote.lines[0].description,
        metadata=_metadata(tenant, quote),
        customer_email=None,
        success_url=success_url,
        cancel_url=cancel_url,
        line_items=items,
        client_reference_id=str(tenant.id),
        customer=customer,
        subscription_data={"trial_end": int(trial_end.timestamp())} if trial_end else None,
    )


def current_quote(row: BillingSubscription) -> PriceQuote:
    """What the running subscription costs per interval now."""
    return price_quote(row.plan, row.interval, row.extra_seats if get_plan(row.plan).sells_extra_seats else 0)


def in_trial(row: BillingSubscription | None, now: datetime) -> bool:
    """Whether the subscription is still in its trial (nothing charged yet, the first charge at trial_end)."""
    return row is not None and row.status == "trialing" and row.trial_end is not None and row.trial_end > now


def subscription_state(session: Session, tenant: Tenant, now: datetime | None = None) -> dict:
    """The workspace's plan and subscription as the API and the billing page read them."""
    now = now or utcnow()
    row = lifecycle.current_subscription(session, tenant)
    cycle = lifecycle.dunning(session, tenant, row) if tenant.subscription_status in lifecycle.DUNNING_STATES else None
    since = cycle.since if cycle else None
    trial = lifecycle.trial_of(tenant, row, now)
    quote = current_quote(row) if row is not None and get_plan(row.plan).monthly_price is not None else None
    return {
        "plan": tenant.plan,
        "status": lifecycle.effective_status(tenant, now, since),
        "access": lifecycle.access(tenant, now, since),
        "trial_ends_at": isoformat(tenant.trial_ends_at),
        "trial": None if trial is None else {"ends_at": isoformat(trial.ends_at), "days_left": trial.days_left},
        "customer": tenant.billing_customer_id,
        "subscription": None
        if row is None
        else {
            "id": row.provider_subscription_id,
            "provider": row.provider,
            "plan": row.plan,
            "interval": row.interval,
            "status": row.status,
            "included_seats": seat_limit_on(tenant, row.plan),
            "extra_seats": row.extra_seats,
            "price": None
            if quote is None
            else {
                "currency": quote.currency,
                "total": quote.total_minor,
                "interval": quote.interval,
                "lines": [
                    {
                        "kind": line.kind,
                        "description": line.description,
                        "quantity": line.quantity,
                        "unit_amount": line.unit_minor,
                        "amount": line.amount_minor,
                    }
                    for line in quote.lines
                ],
            },
            "current_period_start": isoformat(row.current_period_start),
            "current_period_end": isoformat(row.current_period_end),
            "trial_end": isoformat(row.trial_end),
            "cancel_at_period_end": row.cancel_at_period_end,
            "canceled_at": isoformat(row.canceled_at),
            "ended_at": isoformat(row.ended_at),
            "past_due_since": isoformat(row.past_due_since),
            "failed_payment_count": row.failed_payment_count,
        },
    }


# -- changing a running subscription --------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """What a change bills now and what the subscription costs afterwards (amounts in minor units).

    source "trial": nothing now, `recurring` from `starts_at` (the trial's end); "stripe": Stripe's
    preview invoice; "offline": the same arithmetic (billing.proration) computed here. A negative
    `total` is credited (`credit_added`), never paid out; `credit_used` is earlier credit taken first.
    """

    amount_due: int
    total: int
    credit_used: int
    credit_added: int
    currency: str
    lines: list[dict]
    proration_date: int  # the instant it was computed for, so the change bills exactly this
    source: str
    recurring: PriceQuote
    starts_at: datetime | None  # the trial's end (source "trial")
    renews_at: datetime | None  # the end of the period the subscription has after the change


@dataclass(frozen=True)
class ChangeOutcome:
    """What a change did: the subscription row, and the invoice it issued (None in a trial or before Stripe's)."""

    subscription: BillingSubscription
    invoice: Any
    trial: bool


def require_live(session: Session, tenant: Tenant) -> BillingSubscription:
    """The running subscription, or Conflict saying to subscribe first."""
    row = live_subscription(session, tenant)
    if row is None:
        raise Conflict("This workspace has no running subscription: choose a plan to subscribe first.")
    return row


def resolve_change(
    session: Session, tenant: Tenant, plan: str, interval: str, extra_seats: Any = None
) -> tuple[BillingSubscription, PriceQuote]:
    """The running subscription and the price it would have after the change (validated; nothing changes)."""
    check_choice(plan, interval)
    row = require_live(session, tenant)
    ensure_fits(session, tenant, plan)
    if extra_seats is None:
        keep = row.extra_seats if get_plan(plan).sells_extra_seats else 0
        extra = max(keep, seats_needed(session, tenant, plan))
    else:
        extra = check_extra_seats(session, tenant, plan, extra_seats)
    if (row.plan, row.interval, row.extra_seats) == (plan, interval, extra):
        raise Conflict(
            f"Nothing to change: the workspace is already on {get_plan(plan).name}, billed {_every(interval)}"
            f"{f', with {extra} extra seat' + ('s' if extra != 1 else '') if extra else ''}."
        )
    return row, price_quote(plan, interval, extra)


def _every(interval: str) -> str:
    return "annually" if interval == "year" else "monthly"


def _stripe_items(provider: BillingProvider, row: BillingSubscription, quote: PriceQuote) -> list[dict]:
    """The items parameter that moves the Stripe subscription to `quote` (the item ids re-read from Stripe)."""
    current = provider.retrieve_subscription(row.provider_subscription_id)
    base, seat = split_items(current, current_app.config)
    plan, interval = quote.plan.key, quote.interval
    items: list[dict] = [{"id": base.get("id"), "price": _price_or_fail(plan, interval), "quantity": 1}]
    if quote.extra_seats:
        seat_price = _price_or_fail(plan, interval, "seat")
        item = {"price": seat_price, "quantity": quote.extra_seats}
        items.append({"id": seat["id"], **item} if seat else item)
    elif seat:
        items.append({"id": seat["id"], "deleted": True})
    return items


def _renews_at(row: BillingSubscription, quote: PriceQuote, at: datetime) -> datetime | None:
    from aerospec.billing.providers import add_interval

    return add_interval(at, quote.interval) if quote.interval != row.interval else row.current_period_end


def _offline_proration(row: BillingSubscription, quote: PriceQuote, at: datetime):
    from aerospec.billing import proration
    from aerospec.billing.providers import add_interval

    start, end = row.current_period_start or at, row.current_period_end or at
    if end <= start:
        end = add_interval(start, row.interval)
    return proration.proration(current_quote(row), quote, start, end, at, add_interval(at, quote.interval))


def preview_change(
    session: Session,
    tenant: Tenant,
    plan: str,
    interval: str,
    provider: BillingProvider,
    now: datetime | None = None,
    *,
    extra_seats: Any = None,
) -> Estimate:
    """What a change of plan, interval or extra seats would bill now: nothing in a trial; else Stripe's
    preview invoice, or offline the same arithmetic."""
    from aerospec.billing import proration

    now = now or utcnow()
    row, quote = resolve_change(session, tenant, plan, interval, extra_seats)
    stamp = int(now.timestamp())
    if in_trial(row, now):
        return Estimate(0, 0, 0, 0, "usd", [], stamp, "trial", quote, row.trial_end, row.trial_end)
    renews = _renews_at(row, quote, now)
    if provider.name == "stripe":
        preview = provider.preview_invoice(
            {
                "customer": row.provider_customer_id,
                "subscription": row.provider_subscription_id,
                "subscription_details": {
                    "items": _stripe_items(provider, row, quote),
                    "proration_behavior": "always_invoice",
                    "proration_date": stamp,
                },
            }
        )
        lines = [
            {
                "description": line.get("description") or "",
                "quantity": int(line.get("quantity") or 1),
                "amount": int(line.get("amount") or 0),
            }
            for line in ((preview.get("lines") or {}).get("data") or [])
        ]
        total, due = int(preview.get("total") or 0), int(preview.get("amount_due") or 0)
        return Estimate(
            due,
            total,
            max(0, total - due) if total > 0 else 0,
            max(0, -total),
            str(preview.get("currency") or "usd"),
            lines,
            stamp,
            "stripe",
            quote,
            None,
            renews,
        )
    billed = _offline_proration(row, quote, now)
    due, used, _ = proration.settle(billed.total, row.credit_balance)
    lines = [
        {"description": line.description, "quantity": line.quantity, "amount": line.amount} for line in billed.lines
    ]
    return Estimate(due, billed.total, used, max(0, -billed.total), "usd", lines, stamp, "offline", quote, None, renews)


def offline_object(
    tenant: Tenant, row: BillingSubscription, now: datetime, *, quote: PriceQuote | None = None, **changes
) -> dict:
    """The row (with `changes`: status, period_start/end, cancel_at_period_end, ...) as the offline
    provider's Stripe-shaped subscription object, priced by `quote` (default: what it costs now)."""
    from aerospec.billing.providers import offline_subscription_object

    quote = quote or current_quote(row)
    return offline_subscription_object(
        subscription_id=row.provider_subscription_id,
        customer=row.provider_customer_id or tenant.billing_customer_id or "",
        status=changes.pop("status", row.status),
        items=subscription_items(quote),
        currency="usd",
        interval=quote.interval,
        period_start=changes.pop("period_start", row.current_period_start or now),
        period_end=changes.pop("period_end", row.current_period_end or now),
        trial_end=changes.pop("trial_end", row.trial_end),
        metadata=_metadata(tenant, quote),
        created=row.created_at or now,
        **{"cancel_at_period_end": row.cancel_at_period_end, "canceled_at": row.canceled_at, **changes},
    )


def _offline_update(session: Session, tenant: Tenant, row: BillingSubscription, now: datetime, **changes) -> dict:
    """Emit customer.subscription.updated for the row with `changes` and apply it at once (offline)."""
    from aerospec.billing.providers import offline_event

    obj = offline_object(tenant, row, now, **changes)
    webhooks.intake(session, offline_event("customer.subscription.updated", obj), "offline", process_now=True)
    return obj


def _proration_instant(proration_date: int | None, row: BillingSubscription, now: datetime) -> datetime:
    """The instant a confirmed estimate was computed for, if it is recent and inside the period; else now."""
    if not proration_date:
        return now
    at = from_unix(int(proration_date)) or now
    earliest = max(row.current_period_start or now, now - timedelta(hours=1))
    return at if earliest <= at <= now else now


def _offline_change(
    session: Session, tenant: Tenant, row: BillingSubscription, quote: PriceQuote, at: datetime, now: datetime
):
    """Outside a trial, offline: issue the proration invoice (PDF with it), charge the test card for what is due,
    keep any credit, and move the subscription, through the intake as Stripe's events would."""
    from aerospec.billing import offline_card, proration
    from aerospec.billing.providers import offline_event

    billed = _offline_proration(row, quote, at)
    due, used, balance = proration.settle(billed.total, row.credit_balance)
    paid = due == 0 or offline_card.card_outcome(session, tenant) == "succeeds"
    lines = [
        {
            "description": line.description,
            "quantity": line.quantity,
            "amount": line.amount,
            "currency": "usd",
            "type": "subscription",
            "period": {"start": int(billed.period_start.timestamp()), "end": int(billed.period_end.timestamp())},
            "metadata": {"kind": SUBSCRIPTION_LINE},
        }
        for line in billed.lines
    ]
    invoice = invoices.issue_offline_invoice(
        session,
        tenant,
        row.provider_subscription_id,
        lines,
        billed.period_start,
        billed.period_end,
        now,
        paid=paid,
        amount_due=due,
        credit_used=used,
        next_payment_attempt=None if paid else offline_card.next_attempt_at(now, 1),
        billing_reason="subscription_update",
        with_commissions=False,
    )
    row.credit_balance = balance
    obj = offline_object(
        tenant,
        row,
        now,
        quote=quote,
        status="active" if paid else "past_due",
        period_start=billed.period_start,
        period_end=billed.period_end,
    )
    invoice_obj = invoices.invoice_object(invoice) | {
        "customer": row.provider_customer_id,
        "subscription": row.provider_subscription_id,
        "billing_reason": "subscription_update",
    }
    events = [
        offline_event("customer.subscription.updated", obj),
        offline_event("invoice.paid" if paid else "invoice.payment_failed", invoice_obj),
    ]
    for event in events:
        webhooks.intake(session, event, "offline", process_now=True)
    return invoice


SUBSCRIPTION_LINE = "subscription"


def change_plan(
    session: Session,
    tenant: Tenant,
    actor,
    plan: str,
    interval: str,
    provider: BillingProvider,
    *,
    extra_seats: Any = None,
    proration_date: int | None = None,
    now: datetime | None = None,
    client=None,
) -> ChangeOutcome:
    """Move the running subscription to another plan, interval or number of extra seats.

    In a trial nothing is charged or credited: the new price applies from the trial's end (Stripe:
    proration_behavior none with trial_end kept). Outside a trial the change is prorated and invoiced
    now (Stripe: always_invoice at the previewed proration_date; offline: the same arithmetic, an
    invoice with its PDF and the test card); a credit is kept for the next invoices.
    """
    now = now or utcnow()
    row, quote = resolve_change(session, tenant, plan, interval, extra_seats)
    trial = in_trial(row, now)
    invoice = None
    if provider.name == "stripe":
        params: dict = {"items": _stripe_items(provider, row, quote), "metadata": _metadata(tenant, quote)}
        if trial:
            params |= {"proration_behavior": "none", "trial_end": int(row.trial_end.timestamp())}
        else:
            params |= {"proration_behavior": "always_invoice", "expand": ["latest_invoice"]}
            if proration_date:
                params["proration_date"] = int(proration_date)
        updated = provider.update_subscription(row.provider_subscription_id, params)
        latest = updated.pop("latest_invoice", None)
        apply_subscription_object(session, tenant, updated, provider="stripe", as_of=now)
        if not trial and isinstance(latest, Mapping) and latest.get("id"):
            # The proration invoice, listed at once (its invoice.* events arrive later and change nothing more).
            invoice = invoices.upsert_invoice(session, tenant, latest, provider="stripe")
            lifecycle.apply_invoice(session, tenant, dict(latest), now)
    elif trial:
        _offline_update(session, tenant, row, now, quote=quote)
    else:
        invoice = _offline_change(session, tenant, row, quote, _proration_instant(proration_date, row, now), now)
    audit.record(
        session,
        tenant.id,
        "billing.plan_changed",
        actor=actor,
        client=client,
        target_type="tenant",
        target_id=tenant.id,
        details={
            "plan": plan,
            "interval": interval,
            "extra_seats": quote.extra_seats,
            "provider": provider.name,
            "in_trial": trial,
            "invoice": getattr(invoice, "number", None),
        },
    )
    return ChangeOutcome(row, invoice, trial)


def set_cancel_at_period_end(
    session: Session,
    tenant: Tenant,
    actor,
    cancel: bool,
    provider: BillingProvider,
    *,
    now: datetime | None = None,
    client=None,
) -> BillingSubscription:
    """Cancel at the end of the paid period (cancel=True), or resume a subscription set to cancel (False)."""
    now = now or utcnow()
    row = require_live(session, tenant)
    if row.cancel_at_period_end == cancel:
        raise Conflict(
            "The subscription already ends at the end of this period."
            if cancel
            else "The subscription is not set to cancel: nothing to resume."
        )
    if provider.name == "stripe":
        updated = provider.update_subscription(row.provider_subscription_id, {"cancel_at_period_end": cancel})
        apply_subscription_object(session, tenant, updated, provider="stripe", as_of=now)
    else:
        _offline_update(session, tenant, row, now, cancel_at_period_end=cancel, canceled_at=now if cancel else None)
    audit.record(
        session,
        tenant.id,
        "billing.cancel_requested" if cancel else "billing.resumed",
        actor=actor,
        client=client,
        target_type="tenant",
        target_id=tenant.id,
        details={"period_end": isoformat(row.current_period_end)},
    )
    return row


def sync_seats(session: Session, tenant: Tenant, provider: BillingProvider, now: datetime | None = None) -> int | None:
    """After a member joins or leaves: keep the subscription on the per-workspace price; never bill per member.

    Members do not change what is billed: the workspace price has quantity 1 and the extra seats stay
    what an admin bought on the billing page (invitations beyond the seats are refused instead). A Stripe
    subscription still billed per member from before the seat add-on (quantity > 1 on the workspace
    price) is moved to quantity 1 plus the extra seats it was already paying for beyond the included
    ones, without proration. Returns the extra seats billed, or None without a running subscription.
    """
    now = now or utcnow()
    with tenant_scope(session, tenant.id):
        row = live_subscription(session, tenant)
        if row is None:
            return None
        if row.provider != "stripe" or provider.name != "stripe":
            return row.extra_seats
        current = provider.retrieve_subscription(row.provider_subscription_id)
        base, seat = split_items(current, current_app.config)
        quantity = int(base.get("quantity") or 1)
        if quantity <= 1:
            return row.extra_seats
        plan = get_plan(row.plan)
        extra = row.extra_seats
        if plan.sells_extra_seats:
            extra = max(extra, quantity - (seat_limit_on(tenant, row.plan) or 0))
        items: list[dict] = [{"id": base.get("id"), "quantity": 1}]
        if extra and plan.sells_extra_seats:
            item = {"price": _price_or_fail(row.plan, row.interval, "seat"), "quantity": extra}
            items.append({"id": seat["id"], **item} if seat else item)
        updated = provider.update_subscription(
            row.provider_subscription_id, {"items": items, "proration_behavior": "none"}
        )
        apply_subscription_object(session, tenant, updated, provider="stripe", as_of=now)
        log.info("tenant %s: subscription %s moved from %s seats to the workspace price", tenant.id, row.id, quantity)
        session.flush()
        return row.extra_seats


PORTAL_ENDPOINT = "billing.portal"  # the offline stand-in for Stripe's hosted portal (and the Stripe redirect)


def offline_portal_url(tenant: Tenant) -> str:
    """The offline stand-in portal's absolute URL (built on BASE_URL, with or without a request)."""
    path = current_app.url_map.bind("localhost").build(PORTAL_ENDPOINT, {"tenant_slug": tenant.slug})
    return current_app.config.get("BASE_URL", "").rstrip("/") + path


def portal_url(session: Session, tenant: Tenant, provider: BillingProvider, return_url: str) -> str:
    """Where an admin manages the payment method, invoices and cancellation: a Stripe Billing Portal
    session for the tenant's customer, or offline this app's stand-in portal page.

    Offline, `return_url` is not carried: the stand-in's "Return to AeroSpec" link is always the
    billing page (the page is behind the login, so it is no capability URL as Stripe's is).
    """
    if provider.name != "stripe":
        return offline_portal_url(tenant)
    customer = ensure_customer(session, tenant, provider)
    return provider.create_portal_session(customer=customer, return_url=return_url)


def confirm_checkout(
    session: Session, tenant: Tenant, provider: BillingProvider, checkout_session_id: str | None
) -> BillingSubscription | None:
    """After Checkout, before (or without) its webhook: the live subscription, re-checked at Stripe.

    The page the payer returns to polls this. Stripe's webhook usually lands first; if it has not,
    the Checkout Session is read back from Stripe and, when it is this workspace's and complete, its
    subscription is applied exactly as the webhook's handler would (the later webhook then changes
    nothing). Offline checkouts are applied when paid, so there is nothing to re-check.
    """
    row = live_subscription(session, tenant)
    if row is not None or provider.name != "stripe" or not checkout_session_id:
        return row
    if not checkout_session_id.startswith("cs_"):
        return None
    checkout = provider.retrieve_checkout_session(checkout_session_id)
    metadata = checkout.get("metadata") or {}
    # SECURITY: only a session opened for this workspace (our metadata, or its own customer) is applied.
    mine = metadata.get("tenant_id") == str(tenant.id) or (
        tenant.billing_customer_id is not None and _id(checkout.get("customer")) == tenant.billing_customer_id
    )
    if not mine or checkout.get("mode") != "subscription" or checkout.get("status") != "complete":
        return None
    subscription = _id(checkout.get("subscription"))
    if not subscription:
        return None
    if not tenant.billing_customer_id and _id(checkout.get("customer")):
        tenant.billing_customer_id = _id(checkout.get("customer"))
    fresh = provider.retrieve_subscription(subscription)
    apply_subscription_object(session, tenant, fresh, provider="stripe", as_of=utcnow())
    return live_subscription(session, tenant)
