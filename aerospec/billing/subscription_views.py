"""The billing page for tenant admins: plan, status, period, usage, seats, plan changes, cancel/resume, and the
portal (Stripe's, or offline its stand-in page)."""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_login import current_user, login_required

from aerospec.billing import bp, lifecycle, offline_card, offline_cycle, subscriptions, usage
from aerospec.billing import invoices as billing_invoices
from aerospec.billing.invoice_views import _status as invoice_status
from aerospec.billing.invoices import format_money
from aerospec.billing.plans import (
    BILLING_INTERVALS,
    LIMIT_LABELS,
    PLANS,
    get_plan,
    price_quote,
    unit_price,
)
from aerospec.billing.providers import PaymentProviderError, get_provider
from aerospec.errors import DomainError
from aerospec.extensions import db
from aerospec.limits import counters
from aerospec.models import utcnow
from aerospec.tenancy import services as tenancy
from aerospec.tenancy.permissions import require_permission
from aerospec.web.client import client_info
from aerospec.web.htmx import hx_redirect, render

PAGE = "/t/<tenant_slug>/billing"
STATUS_WORDS = {
    **lifecycle.STATE_LABELS,
    "confirming": "Confirming your payment…",
    # Subscribed while the trial runs (lifecycle.trial_of): nothing is charged yet, so not "Active".
    "subscription_trial": "Subscribed, trial running",
}
STATUS_BADGES = {
    "trialing": "badge-info",
    "subscription_trial": "badge-info",
    "active": "badge-success",
    "past_due": "badge-warning",
}
POLL_FAST, POLL_SLOW, FAST_POLLS = 1, 5, 30  # seconds between checks while a payment is being confirmed


def _interval(value: str | None, default: str = "month") -> str:
    return value if value in BILLING_INTERVALS else default


def _absolute(url: str) -> str:
    # The offline provider answers a path on this app; Stripe answers its own https URL.
    return url if "://" in url else current_app.config["BASE_URL"].rstrip("/") + url


RETURN_TO = {"portal": "billing.portal"}  # where a form may ask to come back to (never a URL: no open redirect)


def _return_to() -> str | None:
    value = request.values.get("return_to")
    return value if value in RETURN_TO else None


def _back(**query):
    """To the billing page, or to the page the form came from when it said so (the offline portal)."""
    return redirect(url_for(RETURN_TO.get(_return_to() or "", "billing.page"), **query), 303)


def phase_of(state: dict, row, trial, confirming: bool) -> str:
    """Which copy the summary shows: confirming | trial | subscription_trial | renewing | ending | past_due |
    expired | ended (one reading of the state, so no two regions can disagree)."""
    if confirming:
        return "confirming"
    if row is None:
        return {"trialing": "trial", "expired": "expired"}.get(state["status"], "ended")
    if state["status"] in lifecycle.DUNNING_STATES or row.status in ("past_due", "unpaid"):
        return "past_due"
    if row.cancel_at_period_end:
        return "ending"
    if trial is not None and trial.subscribed:
        return "subscription_trial"
    return "renewing"


def plan_offers(row, interval: str, needed: dict[str, int]) -> list[dict]:
    """Each plan's card: its price at `interval` (with the extra seats it would have) and what choosing it does."""
    offers = []
    for plan in PLANS.values():
        offer: dict = {"plan": plan, "quote": None, "current": False}
        if plan.monthly_price is not None:
            extra = needed.get(plan.key, 0)
            if row is not None and row.plan == plan.key and plan.sells_extra_seats:
                extra = max(extra, row.extra_seats)
            offer["quote"] = price_quote(plan, interval, extra if plan.sells_extra_seats else 0)
            offer["seat_unit"] = unit_price(plan, interval, "seat") if plan.sells_extra_seats else None
            offer["current"] = row is not None and (row.plan, row.interval) == (plan.key, interval)
        offers.append(offer)
    return offers


