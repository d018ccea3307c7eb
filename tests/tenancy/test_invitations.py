"""Invitations: invite, email with a link, accept (new and existing user), the ways a link fails,
resend, revoke, and the seat limit at invite and at accept."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from aerospec.models import utcnow
from aerospec.notifications.models import EmailMessage
from aerospec.tenancy.models import Invitation, Membership

NEW_PASSWORD = "quartz nozzle meridian 77"


def _invite(client, tenant_url, tenant, email, role="user"):
    return client.post(tenant_url(tenant, "members/invite"), data={"email": email, "role": role})


def _link_in_latest_email(db, email: str) -> str:
    message = db.session.scalars(
        select(EmailMessage).where(EmailMessage.to_address == email).order_by(EmailMessage.created_at.desc())
    ).first()
    assert message is not None, f"no email to {email}"
    assert message.template == "invitation" and message.status == "sent"
    match = re.search(r"http://testserver(/invitations/[\w-]+)", message.text_body)
    assert match, message.text_body
    assert match.group(1) in message.html_body
    return match.group(1)


def test_admin_invites_and_the_email_carries_a_working_link(client, db, login, team, tenant_url, rows):
    ns = team()
    login(ns.admin)
    response = _invite(client, tenant_url, ns.tenant, "New.Person@Example.com", role="viewer")
    assert response.status_code == 303
    [invitation] = rows(ns.tenant, Invitation)
    assert (invitation.email, invitation.role, invitation.status) == (
        "new.person@example.com",
        "viewer",
        "pending",
    )
    assert invitation.invited_by_id == ns.admin.id
    link = _link_in_latest_email(db, "new.person@example.com")
    client.post("/logout")
    page = client.get(link)
    assert page.status_code == 200
    assert ns.tenant.name in page.get_data(as_text=True)


def test_new_user_accepts_and_lands_in_the_workspace(client, db, login, team, tenant_url, rows):
    ns = team()
    login(ns.admin)
    _invite(client, tenant_url, ns.tenant, "fresh@example.com", role="viewer")
    link = _link_in_latest_email(db, "fresh@example.com")
    client.post("/logout")
    response = client.post(link, data={"name": "Fresh Face", "password": NEW_PASSWORD})
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"] == f"/t/{ns.tenant.slug}/"
    roles = {m.user.email: m.role for m in rows(ns.tenant, Membership)}
    assert roles["fresh@example.com"] == "viewer"
    assert client.get(tenant_url(ns.tenant)).status_code == 200  # logged in as the new user
    [invitation] = rows(ns.tenant, Invitation)
    assert invitation.status == "accepted"


def test_new_user_with_a_weak_password_is_told_why(client, db, factories):
    tenant = factories.TenantFactory()
    factories.member(tenant, "admin")
    _, token = factories.invitation(tenant, "weak@example.com")
    db.session.commit()  # the view rolls back its own work on a validation error
    response = client.post(f"/invitations/{token}", data={"name": "Weak", "password": "short"})
    assert response.status_code == 422
    assert "Use at least 10 characters." in response.get_data(as_text=True)


def test_existing_user_accepts_while_logged_in(client, db, login, factories, rows):
    tenant = factories.TenantFactory()
    factories.member(tenant, "admin")
    elsewhere = factories.TenantFactory()
    person = factories.member(elsewhere, "admin")
    _, token = factories.invitation(tenant, person.email, role="user")
    login(person)
    response = client.post(f"/invitations/{token}")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/t/{tenant.slug}/"
    assert {m.user_id: m.role for m in rows(tenant, Membership)}[person.id] == "user"
    assert client.get(f"/t/{tenant.slug}/").status_code == 200


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ({"expires_at": utcnow() - timedelta(minutes=1)}, "This invitation has expired"),
        ({"revoked_at": utcnow()}, "This invitation was revoked"),
        ({"accepted_at": utcnow()}, "This invitation has already been accepted"),
    ],
)
def test_unusable_links_say_why(client, factories, state, message):
    tenant = factories.TenantFactory()
    factories.member(tenant, "admin")
    _, token = factories.invitation(tenant, "late@example.com", **state)
    for response in (
        client.get(f"/invitations/{token}"),
        client.post(f"/invitations/{token}", data={"name": "Late", "password": NEW_PASSWORD}),
    ):
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)


def test_unknown_token_is_a_clear_400(client):
    response = client.get("/invitations/this-is-not-a-token")
    assert response.status_code == 400
    assert "This invitation link is not valid" in response.get_data(as_text=True)


def test_a_link_cannot_be_used_twice(client, db, factories, rows):
    tenant = factories.TenantFactory()
    factories.member(tenant, "admin")
    _, token = factories.invitation(tenant, "once@example.com")
    assert client.post(f"/invitations/{token}", data={"name": "Once", "password": NEW_PASSWORD}).status_code == 303
    client.post("/logout")
    again = client.post(f"/invitations/{token}", data={"name": "Twice", "password": NEW_PASSWORD})
    assert again.status_code == 400
    assert "already been accepted" in again.get_data(as_text=True)
    assert len([m for m in rows(tenant, Membership) if m.user.email == "once@example.com"]) == 1


def test_logged_in_as_someone_else_cannot_take_the_invitation(client, db, login, factories, rows):
    tenant = factories.TenantFactory()
    factories.member(tenant, "admin")
    _, token = factories.invitation(tenant, "intended@example.com")
    other = factories.UserFactory()
    login(other)
    response = client.post(f"/invitations/{token}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f"You are logged in as {other.email}, but this invitation is for intended@example.com." in page
    assert "Log out and continue as intended@example.com" in page
    assert other.id not in {m.user_id for m in rows(tenant, Membership)}
    [invitation] = rows(tenant, Invitation)
    assert invitation.status == "pending"


def test_resend_issues_a_new_link_and_the_old_one_stops_working(client, db, login, team, tenant_url, rows):
    ns = team()
    login(ns.admin)
    _invite(client, tenant_url, ns.tenant, "again@example.com")
    old_link = _link_in_latest_email(db, "again@example.com")
    [invitation] = rows(ns.tenant, Invitation)
    response = client.post(tenant_url(ns.tenant, f"invitations/{invitation.id}/resend"))
    assert response.status_code == 303
    new_link = _link_in_latest_email(db, "again@example.com")
    assert new_link != old_link
    [invitation] = rows(ns.tenant, Invitation)
    assert invitation.send_count == 2
    client.post("/logout")
    assert client.get(old_link).status_code == 400
    assert client.get(new_link).status_code == 200


def test_revoke_stops_the_link(client, db, login, team, tenant_url, rows):
    ns = team()
    login(ns.admin)
    _invite(client, tenant_url, ns.tenant, "gone@example.com")
    link = _link_in_latest_email(db, "gone@example.com")
    [invitation] = rows(ns.tenant, Invitation)
    assert client.post(tenant_url(ns.tenant, f"invitations/{invitation.id}/revoke")).status_code == 303
    [invitation] = rows(ns.tenant, Invitation)
    assert invitation.status == "revoked"
    client.post("/logout")
    response = client.get(link)
    assert response.status_code == 400
    assert "revoked" in response.get_data(as_text=True)


def test_resending_a_revoked_invitation_is_refused_with_a_reason(client, login, team, tenant_url, rows, factories):
    ns = team()
    invitation, _ = factories.invitation(ns.tenant, "nope@example.com", revoked_at=utcnow())
    invitation_id = invitation.id
    login(ns.admin)
    response = client.post(tenant_url(ns.tenant, f"invitations/{invitation_id}/resend"))
    assert response.status_code == 409
    assert "send a new one instead" in response.get_data(as_text=True)


def test_inviting_an_existing_member_or_a_pending_email_is_refused(client, login, team, tenant_url, rows):
    ns = team()
    login(ns.admin)
    response = _invite(client, tenant_url, ns.tenant, ns.viewer.email)
    assert response.status_code == 422
    assert "is already a member" in response.get_data(as_text=True)
    assert _invite(client, tenant_url, ns.tenant, "dupe@example.com").status_code == 303
    response = _invite(client, tenant_url, ns.tenant, "dupe@example.com")
    assert response.status_code == 422
    assert "already has a pending invitation" in response.get_data(as_text=True)
    assert len(rows(ns.tenant, Invitation)) == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "not-an-email", "role": "user"}, "not a valid email address"),
        ({"email": "", "role": "user"}, "Enter the email address to invite."),
        ({"email": "ok@example.com", "role": "owner"}, "Not a valid choice"),
    ],
)
def test_bad_invite_input_gets_a_field_message(client, login, team, tenant_url, rows, data, message):
    ns = team()
    login(ns.admin)
    response = client.post(tenant_url(ns.tenant, "members/invite"), data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert rows(ns.tenant, Invitation) == []


# ---- seats


def test_seat_limit_blocks_the_invitation_with_an_upgrade_message(client, db, login, factories, tenant_url, rows):
    tenant = factories.TenantFactory(plan="starter")
    admin = factories.member(tenant, "admin")
    login(admin)
    response = _invite(client, tenant_url, tenant, "one.too.many@example.com")
    assert response.status_code == 402
    page = response.get_data(as_text=True)
    assert "Your Starter plan includes 1 seat" in page
    assert "Upgrade to Professional" in page
    assert f'href="/t/{tenant.slug}/billing">Go to the billing page' in page  # the admin can upgrade there
    assert rows(tenant, Invitation) == []


def test_pending_invitations_count_against_seats(client, login, factories, tenant_url, rows):
    tenant = factories.TenantFactory()  # professional: 5 seats
    login(factories.member(tenant, "admin"))
    for n in range(4):
        assert _invite(client, tenant_url, tenant, f"seat{n}@example.com").status_code == 303
    response = _invite(client, tenant_url, tenant, "seat5@example.com")
    assert response.status_code == 402
    page = response.get_data(as_text=True)
    # Professional sells extra seats: the admin is told to add one (and where), not only to upgrade.
    assert "Your Professional plan includes 5 seats, and all are taken or invited." in page
    assert "Add an extra seat on the billing page (USD 400 a month each)" in page
    assert f'href="/t/{tenant.slug}/billing"' in page


def test_seat_limit_is_checked_again_at_accept(client, db, factories, rows):
    tenant = factories.TenantFactory()
    factories.member(tenant, "admin")
    _, token = factories.invitation(tenant, "waiting@example.com")
    # The plan shrank after the invitation was sent.
    tenant.plan = "starter"
    db.session.commit()
    response = client.post(f"/invitations/{token}", data={"name": "Waiting", "password": NEW_PASSWORD})
    assert response.status_code == 402
    page = response.get_data(as_text=True)
    assert "Your Starter plan includes 1 seat" in page
    assert "Ask your team admin to make room." in page
    assert len(rows(tenant, Membership)) == 1
    [invitation] = rows(tenant, Invitation)
    assert invitation.status == "pending"


def test_viewer_cannot_invite_members(client, login, team, tenant_url, rows):
    ns = team()
    login(ns.viewer)
    assert _invite(client, tenant_url, ns.tenant, "sneaky@example.com").status_code == 403
    assert rows(ns.tenant, Invitation) == []


def test_existing_user_not_logged_in_is_asked_to_log_in_then_accepts(client, db, factories, rows):
    from tests.factories import PASSWORD

    tenant = factories.TenantFactory()
    factories.member(tenant, "admin")
    person = factories.UserFactory()
    _, token = factories.invitation(tenant, person.email)
    page = client.get(f"/invitations/{token}").get_data(as_text=True)
    assert "You already have an AeroSpec account" in page
    login = client.post(f"/login?next=/invitations/{token}", data={"email": person.email, "password": PASSWORD})
    assert login.status_code == 303
    assert login.headers["Location"] == f"/invitations/{token}"
    assert client.post(f"/invitations/{token}").status_code == 303
    assert person.id in {m.user_id for m in rows(tenant, Membership)}


def _expires_cell(html: str, invitation_id) -> str:
    row = re.search(rf'<tr id="invitation-{invitation_id}">(.*?)</tr>', html, re.S)
    assert row, f"no row for invitation {invitation_id}"
    cell = re.search(r'<td data-label="Expires">(.*?)</td>', row.group(1), re.S)
    assert cell, row.group(1)
    return cell.group(1)


def test_a_fresh_invitation_reads_valid_for_7_days_and_a_resend_restarts_them(
    client, db, login, team, tenant_url, rows
):
    from aerospec.tenancy.scoping import tenant_scope
    from aerospec.web.dates import absolute

    ns = team()
    login(ns.admin)
    page = client.post(
        tenant_url(ns.tenant, "members/invite"), data={"email": "week@example.com"}, follow_redirects=True
    )
    [invitation] = rows(ns.tenant, Invitation)
    invitation_id, expires_at = invitation.id, invitation.expires_at
    cell = _expires_cell(page.get_data(as_text=True), invitation_id)
    # Sent a moment ago, valid for 7 days: "in 7 days", not the floor of 6.99 days.
    assert f'datetime="{expires_at.isoformat()}"' in cell
    assert f'{absolute(expires_at)} <span class="when-relative">(in 7 days)</span>' in cell

    # Two days on, resent: the page says 7 days again, from the new expiry.
    with tenant_scope(db.session, ns.tenant.id):
        db.session.get(Invitation, invitation_id).expires_at = expires_at - timedelta(days=2)
        db.session.commit()
    cell = _expires_cell(client.get(tenant_url(ns.tenant, "members")).get_data(as_text=True), invitation_id)
    assert "(in 5 days)" in cell
    client.post(tenant_url(ns.tenant, f"invitations/{invitation_id}/resend"))
    [invitation] = rows(ns.tenant, Invitation)
    renewed = invitation.expires_at
    cell = _expires_cell(client.get(tenant_url(ns.tenant, "members")).get_data(as_text=True), invitation_id)
    assert renewed > expires_at and "(in 7 days)" in cell and absolute(renewed) in cell
