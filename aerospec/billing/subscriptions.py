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
    invoice.paid / payment_succeeded / payment_failed  invoices.upsert_invoice, then
                                                    lifecycle.apply_invoice (unless the mirrored
                                                    invoice is already further along)
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
from aerospec.billing.plans import BILLING_INTERVALS, PLANS, get_plan, plan_for_price, price_id, price_setting
from aerospec.billing.providers import (
    BillingProvider,
    CheckoutSession,
    LineItem,
    PaymentProviderError,
    from_unix,
    to_minor,
)
from aerospec.billing.webhooks import ProviderEvent, handles
from aerospec.compliance import services as audit
from aerospec.errors import Conflict, ValidationFailed
from aerospec.models import utcnow
from aerospec.tenancy import services as tenancy
from aerospec.tenancy.models import Tenant
from aerospec.tenancy.scoping import tenant_scope, unscoped

log = logging.getLogger(__name__)

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


def _first_item(obj: Mapping) -> dict:
    data = ((obj.get("items") or {}).get("data")) or []
    return dict(data[0]) if data else {}


def subscription_fields(obj: Mapping, config: Mapping, fallback_plan: str) -> dict:
    """The mirror's columns read from a subscription object (older and newer API versions)."""
    item = _first_item(obj)
    price = item.get("price") or item.get("plan") or {}
    price_id = _id(price)
    metadata = obj.get("metadata") or {}
    known = plan_for_price(price_id, config)
    if known is None:
        # An unconfigured price (or the offline provider without price ids): our own metadata says.
        interval = ((price.get("recurring") or {}).get("interval") if isinstance(price, Mapping) else None) or (
            metadata.get("interval")
        )
        plan = metadata.get("plan") if metadata.get("plan") in PLANS else fallback_plan
        known = (plan, interval if interval in ("month", "year") else "month")
    plan, interval = known
    return {
        "provider_customer_id": _id(obj.get("customer")) or "",
        "plan": plan,
        "interval": interval,
        "price_id": price_id,
        "status": str(obj.get("status") or "incomplete"),
        "seats": int(item.get("quantity") or obj.get("quantity") or 1),
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
    if fields["provider_customer_id"] and not tenant.billing_customer_id:
        tenant.billing_customer_id = fields["provider_customer_id"]
    session.flush()
    return row, True


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
    status = lifecycle.apply_invoice(session, tenant, obj, _as_of(event))
    return f"invoice {invoice.provider_invoice_id}: {invoice.status}, workspace {status}"


# -- subscribing ----------------------------------------------------------------------------------

STRIPE_MIN_TRIAL = timedelta(hours=48)  # Stripe refuses a subscription_data.trial_end sooner than this


class TalkToUs(ValidationFailed):
    """A plan that is arranged with sales, not bought at a checkout."""

    title = "Talk to us"


def carried_trial_end(tenant: Tenant, now: datetime) -> datetime | None:
    """The trial's end to carry into a new subscription: only while trialing with more than 48 h left."""
    if tenant.subscription_status != "trialing" or tenant.trial_ends_at is None:
        return None
    return tenant.trial_ends_at if tenant.trial_ends_at - now > STRIPE_MIN_TRIAL else None


def seats_in_use(session: Session, tenant: Tenant) -> int:
    """The subscription's quantity: the workspace's members (at least one)."""
    return max(1, tenancy.seat_usage(session, tenant).members)


def plan_amount_minor(plan_key: str, interval: str, currency: str = "usd") -> int:
    """One seat of a plan for one interval, in minor units (Enterprise has no list price)."""
    plan = get_plan(plan_key)
    price = plan.annual_price if interval == "year" else plan.monthly_price
    if price is None:
        raise TalkToUs(ENTERPRISE_MESSAGE)
    return to_minor(price, currency)


ENTERPRISE_MESSAGE = (
    "Enterprise is arranged with us, not bought online: write to sales@aerospec.example "
    "and we will set up SSO, your own models and white-label portals with you."
)


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
    now: datetime | None = None,
) -> CheckoutSession:
    """Open a subscription-mode Checkout Session for a plan, billed per seat in use; the payer goes to its url.

    One customer per tenant; a trial with more than 48 h left carries over as the subscription's trial.
    """
    now = now or utcnow()
    check_choice(plan, interval)
    if live_subscription(session, tenant) is not None:
        raise Conflict("This workspace already has a subscription: change its plan instead of subscribing again.")
    ensure_fits(session, tenant, plan)  # a team bigger than the plan's seats cannot buy it
    price = price_id(plan, interval, current_app.config)
    if price is None and provider.name == "stripe":
        log.error("no Stripe price configured for %s/%s (%s)", plan, interval, price_setting(plan, interval))
        raise PaymentProviderError("This plan cannot be bought online just now. Nothing was charged; write to us.")
    customer = ensure_customer(session, tenant, provider)
    seats = seats_in_use(session, tenant)
    unit = plan_amount_minor(plan, interval)
    trial_end = carried_trial_end(tenant, now)
    name = f"AeroSpec {get_plan(plan).name} plan ({'annual' if interval == 'year' else 'monthly'})"
    audit.record(
        session,
        tenant.id,
        "billing.checkout_started",
        actor=actor,
        target_type="tenant",
        target_id=tenant.id,
        details={"plan": plan, "interval": interval, "seats": seats, "provider": provider.name},
    )
    return provider.create_checkout_session(
        mode="subscription",
        amount_minor=0 if trial_end else unit * seats,
        currency="usd",
        description=name,
        metadata={"kind": KIND, "tenant_id": str(tenant.id), "plan": plan, "interval": interval},
        customer_email=None,
        success_url=success_url,
        cancel_url=cancel_url,
        line_items=[LineItem(name=name, unit_amount=unit, quantity=seats, price_id=price)],
        client_reference_id=str(tenant.id),
        customer=customer,
        subscription_data={"trial_end": int(trial_end.timestamp())} if trial_end else None,
    )


