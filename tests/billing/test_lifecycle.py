"""Trials and dunning as one state machine: the whole path under a frozen clock, the grace timings,
trial expiry to read-only, once-only reminders from the daily job, and the emails each move sends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from aerospec.billing import lifecycle
from aerospec.billing.models import BillingNotice, BillingSubscription
from aerospec.compliance.models import AuditLog
from aerospec.notifications.models import EmailMessage
from aerospec.tenancy.scoping import tenant_scope
from jobs.lifecycle import daily_billing_tick
from tests.api.conftest import assert_problem, auth
from tests.configurations.conftest import BASE

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _mail(db, address: str) -> list[str]:
    """Subjects of the emails sent to `address`, oldest first (each must have reached the outbox)."""
    messages = list(
        db.session.scalars(
            select(EmailMessage).where(EmailMessage.to_address == address).order_by(EmailMessage.created_at)
        )
    )
    assert all(m.status == "sent" and m.transport == "outbox" for m in messages)
    return [m.subject for m in messages]


def _actions(db, tenant) -> list[str]:
    with tenant_scope(db.session, tenant.id):
        entries = db.session.scalars(
            select(AuditLog)
            .where(AuditLog.tenant_id == tenant.id, AuditLog.action.like("billing.%"))
            .order_by(AuditLog.created_at, AuditLog.action)
        )
        return [e.action for e in entries]


def _fields(db, tenant, sub) -> tuple:
    """(past_due_since, failed_payment_count) re-read in the subscription's tenant (RLS on PostgreSQL)."""
    with tenant_scope(db.session, tenant.id):
        db.session.refresh(sub)
        return sub.past_due_since, sub.failed_payment_count


def _subscription(db, tenant, **fields) -> BillingSubscription:
    with tenant_scope(db.session, tenant.id):
        sub = BillingSubscription(
            tenant_id=tenant.id,
            provider="offline",
            provider_customer_id=f"cus_offline_{tenant.slug}",
            provider_subscription_id=f"sub_offline_{tenant.slug}",
            plan="professional",
            status="active",
            **fields,
        )
        db.session.add(sub)
        db.session.commit()
        return sub


@pytest.fixture
def api_headers(app, db):
    from aerospec.accounts.services import ClientInfo
    from aerospec.api import services as api

    def _headers(user, tenant) -> dict:
        settings = api.TokenSettings(
            app.config["SECRET_KEY"], app.config["JWT_ACCESS_SECONDS"], app.config["JWT_REFRESH_SECONDS"]
        )
        membership = api.choose_membership(db.session, user, tenant.slug)
        pair = api.start_api_session(db.session, user, membership, ClientInfo("127.0.0.1", "pytest"), settings)
        db.session.commit()
        return auth(pair.access_token)

    return _headers


# ---- the whole path


