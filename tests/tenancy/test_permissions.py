"""The permission matrix, cell by cell, and the view decorator that enforces it."""

from __future__ import annotations

import uuid

import pytest

from aerospec.tenancy.permissions import MATRIX, can

# DESIGN.md's role table, written out independently of MATRIX so a changed cell fails.
EXPECTED = {
    "view_configurations": {"admin": "yes", "user": "yes", "viewer": "yes"},
    "edit_configurations": {"admin": "yes", "user": "yes", "viewer": "no"},
    "delete_configurations": {"admin": "yes", "user": "own", "viewer": "no"},
    "invite_members": {"admin": "yes", "user": "no", "viewer": "no"},
    "manage_billing": {"admin": "yes", "user": "no", "viewer": "no"},
    "view_analytics": {"admin": "yes", "user": "yes", "viewer": "no"},
    "export_data": {"admin": "yes", "user": "yes", "viewer": "no"},
    "api_access": {"admin": "yes", "user": "if_enabled", "viewer": "no"},
    "view_procurements": {"admin": "yes", "user": "yes", "viewer": "yes"},
    "order_samples": {"admin": "yes", "user": "yes", "viewer": "no"},
    "view_feedback": {"admin": "yes", "user": "yes", "viewer": "yes"},
    "record_feedback": {"admin": "yes", "user": "yes", "viewer": "no"},
    "edit_feedback": {"admin": "yes", "user": "own", "viewer": "no"},
    # issue 12 item 7: viewers read and rank the workspace's own actuators; users and admins add, edit, delete
    "edit_own_actuators": {"admin": "yes", "user": "yes", "viewer": "no"},
    "manage_members": {"admin": "yes", "user": "no", "viewer": "no"},
    "manage_settings": {"admin": "yes", "user": "no", "viewer": "no"},
    "view_audit_log": {"admin": "yes", "user": "no", "viewer": "no"},
    "delete_tenant": {"admin": "yes", "user": "no", "viewer": "no"},
    "view_api_keys": {"admin": "yes", "user": "no", "viewer": "no"},
    "manage_api_keys": {"admin": "yes", "user": "no", "viewer": "no"},
    "manage_webhooks": {"admin": "yes", "user": "no", "viewer": "no"},
}

CELLS = [(perm, role) for perm, roles in MATRIX.items() for role in roles]
ME, SOMEONE_ELSE = uuid.uuid4(), uuid.uuid4()


def test_matrix_covers_exactly_the_documented_permissions_and_roles():
    assert set(MATRIX) == set(EXPECTED)
    for permission, roles in MATRIX.items():
        assert set(roles) == {"admin", "user", "viewer"}, permission


@pytest.mark.parametrize(("permission", "role"), CELLS, ids=[f"{p}-{r}" for p, r in CELLS])
def test_permission_cell_matches_design(permission, role):
    expected = EXPECTED[permission][role]
    assert MATRIX[permission][role] == expected
    own = can(role, permission, actor_id=ME, owner_id=ME)
    other = can(role, permission, actor_id=ME, owner_id=SOMEONE_ELSE)
    enabled = can(role, permission, api_enabled_for_users=True)
    disabled = can(role, permission, api_enabled_for_users=False)
    if expected == "yes":
        assert (own, other, enabled, disabled) == (True, True, True, True)
    elif expected == "no":
        assert (own, other, enabled, disabled) == (False, False, False, False)
    elif expected == "own":
        assert own is True, "own row allowed"
        assert other is False, "someone else's row refused"
    elif expected == "if_enabled":
        assert enabled is True, "allowed when the admin enabled it"
        assert disabled is False, "refused when not enabled"
    else:  # pragma: no cover - a new kind of cell must be taught to this test
        pytest.fail(f"unknown cell value {expected!r}")


def test_own_only_cell_refuses_when_the_actor_is_unknown():
    assert can("user", "delete_configurations", actor_id=None, owner_id=SOMEONE_ELSE) is False


def test_own_only_cell_refuses_a_row_without_an_owner_and_allows_with_no_row_at_hand():
    assert can("user", "delete_configurations", actor_id=ME, owner_id=None) is False  # the creator was erased
    assert can("user", "delete_configurations", actor_id=ME) is True  # a list's button: allowed in principle
    assert can("admin", "delete_configurations", actor_id=ME, owner_id=None) is True


def test_no_role_can_do_nothing():
    assert not any(can(None, permission) for permission in MATRIX)


def test_unknown_permission_is_an_error_not_a_silent_no():
    with pytest.raises(KeyError):
        can("admin", "launch_rockets")


# ---- the decorator on real views


