"""Procurement pages: quote comparison on a configuration, new order, order list and order detail."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from flask import abort, current_app, flash, g, make_response, request, url_for
from flask_login import login_required
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from aerospec import queueing
from aerospec.configurations.models import Configuration
from aerospec.errors import Conflict, ValidationFailed
from aerospec.extensions import db
from aerospec.models import utcnow
from aerospec.pagination import page_arg
from aerospec.procurement import bp
from aerospec.procurement import services as procurements
from aerospec.procurement.clients import QuoteItem
from aerospec.procurement.forms import EXTRA_ITEM_ROWS, ORDER_TYPE_HELP, ProcurementForm, compared_field
from aerospec.procurement.models import ORDER_TYPES, STATUSES, SUPPLIERS, Procurement
from aerospec.procurement.quotes import Answer, compare_quotes, items_key, summarise
from aerospec.procurement.suppliers import quote_timeout, supplier_clients, supplier_job_timeout
from aerospec.tenancy.context import get_for_tenant_or_404
from aerospec.tenancy.forms import EmptyForm
from aerospec.tenancy.permissions import can, require_permission
from aerospec.web.client import client_info
from aerospec.web.htmx import hx_redirect, is_htmx, render

T = "/t/<tenant_slug>"
QUOTES = f"{T}/configurations/<uuid:config_id>/quotes"
ORDERS = f"{T}/procurements"
DEFAULT_COMPARE_QTY = 100
# A sample order starts at one of each (the sandbox suppliers' first volume break is 1): a sample is for
# trying the part, not the quantity a quote was compared at.
SAMPLE_QTY = 1
STOP_POLLING = 286  # htmx stops an `every` trigger on this status
AVAILABILITY_LABELS = {"in_stock": "In stock", "backorder": "Backorder", "unavailable": "Unavailable"}
PAYMENT_LABELS = {"unpaid": "Unpaid", "pending": "Payment pending", "paid": "Paid", "failed": "Payment failed"}


@bp.app_template_filter("money")
def money(amount, currency: str = "USD", unit: bool = False) -> str:
    """'USD 1,234.50': every amount with its currency and two decimals (never through a float).

    unit=True is for unit prices, which suppliers quote to 4 decimals: 'USD 0.0290', not a
    rounded 'USD 0.03' that would not multiply out to the line total.
    """
    if amount is None or amount == "":
        return "—"
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    places = 4 if unit and value != value.quantize(Decimal("0.01")) else 2
    return f"{currency} {value:,.{places}f}"


MONEY_IN_TEXT = re.compile(r"\b([A-Z]{3}) (?=[0-9])")


@bp.app_template_filter("money_together")
def money_together(text: str) -> str:
    """A sentence whose amounts ("USD 1,802.17") never break between the currency and the digits."""
    return MONEY_IN_TEXT.sub("\\1\u00a0", text or "")


def _labels() -> dict:
    return {
        "supplier_labels": procurements.SUPPLIER_LABELS,
        "event_source": procurements.event_source,
        "status_labels": procurements.STATUS_LABELS,
        "availability_labels": AVAILABILITY_LABELS,
        "payment_labels": PAYMENT_LABELS,
        "order_type_help": ORDER_TYPE_HELP,
    }


# ---- quote comparison on a configuration


class Comparison:
    """What the compare form asked for: one quantity for the chosen actuators, routed to their suppliers."""

    def __init__(self, config: Configuration, args):
        self.config = config
        self.errors: list[str] = []
        raw_qty = args.get("qty")
        try:
            self.qty = int(raw_qty) if raw_qty not in (None, "") else DEFAULT_COMPARE_QTY
        except ValueError:
            self.qty = DEFAULT_COMPARE_QTY
            self.errors.append("Quantity must be a whole number.")
        if not 1 <= self.qty <= procurements.MAX_QTY:
            self.errors.append(f"Quantity must be between 1 and {procurements.MAX_QTY:,}.")
            self.qty = min(max(self.qty, 1), procurements.MAX_QTY)
        asked = [s.strip() for s in args.getlist("sku") if s.strip()]
        self.skus = list(dict.fromkeys(asked)) if "sku" in args else default_skus(config)
        items = [QuoteItem(sku, self.qty) for sku in self.skus]
        self.routed = procurements.items_by_supplier(db.session, items) if items else {}
        known = {i.sku for group in self.routed.values() for i in group}
        unknown = [s for s in self.skus if s not in known]
        if unknown:
            self.errors.append(f"Not in the actuator catalog: {', '.join(unknown)}.")
        if not self.skus:
            self.errors.append("Choose at least one actuator to compare.")
        self.suppliers = [s for s in SUPPLIERS if s in self.routed]

    def query(self) -> dict:
        """Query-string arguments for this comparison."""
        return {"qty": self.qty, "sku": self.skus}

    def order_url(self, supplier: str) -> str:
        """The new-order form for this supplier's items, carrying the comparison for the order's record."""
        items = self.routed.get(supplier, [])
        return url_for(
            "procurement.create",
            configuration=self.config.id,
            supplier=supplier,
            sku=[i.sku for i in items],
            qty=[i.qty for i in items],
            compared=compared_field(i for group in self.routed.values() for i in group),
        )


@bp.app_template_global("procurement_default_skus")
def default_skus(config: Configuration) -> list[str]:
    """Each supplier's best-ranked compatible actuator (the list is saved best first)."""
    chosen: dict[str, str] = {}
    entries = [a for a in (config.compatible_actuators or []) if isinstance(a, dict) and a.get("sku")]
    missing = [a["sku"] for a in entries if not a.get("supplier")]
    owners: dict[str, str] = {}
    if missing:  # entries saved by SKU alone: ask the catalog whose part each is
        routed = procurements.items_by_supplier(db.session, [QuoteItem(sku, 1) for sku in missing])
        owners = {item.sku: supplier for supplier, group in routed.items() for item in group}
    for entry in entries:
        supplier = entry.get("supplier") or owners.get(entry["sku"])
        if supplier and supplier not in chosen:
            chosen[supplier] = entry["sku"]
    return [chosen[s] for s in SUPPLIERS if s in chosen]


