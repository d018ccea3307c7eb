"""Paying for an order: the Pay button, the offline checkout end to end through the web routes,
the order page's live region following the payment, the checkout and payment-status API,
permissions and tenancy."""

from __future__ import annotations

import html as html_lib
import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from aerospec.billing.models import OfflineCheckoutSession
from aerospec.compliance.models import AuditLog
from aerospec.procurement import views
from aerospec.tenancy.scoping import unscoped
from tests.api.conftest import assert_problem, bearer, tokens  # noqa: F401 - fixtures
from tests.billing.helpers import (
    RecordingHTTPClient,
    billing_events,
    canned_checkout_session,
    commissions,
    make_order,  # noqa: F401 - fixture
    order_of,
)

SENT = ("submitted", "confirmed")  # the inline send job may already have had the supplier confirm it
HX = {"HX-Request": "true"}


def _checkout_path(tenant_url, t, order_id) -> str:
    return tenant_url(t.tenant, f"procurements/{order_id}/checkout")


def _open_checkout(client, tenant_url, t, order_id) -> str:
    """Press Pay on the order page: answers the offline checkout page's path."""
    response = client.post(_checkout_path(tenant_url, t, order_id))
    assert response.status_code == 303, response.get_data(as_text=True)
    location = urlsplit(response.headers["Location"])
    assert location.path.startswith("/billing/offline/checkout/cs_offline_")
    return location.path


def _finish(client, page: str, outcome: str):
    return client.post(page, data={"outcome": outcome})


# -- the offline checkout through the web routes ---------------------------------------------


def test_paying_offline_marks_the_order_paid_records_commission_and_submits_the_sample(
    client,
    db,
    team,
    login,
    tenant_url,
    make_order,  # noqa: F811
):
    t = team()
    order_id = make_order(t)
    login(t.user)

    page = _open_checkout(client, tenant_url, t, order_id)
    with order_of(db, t.tenant, order_id) as pending:
        assert pending.payment_status == "pending" and pending.payment_provider == "offline"
        assert page.endswith(pending.checkout_session_id)
        total, currency, reference = pending.total, pending.currency, pending.reference

    shown = client.get(page)
    assert shown.status_code == 200
    html = shown.get_data(as_text=True)
    assert f"{currency} {total:,.2f}" in html and reference in html
    assert "Pay (test card succeeds)" in html.replace(f"Pay {currency} {total:,.2f} ", "Pay ")
    assert "Decline (test card fails)" in html and "Cancel and go back" in html

    done = _finish(client, page, "pay")
    assert done.status_code == 303
    assert done.headers["Location"] == f"http://localhost/t/{t.tenant.slug}/procurements/{order_id}?payment=returned"

    with order_of(db, t.tenant, order_id) as paid:
        assert paid.payment_status == "paid" and paid.paid_at is not None and paid.payment_error is None
        assert paid.payment_intent_id.startswith("pi_offline_")
        assert paid.submitted_at is not None and paid.status in SENT
    [commission] = commissions(db, t.tenant, order_id)
    assert (commission.plan, commission.rate, commission.base_amount) == ("professional", Decimal("0.1500"), total)
    assert commission.amount == (total * Decimal("0.15")).quantize(Decimal("0.01"))
    events = billing_events(db)
    assert [e.type for e in events] == ["checkout.session.completed", "payment_intent.succeeded"]
    assert all(e.provider == "offline" and e.processed_at is not None for e in events)
    # The same page again shows it paid and offers nothing more to press.
    again = client.get(page).get_data(as_text=True)
    assert "This checkout is complete" in again and 'value="pay"' not in again


