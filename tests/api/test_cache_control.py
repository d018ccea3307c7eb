"""No cache keeps anyone's data: every API answer (data, errors, PDFs) and every page or download says
`Cache-Control: no-store`; static assets keep their revalidated caching (issue 10, item 6).

The API sweep discovers its routes from app.url_map, so a new API route is covered the day it is added.
"""

from __future__ import annotations

import pytest

from tests.api.conftest import auth
from tests.tenancy.test_isolation import ID_MAKERS

IGNORED_METHODS = {"HEAD", "OPTIONS"}
# Placeholders that are not row ids: any value reaches the view (which answers 404 or 422).
OTHER_PLACEHOLDERS = {"token": "no-such-token"}
# Data answers the sweep must see succeed, so it proves the header on real data and not only on errors.
DATA_ROUTES = {
    "/api/configurations",
    "/api/configurations/<uuid:config_id>",
    "/api/tenants/me",
    "/api/tenants/members",
    "/api/tenants/invitations",
    "/api/procurements",
    "/api/procurements/<uuid:procurement_id>",
    "/api/billing/invoices",
    "/api/billing/invoices/<uuid:invoice_id>",
    "/api/billing/invoices/<uuid:invoice_id>/pdf",
}


def api_rules(app) -> list:
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/")]
    assert len(rules) > 30, "the API routes were not found: the sweep would prove nothing"
    # GETs first, the workspace's deletion last: what a request changes must not stop the next from answering.
    return sorted(rules, key=lambda r: (r.rule == "/api/tenants/me", "GET" not in r.methods, r.rule))


def _url(app, factories, rule, tenant) -> str:
    from flask import url_for

    values = {}
    for name in sorted(rule.arguments):
        if name in OTHER_PLACEHOLDERS:
            values[name] = OTHER_PLACEHOLDERS[name]
        else:
            assert name in ID_MAKERS, f"{rule.rule}: teach ID_MAKERS (tests/tenancy/test_isolation.py) to fill <{name}>"
            values[name] = ID_MAKERS[name](factories, tenant)
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def test_every_api_answer_says_no_store(app, client, db, factories, team, tokens):
    t = team()
    answered = {}
    for rule in api_rules(app):
        for method in sorted(rule.methods - IGNORED_METHODS):
            url = _url(app, factories, rule, t.tenant)
            db.session.commit()
            # A fresh API session per request: logout or a password change ends the previous one.
            headers = auth(tokens(t.admin)["access_token"])
            response = client.open(url, method=method, json={}, headers=headers)
            where = f"{method} {rule.rule} ({response.status_code})"
            assert response.status_code < 500, where
            assert response.headers.get("Cache-Control") == "no-store", where
            answered[(method, rule.rule)] = response.status_code
    succeeded = {path for (method, path), status in answered.items() if method == "GET" and status == 200}
    assert succeeded >= DATA_ROUTES, sorted(DATA_ROUTES - succeeded)


@pytest.mark.parametrize("path", ["/api/configurations", "/api/tenants/me", "/api/procurements"])
def test_refusals_say_no_store_too(client, path):
    response = client.get(path)
    assert response.status_code == 401
    assert response.headers["Cache-Control"] == "no-store"


def test_a_download_that_is_not_a_page_says_no_store(client, db, factories, login):
    admin = factories.UserFactory(is_platform_admin=True)
    db.session.commit()
    login(admin)
    response = client.get("/admin/catalog/actuators.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"


def test_static_assets_keep_their_revalidated_caching(client):
    with client.get("/static/css/app.css") as response:
        assert response.status_code == 200
        assert "no-store" not in response.headers["Cache-Control"]
        etag = response.headers["ETag"]
    with client.get("/static/css/app.css", headers={"If-None-Match": etag}) as again:
        assert again.status_code == 304
