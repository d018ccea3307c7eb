"""The workspace setting "share our lab results to improve the shared model": on by default, explained on the
settings page, tied to its explanation for screen readers, switched off and on by an admin, audited."""

from __future__ import annotations

import re

from sqlalchemy import select

from aerospec.compliance.models import AuditLog
from aerospec.tenancy.scoping import tenant_scope


def test_sharing_is_on_by_default_and_explained(client, login, team, tenant_url):
    ns = team()
    assert ns.tenant.share_lab_results is True
    login(ns.admin)
    html = client.get(tenant_url(ns.tenant, "settings")).get_data(as_text=True)
    box = re.search(r'<input[^>]*name="share_lab_results"[^>]*>', html).group(0)
    assert "checked" in box and 'aria-describedby="share-lab-results-help"' in box
    assert '<label for="share_lab_results">Share our lab results to improve the shared model</label>' in html
    help_text = html[html.index('id="share-lab-results-help"') :]
    assert "the shared model never reads them" in help_text
    assert "your own results improve your own predictions" in help_text


def test_admin_turns_sharing_off_and_on_audited(client, login, team, tenant_url, db):
    ns = team()
    login(ns.admin)
    base = {"name": ns.tenant.name, "billing_email": ns.tenant.billing_email}
    assert client.post(tenant_url(ns.tenant, "settings"), data=base).status_code == 303  # unticked
    db.session.refresh(ns.tenant)
    assert ns.tenant.share_lab_results is False
    box = re.search(
        r'<input[^>]*name="share_lab_results"[^>]*>', client.get(tenant_url(ns.tenant, "settings")).get_data(True)
    ).group(0)
    assert "checked" not in box
    data = base | {"share_lab_results": "y"}
    assert client.post(tenant_url(ns.tenant, "settings"), data=data).status_code == 303
    db.session.refresh(ns.tenant)
    assert ns.tenant.share_lab_results is True
    with tenant_scope(db.session, ns.tenant.id):
        entries = db.session.scalars(
            select(AuditLog).where(AuditLog.action == "tenant.settings_changed").order_by(AuditLog.created_at)
        )
        changes = [e.details.get("share_lab_results") for e in entries]
    assert [c for c in changes if c] == [[True, False], [False, True]]


def test_a_user_cannot_change_it(client, login, team, tenant_url, db):
    ns = team()
    login(ns.user)
    base = {"name": ns.tenant.name, "billing_email": ns.tenant.billing_email}
    assert client.post(tenant_url(ns.tenant, "settings"), data=base).status_code in (403, 404)
    db.session.refresh(ns.tenant)
    assert ns.tenant.share_lab_results is True