def test_a_declined_card_fails_the_payment_and_a_new_checkout_then_pays(
    client,
    db,
    team,
    login,
    tenant_url,
    make_order,  # noqa: F811
):
    t = team()
    order_id = make_order(t)
    login(t.admin)

    page = _open_checkout(client, tenant_url, t, order_id)
    declined = _finish(client, page, "decline")
    assert declined.status_code == 303 and declined.headers["Location"].endswith(f"{page}?declined=1")
    assert "Your card was declined." in client.get(f"{page}?declined=1").get_data(as_text=True)
    with order_of(db, t.tenant, order_id) as failed:
        assert (failed.payment_status, failed.payment_error) == ("failed", "Your card was declined.")
        assert failed.status == "draft" and failed.paid_at is None
    assert commissions(db, t.tenant, order_id) == []

    # The failure is not the end: the page keeps following the order (another tab may pay it).
    region = client.get(tenant_url(t.tenant, f"procurements/{order_id}/status"), headers=HX)
    html = region.get_data(as_text=True)
    assert region.status_code == 200 and 'hx-trigger="every 5s"' in html
    assert "Payment failed" in html and "Try again: pay USD" in html

    retry = _open_checkout(client, tenant_url, t, order_id)
    assert retry != page
    assert _finish(client, retry, "pay").status_code == 303
    with order_of(db, t.tenant, order_id) as paid:
        assert paid.payment_status == "paid" and paid.payment_error is None and paid.status in SENT
    assert len(commissions(db, t.tenant, order_id)) == 1


def _watch_trigger(html: str) -> str | None:
    """The live region's polling trigger ("every 2s"), or None when it no longer polls."""
    match = re.search(r'id="order-live"[^>]*hx-trigger="([^"]+)"', html)
    return match.group(1) if match else None


def _text(html: str) -> str:
    """The words a person reads (tags dropped, spaces folded)."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _payment_block(html: str) -> str:
    """The words of the page's payment block (the timeline keeps past failures as history)."""
    return _text(re.search(r'<section id="order-payment".*?</section>', html, re.S).group(0))


def _seen(html: str) -> dict:
    """The live region's hx-vals (seen token, returned time), as the next poll would send them."""
    return json.loads(html_lib.unescape(re.search(r"hx-vals='([^']+)'", html).group(1)))


def test_the_order_page_polls_fast_while_a_payment_is_in_flight_and_follows_it_to_paid(
    client,
    db,
    team,
    login,
    tenant_url,
    make_order,  # noqa: F811
):
    t = team()
    order_id = make_order(t)
    login(t.user)
    region = tenant_url(t.tenant, f"procurements/{order_id}/status")

    unpaid = client.get(region, headers=HX)
    html = unpaid.get_data(as_text=True)
    assert unpaid.status_code == 200 and _watch_trigger(html) == "every 5s"  # an unpaid draft can still move
    assert "Pay USD" in html and "Not paid" in html
    assert client.get(region, query_string=_seen(html), headers=HX).status_code == 204  # nothing new

    page = _open_checkout(client, tenant_url, t, order_id)
    pending = client.get(region, query_string=_seen(html), headers=HX)
    html = pending.get_data(as_text=True)
    assert pending.status_code == 200 and _watch_trigger(html) == "every 2s"
    assert "Waiting for payment" in html and "A checkout for USD" in _text(html)

    _finish(client, page, "pay")
    paid = client.get(region, query_string=_seen(html), headers=HX)
    html = paid.get_data(as_text=True)
    # Paid and (paying submits a sample draft) sent: one fragment, so status and payment agree.
    assert paid.status_code == 200 and _watch_trigger(html) == "every 5s"  # still follows the supplier
    assert _payment_block(html).startswith("Payment Paid USD") and "Pay USD" not in html
    assert re.search(r"badge-order-(submitted|confirmed)", html) and "Delete draft" not in html
    assert 'id="order-status-announce" hx-swap-oob="innerHTML"' in html

    # Loaded directly (not by htmx) it is the order page's business.
    direct = client.get(region)
    assert direct.status_code == 303
    assert urlsplit(direct.headers["Location"]).path == tenant_url(t.tenant, f"procurements/{order_id}")


