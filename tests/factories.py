"""factory-boy factories bound to the test session."""

from __future__ import annotations

from datetime import timedelta

import factory

from aerospec.accounts.models import User
from aerospec.accounts.services import hash_password
from aerospec.models import utcnow
from aerospec.tenancy.models import Invitation, Membership, Tenant
from aerospec.tenancy.scoping import tenant_scope

PASSWORD = "correct horse battery staple 42"
_HASH = hash_password(PASSWORD)
_session = None


def bind(session) -> None:
    global _session
    _session = session
    for f in (UserFactory, TenantFactory):
        f._meta.sqlalchemy_session = session


class UserFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        model = User
        sqlalchemy_session_persistence = "flush"

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Sequence(lambda n: f"User {n}")
    password_hash = _HASH


class TenantFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        model = Tenant
        sqlalchemy_session_persistence = "flush"

    name = factory.Sequence(lambda n: f"Tenant {n}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")
    plan = "professional"
    subscription_status = "trialing"
    trial_ends_at = factory.LazyFunction(lambda: utcnow() + timedelta(days=14))
    billing_email = factory.Sequence(lambda n: f"billing{n}@example.com")
    limits = factory.LazyFunction(dict)
    features = factory.LazyFunction(dict)


def member(tenant: Tenant, role: str = "user", user: User | None = None, **user_kwargs) -> User:
    """A user who belongs to `tenant` with `role` (created unless given)."""
    user = user or UserFactory(**user_kwargs)
    with tenant_scope(_session, tenant.id):
        _session.add(Membership(tenant_id=tenant.id, user_id=user.id, role=role))
        _session.flush()
    return user


def invitation(
    tenant: Tenant, email: str, role: str = "user", token: str | None = None, **kwargs
) -> tuple[Invitation, str]:
    """A pending invitation and its token."""
    import hashlib
    import secrets

    token = token or secrets.token_urlsafe(16)
    with tenant_scope(_session, tenant.id):
        inv = Invitation(
            tenant_id=tenant.id,
            email=email,
            role=role,
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            expires_at=kwargs.pop("expires_at", utcnow() + timedelta(days=7)),
            **kwargs,
        )
        _session.add(inv)
        _session.flush()
    return inv, token
