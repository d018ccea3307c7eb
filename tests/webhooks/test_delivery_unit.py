"""Signing, the SSRF guard and the HTTP sender on their own (no database): against a real receiver."""

from __future__ import annotations

import base64
import random
import socket
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from aerospec.webhooks import delivery
from aerospec.webhooks.services import Settings, backoff_seconds, schedule_words

PRODUCTION = delivery.Policy()
TESTS = delivery.Policy(allow_loopback=True, timeout=2)


def test_a_new_secret_is_whsec_and_base64_of_24_bytes():
    secret = delivery.new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
    assert secret != delivery.new_secret()


def test_our_signature_verifies_with_the_standardwebhooks_library_and_a_tampered_body_does_not():
    secret, other = delivery.new_secret(), delivery.new_secret()
    body = b'{"type":"webhook.test","data":{}}'
    stamp = int(time.time())
    header = delivery.signature_header([secret, other], "msg_1", stamp, body)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(stamp), "webhook-signature": header}
    assert header.count("v1,") == 2 and " " in header
    assert Webhook(secret).verify(body, headers) == {"type": "webhook.test", "data": {}}
    assert Webhook(other).verify(body, headers)  # during a rotation either secret verifies
    with pytest.raises(WebhookVerificationError):
        Webhook(delivery.new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", headers)


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",  # plain HTTP to the internet
        "https://127.0.0.1/x",
        "https://10.0.0.5/x",
        "https://192.168.1.1/x",
        "https://169.254.169.254/latest/meta-data",  # cloud metadata
        "https://[::1]/x",
        "https://[::ffff:10.0.0.1]/x",
        "https://100.64.0.1/x",  # carrier-grade NAT
        "https://0.0.0.0/x",
        "ftp://hooks.example.com/x",
        "https://user:pw@hooks.example.com/x",
        "https://hooks.example.com:99999/x",
        "hooks.example.com",
    ],
)
def test_production_refuses_urls_that_are_not_public_https(url):
    with pytest.raises(delivery.BlockedTarget):
        delivery.check_url(url, PRODUCTION)


def test_production_accepts_a_public_https_url():
    delivery.check_url("https://hooks.example.com/aerospec?x=1", PRODUCTION)


def test_loopback_http_is_allowed_only_by_the_development_policy():
    delivery.check_url("http://127.0.0.1:8000/x", TESTS)
    delivery.check_url("http://localhost:8000/x", TESTS)
    with pytest.raises(delivery.BlockedTarget):
        delivery.check_url("http://127.0.0.1:8000/x", PRODUCTION)
    with pytest.raises(delivery.BlockedTarget):
        delivery.check_url("http://hooks.example.com/x", TESTS)  # http only to this machine
    with pytest.raises(delivery.BlockedTarget):
        delivery.check_url("https://10.1.2.3/x", TESTS)  # private networks stay closed


def test_the_guard_checks_the_address_a_name_resolves_to(monkeypatch):
    """A public-looking name that resolves to a private address is refused after DNS (no request is made)."""

    def private(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port))]

    monkeypatch.setattr(socket, "getaddrinfo", private)
    with pytest.raises(delivery.BlockedTarget, match="10.0.0.7"):
        delivery.resolve("hooks.example.com", 443, PRODUCTION)
    outcome = delivery.send(
        "https://hooks.example.com/x", b"{}", message_id="msg_1", secrets_=[delivery.new_secret()], policy=PRODUCTION
    )
    assert outcome.status_code is None and not outcome.succeeded
    assert "10.0.0.7" in outcome.error and outcome.error.startswith("Refused")


def test_a_name_resolving_to_loopback_is_refused_in_production(receiver):
    r = receiver()
    url = r.url.replace("127.0.0.1", "localhost").replace("http://", "https://")
    outcome = delivery.send(url, b"{}", message_id="msg_1", secrets_=[delivery.new_secret()], policy=PRODUCTION)
    assert not outcome.succeeded and "not a public address" in outcome.error
    assert r.requests == []


def test_the_request_goes_to_the_checked_address_with_the_urls_host_header(receiver, monkeypatch):
    """The connection is made to the address the guard checked, not to a second look-up of the name."""
    r = receiver()
    port = r.server.server_address[1]
    calls = []
    real = socket.getaddrinfo

    def counting(host, *args, **kwargs):
        calls.append(host)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", counting)
    outcome = delivery.send(
        f"http://localhost:{port}/p", b"{}", message_id="msg_1", secrets_=[delivery.new_secret()], policy=TESTS
    )
    assert outcome.succeeded, outcome.error
    assert calls.count("localhost") == 1  # resolved once; the socket connects to the checked IP literal
    assert r.requests[0].headers["host"] == f"localhost:{port}"


def test_a_redirect_is_not_followed(receiver):
    target = receiver()
    r = receiver(redirect_to=target.url)
    outcome = delivery.send(r.url, b"{}", message_id="msg_1", secrets_=[delivery.new_secret()], policy=TESTS)
    assert outcome.status_code == 302 and not outcome.succeeded
    assert "not followed" in outcome.error and target.url in outcome.error
    assert len(r.requests) == 1 and target.requests == []


def test_a_slow_receiver_times_out_and_the_attempt_says_so(receiver):
    r = receiver(delay=1.5)
    policy = delivery.Policy(allow_loopback=True, timeout=0.5)
    outcome = delivery.send(r.url, b"{}", message_id="msg_1", secrets_=[delivery.new_secret()], policy=policy)
    assert outcome.status_code is None and not outcome.succeeded
    assert outcome.error == "No answer within 0.5 s."
    assert outcome.duration_ms < 1400


def test_the_answer_is_kept_to_its_first_bytes(receiver):
    r = receiver(answer=b"x" * 5000)
    outcome = delivery.send(r.url, b"{}", message_id="msg_1", secrets_=[delivery.new_secret()], policy=TESTS)
    assert outcome.succeeded and outcome.status_code == 200
    assert outcome.excerpt == "x" * delivery.EXCERPT_BYTES


def test_backoff_grows_exponentially_is_capped_and_jittered():
    settings = Settings(policy=TESTS)  # the defaults: 30 s × 4^(n-1), at most 10 h, ± 20 %
    exact = Settings(policy=TESTS, jitter=0)
    assert [backoff_seconds(n, exact) for n in range(1, 8)] == [30, 120, 480, 1920, 7680, 30720, 36000]
    rng = random.Random(7)
    samples = [backoff_seconds(3, settings, rng) for _ in range(200)]
    assert min(samples) >= 480 * 0.8 and max(samples) <= 480 * 1.2
    assert len({round(s) for s in samples}) > 50  # jitter spreads retries apart
    assert schedule_words(settings) == "8 attempts over about 21 hours"


def test_an_answer_with_nul_bytes_is_kept_as_storable_text(receiver):
    r = receiver(answer=b"bad\x00answer")
    outcome = delivery.send(r.url, b"{}", message_id="msg_1", secrets_=[delivery.new_secret()], policy=TESTS)
    assert outcome.succeeded and outcome.excerpt == "bad\ufffdanswer"
