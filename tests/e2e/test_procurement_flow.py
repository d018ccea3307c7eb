"""Issue 4's "Done when" in a real browser: from a saved configuration, compare Spencer's and Coster's
quotes, order samples, pay through the offline checkout (a decline first), follow the order to
delivered as the sandbox clock advances; then a platform admin sees the commission and runs a sync.

Runs on tests/e2e's live server, whose supplier clients talk to the session's supplier sandbox over
real HTTP, whose jobs run inline (paying submits the order, and the send job places it at once), and
whose order pages ask the supplier for news on every status poll (PROCUREMENT_PAGE_POLL_SECONDS=0).
The `sandbox` fixture resets the sandbox (orders, faults, clock) and the quote cache for this test.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD
from tests.e2e.test_core_flow import _fill_targets, _wait_for_param
from tests.e2e.test_flows import _log_in, _slug

pytestmark = pytest.mark.e2e

# The page polls every 5 s; after the clock moves, the next poll asks the supplier and shows the news.
POLL_WAIT_MS = 20_000
SUPPLIER_LATENCY_MS = 600  # long enough to see each card's progress indicator, well inside the 1.5 s timeout
PROFESSIONAL_RATE = Decimal("0.15")  # the trial runs on the professional plan
ADDRESS = {
    "Recipient name": "Rosa Receiving",
    "Address line 1": "12 Nozzle Way",
    "City": "Springfield",
    "Postal code": "62701",
    "Country (two-letter code, e.g. US)": "US",
}


def _money(text: str) -> Decimal:
    """'USD 1,234.50' → Decimal('1234.50')."""
    match = re.search(r"USD\s*([\d,]+\.\d{2})", text)
    assert match, f"no USD amount in {text!r}"
    return Decimal(match[1].replace(",", ""))


def _save_configuration(page, slug: str, name: str) -> str:
    """Ethanol at 5 bar, 60°, Dv50 40 µm, 50 ml/min through the wizard, saved; returns its page URL."""
    page.goto(f"/t/{slug}/configurations/new")
    page.get_by_label("Search fluids", exact=True).fill("ethanol")
    page.locator("#fluid-list").get_by_role("link", name="Ethanol", exact=True).click()
    page.wait_for_url(re.compile(r"step=targets"))
    _fill_targets(page, "5", "60", "40", "50")
    page.get_by_role("button", name="Rank actuators").click()
    _wait_for_param(page, "step", "results")
    expect(page.get_by_role("table", name="Ranked actuators")).to_be_visible()
    save = page.locator("#save-panel")
    save.get_by_label("Configuration name", exact=False).fill(name)
    save.get_by_role("button", name=re.compile(r"^Save with the top")).click()
    page.wait_for_url(re.compile(rf"/t/{slug}/configurations/[0-9a-f-]{{36}}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    return page.url


def _definition(region, term: str):
    """The <dd> after the <dt> whose text is exactly `term` inside `region`."""
    return region.locator("dt", has_text=re.compile(rf"^{re.escape(term)}$")).locator("xpath=following-sibling::dd[1]")


def _make_platform_admin(live_app, email: str, name: str) -> None:
    """A platform admin in the live server's database, through the accounts service that signs users up."""
    from aerospec.accounts import services as accounts
    from aerospec.extensions import db

    with live_app.app_context():
        user = accounts.create_user(db.session, email=email, password=PASSWORD, name=name)
        user.is_platform_admin = True
        db.session.commit()
        db.session.remove()


