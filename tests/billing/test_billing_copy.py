"""One reading of the trial (lifecycle.trial_of) for the banner, the billing page, the portal and the reminder
email, and billing copy that fits each state: trialing, in a subscription's trial, active monthly and annual,
past due, cancelled at period end, expired. Each state is checked for what must be said and what must not."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from aerospec.billing import lifecycle, subscriptions
from aerospec.notifications.models import EmailMessage
from aerospec.tenancy.scoping import tenant_scope
from tests.billing.test_billing_page import sub_row

DAY, HOUR = timedelta(days=1), timedelta(hours=1)


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def page(client, tenant_url, tenant, path="billing") -> str:
    response = client.get(tenant_url(tenant, path))
    assert response.status_code == 200
    return text(response.get_data(as_text=True))


def test_banner_page_and_email_count_the_same_days_to_the_same_date(client, db, team, login, tenant_url):
    ends = datetime.now(UTC).replace(microsecond=0) + 13 * DAY + 23 * HOUR  # just signed up: "14 days"
    t = team(trial_ends_at=ends)
    login(t.admin)
    html = page(client, tenant_url, t.tenant)
    assert f"Trial: 14 days left. Your Professional trial ends on {ends:%d %b %Y}." in html  # the banner
    assert f"14 days left: ends on {ends:%d %b %Y, %H:%M UTC}" in html  # the billing page
    assert "13 days" not in html  # the old "14 days left, ends in 13 days"
    assert "First charge" not in html and "Renews" not in html
    assert "No plan chosen yet. Nothing is charged during the trial" in html

    with tenant_scope(db.session, t.tenant.id):
        t.tenant.trial_ends_at = datetime.now(UTC) + 2 * DAY + HOUR
        db.session.commit()
        trial = lifecycle.trial_of(t.tenant)
        assert lifecycle.send_reminders(db.session, t.tenant) == ["trial_reminder:3d"]
        db.session.commit()
    body = db.session.scalars(select(EmailMessage.text_body).where(EmailMessage.to_address == t.admin.email)).all()
    assert any(f"ends in 3 days, on {trial.ends_at:%d %B %Y}" in b for b in body), body
    assert f"Trial: 3 days left. Your Professional trial ends on {trial.ends_at:%d %b %Y}." in page(
        client, tenant_url, t.tenant
    )


def test_in_a_subscriptions_trial_the_page_and_the_portal_give_the_same_end_and_first_charge(
    client, db, team, login, tenant_url
):
    t = team(subscription_status="active", billing_customer_id="cus_offline_copy")
    trial_end = datetime.now(UTC).replace(microsecond=0) + 9 * DAY
    sub_row(db, t.tenant, provider="offline", interval="year", status="trialing", trial_end=trial_end)
    with tenant_scope(db.session, t.tenant.id):
        row = subscriptions.live_subscription(db.session, t.tenant)
        row.current_period_end = period_end = trial_end + 365 * DAY  # a period past it: the trial's end counts
        db.session.commit()
    login(t.admin)
    html = page(client, tenant_url, t.tenant)
    assert f"Trial 9 days left: ends on {trial_end:%d %b %Y, %H:%M UTC}" in html
    assert f"First charge USD 21,600 on {trial_end:%d %b %Y}, when the trial ends" in html
    assert "Renews" not in html
    portal = page(client, tenant_url, t.tenant, "billing/portal")
    assert f"Trial: 9 days left; it ends and the first charge of USD 21,600 is on {trial_end:%d %b %Y}." in portal
    assert f"{period_end:%d %b %Y}" not in portal


@pytest.mark.parametrize(
    ("interval", "price"), [("month", "USD 2,000"), ("year", "USD 21,600")], ids=["monthly", "annual"]
)
def test_an_active_subscription_renews_and_never_mentions_a_trial(client, db, team, login, tenant_url, interval, price):
    t = team(subscription_status="active", billing_customer_id=f"cus_offline_{interval}")
    sub_row(db, t.tenant, provider="offline", interval=interval)
    end = subscriptions.live_subscription(db.session, t.tenant).current_period_end
    login(t.admin)
    html = page(client, tenant_url, t.tenant)
    assert f"Renews {end:%d %b %Y}: {price}" in html
    assert f"Billed {'annually' if interval == 'year' else 'monthly'}" in html
    for wrong in ("Trial ends", "First charge", "trial", "Free trial", "days left"):
        assert wrong not in html, wrong


def test_past_due_cancelled_and_expired_each_say_their_own_thing(client, db, team, login, tenant_url):
    due = team(subscription_status="past_due", billing_customer_id="cus_offline_due")
    sub_row(db, due.tenant, provider="offline", status="past_due")
    login(due.admin)
    html = page(client, tenant_url, due.tenant)
    assert "Payment overdue (grace period)" in html and "Current period ends" in html
    assert "Renews" not in html and "First charge" not in html

    ending = team(subscription_status="active", billing_customer_id="cus_offline_end")
    sub_row(db, ending.tenant, provider="offline", cancel_at_period_end=True)
    login(ending.admin)
    html = page(client, tenant_url, ending.tenant)
    assert "nothing more is charged" in html and "Resume subscription" in html and "set to end on" in html
    assert "Renews" not in html and "Cancel subscription…" not in html

    expired = team(subscription_status="expired", trial_ends_at=datetime.now(UTC) - 2 * DAY)
    login(expired.admin)
    html = page(client, tenant_url, expired.tenant)
    assert "Trial ended: read-only" in html and "without a plan: choose one below" in html
    for wrong in ("days left", "First charge", "Renews", "Free trial"):
        assert wrong not in html, wrong
