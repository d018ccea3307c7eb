"""Invoices: the Stripe mirror (idempotent, out-of-order safe), procurement commissions on the
monthly invoice (offline and through the real Stripe SDK), the PDF, the admin pages and the API."""

from __future__ import annotations

import io
import json
import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qsl, urlparse

import pdfplumber
import pytest
import stripe
import time_machine
from sqlalchemy import select

from aerospec.billing import invoices
from aerospec.billing.models import BillingSubscription, Invoice
from aerospec.billing.plans import price_quote
from aerospec.procurement import services as procurements
from aerospec.procurement.models import Procurement, ProcurementCommission
from aerospec.tenancy.scoping import tenant_scope
from tests.api import conftest as api_fixtures
from tests.api.conftest import assert_problem

# The API tests' fixtures (a conftest's fixtures only reach its own directory).
tokens = api_fixtures.tokens
bearer = api_fixtures.bearer

PERIOD_START = datetime(2026, 11, 1, tzinfo=UTC)
PERIOD_END = datetime(2026, 12, 1, tzinfo=UTC)
ISSUED = datetime(2026, 12, 1, 0, 5, tzinfo=UTC)
PLAN_MINOR = 200_000  # Professional, USD 2,000.00 a month


def _unix(value: datetime) -> int:
    return int(value.timestamp())


def stripe_invoice(**overrides) -> dict:
    """An invoice object shaped like Stripe's documented one (the fields we read, and some we don't)."""
    obj = {
        "id": "in_1QxYzAeroSpec0001",
        "object": "invoice",
        "number": "A1B2C3D4-0001",
        "status": "open",
        "currency": "usd",
        "customer": "cus_AeroSpec01",
        "subscription": "sub_AeroSpec01",
        "subtotal": PLAN_MINOR,
        "tax": 0,
        "total": PLAN_MINOR,
        "amount_paid": 0,
        "amount_due": PLAN_MINOR,
        "amount_remaining": PLAN_MINOR,
        "attempt_count": 0,
        "attempted": False,
        "billing_reason": "subscription_cycle",
        "period_start": _unix(PERIOD_START),
        "period_end": _unix(PERIOD_END),
        "created": _unix(ISSUED),
        "status_transitions": {
            "finalized_at": _unix(ISSUED),
            "paid_at": None,
            "voided_at": None,
            "marked_uncollectible_at": None,
        },
        "next_payment_attempt": _unix(ISSUED + timedelta(hours=1)),
        "hosted_invoice_url": "https://invoice.stripe.com/i/acct_1/test_YWNjdF8x",
        "invoice_pdf": "https://pay.stripe.com/invoice/acct_1/test_YWNjdF8x/pdf",
        "livemode": False,
        "lines": {
            "object": "list",
            "has_more": False,
            "data": [
                {
                    "id": "il_1",
                    "object": "line_item",
                    "type": "subscription",
                    "description": "1 × AeroSpec Professional (at $2,000.00 / month)",
                    "quantity": 1,
                    "amount": PLAN_MINOR,
                    "currency": "usd",
                    "subscription": "sub_AeroSpec01",
                    "period": {"start": _unix(PERIOD_START), "end": _unix(PERIOD_END)},
                    "metadata": {},
                }
            ],
        },
    }
    obj.update(overrides)
    return obj


def paid(**overrides) -> dict:
    """The same invoice once paid (as in invoice.paid)."""
    paid_at = _unix(ISSUED + timedelta(minutes=50))
    fields = {
        "status": "paid",
        "amount_paid": PLAN_MINOR,
        "amount_remaining": 0,
        "attempt_count": 1,
        "attempted": True,
        "next_payment_attempt": None,
        "status_transitions": {"finalized_at": _unix(ISSUED), "paid_at": paid_at},
    }
    return stripe_invoice(**(fields | overrides))


def detached(db, tenant, row):
    """The row loaded in its tenant's scope and taken out of the session.

    On PostgreSQL, RLS hides a tenant's rows outside its scope, so an expired row (after a
    commit or a request) could not reload in the test's own context.
    """
    with tenant_scope(db.session, tenant.id):
        db.session.refresh(row)
        db.session.expunge(row)
    return row