ANSWER_SALT = "aerospec.quote-answer"


def _answer_signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=ANSWER_SALT)


def _answer_token(comparison: Comparison, result) -> str:
    """A card's answer as a signed hidden input: the summary compares what the cards show.

    The summary cannot re-read the quotes from the 60-second cache: that cache lives in one
    web process, and the summary request may land on another (gunicorn runs several), so it
    would find one quote or none and say "Only Spencer quoted" beside two quotes.
    """
    items = [list(pair) for pair in items_key(comparison.routed[result.supplier])]
    return _answer_signer().dumps({**Answer.of(result).to_token(), "items": items})


def _answers(comparison: Comparison, tokens: list[str]) -> dict[str, Answer]:
    """The cards' answers the summary request carries, keeping only those for this comparison's items."""
    answers: dict[str, Answer] = {}
    for token in tokens:
        try:
            data = _answer_signer().loads(token)  # SECURITY: signed, so a page cannot make up a quote
            answer = Answer.from_token(data)
        except (BadSignature, KeyError, TypeError, ValueError, ArithmeticError):
            continue
        routed = comparison.routed.get(answer.supplier)
        if routed is not None and data.get("items") == [list(pair) for pair in items_key(routed)]:
            answers[answer.supplier] = answer
    return answers


def _compare_context(comparison: Comparison, results=None) -> dict:
    context = {
        "config": comparison.config,
        "comparison": comparison,
        "results": results,
        "answer_tokens": {},
        "may_order": can(g.membership.role, "order_samples"),
        **_labels(),
    }
    if results is not None:
        context["answer_tokens"] = {r.supplier: _answer_token(comparison, r) for r in results}
        context["summary_results"] = [a for a in summarise([Answer.of(r) for r in results]) if a.ok]
    return context


@bp.route(QUOTES)
@login_required
@require_permission("view_procurements")
def compare(config_id: uuid.UUID):
    """Compare suppliers' quotes for a configuration's actuators: one card per supplier.

    htmx gets the cards as placeholders that each load their own supplier's quote; a plain
    request (no JavaScript) waits for every supplier and gets the whole page with the quotes.
    """
    config = get_for_tenant_or_404(Configuration, config_id)
    comparison = Comparison(config, request.args)
    results = None
    if not is_htmx() and comparison.routed and not comparison.errors:
        results = compare_quotes(supplier_clients(), comparison.routed, quote_timeout())
    status = 422 if comparison.errors else 200
    return render(
        "procurement/compare.html", block="quote_results", status=status, **_compare_context(comparison, results)
    )