def test_back_from_a_paid_checkout_after_a_decline_the_page_confirms_instead_of_showing_the_failure(
    client,
    db,
    team,
    login,
    tenant_url,
    make_order,  # noqa: F811
):
    """Decline, then pay on the same checkout: the payer is back before the provider's event."""
    t = team()
    order_id = make_order(t)
    login(t.user)
    order_page = tenant_url(t.tenant, f"procurements/{order_id}")
    page = _open_checkout(client, tenant_url, t, order_id)
    _finish(client, page, "decline")
    with order_of(db, t.tenant, order_id) as failed:
        assert failed.payment_status == "failed"  # what the server knows until the success event lands

    back = client.get(order_page, query_string={"payment": "returned"}).get_data(as_text=True)
    payment = _payment_block(back)
    assert "Confirming payment" in payment and "We are confirming your payment of USD" in payment
    assert "Payment failed" not in payment and "Try again" not in payment and "Pay USD" not in payment
    assert "Delete draft" not in back and "Cancel order" not in back  # nothing to undo while it lands
    assert _watch_trigger(back) == "every 2s" and "returned" in _seen(back)

    assert _finish(client, page, "pay").status_code == 303  # the provider's events arrive now
    region = client.get(order_page + "/status", query_string=_seen(back), headers=HX)
    html = region.get_data(as_text=True)
    payment = _payment_block(html)
    assert region.status_code == 200 and payment.startswith("Payment Paid USD")
    assert "Confirming" not in payment and "Payment failed" not in payment and "Try again" not in payment
    assert re.search(r"badge-order-(submitted|confirmed)", html)
    assert "returned" not in _seen(html)  # paid: nothing left to confirm


def test_confirming_gives_way_to_the_real_state_on_news_or_after_its_window(
    client,
    db,
    team,
    login,
    tenant_url,
    make_order,  # noqa: F811
):
    t = team()
    order_id = make_order(t)
    login(t.user)
    region = tenant_url(t.tenant, f"procurements/{order_id}/status")
    page = _open_checkout(client, tenant_url, t, order_id)
    now = datetime.now(UTC).timestamp()

    confirming = client.get(region, query_string={"returned": f"{now:.3f}"}, headers=HX).get_data(as_text=True)
    assert "Confirming payment" in confirming
    stale = now - views.CONFIRMING_SECONDS - 1
    expired = client.get(region, query_string={"returned": f"{stale:.3f}"}, headers=HX).get_data(as_text=True)
    assert "Confirming payment" not in expired and "Waiting for payment" in expired

    _finish(client, page, "decline")  # news after the return: a real decline now
    declined = client.get(region, query_string={"returned": f"{now:.3f}"}, headers=HX).get_data(as_text=True)
    assert "Confirming payment" not in declined and "Payment failed" in declined and "Try again" in declined
    junk = client.get(region, query_string={"returned": "soon"}, headers=HX)
    assert junk.status_code == 200 and "Payment failed" in junk.get_data(as_text=True)


def test_the_page_stops_polling_only_once_nothing_can_change(
    client,
    db,
    team,
    login,
    tenant_url,
    make_order,  # noqa: F811
):
    from aerospec.procurement import services

    t = team()
    order_id = make_order(t, order_type="pilot")
    login(t.user)
    region = tenant_url(t.tenant, f"procurements/{order_id}/status")
    with order_of(db, t.tenant, order_id) as order:
        for step in ("submitted", "confirmed", "shipped", "delivered"):
            services.transition(db.session, order, step)
        db.session.commit()
    unpaid = client.get(region, headers=HX)  # delivered on account, still payable by card
    assert unpaid.status_code == 200 and _watch_trigger(unpaid.get_data(as_text=True)) == "every 5s"
    with order_of(db, t.tenant, order_id) as order:
        services.record_payment(db.session, order, succeeded=True, provider="offline")
        db.session.commit()
    final = client.get(region, headers=HX)
    html = final.get_data(as_text=True)
    assert final.status_code == 286 and _watch_trigger(html) is None and ">Paid<" in html