def invoice_rows(db, tenant) -> list[Invoice]:
    with tenant_scope(db.session, tenant.id):
        rows = list(db.session.scalars(select(Invoice).where(Invoice.tenant_id == tenant.id)))
    return [detached(db, tenant, row) for row in rows]


def commissions(db, tenant) -> list[ProcurementCommission]:
    with tenant_scope(db.session, tenant.id):
        rows = db.session.scalars(
            select(ProcurementCommission)
            .where(ProcurementCommission.tenant_id == tenant.id)
            .order_by(ProcurementCommission.created_at)
        )
        rows = list(rows)
    return [detached(db, tenant, row) for row in rows]


def paid_order(db, tenant, total: str, *, reference: str | None = None) -> Procurement:
    """A confirmed order paid through the procurement service, which records its commission."""
    with tenant_scope(db.session, tenant.id):
        order = Procurement(
            tenant_id=tenant.id,
            reference=reference or f"PO-{secrets.token_hex(4).upper()}",
            order_type="pilot",
            status="confirmed",
            selected_supplier="spencer",
            currency="USD",
            subtotal=Decimal(total),
            total=Decimal(total),
            idempotency_key=secrets.token_hex(16),
        )
        db.session.add(order)
        db.session.flush()
        assert procurements.record_payment(db.session, order, succeeded=True, provider="offline")
        db.session.commit()
    return detached(db, tenant, order)


def upsert(db, tenant, obj, provider="stripe") -> Invoice:
    with tenant_scope(db.session, tenant.id):
        invoice = invoices.upsert_invoice(db.session, tenant, obj, provider=provider)
        db.session.commit()
    return detached(db, tenant, invoice)


def offline_invoice(db, tenant, now: datetime, *, subscription=None, paid_=True) -> Invoice:
    with tenant_scope(db.session, tenant.id):
        start = now - timedelta(days=30)
        invoice = invoices.issue_offline_invoice(
            db.session,
            tenant,
            subscription.provider_subscription_id if subscription is not None else None,
            invoices.quote_lines(price_quote("professional", "month"), start, now),
            start,
            now,
            now,
            paid=paid_,
        )
        db.session.commit()
    return detached(db, tenant, invoice)


# -- the mirror -----------------------------------------------------------------------------------


def test_upsert_invoice_mirrors_stripe_fields(db, team):
    t = team()
    with tenant_scope(db.session, t.tenant.id):
        sub = BillingSubscription(
            tenant_id=t.tenant.id,
            provider="stripe",
            provider_customer_id="cus_AeroSpec01",
            provider_subscription_id="sub_AeroSpec01",
            plan="professional",
            status="active",
        )
        db.session.add(sub)
        db.session.flush()
        sub_id = sub.id
        db.session.commit()

    invoice = upsert(db, t.tenant, paid(tax=1234, total=PLAN_MINOR + 1234))

    assert invoice.provider == "stripe"
    assert invoice.number == "A1B2C3D4-0001"
    assert (invoice.status, invoice.currency) == ("paid", "usd")
    assert (invoice.subtotal, invoice.tax, invoice.total) == (PLAN_MINOR, 1234, PLAN_MINOR + 1234)
    assert (invoice.amount_paid, invoice.amount_due, invoice.attempt_count) == (PLAN_MINOR, PLAN_MINOR, 1)
    assert (invoice.period_start, invoice.period_end) == (PERIOD_START, PERIOD_END)
    assert invoice.issued_at == ISSUED
    assert invoice.paid_at == ISSUED + timedelta(minutes=50)
    assert invoice.next_payment_attempt is None
    assert invoice.invoice_pdf_url == "https://pay.stripe.com/invoice/acct_1/test_YWNjdF8x/pdf"
    assert invoice.subscription_id == sub_id
    assert invoice.lines == [
        {
            "description": "1 × AeroSpec Professional (at $2,000.00 / month)",
            "quantity": 1,
            "amount": PLAN_MINOR,
            "unit_amount": PLAN_MINOR,  # amount / quantity: this line carries no price object
            "kind": "subscription",
            "ref": None,
            "period_start": _unix(PERIOD_START),
            "period_end": _unix(PERIOD_END),
        }
    ]


