"""Procurement pages: the compare panel and its per-supplier cards, the new-order form, list, detail,
actions with confirmation, status polling, permissions and tenancy; suppliers are the sandbox over HTTP."""

from __future__ import annotations

import html as html_lib
import re
from types import SimpleNamespace

import pytest
from flask import current_app
from itsdangerous import URLSafeSerializer
from sqlalchemy import select

from aerospec.configurations import services as configs
from aerospec.limits import counters
from aerospec.procurement import services, views
from aerospec.procurement.clients import QuoteItem
from aerospec.procurement.models import Procurement, ProcurementEvent
from aerospec.procurement.quotes import default_cache, items_key
from aerospec.procurement.suppliers import supplier_clients
from aerospec.sandbox import pricing
from aerospec.tenancy.models import Membership
from aerospec.tenancy.scoping import tenant_scope

HX = {"HX-Request": "true"}
SHIP_TO = {"name": "Ada Lovelace", "line1": "1 Main St", "city": "Boston", "postal_code": "02110", "country": "US"}


def in_stock(supplier: str, n: int = 0) -> str:
    """The n-th catalog SKU this supplier has at least 100 of."""
    return [s for s in pricing.catalog_skus(supplier) if pricing.offer(supplier, s).stock >= 100][n]


SPENCER, SPENCER_2, COSTER = in_stock("spencer"), in_stock("spencer", 1), in_stock("coster")


@pytest.fixture(autouse=True)
def catalog(db, sandbox):
    """The sample actuator catalog (what the sandbox prices), a fresh sandbox and an empty quote cache."""
    from aerospec.catalog import services as catalog_services

    catalog_services.seed_actuators(db.session)
    db.session.commit()
    return sandbox


@pytest.fixture
def config(db, team):
    """A team and a configuration whose ranked actuators are two Spencer parts then a Coster part."""
    t = team()
    with tenant_scope(db.session, t.tenant.id):
        membership = db.session.scalar(
            select(Membership).where(Membership.tenant_id == t.tenant.id, Membership.user_id == t.user.id)
        )
        row, _ = configs.create_configuration(
            db.session,
            t.tenant,
            membership,
            {
                "name": "Nasal pump",
                "fluid_name": "Water",
                "fluid_viscosity_cP": 1.0,
                "fluid_density_kg_m3": 997.0,
                "fluid_surface_tension_mN_m": 72.0,
                "target_spray_cone_deg": 60.0,
                "target_droplet_size_um": 50.0,
                "max_pressure_bar": 5.0,
                "compatible_actuators": [
                    {"sku": SPENCER, "supplier": "spencer"},
                    {"sku": SPENCER_2, "supplier": "spencer"},
                    {"sku": COSTER, "supplier": "coster"},
                ],
            },
            counter=counters.DatabaseCounter(),
        )
        db.session.commit()
        db.session.refresh(row)
    t.config = SimpleNamespace(id=row.id, name=row.name)  # plain values: rows expire after each request
    return t


@pytest.fixture
def make_order(app, db):
    """make_order(team, supplier=, order_type=, submit=) → a committed order made by team.user."""

    def _make(t, *, supplier="spencer", order_type="pilot", qty=5, submit=False):
        with tenant_scope(db.session, t.tenant.id):
            order = services.create_procurement(
                db.session,
                t.tenant,
                t.user,
                {
                    "order_type": order_type,
                    "items": [{"sku": in_stock(supplier), "qty": qty}],
                    "selected_supplier": supplier,
                    "ship_to_address": SHIP_TO,
                },
                clients=supplier_clients(app),
                quote_timeout=5.0,
            )
            db.session.commit()
            if submit:
                services.submit(db.session, t.tenant, t.user, order)
                db.session.commit()
            return SimpleNamespace(id=order.id, reference=order.reference, tenant_id=order.tenant_id)

    return _make


def status_of(db, order) -> str:
    with tenant_scope(db.session, order.tenant_id):
        return db.session.scalar(select(Procurement.status).where(Procurement.id == order.id))


