"""Helpers for the tenancy tests: tenants with members, and reading rows past the guard."""

from __future__ import annotations

from types import SimpleNamespace

import pytest


@pytest.fixture
def team(factories):
    """team(plan=...) → a tenant with an admin, a user and a viewer (names ns.admin etc.)."""

    def _team(**tenant_kwargs):
        tenant = factories.TenantFactory(**tenant_kwargs)
        return SimpleNamespace(
            tenant=tenant,
            admin=factories.member(tenant, "admin"),
            user=factories.member(tenant, "user"),
            viewer=factories.member(tenant, "viewer"),
        )

    return _team


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