@bp.route(f"{QUOTES}/card")
@login_required
@require_permission("view_procurements")
def quote_card(config_id: uuid.UUID):
    """One supplier's quote card (?supplier=), loaded on its own so it shows as soon as that supplier answers."""
    config = get_for_tenant_or_404(Configuration, config_id)
    supplier = request.args.get("supplier")
    if supplier not in SUPPLIERS:
        abort(400, "Ask for one supplier: ?supplier=spencer or ?supplier=coster.")
    comparison = Comparison(config, request.args)
    context = _compare_context(comparison)
    result = None
    if supplier in comparison.routed:
        client = [c for c in supplier_clients() if c.name == supplier]
        result = compare_quotes(client, {supplier: comparison.routed[supplier]}, quote_timeout())[0]
        # A card alone is trivially the best and fastest; the summary flags the cards together.
        result = replace(result, best_total=False, fastest_delivery=False)
        context["answer_tokens"] = {supplier: _answer_token(comparison, result)}
    response = render("procurement/_quote_card.html", supplier=supplier, result=result, **context)
    response.headers["HX-Trigger-After-Settle"] = "quote-loaded"
    return response


@bp.route(f"{QUOTES}/summary")
@login_required
@require_permission("view_procurements")
def quote_summary(config_id: uuid.UUID):
    """Once every card is in: best total and fastest delivery among the answers the cards show."""
    config = get_for_tenant_or_404(Configuration, config_id)
    comparison = Comparison(config, request.args)
    answers = _answers(comparison, request.args.getlist("answer"))
    waiting = [s for s in comparison.suppliers if s not in answers]
    summary = [] if waiting else summarise([answers[s] for s in comparison.suppliers])
    return render(
        "procurement/_quote_summary.html",
        waiting=waiting,
        summary_results=[a for a in summary if a.ok],
        **_compare_context(comparison),
    )


# ---- list


@bp.route(ORDERS)
@login_required
@require_permission("view_procurements")
def index():
    """The workspace's orders: filter by status, order type, supplier or reference; 25 a page."""
    args = request.args
    page = page_arg(args)
    filters = {
        "status": args.get("status") if args.get("status") in STATUSES else "",
        "order_type": args.get("order_type") if args.get("order_type") in ORDER_TYPES else "",
        "supplier": args.get("supplier") if args.get("supplier") in SUPPLIERS else "",
        "q": (args.get("q") or "").strip()[:100],
    }
    result = procurements.list_procurements(
        db.session,
        g.tenant,
        status=filters["status"] or None,
        order_type=filters["order_type"] or None,
        supplier=filters["supplier"] or None,
        q=filters["q"] or None,
        page=page,
        per_page=25,
    )
    state = {k: v for k, v in filters.items() if v}
    return render(
        "procurement/index.html",
        block="results",
        result=result,
        filters=filters,
        state=state,
        statuses=STATUSES,
        order_types=ORDER_TYPES,
        suppliers=SUPPLIERS,
        **_labels(),
    )


# ---- create