def subscription_state(session: Session, tenant: Tenant, now: datetime | None = None) -> dict:
    """The workspace's plan and subscription as the API and the billing page read them."""
    now = now or utcnow()
    row = lifecycle.current_subscription(session, tenant)
    cycle = lifecycle.dunning(session, tenant, row) if tenant.subscription_status in lifecycle.DUNNING_STATES else None
    since = cycle.since if cycle else None
    iso = lambda value: value.isoformat() if value is not None else None  # noqa: E731 - local shorthand
    return {
        "plan": tenant.plan,
        "status": lifecycle.effective_status(tenant, now, since),
        "access": lifecycle.access(tenant, now, since),
        "trial_ends_at": iso(tenant.trial_ends_at),
        "customer": tenant.billing_customer_id,
        "subscription": None
        if row is None
        else {
            "id": row.provider_subscription_id,
            "provider": row.provider,
            "plan": row.plan,
            "interval": row.interval,
            "status": row.status,
            "seats": row.seats,
            "current_period_start": iso(row.current_period_start),
            "current_period_end": iso(row.current_period_end),
            "trial_end": iso(row.trial_end),
            "cancel_at_period_end": row.cancel_at_period_end,
            "canceled_at": iso(row.canceled_at),
            "ended_at": iso(row.ended_at),
            "past_due_since": iso(row.past_due_since),
            "failed_payment_count": row.failed_payment_count,
        },
    }


# -- changing a running subscription --------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """What a plan change bills now: the prorated amount (minor units; negative is a credit) and its lines."""

    amount_due: int
    currency: str
    lines: list[dict]
    proration_date: int  # the instant it was computed for, so the change bills exactly this
    source: str  # "stripe" (Stripe's preview invoice) or "estimate" (computed offline)


class DoesNotFit(Conflict):
    """A plan change the workspace does not fit into: more members than the new plan's seats."""

    title = "The workspace does not fit this plan"


def seat_limit_on(tenant: Tenant, plan_key: str) -> int | None:
    """The seats the workspace would have on `plan_key` (a platform admin's override wins, as it does now)."""
    overrides = tenant.limits or {}
    return overrides["seats"] if "seats" in overrides else get_plan(plan_key).limits["seats"]


def downgrade_blocker(session: Session, tenant: Tenant, plan_key: str) -> str | None:
    """Why the workspace cannot move to `plan_key` now (its members exceed the plan's seats), or None.

    Staying on the plan it has (an interval switch) is never blocked: that makes nothing worse.
    """
    if plan_key == tenant.plan:
        return None
    limit = seat_limit_on(tenant, plan_key)
    if limit is None:
        return None
    members = tenancy.seat_usage(session, tenant).members
    if members <= limit:
        return None
    name, extra = get_plan(plan_key).name, members - limit
    return (
        f"{name} includes {limit} seat{'s' if limit != 1 else ''}, and this workspace has {members} "
        f"member{'s' if members != 1 else ''}. "
        f"Remove {extra} member{'s' if extra != 1 else ''} on the Members page before switching to {name}, "
        "or keep a plan with more seats."
    )