def quote_url(tenant_url, t, part: str | None = None, **query) -> str:
    """The compare fragment, a supplier's card (part="spencer") or the summary (part="summary")."""
    if part in ("spencer", "coster"):
        part, query = "card", {"supplier": part, **query}
    path = f"configurations/{t.config.id}/quotes" + (f"/{part}" if part else "")
    qs = "&".join(f"{k}={v}" for k, values in query.items() for v in (values if isinstance(values, list) else [values]))
    return tenant_url(t.tenant, path) + (f"?{qs}" if qs else "")


def token_of(card_html: str) -> str:
    """The signed answer a quote card carries for the summary."""
    return html_lib.unescape(re.search(r'name="answer" value="([^"]+)"', card_html).group(1))


def answer_of(card_html: str, supplier: str) -> dict:
    """A card's answer, checked with the app's key: what the summary will compare."""
    data = URLSafeSerializer(current_app.secret_key, salt=views.ANSWER_SALT).loads(token_of(card_html))
    assert data["supplier"] == supplier
    return data


def money(amount) -> str:
    return f"USD {amount:,.2f}"


# ---- the compare panel


def test_configuration_page_has_the_compare_panel_with_each_suppliers_best_actuator_ticked(
    client, login, config, tenant_url
):
    t = config
    login(t.user)
    html = client.get(tenant_url(t.tenant, f"configurations/{t.config.id}")).get_data(as_text=True)
    assert "Compare supplier quotes" in html and 'name="qty"' in html and 'value="100"' in html
    checked = re.findall(r'name="sku" value="([^"]+)" checked', html)
    assert checked == [SPENCER, COSTER]  # the second Spencer part is offered but not ticked
    assert f'value="{SPENCER_2}"' in html
    assert "Order samples" in html


