"""Every main page at 360 and 1440 px: no sideways scroll, a header on one line per row, a readable switcher.

One workspace with a long name (the switcher's worst case) and a second one, a saved configuration, a
draft order with its checkout, a subscription checkout, an invitation and its email give every page
its real content; each page is then loaded at both widths and measured in the browser. Screenshots
of each land in test-artifacts/e2e/layout-<page>-<width>.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.e2e.test_core_flow import _overflow
from tests.e2e.test_flows import _slug
from tests.e2e.test_procurement_flow import ADDRESS, _save_configuration

pytestmark = pytest.mark.e2e

WIDTHS = (360, 1440)
LONG_NAME = "Analytical Spray Systems International GmbH"

# Measured in the page: the rows of header items (by the vertical centre of each) and whether the
# tenant switcher's selected text fits its box (a <select> does not report clipping in scrollWidth,
# so the text is measured with the select's own font).
HEADER_ROWS = """(selector) => {
  const centres = [...document.querySelectorAll(selector)]
    .map((el) => el.getBoundingClientRect())
    .filter((r) => r.width && r.height)
    .map((r) => (r.top + r.bottom) / 2)
    .sort((a, b) => a - b);
  const rows = [];
  for (const c of centres) {
    if (!rows.length || c - rows[rows.length - 1] > 3) rows.push(c);
  }
  return rows.map(Math.round);
}"""
# Content wider than its own box (a cell, a card, a text block), even where the page itself does not
# scroll: a badge running out of its card, a link cut off inside a preformatted block.
SPILLS = """() => [...document.querySelectorAll('main td, main th, main dd, main pre, main .card, main .notice')]
  .filter((el) => el.getClientRects().length && el.scrollWidth > el.clientWidth + 1)
  .map((el) => `${el.tagName.toLowerCase()}${el.dataset.label ? ` "${el.dataset.label}"` : ''}`
    + ` ${el.scrollWidth - el.clientWidth}px: ${el.textContent.trim().replace(/\\s+/g, ' ').slice(0, 50)}`)"""
SWITCHER_FITS = """() => {
  const select = document.querySelector('#tenant-switch');
  const style = getComputedStyle(select);
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = style.font;
  const text = select.selectedOptions[0].text;
  const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  return {text, needed: Math.ceil(ctx.measureText(text).width), room: Math.floor(room)};
}"""


def _item(page, selector: str) -> str:
    href = page.locator(selector).first.get_attribute("href")
    assert href, f"no link {selector} on {page.url}"
    return href


def _build_workspace(page, live_app, email: str) -> dict[str, str]:
    """The data every page needs; returns {page name: path}."""
    from aerospec.accounts import services as accounts
    from aerospec.extensions import db
    from aerospec.tenancy import services as tenancy

    slug = _slug(page)
    with live_app.app_context():
        user = accounts.get_user_by_email(db.session, email)
        tenancy.create_tenant(db.session, name="Coster Contract Filling Ltd", billing_email=email, admin=user)
        db.session.commit()
        db.session.remove()
    t = f"/t/{slug}"

    page.goto(f"{t}/members")
    invite = page.get_by_role("region", name="Invite a teammate")
    invite.get_by_label("Email", exact=True).fill(f"teammate-{slug}@example.com")
    invite.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("table", name="Invitations")).to_contain_text(f"teammate-{slug}@example.com")

    detail = _save_configuration(page, slug, "Ethanol room spray")
    panel = page.get_by_role("region", name="Compare supplier quotes")
    panel.get_by_role("button", name="Compare quotes").click()
    order_link = panel.get_by_role("link", name=re.compile(r"^Order from ")).first
    expect(order_link).to_be_visible(timeout=15_000)
    order_link.click()
    page.wait_for_url(re.compile(rf"{t}/procurements/new\?"))
    new_order = page.url
    page.get_by_label("Sample", exact=True).check()
    for label, value in ADDRESS.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Save draft order").click()
    page.wait_for_url(re.compile(rf"{t}/procurements/[0-9a-f-]{{36}}$"))
    order = page.url
    page.get_by_role("region", name="Payment").get_by_role("button", name=re.compile(r"^Pay ")).click()
    page.wait_for_url(re.compile(r"/billing/offline/checkout/cs_offline_"))
    order_checkout = page.url

    page.goto(f"{t}/billing")
    page.get_by_role("button", name="Subscribe to Professional").click()
    page.wait_for_url(re.compile(r"/billing/offline/checkout/cs_offline_"))
    plan_checkout = page.url

    page.goto(f"{t}/fluids")
    fluid = _item(page, "table a[href*='/fluids/']")
    page.goto(f"{t}/actuators")
    actuator = _item(page, "a.sku")
    page.goto("/dev/outbox")
    invitation = page.get_by_role("row").filter(has_text=f"teammate-{slug}@example.com")
    email_page = invitation.get_by_role("link").first.get_attribute("href")
    return {
        "dashboard": f"{t}/",
        "fluids": f"{t}/fluids",
        "fluid": fluid,
        "fluid-new": f"{t}/fluids/new",
        "sds-upload": f"{t}/fluids/sds/new",
        "actuators": f"{t}/actuators",
        "actuator": actuator,
        "wizard": f"{t}/configurations/new",
        "configurations": f"{t}/configurations",
        "configuration": detail,
        "configuration-edit": f"{detail}/edit",
        "configuration-history": f"{detail}/history",
        "orders": f"{t}/procurements",
        "order-new": new_order,
        "order": order,
        "order-checkout": order_checkout,
        "billing": f"{t}/billing",
        "plan-checkout": plan_checkout,
        "invoices": f"{t}/billing/invoices",
        "members": f"{t}/members",
        "roles": f"{t}/roles",
        "settings": f"{t}/settings",
        "audit-log": f"{t}/audit",
        "security": "/account/security",
        "workspaces": "/workspaces",
        "outbox": "/dev/outbox",
        "email": email_page,
        "pricing": "/pricing",
        "landing": "/",
    }


def _check(page, name: str, width: int) -> list[str]:
    """What is wrong with the loaded page at this width (empty when it fits)."""
    problems = []
    if (extra := _overflow(page)) > 0:
        problems.append(f"{name} at {width}px: scrolls sideways by {extra}px")
    problems += [f"{name} at {width}px: {spill} spills out of its box" for spill in page.evaluate(SPILLS)]
    if width < 1440:
        return problems
    in_app = page.locator(".app-header").count() > 0
    rows = {  # the app header is two rows by design: the bar, then the tabs; the public one is one row
        "navigation": ".app-nav a" if in_app else ".site-header nav > *",
        "bar": ".app-bar > .brand, #tenant-switch, .app-user a, .app-user button" if in_app else ".site-header > *",
    }
    for what, selector in rows.items():
        centres = page.evaluate(HEADER_ROWS, selector)
        if len(centres) != 1:
            problems.append(f"{name} at {width}px: header {what} wraps onto {len(centres)} rows {sorted(centres)}")
    if in_app:
        fit = page.evaluate(SWITCHER_FITS)
        if fit["needed"] > fit["room"]:
            problems.append(
                f"{name} at {width}px: switcher shows {fit['room']} of {fit['needed']}px of {fit['text']!r}"
            )
    return problems


@pytest.fixture
def stale_prices(live_app) -> Iterator[None]:
    """The cheapest actuators (the catalog's first page) last synced 3 days ago: their rows carry the price flag."""
    from sqlalchemy import select

    from aerospec.catalog.models import Actuator
    from aerospec.extensions import db
    from aerospec.models import utcnow

    with live_app.app_context():
        rows = db.session.scalars(select(Actuator).order_by(Actuator.unit_price).limit(5)).all()
        before = {row.id: row.last_synced_at for row in rows}
        for row in rows:
            row.last_synced_at = utcnow() - timedelta(days=3)
        db.session.commit()
        db.session.remove()
    yield
    with live_app.app_context():
        for actuator_id, synced in before.items():
            db.session.get(Actuator, actuator_id).last_synced_at = synced
        db.session.commit()
        db.session.remove()


def test_every_main_page_fits_360_and_1440(
    new_page, sign_up, unique_email, live_app, sandbox, stale_prices, screenshot
):
    page = new_page()
    email = unique_email("layout")
    sign_up(page, email, name="Ada Lovelace-Byron", company=LONG_NAME)
    pages = _build_workspace(page, live_app, email)
    visitor = new_page()  # the public pages as someone not logged in sees them
    public = {"landing-public": "/", "pricing-public": "/pricing", "login": "/login", "signup": "/signup"}

    problems: list[str] = []
    for width in WIDTHS:
        for who, todo in ((page, pages), (visitor, public)):
            who.set_viewport_size({"width": width, "height": 900})
            for name, path in todo.items():
                who.goto(path)
                who.wait_for_load_state("load")
                if name == "email":  # the framed HTML version, loaded before it is measured and shot
                    expect(who.frame_locator("iframe.email-preview").locator("body")).to_contain_text("invited you")
                problems += _check(who, name, width)
                screenshot(who, f"layout-{name}-{width}")
    assert not problems, "layout problems:\n" + "\n".join(problems)