def test_trial_to_active_failed_three_times_suspended_paid_active_under_a_frozen_clock(db, team):
    with time_machine.travel(START, tick=False) as clock:
        t = team(trial_ends_at=START + 14 * DAY, name="Acme Sprays")
        tenant = t.tenant
        assert lifecycle.access(tenant) == "full"

        # checkout.session.completed / customer.subscription.created → active
        sub = _subscription(db, tenant)
        assert lifecycle.on_subscription_active(db.session, tenant, sub, now=lifecycle.utcnow()) == "active"
        db.session.commit()
        assert lifecycle.on_subscription_active(db.session, tenant, sub, now=lifecycle.utcnow()) == "active"  # repeat
        db.session.commit()

        clock.shift(30 * DAY)
        first_failure = lifecycle.utcnow()
        assert lifecycle.on_payment_failed(db.session, tenant, 1, now=first_failure) == "past_due"
        db.session.commit()
        assert _fields(db, tenant, sub) == (first_failure, 1)
        assert lifecycle.access(tenant, past_due_since=_fields(db, tenant, sub)[0]) == "full"

        clock.shift(3 * DAY)
        assert lifecycle.on_payment_failed(db.session, tenant, 2, now=lifecycle.utcnow()) == "past_due"
        db.session.commit()
        assert _fields(db, tenant, sub) == (first_failure, 2)  # the cycle keeps its start

        clock.shift(2 * DAY)
        assert lifecycle.on_payment_failed(db.session, tenant, 3, now=lifecycle.utcnow()) == "suspended"
        db.session.commit()
        assert lifecycle.access(tenant) == "suspended"
        assert lifecycle.on_payment_failed(db.session, tenant, 3, now=lifecycle.utcnow()) == "suspended"  # repeat
        db.session.commit()

        clock.shift(DAY)
        assert lifecycle.on_payment_succeeded(db.session, tenant, now=lifecycle.utcnow()) == "active"
        db.session.commit()
        assert lifecycle.access(tenant) == "full"
        assert _fields(db, tenant, sub) == (None, 0)
        assert lifecycle.on_payment_succeeded(db.session, tenant, now=lifecycle.utcnow()) == "active"  # repeat
        db.session.commit()

    assert _actions(db, tenant) == [
        "billing.status_active",
        "billing.payment_failed",
        "billing.status_past_due",
        "billing.payment_failed",
        "billing.payment_failed",
        "billing.status_suspended",
        "billing.status_active",
    ]
    expected = [
        "Acme Sprays: your AeroSpec subscription is active",
        "Payment failed for Acme Sprays: update your payment method",
        "Acme Sprays is suspended: payment overdue",
        "Payment received: Acme Sprays is fully active again",
    ]
    assert _mail(db, tenant.billing_email) == expected
    assert _mail(db, t.admin.email) == expected  # admins hear it too
    assert _mail(db, t.user.email) == []


def test_dunning_without_a_subscription_row_reads_its_cycle_from_the_audit_trail(db, team):
    with time_machine.travel(START, tick=False) as clock:
        t = team(subscription_status="active", trial_ends_at=None)
        assert lifecycle.on_payment_failed(db.session, t.tenant, 1, now=lifecycle.utcnow()) == "past_due"
        db.session.commit()
        clock.shift(2 * DAY)
        assert lifecycle.on_payment_failed(db.session, t.tenant, 2, now=lifecycle.utcnow()) == "past_due"
        db.session.commit()
        cycle = lifecycle.dunning(db.session, t.tenant)
        assert (cycle.since, cycle.attempts) == (START, 2)
        clock.shift(5 * DAY)  # day 7 since the first failure
        assert lifecycle.tick(db.session, t.tenant, lifecycle.utcnow()) == "read_only"
        db.session.commit()


def test_events_that_no_longer_apply_are_ignored(db, team):
    t = team()
    now = lifecycle.utcnow()
    assert lifecycle.on_payment_failed(db.session, t.tenant, 1, now=now) == "trialing"
    assert lifecycle.on_subscription_canceled(db.session, t.tenant, now=now) == "trialing"
    t.tenant.subscription_status = "suspended"
    # the provider cancels an unpaid subscription: the workspace stays suspended, it still owes
    assert lifecycle.on_subscription_canceled(db.session, t.tenant, now=now) == "suspended"
    assert _actions(db, t.tenant) == []


def test_cancel_at_period_end_makes_the_workspace_read_only_until_it_subscribes_again(db, team):
    with time_machine.travel(START, tick=False):
        t = team(subscription_status="active", trial_ends_at=None, name="Beta Mist")
        assert lifecycle.on_subscription_canceled(db.session, t.tenant, now=lifecycle.utcnow()) == "canceled"
        db.session.commit()
        assert lifecycle.access(t.tenant) == "read_only"
        assert lifecycle.on_subscription_active(db.session, t.tenant, now=lifecycle.utcnow()) == "active"
        db.session.commit()
    assert _mail(db, t.tenant.billing_email) == [
        "Your AeroSpec subscription for Beta Mist has ended",
        "Beta Mist: your AeroSpec subscription is active",
    ]


