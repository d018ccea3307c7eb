"""Operations (issue 9 item 20): logs are one JSON object a line with the request id (the caller's
X-Request-ID when sane, else a fresh one, echoed back), tenant, user, route, status and duration; with
SENTRY_DSN set, errors reach the tracker: a real sentry-sdk posting to a local HTTP server we run."""

from __future__ import annotations

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


def json_lines(text: str) -> list[dict]:
    """Every non-empty line, parsed: a line that is not one JSON object fails the test."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def request_lines(text: str) -> list[dict]:
    return [entry for entry in json_lines(text) if entry["logger"] == "aerospec.request"]


@pytest.fixture
def logging_app(build_app):
    return build_app(LOG_LEVEL="INFO")


def test_a_tenant_request_logs_one_json_line_with_its_context_and_echoes_the_request_id(
    logging_app, db, team, tenant_url, capsys
):
    from tests.web.test_csrf import logged_in

    t = team()
    browser = logged_in(logging_app, db, t.user)
    capsys.readouterr()
    response = browser.get(tenant_url(t.tenant, "configurations"), headers={"X-Request-ID": "req-42.abc"})
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "req-42.abc"

    err = capsys.readouterr().err
    [line] = [e for e in request_lines(err) if e["path"] == f"/t/{t.tenant.slug}/configurations"]
    assert line["request_id"] == "req-42.abc"
    assert line["tenant"] == str(t.tenant.id) and line["tenant_slug"] == t.tenant.slug
    assert line["user"] == str(t.user.id)
    assert line["route"] == "/t/<tenant_slug>/configurations" and line["method"] == "GET"
    assert line["status"] == 200 and line["level"] == "info"
    assert isinstance(line["duration_ms"], int | float) and line["duration_ms"] >= 0
    assert line["message"] == f"GET /t/{t.tenant.slug}/configurations 200"


@pytest.mark.parametrize("sent", ["has spaces", "x" * 200, "semi;colon", "<script>", ""])
def test_an_insane_request_id_is_replaced_by_a_fresh_one(logging_app, capsys, sent):
    capsys.readouterr()
    response = logging_app.test_client().get("/pricing", headers={"X-Request-ID": sent})
    echoed = response.headers["X-Request-ID"]
    assert echoed != sent and len(echoed) == 32 and echoed.isalnum()
    [line] = request_lines(capsys.readouterr().err)
    assert line["request_id"] == echoed and line["user"] is None and line["tenant"] is None


def test_a_request_refused_before_the_view_still_gets_an_id_and_a_line(logging_app, team, tenant_url, capsys):
    t = team()
    capsys.readouterr()
    response = logging_app.test_client().get(tenant_url(t.tenant, "configurations"))  # not logged in
    assert response.status_code == 302 and response.headers["X-Request-ID"]
    [line] = request_lines(capsys.readouterr().err)
    assert line["status"] == 302 and line["request_id"] == response.headers["X-Request-ID"]


def test_every_log_line_is_one_json_object_with_the_request_id(logging_app, capsys):
    import logging

    @logging_app.get("/_test/log")
    def _log():
        logging.getLogger("aerospec.test").warning("something %s", "happened", extra={"order": "A-1"})
        return "ok"

    capsys.readouterr()
    response = logging_app.test_client().get("/_test/log", headers={"X-Request-ID": "rid-7"})
    lines = json_lines(capsys.readouterr().err)
    [warning] = [e for e in lines if e["logger"] == "aerospec.test"]
    assert warning["message"] == "something happened" and warning["level"] == "warning"
    assert warning["request_id"] == "rid-7" and warning["order"] == "A-1"
    assert response.headers["X-Request-ID"] == "rid-7"


def test_idle_workers_registry_sweeps_stay_out_of_the_log_but_rq_news_does_not(logging_app, capsys):
    import logging

    rq = logging.getLogger("rq.worker")
    capsys.readouterr()
    rq.info("%s: cleaning registries for queue: %s", "Worker w1", "default")  # every 15 s, per queue
    rq.info("Worker w1: cleaning group registries")
    rq.info("*** Listening on %s...", "default")
    rq.warning("Worker w1: cleaning registries for queue: default failed")
    messages = [e["message"] for e in json_lines(capsys.readouterr().err) if e["logger"] == "rq.worker"]
    assert messages == ["*** Listening on default...", "Worker w1: cleaning registries for queue: default failed"]


def test_a_server_error_is_logged_at_error_with_its_traceback(logging_app, capsys):
    @logging_app.get("/_test/boom")
    def _boom():
        raise RuntimeError("kaboom")

    logging_app.config["PROPAGATE_EXCEPTIONS"] = False
    capsys.readouterr()
    assert logging_app.test_client().get("/_test/boom").status_code == 500
    lines = json_lines(capsys.readouterr().err)
    assert any("kaboom" in e.get("exception", "") for e in lines)
    [line] = request_lines("\n".join(json.dumps(e) for e in lines))
    assert line["status"] == 500 and line["level"] == "error"


# -- Sentry --------------------------------------------------------------------------------------


class EnvelopeCollector:
    """A local HTTP server that stands in for Sentry's ingest: keeps every envelope posted to it."""

    def __init__(self):
        self.envelopes: list[list[dict]] = []
        self.received = threading.Event()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                items = []
                for raw in body.split(b"\n"):
                    try:
                        items.append(json.loads(raw))
                    except ValueError:
                        continue  # an attachment or an empty line
                collector.envelopes.append(items)
                collector.received.set()
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def dsn(self) -> str:
        return f"http://publickey@127.0.0.1:{self.server.server_port}/42"

    def events(self) -> list[dict]:
        return [item for items in self.envelopes for item in items if "exception" in item]


@pytest.fixture
def sentry_server():
    import sentry_sdk

    collector = EnvelopeCollector()
    collector.thread.start()
    try:
        yield collector
    finally:
        client = sentry_sdk.get_client()
        client.close(timeout=2)
        sentry_sdk.get_global_scope().set_client(None)
        collector.server.shutdown()
        collector.server.server_close()


def test_with_sentry_dsn_an_error_in_a_view_reaches_the_tracker(build_app, sentry_server):
    import sentry_sdk

    app = build_app(SENTRY_DSN=sentry_server.dsn, PROPAGATE_EXCEPTIONS=False)

    @app.get("/_test/crash")
    def _crash():
        raise ZeroDivisionError("tracked by sentry")

    assert app.test_client().get("/_test/crash").status_code == 500
    sentry_sdk.flush(timeout=5)
    assert sentry_server.received.wait(5), "no envelope reached the local Sentry"
    [event] = sentry_server.events()
    [exception] = event["exception"]["values"]
    assert exception["type"] == "ZeroDivisionError" and exception["value"] == "tracked by sentry"
    assert event["environment"] == "development"
    assert event["request"]["url"].endswith("/_test/crash")
    assert "cookies" not in event["request"] and "user" not in event  # no personal data sent


def test_without_sentry_dsn_nothing_is_sent(build_app, sentry_server):
    import sentry_sdk

    app = build_app(PROPAGATE_EXCEPTIONS=False)

    @app.get("/_test/crash")
    def _crash():
        raise ZeroDivisionError("not tracked")

    assert app.test_client().get("/_test/crash").status_code == 500
    sentry_sdk.flush(timeout=1)
    assert not sentry_server.received.wait(1)
    assert not sentry_sdk.get_client().is_active()
