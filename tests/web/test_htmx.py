"""HTMX: the same URL answers with the whole page, or with one named block for htmx."""

from __future__ import annotations

import html
import re

HX = {"HX-Request": "true"}


def text_of(fragment: str) -> str:
    """Visible text: tags dropped, entities decoded, whitespace collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


def plan_card(page: str, plan_name: str) -> str:
    articles = [chunk.split("</article>")[0] for chunk in page.split("<article")[1:]]
    cards = [a for a in articles if re.search(rf"<h2[^>]*>\s*{plan_name}\b", a)]
    assert len(cards) == 1, f"expected one {plan_name} card"
    return text_of(cards[0])


def test_signup_errors_over_htmx_return_only_the_form(client, db):
    response = client.post(
        "/signup",
        data={"name": "Hana", "company": "Htmx Works", "email": "hana@htmx.example", "password": "short"},
        headers=HX,
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "<html" not in body and "<body" not in body and "site-header" not in body
    assert body.lstrip().startswith('<form id="signup-form"')
    assert body.rstrip().endswith("</form>")
    assert "Use at least 10 characters." in body
    assert 'value="hana@htmx.example"' in body  # the user's input survives
    assert "HX-Request" in response.headers["Vary"]


def test_signup_errors_without_htmx_return_the_whole_page(client, db):
    response = client.post(
        "/signup", data={"name": "Hana", "company": "", "email": "hana@htmx.example", "password": "short"}
    )
    assert response.status_code == 422
    assert "<html" in response.get_data(as_text=True)


def test_successful_signup_over_htmx_redirects_with_hx_redirect(client, db):
    response = client.post(
        "/signup",
        data={
            "name": "Hana",
            "company": "Htmx Works",
            "email": "hana@htmx.example",
            "password": "nebulous cobalt atomiser 9",
        },
        headers=HX,
    )
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/t/htmx-works/"
    assert "Location" not in response.headers
    assert client.get("/t/htmx-works/").status_code == 200


def test_pricing_annual_toggle_over_htmx_returns_only_the_plan_cards(client, db):
    response = client.get("/pricing?interval=year", headers=HX)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<html" not in body and "<h1" not in body
    assert body.lstrip().startswith('<div id="plan-cards"')
    professional = plan_card(body, "Professional")
    assert "USD 1,800" in professional and "per month for the workspace" in professional
    assert "USD 21,600" in professional and "a year" in professional
    starter = plan_card(body, "Starter")
    assert "USD 450" in starter and "USD 5,400" in starter
    assert "Custom" in plan_card(body, "Enterprise")


def test_pricing_monthly_cards_show_monthly_prices(client, db):
    body = client.get("/pricing", headers=HX).get_data(as_text=True)
    professional = plan_card(body, "Professional")
    assert "USD 2,000" in professional
    assert "USD 21,600" not in professional
    assert "USD 500" in plan_card(body, "Starter")


def test_pricing_annual_url_loaded_directly_is_a_full_page(client, db):
    response = client.get("/pricing?interval=year")
    body = response.get_data(as_text=True)
    assert "<html" in body and "<h1" in body
    assert "USD 21,600" in plan_card(body, "Professional")


def test_history_restore_request_gets_the_full_page(client, db):
    response = client.get("/pricing?interval=year", headers={**HX, "HX-History-Restore-Request": "true"})
    assert "<html" in response.get_data(as_text=True)
