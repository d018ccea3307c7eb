"""Seats under the per-workspace price: the workspace price has quantity 1 whatever the members; seats beyond the
plan's included ones are an add-on an admin buys on the billing page (price and what it bills shown first). The
seat limit is included + bought; an invitation beyond it tells the admin to add a seat. The "seats follow members"
job no longer bills per member: it only moves a subscription still billed per member onto the workspace price."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from aerospec.billing import subscriptions
from aerospec.billing.models import BillingEvent, Invoice
from aerospec.billing.providers import OfflineProvider, get_provider
from aerospec.limits.effective import effective_limits
from aerospec.tenancy import services as tenancy
from aerospec.tenancy.scoping import tenant_scope
from jobs.billing import run_offline_billing_cycle
from tests.api import conftest as api_fixtures
from tests.billing.helpers import RecordingHTTPClient
from tests.billing.test_billing_page import PRICES, mirror, stripe_subscription, sub_row

tokens = api_fixtures.tokens
bearer = api_fixtures.bearer


def _sync(db, tenant, provider) -> int | None:
    with tenant_scope(db.session, tenant.id):
        seats = subscriptions.sync_seats(db.session, tenant, provider)
        db.session.commit()
    return seats


@pytest.fixture
def on_stripe(app, build_app, db, team, monkeypatch):
    for name, value in PRICES.items():  # the job runs in the test app's context: its config names the prices
        monkeypatch.setitem(app.config, name, value)
    app = build_app(STRIPE_SECRET_KEY="sk_test_abc123", **PRICES)
    app.recorder = RecordingHTTPClient()
    app.extensions["aerospec_stripe_http_client"] = app.recorder
    t = team(subscription_status="active", billing_customer_id="cus_Stripe1")
    return app, t, sub_row(db, t.tenant)


def test_a_member_joining_does_not_change_what_stripe_bills(on_stripe, db, factories):
    app, t, sub_id = on_stripe
    app.recorder.responses = [(200, stripe_subscription(sub_id, "cus_Stripe1"))]  # quantity 1 on the price
    factories.member(t.tenant, "user")
    db.session.commit()

    assert _sync(db, t.tenant, get_provider(app)) == 0

    [get] = app.recorder.calls  # read back, nothing updated: four members cost what three did
    assert (get["method"], get["url"]) == ("get", f"https://api.stripe.com/v1/subscriptions/{sub_id}")
    assert mirror(db, t.tenant).extra_seats == 0


def test_a_subscription_still_billed_per_member_moves_to_the_workspace_price_without_proration(on_stripe, db):
    app, t, sub_id = on_stripe
    legacy = stripe_subscription(sub_id, "cus_Stripe1")
    legacy["items"]["data"][0]["quantity"] = 7  # 7 × USD 2,000 under the old per-seat price
    moved = stripe_subscription(sub_id, "cus_Stripe1")
    moved["items"]["data"].append(
        {"id": "si_Seat1", "object": "subscription_item", "price": {"id": "price_pro_seat_month"}, "quantity": 2}
    )
    app.recorder.responses = [(200, legacy), (200, moved)]

    assert _sync(db, t.tenant, get_provider(app)) == 2

    _, update = app.recorder.calls
    assert update["params"] == {
        "items[0][id]": "si_Item1",
        "items[0][quantity]": "1",
        "items[1][price]": "price_pro_seat_month",
        "items[1][quantity]": "2",  # the 2 seats beyond the 5 included that it was already paying for
        "proration_behavior": "none",
    }
    assert mirror(db, t.tenant).extra_seats == 2
    db.session.refresh(t.tenant)
    assert effective_limits(t.tenant)["seats"] == 7


def test_no_running_subscription_means_nothing_to_sync(db, team):
    t = team()
    assert _sync(db, t.tenant, OfflineProvider(db.session)) is None


def test_the_seat_job_after_a_join_and_a_removal_bills_nothing_offline(db, team, factories):
    """What the tenancy services' call sites do: enqueue jobs.billing.sync_subscription_seats after the change."""
    from aerospec import queueing
    from aerospec.accounts.services import ClientInfo

    t = team(subscription_status="active", billing_customer_id="cus_offline_join")
    sub_row(db, t.tenant, provider="offline")
    newcomer = factories.UserFactory()
    _, token = factories.invitation(t.tenant, newcomer.email)
    db.session.commit()

    tenancy.accept_invitation(db.session, token, newcomer, ClientInfo("127.0.0.1", "pytest"))
    queueing.enqueue(db.session, "jobs.billing.sync_subscription_seats", t.tenant.id, queue="billing")
    db.session.commit()  # the job runs after this commit (inline in tests)
    assert mirror(db, t.tenant).extra_seats == 0
    db.session.expire_all()
    assert db.session.scalars(select(BillingEvent)).all() == []  # nothing sent: no per-member billing


