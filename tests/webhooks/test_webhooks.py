"""Outgoing webhooks end to end, in-process (jobs inline): a real receiver verifies every signature with the
`standardwebhooks` library; retries, backoff, replay, rotation and disabling against receivers failing on purpose."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from aerospec.compliance.models import AuditLog
from aerospec.models import utcnow
from aerospec.notifications.models import EmailMessage
from aerospec.tenancy.scoping import tenant_scope
from aerospec.webhooks import services as webhooks
from aerospec.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.procurement.test_services import SHIP_TO

API = "/api/webhooks"


def add_endpoint(client, headers, url, events=("webhook.test",)) -> dict:
    events = [e for e in events if e != "webhook.test"] or ["procurement.status_changed"]
    response = client.post(f"{API}/endpoints", json={"url": url, "event_types": events}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def deliveries(client, headers, endpoint_id) -> list[dict]:
    response = client.get(f"{API}/endpoints/{endpoint_id}/deliveries", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["deliveries"]


def by_type(received, kind: str) -> list:
    return [r for r in received if json.loads(r.body)["type"] == kind]


def test_an_orders_status_change_reaches_the_receiver_signed_with_the_purchase_order(
    client, db, team, bearer, receiver, make_order, fast_retries
):
    t = team()
    r = receiver()
    admin = bearer(t.admin)
    endpoint = add_endpoint(client, admin, r.url, ["procurement.status_changed", "procurement.submitted"])

    order = make_order(t, submit=True, qty=5)

    received = r.wait_for(2)
    changed = by_type(received, "procurement.status_changed")[0]
    body = changed.verify(endpoint["secret"])  # standardwebhooks checks id, timestamp and signature
    assert body["data"] == {
        "id": str(order.id),
        "reference": order.reference,
        "status": "submitted",
        "previous_status": "draft",
        "updated_at": body["data"]["updated_at"],
    }
    assert body["version"] == 1 and body["workspace_id"] == str(t.tenant.id)
    assert changed.headers["webhook-id"].startswith("msg_")
    assert changed.path == "/hooks/aerospec"

    po = by_type(received, "procurement.submitted")[0].verify(endpoint["secret"])["data"]
    assert po["reference"] == order.reference and po["order_type"] == "pilot"
    assert po["supplier"]["key"] == "spencer" and po["supplier"]["name"] == "Spencer"
    with tenant_scope(db.session, t.tenant.id):
        lines = [(i.sku, i.qty, f"{i.line_total:.2f}") for i in order.items]
    assert [(line["sku"], line["quantity"], line["line_total"]) for line in po["lines"]] == lines
    assert lines[0][1] == 5
    assert po["total"] == f"{order.total:.2f}" and po["currency"] == order.currency
    assert po["ship_to"] == SHIP_TO
    assert po["lead_time_days"] == order.lead_time_days

    log = deliveries(client, admin, endpoint["id"])
    assert {d["event_type"] for d in log} >= {"procurement.status_changed", "procurement.submitted"}
    assert all(d["status"] == "succeeded" and d["attempt_log"][0]["status_code"] == 200 for d in log)


def test_a_receiver_failing_three_times_gets_the_order_event_on_the_fourth_attempt_and_a_replay(
    client, team, bearer, receiver, make_order, fast_retries, login, tenant_url
):
    t = team()
    r = receiver(fail_first=3)
    admin = bearer(t.admin)
    endpoint = add_endpoint(client, admin, r.url, ["procurement.status_changed"])

    make_order(t, submit=True)

    received = r.wait_for(4)
    first_id = received[0].headers["webhook-id"]
    same = [x for x in received if x.headers["webhook-id"] == first_id]
    assert len(same) == 4  # one event, the same webhook-id on every attempt, each freshly signed
    assert all(x.verify(endpoint["secret"])["type"] == "procurement.status_changed" for x in same)
    (delivered,) = [d for d in deliveries(client, admin, endpoint["id"]) if d["webhook_id"] == first_id]
    assert delivered["status"] == "succeeded" and delivered["attempts"] == 4
    assert [a["status_code"] for a in delivered["attempt_log"]] == [500, 500, 500, 200]
    assert delivered["attempt_log"][0]["response_excerpt"] == "failing on purpose (1)"

    login(t.admin)
    page = client.get(tenant_url(t.tenant, f"settings/webhooks/{endpoint['id']}")).get_data(as_text=True)
    assert page.count('class="delivery-attempt"') == len(r.requests)
    assert "failing on purpose (1)" in page and "The endpoint answered 500." in page

    replayed = client.post(tenant_url(t.tenant, f"settings/webhooks/deliveries/{delivered['id']}/replay"))
    assert replayed.status_code == 303
    again = r.wait_for(len(received) + 1)[-1]
    assert again.headers["webhook-id"] == first_id and again.body == same[-1].body
    assert again.verify(endpoint["secret"])
    log = deliveries(client, admin, endpoint["id"])
    replay = next(d for d in log if d["replay_of"] == delivered["id"])
    assert replay["status"] == "succeeded" and replay["trigger"] == "replay"


def test_a_rolled_back_change_sends_nothing(db, team, receiver, fast_retries, factories):
    t = team()
    r = receiver()
    with tenant_scope(db.session, t.tenant.id):
        from tests.webhooks.makers import endpoint

        endpoint(db.session, t.tenant.id, url=r.url, events=["member.joined"])
        db.session.commit()
        webhooks.emit(
            db.session,
            t.tenant,
            "member.joined",
            {"user_id": str(t.user.id), "email": "x@example.com", "name": "X", "role": "user", "joined_at": utcnow()},
        )
        assert db.session.scalars(select(WebhookDelivery)).all()  # written in the transaction...
        db.session.rollback()
        assert db.session.scalars(select(WebhookDelivery)).all() == []  # ...and gone with it
    assert r.requests == []


def test_rotation_signs_with_both_secrets_for_the_grace_period_then_only_the_new(
    client, team, bearer, receiver, fast_retries
):
    from standardwebhooks.webhooks import WebhookVerificationError

    t = team()
    r = receiver()
    admin = bearer(t.admin)
    endpoint = add_endpoint(client, admin, r.url)
    old = endpoint["secret"]
    rotated = client.post(f"{API}/endpoints/{endpoint['id']}/rotate-secret", json={"grace_hours": 24}, headers=admin)
    assert rotated.status_code == 200, rotated.get_json()
    new = rotated.get_json()["secret"]
    assert new != old and new.startswith("whsec_") and rotated.get_json()["previous_secret_expires_at"]

    assert client.post(f"{API}/endpoints/{endpoint['id']}/test", headers=admin).status_code == 202
    during = r.wait_for(1)[0]
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert during.verify(old)["type"] == "webhook.test"
    assert during.verify(new)["type"] == "webhook.test"

    with time_machine.travel(utcnow() + timedelta(hours=25), tick=True):
        later_admin = bearer(t.admin)
        assert client.post(f"{API}/endpoints/{endpoint['id']}/test", headers=later_admin).status_code == 202
        after = r.wait_for(2)[1]
        assert len(after.headers["webhook-signature"].split(" ")) == 1
        assert after.verify(new)
        with pytest.raises(WebhookVerificationError):
            after.verify(old)


def test_rotation_refuses_a_grace_period_out_of_range(client, team, bearer, receiver):
    t = team()
    admin = bearer(t.admin)
    endpoint = add_endpoint(client, admin, receiver().url)
    for bad in (-1, 169, "24", None):
        url = f"{API}/endpoints/{endpoint['id']}/rotate-secret"
        response = client.post(url, json={"grace_hours": bad}, headers=admin)
        assert response.status_code == 422, bad
        assert "grace_hours" in response.get_json()["errors"]
    assert client.get(f"{API}/endpoints/{endpoint['id']}", headers=admin).get_json()["secret"] == endpoint["secret"]


def test_an_endpoint_failing_in_a_row_is_disabled_its_admins_emailed_and_can_be_enabled_again(
    app, client, db, team, bearer, receiver, fast_retries, monkeypatch, login, tenant_url
):
    monkeypatch.setitem(app.config, "WEBHOOK_DISABLE_AFTER_FAILURES", 3)
    t = team()
    r = receiver(always_fail=True, fail_status=503)
    admin = bearer(t.admin)
    endpoint = add_endpoint(client, admin, r.url)

    assert client.post(f"{API}/endpoints/{endpoint['id']}/test", headers=admin).status_code == 202

    assert len(r.wait_for(3)) == 3
    shown = client.get(f"{API}/endpoints/{endpoint['id']}", headers=admin).get_json()
    assert shown["enabled"] is False and shown["consecutive_failures"] == 3
    assert "after 3 failed attempts in a row" in shown["disabled_reason"]
    assert len(r.requests) == 3  # the fourth attempt found the endpoint disabled and was not sent
    (test_delivery,) = deliveries(client, admin, endpoint["id"])
    assert test_delivery["status"] == "failed" and "disabled" in test_delivery["last_error"]
    mails = db.session.scalars(select(EmailMessage).where(EmailMessage.template == "webhook_disabled")).all()
    assert [m.to_address for m in mails] == [t.admin.email]
    assert endpoint["id"] in mails[0].text_body and r.url in mails[0].text_body
    with tenant_scope(db.session, t.tenant.id):
        actions = db.session.scalars(select(AuditLog.action).where(AuditLog.target_id == endpoint["id"])).all()
    assert "webhook.endpoint_disabled" in actions

    refused = client.post(f"{API}/endpoints/{endpoint['id']}/test", headers=admin)
    assert refused.status_code == 409 and "Enable it" in refused.get_json()["detail"]

    login(t.admin)
    page = client.get(tenant_url(t.tenant, f"settings/webhooks/{endpoint['id']}")).get_data(as_text=True)
    assert "Disabled" in page and "Enable again" in page
    r.always_fail = False
    assert client.post(tenant_url(t.tenant, f"settings/webhooks/{endpoint['id']}/enable")).status_code == 303
    shown = client.get(f"{API}/endpoints/{endpoint['id']}", headers=admin).get_json()
    assert shown["enabled"] is True and shown["consecutive_failures"] == 0
    replay = tenant_url(t.tenant, f"settings/webhooks/deliveries/{test_delivery['id']}/replay")
    assert client.post(replay).status_code == 303
    assert r.wait_for(4)[-1].headers["webhook-id"] == test_delivery["webhook_id"]


def test_retries_wait_for_their_backoff_and_the_sweep_sends_an_overdue_one(
    app, client, db, team, bearer, receiver, monkeypatch
):
    """With the real schedule (30 s first), inline mode sends no retry early: it is due later, and the sweep
    (what runs every minute in production) sends it once overdue."""
    from jobs.webhooks import sweep_due_deliveries

    monkeypatch.setitem(app.config, "WEBHOOK_BACKOFF_JITTER", 0)
    t = team()
    r = receiver(fail_first=1)
    admin = bearer(t.admin)
    endpoint = add_endpoint(client, admin, r.url)
    before = utcnow()
    assert client.post(f"{API}/endpoints/{endpoint['id']}/test", headers=admin).status_code == 202

    assert len(r.wait_for(1)) == 1
    (pending,) = deliveries(client, admin, endpoint["id"])
    assert pending["status"] == "retrying" and pending["attempts"] == 1
    due = (pending["next_attempt_at"], (before + timedelta(seconds=30)).isoformat())
    assert due[0] >= due[1], due  # 30 s after the first attempt
    assert sweep_due_deliveries() == 0  # not overdue yet
    assert len(r.requests) == 1

    with time_machine.travel(utcnow() + timedelta(minutes=3), tick=True):
        assert sweep_due_deliveries() == 1
        r.wait_for(2)
        (done,) = deliveries(client, bearer(t.admin), endpoint["id"])
    assert done["status"] == "succeeded" and [a["status_code"] for a in done["attempt_log"]] == [500, 200]


# ---- the management API: validation, roles, plans, other workspaces


def test_api_validates_endpoints_with_field_messages(client, team, bearer):
    t = team()
    admin = bearer(t.admin)
    cases = [
        ({"url": "http://hooks.example.com/x", "event_types": ["invoice.paid"]}, "url", "https://"),
        ({"url": "https://10.0.0.1/x", "event_types": ["invoice.paid"]}, "url", "not a public address"),
        ({"url": "https://hooks.example.com/x", "event_types": ["order.eaten"]}, "event_types", "Unknown event"),
        ({"url": "https://hooks.example.com/x", "event_types": []}, "event_types", "at least one"),
        ({"url": "https://hooks.example.com/x", "event_types": ["invoice.paid"], "x": 1}, "x", ""),
        ({"event_types": ["invoice.paid"]}, "url", ""),
    ]
    for body, field, words in cases:
        response = client.post(f"{API}/endpoints", json=body, headers=admin)
        assert response.status_code == 422, (body, response.get_json())
        assert words in " ".join(response.get_json()["errors"][field]), response.get_json()
    assert client.get(f"{API}/endpoints", headers=admin).get_json()["endpoints"] == []


def test_api_crud_round_trip(client, team, bearer):
    t = team()
    admin = bearer(t.admin)
    made = add_endpoint(client, admin, "https://hooks.example.com/a", ["invoice.paid", "member.joined"])
    listed = client.get(f"{API}/endpoints", headers=admin).get_json()
    assert [e["id"] for e in listed["endpoints"]] == [made["id"]]
    assert "procurement.submitted" in {e["type"] for e in listed["event_types"]}
    changed = client.put(
        f"{API}/endpoints/{made['id']}", json={"description": "ERP", "enabled": False}, headers=admin
    ).get_json()
    assert changed["description"] == "ERP" and changed["enabled"] is False
    assert client.delete(f"{API}/endpoints/{made['id']}", headers=admin).status_code == 204
    assert client.get(f"{API}/endpoints/{made['id']}", headers=admin).status_code == 404


def test_only_admins_and_plans_with_webhooks_manage_them(client, team, bearer):
    t = team()
    assert client.get(f"{API}/endpoints", headers=bearer(t.user)).status_code == 403
    assert client.get(f"{API}/endpoints").status_code == 401
    starter = team(plan="starter", subscription_status="active")
    response = client.get(f"{API}/endpoints", headers=bearer(starter.admin))
    assert response.status_code in (402, 403)  # starter has no API at all (402 from the API gate)


def test_another_workspaces_endpoints_and_deliveries_answer_404(client, db, team, bearer):
    from tests.webhooks.makers import delivery_with_attempt, endpoint

    mine, theirs = team(), team()
    with tenant_scope(db.session, theirs.tenant.id):
        their_endpoint = endpoint(db.session, theirs.tenant.id)
        their_delivery = delivery_with_attempt(db.session, their_endpoint)
        db.session.commit()
        ids = (their_endpoint.id, their_delivery.id, their_endpoint.secret)
    admin = bearer(mine.admin)
    e, d, secret = ids
    for method, path, body in [
        ("get", f"{API}/endpoints/{e}", None),
        ("put", f"{API}/endpoints/{e}", {"description": "mine now"}),
        ("delete", f"{API}/endpoints/{e}", None),
        ("post", f"{API}/endpoints/{e}/test", None),
        ("post", f"{API}/endpoints/{e}/rotate-secret", {"grace_hours": 0}),
        ("get", f"{API}/endpoints/{e}/deliveries", None),
        ("post", f"{API}/deliveries/{d}/replay", None),
    ]:
        response = getattr(client, method)(path, json=body, headers=admin)
        assert response.status_code == 404, (method, path, response.get_json())
        assert secret not in response.get_data(as_text=True)
    with tenant_scope(db.session, theirs.tenant.id):
        row = db.session.get(WebhookEndpoint, e)
        assert row.description == "made by a test" and row.secret == secret
        assert len(db.session.scalars(select(WebhookDelivery)).all()) == 1


# ---- the pages


def test_admin_adds_edits_and_deletes_an_endpoint_on_the_pages(client, db, team, login, tenant_url):
    t = team()
    login(t.admin)
    base = tenant_url(t.tenant, "settings/webhooks")
    empty = client.get(base).get_data(as_text=True)
    assert "No endpoints yet" in empty
    bad = client.post(f"{base}/new", data={"url": "http://hooks.example.com/x", "event_types": ["invoice.paid"]})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'aria-describedby="url-help url-error"' in html and "Use an https:// URL" in html
    assert 'value="http://hooks.example.com/x"' in html  # the input is kept
    none = client.post(f"{base}/new", data={"url": "https://hooks.example.com/x"})
    assert none.status_code == 422 and "Choose at least one event." in none.get_data(as_text=True)

    made = client.post(
        f"{base}/new", data={"url": "https://hooks.example.com/x", "event_types": ["invoice.paid"], "enabled": "y"}
    )
    assert made.status_code == 303
    detail = client.get(made.headers["Location"]).get_data(as_text=True)
    with tenant_scope(db.session, t.tenant.id):
        row = db.session.scalars(select(WebhookEndpoint)).one()
        row_id, secret = row.id, row.secret  # read while the tenant is in context (RLS on PostgreSQL)
    assert secret in detail and "Nothing sent yet" in detail
    edited = client.post(
        f"{base}/{row_id}/edit",
        data={"url": "https://hooks.example.com/y", "event_types": ["invoice.paid", "member.joined"], "enabled": "y"},
    )
    assert edited.status_code == 303
    confirm = client.get(f"{base}/{row_id}/delete").get_data(as_text=True)
    assert "Delete this endpoint?" in confirm and "https://hooks.example.com/y" in confirm
    assert client.post(f"{base}/{row_id}/delete").status_code == 303
    assert "No endpoints yet" in client.get(base).get_data(as_text=True)


def test_pages_are_for_admins_on_plans_with_webhooks(client, team, login, tenant_url):
    t = team()
    login(t.user)
    assert client.get(tenant_url(t.tenant, "settings/webhooks")).status_code == 403
    starter = team(plan="starter", subscription_status="active")
    login(starter.admin)
    refused = client.get(tenant_url(starter.tenant, "settings/webhooks"))
    assert refused.status_code == 402 and "Professional" in refused.get_data(as_text=True)


def test_the_delivery_log_is_paginated(client, db, team, login, tenant_url):
    from tests.webhooks.makers import delivery_with_attempt, endpoint

    t = team()
    with tenant_scope(db.session, t.tenant.id):
        row = endpoint(db.session, t.tenant.id)
        for _ in range(30):
            delivery_with_attempt(db.session, row)
        db.session.commit()
        row_id = row.id
    login(t.admin)
    url = tenant_url(t.tenant, f"settings/webhooks/{row_id}")
    first = client.get(url).get_data(as_text=True)
    assert first.count('class="delivery-attempt"') == 25 and "Page 1 of 2" in first
    second = client.get(f"{url}?page=2").get_data(as_text=True)
    assert second.count('class="delivery-attempt"') == 5


def test_rotating_on_the_page_shows_both_secrets_signing_and_refuses_a_bad_period(client, db, team, login, tenant_url):
    from tests.webhooks.makers import endpoint

    t = team()
    with tenant_scope(db.session, t.tenant.id):
        row = endpoint(db.session, t.tenant.id)
        db.session.commit()
        row_id, old = row.id, row.secret
    login(t.admin)
    url = tenant_url(t.tenant, f"settings/webhooks/{row_id}")
    for bad in ("abc", "200", "-1", "nan"):
        refused = client.post(f"{url}/rotate", data={"grace_hours": bad})
        assert refused.status_code == 422, bad
        html = refused.get_data(as_text=True)
        assert "a number from 0 to 168" in html and 'id="grace_hours-error"' in html
        assert old in html  # nothing changed
    done = client.post(f"{url}/rotate", data={"grace_hours": "12"})
    assert done.status_code == 303
    page = client.get(url).get_data(as_text=True)
    assert "The previous secret also signs until" in page and old not in page
