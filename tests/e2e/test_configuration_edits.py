"""Issue 9, items 10, 14 and 15 in a real browser: editing a saved configuration's targets ranks it
again (the scores the engine gives for the new targets), the history shows exactly the changed
fields, the share form offers a viewer only view access, and the audit log names people and objects.

Screenshots at 1440 and 360 px of the configuration detail, its history, the audit log and the roles page.
"""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, PASSWORD
from tests.e2e.test_core_flow import _fill_targets, _first_sku, _htmx_idle, _overflow, _wait_for_param
from tests.e2e.test_flows import _slug

pytestmark = pytest.mark.e2e

WIDTHS = {"desktop": 1440, "narrow": 360}


def _shots(page, screenshot, name: str, part: str | None = None) -> list[str]:
    """Screenshot the current URL at 1440 and 360 px (and the `part` selector alone, to read it);
    returns the widths at which the page scrolls sideways."""
    too_wide = []
    for suffix, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.reload()
        page.wait_for_load_state("load")
        if (extra := _overflow(page)) > 1:
            culprits = page.evaluate(
                "() => [...document.querySelectorAll('body *')].filter(e => !e.closest('thead')"
                " && e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)"
                ".slice(0, 8).map(e => e.tagName + '.' + e.className"
                " + ' ' + (e.textContent || '').trim().slice(0, 40))"
            )
            too_wide.append(f"{name} at {width}px: {extra}px wider than the window: {culprits}")
        screenshot(page, f"configs-{name}-{suffix}")
        if part:
            for n, selector in enumerate(part.split(",")):
                path = ARTIFACTS / f"configs-{name}-{suffix}-part{n}.png"
                page.locator(selector.strip()).first.screenshot(path=str(path))
    page.set_viewport_size({"width": 1280, "height": 900})
    return too_wide


def _add_member(live_app, slug: str, role: str, name: str) -> str:
    """A member with `role` added straight to the workspace (the invitation flow has its own tests)."""
    from sqlalchemy import select

    from aerospec.accounts.models import User
    from aerospec.accounts.services import hash_password
    from aerospec.extensions import db
    from aerospec.tenancy.models import Membership, Tenant
    from aerospec.tenancy.scoping import tenant_scope

    email = f"{role}-{secrets.token_hex(4)}@example.com"
    with live_app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        user = User(email=email, name=name, password_hash=hash_password(PASSWORD))
        db.session.add(user)
        db.session.flush()
        with tenant_scope(db.session, tenant.id):
            db.session.add(Membership(tenant_id=tenant.id, user_id=user.id, role=role))
            db.session.commit()
        db.session.remove()
    return email


def _engine_ranking(live_app, slug: str, config_id: str, **changes) -> list[tuple[str, str]]:
    """(SKU, "Score x.xx") of the configuration's top actuators as the engine ranks its values with `changes`."""
    import uuid

    from sqlalchemy import select

    from aerospec.configurations import services as configs
    from aerospec.configurations.models import Configuration
    from aerospec.extensions import db
    from aerospec.tenancy.models import Tenant
    from aerospec.tenancy.scoping import tenant_scope
    from tests.configurations.test_ranking_on_save import engine_top

    with live_app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        with tenant_scope(db.session, tenant.id):
            config = db.session.get(Configuration, uuid.UUID(config_id))
            ranked = engine_top(db, {**configs.snapshot(config), **changes})
        db.session.remove()
    return [(sku, f"Score {score:.2f}") for sku, score in ranked]


def _shown_ranking(page) -> list[tuple[str, str]]:
    rows = page.get_by_role("table", name="Ranked actuators").locator("tbody tr")
    return [
        (row.locator("td").nth(1).locator("strong").inner_text(), row.locator(".score").inner_text())
        for row in rows.all()
    ]