def test_upsert_invoice_twice_keeps_one_row(db, team):
    t = team()
    first = upsert(db, t.tenant, stripe_invoice())
    # The same invoice again, as the SDK hands it back (a StripeObject, not a dict).
    second = upsert(db, t.tenant, stripe.Invoice.construct_from(stripe_invoice(), "sk_test_invoices"))
    assert first.id == second.id
    assert (second.status, second.total, second.number) == ("open", PLAN_MINOR, "A1B2C3D4-0001")
    assert len(invoice_rows(db, t.tenant)) == 1


def test_stale_open_event_after_paid_leaves_invoice_paid(db, team):
    t = team()
    upsert(db, t.tenant, stripe_invoice())
    upsert(db, t.tenant, paid())
    # A retried invoice.payment_failed from before the payment arrives last.
    invoice = upsert(db, t.tenant, stripe_invoice(attempt_count=1, attempted=True))

    assert invoice.status == "paid"
    assert invoice.amount_paid == PLAN_MINOR
    assert invoice.paid_at == ISSUED + timedelta(minutes=50)
    assert invoice.next_payment_attempt is None


def test_paid_seen_first_is_not_undone_by_the_earlier_open_event(db, team):
    t = team()
    upsert(db, t.tenant, paid())
    invoice = upsert(db, t.tenant, stripe_invoice())
    assert invoice.status == "paid"
    assert len(invoice_rows(db, t.tenant)) == 1


def test_older_failed_attempt_does_not_overwrite_a_later_one(db, team):
    t = team()
    second = _unix(ISSUED + timedelta(days=5))
    upsert(db, t.tenant, stripe_invoice(attempt_count=2, next_payment_attempt=second))
    invoice = upsert(db, t.tenant, stripe_invoice(attempt_count=1, next_payment_attempt=_unix(ISSUED)))
    assert invoice.attempt_count == 2
    assert invoice.next_payment_attempt == datetime.fromtimestamp(second, UTC)


def test_void_is_final(db, team):
    t = team()
    upsert(db, t.tenant, stripe_invoice(status="void", amount_due=0))
    assert upsert(db, t.tenant, paid()).status == "void"


# -- procurement commissions ----------------------------------------------------------------------


def test_pending_commission_lines_are_stripe_shaped(db, team):
    t = team(plan="professional")
    order = paid_order(db, t.tenant, "1500.00", reference="PO-7F3A2C91")

    with tenant_scope(db.session, t.tenant.id):
        lines = invoices.pending_commission_lines(db.session, t.tenant, datetime.now(UTC) + timedelta(seconds=1))

    assert lines == [
        {
            "description": "Procurement commission, order PO-7F3A2C91, 15 % of USD 1,500.00",
            "quantity": 1,
            "amount": 22_500,
            "currency": "usd",
            "metadata": {
                "kind": "commission",
                "procurement_id": str(order.id),
                "commission_id": str(commissions(db, t.tenant)[0].id),
            },
        }
    ]


def test_commissions_recorded_after_until_wait_for_the_next_invoice(db, team):
    t = team()
    recorded = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    with time_machine.travel(recorded, tick=False):
        paid_order(db, t.tenant, "100.00")
    with tenant_scope(db.session, t.tenant.id):
        assert invoices.pending_commission_lines(db.session, t.tenant, recorded) == []
        assert len(invoices.pending_commission_lines(db.session, t.tenant, recorded + timedelta(seconds=1))) == 1


def test_offline_invoice_bills_each_commission_once(db, team):
    t = team(plan="professional")
    first = paid_order(db, t.tenant, "1500.00")
    second = paid_order(db, t.tenant, "99.99")
    now = datetime.now(UTC) + timedelta(seconds=1)

    invoice = offline_invoice(db, t.tenant, now)

    assert invoice.provider == "offline"
    assert invoice.provider_invoice_id.startswith("in_offline_")
    assert invoice.number.startswith(f"AS-{now:%Y%m}-")
    assert invoice.status == "paid"
    amounts = [line["amount"] for line in invoice.lines]
    assert amounts == [PLAN_MINOR, 22_500, 1_500]  # 15 % of 99.99 = 14.9985 → 15.00
    assert [line["kind"] for line in invoice.lines] == ["subscription", "commission", "commission"]
    assert [line["ref"] for line in invoice.lines[1:]] == [str(first.id), str(second.id)]
    assert invoice.subtotal == invoice.total == invoice.amount_paid == PLAN_MINOR + 22_500 + 1_500
    for commission in commissions(db, t.tenant):
        assert commission.invoiced_at is not None
        assert commission.invoice_id == invoice.provider_invoice_id

    later = offline_invoice(db, t.tenant, now + timedelta(days=30))
    assert [line["kind"] for line in later.lines] == ["subscription"]
    assert later.total == PLAN_MINOR
    assert later.number != invoice.number


