"""Invoices: the mirror of the provider's invoices, procurement commissions on them, and their PDF.

Mirror. `upsert_invoice` copies a Stripe-shaped invoice object into `invoices`, keyed by
`provider_invoice_id`. It is idempotent and order-safe: a status only moves forward
(draft → open → uncollectible → paid | void; paid and void are final), and within one
status an object with fewer payment attempts than the row is stale and changes nothing.
Stripe's invoice.paid, invoice.payment_succeeded and invoice.payment_failed events call it
with the event's `data.object`; the offline provider calls it with objects of the same shape.

Procurement commissions on the monthly invoice. Paying a procurement order records a
`ProcurementCommission` (procurement services) with `invoiced_at` NULL. It is billed once, on
the tenant's next subscription invoice:

* Stripe: before the period closes (the daily billing job), `push_commission_invoice_items`
  creates one pending InvoiceItem per uninvoiced commission on the tenant's Stripe customer
  (and subscription), with metadata {kind: commission, procurement_id, commission_id}; Stripe
  sweeps pending items into the subscription's next invoice. The InvoiceItem id (`ii_…`) is
  kept in the commission's `invoice_id` so a commission is pushed once (the request also
  carries an idempotency key per commission).
* Offline: `issue_offline_invoice` puts the plan line and every pending commission line on
  the invoice it issues.
* Either way, when an invoice carrying commission lines is mirrored, `mark_commissions_invoiced`
  matches its lines by metadata procurement_id and sets `invoiced_at` and `invoice_id` (`in_…`),
  so a commission never appears on a second invoice. Voiding that invoice forgives them.

Amounts stay in minor units (cents) as the provider sends them; commissions (Decimal) are
converted with `providers.to_minor`.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aerospec.billing.models import BillingSubscription, Invoice
from aerospec.billing.providers import ZERO_DECIMAL, from_minor, from_unix, to_minor
from aerospec.models import get_owned, utcnow
from aerospec.pagination import Page, window
from aerospec.tenancy.scoping import unscoped

# aerospec.procurement is imported inside functions: importing it here would close an import
# cycle (web → billing → procurement → configurations → catalog → tenancy.context → web).

log = logging.getLogger(__name__)

PROVIDERS = ("stripe", "offline")
# How far an invoice has come; an object never moves a row back down (paid/void are final).
STATUS_RANK = {"draft": 0, "open": 1, "uncollectible": 2, "paid": 3, "void": 3}
STATUS_LABELS = {
    "draft": "Draft",
    "open": "Awaiting payment",
    "paid": "Paid",
    "void": "Void",
    "uncollectible": "Uncollectible",
}
COMMISSION = "commission"
SUBSCRIPTION = "subscription"
PER_PAGE = 20
MAX_PER_PAGE = 100


# -- helpers --------------------------------------------------------------------------------------


def _unix(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


def _get(obj: Mapping | None, *path: str, default: Any = None) -> Any:
    """obj[path[0]][path[1]]…, or default when a step is missing or null (SDK objects index like dicts)."""
    current: Any = obj
    for key in path:
        if current is None:
            return default
        try:
            current = current[key]
        except (KeyError, TypeError, IndexError):
            return default
    return default if current is None else current


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _line_from_stripe(line: Mapping) -> dict:
    """One invoice line as the `invoices.lines` column keeps it."""
    metadata = dict(_get(line, "metadata", default={}) or {})
    kind = metadata.get("kind") or (SUBSCRIPTION if _get(line, "type") == "subscription" else "item")
    if kind != COMMISSION and (_get(line, "subscription") or _get(line, "parent", "subscription_item_details")):
        kind = SUBSCRIPTION
    return {
        "description": str(_get(line, "description", default="")),
        "quantity": _int(_get(line, "quantity", default=1)) or 1,
        "amount": _int(_get(line, "amount")),
        "unit_amount": _unit_amount(line),
        "kind": kind,
        "ref": metadata.get("procurement_id") if kind == COMMISSION else None,
        "period_start": _get(line, "period", "start"),
        "period_end": _get(line, "period", "end"),
    }


def _unit_amount(line: Mapping) -> int | None:
    """A line's unit price in minor units: the offline line's, Stripe's price or pricing, else amount / quantity."""
    for path in (("unit_amount",), ("price", "unit_amount"), ("pricing", "unit_amount_decimal")):
        value = _get(line, *path)
        if value is not None:
            try:
                return int(Decimal(str(value)))
            except ArithmeticError:
                continue
    quantity = _int(_get(line, "quantity", default=1)) or 1
    amount = _int(_get(line, "amount"))
    return amount // quantity if amount % quantity == 0 else None