def test_editing_dv50_and_pressure_ranks_again_and_history_shows_only_those_changes(
    new_page, sign_up, unique_email, live_app, screenshot, console_errors
):
    page = new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    admin_email = unique_email("rerank")
    sign_up(page, admin_email, name="Rita Rank", company="Rerank Sprays")
    slug = _slug(page)
    _add_member(live_app, slug, "viewer", "Vera Viewer")

    # The wizard: Water, 6 bar, Dv50 30 µm; save the ranking it shows.
    page.goto(f"/t/{slug}/configurations/new")
    page.get_by_label("Search fluids", exact=True).fill("water")
    page.locator("#fluid-list").get_by_role("link", name="Water", exact=True).click()
    page.wait_for_url(re.compile(r"step=targets"))
    _fill_targets(page, "6", "", "30", "")
    page.get_by_role("button", name="Rank actuators").click()
    _wait_for_param(page, "dv50_um", "30")
    _htmx_idle(page)
    wizard_first = _first_sku(page)
    wizard_scores = _shown_ranking(page)[:10]
    expect(page.locator("#score-help")).to_contain_text("lower is better")
    page.locator("#save-panel").get_by_label("Configuration name", exact=False).fill("Room mist")
    page.locator("#save-panel").get_by_role("button", name=re.compile(r"^Save with the top")).click()
    page.wait_for_url(re.compile(rf"/t/{slug}/configurations/[0-9a-f-]{{36}}$"))
    detail_url = page.url
    config_id = detail_url.rsplit("/", 1)[1]

    # The saved table is the wizard's: same actuators, scores, verdicts and bands, and "Score" explained.
    before = _shown_ranking(page)
    assert before == wizard_scores and before[0][0] == wizard_first
    assert before == _engine_ranking(live_app, slug, config_id)
    saved = page.get_by_role("table", name="Ranked actuators")
    expect(saved.locator(".verdict").first).to_have_text(re.compile(r"within tolerance|µm off"))
    expect(saved.locator(".band").first).to_have_text(re.compile(r"^(90 % )?range .+–.+$"))
    expect(page.locator("#score-help")).to_contain_text("in tolerances")
    expect(page.locator(".ranking-note")).to_contain_text("Ranked by the engine for the fluid and targets above")

    # Edit Dv50 30 → 40 µm and 6 → 5 bar.
    page.get_by_role("link", name="Edit", exact=True).click()
    page.wait_for_url("**/edit")
    page.get_by_label("Dv50 (µm)", exact=True).fill("40")
    page.get_by_label("Pressure", exact=True).fill("5")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(detail_url)
    expect(page.get_by_text("Saved as version 2. The actuators were ranked again")).to_be_visible()
    targets = page.get_by_role("table", name="Targets")
    expect(targets).to_contain_text("40 µm")
    expect(targets).to_contain_text("5 bar")
    after = _shown_ranking(page)
    expected = _engine_ranking(live_app, slug, config_id)  # now the stored values are 40 µm and 5 bar
    assert after == expected
    assert after == _engine_ranking(live_app, slug, config_id, target_droplet_size_um=40.0, max_pressure_bar=5.0)
    assert after != before, "the ranking did not change with the targets"
    expect(page.locator(".ranking-note")).to_contain_text("saved with version 2")
    too_wide = _shots(page, screenshot, "detail", part=".detail-grid, #saved-ranking")

    # History: exactly the two changed fields and the default ±10 % that followed the Dv50, the ranking
    # change apart, version 1's own values.
    page.get_by_role("link", name=re.compile(r"^History")).click()
    page.wait_for_url("**/history")
    changes = page.get_by_role("table", name="Changes in version 2")
    rows = changes.locator("tbody tr")
    expect(rows.locator("th")).to_have_text(["Dv50 (µm)", "Dv50 tolerance (µm)", "Pressure (bar)"])
    expect(rows.locator("del")).to_have_text(["30", "3", "6"])
    expect(rows.locator("ins")).to_have_text(["40", "4", "5"])
    reranked = page.locator("#version-2 .ranking-change")
    expect(reranked.get_by_role("heading")).to_have_text("Ranked again for these values")
    expect(reranked.locator("del li").first).to_contain_text(before[0][0])
    expect(reranked.locator("ins li").first).to_contain_text(after[0][0])
    v1 = page.get_by_role("table", name="Values of version 1")
    expect(v1.get_by_role("row").filter(has_text="Dv50 (µm)").locator("td")).to_have_text("30")
    expect(v1.get_by_role("row").filter(has_text="Pressure (bar)").locator("td")).to_have_text("6")
    expect(v1.get_by_role("row").filter(has_text="Vapour pressure (kPa)")).to_have_count(1)
    too_wide += _shots(page, screenshot, "history")

    # Sharing: choosing the viewer leaves only "Can view" (htmx swaps the access field).
    page.goto(detail_url)
    share = page.get_by_role("region", name="Sharing")
    share.get_by_label("Team member", exact=True).select_option(label="Vera Viewer (viewer)")
    expect(share.locator("#share-access")).to_contain_text("Vera Viewer is a viewer")
    expect(share.get_by_label("Access", exact=True).locator("option")).to_have_text(["Can view"])
    share.get_by_role("button", name="Share", exact=True).click()
    expect(share.get_by_role("listitem").filter(has_text="Vera Viewer")).to_contain_text("can view")

    # The audit log names the person and the configuration, with the field-level change.
    page.goto(f"/t/{slug}/audit")
    log = page.get_by_role("table", name="Audit log entries")
    edited = log.locator("tbody tr").filter(has_text="Configuration edited")
    expect(edited).to_have_count(1)
    expect(edited).to_contain_text(f"Rita Rank <{admin_email}>")
    expect(edited.get_by_role("link", name="Room mist")).to_have_attribute("href", re.compile(config_id))
    expect(edited).to_contain_text("Dv50 (µm): 30 → 40")
    expect(edited).to_contain_text("Pressure (bar): 6 → 5")
    shared = log.locator("tbody tr").filter(has_text="Configuration shared")
    expect(shared).to_contain_text("Vera Viewer <viewer-")
    assert config_id not in log.inner_text()
    too_wide += _shots(page, screenshot, "audit-log")
    for width in (1440, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        fits = page.evaluate("() => { const t = document.querySelector('.audit-table');"
                             " return t.scrollWidth <= t.parentElement.clientWidth; }")  # fmt: skip
        assert fits, f"the audit table is wider than its column at {width} px"

    page.goto(f"/t/{slug}/roles")
    expect(page.get_by_role("table", name="Permissions by role")).to_contain_text("Archive, restore and share")
    too_wide += _shots(page, screenshot, "roles")
    assert not too_wide, "pages scroll sideways:\n" + "\n".join(too_wide)
