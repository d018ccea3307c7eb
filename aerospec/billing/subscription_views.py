"""The billing page for tenant admins: plan, status, period, usage, seats, plan changes, cancel/resume, and the
portal (Stripe's, or offline its stand-in page)."""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_login import current_user, login_required

from aerospec.billing import bp, lifecycle, offline_cycle, subscriptions, usage
from aerospec.billing import invoices as billing_invoices
from aerospec.billing.invoice_views import _status as invoice_status
from aerospec.billing.plans import BILLING_INTERVALS, FEATURE_LABELS, LIMIT_LABELS, PLANS, get_plan
from aerospec.billing.providers import PaymentProviderError, get_provider
from aerospec.configurations import quotas
from aerospec.errors import DomainError
from aerospec.extensions import db
from aerospec.models import utcnow
from aerospec.tenancy import services as tenancy
from aerospec.tenancy.permissions import require_permission
from aerospec.web.htmx import hx_redirect, render

PAGE = "/t/<tenant_slug>/billing"
STATUS_WORDS = {
    "trialing": "Free trial",
    "active": "Active",
    "past_due": "Payment overdue (grace period)",
    "read_only": "Read-only: payment overdue",
    "suspended": "Suspended: payment overdue",
    "expired": "Trial ended: read-only",
    "canceled": "Subscription ended: read-only",
}
STATUS_BADGES = {"trialing": "badge-info", "active": "badge-success", "past_due": "badge-warning"}


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


@bp.route(PAGE)
@login_required
@require_permission("manage_billing")
def page():
    """The workspace's plan and status, usage against each limit, plans to switch to, invoices and the portal."""
    now = utcnow()
    state = subscriptions.subscription_state(db.session, g.tenant, now)
    row = subscriptions.live_subscription(db.session, g.tenant)
    interval = _interval(request.args.get("interval"), row.interval if row is not None else "month")
    provider = get_provider(current_app)
    current = lifecycle.current_subscription(db.session, g.tenant)
    unpaid = offline_cycle.open_invoice(db.session, g.tenant, current) if current is not None else None
    if unpaid is not None and not unpaid.attempt_count:
        unpaid = None  # finalised but not yet charged: nothing has failed
    offline = provider.name == "offline"
    return render(
        "billing/page.html",
        block="plan_choice",
        state=state,
        status_words=STATUS_WORDS.get(state["status"], state["status"]),
        status_badge=STATUS_BADGES.get(state["status"], "badge-danger"),
        subscription=row,
        current_plan=get_plan(g.tenant.plan),
        plans=list(PLANS.values()),
        interval=interval,
        usage=usage.usage_summary(db.session, g.tenant, quotas.counter_for(current_app), now),
        # A running subscription cannot move to a plan with fewer seats than members: say so on the card.
        too_small={
            plan.key: subscriptions.downgrade_blocker(db.session, g.tenant, plan.key)
            for plan in PLANS.values()
            if row is not None
        },
        seats=tenancy.seat_usage(db.session, g.tenant),
        trial_days=tenancy.trial_days_left(g.tenant, now),
        invoices=billing_invoices.list_invoices(db.session, g.tenant, per_page=5).items,
        status_of=invoice_status,
        limit_labels=LIMIT_LABELS,
        feature_labels=FEATURE_LABELS,
        offline=offline,
        test_card=offline_cycle.card_outcome(db.session, g.tenant) if offline else None,
        unpaid=unpaid,
        can_pay_now=offline and unpaid is not None and unpaid.provider == "offline",
        checkout=request.args.get("checkout"),
        dunning_info=lifecycle.banner(db.session, g.tenant, now),
    )


@bp.post(f"{PAGE}/plan")
@login_required
@require_permission("manage_billing")
def choose_plan():
    """Upgrade or downgrade: to Checkout without a running subscription, else to the confirmation."""
    plan, interval = request.form.get("plan", ""), _interval(request.form.get("interval"), "")
    try:
        subscriptions.check_choice(plan, interval)
    except DomainError as error:
        flash(error.message, "error")
        return _back()
    if subscriptions.live_subscription(db.session, g.tenant) is not None:
        return hx_redirect(url_for("billing.confirm_change", plan=plan, interval=interval))
    success = url_for("billing.page", checkout="success", _external=False)
    cancel = url_for("billing.page", checkout="cancelled", _external=False)
    base = current_app.config["BASE_URL"].rstrip("/")
    try:
        checkout = subscriptions.subscribe(
            db.session, g.tenant, current_user, plan, interval, get_provider(current_app), base + success, base + cancel
        )
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _back()
    db.session.commit()
    return hx_redirect(_absolute(checkout.url))


@bp.route(f"{PAGE}/change", methods=["GET", "POST"])
@login_required
@require_permission("manage_billing")
def confirm_change():
    """Confirm a plan change on a running subscription, showing what it bills now (the proration)."""
    source = request.form if request.method == "POST" else request.args
    plan, interval = source.get("plan", ""), _interval(source.get("interval"), "")
    provider = get_provider(current_app)
    try:
        subscriptions.check_choice(plan, interval)
        row = subscriptions.require_live(db.session, g.tenant)
    except DomainError as error:
        flash(error.message, "error")
        return _back()
    blocker = subscriptions.downgrade_blocker(db.session, g.tenant, plan)
    if blocker is not None:
        # Said on the confirmation itself, before any button: what stops the change and what to do.
        return render(
            "billing/confirm.html",
            status=409,
            action="change",
            plan=get_plan(plan),
            interval=interval,
            current=get_plan(row.plan),
            subscription=row,
            estimate=None,
            blocker=blocker,
        )
    try:
        if request.method == "POST":
            proration = request.form.get("proration_date", type=int)
            subscriptions.change_plan(
                db.session, g.tenant, current_user, plan, interval, provider, proration_date=proration
            )
            db.session.commit()
            flash(f"Your plan is now {get_plan(plan).name}, billed {subscriptions._every(interval)}.", "success")
            return _back()
        estimate = subscriptions.preview_change(db.session, g.tenant, plan, interval, provider)
    except (DomainError, PaymentProviderError) as error:
        db.session.rollback()
        flash(error.message, "error")
        return _back()
    row = subscriptions.live_subscription(db.session, g.tenant)
    return render(
        "billing/confirm.html",
        action="change",
        plan=get_plan(plan),
        interval=interval,
        current=get_plan(row.plan),
        subscription=row,
        estimate=estimate,
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
        subscriptions.set_cancel_at_period_end(db.session, g.tenant, current_user, cancel, get_provider(current_app))
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
    return render(
        "billing/portal.html",
        subscription=subscriptions.live_subscription(db.session, g.tenant),
        plan=get_plan(g.tenant.plan),
        test_card=offline_cycle.card_outcome(db.session, g.tenant),
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
        outcome = offline_cycle.set_test_card(db.session, g.tenant, request.form.get("card", ""))
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