def _percent(rate: Decimal) -> str:
    """0.15 → '15', 0.125 → '12.5'."""
    text = format((Decimal(rate) * 100).normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# -- the mirror -----------------------------------------------------------------------------------


def upsert_invoice(session: Session, tenant, obj: Mapping, provider: str = "stripe") -> Invoice:
    """Mirror one provider invoice object into `invoices`; a stale or repeated object changes nothing.

    Call it from invoice.paid, invoice.payment_succeeded and invoice.payment_failed (and any other
    invoice.* event) with the event's data.object. Commission lines it carries are marked invoiced.
    """
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}")
    if hasattr(obj, "to_dict"):  # an SDK StripeObject is neither a dict nor iterable
        obj = obj.to_dict()
    provider_id = str(_get(obj, "id", default=""))
    if not provider_id:
        raise ValueError("an invoice object needs an id")
    status = str(_get(obj, "status", default="draft"))
    if status not in STATUS_RANK:
        raise ValueError(f"unknown invoice status {status!r}")
    attempts = _int(_get(obj, "attempt_count"))

    invoice = session.scalar(
        select(Invoice).where(Invoice.tenant_id == tenant.id, Invoice.provider_invoice_id == provider_id)
    )
    was_paid = invoice is not None and invoice.status == "paid"
    if invoice is None:
        invoice = Invoice(tenant_id=tenant.id, provider=provider, provider_invoice_id=provider_id)
        session.add(invoice)
        fresh = True
    else:
        old_rank, new_rank = STATUS_RANK[invoice.status], STATUS_RANK[status]
        fresh = new_rank > old_rank or (
            new_rank == old_rank and status == invoice.status and attempts >= invoice.attempt_count
        )
        if not fresh:
            log.info("stale invoice object %s (%s, attempt %s) ignored", provider_id, status, attempts)

    if fresh:
        _apply(session, invoice, obj, status, attempts)
    else:
        # Links and the number appear when Stripe finalises; a late copy may still bring them.
        invoice.number = invoice.number or _get(obj, "number")
        invoice.hosted_invoice_url = invoice.hosted_invoice_url or _get(obj, "hosted_invoice_url")
        invoice.invoice_pdf_url = invoice.invoice_pdf_url or _get(obj, "invoice_pdf")
    session.flush()
    if fresh:
        mark_commissions_invoiced(session, tenant, invoice)
    if invoice.status == "paid" and not was_paid:
        _emit_paid(session, tenant, invoice)
    return invoice


def _emit_paid(session: Session, tenant, invoice: Invoice) -> None:
    """The `invoice.paid` webhook (once per invoice), sent after the commit."""
    from aerospec.webhooks import services as webhooks

    webhooks.emit(
        session,
        tenant,
        "invoice.paid",
        {
            "id": str(invoice.id),
            "number": invoice.number,
            "currency": invoice.currency,
            "total": invoice.total,
            "amount_paid": invoice.amount_paid,
            "paid_at": invoice.paid_at,
            "period_start": invoice.period_start,
            "period_end": invoice.period_end,
        },
    )