def page_context(now, *, checkout: str | None = None, seat_error: str | None = None, seat_value=None) -> dict:
    """Everything the billing page shows, read after every change has committed."""
    state = subscriptions.subscription_state(db.session, g.tenant, now)
    row = subscriptions.live_subscription(db.session, g.tenant)
    interval = _interval(request.args.get("interval"), row.interval if row is not None else "month")
    provider = get_provider(current_app)
    current = lifecycle.current_subscription(db.session, g.tenant)
    unpaid = offline_cycle.open_invoice(db.session, g.tenant, current) if current is not None else None
    if unpaid is not None and not unpaid.attempt_count:
        unpaid = None  # finalised but not yet charged: nothing has failed
    offline = provider.name == "offline"
    trial = lifecycle.trial_of(g.tenant, row, now)
    confirming = checkout == "success" and row is None
    phase = phase_of(state, row, trial, confirming)
    if phase != "past_due":
        # An older invoice left open while the subscription is in good standing (its failure arrived
        # late): not a payment this workspace is being chased for. It stays in the invoice list.
        unpaid = None
    status = "confirming" if confirming else "subscription_trial" if phase == "subscription_trial" else state["status"]
    needed = {key: subscriptions.seats_needed(db.session, g.tenant, key) for key in PLANS}
    return {
        "state": state,
        "phase": phase,
        "status_words": STATUS_WORDS.get(status, status),
        "status_badge": STATUS_BADGES.get(status, "badge-info" if confirming else "badge-danger"),
        "subscription": row,
        "quote": subscriptions.current_quote(row) if row is not None else None,
        "seat_unit": unit_price(row.plan, row.interval, "seat") if row is not None else None,
        "current_plan": get_plan(g.tenant.plan),
        "offers": plan_offers(row, interval, needed),
        "needed": needed,
        "interval": interval,
        "usage": usage.usage_summary(db.session, g.tenant, counters.counter_for(current_app), now),
        # A running subscription cannot move to a plan with fewer seats than members: say so on the card.
        "too_small": {
            plan.key: subscriptions.downgrade_blocker(db.session, g.tenant, plan.key)
            for plan in PLANS.values()
            if row is not None
        },
        "seats": tenancy.seat_usage(db.session, g.tenant),
        "included_seats": subscriptions.seat_limit_on(g.tenant, g.tenant.plan),
        "trial": trial,
        "invoices": billing_invoices.list_invoices(db.session, g.tenant, per_page=5).items,
        "status_of": invoice_status,
        "limit_labels": LIMIT_LABELS,
        "offline": offline,
        "test_card": offline_card.card_outcome(db.session, g.tenant) if offline else None,
        "unpaid": unpaid,
        "can_pay_now": offline and unpaid is not None and unpaid.provider == "offline",
        "checkout": checkout,
        "checkout_session": request.args.get("session_id", ""),
        "poll_seconds": POLL_FAST,
        "dunning_info": lifecycle.banner(db.session, g.tenant, now),
        "seat_error": seat_error,
        "seat_value": seat_value,
    }


@bp.route(PAGE)
@login_required
@require_permission("manage_billing")
def page():
    """The workspace's plan and status, usage against each limit, plans to switch to, invoices and the portal."""
    context = page_context(utcnow(), checkout=request.args.get("checkout"))
    g.billing_confirming = context["phase"] == "confirming"  # the shell's trial banner stays quiet meanwhile
    response = render("billing/page.html", block="plan_choice", **context)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route(f"{PAGE}/checkout-status")
