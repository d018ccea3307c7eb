"""The provider interface: minor units from Decimal, Stripe through the real SDK (recorded), Offline rows."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aerospec.billing import offline_checkout
from aerospec.billing.models import OfflineCheckoutSession
from aerospec.billing.providers import (
    LineItem,
    OfflineProvider,
    PaymentProviderError,
    StripeProvider,
    from_minor,
    get_provider,
    to_minor,
)
from aerospec.tenancy.scoping import tenant_scope
from tests.billing.helpers import RecordingHTTPClient, canned_checkout_session

TENANT = "5f0c6a52-1d7e-4c1b-9a35-0d6f6c0b9e11"
ORDER = "9b2e8f7a-3c4d-4e5f-8a9b-0c1d2e3f4a5b"


def _checkout(provider, **overrides):
    params = {
        "mode": "payment",
        "amount_minor": 123457,
        "currency": "USD",
        "description": "AeroSpec sample order PO-1A2B3C4D: 1 line from Spencer",
        "metadata": {"kind": "procurement", "tenant_id": TENANT, "procurement_id": ORDER},
        "customer_email": "buyer@example.com",
        "success_url": "https://app.example.com/t/acme/procurements/x?payment=returned",
        "cancel_url": "https://app.example.com/t/acme/procurements/x?payment=cancelled",
        "line_items": [LineItem("AeroSpec sample order PO-1A2B3C4D", 123457, 1)],
        "client_reference_id": ORDER,
    }
    return provider.create_checkout_session(**(params | overrides))


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        (Decimal("1234.57"), "usd", 123457),
        (Decimal("0.005"), "USD", 1),  # half-up, as the order's money is rounded
        (Decimal("19.994"), "eur", 1999),
        (Decimal("1500"), "jpy", 1500),  # zero-decimal currency
    ],
)
def test_amounts_cross_in_minor_units_from_decimal(amount, currency, minor):
    assert to_minor(amount, currency) == minor
    assert isinstance(to_minor(amount, currency), int)


def test_minor_units_come_back_as_decimal():
    assert from_minor(123457, "usd") == Decimal("1234.57")
    assert from_minor(1500, "jpy") == Decimal("1500")


def test_stripe_provider_sends_exactly_the_checkout_parameters():
    recorder = RecordingHTTPClient([(200, canned_checkout_session("cs_test_a1B2c3", 123457))])
    provider = StripeProvider("sk_test_abc123", api_base="https://stripe.internal.test", http_client=recorder)

    session_id, url = _checkout(provider)

    assert (session_id, url) == ("cs_test_a1B2c3", "https://checkout.stripe.com/c/pay/cs_test_a1B2c3")
    [call] = recorder.calls
    assert call["method"] == "post"
    assert call["url"] == "https://stripe.internal.test/v1/checkout/sessions"
    assert call["headers"]["Authorization"] == "Bearer sk_test_abc123"
    assert call["params"] == {
        "mode": "payment",
        "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][unit_amount]": "123457",
        "line_items[0][price_data][product_data][name]": "AeroSpec sample order PO-1A2B3C4D",
        "line_items[0][quantity]": "1",
        "metadata[kind]": "procurement",
        "metadata[tenant_id]": TENANT,
        "metadata[procurement_id]": ORDER,
        "payment_intent_data[metadata][kind]": "procurement",
        "payment_intent_data[metadata][tenant_id]": TENANT,
        "payment_intent_data[metadata][procurement_id]": ORDER,
        "payment_intent_data[description]": "AeroSpec sample order PO-1A2B3C4D: 1 line from Spencer",
        "client_reference_id": ORDER,
        "customer_email": "buyer@example.com",
        "success_url": "https://app.example.com/t/acme/procurements/x?payment=returned",
        "cancel_url": "https://app.example.com/t/acme/procurements/x?payment=cancelled",
    }


def test_stripe_provider_without_line_items_charges_the_amount_as_one_line():
    recorder = RecordingHTTPClient([(200, canned_checkout_session())])
    provider = StripeProvider("sk_test_abc123", http_client=recorder)
    _checkout(provider, line_items=None, amount_minor=500, currency="eur")
    [call] = recorder.calls
    assert call["url"] == "https://api.stripe.com/v1/checkout/sessions"  # no STRIPE_API_BASE: Stripe's own
    assert call["params"]["line_items[0][price_data][unit_amount]"] == "500"
    assert call["params"]["line_items[0][price_data][currency]"] == "eur"
    assert call["params"]["line_items[0][price_data][product_data][name]"].startswith("AeroSpec sample order")


def test_stripe_refusal_becomes_a_calm_provider_error():
    error = {"error": {"type": "invalid_request_error", "message": "Invalid currency: zzz", "param": "currency"}}
    recorder = RecordingHTTPClient([(400, error)])
    provider = StripeProvider("sk_test_abc123", http_client=recorder, max_network_retries=0)
    with pytest.raises(PaymentProviderError) as raised:
        _checkout(provider)
    assert raised.value.status == 502
    assert "Nothing was charged" in raised.value.message


def test_a_payment_checkout_needs_a_positive_amount():
    provider = StripeProvider("sk_test_abc123", http_client=RecordingHTTPClient())
    with pytest.raises(ValueError, match="positive amount"):
        _checkout(provider, amount_minor=0)
    with pytest.raises(ValueError, match="mode"):
        _checkout(provider, mode="setup")


def test_get_provider_is_stripe_only_with_a_secret_key(app, build_app, db):
    assert isinstance(get_provider(app), OfflineProvider)
    stripe_app = build_app(STRIPE_SECRET_KEY="sk_test_abc123", STRIPE_API_BASE="https://stripe.internal.test")
    provider = get_provider(stripe_app)
    assert isinstance(provider, StripeProvider)
    assert get_provider(stripe_app) is provider  # one SDK client per app and key


@pytest.fixture
def in_a_workspace(db, factories):
    """An offline checkout is the workspace's row (row-level security): open it with one in context."""
    tenant = factories.TenantFactory()
    with tenant_scope(db.session, tenant.id):
        yield tenant


