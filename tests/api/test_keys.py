"""API keys: created by admins (shown once, stored hashed), used as a header or ?api_key=, scoped, rotated with
a grace period, revoked, expiring; rate-limit headers on every API answer; one workspace's key never reads
another's. Through the real app and database (PostgreSQL with RLS when DATABASE_URL is set)."""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta

import pytest
import time_machine

from aerospec.api.models import ApiKey
from aerospec.compliance.models import AuditLog
from aerospec.models import utcnow
from tests.api.conftest import assert_problem
from tests.conftest import need

CONFIG = {
    "name": "Key-made",
    "fluid_name": "Water",
    "fluid_viscosity_cP": 1.0,
    "fluid_density_kg_m3": 998.0,
    "fluid_surface_tension_mN_m": 72.0,
    "target_spray_cone_deg": 60,
    "target_droplet_size_um": 80,
    "target_flow_rate_ml_min": 100,
    "max_pressure_bar": 5,
}


def _create(client, headers, **body) -> dict:
    body = {"name": "ERP sync", "scopes": ["configurations:read"], **body}
    response = client.post("/api/keys", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _key_headers(raw: str) -> dict:
    return {"Authorization": f"Bearer {raw}"}


def test_admin_creates_a_key_shown_once_and_stored_as_a_hash(client, team, bearer, rows):
    t = team()
    admin = bearer(t.admin, t.tenant)
    created = _create(client, admin, scopes=["configurations:write", "feedback:read"], expires_in_days=30)
    raw = created["key"]
    assert raw.startswith("sk_test_")  # the test suite runs with simulated payments: test mode
    assert created["hint"] == f"sk_test_…{raw[-4:]}"
    assert created["scopes"] == ["configurations:write", "feedback:read"]
    assert created["status"] == "active" and created["expires_at"]
    (row,) = rows(t.tenant, ApiKey)
    assert row.secret_hash == hashlib.sha256(raw.encode()).hexdigest() and raw not in str(vars(row))
    listed = client.get("/api/keys", headers=admin).get_json()["keys"]
    assert [k["id"] for k in listed] == [created["id"]]
    assert "key" not in listed[0] and "secret_hash" not in listed[0]
    assert listed[0]["last_used_at"] is None


def test_a_key_works_in_the_header_and_in_the_query_with_a_warning(client, team, bearer, rows):
    t = team()
    raw = _create(client, bearer(t.admin, t.tenant))["key"]
    by_header = client.get("/api/configurations", headers=_key_headers(raw))
    assert by_header.status_code == 200, by_header.get_json()
    assert "Warning" not in by_header.headers
    by_query = client.get(f"/api/configurations?api_key={raw}")
    assert by_query.status_code == 200
    assert "Authorization header" in by_query.headers["Warning"] and by_query.headers["Warning"].startswith("299 ")
    (row,) = rows(t.tenant, ApiKey)
    assert row.last_used_at is not None and row.last_used_ip == "127.0.0.1"


def test_rate_limit_headers_on_every_api_answer(client, team, bearer):
    t = team()
    raw = _create(client, bearer(t.admin, t.tenant))["key"]
    answers = [
        client.get("/api/configurations", headers=_key_headers(raw)),  # 200 with a key
        client.post("/api/configurations", json=CONFIG, headers=_key_headers(raw)),  # 403: outside its scopes
        client.get("/api/tenants/me", headers=bearer(t.admin, t.tenant)),  # 200 with an access token
        client.get("/api/configurations"),  # 401: no credential
        client.get("/api/configurations", headers=_key_headers("sk_live_" + "0" * 80)),  # 401: no such key
        client.get("/api/configurations/not-an-id", headers=_key_headers(raw)),  # 404
    ]
    assert [a.status_code for a in answers] == [200, 403, 200, 401, 401, 404]
    for answer in answers:
        assert int(answer.headers["X-RateLimit-Limit"]) > 0
        assert 0 <= int(answer.headers["X-RateLimit-Remaining"]) <= int(answer.headers["X-RateLimit-Limit"])
        assert int(answer.headers["X-RateLimit-Reset"]) >= int(utcnow().timestamp())


@pytest.fixture(params=["memory", "redis"])
def burst_storage(request) -> str:
    """Where the burst windows are counted: this process's memory (embedded defaults) or a real Redis."""
    if request.param == "memory":
        return "memory://"
    # The suite's Redis, or the machine's (as the PostgreSQL tests use the machine's server on a SQLite run).
    url = os.environ.get("REDIS_URL") or os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/12")
    import redis

    server = redis.Redis.from_url(url)
    try:
        server.ping()
    except redis.exceptions.ConnectionError as exc:
        need(False, f"a real Redis at {url} ({exc})")
    request.addfinalizer(lambda: [server.delete(k) for k in server.scan_iter("*api-burst*")])
    return url


def test_the_burst_window_counts_per_key_and_answers_429_with_retry_after(build_app, db, team, bearer, burst_storage):
    app = build_app(API_RATE_LIMIT_PER_MINUTE=3, RATELIMIT_STORAGE_URI=burst_storage)
    client = app.test_client()
    t = team()
    raw = _create(client, bearer(t.admin, t.tenant))["key"]
    created_id = client.get("/api/keys", headers=bearer(t.admin, t.tenant)).get_json()["keys"][-1]["id"]
    other = _create(client, bearer(t.admin, t.tenant), name="Other")["key"]
    remaining = []
    for _ in range(3):
        answer = client.get("/api/configurations", headers=_key_headers(raw))
        assert answer.status_code == 200
        remaining.append(int(answer.headers["X-RateLimit-Remaining"]))
    assert remaining == [2, 1, 0]
    over = client.get("/api/configurations", headers=_key_headers(raw))
    body = assert_problem(over, 429)
    assert "3 API requests this minute" in body["detail"]
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    assert over.headers["X-RateLimit-Remaining"] == "0" and over.headers["X-RateLimit-Limit"] == "3"
    if burst_storage.startswith("redis"):
        import redis

        server = redis.Redis.from_url(burst_storage)
        stored = [k for k in server.scan_iter("*api-burst*") if f"key:{created_id}".encode() in k]
        assert stored, "the window lives in Redis"
        assert 0 < server.ttl(stored[0]) <= 60  # Redis ends it with the minute (time travel cannot move Redis)
    # Another key has its own window.
    assert client.get("/api/configurations", headers=_key_headers(other)).status_code == 200
    if burst_storage == "memory://":  # the window passes
        with time_machine.travel(utcnow() + timedelta(seconds=61), tick=False):
            assert client.get("/api/configurations", headers=_key_headers(raw)).status_code == 200


def test_a_key_is_refused_outside_its_scopes_with_the_scope_named(client, team, bearer):
    t = team()
    raw = _create(client, bearer(t.admin, t.tenant), scopes=["configurations:read"])["key"]
    key = _key_headers(raw)
    body = assert_problem(client.post("/api/configurations", json=CONFIG, headers=key), 403)
    assert "configurations:write" in body["detail"]
    assert "procurements:read" in assert_problem(client.get("/api/procurements", headers=key), 403)["detail"]
    assert "keys:read" in assert_problem(client.get("/api/keys", headers=key), 403)["detail"]
    # Things only a person does: members, billing, logging out.
    invite = client.post("/api/tenants/members/invite", json={"email": "x@example.com", "role": "user"}, headers=key)
    assert "admin must" in assert_problem(invite, 403)["detail"]
    assert_problem(client.get("/api/billing/invoices", headers=key), 403)
    assert_problem(client.post("/api/auth/logout", headers=key), 403)


def test_a_write_key_acts_as_the_workspace_and_the_audit_log_names_the_key(
    client, team, bearer, rows, login, tenant_url
):
    t = team()
    created = _create(client, bearer(t.admin, t.tenant), name="Lab bridge", scopes=["configurations:write"])
    answer = client.post("/api/configurations", json=CONFIG, headers=_key_headers(created["key"]))
    assert answer.status_code == 201, answer.get_json()
    entry = next(e for e in rows(t.tenant, AuditLog) if e.action == "configuration.created")
    assert entry.actor_id is None
    assert entry.actor_email == f"API key “Lab bridge” ({created['hint']})"
    assert entry.details["api_key"]["id"] == created["id"]
    login(t.admin)
    audit_page = client.get(tenant_url(t.tenant, "audit")).get_data(as_text=True)
    assert f"API key “Lab bridge” ({created['hint']})" in audit_page
    # "write" includes "read"; and "their own only" does not apply to a key: its scope decides.
    config_id = answer.get_json()["id"]
    assert client.get(f"/api/configurations/{config_id}", headers=_key_headers(created["key"])).status_code == 200


def test_a_revoked_key_answers_401(client, team, bearer):
    t = team()
    admin = bearer(t.admin, t.tenant)
    created = _create(client, admin)
    assert client.delete(f"/api/keys/{created['id']}", headers=admin).status_code == 204
    body = assert_problem(client.get("/api/configurations", headers=_key_headers(created["key"])), 401)
    assert "revoked" in body["detail"]
    assert client.delete(f"/api/keys/{created['id']}", headers=admin).status_code == 204  # again: no change
    listed = client.get("/api/keys", headers=admin).get_json()["keys"]
    assert listed[0]["status"] == "revoked"


def test_an_expired_key_answers_401(client, team, bearer):
    t = team()
    created = _create(client, bearer(t.admin, t.tenant), expires_in_days=1)
    headers = _key_headers(created["key"])
    with time_machine.travel(utcnow() + timedelta(hours=23), tick=False):
        assert client.get("/api/configurations", headers=headers).status_code == 200
    with time_machine.travel(utcnow() + timedelta(days=1, minutes=1), tick=False):
        body = assert_problem(client.get("/api/configurations", headers=headers), 401)
    assert "expired" in body["detail"]


def test_rotation_keeps_the_old_key_working_for_the_grace_period(client, team, bearer):
    t = team()
    admin = bearer(t.admin, t.tenant)
    old = _create(client, admin, scopes=["configurations:read", "feedback:write"])
    rotated = client.post(f"/api/keys/{old['id']}/rotate", json={"grace_period_hours": 2}, headers=admin)
    assert rotated.status_code == 201, rotated.get_json()
    new = rotated.get_json()
    assert new["key"] != old["key"] and new["scopes"] == old["scopes"] and new["name"] == old["name"]
    assert new["replaces"]["status"] == "expiring" and new["replaces"]["replaced_by_id"] == new["id"]
    for raw in (old["key"], new["key"]):
        assert client.get("/api/configurations", headers=_key_headers(raw)).status_code == 200
    with time_machine.travel(utcnow() + timedelta(hours=1, minutes=59), tick=False):
        assert client.get("/api/configurations", headers=_key_headers(old["key"])).status_code == 200
    with time_machine.travel(utcnow() + timedelta(hours=2, minutes=1), tick=False):
        assert_problem(client.get("/api/configurations", headers=_key_headers(old["key"])), 401)
        assert client.get("/api/configurations", headers=_key_headers(new["key"])).status_code == 200
    # An old key cannot be rotated twice; a zero grace stops the old key at once.
    again = client.post(f"/api/keys/{old['id']}/rotate", json={}, headers=admin)
    assert "already rotated" in assert_problem(again, 422, fields=("key",))["errors"]["key"][0]
    now = client.post(f"/api/keys/{new['id']}/rotate", json={"grace_period_hours": 0}, headers=admin)
    assert now.status_code == 201
    assert_problem(client.get("/api/configurations", headers=_key_headers(new["key"])), 401)


def test_bad_key_input_gets_field_messages_and_writes_nothing(client, team, bearer, rows):
    t = team()
    admin = bearer(t.admin, t.tenant)
    cases = [
        ({"name": "", "scopes": ["configurations:read"]}, "name"),
        ({"name": "x" * 81, "scopes": ["configurations:read"]}, "name"),
        ({"name": "A", "scopes": []}, "scopes"),
        ({"name": "A", "scopes": ["configurations:admin"]}, "scopes"),
        ({"name": "A", "scopes": ["configurations:read"], "expires_in_days": 0}, "expires_in_days"),
        ({"name": "A", "scopes": ["configurations:read"], "expires_in_days": 1096}, "expires_in_days"),
        ({"name": "A", "scopes": ["configurations:read"], "expires_in_days": "30"}, "expires_in_days"),
        ({"name": "A", "scopes": ["configurations:read"], "expires_in_days": 1.5}, "expires_in_days"),
        ({"name": "A", "scopes": ["configurations:read"], "expires_in_days": True}, "expires_in_days"),
    ]
    for body, field in cases:
        assert_problem(client.post("/api/keys", json=body, headers=admin), 422, fields=(field,))
    assert rows(t.tenant, ApiKey) == []
    # The edges are accepted.
    _create(client, admin, name="x" * 80, expires_in_days=1095)
    key = _create(client, admin, name="B", expires_in_days=1)
    for hours in (-1, 169, "2", 1.5):
        answer = client.post(f"/api/keys/{key['id']}/rotate", json={"grace_period_hours": hours}, headers=admin)
        assert_problem(answer, 422, fields=("grace_period_hours",))
    assert len(rows(t.tenant, ApiKey)) == 2
    for hours in (0, 168):
        fresh = _create(client, admin, name=f"grace {hours}")
        assert (
            client.post(
                f"/api/keys/{fresh['id']}/rotate", json={"grace_period_hours": hours}, headers=admin
            ).status_code
            == 201
        )


def test_only_admins_or_a_keys_scoped_key_manage_keys(client, team, bearer):
    t = team()
    admin = bearer(t.admin, t.tenant)
    for member in (t.user, t.viewer):
        assert client.get("/api/keys", headers=bearer(member, t.tenant)).status_code == 403
        answer = client.post("/api/keys", json={"name": "A", "scopes": ["keys:read"]}, headers=bearer(member, t.tenant))
        assert answer.status_code == 403
    manager = _create(client, admin, name="Key robot", scopes=["keys:write", "configurations:read"])["key"]
    made = client.post(
        "/api/keys", json={"name": "Child", "scopes": ["configurations:read"]}, headers=_key_headers(manager)
    )
    assert made.status_code == 201
    assert len(client.get("/api/keys", headers=_key_headers(manager)).get_json()["keys"]) == 2
    # SECURITY: a key cannot mint a key with more than it has.
    wider = client.post(
        "/api/keys", json={"name": "Wider", "scopes": ["procurements:write"]}, headers=_key_headers(manager)
    )
    assert_problem(wider, 403)
    reader = _create(client, admin, name="Reader", scopes=["keys:read"])["key"]
    assert client.get("/api/keys", headers=_key_headers(reader)).status_code == 200
    assert (
        "keys:write"
        in assert_problem(client.delete(f"/api/keys/{made.get_json()['id']}", headers=_key_headers(reader)), 403)[
            "detail"
        ]
    )


def test_another_workspaces_key_id_answers_404_and_its_key_never_reads_this_one(client, team, bearer, factories, db):
    a, b = team(), team()
    key_a = _create(client, bearer(a.admin, a.tenant), scopes=["configurations:write", "keys:write"])
    key_b = _create(client, bearer(b.admin, b.tenant), scopes=["configurations:write"])
    config_b = client.post("/api/configurations", json=CONFIG, headers=_key_headers(key_b["key"])).get_json()
    as_a = _key_headers(key_a["key"])
    assert_problem(client.get(f"/api/configurations/{config_b['id']}", headers=as_a), 404)
    assert config_b["id"] not in [
        c["id"] for c in client.get("/api/configurations", headers=as_a).get_json()["configurations"]
    ]
    assert_problem(client.delete(f"/api/keys/{key_b['id']}", headers=as_a), 404)
    assert_problem(client.post(f"/api/keys/{key_b['id']}/rotate", json={}, headers=as_a), 404)
    assert_problem(client.delete(f"/api/keys/{key_b['id']}", headers=bearer(a.admin, a.tenant)), 404)
    # B's key still works: nothing of A's reached it.
    assert client.get("/api/configurations", headers=_key_headers(key_b["key"])).status_code == 200
    # A key with another workspace's id spliced in matches nothing.
    spliced = key_a["key"][:8] + b.tenant.id.hex + key_a["key"][40:]
    assert_problem(client.get("/api/configurations", headers=_key_headers(spliced)), 401)


def test_starter_has_no_api_keys(client, team, bearer, db, factories, login, tenant_url):
    t = team(plan="starter")
    answer = client.post(
        "/api/keys", json={"name": "A", "scopes": ["configurations:read"]}, headers=bearer(t.admin, t.tenant)
    )
    assert answer.status_code in (402, 403)
    assert "Professional" in answer.get_json()["detail"]
    login(t.admin)
    page = client.get(tenant_url(t.tenant, "settings/api-keys"))
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Not in your plan" in text and "Professional" in text and 'id="api-key-form"' not in text


def test_a_key_of_a_workspace_moved_to_starter_is_refused_with_403(client, team, bearer, db):
    t = team()
    raw = _create(client, bearer(t.admin, t.tenant))["key"]
    t.tenant.plan = "starter"
    db.session.commit()
    body = assert_problem(client.get("/api/configurations", headers=_key_headers(raw)), 403)
    assert "Professional" in body["detail"]


def test_a_query_key_stays_out_of_the_logs_and_the_request_line_names_the_key_id(build_app, db, team, bearer, capsys):
    import json
    import logging

    app = build_app(LOG_LEVEL="INFO")
    client = app.test_client()
    t = team()
    created = _create(client, bearer(t.admin, t.tenant))
    raw = created["key"]
    capsys.readouterr()
    assert client.get(f"/api/configurations?api_key={raw}&page=1").status_code == 200
    # A server's access line carries the query string (werkzeug's dev server, gunicorn's access log).
    logging.getLogger("werkzeug").info('127.0.0.1 - - "GET /api/configurations?api_key=%s&page=1 HTTP/1.1" 200 -', raw)
    err = capsys.readouterr().err
    assert raw not in err and raw[8:] not in err
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]
    [request_line] = [e for e in lines if e["logger"] == "aerospec.request"]
    assert request_line["api_key"] == created["id"] and request_line["user"] is None
    assert request_line["tenant"] == str(t.tenant.id) and request_line["path"] == "/api/configurations"
    assert any("api_key=[redacted]" in e["message"] for e in lines if e["logger"] == "werkzeug")


