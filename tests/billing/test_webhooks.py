"""POST /api/webhooks/stripe with signed, Stripe-shaped deliveries: verification, idempotency,
out-of-order events, processing in a job that commits with its work."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest

from aerospec.billing import webhooks
from aerospec.billing.models import BillingEvent
from aerospec.procurement.models import ProcurementEvent
from tests.api.conftest import assert_problem
from tests.billing.helpers import (
    SECRET,
    amount_of,
    billing_events,
    checkout_session,
    commissions,
    deliver,
    event_count,
    order_of,
    payment_intent,
    sign,
    stripe_event,
)

SENT = ("submitted", "confirmed")


@pytest.fixture
def hook(build_app):
    """A client of an app with a webhook signing secret."""
    return build_app(STRIPE_WEBHOOK_SECRET=SECRET).test_client()


@pytest.fixture
def order(team, make_order):
    t = team()
    return t, make_order(t)


def _paid_checkout(t, order_id, db, **kwargs):
    return stripe_event(
        "checkout.session.completed", checkout_session(t.tenant, order_id, amount_of(db, t.tenant, order_id), **kwargs)
    )


def _intent(event_type, t, order_id, db, **kwargs):
    return stripe_event(event_type, payment_intent(t.tenant, order_id, amount_of(db, t.tenant, order_id), **kwargs))


# -- each event type -----------------------------------------------------------------------


def test_checkout_completed_pays_the_order_records_commission_and_submits_the_sample(hook, db, order):
    t, order_id = order
    event = _paid_checkout(t, order_id, db, pi="pi_test_777")
    response = deliver(hook, event)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"received": True, "duplicate": False, "id": event["id"]}

    with order_of(db, t.tenant, order_id) as paid:
        assert paid.payment_status == "paid" and paid.paid_at is not None
        assert paid.payment_provider == "stripe" and paid.payment_intent_id == "pi_test_777"
        # Paying a draft sample order submits it (the inline send job may already have had it confirmed).
        assert paid.submitted_at is not None and paid.status in SENT
        total = paid.total
    [commission] = commissions(db, t.tenant, order_id)
    assert (commission.plan, commission.rate) == ("professional", Decimal("0.1500"))
    assert commission.amount == (total * Decimal("0.15")).quantize(Decimal("0.01"))
    [stored] = billing_events(db)
    assert (stored.id, stored.provider, stored.type) == (event["id"], "stripe", "checkout.session.completed")
    assert stored.processed_at is not None and stored.attempts == 1 and stored.error is None


def test_payment_intent_succeeded_alone_pays_the_order(hook, db, order):
    t, order_id = order
    assert deliver(hook, _intent("payment_intent.succeeded", t, order_id, db, pi="pi_test_9")).status_code == 200
    with order_of(db, t.tenant, order_id) as paid:
        assert (paid.payment_status, paid.payment_intent_id) == ("paid", "pi_test_9") and paid.status in SENT
    assert len(commissions(db, t.tenant, order_id)) == 1


def test_payment_failed_records_the_reason_and_a_later_success_still_pays(hook, db, order):
    t, order_id = order
    failed = _intent(
        "payment_intent.payment_failed", t, order_id, db, status="requires_payment_method", error="Insufficient funds."
    )
    assert deliver(hook, failed).status_code == 200
    with order_of(db, t.tenant, order_id) as unpaid:
        assert (unpaid.payment_status, unpaid.payment_error, unpaid.status) == (
            "failed",
            "Insufficient funds.",
            "draft",
        )
        assert unpaid.paid_at is None
    assert commissions(db, t.tenant, order_id) == []

    assert deliver(hook, _intent("payment_intent.succeeded", t, order_id, db)).status_code == 200
    with order_of(db, t.tenant, order_id) as paid:
        assert (paid.payment_status, paid.payment_error) == ("paid", None)


def test_a_checkout_still_processing_its_payment_leaves_the_order_unpaid(hook, db, order):
    t, order_id = order
    assert deliver(hook, _paid_checkout(t, order_id, db, payment_status="unpaid")).status_code == 200
    with order_of(db, t.tenant, order_id) as waiting:
        assert waiting.payment_status == "unpaid" and waiting.paid_at is None
    assert billing_events(db)[0].processed_at is not None


def test_subscription_checkouts_and_unknown_types_are_logged_and_marked_processed(hook, db, order):
    t, order_id = order
    subscription = _paid_checkout(t, order_id, db, mode="subscription")
    other = stripe_event("customer.created", {"id": "cus_test_1", "object": "customer", "metadata": {}})
    assert deliver(hook, subscription).status_code == 200
    assert deliver(hook, other).status_code == 200
    with order_of(db, t.tenant, order_id) as untouched:
        assert untouched.payment_status == "unpaid"
    assert all(e.processed_at is not None for e in billing_events(db))


def test_metadata_naming_another_tenants_order_changes_nothing(hook, db, team, make_order):
    mine, theirs = team(), team()
    their_order = make_order(theirs)
    event = stripe_event(
        "payment_intent.succeeded", payment_intent(mine.tenant, their_order, 100)
    )  # tenant_id says "mine", procurement_id is theirs
    assert deliver(hook, event).status_code == 200
    with order_of(db, theirs.tenant, their_order) as untouched:
        assert untouched.payment_status == "unpaid"


# -- idempotency and order ----------------------------------------------------------------


def test_a_duplicate_delivery_is_a_no_op(hook, db, order):
    t, order_id = order
    event = _paid_checkout(t, order_id, db)
    first = deliver(hook, event)
    second = deliver(hook, event)
    assert first.status_code == second.status_code == 200
    assert second.get_json()["duplicate"] is True
    assert event_count(db) == 1
    assert len(commissions(db, t.tenant, order_id)) == 1
    with order_of(db, t.tenant, order_id):
        payments = db.session.query(ProcurementEvent).filter_by(procurement_id=order_id, kind="payment").count()
    assert payments == 1


def test_out_of_order_events_end_paid_with_one_commission(hook, db, order):
    t, order_id = order
    assert deliver(hook, _intent("payment_intent.succeeded", t, order_id, db)).status_code == 200
    assert deliver(hook, _paid_checkout(t, order_id, db)).status_code == 200
    # A stale failure for the same payment arriving last cannot undo it.
    late = _intent("payment_intent.payment_failed", t, order_id, db, status="requires_payment_method", error="Nope.")
    assert deliver(hook, late).status_code == 200
    with order_of(db, t.tenant, order_id) as paid:
        assert (paid.payment_status, paid.payment_error) == ("paid", None) and paid.status in SENT
    assert len(commissions(db, t.tenant, order_id)) == 1
    assert event_count(db) == 3


def test_a_failed_event_rolls_back_its_work_stays_unprocessed_and_a_redelivery_retries_it(hook, db, order, monkeypatch):
    t, order_id = order
    calls = []

    def flaky(session, event):
        from aerospec.procurement.models import Procurement

        row = session.get(Procurement, order_id)
        row.notes = "written by the handler"
        calls.append(event.id)
        if len(calls) == 1:
            raise RuntimeError("database hiccup")
        return "noted"

    monkeypatch.setitem(webhooks.HANDLERS, "test.flaky", [flaky])
    event = stripe_event("test.flaky", {"id": "x", "object": "thing", "metadata": {"tenant_id": str(t.tenant.id)}})
    assert deliver(hook, event).status_code == 200  # accepted: processing failed in the job, not the request
    [stored] = billing_events(db)
    assert stored.processed_at is None and stored.attempts == 1 and "database hiccup" in stored.error
    with order_of(db, t.tenant, order_id) as untouched:
        assert untouched.notes is None  # the work rolled back with the failed attempt

    response = deliver(hook, event)  # Stripe (or an admin) delivers it again
    assert response.status_code == 200 and response.get_json()["duplicate"] is True
    [stored] = billing_events(db)
    assert stored.processed_at is not None and stored.attempts == 2 and stored.error is None
    with order_of(db, t.tenant, order_id) as noted:
        assert noted.notes == "written by the handler"
    assert len(calls) == 2


# -- refused deliveries --------------------------------------------------------------------


def test_an_unsigned_delivery_is_refused(hook, db, order):
    t, order_id = order
    response = hook.post(
        "/api/webhooks/stripe", data=json.dumps(_paid_checkout(t, order_id, db)), content_type="application/json"
    )
    assert_problem(response, 400)
    assert event_count(db) == 0


def test_a_tampered_delivery_is_refused(hook, db, order):
    t, order_id = order
    event = _paid_checkout(t, order_id, db)
    payload = json.dumps(event)
    header = sign(payload)
    event["data"]["object"]["amount_total"] = 1
    response = deliver(hook, json.dumps(event), header=header)
    assert_problem(response, 400)
    with order_of(db, t.tenant, order_id) as untouched:
        assert untouched.payment_status == "unpaid"
    assert event_count(db) == 0


def test_a_delivery_signed_with_another_secret_is_refused(hook, db, order):
    t, order_id = order
    assert_problem(deliver(hook, _paid_checkout(t, order_id, db), secret="whsec_someone_else"), 400)
    assert event_count(db) == 0


def test_a_stale_delivery_is_refused(hook, db, order):
    t, order_id = order
    response = deliver(hook, _paid_checkout(t, order_id, db), timestamp=int(time.time()) - 301)
    body = assert_problem(response, 400)
    assert "5 minutes" in body["detail"]
    assert event_count(db) == 0


def test_with_no_secret_configured_every_delivery_is_refused(client, db, order):
    t, order_id = order  # the session app has no STRIPE_WEBHOOK_SECRET
    body = assert_problem(deliver(client, _paid_checkout(t, order_id, db)), 400)
    assert "secret" in body["detail"]
    assert event_count(db) == 0


@pytest.mark.parametrize(
    "payload",
    [
        '{"id": "evt_1", "type": ',
        "[1, 2, 3]",
        '"just a string"',
        '{"type": "x", "data": {"object": {}}}',
        b"\xff\xfe{}",
    ],
    ids=["truncated", "array", "string", "no-id", "not-utf8"],
)
def test_malformed_json_is_a_400_never_a_500(hook, db, payload):
    response = deliver(hook, payload)  # correctly signed, so only the body is wrong
    assert_problem(response, 400)
    assert event_count(db) == 0


def test_a_garbled_signature_header_is_a_400(hook, db, order):
    t, order_id = order
    assert_problem(deliver(hook, _paid_checkout(t, order_id, db), header="t=yesterday,v1=zz"), 400)
    assert event_count(db) == 0


def test_billing_events_are_global_rows(db):
    # Looked up by id before any tenant is known: not tenant-owned, no guard in the way.
    from aerospec.models import TenantOwned

    assert not issubclass(BillingEvent, TenantOwned)
