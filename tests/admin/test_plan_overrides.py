"""Platform-admin workspace plans: list, search, pagination, plan/limit/feature overrides, audit, 404 for others."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from aerospec.billing import usage
from aerospec.compliance.models import AuditLog
from aerospec.limits import effective
from aerospec.tenancy.models import Tenant


def _plan_url(tenant) -> str:
    return f"/admin/tenants/{tenant.id}/plan"


def _form(**changes) -> dict:
    """The override form as the page posts it, everything at the plan's default."""
    form = {"plan": "professional"}
    form.update({f"limit_{name}": "" for name in usage.LIMIT_NAMES})
    form.update({f"feature_{name}": "default" for name in usage.FEATURES})
    form.update(changes)
    return form


def _admin(db, factories):
    admin = factories.UserFactory(is_platform_admin=True)
    db.session.commit()
    return admin


def test_workspace_plan_pages_are_404_for_everyone_but_platform_admins(client, login, team):
    t = team()
    for path in ("/admin/tenants", _plan_url(t.tenant)):
        assert client.get(path).status_code == 404  # signed out
    login(t.admin)  # a workspace admin is not a platform admin
    assert client.get("/admin/tenants").status_code == 404
    assert client.get(_plan_url(t.tenant)).status_code == 404
    assert client.post(_plan_url(t.tenant), data=_form(limit_seats="99")).status_code == 404
    assert effective.limit_for(t.tenant, "seats") == 5


def test_admin_lists_workspaces_with_plan_status_and_seats_and_searches(db, client, login, team, factories):
    a = team(name="Acme Sprays", plan="starter", limits={"seats": 4})
    team(name="Borealis Labs")
    login(_admin(db, factories))
    html = client.get("/admin/tenants").get_data(as_text=True)
    assert "Acme Sprays" in html and "Borealis Labs" in html
    assert "3 of 4" in html and "Starter" in html and "overrides" in html and "trialing" in html
    fragment = client.get("/admin/tenants?q=acme", headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in body
    assert "Acme Sprays" in body and "Borealis Labs" not in body
    assert "HX-Request" in fragment.headers["Vary"]
    assert f"/admin/tenants/{a.tenant.id}/plan" in body
    assert "No workspaces match" in client.get("/admin/tenants?q=zzz-nothing").get_data(as_text=True)


def test_admin_list_paginates(db, client, login, factories):
    for n in range(27):
        factories.TenantFactory(name=f"Paged {n:02d}")
    login(_admin(db, factories))
    first = client.get("/admin/tenants?q=paged").get_data(as_text=True)
    assert "27 workspaces" in first and "Page 1 of 2" in first and "Paged 24" in first and "Paged 25" not in first
    second = client.get("/admin/tenants?q=paged&page=2").get_data(as_text=True)
    assert "Paged 25" in second and "Paged 26" in second and "Paged 00" not in second


def test_admin_sets_a_limit_and_the_effective_limit_changes_with_an_audit_entry(
    db, client, login, team, rows, factories
):
    t = team()
    admin = _admin(db, factories)
    login(admin)
    page = client.get(_plan_url(t.tenant)).get_data(as_text=True)
    assert "Configurations per month" in page and "Professional plan: 50" in page  # exports per day
    response = client.post(
        _plan_url(t.tenant),
        data=_form(limit_exports_per_day="7", limit_api_calls_per_month="unlimited", feature_sso="on"),
    )
    assert response.status_code == 303
    db.session.expire_all()
    tenant = db.session.get(Tenant, t.tenant.id)
    assert tenant.limits == {"exports_per_day": 7, "api_calls_per_month": None}
    assert effective.limit_for(tenant, "exports_per_day") == 7
    assert effective.limit_for(tenant, "api_calls_per_month") is None
    assert effective.limit_for(tenant, "seats") == 5  # blank: the plan's limit
    [entry] = rows(t.tenant, AuditLog, AuditLog.action == "billing.plan_overridden")
    assert entry.actor_email == admin.email
    assert entry.details["before"]["limits"] == {}
    assert entry.details["after"] == {
        "plan": "professional",
        "limits": {"exports_per_day": 7, "api_calls_per_month": None},
        "features": {"sso": True},
    }
    again = client.get(_plan_url(t.tenant)).get_data(as_text=True)
    assert 'value="7"' in again and 'value="unlimited"' in again
    # Saving the same values again records nothing.
    client.post(
        _plan_url(t.tenant),
        data=_form(limit_exports_per_day="7", limit_api_calls_per_month="unlimited", feature_sso="on"),
    )
    assert len(rows(t.tenant, AuditLog, AuditLog.action == "billing.plan_overridden")) == 1


def test_feature_switched_off_by_the_admin_is_402_on_its_pages(db, client, login, team, factories, tenant_url):
    t = team()
    login(t.user)
    assert client.get(tenant_url(t.tenant, "fluids/sds/new")).status_code == 200
    login(_admin(db, factories))
    assert client.post(_plan_url(t.tenant), data=_form(feature_msds_parsing="off")).status_code == 303
    login(t.user)
    refused = client.get(tenant_url(t.tenant, "fluids/sds/new"))
    assert refused.status_code == 402
    assert "Safety-data-sheet parsing is not enabled" in refused.get_data(as_text=True)


def test_admin_changes_the_plan(db, client, login, team, factories):
    t = team(limits={"seats": 9})
    login(_admin(db, factories))
    assert client.post(_plan_url(t.tenant), data=_form(plan="starter")).status_code == 303
    db.session.expire_all()
    tenant = db.session.get(Tenant, t.tenant.id)
    assert tenant.plan == "starter" and tenant.limits == {}
    assert effective.limit_for(tenant, "configurations_per_month") == 50


def test_bad_override_values_keep_the_input_and_say_what_to_enter(db, client, login, team, rows, factories):
    t = team()
    login(_admin(db, factories))
    response = client.post(
        _plan_url(t.tenant),
        data=_form(plan="gold", limit_seats="lots", limit_exports_per_day="-2", feature_sso="maybe"),
        headers={"HX-Request": "true"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in html
    assert "Nothing was saved" in html
    assert 'value="lots"' in html and 'value="-2"' in html
    assert html.count("Enter a whole number from 0 to") == 2
    assert "Choose one of: Starter, Professional, Enterprise." in html
    assert "Choose plan default, on or off." in html
    db.session.expire_all()
    assert db.session.get(Tenant, t.tenant.id).limits == {}
    assert rows(t.tenant, AuditLog, AuditLog.action == "billing.plan_overridden") == []


def test_unknown_workspace_is_404_for_the_admin(db, client, login, factories):
    login(_admin(db, factories))
    assert client.get(f"/admin/tenants/{uuid.uuid4()}/plan").status_code == 404
    assert client.get("/admin/tenants/not-a-uuid/plan").status_code == 404
    deleted = factories.TenantFactory()
    from aerospec.models import utcnow

    deleted.deleted_at = utcnow()
    db.session.commit()
    assert client.get(_plan_url(deleted)).status_code == 404
    assert db.session.scalar(select(Tenant.id).where(Tenant.id == deleted.id)) is not None
