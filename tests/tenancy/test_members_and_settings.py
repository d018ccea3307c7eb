"""Members (roles, removal, the last admin), settings, deletion and purge, the switcher, the trial banner."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from aerospec.compliance.models import AuditLog
from aerospec.errors import InvalidToken
from aerospec.models import utcnow
from aerospec.tenancy import services as tenancy
from aerospec.tenancy.models import Invitation, Membership, Tenant
from aerospec.tenancy.scoping import tenant_scope, unscoped


def _roles(rows, tenant):
    return {m.user_id: m.role for m in rows(tenant, Membership)}


# ---- members


def test_admin_changes_a_members_role(client, login, team, tenant_url, rows):
    ns = team()
    login(ns.admin)
    response = client.post(tenant_url(ns.tenant, f"members/{ns.viewer.id}/role"), data={"role": "admin"})
    assert response.status_code == 303
    assert _roles(rows, ns.tenant)[ns.viewer.id] == "admin"


def test_change_role_to_nonsense_is_a_clear_error(client, login, team, tenant_url, rows):
    ns = team()
    login(ns.admin)
    response = client.post(tenant_url(ns.tenant, f"members/{ns.viewer.id}/role"), data={"role": "owner"})
    assert response.status_code == 422
    assert "Choose admin, user or viewer." in response.get_data(as_text=True)
    assert _roles(rows, ns.tenant)[ns.viewer.id] == "viewer"


def test_admin_removes_a_member_who_then_loses_access(client, login, relogin, team, tenant_url, rows):
    ns = team()
    login(ns.admin)
    assert client.post(tenant_url(ns.tenant, f"members/{ns.user.id}/remove")).status_code == 303
    assert ns.user.id not in _roles(rows, ns.tenant)
    relogin(ns.user)
    assert client.get(tenant_url(ns.tenant, "members")).status_code == 404


def test_last_admin_cannot_be_demoted(client, login, team, tenant_url, rows):
    ns = team()
    login(ns.admin)
    response = client.post(tenant_url(ns.tenant, f"members/{ns.admin.id}/role"), data={"role": "user"})
    assert response.status_code == 409
    assert "is the last admin" in response.get_data(as_text=True)
    assert _roles(rows, ns.tenant)[ns.admin.id] == "admin"


def test_last_admin_cannot_be_removed(client, login, team, tenant_url, rows):
    ns = team()
    login(ns.admin)
    response = client.post(tenant_url(ns.tenant, f"members/{ns.admin.id}/remove"))
    assert response.status_code == 409
    assert "cannot be removed" in response.get_data(as_text=True)
    assert ns.admin.id in _roles(rows, ns.tenant)


def test_with_a_second_admin_the_first_can_step_down(client, login, team, tenant_url, rows, factories):
    ns = team()
    factories.member(ns.tenant, "admin")
    login(ns.admin)
    response = client.post(tenant_url(ns.tenant, f"members/{ns.admin.id}/role"), data={"role": "viewer"})
    assert response.status_code == 303
    assert response.headers["Location"] == tenant_url(ns.tenant)
    assert _roles(rows, ns.tenant)[ns.admin.id] == "viewer"
    assert client.get(tenant_url(ns.tenant, "settings")).status_code == 403


def test_changing_an_unknown_member_is_404(client, login, team, tenant_url, factories):
    ns = team()
    stranger = factories.UserFactory()
    login(ns.admin)
    response = client.post(tenant_url(ns.tenant, f"members/{stranger.id}/role"), data={"role": "user"})
    assert response.status_code == 404
    assert "not a member of this workspace" in response.get_data(as_text=True)


def test_accepting_someone_elses_invitation_is_refused_by_the_service(db, factories):
    tenant = factories.TenantFactory()
    factories.member(tenant, "admin")
    _, token = factories.invitation(tenant, "intended@example.com")
    other = factories.UserFactory()
    with pytest.raises(InvalidToken, match="This invitation was sent to intended@example.com"):
        tenancy.accept_invitation(db.session, token, other, None)


# ---- settings


def test_admin_updates_settings(client, login, team, tenant_url, db):
    ns = team()
    login(ns.admin)
    response = client.post(
        tenant_url(ns.tenant, "settings"), data={"name": "Spray Lab", "billing_email": "Accounts@Example.com"}
    )
    assert response.status_code == 303
    db.session.refresh(ns.tenant)
    assert (ns.tenant.name, ns.tenant.billing_email) == ("Spray Lab", "accounts@example.com")


def test_admin_lets_users_use_the_api_and_takes_it_back_audited(client, login, team, tenant_url, db):
    ns = team(api_enabled_for_users=False)
    login(ns.admin)
    base = {"name": ns.tenant.name, "billing_email": ns.tenant.billing_email}
    assert client.post(tenant_url(ns.tenant, "settings"), data=base | {"api_enabled_for_users": "y"}).status_code == 303
    db.session.refresh(ns.tenant)
    assert ns.tenant.api_enabled_for_users is True
    assert client.post(tenant_url(ns.tenant, "settings"), data=base).status_code == 303  # unticked
    db.session.refresh(ns.tenant)
    assert ns.tenant.api_enabled_for_users is False
    with tenant_scope(db.session, ns.tenant.id):
        entries = db.session.scalars(
            select(AuditLog).where(AuditLog.action == "tenant.settings_changed").order_by(AuditLog.created_at)
        )
        changes = [e.details.get("api_enabled_for_users") for e in entries]
    assert [c for c in changes if c] == [[False, True], [True, False]]


def test_bad_billing_email_is_a_field_error_and_nothing_is_saved(client, login, team, tenant_url, db):
    ns = team()
    old = (ns.tenant.name, ns.tenant.billing_email)
    login(ns.admin)
    response = client.post(
        tenant_url(ns.tenant, "settings"), data={"name": "Half Written", "billing_email": "not-an-email"}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="billing_email-error"' in page
    assert "not a valid email address" in page
    assert "Half Written" in page  # the user's input is kept
    db.session.expire_all()
    tenant = db.session.get(Tenant, ns.tenant.id)
    assert (tenant.name, tenant.billing_email) == old


def test_empty_settings_name_is_a_field_error(client, login, team, tenant_url):
    ns = team()
    login(ns.admin)
    response = client.post(tenant_url(ns.tenant, "settings"), data={"name": "", "billing_email": "a@example.com"})
    assert response.status_code == 422
    assert "Enter the workspace name." in response.get_data(as_text=True)


# ---- deletion and purge


def test_deletion_needs_the_typed_slug(client, login, team, tenant_url, db):
    ns = team()
    login(ns.admin)
    response = client.post(tenant_url(ns.tenant, "delete"), data={"confirmation": "something else"})
    assert response.status_code == 422
    assert f"Type {ns.tenant.slug} exactly to confirm deletion." in response.get_data(as_text=True)
    db.session.refresh(ns.tenant)
    assert ns.tenant.deleted_at is None
    assert client.get(tenant_url(ns.tenant)).status_code == 200


def test_deleted_tenant_is_soft_deleted_and_its_pages_404(client, login, relogin, team, tenant_url, db, rows):
    ns = team()
    login(ns.admin)
    response = client.post(tenant_url(ns.tenant, "delete"), data={"confirmation": ns.tenant.slug})
    assert response.status_code == 303
    assert response.headers["Location"] == "/workspaces"
    db.session.expire_all()
    tenant = db.session.get(Tenant, ns.tenant.id)
    assert tenant is not None and tenant.deleted_at is not None
    assert len(rows(tenant, Membership)) == 3  # kept until the purge
    for path in ("", "members", "settings", "audit"):
        assert client.get(tenant_url(tenant, path)).status_code == 404
    relogin(ns.viewer)
    assert client.get(tenant_url(tenant)).status_code == 404


def _delete_via_page(client, login, ns, tenant_url):
    login(ns.admin)
    assert client.post(tenant_url(ns.tenant, "delete"), data={"confirmation": ns.tenant.slug}).status_code == 303


def _exists(db, model, **where):
    with unscoped(db.session, "test: look for purged rows"):
        db.session.expire_all()
        return db.session.scalars(select(model).filter_by(**where)).first() is not None


def test_purge_waits_30_days_then_hard_deletes_the_tenant_and_its_rows(client, login, team, tenant_url, db, factories):
    from jobs.tenancy import purge_deleted_tenants

    ns = team()
    factories.invitation(ns.tenant, "pending@example.com")
    keep = team()  # a live tenant is never purged
    _delete_via_page(client, login, ns, tenant_url)
    deleted_at = db.session.get(Tenant, ns.tenant.id).deleted_at

    with time_machine.travel(deleted_at + timedelta(days=29, hours=23), tick=False):
        assert purge_deleted_tenants() == 0
    assert _exists(db, Tenant, id=ns.tenant.id)

    with time_machine.travel(deleted_at + timedelta(days=30, minutes=1), tick=False):
        assert purge_deleted_tenants() == 1
        assert purge_deleted_tenants() == 0  # idempotent
    assert not _exists(db, Tenant, id=ns.tenant.id)
    assert not _exists(db, Membership, tenant_id=ns.tenant.id)
    assert not _exists(db, Invitation, tenant_id=ns.tenant.id)
    from aerospec.compliance.models import AuditLog

    assert not _exists(db, AuditLog, tenant_id=ns.tenant.id)
    assert _exists(db, Tenant, id=keep.tenant.id)
    assert _exists(db, Membership, tenant_id=keep.tenant.id)
    # Users are global: they outlive the tenant.
    from aerospec.accounts.models import User

    assert db.session.get(User, ns.admin.id) is not None


# ---- switcher


def test_switcher_goes_to_a_workspace_you_belong_to(client, login, factories):
    first, second = factories.TenantFactory(), factories.TenantFactory()
    person = factories.member(first, "admin")
    factories.member(second, "viewer", user=person)
    login(person)
    response = client.post("/switch", data={"tenant_slug": second.slug})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/t/{second.slug}/"


@pytest.mark.parametrize("target", ["someone-elses", "does-not-exist", "deleted"])
def test_switcher_404s_for_workspaces_that_are_not_yours(client, login, factories, db, target):
    mine = factories.TenantFactory()
    person = factories.member(mine, "admin")
    other = factories.TenantFactory()
    factories.member(other, "admin")
    slug = other.slug
    if target == "does-not-exist":
        slug = "does-not-exist"
    elif target == "deleted":
        deleted = factories.TenantFactory(deleted_at=utcnow())
        factories.member(deleted, "admin", user=person)
        slug = deleted.slug
    login(person)
    assert client.post("/switch", data={"tenant_slug": slug}).status_code == 404


def test_switcher_lists_only_your_workspaces(client, login, factories):
    first, second, foreign = factories.TenantFactory(), factories.TenantFactory(), factories.TenantFactory()
    person = factories.member(first, "admin")
    factories.member(second, "user", user=person)
    factories.member(foreign, "admin")
    login(person)
    page = client.get("/workspaces").get_data(as_text=True)
    assert first.name in page and second.name in page
    assert foreign.name not in page
    assert "platform console" not in page  # a member is not told about a console they cannot open


def test_a_platform_admin_outside_every_workspace_finds_the_console_from_the_workspaces_page(client, login, factories):
    admin = factories.UserFactory(is_platform_admin=True)
    login(admin)
    page = client.get("/workspaces").get_data(as_text=True)
    assert "You don't belong to any workspace yet." in page
    assert 'href="/admin/tenants">open the platform console</a>' in page
    assert client.get("/admin/tenants").status_code == 200


# ---- trial banner


@pytest.mark.parametrize(
    ("days", "level"),
    [
        (14, "info"),
        (7, "info"),
        (6, "warning"),
        (3, "warning"),
        (2, "danger"),
        (1, "danger"),
    ],
)
def test_trial_banner_colour_and_words_follow_days_left(client, login, factories, db, days, level):
    tenant = factories.TenantFactory(trial_ends_at=utcnow() + timedelta(days=days) - timedelta(minutes=5))
    login(factories.member(tenant, "user"))
    page = client.get(f"/t/{tenant.slug}/").get_data(as_text=True)
    assert f'class="trial-banner trial-{level}"' in page
    others = {"info", "warning", "danger"} - {level}
    assert not any(f"trial-{o}" in page for o in others)
    words = f"{days} days left" if days != 1 else "1 day left"
    assert words in page


def test_trial_banner_says_when_the_trial_is_over(client, login, factories):
    tenant = factories.TenantFactory(trial_ends_at=utcnow() - timedelta(hours=1))
    login(factories.member(tenant, "admin"))
    page = client.get(f"/t/{tenant.slug}/").get_data(as_text=True)
    assert "Your trial has ended." in page
    assert "trial-danger" in page


def test_no_trial_banner_for_a_paying_tenant(client, login, factories):
    tenant = factories.TenantFactory(subscription_status="active", trial_ends_at=None)
    login(factories.member(tenant, "admin"))
    assert "trial-banner" not in client.get(f"/t/{tenant.slug}/").get_data(as_text=True)
