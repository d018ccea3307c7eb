"""The API keys page (workspace settings → API keys): admins only; the key shown on one page view only; the
typed expiry checked as the API checks it; rotation with the chosen grace period; revocation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aerospec.api.models import ApiKey


def _form(**fields) -> dict:
    base = {"name": "Lab bridge", "scope_configurations": "read", "scope_procurements": "", "scope_feedback": "write"}
    base.update({"scope_keys": "", "expires_in_days": ""})
    return {**base, **fields}


def test_only_admins_reach_the_page(client, team, login, tenant_url):
    t = team()
    for member in (t.user, t.viewer):
        login(member)
        assert client.get(tenant_url(t.tenant, "settings/api-keys")).status_code == 403
        assert client.post(tenant_url(t.tenant, "settings/api-keys"), data=_form()).status_code == 403
    login(t.admin)
    page = client.get(tenant_url(t.tenant, "settings/api-keys"))
    assert page.status_code == 200 and "No API keys yet." in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"


def test_a_created_key_is_shown_on_one_page_view_only(client, team, login, tenant_url, rows):
    t = team()
    login(t.admin)
    made = client.post(tenant_url(t.tenant, "settings/api-keys"), data=_form())
    assert made.status_code == 303
    (key,) = rows(t.tenant, ApiKey)
    assert key.scopes == ["configurations:read", "feedback:write"] and key.expires_at is None
    hint = key.hint  # read now: on PostgreSQL the row is visible only in its workspace's scope
    first = client.get(made.headers["Location"]).get_data(as_text=True)
    assert "this is the only time it is shown" in first
    secret = first.split('id="new-key" class="key-secret" type="text" readonly value="')[1].split('"')[0]
    assert secret.startswith("sk_test_") and hint.endswith(secret[-4:])
    again = client.get(tenant_url(t.tenant, "settings/api-keys")).get_data(as_text=True)
    assert secret not in again and hint in again


@pytest.mark.parametrize(
    ("typed", "stored_days"),
    [("1", 1), ("1095", 1095), ("", None), (" 30 ", 30)],
)
def test_the_typed_expiry_is_stored_in_days(client, team, login, tenant_url, rows, typed, stored_days):
    t = team()
    login(t.admin)
    assert client.post(tenant_url(t.tenant, "settings/api-keys"), data=_form(expires_in_days=typed)).status_code == 303
    (key,) = rows(t.tenant, ApiKey)
    if stored_days is None:
        assert key.expires_at is None
    else:
        assert abs((key.expires_at - key.created_at) - timedelta(days=stored_days)) < timedelta(seconds=5)


@pytest.mark.parametrize("typed", ["0", "1096", "-3", "2.5", "abc", "1e400", "9" * 30])
def test_a_bad_expiry_is_refused_by_its_field_and_keeps_the_form(client, team, login, tenant_url, rows, typed):
    t = team()
    login(t.admin)
    page = client.post(tenant_url(t.tenant, "settings/api-keys"), data=_form(expires_in_days=typed))
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert (
        'id="expires_in_days-error"' in html and 'aria-describedby="expires_in_days-help expires_in_days-error"' in html
    )
    assert 'value="Lab bridge"' in html
    assert rows(t.tenant, ApiKey) == []


def test_rotating_on_the_page_shows_the_new_key_once_and_keeps_the_old_for_the_grace_chosen(
    client, team, login, tenant_url, rows
):
    t = team()
    login(t.admin)
    client.post(tenant_url(t.tenant, "settings/api-keys"), data=_form())
    (old,) = rows(t.tenant, ApiKey)
    rotated = client.post(tenant_url(t.tenant, f"settings/api-keys/{old.id}/rotate"), data={"grace_period_hours": "72"})
    assert rotated.status_code == 303
    html = client.get(rotated.headers["Location"]).get_data(as_text=True)
    assert "Replacement key for “Lab bridge”" in html and "keeps working until" in html
    old_row = next(k for k in rows(t.tenant, ApiKey) if k.id == old.id)
    assert old_row.replaced_by_id is not None
    assert abs(old_row.expires_at - old_row.updated_at - timedelta(hours=72)) < timedelta(seconds=5)
    # A grace period that is not one of the choices is refused and changes nothing.
    bad = client.post(
        tenant_url(t.tenant, f"settings/api-keys/{old_row.replaced_by_id}/rotate"), data={"grace_period_hours": "999"}
    )
    assert bad.status_code == 303
    assert len(rows(t.tenant, ApiKey)) == 2


def test_revoking_on_the_page_stops_the_key(client, team, login, tenant_url, rows):
    t = team()
    login(t.admin)
    client.post(tenant_url(t.tenant, "settings/api-keys"), data=_form())
    (key,) = rows(t.tenant, ApiKey)
    assert client.post(tenant_url(t.tenant, f"settings/api-keys/{key.id}/revoke")).status_code == 303
    (key,) = rows(t.tenant, ApiKey)
    assert key.revoked_at is not None


def test_another_workspaces_key_id_is_404_on_the_page(client, team, login, tenant_url, rows):
    a, b = team(), team()
    login(b.admin)
    client.post(tenant_url(b.tenant, "settings/api-keys"), data=_form())
    (key_b,) = rows(b.tenant, ApiKey)
    key_id = key_b.id
    login(a.admin)
    for action in ("rotate", "revoke"):
        assert client.post(tenant_url(a.tenant, f"settings/api-keys/{key_id}/{action}")).status_code == 404
    (key_b,) = rows(b.tenant, ApiKey)
    assert key_b.revoked_at is None and key_b.replaced_by_id is None