def test_sentry_events_lose_the_query_key():
    from aerospec.observability import scrub_event

    raw = "sk_live_" + "ab" * 40
    event = scrub_event({"request": {"url": f"https://x/api/keys?api_key={raw}", "query_string": f"api_key={raw}"}})
    assert raw not in str(event) and event["request"]["query_string"] == "api_key=[redacted]"


def test_no_api_route_fails_for_a_key_with_every_scope(app, client, team, bearer, factories, db):
    """A key has no person behind it (g.api_user is None): no route may trip on that (5xx), and routes that
    need a person refuse it (403) instead of acting as nobody."""
    import re
    import uuid

    from aerospec.tenancy.permissions import KEY_SCOPES
    from tests.tenancy.test_isolation import ID_MAKERS

    t = team()
    raw = _create(client, bearer(t.admin, t.tenant), scopes=list(KEY_SCOPES))["key"]
    ids: dict[str, object] = {}
    answered = 0
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/api/") or rule.rule.startswith(("/api/auth/", "/api/webhooks/stripe")):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if (method, rule.rule) in {("DELETE", "/api/tenants/me"), ("DELETE", "/api/keys/<uuid:key_id>")}:
                continue  # would end the workspace / the key itself

            def value(name: str, converter: str | None) -> str:
                if name not in ids:
                    maker = ID_MAKERS.get(name)
                    ids[name] = maker(factories, t.tenant) if maker else uuid.uuid4()
                    db.session.commit()
                return str(ids[name])

            path = re.sub(r"<(?:([a-z]+):)?([a-z_]+)>", lambda m: value(m.group(2), m.group(1)), rule.rule)
            answer = client.open(path, method=method, json={}, headers=_key_headers(raw))
            assert answer.status_code < 500, (method, path, answer.get_data(as_text=True)[:300])
            answered += 1
    assert answered > 40