def _apply(session: Session, invoice: Invoice, obj: Mapping, status: str, attempts: int) -> None:
    invoice.status = status
    invoice.number = _get(obj, "number") or invoice.number
    invoice.currency = str(_get(obj, "currency", default=invoice.currency or "usd")).lower()
    invoice.subtotal = _int(_get(obj, "subtotal"))
    tax = _get(obj, "tax")
    if tax is None:  # newer API versions drop `tax` for total_taxes[]
        tax = sum(_int(_get(t, "amount")) for t in _get(obj, "total_taxes", default=[]) or [])
    invoice.tax = _int(tax)
    invoice.total = _int(_get(obj, "total"))
    invoice.amount_paid = _int(_get(obj, "amount_paid"))
    invoice.amount_due = _int(_get(obj, "amount_due"))
    invoice.attempt_count = attempts
    invoice.period_start = from_unix(_get(obj, "period_start")) or invoice.period_start
    invoice.period_end = from_unix(_get(obj, "period_end")) or invoice.period_end
    invoice.issued_at = (
        from_unix(_get(obj, "status_transitions", "finalized_at"))
        or from_unix(_get(obj, "created"))
        or invoice.issued_at
    )
    invoice.paid_at = from_unix(_get(obj, "status_transitions", "paid_at")) if status == "paid" else None
    if status == "paid" and invoice.paid_at is None:
        invoice.paid_at = utcnow()
    invoice.next_payment_attempt = from_unix(_get(obj, "next_payment_attempt")) if status == "open" else None
    invoice.hosted_invoice_url = _get(obj, "hosted_invoice_url") or invoice.hosted_invoice_url
    invoice.invoice_pdf_url = _get(obj, "invoice_pdf") or invoice.invoice_pdf_url
    lines = _get(obj, "lines", "data")
    if lines is not None:
        invoice.lines = [_line_from_stripe(line) for line in lines]
    subscription_ref = _get(obj, "subscription") or _get(obj, "parent", "subscription_details", "subscription")
    if isinstance(subscription_ref, Mapping):
        subscription_ref = subscription_ref.get("id")
    if subscription_ref:
        invoice.subscription_id = session.scalar(
            select(BillingSubscription.id).where(
                BillingSubscription.tenant_id == invoice.tenant_id,
                BillingSubscription.provider_subscription_id == str(subscription_ref),
            )
        )


def invoice_object(invoice: Invoice) -> dict:
    """A row as a Stripe-shaped invoice object (what the offline provider's invoice.* events carry)."""
    return {
        "id": invoice.provider_invoice_id,
        "object": "invoice",
        "number": invoice.number,
        "status": invoice.status,
        "currency": invoice.currency,
        "subtotal": invoice.subtotal,
        "tax": invoice.tax,
        "total": invoice.total,
        "amount_paid": invoice.amount_paid,
        "amount_due": invoice.amount_due,
        "attempt_count": invoice.attempt_count,
        "period_start": _unix(invoice.period_start),
        "period_end": _unix(invoice.period_end),
        "created": _unix(invoice.issued_at),
        "status_transitions": {"finalized_at": _unix(invoice.issued_at), "paid_at": _unix(invoice.paid_at)},
        "next_payment_attempt": _unix(invoice.next_payment_attempt),
        "hosted_invoice_url": invoice.hosted_invoice_url,
        "invoice_pdf": invoice.invoice_pdf_url,
        "lines": {
            "object": "list",
            "data": [
                {
                    "description": line.get("description"),
                    "quantity": line.get("quantity", 1),
                    "unit_amount": line.get("unit_amount"),
                    "amount": line.get("amount", 0),
                    "currency": invoice.currency,
                    "metadata": {"kind": line["kind"], "procurement_id": line["ref"]}
                    if line.get("kind") == COMMISSION
                    else {"kind": line.get("kind") or SUBSCRIPTION},
                }
                for line in invoice.lines or []
            ],
        },
    }


# -- reads ----------------------------------------------------------------------------------------


def list_invoices(session: Session, tenant, *, page: int = 1, per_page: int = PER_PAGE) -> Page:
    """A page of the tenant's invoices, newest first."""
    per_page = min(max(1, per_page), MAX_PER_PAGE)
    where = (Invoice.tenant_id == tenant.id,)
    total = session.scalar(select(func.count()).select_from(Invoice).where(*where)) or 0
    page, offset = window(total, page, per_page)
    newest = func.coalesce(Invoice.issued_at, Invoice.created_at)
    rows = session.scalars(
        select(Invoice)
        .where(*where)
        .order_by(newest.desc(), Invoice.created_at.desc(), Invoice.id)
        .limit(per_page)
        .offset(offset)
    )
    return Page(list(rows), total, page, per_page)


def get_invoice(session: Session, tenant, invoice_id: uuid.UUID | str) -> Invoice:
    """One of the tenant's invoices (NotFound for a missing id or another tenant's)."""
    return get_owned(session, Invoice, tenant, invoice_id, "No such invoice in this workspace.")


def format_money(minor: int | None, currency: str) -> str:
    """'USD 1,234.50' from minor units: every amount with its currency (never through a float)."""
    if minor is None:
        return "—"
    value = from_minor(int(minor), currency)
    places = ",.0f" if currency.lower() in ZERO_DECIMAL else ",.2f"
    return f"{currency.upper()} {format(value, places)}"


# -- procurement commissions ----------------------------------------------------------------------