def test_offline_invoice_numbers_run_per_month(db, team):
    t, other = team(), team()
    now = datetime(2031, 3, 31, 12, 0, tzinfo=UTC)  # a month no other test issues in
    numbers = [
        offline_invoice(db, t.tenant, now).number,
        offline_invoice(db, other.tenant, now).number,
        offline_invoice(db, t.tenant, now + timedelta(days=1)).number,
    ]
    assert numbers == ["AS-203103-0001", "AS-203103-0002", "AS-203104-0001"]


def test_unpaid_offline_invoice_stays_open(db, team):
    t = team()
    invoice = offline_invoice(db, t.tenant, datetime.now(UTC), paid_=False)
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == ("open", 0, PLAN_MINOR)
    assert invoice.paid_at is None


def test_stripe_invoice_with_commission_lines_marks_them_invoiced(db, team):
    t = team()
    order = paid_order(db, t.tenant, "1500.00")
    commission_line = {
        "id": "il_2",
        "object": "line_item",
        "type": "invoiceitem",
        "description": "Procurement commission, order PO-1, 15 % of USD 1,500.00",
        "quantity": 1,
        "amount": 22_500,
        "currency": "usd",
        "metadata": {"kind": "commission", "procurement_id": str(order.id)},
    }
    obj = stripe_invoice(total=PLAN_MINOR + 22_500)
    obj["lines"]["data"].append(commission_line)

    upsert(db, t.tenant, obj)

    (commission,) = commissions(db, t.tenant)
    assert commission.invoiced_at == ISSUED
    assert commission.invoice_id == "in_1QxYzAeroSpec0001"
    with tenant_scope(db.session, t.tenant.id):
        assert invoices.pending_commission_lines(db.session, t.tenant, datetime.now(UTC) + timedelta(1)) == []


class RecordingHTTPClient(stripe.HTTPClient):
    """Stripe's HTTP layer replaced by a recorder that answers like the API (no network)."""

    name = "recording"

    def __init__(self):
        super().__init__()
        self.requests: list[dict] = []

    def request(self, method, url, headers, post_data=None, *, _usage=None):
        params = dict(parse_qsl(post_data or ""))
        self.requests.append({"method": method, "url": url, "headers": dict(headers or {}), "params": params})
        body = {"id": f"ii_{len(self.requests):04d}", "object": "invoiceitem", "amount": int(params["amount"])}
        return json.dumps(body), 200, {"Request-Id": f"req_{len(self.requests)}"}

    def request_stream(self, *args, **kwargs):  # pragma: no cover - not used
        raise NotImplementedError

    def close(self):
        pass


def test_commissions_go_to_stripe_as_invoice_items_once(db, team):
    t = team(plan="professional")
    order = paid_order(db, t.tenant, "1500.00", reference="PO-00C0FFEE")
    recorder = RecordingHTTPClient()
    client = stripe.StripeClient("sk_test_invoices", http_client=recorder, max_network_retries=0)
    until = datetime.now(UTC) + timedelta(seconds=1)

    with tenant_scope(db.session, t.tenant.id):
        created = invoices.push_commission_invoice_items(
            db.session, t.tenant, client, customer="cus_AeroSpec01", until=until, subscription="sub_AeroSpec01"
        )
        again = invoices.push_commission_invoice_items(
            db.session, t.tenant, client, customer="cus_AeroSpec01", until=until, subscription="sub_AeroSpec01"
        )
        db.session.commit()

    assert created == ["ii_0001"]
    assert again == []
    (sent,) = recorder.requests
    (commission,) = commissions(db, t.tenant)
    assert sent["method"] == "post"
    assert urlparse(sent["url"]).path == "/v1/invoiceitems"
    assert sent["headers"]["Idempotency-Key"] == f"aerospec-commission-{commission.id}"
    assert sent["params"] == {
        "customer": "cus_AeroSpec01",
        "subscription": "sub_AeroSpec01",
        "amount": "22500",
        "currency": "usd",
        "description": "Procurement commission, order PO-00C0FFEE, 15 % of USD 1,500.00",
        "metadata[kind]": "commission",
        "metadata[procurement_id]": str(order.id),
        "metadata[commission_id]": str(commission.id),
    }
    # Pushed, not yet invoiced: the invoice that carries it marks it.
    assert commission.invoice_id == "ii_0001"
    assert commission.invoiced_at is None