def test_a_feedback_write_key_corrects_a_result_someone_recorded(client, team, bearer, factories, db, rows):
    """ "Their own only" (a user edits the results they recorded) does not apply to a key: its scope decides."""
    from aerospec.feedback.models import Feedback
    from aerospec.tenancy.scoping import tenant_scope
    from tests.feedback.makers import lab_result
    from tests.tenancy.test_isolation import ID_MAKERS

    t = team()
    config_id = ID_MAKERS["config_id"](factories, t.tenant)
    with tenant_scope(db.session, t.tenant.id):
        result_id = lab_result(db.session, t.tenant.id, config_id, by=t.user.id).id
    db.session.commit()
    reader = _create(client, bearer(t.admin, t.tenant), name="Reader", scopes=["feedback:read"])["key"]
    writer = _create(client, bearer(t.admin, t.tenant), name="Writer", scopes=["feedback:write"])["key"]
    refused = client.put(f"/api/feedback/{result_id}", json={"dv50_um": 55.0}, headers=_key_headers(reader))
    assert "feedback:write" in assert_problem(refused, 403)["detail"]
    answer = client.put(f"/api/feedback/{result_id}", json={"dv50_um": 55.0}, headers=_key_headers(writer))
    assert answer.status_code == 200, answer.get_json()
    (row,) = rows(t.tenant, Feedback)
    assert row.dv50_um == 55.0 and row.created_by_id == t.user.id