# ---- trial expiry


def test_trial_expiry_makes_the_workspace_read_only_view_and_export_but_no_create(
    db, team, client, login, api_headers, tenant_url
):
    with time_machine.travel(START, tick=False) as clock:
        t = team(trial_ends_at=START + 14 * DAY, name="Gamma Aero")
        headers = api_headers(t.user, t.tenant)
        created = client.post("/api/configurations", json=BASE, headers=headers)
        assert created.status_code == 201, created.get_json()

        clock.shift(14 * DAY + timedelta(minutes=1))
        # Before the daily job runs, access already follows the clock.
        assert t.tenant.subscription_status == "trialing"
        assert lifecycle.access(t.tenant) == "read_only"
        summary = daily_billing_tick(lifecycle.utcnow())
        assert summary["moved"] == 1 and summary["failed"] == 0
        db.session.refresh(t.tenant)
        assert t.tenant.subscription_status == "expired"

        headers = api_headers(t.user, t.tenant)
        body = assert_problem(client.post("/api/configurations", json=BASE, headers=headers), 402)
        assert "read-only because the free trial ended" in body["detail"]
        assert "billing page" in body["detail"]
        listed = client.get("/api/configurations", headers=headers)
        assert listed.status_code == 200 and listed.get_json()["total"] == 1

        login(t.user)
        page = client.post(tenant_url(t.tenant, "configurations"), data={"name": "x"})
        assert page.status_code == 402
        assert "This workspace is read-only because the free trial ended" in page.get_data(as_text=True)
        listing = client.get(tenant_url(t.tenant, "configurations"))
        assert listing.status_code == 200
        assert "Workspace is read-only." in listing.get_data(as_text=True)
        export = client.post(tenant_url(t.tenant, "configurations/export"), data={"format": "csv"})
        assert export.status_code == 200 and export.mimetype == "text/csv"
        assert "Nasal pump" in export.get_data(as_text=True)

    assert _mail(db, t.tenant.billing_email)[-1] == (
        "Your AeroSpec trial for Gamma Aero has ended: the workspace is read-only"
    )
    assert _actions(db, t.tenant) == ["billing.status_expired"]


def test_paying_after_the_trial_expired_restores_full_access(db, team):
    t = team(subscription_status="expired", trial_ends_at=lifecycle.utcnow() - DAY)
    assert lifecycle.access(t.tenant) == "read_only"
    assert lifecycle.on_payment_succeeded(db.session, t.tenant, now=lifecycle.utcnow()) == "active"
    assert lifecycle.access(t.tenant) == "full"


# ---- grace period timings


