"""Upgrade prompts wherever a plan stops someone: a feature gate, a metered limit or the seat limit answers 402
with one wording (limits.messages.upgrade_prompt) that sends an admin to the billing page and tells anyone else
to ask an admin; pages and htmx fragments link the billing page for admins, the API adds `billing_url`."""

from __future__ import annotations

import re

import pytest

from aerospec.billing import usage
from aerospec.errors import LimitReached
from aerospec.limits import messages
from aerospec.models import utcnow
from aerospec.tenancy import features
from aerospec.tenancy.features import FeatureNotInPlan
from tests.api import conftest as api_fixtures
from tests.api.conftest import assert_problem
from tests.configurations import conftest as configurations_fixtures
from tests.configurations.conftest import BASE as CONFIG

tokens = api_fixtures.tokens
bearer = api_fixtures.bearer
make_config = configurations_fixtures.make_config

ADMIN = "You can upgrade the plan on the billing page."
OTHERS = "Ask a workspace admin to upgrade the plan on the billing page."
NO_ONE = "A workspace admin can upgrade the plan on the billing page."


def _link(tenant) -> str:
    return f'href="/t/{tenant.slug}/billing"'


def _no_sds(team):
    # Every plan includes SDS parsing: only a platform admin's override switches the page gate shut.
    return team(plan="starter", features={"msds_parsing": False})


def test_feature_gate_page_gives_an_admin_the_billing_link(client, team, login, tenant_url):
    t = _no_sds(team)
    login(t.admin)
    response = client.get(tenant_url(t.tenant, "fluids/sds/new"))
    assert response.status_code == 402
    html = response.get_data(as_text=True)
    assert "Safety-data-sheet parsing is not enabled for this workspace (plan: Starter)" in html
    # Another plan would not bring it back, so no upgrade is suggested: whom to write to instead.
    assert "switched off, although the plan includes it. Write to sales@aerospec.example" in html
    assert ADMIN not in html and "pricing page" not in html
    assert f'<a class="button button-primary" {_link(t.tenant)}>Go to the billing page</a>' in html


def test_feature_gate_page_has_no_billing_link_for_a_user(client, team, login, tenant_url):
    t = _no_sds(team)
    login(t.user)
    response = client.get(tenant_url(t.tenant, "fluids/sds/new"))
    assert response.status_code == 402
    html = response.get_data(as_text=True)
    assert "Safety-data-sheet parsing is not enabled" in html and "Go to the billing page" not in html


def test_feature_gate_htmx_gets_a_fragment_with_the_message_and_the_link(client, team, login, tenant_url):
    t = _no_sds(team)
    login(t.admin)
    response = client.get(tenant_url(t.tenant, "fluids/sds/new"), headers={"HX-Request": "true"})
    assert response.status_code == 402
    body = response.get_data(as_text=True)
    assert "<html" not in body and 'role="alert"' in body
    assert "Safety-data-sheet parsing is not enabled" in body
    assert f"<a {_link(t.tenant)}>Go to the billing page</a>" in body


def test_metered_limit_page_and_fragment_link_the_billing_page_for_admins(client, team, login, tenant_url, make_config):
    t = team(limits={"configurations_per_month": 1})
    source_id = make_config(t.tenant, t.user, name="Only one").id  # read before a commit expires it (RLS)
    login(t.admin)
    url = tenant_url(t.tenant, f"configurations/{source_id}/duplicate")
    page = client.post(url)
    assert page.status_code == 402
    html = page.get_data(as_text=True)
    assert "and all are used" in html and ADMIN in html
    assert f'<a class="button button-primary" {_link(t.tenant)}>Go to the billing page</a>' in html
    fragment = client.post(url, headers={"HX-Request": "true"})
    assert fragment.status_code == 402
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and 'role="alert"' in body and "and all are used" in body and ADMIN in body
    assert f"<a {_link(t.tenant)}>Go to the billing page</a>" in body


def test_metered_limit_page_tells_a_user_to_ask_an_admin(client, team, login, tenant_url, make_config):
    t = team(limits={"configurations_per_month": 1})
    source_id = make_config(t.tenant, t.user, name="Only one").id  # read before a commit expires it (RLS)
    login(t.user)
    page = client.post(tenant_url(t.tenant, f"configurations/{source_id}/duplicate"))
    assert page.status_code == 402
    html = page.get_data(as_text=True)
    assert OTHERS in html and ADMIN not in html and "Go to the billing page" not in html


