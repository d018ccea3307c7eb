"""A worker killed while sending an order (SIGKILL, mid-call) does not lose it or send it twice: a second
real worker sends it again within two minutes, and the supplier recognises the idempotency key
(issue 9 item 19; the figure itself comes from `python -m bench.worker_recovery`)."""

from __future__ import annotations

import os

import pytest

from bench.worker_recovery import run_scenario

pytestmark = pytest.mark.slow


def test_an_order_whose_worker_was_killed_mid_send_is_sent_once_within_two_minutes(tmp_path, sandbox, own_database_url):
    result = run_scenario(
        tmp_path, sandbox.server, database_url=own_database_url, redis_url=os.environ.get("REDIS_URL"), limit=150
    )
    assert result.seconds is not None, f"not sent again within 150 s: {result.timeline}"
    assert result.seconds < 120, result
    assert result.supplier_orders == 1  # the resend was recognised: no second order
    accepted = [m for m in result.timeline if "accepted the order" in m]
    assert len(accepted) == 1 and "the supplier recognised it" in accepted[0]
    assert sandbox.requests("spencer", "POST /orders") == 2  # the killed call and the one resend
