"""Errors: friendly pages for people, problem+json under /api/, never a bare traceback."""

from __future__ import annotations

import html

import pytest

CALM_500 = "Something went wrong on our side. Nothing was saved; please try again."


def test_unknown_page_is_a_friendly_404(client, db):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    body = html.unescape(response.get_data(as_text=True))
    assert "<html" in body
    assert "The page may have moved" in body
    assert 'href="/"' in body


def test_unknown_page_over_htmx_is_a_fragment(client, db):
    response = client.get("/no/such/page", headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert "<html" not in response.get_data(as_text=True)


def test_unknown_api_url_is_problem_json_404(client, db):
    response = client.get("/api/no/such/thing")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 404
    assert problem["title"] == "Not Found"


def test_wrong_method_is_405_with_allow(client, db):
    response = client.delete("/login")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]


@pytest.fixture
def failing_app(build_app):
    """An app whose error pages are on in tests, with routes that blow up."""
    app = build_app(TEST_ERROR_PAGES=True)

    def explode():
        raise RuntimeError("database on fire: secret detail")

    app.add_url_rule("/explode", "explode", explode)
    app.add_url_rule("/api/v1/explode", "api_explode", explode)
    return app


def test_unexpected_error_shows_a_calm_500_page(failing_app, db):
    response = failing_app.test_client().get("/explode")
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    body = html.unescape(response.get_data(as_text=True))
    assert "Something went wrong" in body and CALM_500 in body
    assert "secret detail" not in body and "Traceback" not in body
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_unexpected_api_error_is_problem_json_500(failing_app, db):
    response = failing_app.test_client().get("/api/v1/explode")
    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem == {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "detail": CALM_500,
    }


def test_without_error_pages_tests_see_the_real_exception(build_app, db):
    app = build_app()
    app.add_url_rule("/explode", "explode", lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        app.test_client().get("/explode")