def _pending_commissions(
    session: Session, tenant, until: datetime, currency: str, *, unpushed_only: bool
) -> list[tuple[Any, str]]:
    """Uninvoiced commissions recorded before `until` in `currency`, oldest first, with their order reference."""
    from aerospec.procurement.models import Procurement, ProcurementCommission

    query = (
        select(ProcurementCommission, Procurement.reference)
        .join(Procurement, Procurement.id == ProcurementCommission.procurement_id)
        .where(
            ProcurementCommission.tenant_id == tenant.id,
            Procurement.tenant_id == tenant.id,
            ProcurementCommission.invoiced_at.is_(None),
            ProcurementCommission.created_at < until,
            func.lower(ProcurementCommission.currency) == currency.lower(),
        )
        .order_by(ProcurementCommission.created_at, ProcurementCommission.id)
    )
    if unpushed_only:
        query = query.where(ProcurementCommission.invoice_id.is_(None))
    return [(row, reference) for row, reference in session.execute(query)]


def _commission_line(commission, reference: str, currency: str) -> dict:
    base = f"{commission.currency.upper()} {Decimal(commission.base_amount):,.2f}"
    return {
        "description": f"Procurement commission, order {reference}, {_percent(commission.rate)} % of {base}",
        "quantity": 1,
        "amount": to_minor(Decimal(commission.amount), currency),
        "currency": currency.lower(),
        "metadata": {
            "kind": COMMISSION,
            "procurement_id": str(commission.procurement_id),
            "commission_id": str(commission.id),
        },
    }


def pending_commission_lines(session: Session, tenant, until: datetime, *, currency: str = "usd") -> list[dict]:
    """Stripe-shaped invoice lines for the tenant's commissions not yet on any invoice (recorded before `until`)."""
    return [
        _commission_line(commission, reference, currency)
        for commission, reference in _pending_commissions(session, tenant, until, currency, unpushed_only=False)
    ]


def stripe_invoice_items_params(
    session: Session,
    tenant,
    *,
    customer: str,
    until: datetime,
    subscription: str | None = None,
    currency: str = "usd",
) -> list[dict]:
    """The InvoiceItem.create parameters, one per commission not yet pushed to Stripe, oldest first."""
    params = []
    for commission, reference in _pending_commissions(session, tenant, until, currency, unpushed_only=True):
        line = _commission_line(commission, reference, currency)
        item = {
            "customer": customer,
            "amount": line["amount"],
            "currency": line["currency"],
            "description": line["description"],
            "metadata": line["metadata"],
        }
        if subscription:
            item["subscription"] = subscription
        params.append(item)
    return params


def push_commission_invoice_items(
    session: Session,
    tenant,
    client,
    *,
    customer: str,
    until: datetime,
    subscription: str | None = None,
    currency: str = "usd",
) -> list[str]:
    """Create a pending Stripe InvoiceItem per unpushed commission, so the next invoice bills it; returns ii_ ids.

    `client` is a `stripe.StripeClient`. Each request carries an idempotency key per commission,
    and the item id is kept on the commission so a later run does not push it again.
    """
    by_id = {str(c.id): c for c, _ in _pending_commissions(session, tenant, until, currency, unpushed_only=True)}
    created = []
    for params in stripe_invoice_items_params(
        session, tenant, customer=customer, until=until, subscription=subscription, currency=currency
    ):
        commission_id = params["metadata"]["commission_id"]
        item = client.v1.invoice_items.create(params, {"idempotency_key": f"aerospec-commission-{commission_id}"})
        by_id[commission_id].invoice_id = item["id"]
        created.append(item["id"])
    session.flush()
    return created


def mark_commissions_invoiced(session: Session, tenant, invoice: Invoice) -> int:
    """Mark the commissions whose lines this invoice carries (by procurement_id) as invoiced; returns how many."""
    from aerospec.procurement.models import ProcurementCommission

    refs = set()
    for line in invoice.lines or []:
        if line.get("kind") == COMMISSION and line.get("ref"):
            try:
                refs.add(uuid.UUID(str(line["ref"])))
            except ValueError:
                log.warning("invoice %s has a commission line with a bad ref %r", invoice.id, line["ref"])
    if not refs:
        return 0
    commissions = session.scalars(
        select(ProcurementCommission).where(
            ProcurementCommission.tenant_id == tenant.id,
            ProcurementCommission.procurement_id.in_(refs),
            ProcurementCommission.invoiced_at.is_(None),
        )
    ).all()
    when = invoice.issued_at or utcnow()
    for commission in commissions:
        commission.invoiced_at = when
        commission.invoice_id = invoice.provider_invoice_id
    session.flush()
    return len(commissions)