def _prefill(args) -> tuple[dict, Configuration | None]:
    """The new-order form's starting values from ?configuration=&supplier=&sku=&qty= (the quote card's link)."""
    data: dict = {"order_type": "sample", "selected_supplier": args.get("supplier", "")}
    config = None
    config_id = args.get("configuration")
    if config_id:
        try:
            cid = uuid.UUID(config_id)
        except ValueError:
            cid = None
        if cid is not None:
            config = db.session.scalar(
                select(Configuration).where(Configuration.id == cid, Configuration.tenant_id == g.tenant.id)
            )
    if config is not None:
        data["configuration_id"] = str(config.id)
    data["compared"] = (args.get("compared") or "")[:2000]
    skus = args.getlist("sku")
    qtys = args.getlist("qty")
    items = []
    compared_qty = set()
    for i, sku in enumerate(skus):
        try:
            qty = int(qtys[i]) if i < len(qtys) else None
        except ValueError:
            qty = None
        if qty is not None:
            compared_qty.add(qty)
        items.append({"sku": sku, "qty": SAMPLE_QTY})
    data["compared_qty"] = compared_qty.pop() if len(compared_qty) == 1 else None
    if not items and config is not None:
        best = default_skus(config)[:1]
        if best:
            items = [{"sku": best[0], "qty": SAMPLE_QTY}]
            if not data["selected_supplier"]:
                owner = procurements.items_by_supplier(db.session, [QuoteItem(best[0], 1)])
                data["selected_supplier"] = next(iter(owner), "")
    if data["selected_supplier"] not in SUPPLIERS:
        data["selected_supplier"] = ""
    data["items"] = items or [{"sku": "", "qty": None}]
    last = procurements.list_procurements(db.session, g.tenant, per_page=1).items
    if last and last[0].ship_to_address:
        data["ship_to_address"] = dict(last[0].ship_to_address)  # most orders go to the same lab
    return data, config


def _form_configuration(form: ProcurementForm) -> Configuration | None:
    try:
        cid = uuid.UUID(form.configuration_id.data) if form.configuration_id.data else None
    except ValueError:
        return None
    if cid is None:
        return None
    return db.session.scalar(
        select(Configuration).where(Configuration.id == cid, Configuration.tenant_id == g.tenant.id)
    )


@bp.route(f"{ORDERS}/new", methods=["GET", "POST"])
@login_required
@require_permission("order_samples")
def create():
    """A new draft order, priced from the chosen supplier's live quote."""
    status = 200
    if request.method == "GET":
        data, config = _prefill(request.args)
        compared_qty = data.pop("compared_qty", None)
        form = ProcurementForm(formdata=None, data=data)
        for _ in range(EXTRA_ITEM_ROWS):
            form.items.append_entry()
    else:
        compared_qty = None
        form = ProcurementForm()
        config = _form_configuration(form)
        if form.validate_on_submit():
            body, rows = form.data_for_service()
            try:
                procurement = procurements.create_procurement(
                    db.session,
                    g.tenant,
                    g.membership.user,
                    body,
                    clients=supplier_clients(),
                    quote_timeout=quote_timeout(),
                    client=client_info(),
                )
            except ValidationFailed as error:
                db.session.rollback()
                form.apply_service_errors(error, rows)
                status = 422
            except procurements.SupplierUnavailableError as error:
                db.session.rollback()
                form.form_errors.append(error.message)
                status = 503
            else:
                db.session.commit()
                flash(f"Draft order {procurement.reference} saved. Check it and submit it when it is ready.", "success")
                return hx_redirect(url_for("procurement.detail", procurement_id=procurement.id))
        else:
            status = 422
    return render(
        "procurement/new.html",
        status=status,
        form=form,
        config=config,
        sample_qty=SAMPLE_QTY,
        compared_qty=compared_qty,
        **_labels(),
    )


# ---- detail, status polling and actions


def _configuration_of(procurement: Procurement) -> Configuration | None:
    if procurement.configuration_id is None:
        return None
    return db.session.scalar(
        select(Configuration).where(
            Configuration.id == procurement.configuration_id, Configuration.tenant_id == g.tenant.id
        )
    )


# After the provider's success redirect, a payment not yet confirmed by its event reads as
# "confirming" (not as an earlier decline) for this long; then the page shows what it knows.
CONFIRMING_SECONDS = 300
WATCH_FAST, WATCH_SLOW = 2, 5  # seconds between the order page's polls


def _returned_at() -> datetime | None:
    """When the payer came back from the checkout's success page (first load, then carried by the poll)."""
    if request.args.get("payment") == "returned" and "returned" not in request.args:
        return utcnow()
    try:
        return datetime.fromtimestamp(float(request.args["returned"]), UTC)
    except (KeyError, ValueError, OverflowError, OSError):
        return None


def _confirming(procurement: Procurement, returned_at: datetime | None) -> bool:
    """Back from a successful checkout, no payment news since: the provider's event is on its way.

    A decline just before the successful try (same checkout) must not read as the outcome, so
    the page says it is confirming the payment until an event arrives, for CONFIRMING_SECONDS.
    """
    if returned_at is None or procurement.payment_status == "paid":
        return False
    if utcnow() - returned_at > timedelta(seconds=CONFIRMING_SECONDS):
        return False
    return not any(e.kind == "payment" and e.created_at > returned_at for e in procurement.events)