def ensure_fits(session: Session, tenant: Tenant, plan_key: str) -> None:
    """Raise DoesNotFit (409) when the workspace has more members than `plan_key` allows."""
    blocker = downgrade_blocker(session, tenant, plan_key)
    if blocker is not None:
        raise DoesNotFit(blocker)


def require_live(session: Session, tenant: Tenant) -> BillingSubscription:
    """The running subscription, or Conflict saying to subscribe first."""
    row = live_subscription(session, tenant)
    if row is None:
        raise Conflict("This workspace has no running subscription: choose a plan to subscribe first.")
    return row


def _stripe_item(provider: BillingProvider, row: BillingSubscription) -> dict:
    # The item id is not mirrored: re-read the subscription from Stripe (its state now, too).
    current = provider.retrieve_subscription(row.provider_subscription_id)
    return _first_item(current)


def preview_change(
    session: Session, tenant: Tenant, plan: str, interval: str, provider: BillingProvider, now: datetime | None = None
) -> Estimate:
    """The proration a change to `plan`/`interval` would bill now (Stripe's preview, or computed offline)."""
    now = now or utcnow()
    check_choice(plan, interval)
    row = require_live(session, tenant)
    if (row.plan, row.interval) == (plan, interval):
        raise Conflict(f"The workspace is already on {get_plan(plan).name}, billed {_every(interval)}.")
    ensure_fits(session, tenant, plan)
    stamp = int(now.timestamp())
    if provider.name == "stripe":
        item = _stripe_item(provider, row)
        preview = provider.preview_invoice(
            {
                "customer": row.provider_customer_id,
                "subscription": row.provider_subscription_id,
                "subscription_details": {
                    "items": [{"id": item.get("id"), "price": _price_or_fail(plan, interval), "quantity": row.seats}],
                    "proration_behavior": "always_invoice",
                    "proration_date": stamp,
                },
            }
        )
        lines = [
            {"description": line.get("description") or "", "amount": int(line.get("amount") or 0)}
            for line in ((preview.get("lines") or {}).get("data") or [])
        ]
        return Estimate(
            int(preview.get("amount_due") or 0), str(preview.get("currency") or "usd"), lines, stamp, "stripe"
        )
    return _offline_estimate(row, plan, interval, now, stamp)


def _every(interval: str) -> str:
    return "annually" if interval == "year" else "monthly"


def _price_or_fail(plan: str, interval: str) -> str:
    price = price_id(plan, interval, current_app.config)
    if price is None:
        log.error("no Stripe price configured for %s/%s (%s)", plan, interval, price_setting(plan, interval))
        raise PaymentProviderError("This plan cannot be bought online just now. Nothing was changed; write to us.")
    return price


def _offline_estimate(row: BillingSubscription, plan: str, interval: str, now: datetime, stamp: int) -> Estimate:
    """Stripe's arithmetic: credit the unused part of the old plan, charge the new one (the rest of the
    period for the same interval; a full new period when the interval changes, as Stripe re-anchors)."""
    old_total = plan_amount_minor(row.plan, row.interval) * row.seats
    new_total = plan_amount_minor(plan, interval) * row.seats
    start, end = row.current_period_start or now, row.current_period_end or now
    span = max((end - start).total_seconds(), 1)
    left = min(max((end - now).total_seconds(), 0) / span, 1)
    credit = round(old_total * left)
    charge = new_total if interval != row.interval else round(new_total * left)
    old_name, new_name = get_plan(row.plan).name, get_plan(plan).name
    seats = f"{row.seats} seat{'s' if row.seats != 1 else ''}"
    lines = [
        {"description": f"Unused time on {old_name} ({_every(row.interval)}, {seats})", "amount": -credit},
        {
            "description": f"{'Remaining time on ' if interval == row.interval else ''}{new_name} "
            f"({_every(interval)}, {seats})",
            "amount": charge,
        },
    ]
    return Estimate(charge - credit, "usd", lines, stamp, "estimate")


