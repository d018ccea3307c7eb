"""Shared by the billing and order-payment tests: priced orders over the sandbox, Stripe-shaped
events signed the way Stripe signs them, a recording HTTP client for the real stripe SDK."""

from __future__ import annotations

import contextlib
import hmac
import json
import secrets
import time
import uuid
from hashlib import sha256
from urllib.parse import parse_qsl, urlsplit

import pytest
import stripe
from sqlalchemy import func, select

from aerospec.billing.models import BillingEvent
from aerospec.billing.providers import to_minor
from aerospec.procurement.models import Procurement, ProcurementCommission
from aerospec.tenancy.scoping import tenant_scope

SECRET = "whsec_test_" + "s" * 24
ADDRESS = {
    "name": "Ada Lovelace",
    "company": "Analytical Sprays Ltd",
    "line1": "12 Engine Row",
    "city": "London",
    "postal_code": "NW1 6XE",
    "country": "GB",
}


# -- orders -----------------------------------------------------------------------------------


@pytest.fixture
def make_order(app, db, sandbox):
    """make_order(team, order_type="sample", supplier="spencer", actor=None) → a priced draft's id (committed)."""
    from aerospec.catalog import services as catalog
    from aerospec.catalog.models import Actuator
    from aerospec.procurement import services
    from aerospec.procurement.suppliers import quote_timeout, supplier_clients

    catalog.seed_actuators(db.session)
    db.session.commit()
    skus = {
        supplier: db.session.scalar(
            select(Actuator.sku)
            .where(Actuator.supplier == supplier, Actuator.stock >= 1000)
            .order_by(Actuator.sku)
            .limit(1)
        )
        for supplier in ("spencer", "coster")
    }

    def _make(team, order_type: str = "sample", supplier: str | None = "spencer", actor=None) -> uuid.UUID:
        data = {
            "order_type": order_type,
            "items": [{"sku": skus[supplier or "spencer"], "qty": 25}],
            "selected_supplier": supplier,
            "ship_to_address": ADDRESS,
        }
        with tenant_scope(db.session, team.tenant.id):
            order = services.create_procurement(
                db.session,
                team.tenant,
                actor or team.user,
                data,
                clients=supplier_clients(app),
                quote_timeout=quote_timeout(app),
            )
            order_id = order.id
            db.session.commit()
        return order_id

    return _make


@contextlib.contextmanager
def order_of(db, tenant, order_id):
    """The order as the database has it now, readable inside the block (its tenant in context)."""
    with tenant_scope(db.session, tenant.id):
        db.session.expire_all()
        yield db.session.get(Procurement, order_id)


def commissions(db, tenant, order_id) -> list[ProcurementCommission]:
    with tenant_scope(db.session, tenant.id):
        return list(
            db.session.scalars(select(ProcurementCommission).where(ProcurementCommission.procurement_id == order_id))
        )


def billing_events(db) -> list[BillingEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(BillingEvent).order_by(BillingEvent.received_at)))


def event_count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(BillingEvent))


# -- Stripe-shaped events, signed like Stripe ----------------------------------------------


