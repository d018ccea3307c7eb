"""The configurations list shows 25, 50 or 100 rows a page, chosen in a labelled control."""

from __future__ import annotations

import re

import pytest

from tests.web.test_statement_budget import _seed


@pytest.fixture
def sixty(db, factories, team, login):
    ns = team()
    _seed(db, factories, ns.tenant, 60, 3)
    login(ns.admin)
    return ns


def _rows(html: str) -> int:
    return len(re.findall(r'<tr id="configuration-', html))


def test_per_page_shows_that_many_rows_and_keeps_it_in_the_page_links(client, sixty, tenant_url):
    html = client.get(tenant_url(sixty.tenant, "configurations?per_page=50&status=draft")).get_data(as_text=True)
    assert _rows(html) == 50
    assert "60 configurations, page 1 of 2." in html
    next_link = re.search(r'<a rel="next" href="([^"]+)"', html).group(1)
    assert "per_page=50" in next_link and "status=draft" in next_link and "page=2" in next_link
    assert _rows(client.get(next_link.replace("&amp;", "&")).get_data(as_text=True)) == 10


def test_the_default_is_25_and_other_values_fall_back_to_it(client, sixty, tenant_url):
    for query in ("", "?per_page=7", "?per_page=lots", "?per_page=100000"):
        html = client.get(tenant_url(sixty.tenant, f"configurations{query}")).get_data(as_text=True)
        assert _rows(html) == 25, query
        assert "per_page" not in re.search(r'<a rel="next" href="([^"]+)"', html).group(1)
    assert _rows(client.get(tenant_url(sixty.tenant, "configurations?per_page=100")).get_data(as_text=True)) == 60


def test_the_rows_per_page_control_is_labelled_and_marks_the_choice(client, sixty, tenant_url):
    html = client.get(tenant_url(sixty.tenant, "configurations?per_page=100")).get_data(as_text=True)
    assert '<label for="filter-per-page">Rows per page</label>' in html
    control = re.search(r'<select id="filter-per-page" name="per_page">(.*?)</select>', html, re.S).group(1)
    assert re.findall(r'value="(\d+)"', control) == ["25", "50", "100"]
    assert re.search(r'value="100"\s+selected', control)


def test_a_page_past_the_end_shows_the_last_page(client, sixty, tenant_url):
    html = client.get(tenant_url(sixty.tenant, "configurations?per_page=50&page=9223372036854775807")).get_data(
        as_text=True
    )
    assert "page 2 of 2." in html and _rows(html) == 10


def test_row_links_lead_to_the_detail_page_and_the_tag_filter(app, client, sixty, tenant_url):
    html = client.get(tenant_url(sixty.tenant, "configurations")).get_data(as_text=True)
    row = re.search(r'<tr id="configuration-([0-9a-f-]+)">(.*?)</tr>', html, re.S)
    config_id, cells = row.group(1), row.group(2)
    with app.test_request_context():
        from flask import url_for

        detail = url_for("configurations.detail", tenant_slug=sixty.tenant.slug, config_id=config_id)
        tag = url_for("configurations.index", tenant_slug=sixty.tenant.slug, tag="budget")
    assert f'href="{detail}"' in cells and f'href="{tag}"' in cells
    assert client.get(detail).status_code == 200
    assert "Created by" in html and re.search(r'data-label="Created by">User \d+<', cells)