def _watch_every(procurement: Procurement, confirming: bool) -> int | None:
    """How often the page asks for news (s): fast while a payment is in flight, None once nothing can change."""
    if confirming or procurement.payment_status == "pending":
        return WATCH_FAST
    if procurement.status == "cancelled" or (
        procurement.status == "delivered" and procurement.payment_status == "paid"
    ):
        return None
    return WATCH_SLOW


def _status_token(procurement: Procurement, confirming: bool) -> str:
    """Changes whenever the live region would: the poller sends it back and gets 204 while it holds."""
    p = procurement
    return "|".join(
        str(part)
        for part in (
            p.status,
            len(p.events),
            p.tracking_number,
            p.expected_delivery,
            p.payment_status,
            p.payment_error,
            confirming,
        )
    )


def _detail_context(procurement: Procurement, **extra) -> dict:
    """The order page's state, computed once so the status, payment, actions and timeline agree."""
    returned_at = _returned_at()
    confirming = _confirming(procurement, returned_at)
    problems = procurements.ready_to_submit(procurement) if procurement.status == "draft" else []
    if confirming:
        problems = [p for p in problems if p != procurements.PAY_FIRST]
    offer = None if confirming else procurements.withdrawal(procurement)
    watch_every = _watch_every(procurement, confirming)
    token = _status_token(procurement, confirming)
    watch_vals = {"seen": token}
    if returned_at is not None and procurement.payment_status != "paid":
        watch_vals["returned"] = f"{returned_at.timestamp():.3f}"
    return {
        "status_token": token,
        "announce": False,
        "procurement": procurement,
        "configuration": _configuration_of(procurement),
        "problems": problems,
        "may_order": can(g.membership.role, "order_samples"),
        "confirming": confirming,
        "offer": offer,  # the one of "Cancel order" / "Delete" the page offers (services.withdrawal)
        "cancellable": procurement.status in procurements.CANCELLABLE,
        "deletable": offer == "delete",
        "watch_every": watch_every,
        "watch_vals": watch_vals,
        "event_tone": procurements.event_tone,
        "action_form": EmptyForm(),
        "action_error": None,
        **_labels(),
        **extra,
    }


@bp.route(f"{ORDERS}/<uuid:procurement_id>")
@login_required
@require_permission("view_procurements")
def detail(procurement_id: uuid.UUID):
    """One order: totals, lines, ship-to address, supplier tracking, timeline and what can be done next."""
    procurement = get_for_tenant_or_404(Procurement, procurement_id)
    return render("procurement/detail.html", **_detail_context(procurement))


@bp.route(f"{ORDERS}/<uuid:procurement_id>/status")
@login_required
@require_permission("view_procurements")
def status(procurement_id: uuid.UUID):
    """The order page's live region (status, payment, actions, timeline) as one fragment, so they
    always agree: 204 while nothing changed, 286 once nothing more can happen (htmx stops polling)."""
    procurement = get_for_tenant_or_404(Procurement, procurement_id)
    if not is_htmx():
        return hx_redirect(url_for("procurement.detail", procurement_id=procurement.id))
    _ask_supplier_if_due(procurement)
    context = _detail_context(procurement)
    if context["watch_every"] and request.args.get("seen") == context["status_token"]:
        return make_response("", 204)  # nothing new: keep the page (and screen readers) quiet
    context["announce"] = request.args.get("seen") not in (None, context["status_token"])
    code = 200 if context["watch_every"] else STOP_POLLING
    response = render("procurement/detail.html", block="order_live", status=code, **context)
    response.headers["Cache-Control"] = "no-store"
    return response