# -- PDF ------------------------------------------------------------------------------------------


def pdf_text(body: bytes) -> str:
    with pdfplumber.open(io.BytesIO(body)) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


def test_invoice_pdf_shows_number_bill_to_lines_and_totals(db, team):
    t = team(name="Nozzle & Co — Lyon", billing_email="accounts@nozzle.example")
    paid_order(db, t.tenant, "1500.00", reference="PO-7F3A2C91")
    invoice = offline_invoice(db, t.tenant, datetime.now(UTC) + timedelta(seconds=1))

    body = invoices.render_invoice_pdf(invoice, t.tenant)

    assert body.startswith(b"%PDF")
    text = pdf_text(body)
    assert invoice.number in text
    assert "Nozzle & Co - Lyon" in text
    assert "accounts@nozzle.example" in text
    assert "AeroSpec Professional plan (monthly)" in text
    assert "Procurement commission, order PO-7F3A2C91, 15 % of USD 1,500.00" in text
    assert "USD 2,225.00" in text  # the total
    assert "PAID" in text


# -- pages ----------------------------------------------------------------------------------------


def test_admin_lists_invoices_newest_first(client, db, team, login, tenant_url):
    t = team()
    upsert(db, t.tenant, paid())
    newer = offline_invoice(db, t.tenant, ISSUED + timedelta(days=31), paid_=False)
    login(t.admin)

    response = client.get(tenant_url(t.tenant, "billing/invoices"))

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.index(newer.number) < html.index("A1B2C3D4-0001")
    assert "USD 2,000.00" in html
    assert "Payment failed" in html and "Paid" in html  # words, not colour alone
    assert f"/billing/invoices/{newer.id}.pdf" in html


def test_empty_invoice_list_explains_when_invoices_come(client, team, login, tenant_url):
    t = team()
    login(t.admin)
    response = client.get(tenant_url(t.tenant, "billing/invoices"))
    assert response.status_code == 200
    assert "No invoices yet." in response.get_data(as_text=True)


def test_invoice_list_pages(client, db, team, login, tenant_url):
    t = team()
    for month in range(invoices.PER_PAGE + 1):
        start = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=31 * month)
        stamp = _unix(start)
        obj = stripe_invoice(
            id=f"in_page{month:02d}",
            number=f"PAGE-{month:04d}",
            status="paid",
            created=stamp,
            status_transitions={"finalized_at": stamp, "paid_at": stamp},
        )
        upsert(db, t.tenant, obj)
    login(t.admin)

    first = client.get(tenant_url(t.tenant, "billing/invoices")).get_data(as_text=True)
    second = client.get(tenant_url(t.tenant, "billing/invoices?page=2"), headers={"HX-Request": "true"})

    assert f"PAGE-{invoices.PER_PAGE:04d}" in first and "PAGE-0000" not in first
    assert "page 1 of 2" in first
    fragment = second.get_data(as_text=True)
    assert "PAGE-0000" in fragment
    assert "<html" not in fragment  # the invoice_list block alone


def test_invoice_detail_shows_lines_and_totals(client, db, team, login, tenant_url):
    t = team()
    paid_order(db, t.tenant, "1500.00", reference="PO-7F3A2C91")
    invoice = offline_invoice(db, t.tenant, datetime.now(UTC) + timedelta(seconds=1))
    login(t.admin)

    response = client.get(tenant_url(t.tenant, f"billing/invoices/{invoice.id}"))

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert invoice.number in html
    assert "Procurement commission, order PO-7F3A2C91, 15 % of USD 1,500.00" in html
    assert "USD 225.00" in html and "USD 2,225.00" in html
    assert t.tenant.billing_email in html


