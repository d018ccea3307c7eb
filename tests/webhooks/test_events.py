"""Each event is emitted where it happens (one call in the service, after the commit) and reaches a subscribed
endpoint signed, its `data` as the event's v1 model says; an endpoint gets only the events it chose."""

from __future__ import annotations

import json

from sqlalchemy import select

from aerospec.accounts.services import ClientInfo
from aerospec.tenancy.scoping import tenant_scope
from aerospec.webhooks.events import EVENTS
from tests.billing.test_billing_page import stripe_subscription
from tests.billing.test_invoices import stripe_invoice
from tests.configurations.conftest import BASE
from tests.procurement.test_services import in_stock

API = "/api/webhooks/endpoints"


def _subscribe(client, headers, url, events) -> str:
    response = client.post(API, json={"url": url, "event_types": events}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["secret"]


def _bodies(receiver, secret, count: int) -> dict[str, dict]:
    received = receiver.wait_for(count)
    bodies = [r.verify(secret) for r in received]  # standardwebhooks: every one signed with the endpoint's secret
    return {b["type"]: b for b in bodies}


def test_configuration_created_and_updated(client, team, bearer, receiver, fast_retries):
    t = team()
    r = receiver()
    headers = bearer(t.admin)
    secret = _subscribe(client, headers, r.url, ["configuration.created", "configuration.updated"])
    made = client.post("/api/configurations", json=BASE, headers=headers)
    assert made.status_code == 201, made.get_json()
    config_id = made.get_json()["id"]
    changed = client.put(f"/api/configurations/{config_id}", json={"name": "Nasal pump v2"}, headers=headers)
    assert changed.status_code == 200, changed.get_json()

    bodies = _bodies(r, secret, 2)
    created, updated = bodies["configuration.created"]["data"], bodies["configuration.updated"]["data"]
    assert created["id"] == config_id and created["version"] == 1 and created["name"] == "Nasal pump"
    assert updated["id"] == config_id and updated["version"] == 2
    assert updated["name"] == "Nasal pump v2" and updated["changed_fields"] == ["name"]
    assert set(created) == set(EVENTS["configuration.created"].model.model_fields)


def test_feedback_created(client, db, team, bearer, receiver, fast_retries, catalog):
    from aerospec.configurations import services as configs
    from aerospec.limits import counters
    from aerospec.tenancy.models import Membership

    t = team()
    r = receiver()
    headers = bearer(t.admin)
    secret = _subscribe(client, headers, r.url, ["feedback.created"])
    sku = in_stock("spencer")
    with tenant_scope(db.session, t.tenant.id):
        membership = db.session.scalar(select(Membership).where(Membership.user_id == t.admin.id))
        config, _ = configs.create_configuration(
            db.session,
            t.tenant,
            membership,
            {**BASE, "compatible_actuators": [{"sku": sku, "supplier": "spencer"}]},
            counter=counters.DatabaseCounter(),
        )
        db.session.commit()
        config_id = str(config.id)
    body = {
        "configuration_id": config_id,
        "actuator_sku": sku,
        "pressure_bar": 3.0,
        "dv50_um": 48.5,
        "measurement_method": "laser_diffraction",
        "pass_fail": "pass",
    }
    recorded = client.post("/api/feedback", json=body, headers=headers)
    assert recorded.status_code == 201, recorded.get_json()

    data = _bodies(r, secret, 1)["feedback.created"]["data"]
    assert data["id"] == recorded.get_json()["id"] and data["configuration_id"] == config_id
    assert data["actuator_sku"] == sku and data["pressure_bar"] == 3.0 and data["pass_fail"] == "pass"
    assert data["measured"] == {"dv50_um": 48.5}


def test_member_joined(client, db, team, bearer, receiver, fast_retries, factories):
    from aerospec.tenancy import services as tenancy

    t = team()
    r = receiver()
    secret = _subscribe(client, bearer(t.admin), r.url, ["member.joined"])
    _invitation, token = factories.invitation(t.tenant, "newcomer@example.com", role="viewer")
    db.session.commit()
    with client.application.test_request_context():
        user, membership = tenancy.accept_invitation_as_new_user(
            db.session,
            token,
            name="New Comer",
            password="correct horse battery staple 42",  # noqa: S106 - a throwaway test login
            client=ClientInfo("127.0.0.1", "pytest"),
        )
        db.session.commit()
        user_id = str(user.id)

    data = _bodies(r, secret, 1)["member.joined"]["data"]
    assert data["user_id"] == user_id and data["email"] == "newcomer@example.com"
    assert data["role"] == "viewer" and data["name"] == "New Comer"


def test_subscription_updated_and_invoice_paid_once(app, client, db, team, bearer, receiver, fast_retries):
    from aerospec.billing import invoices, subscriptions
    from aerospec.models import utcnow

    t = team(billing_customer_id="cus_Hooks1")
    r = receiver()
    secret = _subscribe(client, bearer(t.admin), r.url, ["subscription.updated", "invoice.paid"])
    with app.test_request_context(), tenant_scope(db.session, t.tenant.id):
        subscriptions.upsert_subscription(
            db.session, t.tenant, stripe_subscription("sub_Hooks1", "cus_Hooks1"), provider="stripe", as_of=utcnow()
        )
        paid = stripe_invoice(status="paid", amount_paid=200_000, amount_remaining=0)
        invoices.upsert_invoice(db.session, t.tenant, paid)
        db.session.commit()
        invoices.upsert_invoice(db.session, t.tenant, paid)  # the same event again: not a second invoice.paid
        db.session.commit()

    bodies = _bodies(r, secret, 2)
    sub = bodies["subscription.updated"]["data"]
    assert sub["id"] == "sub_Hooks1" and sub["status"] == "active" and sub["cancel_at_period_end"] is False
    invoice = bodies["invoice.paid"]["data"]
    assert invoice["number"] == "A1B2C3D4-0001" and invoice["amount_paid"] == 200_000 and invoice["currency"] == "usd"
    assert [json.loads(x.body)["type"] for x in r.requests].count("invoice.paid") == 1


def test_an_endpoint_gets_only_the_events_it_chose_and_a_disabled_one_none(
    client, team, bearer, receiver, fast_retries
):
    t = team()
    chosen, other, off = receiver(), receiver(), receiver()
    headers = bearer(t.admin)
    _subscribe(client, headers, chosen.url, ["configuration.created"])
    _subscribe(client, headers, other.url, ["invoice.paid"])
    off_response = client.post(
        API, json={"url": off.url, "event_types": ["configuration.created"], "enabled": False}, headers=headers
    )
    assert off_response.status_code == 201
    assert client.post("/api/configurations", json=BASE, headers=headers).status_code == 201
    assert len(chosen.wait_for(1)) == 1
    assert other.requests == [] and off.requests == []