# -- buying extra seats -------------------------------------------------------------------------------------


def test_the_seat_limit_is_included_plus_bought_and_an_invite_beyond_it_says_add_a_seat(
    client, db, team, factories, login, tenant_url
):
    t = team(subscription_status="active", billing_customer_id="cus_offline_full")
    sub_row(db, t.tenant, provider="offline", extra_seats=1)  # 5 included + 1 extra
    for _ in range(3):
        factories.member(t.tenant, "user")
    db.session.commit()
    with tenant_scope(db.session, t.tenant.id):
        usage = tenancy.seat_usage(db.session, t.tenant)
    assert (usage.members, usage.limit) == (6, 6)

    login(t.admin)
    response = client.post(
        tenant_url(t.tenant, "members/invite"), data={"email": "seventh@example.com", "role": "user"}
    )
    assert response.status_code == 402
    page = response.get_data(as_text=True)
    assert "Your Professional plan has 6 seats (5 included + 1 extra), and all are taken or invited." in page
    assert "Add an extra seat on the billing page (USD 400 a month each)" in page
    assert f'href="/t/{t.tenant.slug}/billing"' in page


def test_typed_extra_seats_are_refused_with_the_field_message_and_nothing_changes(
    client, db, team, factories, login, tenant_url
):
    t = team(subscription_status="active", billing_customer_id="cus_offline_typed")
    sub_row(db, t.tenant, provider="offline", extra_seats=2)
    for _ in range(3):
        factories.member(t.tenant, "user")  # 6 members: at least 1 extra seat is needed
    db.session.commit()
    login(t.admin)
    for typed, message in [
        ("two", "Enter a whole number of extra seats, 0 or more."),
        ("-1", "Enter a whole number of extra seats, 0 or more."),
        ("1.5", "Enter a whole number of extra seats, 0 or more."),
        ("0", "keep at least 1 extra seat"),
        ("501", "At most 500 extra seats online"),
    ]:
        response = client.post(tenant_url(t.tenant, "billing/seats"), data={"extra_seats": typed})
        assert response.status_code == 422, typed
        html = response.get_data(as_text=True)
        assert message in html and f'value="{typed}"' in html  # the message, and what was typed kept
        assert 'aria-invalid="true"' in html
    assert mirror(db, t.tenant).extra_seats == 2
    db.session.expire_all()
    assert db.session.scalars(select(BillingEvent)).all() == []