def test_user_orders_paid_samples_follows_them_to_delivered_and_admin_sees_commission_and_sync(
    new_page, sign_up, unique_email, screenshot, sandbox, sandbox_server, live_app
):
    page = new_page()
    email = unique_email("buyer")
    sign_up(page, email, name="Bea Buyer", company="Procurement Flow Sprays")
    slug = _slug(page)

    # 1. A saved configuration.
    _save_configuration(page, slug, "Ethanol sample run")

    # 2. Compare quotes on the configuration's page: each card shows progress, then its quote.
    sandbox.faults(spencer={"latency_ms": SUPPLIER_LATENCY_MS}, coster={"latency_ms": SUPPLIER_LATENCY_MS})
    panel = page.get_by_role("region", name="Compare supplier quotes")
    panel.get_by_role("button", name="Compare quotes").click()
    cards = {s: panel.get_by_role("article", name=s, exact=True) for s in ("Spencer", "Coster")}
    for supplier, card in cards.items():
        expect(card.get_by_text(f"Asking {supplier}…")).to_be_visible()
    for supplier, card in cards.items():
        total = _definition(card, "Total")
        expect(total).to_have_text(re.compile(r"^USD [\d,]+\.\d{2}$"), timeout=POLL_WAIT_MS)
        expect(card.get_by_text(f"Asking {supplier}…")).to_have_count(0)
        expect(card.get_by_role("table", name=f"{supplier}: quoted lines")).to_be_visible()
        expect(card.get_by_role("link", name=f"Order from {supplier}")).to_be_visible()
    sandbox.admin("DELETE", "/_faults")
    # Once both are in, the summary names the best total and the fastest delivery, and badges mark the cards.
    summary = panel.locator("#quote-summary")
    expect(summary).to_contain_text("Best total:")
    expect(summary).to_contain_text("Fastest delivery:")
    expect(panel.get_by_text("Best total", exact=True)).to_have_count(1)
    expect(panel.get_by_text("Fastest delivery", exact=True)).to_have_count(1)
    totals = {s: _money(_definition(card, "Total").inner_text()) for s, card in cards.items()}
    best = min(totals, key=totals.get)
    if totals["Spencer"] != totals["Coster"]:
        expect(cards[best].get_by_text("Best total", exact=True)).to_be_visible()
    expect(summary).to_contain_text(f"{best} at USD {totals[best]:,.2f}")
    screenshot(page, "procurement-compare")

    # 3. Order samples from the cheaper supplier: the form is prefilled from its card.
    cards[best].get_by_role("link", name=f"Order from {best}").click()
    page.wait_for_url(re.compile(rf"/t/{slug}/procurements/new\?"))
    expect(page.get_by_role("heading", name="New order")).to_be_visible()
    expect(page.get_by_label(best, exact=True)).to_be_checked()
    page.get_by_label("Sample", exact=True).check()
    for label, value in ADDRESS.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Save draft order").click()
    page.wait_for_url(re.compile(rf"/t/{slug}/procurements/[0-9a-f-]{{36}}$"))
    order_url = page.url
    reference = page.get_by_role("heading", level=1).inner_text().removeprefix("Order ").strip()
    expect(page.get_by_text(f"Draft order {reference} saved.")).to_be_visible()
    status = page.get_by_role("region", name="Status")
    expect(status.locator(".badge-order")).to_have_text("Draft")
    payment = page.get_by_role("region", name="Payment")
    expect(payment).to_contain_text("Sample orders are paid by card before they go to the supplier")
    total = _money(_definition(page.get_by_role("region", name="Totals"), "Total").inner_text())
    amount = f"USD {total:,.2f}"
    expect(payment.get_by_role("button", name=f"Pay {amount}")).to_be_visible()

    # 4. The offline checkout: a declined card first, then a successful payment.
    payment.get_by_role("button", name=f"Pay {amount}").click()
    page.wait_for_url(re.compile(r"/billing/offline/checkout/cs_offline_"))
    expect(page.get_by_role("heading", name="Checkout")).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text(reference)
    page.get_by_role("button", name="Decline (test card fails)").click()
    page.wait_for_url(re.compile(r"declined=1"))
    expect(page.get_by_role("alert")).to_contain_text("Your card was declined.")
    page.get_by_role("button", name=f"Pay {amount} (test card succeeds)").click()
    page.wait_for_url(re.compile(rf"{re.escape(order_url)}\?payment=returned$"))
    payment = page.get_by_role("region", name="Payment")
    expect(payment.locator(".badge")).to_have_text("Paid")
    expect(payment).to_contain_text(f"{amount} paid")
    # Paying submitted the draft and the send job placed it with the supplier.
    status = page.get_by_role("region", name="Status")
    expect(status.locator(".badge-order")).to_have_text(re.compile(r"^(Submitted|Confirmed by supplier)$"))
    supplier_order_id = _definition(status, "Supplier order")
    expect(supplier_order_id).to_have_text(re.compile(r"^(SO-\d+|CV-ORD-\d+)$"))
    expect(_definition(status, "Tracking number")).to_have_text("not yet")
    remote = sandbox_server.state.orders[best.lower()][supplier_order_id.inner_text()]

    # 5. Advance the sandbox clock; the page's own polling (no reload) shows Shipped, then Delivered.
    status_path = urlparse(order_url).path + "/status"
    status_polls: list[str] = []
    page.on("request", lambda r: r.url.split("?")[0].endswith(status_path) and status_polls.append(r.url))
    page.evaluate("() => { window.__e2eNoReload = true; }")
    now = datetime.fromisoformat(sandbox.admin("GET", "/_clock")["now"])
    sandbox.advance((remote.ship_at - now).total_seconds() + 3600)
    status = page.get_by_role("region", name="Status")
    expect(status.locator(".badge-order")).to_have_text("Shipped", timeout=POLL_WAIT_MS)
    expect(_definition(status, "Tracking number")).to_have_text(remote.tracking_number)
    expect(status).to_contain_text("This page updates by itself")
    now = datetime.fromisoformat(sandbox.admin("GET", "/_clock")["now"])
    sandbox.advance((remote.deliver_at - now).total_seconds() + 3600)
    expect(status.locator(".badge-order")).to_have_text("Delivered", timeout=POLL_WAIT_MS)
    expect(status.locator(".order-status-line")).to_contain_text("Delivered")
    expect(status).not_to_contain_text("This page updates by itself")
    expect(page.locator("#order-status-announce")).to_have_text(f"Order {reference}: Delivered.")
    assert page.evaluate("window.__e2eNoReload === true"), "the page reloaded instead of polling"
    assert status_polls, "the order page never polled its status"
    # Settled: the 286 answer stopped the polling, so no status request follows (the poll interval is 5 s).
    polls_at_delivery = len(status_polls)
    page.wait_for_timeout(6_500)
    assert len(status_polls) == polls_at_delivery, f"still polling after delivery: {status_polls[polls_at_delivery:]}"

    # 6. The timeline lists every step, newest first.
    order_id = re.escape(remote.order_id)
    expect(page.get_by_role("list", name="Timeline").locator(".timeline-message")).to_have_text(
        [
            "Delivered.",
            f"Shipped; tracking number {remote.tracking_number}.",
            re.compile(rf"^{best} confirmed order {order_id}; expected delivery \d\d [A-Z][a-z]{{2}} \d{{4}}\.$"),
            f"{best} accepted the order as {remote.order_id}.",
            "Paid; sending to the supplier.",
            f"Paid {amount}.",
            "Payment failed: Your card was declined.",
            f"Checkout opened for {amount}.",
            "Order created as a draft.",
        ]
    )
    screenshot(page, "procurement-order-delivered")

    page.goto("/dev/outbox")
    expect(page.get_by_role("heading", name="Development outbox")).to_be_visible()
    mine = page.get_by_role("row").filter(has_text=email)
    for label in ("Payment failed", "Paid", "Submitted", "Confirmed by supplier", "Shipped", "Delivered"):
        expect(mine.filter(has_text=f"Order {reference}: {label}").first).to_be_visible()

    # 7. A platform admin (another browser context) sees the commission and runs a supplier sync.
    admin_email = unique_email("platform")
    _make_platform_admin(live_app, admin_email, "Pia Platform")
    admin = new_page()
    admin.goto("/login")
    _log_in(admin, admin_email, PASSWORD)
    admin.wait_for_url(lambda url: "/login" not in url)
    admin.goto("/admin/procurement/commissions")
    expect(admin.get_by_role("heading", name="Commissions and revenue")).to_be_visible()
    commission = (total * PROFESSIONAL_RATE).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    row = admin.get_by_role("row").filter(has_text=reference)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Procurement Flow Sprays")
    expect(row).to_contain_text("Professional")
    expect(row).to_contain_text("15 %")
    expect(row.locator("td[data-label='Order total']")).to_have_text(f"{total:,.2f} USD")
    expect(row.locator("td[data-label='Commission']")).to_have_text(f"{commission:,.2f} USD")
    screenshot(admin, "procurement-admin-commissions")

    admin.get_by_role("navigation", name="Platform admin").get_by_role("link", name="Supplier sync").click()
    admin.wait_for_url("**/admin/procurement/sync")
    expect(admin.get_by_role("heading", name="Supplier catalog sync")).to_be_visible()
    runs_before = admin.locator("#sync-runs tbody tr").count()
    admin.get_by_role("button", name="Sync now").click()
    admin.wait_for_url("**/admin/procurement/sync")
    expect(admin.get_by_text("Sync started")).to_be_visible()
    runs = admin.locator("#sync-runs tbody tr")
    expect(runs).to_have_count(runs_before + 1, timeout=POLL_WAIT_MS)
    latest = runs.first
    expect(latest.locator("td[data-label='Status'] .badge")).to_have_text("OK", timeout=POLL_WAIT_MS)
    expect(latest.locator("td[data-label='Status']")).to_contain_text(re.compile(r"[\d,]+ of [\d,]+ SKUs updated in"))
    expect(latest.locator("td[data-label='Trigger']")).to_have_text("Sync now")
    for supplier in ("Spencer", "Coster"):
        expect(latest.locator("td[data-label='Per supplier'] li").filter(has_text=supplier)).to_contain_text("updated")
    screenshot(admin, "procurement-admin-sync")