def _admin_only_requests(team_ns, tenant_url):
    t = team_ns.tenant
    target = team_ns.user.id
    return [
        ("get", tenant_url(t, "settings"), None),
        ("post", tenant_url(t, "settings"), {"name": "Renamed", "billing_email": "new@example.com"}),
        ("get", tenant_url(t, "audit"), None),
        ("post", tenant_url(t, "members/invite"), {"email": "new.person@example.com", "role": "user"}),
        ("post", tenant_url(t, f"members/{target}/role"), {"role": "viewer"}),
        ("post", tenant_url(t, f"members/{target}/remove"), {}),
        ("post", tenant_url(t, "delete"), {"confirmation": t.slug}),
    ]


@pytest.mark.parametrize("role", ["user", "viewer"])
def test_user_and_viewer_get_403_on_admin_pages(client, login, team, tenant_url, rows, role):
    from aerospec.tenancy.models import Invitation, Membership

    ns = team()
    login(getattr(ns, role))
    for method, url, data in _admin_only_requests(ns, tenant_url):
        response = getattr(client, method)(url, data=data)
        assert response.status_code == 403, (method, url, response.status_code)
    # Nothing changed behind the 403s.
    assert ns.tenant.deleted_at is None
    assert ns.tenant.name != "Renamed"
    assert rows(ns.tenant, Invitation) == []
    roles = {m.user_id: m.role for m in rows(ns.tenant, Membership)}
    assert roles[ns.user.id] == "user"


def test_admin_passes_the_same_checks(client, login, team, tenant_url, rows):
    from aerospec.tenancy.models import Invitation, Membership

    ns = team()
    login(ns.admin)
    t = ns.tenant
    assert client.get(tenant_url(t, "settings")).status_code == 200
    assert client.get(tenant_url(t, "audit")).status_code == 200
    assert (
        client.post(tenant_url(t, "settings"), data={"name": "Renamed", "billing_email": "new@example.com"}).status_code
        == 303
    )
    assert (
        client.post(
            tenant_url(t, "members/invite"), data={"email": "new.person@example.com", "role": "user"}
        ).status_code
        == 303
    )
    assert [i.email for i in rows(t, Invitation)] == ["new.person@example.com"]
    assert client.post(tenant_url(t, f"members/{ns.user.id}/role"), data={"role": "viewer"}).status_code == 303
    assert {m.user_id: m.role for m in rows(t, Membership)}[ns.user.id] == "viewer"
    assert client.post(tenant_url(t, f"members/{ns.user.id}/remove")).status_code == 303
    assert ns.user.id not in {m.user_id for m in rows(t, Membership)}


@pytest.mark.parametrize("role", ["admin", "user", "viewer"])
def test_every_member_can_see_the_team_and_roles_pages(client, login, team, tenant_url, role):
    ns = team()
    login(getattr(ns, role))
    assert client.get(tenant_url(ns.tenant, "members")).status_code == 200
    assert client.get(tenant_url(ns.tenant, "roles")).status_code == 200
    page = client.get(tenant_url(ns.tenant, "members")).get_data(as_text=True)
    # Only admins are offered the controls the decorator would refuse.
    assert ("Send invitation" in page) is (role == "admin")


# ---- API keys: a key has no role; its scopes decide, and person-only permissions are never a key's.
KEY_EXPECTED = {
    "api_access": "*",
    "view_configurations": "configurations:read",
    "edit_configurations": "configurations:write",
    "delete_configurations": "configurations:write",
    "export_data": "configurations:read",
    "view_analytics": "analytics:read",
    "view_procurements": "procurements:read",
    "order_samples": "procurements:write",
    "view_feedback": "feedback:read",
    "record_feedback": "feedback:write",
    "edit_feedback": "feedback:write",
    "edit_own_actuators": "configurations:write",
    "view_api_keys": "keys:read",
    "manage_api_keys": "keys:write",
    "manage_webhooks": "webhooks:write",
}


@pytest.mark.parametrize("permission", sorted(MATRIX))
def test_a_key_may_do_a_permission_only_with_its_scope(permission):
    from aerospec.tenancy.permissions import KEY_SCOPES, key_can

    needed = KEY_EXPECTED.get(permission)
    assert key_can(KEY_SCOPES, permission) is (needed is not None), "person-only permissions are never a key's"
    assert key_can([], permission) is (needed == "*")
    if needed and needed != "*":
        assert key_can([needed], permission) is True
        others = [s for s in KEY_SCOPES if s != needed and s != needed.replace(":read", ":write")]
        assert key_can(others, permission) is False
        if needed.endswith(":read"):
            assert key_can([needed.replace(":read", ":write")], permission) is True  # write includes read


def test_a_key_with_a_write_scope_edits_rows_that_are_nobodys_own():
    from types import SimpleNamespace

    from aerospec.tenancy.permissions import permits

    key = SimpleNamespace(api_scopes=frozenset({"feedback:write"}), role=None, user_id=None)
    assert permits(key, "edit_feedback", owner_id=SOMEONE_ELSE) is True
    assert permits(key, "edit_feedback", owner_id=None) is True
    assert permits(SimpleNamespace(api_scopes=frozenset(), role=None), "edit_feedback", owner_id=ME) is False