# -- offline invoices -----------------------------------------------------------------------------


def _next_number(session: Session, now: datetime) -> str:
    """AS-YYYYMM-NNNN: one sequence per month across every tenant (invoice numbers are AeroSpec's)."""
    prefix = f"AS-{now:%Y%m}-"
    with unscoped(session, "offline invoice numbers run across tenants"):
        last = session.scalar(select(func.max(Invoice.number)).where(Invoice.number.like(f"{prefix}%")))
    # Two invoices issued in the same instant could share a number; offline mode is a single-process default.
    sequence = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{sequence:04d}"


def subscription_line(
    description: str, quantity: int, unit_amount: int, period_start: datetime, period_end: datetime
) -> dict:
    """A Stripe-shaped subscription line (the workspace price, or the extra seats) for an offline invoice."""
    return {
        "description": description,
        "quantity": quantity,
        "unit_amount": unit_amount,
        "amount": unit_amount * quantity,
        "currency": "usd",
        "type": "subscription",
        "period": {"start": _unix(period_start), "end": _unix(period_end)},
        "metadata": {"kind": SUBSCRIPTION},
    }


def quote_lines(quote, period_start: datetime, period_end: datetime) -> list[dict]:
    """The lines of a plan's price (plans.price_quote) for one period, as an offline invoice carries them."""
    return [
        subscription_line(line.description, line.quantity, line.unit_minor, period_start, period_end)
        for line in quote.lines
    ]


def issue_offline_invoice(
    session: Session,
    tenant,
    subscription_ref: str | None,
    lines: list[dict],
    period_start: datetime,
    period_end: datetime,
    now: datetime,
    *,
    paid: bool = True,
    currency: str = "usd",
    invoice_id: str | None = None,
    next_payment_attempt: datetime | None = None,
    billing_reason: str | None = None,
    amount_due: int | None = None,
    credit_used: int = 0,
    with_commissions: bool = True,
) -> Invoice:
    """Issue the offline provider's invoice: the subscription lines given (the plan's price for a period, or a
    change's proration) plus, unless `with_commissions` is False, every pending procurement commission.

    `amount_due` defaults to the total (never below 0: a negative total is a credit, kept by the caller as
    account credit; `credit_used` is credit that already paid part of it). The commissions it carries are
    marked invoiced, so the next invoice does not repeat them. With paid=False the invoice stays open
    after its first attempt (a failed offline payment, for dunning; `next_payment_attempt` says when the
    retry is due). `invoice_id` makes a renewal's invoice id stable (billing.offline_cycle), so a repeated
    run finds it instead of issuing another.
    """
    lines = list(lines)
    if with_commissions:
        lines += pending_commission_lines(session, tenant, now, currency=currency)
    total = sum(line["amount"] for line in lines)
    due = max(0, total - credit_used) if amount_due is None else amount_due
    stamp = _unix(now)
    obj = {
        "id": invoice_id or f"in_offline_{secrets.token_hex(12)}",
        "object": "invoice",
        "number": _next_number(session, now),
        "status": "paid" if paid else "open",
        "currency": currency,
        "subtotal": total,
        "tax": 0,
        "total": total,
        "amount_paid": due if paid else 0,
        "amount_due": due,
        "attempt_count": 1 if due else 0,
        "period_start": _unix(period_start),
        "period_end": _unix(period_end),
        "created": stamp,
        "status_transitions": {"finalized_at": stamp, "paid_at": stamp if paid else None},
        "next_payment_attempt": None if paid else _unix(next_payment_attempt),
        "hosted_invoice_url": None,
        "invoice_pdf": None,
        "billing_reason": billing_reason,
        "subscription": subscription_ref,
        "lines": {"object": "list", "data": lines},
    }
    return upsert_invoice(session, tenant, obj, provider="offline")


def credit_words(invoice: Invoice) -> tuple[str, int] | None:
    """How account credit shows on an invoice: ("Credited to your account", n) for a negative total,
    ("Account credit applied", n) when credit paid part of it; None otherwise."""
    if invoice.total < 0:
        return "Credited to your account (taken off your next invoices)", -invoice.total
    if invoice.status != "void" and 0 <= invoice.amount_due < invoice.total:
        return "Account credit applied", invoice.total - invoice.amount_due
    return None


# -- PDF ------------------------------------------------------------------------------------------

