"""Helpers for the tenancy tests: tenants with members, and reading rows past the guard."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from aerospec.tenancy.scoping import tenant_scope


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
def rows(db):
    """rows(tenant, Model, *where) → that tenant's rows of a tenant-owned model."""

    def _rows(tenant, model, *where):
        with tenant_scope(db.session, tenant.id):
            return list(db.session.scalars(select(model).where(*where)).unique())

    return _rows