def test_offline_provider_needs_a_workspace_in_context(db):
    with pytest.raises(RuntimeError, match="workspace"):
        _checkout(OfflineProvider(db.session))


def test_offline_provider_stores_a_stripe_shaped_session_and_answers_its_page(db, in_a_workspace):
    provider = OfflineProvider(db.session)
    session_id, url = _checkout(provider)
    row = db.session.get(OfflineCheckoutSession, session_id)
    assert row.tenant_id == in_a_workspace.id
    assert url == f"/billing/offline/checkout/{session_id}"
    assert session_id.startswith("cs_offline_") and len(session_id) == len("cs_offline_") + 32
    assert (row.mode, row.status, row.payment_status) == ("payment", "open", "unpaid")
    assert (row.amount_total, row.currency, row.customer_email) == (123457, "usd", "buyer@example.com")
    assert row.metadata_ == {"kind": "procurement", "tenant_id": TENANT, "procurement_id": ORDER}
    assert row.payment_intent_id.startswith("pi_offline_")
    assert row.line_items == [
        {"name": "AeroSpec sample order PO-1A2B3C4D", "unit_amount": 123457, "quantity": 1, "price": None}
    ]


def test_offline_completion_emits_the_events_stripe_would(db, in_a_workspace):
    provider = OfflineProvider(db.session)
    session_id, _ = _checkout(provider)
    row = db.session.get(OfflineCheckoutSession, session_id)

    [failed] = offline_checkout.complete(row, succeed=False)
    assert failed["type"] == "payment_intent.payment_failed" and failed["object"] == "event"
    assert failed["data"]["object"]["last_payment_error"]["message"] == "Your card was declined."
    assert failed["data"]["object"]["status"] == "requires_payment_method"
    assert row.status == "open"  # a decline leaves the checkout open for another card

    completed, succeeded = offline_checkout.complete(row, succeed=True)
    assert completed["type"] == "checkout.session.completed"
    session = completed["data"]["object"]
    assert (session["id"], session["mode"], session["payment_status"]) == (session_id, "payment", "paid")
    assert session["amount_total"] == 123457 and session["metadata"]["procurement_id"] == ORDER
    assert succeeded["type"] == "payment_intent.succeeded"
    assert succeeded["data"]["object"]["id"] == session["payment_intent"] == row.payment_intent_id
    assert succeeded["data"]["object"]["amount_received"] == 123457
    assert len({failed["id"], completed["id"], succeeded["id"]}) == 3
    assert (row.status, row.payment_status) == ("complete", "paid") and row.completed_at is not None