def test_compare_shows_a_loading_card_per_supplier_each_fetching_its_own_quote(client, login, config, tenant_url):
    t = config
    login(t.user)
    response = client.get(quote_url(tenant_url, t, qty=100, sku=["", SPENCER, COSTER]), headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    for supplier, label in (("spencer", "Spencer"), ("coster", "Coster")):
        card = re.search(rf'<article[^>]*id="quote-card-{supplier}"[^>]*>', html).group(0)
        assert 'aria-busy="true"' in card and 'hx-trigger="load"' in card
        # Each card carries the whole comparison; the card view asks only its own supplier.
        assert f"/quotes/card?supplier={supplier}&amp;qty=100&amp;sku={SPENCER}&amp;sku={COSTER}" in card
        assert f"Asking {label}…" in html
    assert 'aria-live="polite"' in html and 'hx-trigger="quote-loaded from:body"' in html


def test_compare_without_actuators_says_to_choose_one(client, login, config, tenant_url):
    t = config
    login(t.user)
    response = client.get(quote_url(tenant_url, t, qty=100, sku=""), headers=HX)
    assert response.status_code == 422 and "Choose at least one actuator" in response.get_data(as_text=True)
    assert (
        client.get(quote_url(tenant_url, t, "card", supplier="acme", qty=1, sku=SPENCER), headers=HX).status_code == 400
    )


def test_a_suppliers_card_shows_its_quote_lines_totals_and_an_order_link(client, login, config, tenant_url):
    t = config
    login(t.user)
    response = client.get(quote_url(tenant_url, t, "spencer", qty=100, sku=[SPENCER, COSTER]), headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["HX-Trigger-After-Settle"] == "quote-loaded"
    quote = default_cache.get("spencer", items_key([QuoteItem(SPENCER, 100)]))
    assert quote is not None  # the card's quote, kept briefly for the summary
    lines = re.search(r"<table.*?</table>", html, re.S).group(0)
    assert SPENCER in lines and COSTER not in lines  # only Spencer's own parts
    assert money(quote.total) in html and money(quote.subtotal) in html and money(quote.shipping) in html
    assert f"{quote.lead_time_days} days" in html and "In stock" in html
    assert "Order from Spencer" in html
    # The order link carries the whole comparison, for the order's record of what each supplier quoted.
    assert (
        f"procurements/new?configuration={t.config.id}&amp;supplier=spencer&amp;sku={SPENCER}&amp;qty=100"
        f"&amp;compared={SPENCER}:100+{COSTER}:100"
    ) in html
    answer = answer_of(html, "spencer")  # what the summary will compare: this card's own figures
    assert (answer["ok"], answer["total"], answer["lead_time_days"]) == (True, str(quote.total), quote.lead_time_days)
    assert answer["items"] == [[SPENCER, 100]]
    assert "Best total" not in html  # a card alone is not compared yet
    again = client.get(quote_url(tenant_url, t, "spencer", qty=100, sku=[SPENCER]), headers=HX)
    assert "Cached quote" in again.get_data(as_text=True)


def test_a_failing_suppliers_card_shows_its_error_and_try_again_while_the_other_quote_stands(
    client, login, config, tenant_url, sandbox
):
    t = config
    login(t.user)
    sandbox.faults(coster={"error_rate": 1})
    failed = client.get(quote_url(tenant_url, t, "coster", qty=100, sku=[SPENCER, COSTER]), headers=HX)
    html = failed.get_data(as_text=True)
    assert failed.status_code == 200
    assert "No quote from Coster" in html and "503" in html and "Try again" in html
    assert f"/quotes/card?supplier=coster&amp;qty=100&amp;sku={SPENCER}&amp;sku={COSTER}" in html  # Try again
    assert sandbox.requests("spencer", "POST /quotes") == 0  # a Coster card asks Coster alone
    assert answer_of(html, "coster")["ok"] is False
    ok = client.get(quote_url(tenant_url, t, "spencer", qty=100, sku=[SPENCER, COSTER]), headers=HX)
    assert "Order from Spencer" in ok.get_data(as_text=True)
    answers = [token_of(html), token_of(ok.get_data(as_text=True))]
    summary = client.get(
        quote_url(tenant_url, t, "summary", qty=100, sku=[SPENCER, COSTER], answer=answers), headers=HX
    ).get_data(as_text=True)
    assert "Only Spencer quoted" in summary and "hx-swap-oob" not in summary


@pytest.mark.parametrize("first", ["spencer", "coster"])
def test_best_total_and_fastest_delivery_are_highlighted_once_both_cards_are_in(
    client, login, config, tenant_url, first
):
    t = config
    login(t.user)
    query = {"qty": 100, "sku": [SPENCER, COSTER]}
    second = ({"spencer", "coster"} - {first}).pop()
    cards = {s: client.get(quote_url(tenant_url, t, s, **query), headers=HX).get_data(as_text=True) for s in (first,)}
    waiting = client.get(quote_url(tenant_url, t, "summary", answer=token_of(cards[first]), **query), headers=HX)
    assert f"Waiting for {second.title()}" in waiting.get_data(as_text=True)
    quotes = {
        s: default_cache.get(s, items_key([QuoteItem(sku, 100)]))
        for s, sku in (("spencer", SPENCER), ("coster", COSTER))
    }
    cards[second] = client.get(quote_url(tenant_url, t, second, **query), headers=HX).get_data(as_text=True)
    quotes[second] = default_cache.get(
        second, items_key([QuoteItem({"spencer": SPENCER, "coster": COSTER}[second], 100)])
    )
    # The summary may land on another web process, whose quote cache is empty: it needs none.
    default_cache.clear()
    summary = client.get(
        quote_url(tenant_url, t, "summary", answer=[token_of(cards[s]) for s in (second, first)], **query), headers=HX
    )
    html = summary.get_data(as_text=True)
    cheapest = min(quotes, key=lambda s: quotes[s].total)
    fastest = min(quotes, key=lambda s: quotes[s].lead_time_days)
    assert f"Best total:</strong> {cheapest.title()} at {money(quotes[cheapest].total)}" in html
    assert "Fastest delivery:</strong>" in html and f"in {quotes[fastest].lead_time_days} days" in html
    assert "Only" not in html and "Waiting" not in html
    badges = dict(re.findall(r'id="quote-badges-(\w+)" hx-swap-oob="true">(.*?)</p>', html, re.S))
    assert set(badges) == {"spencer", "coster"}
    assert "Best total" in badges[cheapest] and "Fastest delivery" in badges[fastest]
    other = ({"spencer", "coster"} - {cheapest}).pop()
    assert "Best total" not in badges[other]


def test_the_summary_ignores_answers_it_did_not_sign_or_for_other_items(client, login, config, tenant_url):
    t = config
    login(t.user)
    query = {"qty": 100, "sku": [SPENCER, COSTER]}
    cards = {
        s: client.get(quote_url(tenant_url, t, s, **query), headers=HX).get_data(as_text=True)
        for s in ("spencer", "coster")
    }
    forged = token_of(cards["coster"])[:-4] + "AAAA"
    summary = client.get(
        quote_url(tenant_url, t, "summary", answer=[token_of(cards["spencer"]), forged], **query), headers=HX
    ).get_data(as_text=True)
    assert "Waiting for Coster" in summary and "Best total" not in summary
    # An answer for 100 units does not count for a comparison of 200.
    other_qty = client.get(
        quote_url(tenant_url, t, "summary", qty=200, sku=[SPENCER, COSTER], answer=list(map(token_of, cards.values()))),
        headers=HX,
    ).get_data(as_text=True)
    assert "Waiting for Spencer and Coster" in other_qty


def test_without_javascript_the_compare_page_waits_for_every_quote_and_flags_them(client, login, config, tenant_url):
    t = config
    login(t.user)
    response = client.get(quote_url(tenant_url, t, qty=100, sku=["", SPENCER, COSTER]))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in html and "Supplier quotes for Nasal pump" in html
    assert "Order from Spencer" in html and "Order from Coster" in html and "Asking" not in html
    assert html.count("quote-badge-best") == 1 and "Best total:" in html


# ---- the new-order form


def test_order_link_prefills_the_form_and_saving_makes_a_priced_draft(client, login, config, tenant_url, rows, db):
    t = config
    login(t.user)
    card = client.get(quote_url(tenant_url, t, "spencer", qty=100, sku=[SPENCER, COSTER]), headers=HX)
    form_url = html_lib.unescape(re.search(r'href="([^"]*procurements/new[^"]*)"', card.get_data(as_text=True))[1])
    html = client.get(form_url).get_data(as_text=True)
    assert f'value="{SPENCER}"' in html
    # A sample starts at one unit (the suppliers' minimum), not at the 100 the quotes were compared at.
    qty = re.search(r'<input[^>]*name="items-0-qty"[^>]*>', html)[0]
    assert 'value="1"' in qty, qty
    assert "The quotes you compared were for 100 each" in html
    assert f'name="compared" type="hidden" value="{SPENCER}:100 {COSTER}:100"' in html
    assert re.search(r'<input[^>]* checked[^>]*value="spencer"', html) and re.search(
        r'<input[^>]* checked[^>]*value="sample"', html
    )
    assert "paying submits it" in html  # each order type explains itself
    response = client.post(
        tenant_url(t.tenant, "procurements/new"),
        data={
            "configuration_id": str(t.config.id),
            "compared": f"{SPENCER}:100 {COSTER}:100",
            "order_type": "pilot",
            "selected_supplier": "spencer",
            "items-0-sku": SPENCER,
            "items-0-qty": "100",
            "items-1-sku": "",
            "items-1-qty": "",
            **{f"ship_to_address-{k}": v for k, v in SHIP_TO.items()},
            "notes": "Bench trials",
        },
    )
    assert response.status_code == 303
    (order,) = rows(t.tenant, Procurement)
    assert response.headers["Location"].endswith(f"/procurements/{order.id}")
    assert order.order_type == "pilot" and order.configuration_id == t.config.id and order.status == "draft"
    with tenant_scope(db.session, t.tenant.id):
        assert [(i.sku, i.qty) for i in order.items] == [(SPENCER, 100)] and order.total > 0
        reference, total = order.reference, order.total
        quoted = {entry["name"]: entry for entry in order.suppliers_quoted}
    # What both cards showed is kept with the order: Spencer's is the one it is priced from.
    spencer_quote = default_cache.get("spencer", items_key([QuoteItem(SPENCER, 100)]))
    coster_quote = default_cache.get("coster", items_key([QuoteItem(COSTER, 100)]))
    assert quoted["spencer"]["selected"] and quoted["spencer"]["total"] == str(spencer_quote.total)
    assert quoted["coster"]["requested"] == [{"sku": COSTER, "qty": 100}]
    assert quoted["coster"]["total"] == str(coster_quote.total) and not quoted["coster"]["selected"]
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert reference in detail and money(total) in detail and "Ada Lovelace" in detail
    assert "Submit to Spencer" in detail and "Order created as a draft." in detail
    record = re.search(r'<table[^>]*aria-label="Quotes when ordered".*?</table>', detail, re.S).group(0)
    assert money(spencer_quote.total) in record and money(coster_quote.total) in record
    assert "Ordered from" in record and f"{COSTER} × 100" in record


def test_a_tampered_comparison_is_refused_with_the_form_kept(client, login, config, tenant_url, rows):
    t = config
    login(t.user)
    response = client.post(
        tenant_url(t.tenant, "procurements/new"),
        data={
            "compared": "NOPE-9:100",
            "order_type": "pilot",
            "selected_supplier": "spencer",
            "items-0-sku": SPENCER,
            "items-0-qty": "7",
            **{f"ship_to_address-{k}": v for k, v in SHIP_TO.items()},
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "NOPE-9 is not in the actuator catalog." in html
    assert 'value="7"' in html and rows(t.tenant, Procurement) == []


def test_address_errors_show_on_their_fields_and_keep_what_was_typed(client, login, config, tenant_url, rows):
    t = config
    login(t.user)
    response = client.post(
        tenant_url(t.tenant, "procurements/new"),
        data={
            "order_type": "sample",
            "selected_supplier": "spencer",
            "items-0-sku": SPENCER,
            "items-0-qty": "25",
            "ship_to_address-name": "Grace Hopper",
            "ship_to_address-line1": "7 Harbour Rd",
            "ship_to_address-city": "",
            "ship_to_address-postal_code": "02110",
            "ship_to_address-country": "USA",
            "notes": "Keep me",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="ship_to_address-city-error">Required\.', html)
    assert 'id="ship_to_address-country-error">Use the two-letter country code' in html
    assert 'aria-invalid="true"' in html
    for kept in ("Grace Hopper", "7 Harbour Rd", "USA", "Keep me", SPENCER, 'value="25"'):
        assert kept in html
    assert rows(t.tenant, Procurement) == []


def test_an_unknown_sku_is_flagged_on_its_line(client, login, config, tenant_url):
    t = config
    login(t.user)
    response = client.post(
        tenant_url(t.tenant, "procurements/new"),
        data={
            "order_type": "pilot",
            "selected_supplier": "spencer",
            "items-0-sku": "",
            "items-1-sku": "NOPE-1",
            "items-1-qty": "3",
            **{f"ship_to_address-{k}": v for k, v in SHIP_TO.items()},
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="items-1-sku-error">NOPE-1 is not in the actuator catalog.' in html


def test_a_supplier_outage_while_saving_says_so_and_keeps_the_form(client, login, config, tenant_url, sandbox, rows):
    t = config
    login(t.user)
    sandbox.faults(spencer={"error_rate": 1})
    response = client.post(
        tenant_url(t.tenant, "procurements/new"),
        data={
            "order_type": "pilot",
            "selected_supplier": "spencer",
            "items-0-sku": SPENCER,
            "items-0-qty": "40",
            **{f"ship_to_address-{k}": v for k, v in SHIP_TO.items()},
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 503 and "Spencer could not quote right now" in html
    assert "Ada Lovelace" in html and SPENCER in html and 'value="40"' in html
    assert rows(t.tenant, Procurement) == []


# ---- detail and actions


def test_a_sample_draft_cannot_be_submitted_before_it_is_paid(client, login, config, tenant_url, make_order, db):
    t = config
    order = make_order(t, order_type="sample")
    login(t.user)
    detail = client.get(tenant_url(t.tenant, f"procurements/{order.id}")).get_data(as_text=True)
    assert "Pay for this sample order" in detail and "Submit to Spencer" not in detail
    response = client.post(tenant_url(t.tenant, f"procurements/{order.id}/submit"))
    assert response.status_code == 409 and "Pay for this sample order" in response.get_data(as_text=True)
    assert status_of(db, order) == "draft"


def test_a_pilot_order_is_submitted_from_its_page(client, login, config, tenant_url, make_order, db, rows):
    t = config
    order = make_order(t, order_type="pilot")
    login(t.user)
    response = client.post(tenant_url(t.tenant, f"procurements/{order.id}/submit"))
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/procurements/{order.id}")
    assert status_of(db, order) in {"submitted", "confirmed"}  # the send job may already have placed it
    messages = [e.message for e in rows(t.tenant, ProcurementEvent, ProcurementEvent.procurement_id == order.id)]
    assert "Submitted; sending to the supplier." in messages
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'hx-trigger="every 5s' in page and "Submit to" not in page


def test_cancelling_asks_for_confirmation_first(client, login, config, tenant_url, make_order, db):
    t = config
    order = make_order(t, order_type="pilot")
    login(t.user)
    url = tenant_url(t.tenant, f"procurements/{order.id}/cancel")
    confirm = client.get(url).get_data(as_text=True)
    assert f"Cancel order {order.reference}?" in confirm and f"Yes, cancel {order.reference}" in confirm
    unconfirmed = client.post(url)
    assert unconfirmed.status_code == 200 and "Yes, cancel" in unconfirmed.get_data(as_text=True)
    assert status_of(db, order) == "draft"
    done = client.post(url, data={"confirm": "yes"})
    assert done.status_code == 303 and status_of(db, order) == "cancelled"
    assert "Cancel order" not in client.get(done.headers["Location"]).get_data(as_text=True)


def test_a_draft_is_deleted_after_confirmation(client, login, config, tenant_url, make_order, rows):
    t = config
    order = make_order(t, order_type="pilot")
    login(t.user)
    url = tenant_url(t.tenant, f"procurements/{order.id}/delete")
    assert "deleted for good" in client.get(url).get_data(as_text=True)
    client.post(url)
    assert len(rows(t.tenant, Procurement)) == 1
    done = client.post(url, data={"confirm": "yes"})
    assert done.status_code == 303 and done.headers["Location"].endswith("/procurements")
    assert rows(t.tenant, Procurement) == []


def _actions(html: str) -> str:
    return re.search(r'<div class="actions order-actions">.*?</div>', html, re.S).group(0)


def test_each_order_offers_exactly_one_way_to_withdraw_it(client, login, config, tenant_url, make_order, db):
    t = config
    login(t.user)
    draft = make_order(t, order_type="pilot")
    page = client.get(tenant_url(t.tenant, f"procurements/{draft.id}")).get_data(as_text=True)
    assert "Delete draft…" in _actions(page) and "Cancel order" not in _actions(page)

    with tenant_scope(db.session, t.tenant.id):  # a pilot draft paid on account: cancelled, never deleted
        db.session.get(Procurement, draft.id).payment_status = "paid"
        db.session.commit()
    page = client.get(tenant_url(t.tenant, f"procurements/{draft.id}")).get_data(as_text=True)
    assert "Cancel order…" in _actions(page) and "Delete" not in _actions(page)

    sent = make_order(t, order_type="pilot", submit=True)
    page = client.get(tenant_url(t.tenant, f"procurements/{sent.id}")).get_data(as_text=True)
    assert "Cancel order…" in _actions(page) and "Delete" not in _actions(page)
    with tenant_scope(db.session, t.tenant.id):
        order = db.session.get(Procurement, sent.id)
        services.transition(db.session, order, "shipped")
        db.session.commit()
    page = client.get(tenant_url(t.tenant, f"procurements/{sent.id}")).get_data(as_text=True)
    assert "Cancel order" not in _actions(page) and "Delete" not in _actions(page)


def test_the_timeline_marks_bad_news_as_danger_and_good_news_as_success(
    client, login, config, tenant_url, make_order, db
):
    t = config
    order = make_order(t, order_type="sample")
    with tenant_scope(db.session, t.tenant.id):
        row = db.session.get(Procurement, order.id)
        services.record_payment(db.session, row, succeeded=False, provider="offline", error="Your card was declined.")
        services.record_payment(db.session, row, succeeded=True, provider="offline")
        total = row.total
        db.session.commit()
    login(t.user)
    html = client.get(tenant_url(t.tenant, f"procurements/{order.id}")).get_data(as_text=True)
    tones = dict(
        (message.replace("\xa0", " "), tone)  # amounts are kept on one line by a no-break space
        for tone, message in re.findall(
            r'class="timeline-event timeline-\w+ timeline-tone-(\w+)">\s*<p class="timeline-message">([^<]+)</p>', html
        )
    )
    assert tones["Payment failed: Your card was declined."] == "danger"
    assert tones[f"Paid {money(total)}."] == "success"
    assert tones["Order created as a draft."] == "info"


def test_a_failed_order_returns_to_draft(client, login, config, tenant_url, make_order, db):
    t = config
    order = make_order(t, order_type="pilot")
    with tenant_scope(db.session, t.tenant.id):
        row = db.session.get(Procurement, order.id)
        services.transition(db.session, row, "submitted")
        row.failure_reason = "Spencer refused the order: bad address."
        services.transition(db.session, row, "failed", message=row.failure_reason)
        db.session.commit()
    login(t.user)
    page = client.get(tenant_url(t.tenant, f"procurements/{order.id}")).get_data(as_text=True)
    assert "Return to draft" in page and "bad address" in page
    response = client.post(tenant_url(t.tenant, f"procurements/{order.id}/draft"))
    assert response.status_code == 303 and status_of(db, order) == "draft"


def test_the_status_poll_stops_with_286_once_the_order_settles(client, login, config, tenant_url, make_order, db):
    t = config
    order = make_order(t, order_type="pilot", submit=True)
    login(t.user)
    url = tenant_url(t.tenant, f"procurements/{order.id}/status")
    open_ = client.get(url, headers=HX)
    html = open_.get_data(as_text=True)
    assert open_.status_code == 200 and 'hx-trigger="every 5s' in html and "Timeline" in html
    token = re.search(r'"seen": "([^"]+)"', html.replace("&#34;", '"')).group(1)
    assert client.get(url, query_string={"seen": token}, headers=HX).status_code == 204  # nothing new
    with tenant_scope(db.session, t.tenant.id):
        services.cancel(db.session, t.tenant, t.user, db.session.get(Procurement, order.id))
        db.session.commit()
    settled = client.get(url, query_string={"seen": token}, headers=HX)
    html = settled.get_data(as_text=True)
    assert settled.status_code == 286 and "every 5s" not in html and "Cancelled" in html
    assert 'hx-swap-oob="innerHTML"' in html  # announced to screen readers
    assert client.get(url).status_code == 303  # without htmx: the order page


# ---- list


def test_the_list_has_an_empty_state_then_filters(client, login, config, tenant_url, make_order):
    t = config
    login(t.user)
    empty = client.get(tenant_url(t.tenant, "procurements")).get_data(as_text=True)
    assert "No orders yet — compare quotes from a configuration" in empty
    sample = make_order(t, order_type="sample", supplier="spencer")
    pilot = make_order(t, order_type="pilot", supplier="coster")
    html = client.get(tenant_url(t.tenant, "procurements")).get_data(as_text=True)
    assert sample.reference in html and pilot.reference in html and "badge-order-draft" in html
    by_type = client.get(tenant_url(t.tenant, "procurements?order_type=pilot"), headers=HX).get_data(as_text=True)
    assert pilot.reference in by_type and sample.reference not in by_type and "<html" not in by_type
    by_supplier = client.get(tenant_url(t.tenant, "procurements?supplier=spencer")).get_data(as_text=True)
    assert sample.reference in by_supplier and pilot.reference not in by_supplier
    by_ref = client.get(tenant_url(t.tenant, f"procurements?q={pilot.reference}")).get_data(as_text=True)
    assert pilot.reference in by_ref and sample.reference not in by_ref
    none = client.get(tenant_url(t.tenant, "procurements?status=delivered")).get_data(as_text=True)
    assert "No orders match these filters" in none


def test_the_list_pages_by_25(client, login, config, tenant_url, db):
    t = config
    with tenant_scope(db.session, t.tenant.id):
        for _ in range(26):
            services.create_procurement(
                db.session,
                t.tenant,
                t.user,
                {"order_type": "pilot", "items": [{"sku": SPENCER, "qty": 1}], "ship_to_address": SHIP_TO},
                clients=[],
            )
        db.session.commit()
    login(t.user)
    first = client.get(tenant_url(t.tenant, "procurements")).get_data(as_text=True)
    assert "26 orders, page 1 of 2" in first and 'rel="next"' in first
    second = client.get(tenant_url(t.tenant, "procurements?page=2")).get_data(as_text=True)
    assert "page 2 of 2" in second and 'rel="prev"' in second


# ---- permissions and tenancy


def test_a_viewer_sees_orders_but_no_actions_and_cannot_post(client, login, config, tenant_url, make_order, db):
    t = config
    order = make_order(t, order_type="pilot")
    login(t.viewer)
    assert "Orders" in client.get(tenant_url(t.tenant, "procurements")).get_data(as_text=True)
    page = client.get(tenant_url(t.tenant, f"procurements/{order.id}"))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and order.reference in html
    for action in ("Submit to", "Cancel order", "Delete draft", "Return to draft"):
        assert action not in html
    config_page = client.get(tenant_url(t.tenant, f"configurations/{t.config.id}")).get_data(as_text=True)
    assert "Compare supplier quotes" in config_page and "Order samples" not in config_page
    card = client.get(quote_url(tenant_url, t, "spencer", qty=10, sku=[SPENCER]), headers=HX).get_data(as_text=True)
    assert "Total" in card and "Order from Spencer" not in card
    for path in ("submit", "cancel", "delete", "draft"):
        assert (
            client.post(tenant_url(t.tenant, f"procurements/{order.id}/{path}"), data={"confirm": "yes"}).status_code
            == 403
        )
    assert client.get(tenant_url(t.tenant, "procurements/new")).status_code == 403
    assert client.post(tenant_url(t.tenant, "procurements/new")).status_code == 403
    assert status_of(db, order) == "draft"


def test_another_workspaces_order_is_not_found(client, login, config, tenant_url, make_order, team):
    t = config
    order = make_order(t, order_type="pilot")
    other = team()
    login(other.admin)
    for path in ("", "/status", "/cancel", "/delete"):
        assert client.get(tenant_url(other.tenant, f"procurements/{order.id}{path}"), headers=HX).status_code == 404
    assert client.post(tenant_url(other.tenant, f"procurements/{order.id}/submit")).status_code == 404
    assert (
        client.get(quote_url(tenant_url, t, qty=1, sku=SPENCER).replace(t.tenant.slug, other.tenant.slug)).status_code
        == 404
    )
    assert client.get(tenant_url(t.tenant, f"procurements/{order.id}")).status_code == 404  # not a member


def test_a_persons_order_actions_are_audited_with_their_ip(client, login, config, tenant_url, make_order, rows):
    """The audit log showed IP "—" on order events a person made from the page."""
    from aerospec.compliance.models import AuditLog

    t = config
    submitted, cancelled, deleted = (make_order(t, order_type="pilot") for _ in range(3))
    login(t.user)
    client.post(tenant_url(t.tenant, f"procurements/{submitted.id}/submit"))
    client.post(tenant_url(t.tenant, f"procurements/{cancelled.id}/cancel"), data={"confirm": "yes"})
    client.post(tenant_url(t.tenant, f"procurements/{deleted.id}/delete"), data={"confirm": "yes"})
    by_action = {e.action: e for e in rows(t.tenant, AuditLog) if e.actor_id == t.user.id}
    for action in ("procurement.submitted", "procurement.cancelled", "procurement.deleted"):
        assert by_action[action].ip_address == "127.0.0.1", action