def test_checkout_is_audited_and_on_the_timeline(client, db, team, login, tenant_url, make_order):  # noqa: F811
    t = team()
    order_id = make_order(t)
    login(t.user)
    _open_checkout(client, tenant_url, t, order_id)
    with order_of(db, t.tenant, order_id) as order:
        entries = list(db.session.scalars(select(AuditLog).where(AuditLog.action == "procurement.checkout_started")))
        assert [e.target_id for e in entries] == [str(order.id)]
        assert any(e.kind == "payment" and "Checkout opened" in e.message for e in order.events)


def test_an_order_without_a_quote_cannot_be_paid(client, db, team, login, tenant_url, make_order):  # noqa: F811
    t = team()
    order_id = make_order(t, supplier=None)
    login(t.user)
    response = client.post(_checkout_path(tenant_url, t, order_id))
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path == tenant_url(t.tenant, f"procurements/{order_id}")
    with order_of(db, t.tenant, order_id) as order:
        assert order.payment_status == "unpaid" and order.checkout_session_id is None
    with unscoped(db.session, "test: no checkout in any workspace"):
        assert db.session.scalar(select(OfflineCheckoutSession)) is None


def test_a_viewer_cannot_pay_and_sees_no_button(client, db, team, login, tenant_url, make_order):  # noqa: F811
    t = team()
    order_id = make_order(t)
    login(t.viewer)
    assert client.post(_checkout_path(tenant_url, t, order_id)).status_code == 403
    block = client.get(tenant_url(t.tenant, f"procurements/{order_id}/status"), headers=HX)
    assert block.status_code == 200
    html = block.get_data(as_text=True)
    assert "Pay USD" not in html and "Ask a member who can order" in html
    with order_of(db, t.tenant, order_id) as order:
        assert order.payment_status == "unpaid"


def test_another_tenants_member_gets_404_on_the_payment_routes(
    client,
    db,
    team,
    login,
    tenant_url,
    make_order,  # noqa: F811
):
    mine, theirs = team(), team()
    their_order = make_order(theirs)
    login(mine.admin)
    for path in (f"procurements/{their_order}/status",):
        assert client.get(tenant_url(mine.tenant, path), headers=HX).status_code == 404
        assert client.get(tenant_url(theirs.tenant, path), headers=HX).status_code == 404
    assert client.post(_checkout_path(tenant_url, mine, their_order)).status_code == 404
    assert client.post(_checkout_path(tenant_url, theirs, their_order)).status_code == 404


def test_an_unknown_offline_checkout_is_404(client, db):
    assert client.get("/billing/offline/checkout/cs_offline_" + "0" * 32).status_code == 404
    assert client.get("/billing/offline/checkout/anything").status_code == 404
    assert client.post("/billing/offline/checkout/cs_offline_nope", data={"outcome": "pay"}).status_code == 404


# -- the API ---------------------------------------------------------------------------------


def test_api_checkout_then_payment_status_until_settled(client, db, team, bearer, make_order, login):  # noqa: F811
    t = team()
    order_id = make_order(t)
    headers = bearer(t.user)

    before = client.get(f"/api/procurements/{order_id}/payment-status", headers=headers)
    assert before.status_code == 200
    assert (before.get_json()["payment_status"], before.get_json()["settled"]) == ("unpaid", True)

    opened = client.post(f"/api/procurements/{order_id}/checkout", headers=headers)
    assert opened.status_code == 201, opened.get_json()
    body = opened.get_json()
    assert body["session_id"].startswith("cs_offline_")
    assert body["checkout_url"] == f"http://testserver/billing/offline/checkout/{body['session_id']}"
    assert (body["payment_status"], body["settled"], body["paid_at"]) == ("pending", False, None)

    pending = client.get(f"/api/procurements/{order_id}/payment-status", headers=headers).get_json()
    assert (pending["payment_status"], pending["settled"]) == ("pending", False)
    assert pending["checkout_session_id"] == body["session_id"]

    login(t.user)  # the member who opened it pays in the browser (the checkout is never anonymous)
    assert _finish(client, urlsplit(body["checkout_url"]).path, "pay").status_code == 303
    paid = client.get(f"/api/procurements/{order_id}/payment-status", headers=headers).get_json()
    assert (paid["payment_status"], paid["settled"], paid["payment_provider"]) == ("paid", True, "offline")
    assert paid["paid_at"] is not None and paid["status"] in SENT
    assert paid["payment_required_before_submit"] is True

    again = client.post(f"/api/procurements/{order_id}/checkout", headers=headers)
    assert "already paid" in assert_problem(again, 409)["detail"]


