"""Extending a trial that a subscription carries moves it at the provider too: Stripe through the real SDK
(recorded HTTP), offline through its own subscription event; the mirror, the workspace and the trial reading
of every page follow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from aerospec.admin.models import AdminAuditLog
from aerospec.billing import lifecycle
from aerospec.billing.models import BillingSubscription
from aerospec.tenancy.models import Tenant
from aerospec.tenancy.scoping import tenant_scope
from tests.billing.helpers import RecordingHTTPClient, logged_in_client
from tests.billing.test_billing_page import stripe_subscription, sub_row
from tests.billing.test_subscribe import PRICES


def _mirror(db, tenant_id) -> BillingSubscription:
    with tenant_scope(db.session, tenant_id):
        db.session.expire_all()
        return db.session.scalar(select(BillingSubscription).where(BillingSubscription.tenant_id == tenant_id))


def test_extending_a_stripe_trial_posts_trial_end_without_proration_and_mirrors_the_answer(
    build_app, db, team, platform_admin
):
    stripe_app = build_app(STRIPE_SECRET_KEY="sk_test_abc123", **PRICES)
    recorder = RecordingHTTPClient()
    stripe_app.extensions["aerospec_stripe_http_client"] = recorder
    trial_end = datetime.now(UTC).replace(microsecond=0) + timedelta(days=4)
    t = team(billing_customer_id="cus_trial1", trial_ends_at=trial_end)
    tenant_id = t.tenant.id
    sub_id = sub_row(db, t.tenant, provider="stripe", status="trialing", trial_end=trial_end)
    new_end = trial_end + timedelta(days=10)
    answer = stripe_subscription(sub_id, "cus_trial1", status="trialing", trial_end=int(new_end.timestamp()))
    answer["items"]["data"][0]["price"]["id"] = PRICES["STRIPE_PRICE_PROFESSIONAL_MONTH"]
    recorder.responses = [(200, answer)]

    client = logged_in_client(stripe_app, db, platform_admin)
    url = f"/admin/tenants/{tenant_id}/extend-trial"
    assert client.post(url, data={"step": "review", "days": "10", "reason": "Security review"}).status_code == 200
    assert recorder.calls == []  # the review asks nothing of Stripe
    done = client.post(url, data={"step": "confirm", "days": "10", "reason": "Security review"})
    assert done.status_code == 303

    [call] = recorder.calls
    assert (call["method"], call["url"]) == ("post", f"https://api.stripe.com/v1/subscriptions/{sub_id}")
    assert call["params"] == {"trial_end": str(int(new_end.timestamp())), "proration_behavior": "none"}
    row = _mirror(db, tenant_id)
    assert (row.status, row.trial_end) == ("trialing", new_end)
    tenant = db.session.get(Tenant, tenant_id)
    db.session.refresh(tenant)
    assert tenant.trial_ends_at == new_end
    trial = lifecycle.trial_of(tenant, row)
    assert trial.ends_at == new_end and trial.subscribed
    [entry] = db.session.scalars(select(AdminAuditLog).where(AdminAuditLog.action == "workspace.trial_extended"))
    assert entry.target_type == "subscription" and entry.details["after"]["subscription_trial_end"].startswith(
        new_end.isoformat()[:19]
    )


def test_a_stripe_failure_changes_nothing_and_says_so(build_app, db, team, platform_admin):
    stripe_app = build_app(STRIPE_SECRET_KEY="sk_test_abc123", **PRICES)
    recorder = RecordingHTTPClient([(500, {"error": {"message": "down"}})] * 5)
    stripe_app.extensions["aerospec_stripe_http_client"] = recorder
    trial_end = datetime.now(UTC).replace(microsecond=0) + timedelta(days=4)
    t = team(billing_customer_id="cus_trial2", trial_ends_at=trial_end)
    tenant_id = t.tenant.id
    sub_row(db, t.tenant, provider="stripe", status="trialing", trial_end=trial_end)
    client = logged_in_client(stripe_app, db, platform_admin)
    response = client.post(
        f"/admin/tenants/{tenant_id}/extend-trial", data={"step": "confirm", "days": "3", "reason": "Goodwill"}
    )
    assert response.status_code == 422 and "Nothing was changed" in response.get_data(as_text=True)
    assert _mirror(db, tenant_id).trial_end == trial_end
    tenant = db.session.get(Tenant, tenant_id)
    db.session.refresh(tenant)
    assert tenant.trial_ends_at == trial_end
    assert db.session.scalar(select(AdminAuditLog.id).where(AdminAuditLog.action == "workspace.trial_extended")) is None


def test_extending_an_offline_subscription_trial_moves_the_mirror_and_the_billing_page(
    client, login, db, team, platform_admin, tenant_url
):
    trial_end = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    t = team(billing_customer_id="cus_offline_tr", trial_ends_at=trial_end)
    tenant_id = t.tenant.id
    sub_row(db, t.tenant, provider="offline", status="trialing", trial_end=trial_end)
    login(platform_admin)
    client.post(f"/admin/tenants/{tenant_id}/extend-trial", data={"step": "confirm", "days": "5", "reason": "Goodwill"})
    assert _mirror(db, tenant_id).trial_end == trial_end + timedelta(days=5)
    login(t.admin)
    page = client.get(tenant_url(t.tenant, "billing")).get_data(as_text=True)
    new_end = trial_end + timedelta(days=5)
    assert f"{new_end:%-d %b %Y}" in page and "7 days left" in page