def test_the_sign_in_routes_answer_their_own_per_address_limit_once(app, strict_client):
    """With flask-limiter on (as in production), a sign-in route's headers are its limit's, not doubled."""
    answer = strict_client.post("/api/auth/login", json={"email": "nobody@example.com", "password": "x" * 12})
    assert answer.status_code == 401
    assert answer.headers.getlist("X-RateLimit-Limit") == ["10"]  # AUTH_LIMIT's first window
    assert len(answer.headers.getlist("X-RateLimit-Remaining")) == 1
    other = strict_client.get("/api/configurations")
    assert other.headers.getlist("X-RateLimit-Limit") == ["1000000"]  # the burst window (the suite's setting)


def test_a_workspace_has_at_most_50_keys_in_use(client, team, bearer, rows, db):
    from aerospec.api import key_services
    from aerospec.api.services import membership_in
    from aerospec.tenancy.scoping import tenant_scope

    t = team()
    admin = bearer(t.admin, t.tenant)
    with tenant_scope(db.session, t.tenant.id):
        membership = membership_in(db.session, t.admin, t.tenant.id)
        for n in range(49):
            key_services.create_key(
                db.session, t.tenant, membership, name=f"k{n}", scopes=["configurations:read"],
                expires_in_days=None, test_mode=True,
            )  # fmt: skip
    db.session.commit()
    last = _create(client, admin, name="fiftieth")
    full = client.post("/api/keys", json={"name": "one more", "scopes": ["configurations:read"]}, headers=admin)
    assert "50 keys in use" in assert_problem(full, 422, fields=("name",))["errors"]["name"][0]
    assert client.delete(f"/api/keys/{last['id']}", headers=admin).status_code == 204
    _create(client, admin, name="one more")  # a revoked key no longer counts
    assert len(rows(t.tenant, ApiKey)) == 51


def test_a_live_deployment_makes_sk_live_keys_that_authenticate(team, db):
    """Outside test mode (nothing simulated) keys start sk_live_; the prefix is part of what is hashed."""
    from aerospec.api import key_services
    from aerospec.api.services import membership_in
    from aerospec.errors import AuthenticationFailed
    from aerospec.tenancy.scoping import tenant_scope

    t = team()
    with tenant_scope(db.session, t.tenant.id):
        membership = membership_in(db.session, t.admin, t.tenant.id)
        key, raw = key_services.create_key(
            db.session, t.tenant, membership, name="Live", scopes=["configurations:read"],
            expires_in_days=None, test_mode=False,
        )  # fmt: skip
        assert raw.startswith("sk_live_") and key.mode == "live" and key.hint == f"sk_live_…{raw[-4:]}"
    assert key_services.authenticate(db.session, raw).id == key.id
    with pytest.raises(AuthenticationFailed):
        key_services.authenticate(db.session, "sk_test_" + raw[8:])  # the same secret as a test key: no such key
