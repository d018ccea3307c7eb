"""Seat quantity follows the members: `subscriptions.sync_seats` after a join or a removal updates the Stripe
subscription item's quantity with proration (the real SDK, exact parameters recorded) or, offline, emits
customer.subscription.updated with the new quantity, which the next renewal bills."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from aerospec.billing import subscriptions
from aerospec.billing.models import BillingEvent, Invoice
from aerospec.billing.providers import OfflineProvider, get_provider
from aerospec.tenancy.models import Membership
from aerospec.tenancy.scoping import tenant_scope
from jobs.billing import run_offline_billing_cycle
from tests.billing.helpers import RecordingHTTPClient
from tests.billing.test_billing_page import PRICES, mirror, stripe_subscription, sub_row


def _join(db, factories, tenant):
    member = factories.member(tenant, "user")
    db.session.commit()
    return member


def _leave(db, tenant, user) -> None:
    with tenant_scope(db.session, tenant.id):
        db.session.delete(
            db.session.scalar(
                select(Membership).where(Membership.tenant_id == tenant.id, Membership.user_id == user.id)
            )
        )
        db.session.flush()


def _sync(db, tenant, provider) -> int | None:
    with tenant_scope(db.session, tenant.id):
        seats = subscriptions.sync_seats(db.session, tenant, provider)
        db.session.commit()
    return seats


@pytest.fixture
def on_stripe(build_app, db, team):
    app = build_app(STRIPE_SECRET_KEY="sk_test_abc123", **PRICES)
    app.recorder = RecordingHTTPClient()
    app.extensions["aerospec_stripe_http_client"] = app.recorder
    t = team(subscription_status="active", billing_customer_id="cus_Stripe1")
    return app, t, sub_row(db, t.tenant, seats=3)


def test_a_member_joining_updates_the_stripe_quantity_with_proration(on_stripe, db, factories):
    app, t, sub_id = on_stripe
    current = stripe_subscription(sub_id, "cus_Stripe1")  # quantity 3
    updated = stripe_subscription(sub_id, "cus_Stripe1")
    updated["items"]["data"][0]["quantity"] = 4
    app.recorder.responses = [(200, current), (200, updated)]
    _join(db, factories, t.tenant)

    assert _sync(db, t.tenant, get_provider(app)) == 4

    get, update = app.recorder.calls
    assert (get["method"], get["url"]) == ("get", f"https://api.stripe.com/v1/subscriptions/{sub_id}")
    assert (update["method"], update["url"]) == ("post", f"https://api.stripe.com/v1/subscriptions/{sub_id}")
    assert update["params"] == {
        "items[0][id]": "si_Item1",
        "items[0][quantity]": "4",
        "proration_behavior": "create_prorations",
    }
    assert mirror(db, t.tenant).seats == 4  # applied from Stripe's answer at once


def test_a_member_leaving_lowers_the_stripe_quantity_and_an_unchanged_count_sends_nothing(on_stripe, db):
    app, t, sub_id = on_stripe
    assert _sync(db, t.tenant, get_provider(app)) == 3
    assert app.recorder.calls == []  # 3 members, 3 seats: nothing to tell Stripe

    lowered = stripe_subscription(sub_id, "cus_Stripe1")
    lowered["items"]["data"][0]["quantity"] = 2
    app.recorder.responses = [(200, stripe_subscription(sub_id, "cus_Stripe1")), (200, lowered)]
    _leave(db, t.tenant, t.viewer)
    assert _sync(db, t.tenant, get_provider(app)) == 2
    assert app.recorder.calls[-1]["params"]["items[0][quantity]"] == "2"
    assert mirror(db, t.tenant).seats == 2


def test_no_running_subscription_means_nothing_to_sync(db, team):
    t = team()
    assert _sync(db, t.tenant, OfflineProvider(db.session)) is None


def test_offline_seats_change_through_the_intake_and_the_next_renewal_bills_them(db, team, factories):
    t = team(subscription_status="active", billing_customer_id="cus_offline_seats")
    sub_row(db, t.tenant, provider="offline", seats=3)
    _join(db, factories, t.tenant)
    _join(db, factories, t.tenant)

    assert _sync(db, t.tenant, OfflineProvider(db.session)) == 5
    row = mirror(db, t.tenant)
    assert row.seats == 5
    end = row.current_period_end
    db.session.expire_all()
    [event] = db.session.scalars(select(BillingEvent)).all()
    assert (event.type, event.provider, event.error) == ("customer.subscription.updated", "offline", None)
    assert event.payload["data"]["object"]["items"]["data"][0]["quantity"] == 5

    with time_machine.travel(end + timedelta(hours=1), tick=False):
        assert run_offline_billing_cycle()["renewed"] == 1
    with tenant_scope(db.session, t.tenant.id):
        [renewal] = db.session.scalars(select(Invoice)).all()
        assert renewal.lines[0]["quantity"] == 5
        assert renewal.lines[0]["amount"] == 5 * subscriptions.plan_amount_minor("professional", "month")


def test_the_seat_job_after_an_accepted_invitation_and_a_removal_follows_the_members(db, team, factories):
    """What the tenancy services' call sites do: enqueue jobs.billing.sync_subscription_seats after the change."""
    from aerospec import queueing
    from aerospec.accounts.services import ClientInfo
    from aerospec.tenancy import services as tenancy

    t = team(subscription_status="active", billing_customer_id="cus_offline_join")
    sub_row(db, t.tenant, provider="offline", seats=3)
    newcomer = factories.UserFactory()
    _, token = factories.invitation(t.tenant, newcomer.email)
    db.session.commit()

    tenancy.accept_invitation(db.session, token, newcomer, ClientInfo("127.0.0.1", "pytest"))
    queueing.enqueue(db.session, "jobs.billing.sync_subscription_seats", t.tenant.id, queue="billing")
    db.session.commit()  # the job runs after this commit (inline in tests)
    assert mirror(db, t.tenant).seats == 4

    with tenant_scope(db.session, t.tenant.id):
        admin = tenancy.get_membership(db.session, t.tenant, t.admin)
        tenancy.remove_member(db.session, t.tenant, admin, newcomer.id, ClientInfo("127.0.0.1", "pytest"))
        queueing.enqueue(db.session, "jobs.billing.sync_subscription_seats", t.tenant.id, queue="billing")
        db.session.commit()
    assert mirror(db, t.tenant).seats == 3
