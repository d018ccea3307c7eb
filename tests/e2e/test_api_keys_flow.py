"""In chromium: an admin creates a scoped API key on the workspace settings page, sees it once, and it is used
over real HTTP against the live server in the header and the query forms (rate-limit headers on every answer,
403 outside its scopes); after a mistake the form keeps what was typed; revoking (confirmed) stops the key."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def _api(live_server: str, path: str, raw: str | None = None, *, query: bool = False, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {raw}"} if raw and not query else {}
    params = {"api_key": raw} if raw and query else None
    return httpx.request(kwargs.pop("method", "GET"), live_server + path, headers=headers, params=params, **kwargs)


def test_admin_creates_a_scoped_key_uses_it_over_http_then_revokes_it(
    new_page, sign_up, unique_email, live_server, screenshot, console_errors
):
    console_errors.allow(r"status of 422")  # the form sent back with its message, on purpose
    page = sign_up(new_page(), unique_email("keys"), name="Kim Keys")
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Manage API keys").click()
    expect(page.get_by_role("heading", level=1, name="API keys")).to_be_visible()
    expect(page.get_by_text("No API keys yet.")).to_be_visible()

    # A mistake first: no scope chosen. The message sits by the field, the name typed stays.
    page.get_by_label("Name", exact=True).fill("ERP sync")
    page.get_by_role("button", name="Create key").click()
    scope = page.get_by_label("Configurations", exact=True)
    expect(scope).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#scope_configurations-error")).to_contain_text("Choose at least one scope")
    expect(page.get_by_label("Name", exact=True)).to_have_value("ERP sync")

    # Retry with a read-only scope and an expiry.
    scope.select_option("read")
    page.get_by_label("Expires after (days)", exact=True).fill("30")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_role("heading", name="Your new key “ERP sync”")).to_be_visible()
    expect(page.get_by_text("this is the only time it is shown")).to_be_visible()
    raw = page.get_by_label("API key", exact=True).input_value()
    assert re.fullmatch(r"sk_test_[0-9a-f]{80}", raw), raw
    row = page.get_by_role("row").filter(has_text="ERP sync")
    expect(row).to_contain_text("configurations:read")
    expect(row).to_contain_text(f"sk_test_…{raw[-4:]}")
    expect(row.get_by_text("never", exact=True).last).to_be_visible()
    screenshot(page, "api-keys-created")

    # Over real HTTP: the header form, then the query form with its warning; headers on every answer.
    by_header = _api(live_server, "/api/configurations", raw)
    assert by_header.status_code == 200, by_header.text
    by_query = _api(live_server, "/api/configurations", raw, query=True)
    assert by_query.status_code == 200 and by_query.headers["Warning"].startswith("299 ")
    outside = _api(live_server, "/api/configurations", raw, method="POST", json={"name": "Nope"})
    assert outside.status_code == 403 and "configurations:write" in outside.json()["detail"]
    for answer in (by_header, by_query, outside):
        assert int(answer.headers["X-RateLimit-Limit"]) >= int(answer.headers["X-RateLimit-Remaining"]) >= 0
        assert answer.headers["X-RateLimit-Reset"].isdigit()
    assert int(by_query.headers["X-RateLimit-Remaining"]) < int(by_header.headers["X-RateLimit-Remaining"])

    # Back on the page: the key is not shown again; its last use is.
    page.reload()
    expect(page.get_by_label("API key", exact=True)).to_have_count(0)
    assert raw not in page.content()
    row = page.get_by_role("row").filter(has_text="ERP sync")
    expect(row).to_contain_text("from 127.0.0.1")

    # Revoke: dismissing the confirmation changes nothing; accepting it stops the key.
    page.once("dialog", lambda dialog: dialog.dismiss())
    row.get_by_role("button", name="Revoke “ERP sync”").click()
    expect(row).to_contain_text("Active")
    assert _api(live_server, "/api/configurations", raw).status_code == 200
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revoke “ERP sync”").click()
    expect(page.get_by_text("was revoked: requests with it are refused from now on")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="ERP sync")).to_contain_text("Revoked")
    refused = _api(live_server, "/api/configurations", raw)
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    assert "X-RateLimit-Limit" in refused.headers
    screenshot(page, "api-keys-revoked")
    page.set_viewport_size({"width": 360, "height": 800})
    screenshot(page, "api-keys-narrow")