def test_grace_day_six_full_access_with_banner_day_eight_read_only_day_fifteen_suspended(
    db, team, client, login, api_headers, tenant_url
):
    with time_machine.travel(START, tick=False) as clock:
        t = team(subscription_status="active", trial_ends_at=None)
        sub = _subscription(db, t.tenant)
        lifecycle.on_payment_failed(db.session, t.tenant, 1, now=lifecycle.utcnow())
        db.session.commit()
        login(t.admin)

        clock.shift(2 * DAY)
        page = client.get(tenant_url(t.tenant)).get_data(as_text=True)
        assert 'class="trial-banner trial-warning billing-banner billing-past-due"' in page  # amber
        assert "5 days left to pay" in page

        clock.shift(4 * DAY)  # day 6
        daily_billing_tick(lifecycle.utcnow())
        db.session.refresh(t.tenant)
        assert t.tenant.subscription_status == "past_due"
        assert lifecycle.request_access(db.session, t.tenant) == "full"
        page = client.get(tenant_url(t.tenant)).get_data(as_text=True)
        assert 'class="trial-banner trial-danger billing-banner billing-past-due"' in page  # red
        assert "1 day left to pay" in page
        headers = api_headers(t.user, t.tenant)
        assert client.post("/api/configurations", json=BASE, headers=headers).status_code == 201

        clock.shift(2 * DAY)  # day 8
        headers = api_headers(t.user, t.tenant)  # access tokens live minutes, not days
        # Even before the daily job, the request sees read-only.
        assert_problem(client.post("/api/configurations", json=BASE, headers=headers), 402)
        daily_billing_tick(lifecycle.utcnow())
        db.session.refresh(t.tenant)
        assert t.tenant.subscription_status == "read_only"
        assert client.get("/api/configurations", headers=headers).status_code == 200
        page = client.get(tenant_url(t.tenant)).get_data(as_text=True)
        assert "Workspace is read-only." in page and "a payment is overdue" in page

        clock.shift(7 * DAY)  # day 15
        daily_billing_tick(lifecycle.utcnow())
        db.session.refresh(t.tenant)
        assert t.tenant.subscription_status == "suspended"
        headers = api_headers(t.user, t.tenant)
        assert_problem(client.get("/api/configurations", headers=headers), 402)
        assert client.get(tenant_url(t.tenant, "configurations")).status_code == 402
        dashboard = client.get(tenant_url(t.tenant))
        assert dashboard.status_code == 200 and "Workspace suspended." in dashboard.get_data(as_text=True)
        assert client.get(tenant_url(t.tenant, "settings")).status_code == 200
        assert _fields(db, t.tenant, sub)[1] == 1  # suspended by time, not by attempts


def test_grace_days_left_rounds_up_and_the_banner_turns_red_at_three():
    assert lifecycle.grace_days_left(START, START) == 7
    assert lifecycle.grace_days_left(START, START + timedelta(days=6, hours=23)) == 1
    assert lifecycle.grace_days_left(START, START + 7 * DAY) == 0
    assert lifecycle.grace_days_left(None, START) is None


# ---- the daily job: reminders once each


def test_trial_reminders_at_seven_three_one_days_and_expiry_once_each_when_the_job_runs_twice(db, team):
    with time_machine.travel(START, tick=False) as clock:
        t = team(trial_ends_at=START + 14 * DAY + timedelta(hours=2), name="Delta Jet")
        for _ in range(16):
            for _ in range(2):  # two schedulers, or a retry: nothing goes out twice
                assert daily_billing_tick(lifecycle.utcnow())["failed"] == 0
            clock.shift(DAY)
    assert _mail(db, t.tenant.billing_email) == [
        "Your AeroSpec trial for Delta Jet ends in 7 days",
        "Your AeroSpec trial for Delta Jet ends in 3 days",
        "Your AeroSpec trial for Delta Jet ends in 1 day",
        "Your AeroSpec trial for Delta Jet has ended: the workspace is read-only",
    ]
    with tenant_scope(db.session, t.tenant.id):
        keys = sorted(db.session.scalars(select(BillingNotice.key).where(BillingNotice.tenant_id == t.tenant.id)))
    assert keys == ["1d", "3d", "7d", "expired"]


def test_a_short_trial_gets_only_the_most_urgent_reminder_due(db, team):
    with time_machine.travel(START, tick=False):
        t = team(trial_ends_at=START + 2 * DAY, name="Epsilon")
        daily_billing_tick(lifecycle.utcnow())
    assert _mail(db, t.tenant.billing_email) == ["Your AeroSpec trial for Epsilon ends in 2 days"]