def sign(payload: str | bytes, secret: str = SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header: t=<ts>,v1=HMAC_SHA256(secret, "<ts>.<payload>")."""
    t = int(time.time()) if timestamp is None else timestamp
    body = payload if isinstance(payload, bytes) else payload.encode()
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, sha256).hexdigest()
    return f"t={t},v1={mac}"


def stripe_event(event_type: str, obj: dict, *, event_id: str | None = None, created: int | None = None) -> dict:
    """An event envelope as Stripe documents it."""
    return {
        "id": event_id or "evt_" + secrets.token_hex(12),
        "object": "event",
        "api_version": "2025-01-27.acacia",
        "created": created or int(time.time()),
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": "req_" + secrets.token_hex(6), "idempotency_key": None},
        "type": event_type,
    }


def metadata(tenant, order_id) -> dict:
    return {"kind": "procurement", "tenant_id": str(tenant.id), "procurement_id": str(order_id)}


def checkout_session(tenant, order_id, amount: int, *, payment_status="paid", mode="payment", pi="pi_test_1") -> dict:
    """A checkout.session object (payment mode) as Stripe sends it in checkout.session.* events."""
    return {
        "id": "cs_test_" + secrets.token_hex(8),
        "object": "checkout.session",
        "amount_subtotal": amount,
        "amount_total": amount,
        "client_reference_id": str(order_id),
        "currency": "usd",
        "customer": None,
        "customer_details": {"email": "buyer@example.com"},
        "customer_email": "buyer@example.com",
        "livemode": False,
        "metadata": metadata(tenant, order_id),
        "mode": mode,
        "payment_intent": pi if mode == "payment" else None,
        "payment_status": payment_status,
        "status": "complete",
        "success_url": "http://testserver/ok",
        "cancel_url": "http://testserver/cancel",
        "url": None,
    }


def payment_intent(tenant, order_id, amount: int, *, status="succeeded", pi="pi_test_1", error=None) -> dict:
    """A payment_intent object as Stripe sends it in payment_intent.* events."""
    return {
        "id": pi,
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount if status == "succeeded" else 0,
        "currency": "usd",
        "livemode": False,
        "metadata": metadata(tenant, order_id),
        "status": status,
        "last_payment_error": None
        if error is None
        else {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds", "message": error},
    }


def amount_of(db, tenant, order_id) -> int:
    with order_of(db, tenant, order_id) as order:
        return to_minor(order.total, order.currency)


def deliver(client, event: dict | str | bytes, *, secret: str = SECRET, timestamp: int | None = None, header=None):
    """POST a signed delivery to the webhook, as Stripe would."""
    payload = event if isinstance(event, str | bytes) else json.dumps(event)
    headers = {"Stripe-Signature": header if header is not None else sign(payload, secret, timestamp)}
    return client.post("/api/webhooks/stripe", data=payload, headers=headers, content_type="application/json")


# -- the real stripe SDK, recorded -------------------------------------------------------


class RecordingHTTPClient(stripe.HTTPClient):
    """stripe's HTTP client interface, answering canned JSON and recording every request."""

    name = "recording"

    def __init__(self, responses: list[tuple[int, dict]] | None = None):
        super().__init__()
        self.responses = list(responses or [])
        self.calls: list[dict] = []

    def request(self, method, url, headers, post_data=None, *, _usage=None):
        parts = urlsplit(url)
        self.calls.append(
            {
                "method": method,
                "url": f"{parts.scheme}://{parts.netloc}{parts.path}",
                "headers": dict(headers or {}),
                "params": dict(parse_qsl(post_data or "", keep_blank_values=True)),
            }
        )
        status, body = self.responses.pop(0) if self.responses else (200, {})
        return json.dumps(body), status, {"request-id": "req_recorded"}

    def close(self):
        pass


def logged_in_client(app, db, user):
    """A test client of `app` (a second app from build_app) signed in as `user`, as a browser would be."""
    from aerospec.accounts import services as accounts

    row = accounts.start_session(db.session, user, accounts.ClientInfo("127.0.0.1", "pytest"))
    db.session.commit()
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = str(row.id)
        sess["_fresh"] = True
    return client


def canned_checkout_session(session_id: str = "cs_test_a1B2c3", amount: int = 0) -> dict:
    """Stripe's answer to POST /v1/checkout/sessions (the fields we read, and some we don't)."""
    return {
        "id": session_id,
        "object": "checkout.session",
        "amount_total": amount,
        "currency": "usd",
        "mode": "payment",
        "payment_status": "unpaid",
        "status": "open",
        "url": f"https://checkout.stripe.com/c/pay/{session_id}",
        "livemode": False,
        "metadata": {},
    }