def _ask_supplier_if_due(procurement: Procurement) -> None:
    """While someone watches an open order, ask its supplier at most every PROCUREMENT_PAGE_POLL_SECONDS.

    The 10-minute poll job follows every open order anyway; this only makes a watched page
    fresher. The stable job id collapses several watchers into one request to the supplier.
    """
    if procurement.status not in procurements.OPEN_STATUSES or not procurement.supplier_order_id:
        return
    every = timedelta(seconds=float(current_app.config.get("PROCUREMENT_PAGE_POLL_SECONDS", 60)))
    if procurement.last_polled_at is not None and utcnow() - procurement.last_polled_at < every:
        return
    queueing.enqueue(
        db.session,
        "jobs.procurement.poll_order",
        str(procurement.tenant_id),
        str(procurement.id),
        job_id=f"procurement-poll-{procurement.id}",
        retries=0,
        timeout=supplier_job_timeout(),
    )
    db.session.commit()


def _refused(procurement_id: uuid.UUID, error: Conflict):
    """Show why an action was refused on the order's page (409), with the order as it stands."""
    db.session.rollback()
    procurement = get_for_tenant_or_404(Procurement, procurement_id)
    return render(
        "procurement/detail.html",
        block="order_live",
        status=409,
        **_detail_context(procurement, action_error=error.message),
    )


@bp.route(f"{ORDERS}/<uuid:procurement_id>/submit", methods=["POST"])
@login_required
@require_permission("order_samples")
def submit(procurement_id: uuid.UUID):
    """Send a ready draft to its supplier."""
    EmptyForm()
    procurement = get_for_tenant_or_404(Procurement, procurement_id)
    try:
        procurements.submit(db.session, g.tenant, g.membership.user, procurement, client=client_info())
    except Conflict as error:
        return _refused(procurement_id, error)
    reference = procurement.reference
    db.session.commit()
    flash(f"{reference} submitted; it is on its way to the supplier.", "success")
    return hx_redirect(url_for("procurement.detail", procurement_id=procurement_id))


@bp.route(f"{ORDERS}/<uuid:procurement_id>/draft", methods=["POST"])
@login_required
@require_permission("order_samples")
def return_to_draft(procurement_id: uuid.UUID):
    """Bring a failed order back to draft to fix it and submit again."""
    EmptyForm()
    procurement = get_for_tenant_or_404(Procurement, procurement_id)
    try:
        procurements.request_status(db.session, g.tenant, g.membership.user, procurement, "draft", client=client_info())
    except Conflict as error:
        return _refused(procurement_id, error)
    db.session.commit()
    flash("Back to draft: fix what the supplier refused, then submit again.", "success")
    return hx_redirect(url_for("procurement.detail", procurement_id=procurement_id))


@bp.route(f"{ORDERS}/<uuid:procurement_id>/cancel", methods=["GET", "POST"])
@login_required
@require_permission("order_samples")
def cancel(procurement_id: uuid.UUID):
    """Cancel an order not yet shipped, after a confirmation step that says what happens."""
    procurement = get_for_tenant_or_404(Procurement, procurement_id)
    form = EmptyForm()
    if request.method == "POST" and request.form.get("confirm") == "yes" and form.validate_on_submit():
        try:
            procurements.cancel(db.session, g.tenant, g.membership.user, procurement, client=client_info())
        except Conflict as error:
            return _refused(procurement_id, error)
        reference = procurement.reference
        db.session.commit()
        flash(f"{reference} cancelled.", "success")
        return hx_redirect(url_for("procurement.detail", procurement_id=procurement_id))
    return render("procurement/confirm.html", action="cancel", **_detail_context(procurement, action_form=form))


@bp.route(f"{ORDERS}/<uuid:procurement_id>/delete", methods=["GET", "POST"])
@login_required
@require_permission("order_samples")
def delete(procurement_id: uuid.UUID):
    """Delete a draft (or a cancelled order never sent), after a confirmation step."""
    procurement = get_for_tenant_or_404(Procurement, procurement_id)
    form = EmptyForm()
    if request.method == "POST" and request.form.get("confirm") == "yes" and form.validate_on_submit():
        reference = procurement.reference
        try:
            procurements.delete_draft(db.session, g.tenant, g.membership.user, procurement, client=client_info())
        except Conflict as error:
            return _refused(procurement_id, error)
        db.session.commit()
        flash(f"{reference} deleted.", "success")
        return hx_redirect(url_for("procurement.index"))
    return render("procurement/confirm.html", action="delete", **_detail_context(procurement, action_form=form))