def test_dunning_emails_day_zero_three_six_read_only_suspended_once_each_when_the_job_runs_twice(db, team):
    with time_machine.travel(START, tick=False) as clock:
        t = team(subscription_status="active", trial_ends_at=None, name="Zeta Spray")
        _subscription(db, t.tenant)
        lifecycle.on_payment_failed(db.session, t.tenant, 1, now=lifecycle.utcnow())
        db.session.commit()
        statuses = []
        for _ in range(16):
            for _ in range(2):
                assert daily_billing_tick(lifecycle.utcnow())["failed"] == 0
            db.session.refresh(t.tenant)
            statuses.append(t.tenant.subscription_status)
            clock.shift(DAY)
    assert statuses == ["past_due"] * 7 + ["read_only"] * 7 + ["suspended"] * 2
    assert _mail(db, t.tenant.billing_email) == [
        "Payment failed for Zeta Spray: update your payment method",
        "Reminder: the payment for Zeta Spray is still overdue",
        "Zeta Spray becomes read-only tomorrow: payment overdue",
        "Zeta Spray is now read-only: payment overdue",
        "Zeta Spray is suspended: payment overdue",
    ]
    body = db.session.scalar(
        select(EmailMessage.text_body).where(
            EmailMessage.to_address == t.tenant.billing_email, EmailMessage.template == "billing_read_only_tomorrow"
        )
    )
    assert "09 March 2026" in body and "http://testserver/t/" in body


def test_the_daily_job_leaves_active_and_deleted_tenants_alone(db, team):
    with time_machine.travel(START, tick=False):
        team(subscription_status="active", trial_ends_at=None)
        gone = team(trial_ends_at=START - DAY)
        gone.tenant.deleted_at = START
        db.session.commit()
        assert daily_billing_tick(lifecycle.utcnow()) == {"tenants": 0, "moved": 0, "reminders": 0, "failed": 0}


def test_a_notice_is_claimed_once(db, team):
    t = team()
    now = lifecycle.utcnow()
    assert lifecycle.claim_notice(db.session, t.tenant, "trial_reminder", "7d", now) is True
    assert lifecycle.claim_notice(db.session, t.tenant, "trial_reminder", "7d", now) is False
    assert lifecycle.claim_notice(db.session, t.tenant, "trial_reminder", "3d", now) is True


def test_every_state_has_an_access_level_and_every_transition_lands_in_a_known_state():
    from aerospec.tenancy.models import SUBSCRIPTION_STATUSES

    assert set(lifecycle.ACCESS) == set(SUBSCRIPTION_STATUSES) == set(lifecycle.STATES)
    for (_, before), after in lifecycle.TRANSITIONS.items():
        assert before in lifecycle.STATES and after in lifecycle.STATES


# ---- the provider objects the webhook handlers pass on


def test_stripe_shaped_objects_drive_the_same_machine(db, team):
    with time_machine.travel(START, tick=False) as clock:
        t = team(name="Eta Nozzles")
        tenant = t.tenant
        subscription = {"id": "sub_1", "object": "subscription", "status": "trialing", "cancel_at_period_end": False}
        assert lifecycle.apply_subscription(db.session, tenant, subscription, lifecycle.utcnow()) == "active"
        invoice = {"id": "in_1", "object": "invoice", "subscription": "sub_1", "status": "open", "paid": False}
        one_off = {**invoice, "subscription": None, "billing_reason": "manual", "attempt_count": 3}
        assert lifecycle.apply_invoice(db.session, tenant, one_off, lifecycle.utcnow()) == "active"
        for attempt in (1, 2):
            clock.shift(3 * DAY)
            state = lifecycle.apply_invoice(db.session, tenant, {**invoice, "attempt_count": attempt})
            assert state == "past_due"
        assert lifecycle.apply_subscription(db.session, tenant, {**subscription, "status": "past_due"}) == "past_due"
        clock.shift(DAY)  # day 4 of the cycle; attempt 3 suspends
        assert lifecycle.apply_invoice(db.session, tenant, {**invoice, "attempt_count": 3}) == "suspended"
        paid = {**invoice, "status": "paid", "paid": True, "attempt_count": 4}
        assert lifecycle.apply_invoice(db.session, tenant, paid, lifecycle.utcnow()) == "active"
        ended = {**subscription, "status": "canceled", "cancel_at_period_end": True}
        assert lifecycle.apply_subscription(db.session, tenant, ended, lifecycle.utcnow()) == "canceled"
        db.session.commit()
    assert lifecycle.access(tenant) == "read_only"