def test_download_streams_generated_pdf_for_offline_invoice(client, db, team, login, tenant_url):
    t = team()
    invoice = offline_invoice(db, t.tenant, datetime.now(UTC))
    login(t.admin)

    response = client.get(tenant_url(t.tenant, f"billing/invoices/{invoice.id}.pdf"))

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="invoice-{invoice.number}.pdf"'
    assert "no-store" in response.headers["Cache-Control"]
    assert invoice.number in pdf_text(response.data)


def test_download_redirects_to_stripes_pdf(client, db, team, login, tenant_url):
    t = team()
    invoice = upsert(db, t.tenant, paid())
    login(t.admin)
    response = client.get(tenant_url(t.tenant, f"billing/invoices/{invoice.id}.pdf"))
    assert response.status_code == 302
    assert response.headers["Location"] == "https://pay.stripe.com/invoice/acct_1/test_YWNjdF8x/pdf"


@pytest.mark.parametrize("role", ["user", "viewer"])
@pytest.mark.parametrize("path", ["billing/invoices", "billing/invoices/{id}", "billing/invoices/{id}.pdf"])
def test_only_admins_see_invoices(client, db, team, login, tenant_url, role, path):
    t = team()
    invoice = offline_invoice(db, t.tenant, datetime.now(UTC))
    login(getattr(t, role))
    response = client.get(tenant_url(t.tenant, path.format(id=invoice.id)))
    assert response.status_code == 403


@pytest.mark.parametrize("path", ["billing/invoices/{id}", "billing/invoices/{id}.pdf"])
def test_another_tenants_invoice_is_not_found(client, db, team, login, tenant_url, path):
    mine, theirs = team(), team()
    invoice = offline_invoice(db, theirs.tenant, datetime.now(UTC))
    login(mine.admin)
    response = client.get(tenant_url(mine.tenant, path.format(id=invoice.id)))
    assert response.status_code == 404


# -- API ------------------------------------------------------------------------------------------


def test_api_lists_invoices_newest_first(client, db, team, bearer):
    t = team()
    older = upsert(db, t.tenant, paid())
    newer = offline_invoice(db, t.tenant, ISSUED + timedelta(days=31), paid_=False)

    response = client.get("/api/billing/invoices?per_page=1", headers=bearer(t.admin, t.tenant))

    assert response.status_code == 200
    body = response.get_json()
    assert (body["total"], body["pages"], body["page"], body["per_page"]) == (2, 2, 1, 1)
    assert [i["id"] for i in body["invoices"]] == [str(newer.id)]
    page_two = client.get("/api/billing/invoices?page=2&per_page=1", headers=bearer(t.admin, t.tenant))
    assert [i["id"] for i in page_two.get_json()["invoices"]] == [str(older.id)]


def test_api_invoice_detail_has_the_seed_fields(client, db, team, bearer):
    t = team()
    order = paid_order(db, t.tenant, "1500.00")
    obj = paid(total=PLAN_MINOR + 22_500, subtotal=PLAN_MINOR + 22_500, amount_paid=PLAN_MINOR + 22_500)
    obj["lines"]["data"].append(
        {
            "description": "commission",
            "quantity": 1,
            "amount": 22_500,
            "metadata": {"kind": "commission", "procurement_id": str(order.id)},
        }
    )
    invoice = upsert(db, t.tenant, obj)
    headers = bearer(t.admin, t.tenant)

    body = client.get(f"/api/billing/invoices/{invoice.id}", headers=headers).get_json()

    assert body["id"] == str(invoice.id)
    assert body["number"] == "A1B2C3D4-0001"
    assert (body["status"], body["currency"]) == ("paid", "usd")
    assert (body["subtotal"], body["tax"], body["total"]) == (PLAN_MINOR + 22_500, 0, PLAN_MINOR + 22_500)
    assert (body["amount_paid"], body["amount_due"]) == (PLAN_MINOR + 22_500, PLAN_MINOR)
    assert body["period_start"] == PERIOD_START.isoformat()
    assert body["period_end"] == PERIOD_END.isoformat()
    assert body["issued_at"] == ISSUED.isoformat()
    assert body["paid_at"] == (ISSUED + timedelta(minutes=50)).isoformat()
    assert body["hosted_invoice_url"] == "https://invoice.stripe.com/i/acct_1/test_YWNjdF8x"
    assert body["pdf_url"] == f"http://testserver/api/billing/invoices/{invoice.id}/pdf"
    assert body["lines"][1] == {
        "description": "commission",
        "quantity": 1,
        "amount": 22_500,
        "kind": "commission",
        "procurement_id": str(order.id),
    }
    pdf = client.get(f"/api/billing/invoices/{invoice.id}/pdf", headers=headers)
    assert pdf.status_code == 302
    assert pdf.headers["Location"] == "https://pay.stripe.com/invoice/acct_1/test_YWNjdF8x/pdf"