def test_api_checkout_through_stripe_sends_the_order_total_in_cents(
    build_app,
    db,
    team,
    tokens,  # noqa: F811
    make_order,  # noqa: F811
):
    t = team()
    order_id = make_order(t)
    with order_of(db, t.tenant, order_id) as order:
        cents = int(order.total * 100)
        reference = order.reference
    stripe_app = build_app(STRIPE_SECRET_KEY="sk_test_abc123", STRIPE_API_BASE="https://stripe.internal.test")
    recorder = RecordingHTTPClient([(200, canned_checkout_session("cs_test_order1", cents))])
    stripe_app.extensions["aerospec_stripe_http_client"] = recorder
    headers = {"Authorization": f"Bearer {tokens(t.user)['access_token']}"}

    response = stripe_app.test_client().post(f"/api/procurements/{order_id}/checkout", headers=headers)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["session_id"], body["checkout_url"]) == (
        "cs_test_order1",
        "https://checkout.stripe.com/c/pay/cs_test_order1",
    )
    [call] = recorder.calls
    params = call["params"]
    assert call["url"] == "https://stripe.internal.test/v1/checkout/sessions"
    assert params["mode"] == "payment"
    assert params["line_items[0][price_data][unit_amount]"] == str(cents)
    assert params["line_items[0][price_data][currency]"] == "usd"
    assert reference in params["line_items[0][price_data][product_data][name]"]
    assert params["metadata[kind]"] == params["payment_intent_data[metadata][kind]"] == "procurement"
    assert params["metadata[tenant_id]"] == str(t.tenant.id)
    assert params["metadata[procurement_id]"] == params["client_reference_id"] == str(order_id)
    assert params["customer_email"] == t.user.email
    base = f"http://testserver/t/{t.tenant.slug}/procurements/{order_id}"
    assert (params["success_url"], params["cancel_url"]) == (f"{base}?payment=returned", f"{base}?payment=cancelled")
    with order_of(db, t.tenant, order_id) as pending:
        assert (pending.payment_status, pending.payment_provider) == ("pending", "stripe")
        assert pending.checkout_session_id == "cs_test_order1"


def test_api_viewer_has_no_api_and_a_user_reads_payment_status(client, db, team, bearer, make_order):  # noqa: F811
    t = team()
    order_id = make_order(t)
    viewer = bearer(t.viewer)
    assert_problem(client.get(f"/api/procurements/{order_id}/payment-status", headers=viewer), 403)
    assert_problem(client.post(f"/api/procurements/{order_id}/checkout", headers=viewer), 403)
    assert client.get(f"/api/procurements/{order_id}/payment-status", headers=bearer(t.user)).status_code == 200


def test_api_another_tenants_order_is_404(client, db, team, bearer, make_order):  # noqa: F811
    mine, theirs = team(), team()
    their_order = make_order(theirs)
    headers = bearer(mine.admin)
    assert_problem(client.get(f"/api/procurements/{their_order}/payment-status", headers=headers), 404)
    assert_problem(client.post(f"/api/procurements/{their_order}/checkout", headers=headers), 404)


@pytest.mark.parametrize("order_type", ["pilot", "production"])
def test_api_cancelled_orders_cannot_be_paid(client, db, team, bearer, make_order, order_type):  # noqa: F811
    from aerospec.procurement import services

    t = team()
    order_id = make_order(t, order_type=order_type)
    with order_of(db, t.tenant, order_id) as order:
        services.cancel(db.session, t.tenant, t.user, order)
        db.session.commit()
    headers = bearer(t.user)
    refused = client.post(f"/api/procurements/{order_id}/checkout", headers=headers)
    assert "cancelled" in assert_problem(refused, 409)["detail"]
