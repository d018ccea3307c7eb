"""The offline checkout takes no card, so it is never payable anonymously (issue 9 item 18): only a member
of the checkout's workspace with the permission that opened it (manage billing for a subscription, order
samples for an order) sees or completes it. Runs with CSRF on: the token is not what protects it."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from aerospec.billing.models import BillingEvent, BillingSubscription, OfflineCheckoutSession
from aerospec.tenancy.scoping import tenant_scope
from tests.api import conftest as api_fixtures
from tests.billing.helpers import make_order  # noqa: F401 - fixture
from tests.web.test_csrf import form_token, header_token, logged_in

tokens = api_fixtures.tokens
bearer = api_fixtures.bearer


@pytest.fixture
def csrf_app(build_app):
    return build_app(WTF_CSRF_ENABLED=True)


@pytest.fixture
def checkout(csrf_app, db, team, bearer):
    """A workspace whose admin opened a subscription checkout (by the API); its page path and the team."""
    t = team(subscription_status="expired")
    response = csrf_app.test_client().post(
        "/api/billing/subscribe", json={"plan": "professional", "interval": "month"}, headers=bearer(t.admin)
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    path = response.get_json()["checkout_url"].removeprefix("http://testserver")
    return path, t


def _state(db, t, path) -> tuple:
    """What paying would change: the checkout row, the events, the subscription, the workspace status."""
    db.session.expire_all()
    events = db.session.scalar(select(func.count()).select_from(BillingEvent))
    with tenant_scope(db.session, t.tenant.id):
        row = db.session.get(OfflineCheckoutSession, path.rsplit("/", 1)[1])
        subs = db.session.scalar(select(func.count()).select_from(BillingSubscription))
    db.session.refresh(t.tenant)
    return row.status, row.payment_status, events, subs, t.tenant.subscription_status, t.tenant.plan


def test_anonymous_visitor_with_a_valid_csrf_token_cannot_pay_and_nothing_changes(csrf_app, db, checkout):
    path, t = checkout
    before = _state(db, t, path)
    browser = csrf_app.test_client()
    token = form_token(browser.get("/login"))  # a real token of this browser's session

    page = browser.get(path)
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    assert "Pay" not in page.get_data(as_text=True)

    paid = browser.post(path, data={"outcome": "pay", "csrf_token": token})
    assert paid.status_code == 302 and "/login" in paid.headers["Location"]
    assert _state(db, t, path) == before
    assert before[:2] == ("open", "unpaid") and before[4] == "expired"


def test_a_member_of_another_workspace_gets_404_and_pays_nothing(csrf_app, db, checkout, team):
    path, t = checkout
    stranger = team().admin
    before = _state(db, t, path)
    browser = logged_in(csrf_app, db, stranger)
    token = header_token(browser.get("/"))
    assert browser.get(path).status_code == 404
    assert browser.post(path, data={"outcome": "pay", "csrf_token": token}).status_code == 404
    assert _state(db, t, path) == before


@pytest.mark.parametrize("role", ["user", "viewer"])
def test_members_who_may_not_manage_billing_cannot_pay_a_subscription(csrf_app, db, checkout, role):
    path, t = checkout
    before = _state(db, t, path)
    browser = logged_in(csrf_app, db, getattr(t, role))
    token = header_token(browser.get("/"))
    assert browser.get(path).status_code == 403
    assert browser.post(path, data={"outcome": "pay", "csrf_token": token}).status_code == 403
    assert _state(db, t, path) == before


def test_the_workspace_admin_pays_and_the_subscription_becomes_active(csrf_app, db, checkout):
    path, t = checkout
    browser = logged_in(csrf_app, db, t.admin)
    page = browser.get(path)
    assert page.status_code == 200
    paid = browser.post(path, data={"outcome": "pay", "csrf_token": form_token(page)})
    assert paid.status_code == 303
    status, payment_status, events, subs, tenant_status, plan = _state(db, t, path)
    assert (status, payment_status, subs, tenant_status, plan) == ("complete", "paid", 1, "active", "professional")
    assert events >= 2


def test_an_order_checkout_is_paid_only_by_a_member_who_may_order(csrf_app, db, team, bearer, make_order):  # noqa: F811
    from aerospec.procurement.models import Procurement

    t = team()
    order_id = make_order(t)
    opened = csrf_app.test_client().post(f"/api/procurements/{order_id}/checkout", headers=bearer(t.user))
    assert opened.status_code == 201, opened.get_json()
    path = opened.get_json()["checkout_url"].removeprefix("http://testserver")

    def paid() -> str:
        db.session.expire_all()
        with tenant_scope(db.session, t.tenant.id):
            return db.session.get(Procurement, order_id).payment_status

    anonymous = csrf_app.test_client()
    token = form_token(anonymous.get("/login"))
    assert anonymous.post(path, data={"outcome": "pay", "csrf_token": token}).status_code == 302
    viewer = logged_in(csrf_app, db, t.viewer)
    assert viewer.post(path, data={"outcome": "pay", "csrf_token": header_token(viewer.get("/"))}).status_code == 403
    assert paid() == "pending"

    user = logged_in(csrf_app, db, t.user)
    assert user.post(path, data={"outcome": "pay", "csrf_token": header_token(user.get("/"))}).status_code == 303
    assert paid() == "paid"


def test_the_checkout_page_finds_its_workspace_through_one_logged_bypass(csrf_app, db, checkout, caplog):
    """The checkout is the workspace's row (row-level security): the page reads it by id before any
    tenant is known only through the explicit, logged bypass, then in the workspace's scope."""
    import logging

    path, t = checkout
    browser = logged_in(csrf_app, db, t.admin)
    with caplog.at_level(logging.INFO, logger="aerospec.tenancy.scoping"):
        page = browser.get(path)
    assert page.status_code == 200 and "Pay" in page.get_data(as_text=True)
    bypasses = [r.getMessage() for r in caplog.records if r.name == "aerospec.tenancy.scoping"]
    assert bypasses == ["tenant wall bypassed: offline checkout page: find the checkout's workspace by its id"]
    db.session.expunge_all()  # read from the database, not the identity map
    with tenant_scope(db.session, uuid.uuid4()):  # another workspace's context sees no such checkout
        assert db.session.get(OfflineCheckoutSession, path.rsplit("/", 1)[1]) is None