# The PDF's core fonts speak Latin-1 only; common typography maps to its nearest Latin-1 form.
_PDF_REPLACEMENTS = str.maketrans({"—": "-", "–": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "...", "→": "->"})


def _pdf_text(value: Any) -> str:
    text = str(value if value is not None else "").translate(_PDF_REPLACEMENTS)
    return text.encode("latin-1", "replace").decode("latin-1")


def _pdf_date(value: datetime | None) -> str:
    return value.strftime("%d %b %Y") if value is not None else "-"


def render_invoice_pdf(invoice: Invoice, tenant) -> bytes:
    """The invoice as a PDF: number, dates, bill-to, lines, subtotal, tax, total and payment status."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    money = lambda minor: _pdf_text(format_money(minor, invoice.currency))  # noqa: E731 - local shorthand
    number = invoice.number or invoice.provider_invoice_id
    pdf = FPDF(format="A4")
    pdf.set_title(_pdf_text(f"Invoice {number}"))
    pdf.set_author("AeroSpec")
    pdf.set_creation_date(invoice.issued_at or invoice.created_at or utcnow())
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    width = pdf.epw

    pdf.set_font("Helvetica", "B", 20)
    pdf.cell(width / 2, 10, "AeroSpec")
    pdf.cell(width / 2, 10, "Invoice", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(width / 2, 6, "Spray-actuator selection")
    pdf.cell(width / 2, 6, _pdf_text(f"No. {number}"), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)

    paid = invoice.status == "paid"
    facts = [
        ("Invoice number", number),
        ("Issued", _pdf_date(invoice.issued_at or invoice.created_at)),
        ("Period", f"{_pdf_date(invoice.period_start)} to {_pdf_date(invoice.period_end)}"),
        ("Status", STATUS_LABELS.get(invoice.status, invoice.status).upper()),
    ]
    if paid:
        facts.append(("Paid", _pdf_date(invoice.paid_at)))
    elif invoice.next_payment_attempt is not None:
        facts.append(("Next payment attempt", _pdf_date(invoice.next_payment_attempt)))
    top = pdf.get_y()
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(width / 2, 6, "Bill to", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.multi_cell(width / 2 - 4, 5, _pdf_text(tenant.name), new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(width / 2 - 4, 5, _pdf_text(tenant.billing_email), new_x="LMARGIN", new_y="NEXT")
    left_bottom = pdf.get_y()
    pdf.set_y(top)
    for label, value in facts:
        pdf.set_x(pdf.l_margin + width / 2)
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(width / 4, 6, _pdf_text(label))
        pdf.set_font("Helvetica", "", 10)
        pdf.cell(width / 4, 6, _pdf_text(value), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(left_bottom, pdf.get_y()) + 8)

    pdf.set_font("Helvetica", "", 9)
    with pdf.table(
        col_widths=(64, 6, 15, 15),
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
        headings_style=FontFace(emphasis="BOLD"),
        line_height=6,
        borders_layout="HORIZONTAL_LINES",
    ) as table:
        heading = table.row()
        for title in ("Description", "Qty", "Unit price", "Amount"):
            heading.cell(title)
        for line in invoice.lines or []:
            row = table.row()
            row.cell(_pdf_text(line.get("description") or "-"))
            row.cell(str(line.get("quantity") or 1))
            unit = line.get("unit_amount")
            row.cell(money(unit) if unit is not None else "-")
            row.cell(money(line.get("amount", 0)))
    pdf.ln(4)

    totals = [("Subtotal", invoice.subtotal), ("Tax", invoice.tax), ("Total", invoice.total)]
    credit = credit_words(invoice)
    if credit is not None:
        totals.append((credit[0], credit[1]))
    totals += [("Amount paid", invoice.amount_paid), ("Amount due", 0 if paid else invoice.amount_due)]
    for label, minor in totals:
        pdf.set_x(pdf.l_margin + width / 4)
        pdf.set_font("Helvetica", "B" if label in ("Total", "Amount due") else "", 10)
        pdf.cell(width / 2, 6, _pdf_text(label))
        pdf.cell(width / 4, 6, money(minor), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    pdf.set_font("Helvetica", "B", 12)
    status_line = (
        f"PAID on {_pdf_date(invoice.paid_at)}"
        if paid
        else f"{STATUS_LABELS.get(invoice.status, invoice.status)}: {money(invoice.amount_due)} due"
    )
    pdf.cell(width, 8, _pdf_text(status_line), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