@pytest.mark.parametrize(("role", "prompt"), [("admin", ADMIN), ("user", OTHERS)])
def test_api_limit_is_problem_json_with_the_prompt_and_billing_url(client, team, bearer, role, prompt):
    t = team(limits={"configurations_per_month": 1})
    headers = bearer(getattr(t, role))
    assert client.post("/api/configurations", json=CONFIG, headers=headers).status_code == 201
    body = assert_problem(client.post("/api/configurations", json=CONFIG, headers=headers), 402)
    assert body["detail"].startswith("Your Professional plan includes 1 configuration")
    assert "Upgrade to Enterprise (unlimited configurations) for more, or wait until next month." in body["detail"]
    assert body["detail"].endswith(prompt)
    assert body["billing_url"] == f"http://testserver/t/{t.tenant.slug}/billing"


def test_api_feature_not_in_the_plan_is_problem_json_with_the_prompt_and_billing_url(client, team, bearer):
    # Starter has no API; a limit override lets the call reach the feature gate itself.
    t = team(plan="starter", limits={"api_calls_per_month": None})
    body = assert_problem(client.get("/api/configurations", headers=bearer(t.admin)), 402)
    assert body["detail"].startswith("REST API is not enabled for this workspace (plan: Starter).")
    assert "It comes with the Professional, Enterprise plans." in body["detail"] and body["detail"].endswith(ADMIN)
    assert body["billing_url"] == f"http://testserver/t/{t.tenant.slug}/billing"


def test_other_api_errors_carry_no_billing_url(client, team, bearer):
    t = team()
    body = assert_problem(client.post("/api/configurations", json={}, headers=bearer(t.admin)), 422)
    assert "billing_url" not in body


def test_seat_limit_on_the_members_page_sends_the_admin_to_the_billing_page(client, team, login, tenant_url):
    t = team(plan="starter")  # 1 seat, and the team has 3 members
    login(t.admin)
    response = client.post(tenant_url(t.tenant, "members/invite"), data={"email": "one.more@example.com"})
    assert response.status_code == 402
    html = response.get_data(as_text=True)
    assert "Your Starter plan includes 1 seat, and all are taken or invited." in html
    assert "Upgrade to Professional for 5 seats or Enterprise for unlimited seats" in html and ADMIN in html


def test_seat_limit_on_the_api_names_the_billing_page(client, team, bearer):
    # One seat, already over by the team's three members (API opened for this starter workspace).
    t = team(plan="starter", limits={"api_calls_per_month": None}, features={"api_access": True})
    response = client.post(
        "/api/tenants/members/invite", json={"email": "one.more@example.com", "role": "user"}, headers=bearer(t.admin)
    )
    body = assert_problem(response, 402)
    assert "Your Starter plan includes 1 seat" in body["detail"] and body["detail"].endswith(ADMIN)
    assert body["billing_url"] == f"http://testserver/t/{t.tenant.slug}/billing"


def test_outside_a_request_the_prompt_names_no_one(app, team):
    t = team(plan="starter")
    with app.test_request_context():  # no member loaded: a job, or someone not yet in the workspace
        assert messages.upgrade_prompt(t.tenant) == NO_ONE
        message = messages.feature_message(t.tenant, "webhooks")
    assert message.endswith(NO_ONE) and "pricing page" not in message
    with pytest.raises(FeatureNotInPlan) as info:
        features.ensure_feature(t.tenant, "webhooks")
    assert info.value.status == 402 and NO_ONE in info.value.message


def test_every_plan_refusal_ends_with_the_same_prompt(db, team):
    t = team(plan="starter", limits={"configurations_per_month": 0})
    from aerospec.limits import counters

    with pytest.raises(LimitReached) as limit:
        usage.use(db.session, t.tenant, "configurations_per_month", counter=counters.DatabaseCounter(), now=utcnow())
    seat = messages.seat_message(t.tenant, 1)
    feature = messages.feature_message(t.tenant, "api_access")
    for message in (limit.value.message, seat, feature):
        assert re.search(
            r"(You can|Ask a workspace admin to|A workspace admin can) upgrade the plan on the billing page\.$", message
        )
