"""Helpers for the tenancy tests: tenants with members, and reading rows past the guard."""

from __future__ import annotations

import pytest


@pytest.fixture
def relogin(client, login):
    """Log the test client in as another user.

    The db fixture keeps one app context for the whole test, so `g` (where flask-login
    caches the current user) outlives each request; clear it with the cookie session.
    """

    def _relogin(user):
        from flask import g

        with client.session_transaction() as sess:
            sess.clear()
        for key in ("_login_user", "_my_memberships", "tenant", "membership"):
            g.pop(key, None)
        return login(user)

    return _relogin