def _offline_update(session: Session, tenant: Tenant, row: BillingSubscription, now: datetime, **changes) -> dict:
    """Emit customer.subscription.updated for the row with `changes`, through the one intake (offline)."""
    from aerospec.billing.providers import offline_event, offline_subscription_object

    plan, interval = changes.pop("plan", row.plan), changes.pop("interval", row.interval)
    period_start, period_end = row.current_period_start or now, row.current_period_end or now
    if interval != row.interval:  # re-anchored, as Stripe does for an interval change
        from aerospec.billing.providers import add_interval

        period_start, period_end = now, add_interval(now, interval)
    obj = offline_subscription_object(
        subscription_id=row.provider_subscription_id,
        customer=row.provider_customer_id,
        status=row.status,
        price_id=price_id(plan, interval, current_app.config),
        unit_amount=plan_amount_minor(plan, interval),
        currency="usd",
        interval=interval,
        quantity=changes.pop("quantity", row.seats),
        period_start=period_start,
        period_end=period_end,
        trial_end=row.trial_end,
        metadata={"kind": KIND, "tenant_id": str(tenant.id), "plan": plan, "interval": interval},
        created=row.created_at or now,
        **{"cancel_at_period_end": row.cancel_at_period_end, **changes},
    )
    webhooks.intake(session, offline_event("customer.subscription.updated", obj), "offline")
    return obj


def change_plan(
    session: Session,
    tenant: Tenant,
    actor,
    plan: str,
    interval: str,
    provider: BillingProvider,
    *,
    proration_date: int | None = None,
    now: datetime | None = None,
) -> BillingSubscription:
    """Move the running subscription to another plan or interval, prorated (Stripe bills the difference now)."""
    now = now or utcnow()
    check_choice(plan, interval)
    row = require_live(session, tenant)
    if (row.plan, row.interval) == (plan, interval):
        raise Conflict(f"The workspace is already on {get_plan(plan).name}, billed {_every(interval)}.")
    ensure_fits(session, tenant, plan)
    metadata = {"kind": KIND, "tenant_id": str(tenant.id), "plan": plan, "interval": interval}
    if provider.name == "stripe":
        item = _stripe_item(provider, row)
        params = {
            "items": [{"id": item.get("id"), "price": _price_or_fail(plan, interval), "quantity": row.seats}],
            "proration_behavior": "always_invoice",
            "metadata": metadata,
        }
        if proration_date:
            params["proration_date"] = int(proration_date)
        updated = provider.update_subscription(row.provider_subscription_id, params)
        apply_subscription_object(session, tenant, updated, provider="stripe", as_of=now)
    else:
        _offline_update(session, tenant, row, now, plan=plan, interval=interval)
    audit.record(
        session,
        tenant.id,
        "billing.plan_changed",
        actor=actor,
        target_type="tenant",
        target_id=tenant.id,
        details={"plan": plan, "interval": interval, "provider": provider.name},
    )
    return row


def set_cancel_at_period_end(
    session: Session, tenant: Tenant, actor, cancel: bool, provider: BillingProvider, *, now: datetime | None = None
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
        target_type="tenant",
        target_id=tenant.id,
        details={"period_end": row.current_period_end.isoformat() if row.current_period_end else None},
    )
    return row


def sync_seats(session: Session, tenant: Tenant, provider: BillingProvider, now: datetime | None = None) -> int | None:
    """Bill the members the workspace has now: the subscription's quantity follows joins and removals.

    Call it after a member joins or leaves (the membership flushed). Stripe: subscriptions.update with
    the item's new quantity, prorated onto the next invoice (proration_behavior=create_prorations, as
    Stripe does by default); offline: customer.subscription.updated with the new quantity through the
    intake, so the mirror changes as for Stripe and the next renewal bills it. Returns the quantity,
    or None without a running subscription; an unchanged quantity sends nothing.
    """
    now = now or utcnow()
    with tenant_scope(session, tenant.id):
        row = live_subscription(session, tenant)
        if row is None:
            return None
        seats = seats_in_use(session, tenant)
        before = row.seats
        if seats == before:
            return seats
        if row.provider == "stripe":
            if provider.name != "stripe":
                log.warning("tenant %s: Stripe subscription %s, but no Stripe key here", tenant.id, row.id)
                return None
            item = _stripe_item(provider, row)
            updated = provider.update_subscription(
                row.provider_subscription_id,
                {"items": [{"id": item.get("id"), "quantity": seats}], "proration_behavior": "create_prorations"},
            )
            apply_subscription_object(session, tenant, updated, provider="stripe", as_of=now)
        else:
            _offline_update(session, tenant, row, now, quantity=seats)
        log.info("tenant %s: subscription %s billed for %s seats (was %s)", tenant.id, row.id, seats, before)
        session.flush()
        return seats


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
