"""Sign-up: a user, a tenant on a 14-day professional trial, an admin seat, a welcome email."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from aerospec.accounts.models import User
from aerospec.compliance.models import AuditLog
from aerospec.errors import ValidationFailed
from aerospec.models import utcnow
from aerospec.notifications.models import EmailMessage
from aerospec.tenancy import services as tenancy
from aerospec.tenancy.models import Membership, Tenant
from aerospec.tenancy.scoping import tenant_scope

GOOD_PASSWORD = "nebulous cobalt atomiser 9"


def _unique(prefix: str = "ada") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@acme.example"


def _signup(client, **overrides):
    data = {
        "name": "Ada Lovelace",
        "company": f"Acme {uuid.uuid4().hex[:6]}",
        "email": _unique(),
        "password": GOOD_PASSWORD,
    }
    data.update(overrides)
    return client.post("/signup", data=data), data


def test_signup_starts_a_14_day_professional_trial_with_an_admin_seat(client, db):
    before = utcnow()
    response, data = _signup(client)
    assert response.status_code == 303, response.get_data(as_text=True)
    user = db.session.scalar(select(User).where(User.email == data["email"]))
    tenant = db.session.scalar(select(Tenant).where(Tenant.name == data["company"]))
    assert response.headers["Location"] == f"/t/{tenant.slug}/"
    assert tenant.plan == "professional"
    assert tenant.subscription_status == "trialing"
    assert before + timedelta(days=14) <= tenant.trial_ends_at <= utcnow() + timedelta(days=14)
    assert tenant.billing_email == data["email"]
    with tenant_scope(db.session, tenant.id):
        memberships = db.session.scalars(select(Membership)).unique().all()
        created = db.session.scalars(select(AuditLog).where(AuditLog.action == "tenant.created")).all()
    assert [(m.user_id, m.role) for m in memberships] == [(user.id, "admin")]
    assert [(e.actor_id, e.details) for e in created] == [(user.id, {"plan": "professional"})]


def test_signup_sends_a_welcome_email_to_the_outbox(client, db):
    response, data = _signup(client)
    assert response.status_code == 303
    messages = db.session.scalars(select(EmailMessage).where(EmailMessage.to_address == data["email"])).all()
    assert [m.template for m in messages] == ["welcome"]
    assert messages[0].status == "sent" and messages[0].transport == "outbox"
    assert data["company"] in messages[0].text_body


def test_signup_with_a_taken_email_says_so_plainly(client, db, factories):
    existing = factories.UserFactory()
    db.session.commit()  # the view rolls back its own work on a validation error
    response, data = _signup(client, email=existing.email.upper())
    assert response.status_code == 422
    assert "An account with this email already exists" in response.get_data(as_text=True)
    assert db.session.scalars(select(User).where(User.email == existing.email)).all() == [existing]
    assert db.session.scalar(select(Tenant).where(Tenant.name == data["company"])) is None


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1", "Use at least 10 characters."),
        ("password123", "This password is too easy to guess."),
        ("aaaaaaaaaaaa", "This password is too easy to guess."),
    ],
)
def test_signup_rejects_short_and_weak_passwords_with_a_reason(client, db, password, message):
    response, data = _signup(client, password=password)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == data["email"])) is None
    assert db.session.scalar(select(Tenant).where(Tenant.name == data["company"])) is None


def test_signup_keeps_what_was_typed_when_a_field_is_wrong(client):
    response, data = _signup(client, password="short")
    page = response.get_data(as_text=True)
    assert data["email"] in page and data["company"] in page


def test_signup_with_invalid_email_explains(client):
    response, _ = _signup(client, email="not-an-email")
    assert response.status_code == 422
    assert "not a valid email address" in response.get_data(as_text=True)


def test_two_companies_with_the_same_name_get_distinct_slugs(client, db):
    company = f"Spray Works {uuid.uuid4().hex[:6]}"
    first, _ = _signup(client, company=company)
    client.post("/logout")
    second, _ = _signup(client, company=company)
    assert first.status_code == second.status_code == 303
    base = tenancy.slugify(company)
    assert first.headers["Location"] == f"/t/{base}/"
    assert second.headers["Location"] == f"/t/{base}-2/"


def test_reserved_words_never_become_slugs(db):
    assert tenancy.unique_slug(db.session, "Admin") == "admin-team"
    assert tenancy.slugify("Ünïcode Spräys GmbH!") == "unicode-sprays-gmbh"
    assert tenancy.slugify("!!!") == "workspace"


def test_sign_up_service_reports_every_field_at_once(db):
    with pytest.raises(ValidationFailed) as caught:
        tenancy.sign_up(db.session, email="nope", password="x", name="", company="", client=None)
    assert set(caught.value.field_errors) == {"email", "password", "name", "company"}