@login_required
@require_permission("manage_billing")
def checkout_status():
    """While the payment provider confirms a checkout: poll until the subscription is live, then show it."""
    provider = get_provider(current_app)
    polls = request.args.get("n", 0, type=int) or 0
    try:
        row = subscriptions.confirm_checkout(db.session, g.tenant, provider, request.args.get("session_id"))
        db.session.commit()
    except PaymentProviderError:
        db.session.rollback()
        row = None  # Stripe did not answer this time: the next poll asks again
    if row is not None:
        return hx_redirect(url_for("billing.page", checkout="confirmed"))
    response = render(
        "billing/_confirming.html",
        checkout_session=request.args.get("session_id", ""),
        polls=polls + 1,
        poll_seconds=POLL_FAST if polls < FAST_POLLS else POLL_SLOW,
        slow=polls >= FAST_POLLS,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post(f"{PAGE}/plan")
@login_required
@require_permission("manage_billing")
def choose_plan():
    """Upgrade or downgrade: to Checkout without a running subscription, else to the confirmation."""
    plan, interval = request.form.get("plan", ""), _interval(request.form.get("interval"), "")
    extra = request.form.get("extra_seats")
    try:
        subscriptions.check_choice(plan, interval)
    except DomainError as error:
        flash(error.message, "error")
        return _back()
    if subscriptions.live_subscription(db.session, g.tenant) is not None:
        query = {"plan": plan, "interval": interval}
        if extra is not None:
            query["extra_seats"] = extra
        return hx_redirect(url_for("billing.confirm_change", **query))
    base = current_app.config["BASE_URL"].rstrip("/")
    success = base + url_for("billing.page", checkout="success", _external=False)
    if get_provider(current_app).name == "stripe":
        success += "&session_id={CHECKOUT_SESSION_ID}"  # Stripe fills it in: the page re-checks that session
    cancel = base + url_for("billing.page", checkout="cancelled", _external=False)
    try:
        checkout = subscriptions.subscribe(
            db.session,
            g.tenant,
            current_user,
            plan,
            interval,
            get_provider(current_app),
            success,
            cancel,
            extra_seats=extra if extra not in (None, "") else None,
            client=client_info(),
        )
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _back()
    db.session.commit()
    return hx_redirect(_absolute(checkout.url))


@bp.post(f"{PAGE}/seats")
@login_required
@require_permission("manage_billing")
def change_seats():
    """Add or remove extra seats: to the confirmation with the price and what it bills now (or the field's error)."""
    row = subscriptions.live_subscription(db.session, g.tenant)
    if row is None:
        flash("There is no running subscription to add seats to: choose a plan first.", "error")
        return _back()
    raw = request.form.get("extra_seats", "")
    try:
        subscriptions.resolve_change(db.session, g.tenant, row.plan, row.interval, raw)
    except DomainError as error:
        message = (error.field_errors.get("extra_seats") or [error.message])[0]
        if message != error.message:
            message = f"{error.message} {message}"
        context = page_context(utcnow(), seat_error=message, seat_value=raw)
        return render("billing/page.html", status=422, **context)
    return redirect(url_for("billing.confirm_change", plan=row.plan, interval=row.interval, extra_seats=raw), 303)


def _done_message(outcome, estimate_quote) -> str:
    """What a confirmed change did, in the words the page's regions will then show."""
    quote = estimate_quote
    what = f"Your plan is now {quote.plan.name}, billed {subscriptions._every(quote.interval)}"
    if quote.extra_seats:
        what += f", with {quote.extra_seats} extra seat{'s' if quote.extra_seats != 1 else ''}"
    price = f"{format_money(quote.total_minor, quote.currency)} {quote.every}"
    if outcome.trial:
        row = outcome.subscription
        return f"{what}. Nothing was charged: from {row.trial_end:%d %b %Y} you will pay {price}."
    invoice = outcome.invoice
    if invoice is None:
        return f"{what} ({price}). The invoice for the change appears here when Stripe sends it."
    number = invoice.number or invoice.provider_invoice_id
    if invoice.total < 0:
        credited = format_money(-invoice.total, invoice.currency)
        return f"{what} ({price}). Nothing was charged: {credited} was added to your account credit (invoice {number})."
    if invoice.status == "paid":
        paid = format_money(invoice.amount_paid, invoice.currency)
        return f"{what} ({price}). Charged {paid} now (invoice {number})."
    due = format_money(invoice.amount_due, invoice.currency)
    return f"{what} ({price}). The payment of {due} failed (invoice {number}); see Payment due below."


@bp.route(f"{PAGE}/change", methods=["GET", "POST"])
@login_required
@require_permission("manage_billing")
def confirm_change():
    """Confirm a change of plan, interval or extra seats, showing what it bills now (nothing in a trial)."""
    source = request.form if request.method == "POST" else request.args
    plan, interval = source.get("plan", ""), _interval(source.get("interval"), "")
    extra = source.get("extra_seats")
    extra = None if extra in (None, "") else extra
    provider = get_provider(current_app)
    try:
        subscriptions.check_choice(plan, interval)
        row = subscriptions.require_live(db.session, g.tenant)
    except DomainError as error:
        flash(error.message, "error")
        return _back()
    blocker = subscriptions.downgrade_blocker(db.session, g.tenant, plan)
    common = {"action": "change", "plan": get_plan(plan), "interval": interval, "current": get_plan(row.plan)}
    if blocker is not None:
        # Said on the confirmation itself, before any button: what stops the change and what to do.
        return render(
            "billing/confirm.html",
            status=409,
            **common,
            subscription=row,
            current_quote=subscriptions.current_quote(row),
            estimate=None,
            blocker=blocker,
        )
    try:
        if request.method == "POST":
            proration = request.form.get("proration_date", type=int)
            outcome = subscriptions.change_plan(
                db.session,
                g.tenant,
                current_user,
                plan,
                interval,
                provider,
                extra_seats=extra,
                proration_date=proration,
                client=client_info(),
            )
            message = _done_message(outcome, subscriptions.current_quote(outcome.subscription))
            db.session.commit()
            flash(message, "success")
            return _back()
        estimate = subscriptions.preview_change(db.session, g.tenant, plan, interval, provider, extra_seats=extra)
    except (DomainError, PaymentProviderError) as error:
        db.session.rollback()
        flash(error.message, "error")
        return _back()
    row = subscriptions.live_subscription(db.session, g.tenant)
    return render(
        "billing/confirm.html",
        **common,
        subscription=row,
        current_quote=subscriptions.current_quote(row),
        estimate=estimate,
        extra_seats=estimate.recurring.extra_seats,
    )


@bp.route(f"{PAGE}/cancel", methods=["GET", "POST"])
@login_required
@require_permission("manage_billing")
def cancel_subscription():
    """Cancel at the end of the paid period, after a confirmation naming what stops and when."""
    return _cancel_or_resume(cancel=True)


@bp.route(f"{PAGE}/resume", methods=["GET", "POST"])
@login_required
@require_permission("manage_billing")
def resume_subscription():
    """Undo a cancellation before the period ends: the subscription renews as before."""
    return _cancel_or_resume(cancel=False)


def _cancel_or_resume(cancel: bool):
    row = subscriptions.live_subscription(db.session, g.tenant)
    if row is None:
        flash("There is no running subscription to change.", "error")
        return _back()
    if request.method == "GET":
        return render(
            "billing/confirm.html",
            action="cancel" if cancel else "resume",
            subscription=row,
            plan=get_plan(row.plan),
            return_to=_return_to(),
        )
    try:
        subscriptions.set_cancel_at_period_end(
            db.session, g.tenant, current_user, cancel, get_provider(current_app), client=client_info()
        )
    except (DomainError, PaymentProviderError) as error:
        db.session.rollback()
        flash(error.message, "error")
        return _back()
    db.session.commit()
    flash(
        "Your subscription ends at the end of this period; you can resume it until then."
        if cancel
        else "Your subscription is resumed and renews as before.",
        "success",
    )
    return _back()


@bp.route(f"{PAGE}/portal")
@login_required
@require_permission("manage_billing")
def portal():
    """The billing portal: Stripe's hosted portal (a redirect), or offline its stand-in page here."""
    provider = get_provider(current_app)
    if provider.name == "offline":
        return _offline_portal()
    try:
        url = subscriptions.portal_url(db.session, g.tenant, provider, _absolute(url_for("billing.page")))
    except PaymentProviderError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _back()
    db.session.commit()  # the customer, if this created it
    return redirect(url, 303)


def _offline_portal():
    """Offline stand-in for Stripe's portal: payment method (the test card), invoices, cancel or resume."""
    row = subscriptions.live_subscription(db.session, g.tenant)
    return render(
        "billing/portal.html",
        subscription=row,
        quote=subscriptions.current_quote(row) if row is not None else None,
        trial=lifecycle.trial_of(g.tenant, row, utcnow()),
        plan=get_plan(g.tenant.plan),
        test_card=offline_card.card_outcome(db.session, g.tenant),
        invoices=billing_invoices.list_invoices(db.session, g.tenant, per_page=10).items,
        status_of=invoice_status,
    )


# ---- offline mode: the test card and "Pay now"


def _offline_only() -> None:
    if get_provider(current_app).name != "offline":
        abort(404)  # Stripe has real cards: they are managed on its portal


@bp.post(f"{PAGE}/test-card")
@login_required
@require_permission("manage_billing")
def set_test_card():
    """Offline mode: choose whether the workspace's test card pays or is declined from the next attempt on."""
    _offline_only()
    try:
        outcome = offline_card.set_test_card(db.session, g.tenant, request.form.get("card", ""))
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _back()
    db.session.commit()
    flash(
        "Test card saved: the next payment attempt goes through."
        if outcome == "succeeds"
        else "Test card saved: the next payment attempt (renewal, retry or Pay now) is declined.",
        "success",
    )
    return _back()


@bp.post(f"{PAGE}/pay")
@login_required
@require_permission("manage_billing")
def pay_now():
    """Offline mode: pay the unpaid invoice now with the workspace's test card."""
    _offline_only()
    try:
        outcome = offline_cycle.pay_now(db.session, g.tenant)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _back()
    db.session.commit()  # the events are processed after this commit (at once with inline jobs)
    if outcome.action != "retried_paid":
        flash(
            "Your card was declined, so the invoice is still unpaid. Set the test card to "
            "“Succeeds” and press Pay now again.",
            "error",
        )
    elif g.tenant.subscription_status == "active":
        flash("Payment received: the workspace is fully active again.", "success")
    else:
        flash("Payment received: the workspace is restored as soon as the payment is confirmed.", "success")
    return _back()