def test_api_streams_generated_pdf(client, db, team, bearer):
    t = team()
    invoice = offline_invoice(db, t.tenant, datetime.now(UTC))
    response = client.get(f"/api/billing/invoices/{invoice.id}/pdf", headers=bearer(t.admin, t.tenant))
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")


def test_api_another_tenants_invoice_is_404(client, db, team, bearer):
    mine, theirs = team(), team()
    invoice = offline_invoice(db, theirs.tenant, datetime.now(UTC))
    headers = bearer(mine.admin, mine.tenant)
    assert_problem(client.get(f"/api/billing/invoices/{invoice.id}", headers=headers), 404)
    assert_problem(client.get(f"/api/billing/invoices/{invoice.id}/pdf", headers=headers), 404)
    assert client.get("/api/billing/invoices", headers=headers).get_json()["total"] == 0


@pytest.mark.parametrize("role", ["user", "viewer"])
def test_api_invoices_need_manage_billing(client, db, team, bearer, role):
    t = team(api_enabled_for_users=True)
    invoice = offline_invoice(db, t.tenant, datetime.now(UTC))
    headers = bearer(getattr(t, role), t.tenant)
    assert_problem(client.get("/api/billing/invoices", headers=headers), 403)
    assert_problem(client.get(f"/api/billing/invoices/{invoice.id}", headers=headers), 403)


def test_api_rejects_bad_paging(client, team, bearer):
    t = team()
    response = client.get("/api/billing/invoices?per_page=1000", headers=bearer(t.admin, t.tenant))
    assert_problem(response, 422, fields=("per_page",))


def test_the_daily_job_pushes_each_stripe_workspaces_new_commissions_once(build_app, db, team):
    from jobs.billing import push_commissions

    on_stripe, offline_only = team(plan="professional"), team(plan="starter")
    with tenant_scope(db.session, on_stripe.tenant.id):
        on_stripe.tenant.billing_customer_id = "cus_Pushed01"
        db.session.add(
            BillingSubscription(
                tenant_id=on_stripe.tenant.id,
                provider="stripe",
                provider_customer_id="cus_Pushed01",
                provider_subscription_id="sub_Pushed01",
                plan="professional",
                status="active",
            )
        )
        db.session.commit()
    order = paid_order(db, on_stripe.tenant, "1000.00")
    paid_order(db, offline_only.tenant, "400.00")  # no Stripe subscription: waits for its offline invoice

    app = build_app(STRIPE_SECRET_KEY="sk_test_push")
    recorder = app.extensions["aerospec_stripe_http_client"] = RecordingHTTPClient()
    with app.app_context():
        first = push_commissions(now=datetime.now(UTC) + timedelta(seconds=1))
        second = push_commissions(now=datetime.now(UTC) + timedelta(seconds=1))

    assert first == {"tenants": 1, "items": 1} and second == {"tenants": 1, "items": 0}
    (sent,) = recorder.requests
    assert urlparse(sent["url"]).path == "/v1/invoiceitems"
    assert sent["params"]["customer"] == "cus_Pushed01" and sent["params"]["subscription"] == "sub_Pushed01"
    assert sent["params"]["amount"] == "15000"  # 15 % of USD 1,000.00
    assert sent["params"]["metadata[procurement_id]"] == str(order.id)
    (pushed,) = commissions(db, on_stripe.tenant)
    assert pushed.invoice_id == "ii_0001" and pushed.invoiced_at is None
    (waiting,) = commissions(db, offline_only.tenant)
    assert waiting.invoice_id is None


def test_the_daily_job_has_nothing_to_push_offline(app, db, team):
    from jobs.billing import push_commissions

    t = team()
    paid_order(db, t.tenant, "250.00")
    assert push_commissions() == {"tenants": 0, "items": 0}
    (commission,) = commissions(db, t.tenant)
    assert commission.invoice_id is None