def test_seats_added_outside_a_trial_are_invoiced_prorated_and_raise_the_limit_and_the_renewal(
    client, db, team, login, tenant_url
):
    """Typed 3 → confirmation with the price and the prorated charge → Stripe-shaped events → invoice with PDF,
    the mirror, the seat limit, the page, and the next renewal all say 3."""
    start = datetime(2026, 3, 1, tzinfo=UTC)
    t = team(subscription_status="active", billing_customer_id="cus_offline_add")
    sub_row(db, t.tenant, provider="offline")
    with tenant_scope(db.session, t.tenant.id):
        row = subscriptions.live_subscription(db.session, t.tenant)
        row.current_period_start, row.current_period_end = start, datetime(2026, 4, 1, tzinfo=UTC)  # 31 days
        row.provider_updated_at = start
        db.session.commit()
    at = datetime(2026, 3, 11, tzinfo=UTC)  # 21 of 31 days left
    with time_machine.travel(at, tick=False):
        login(t.admin)
        ask = client.post(tenant_url(t.tenant, "billing/seats"), data={"extra_seats": "3"})
        assert ask.status_code == 303
        confirm = client.get(ask.headers["Location"]).get_data(as_text=True)
        assert "Change to 3 extra seats?" in confirm
        assert "3 extra seats × USD 400" in confirm and "USD 1,200 a month" in confirm  # the add-on
        assert 'Total</span> <span class="num">USD 3,200 a month' in confirm
        # 3 × USD 400 × 21/31 = 81,290.32… cents → USD 812.90 (the workspace price does not change: no line)
        assert "Remaining time on 3 × extra seat on Professional (monthly)" in confirm
        assert '<strong id="estimate-due">USD 812.90</strong>' in confirm
        done = client.post(
            tenant_url(t.tenant, "billing/change"),
            data={"plan": "professional", "interval": "month", "extra_seats": "3"},
        )
        assert done.status_code == 303
        html = client.get(done.headers["Location"]).get_data(as_text=True)
        [pdf_path] = set(re.findall(r'href="([^"]+/billing/invoices/[^"]+\.pdf)"', html))
        pdf = client.get(pdf_path)
        assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert "Charged USD 812.90 now (invoice AS-202603-" in html
    assert "5 included + 3 extra" in html and "of 8" in html  # the seats card, in the same response
    assert "3 extra seats × USD 400" in html
    row = mirror(db, t.tenant)
    assert (row.extra_seats, row.status) == (3, "active")
    db.session.refresh(t.tenant)
    assert (t.tenant.extra_seats, effective_limits(t.tenant)["seats"]) == (3, 8)
    with tenant_scope(db.session, t.tenant.id):
        [invoice] = db.session.scalars(select(Invoice)).all()
        assert (invoice.status, invoice.total, invoice.amount_paid) == ("paid", 81_290, 81_290)
        assert [(line["quantity"], line["amount"]) for line in invoice.lines] == [(3, 81_290)]
        assert invoice.number in html  # listed on the billing page, with its PDF link
        assert pdf_path.endswith(f"/billing/invoices/{invoice.id}.pdf")

    with time_machine.travel(datetime(2026, 4, 1, 1, tzinfo=UTC), tick=False):
        assert run_offline_billing_cycle()["renewed"] == 1
    with tenant_scope(db.session, t.tenant.id):
        renewal = db.session.scalars(select(Invoice).order_by(Invoice.period_start.desc())).first()
        assert [(line["quantity"], line["unit_amount"], line["amount"]) for line in renewal.lines] == [
            (1, 200_000, 200_000),
            (3, 40_000, 120_000),
        ]
        assert renewal.total == 320_000


def test_a_team_over_the_included_seats_subscribes_with_the_extra_seats_it_needs(
    client, db, team, factories, bearer, login
):
    t = team(subscription_status="expired", trial_ends_at=datetime.now(UTC) - timedelta(days=1))
    for _ in range(4):
        factories.member(t.tenant, "user")  # 7 members; Professional includes 5
    db.session.commit()
    response = client.post(
        "/api/billing/subscribe", json={"plan": "professional", "interval": "month"}, headers=bearer(t.admin)
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    login(t.admin)  # the offline checkout opens only for a member who may pay
    page = client.get(response.get_json()["checkout_url"].removeprefix("http://testserver")).get_data(as_text=True)
    assert "AeroSpec Professional plan (monthly), workspace price, includes 5 seats" in page
    assert "Extra seats on Professional (monthly)" in page
    assert "USD 2,800.00" in page  # 2,000 + 2 × 400, due today (no trial left)
