"""Every claim on the marketing pages is true of the running product: what is not built (lab results and a learning
model, outgoing webhooks, SSO, white-label, a full workspace export) appears only marked "Coming
soon", never as included; and the list of what is not built is itself checked against the app's routes, so
building one of them (or selling one that is not there) fails here until plans.AVAILABLE_FEATURES says so."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from aerospec.billing.plans import AVAILABLE_FEATURES, COMING_SOON_FEATURES, FEATURE_LABELS, FEATURES

# What a page might say about something that does not run yet (case-insensitive).
NOT_BUILT = {
    "lab results": r"lab (results?|measurements?|data)",
    "learning model": r"correction model|model (that )?learns|learns from",
    "outgoing webhooks": r"webhook",
    "single sign-on": r"single sign-on|\bSSO\b|\bOIDC\b",
    # Custom models run (issue 12 item 5: /api/ml/custom-models), so the pricing table may sell them.
    "white-label": r"white-label|white label",
    "full workspace export": r"full export|export of the (whole )?workspace",
}


class _Claims(HTMLParser):
    """The page's visible text, split into what is inside a `.coming-soon` element and what is not."""

    VOID = {"br", "img", "input", "meta", "link", "hr", "source", "col", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []  # per open element: inside a coming-soon element?
        self.skip = 0  # inside <script>/<style>/<title>
        self.outside: list[str] = []
        self.inside: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        classes = (dict(attrs).get("class") or "").split()
        marked = (bool(self.stack) and self.stack[-1]) or "coming-soon" in classes or "coming-soon-list" in classes
        self.stack.append(marked)
        if tag in ("script", "style", "title"):
            self.skip += 1

    def handle_endtag(self, tag):
        if tag in self.VOID or not self.stack:
            return
        self.stack.pop()
        if tag in ("script", "style", "title"):
            self.skip -= 1

    def handle_data(self, data):
        if self.skip or not data.strip():
            return
        (self.inside if self.stack and self.stack[-1] else self.outside).append(data)


def claims(html: str) -> tuple[str, str]:
    parser = _Claims()
    parser.feed(html)
    return " ".join(parser.outside), " ".join(parser.inside)


def _assert_only_as_coming_soon(html: str, where: str) -> str:
    outside, inside = claims(html)
    for what, pattern in NOT_BUILT.items():
        found = re.search(pattern, outside, re.IGNORECASE)
        assert found is None, (
            f"{where} presents {what} as if it ran today: …{outside[max(0, found.start() - 80) : found.end() + 80]}…"
        )
    for name in COMING_SOON_FEATURES:
        assert FEATURE_LABELS[name] not in outside, f"{where} sells {FEATURE_LABELS[name]} as included"
    return inside


@pytest.mark.parametrize("path", ["/", "/pricing", "/pricing?interval=year"])
def test_marketing_pages_mark_what_is_not_built_as_coming_soon(client, path):
    response = client.get(path)
    assert response.status_code == 200
    inside = _assert_only_as_coming_soon(response.get_data(as_text=True), path)
    if path.startswith("/pricing"):
        for name in COMING_SOON_FEATURES:  # still named, so nobody thinks they were forgotten
            assert FEATURE_LABELS[name] in inside


def test_the_pricing_table_only_ticks_features_that_run(client):
    html = client.get("/pricing").get_data(as_text=True)
    matrix = html[html.index('id="matrix-heading"') : html.index('id="coming-soon"')]
    for name in FEATURES:
        row = f'<th scope="row">{FEATURE_LABELS[name]}</th>'
        assert (row in matrix) == (name in AVAILABLE_FEATURES), name


def test_the_plan_cards_and_billing_page_agree_logged_in(client, team, login, tenant_url):
    t = team()
    login(t.admin)
    _assert_only_as_coming_soon(client.get("/pricing").get_data(as_text=True), "/pricing (logged in)")
    _assert_only_as_coming_soon(client.get(tenant_url(t.tenant, "billing")).get_data(as_text=True), "billing page")


def test_the_coming_soon_list_is_what_the_app_does_not_run(app):
    """A probe per feature: building one makes this fail until plans.AVAILABLE_FEATURES includes it."""
    rules = [rule.rule for rule in app.url_map.iter_rules()]

    def routes(pattern: str) -> list[str]:
        return [rule for rule in rules if re.search(pattern, rule, re.IGNORECASE)]

    running = {
        "msds_parsing": bool(routes(r"/fluids/sds/")),
        "api_access": bool(routes(r"^/api/configurations")),
        "ecommerce": bool(routes(r"checkout")),
        "sso": bool(routes(r"sso|oidc|saml")),
        # Custom models are trained and used at /api/ml/custom-models (issue 12, item 5); lab results alone are not.
        "custom_models": bool(routes(r"custom-models|/models?\b")),
        # Stripe's incoming webhook is not an outgoing one.
        "webhooks": bool([rule for rule in routes(r"webhook") if rule != "/api/webhooks/stripe"]),
        "white_label": bool(routes(r"brand|white")),
    }
    assert set(running) == set(FEATURES)
    assert {name for name, runs in running.items() if runs} == set(AVAILABLE_FEATURES)
    # Also not built, and so only "coming soon" on the pages: lab-result pages (results are recorded through the
    # API only: issue 12's first slice) and a whole-workspace export.
    assert sorted(routes(r"lab|feedback|results")) == [
        "/api/configurations/<uuid:config_id>/feedback",
        "/api/feedback",
        "/api/feedback/<uuid:feedback_id>",
    ]
    # A workspace exports its configurations only; the platform console's CSVs (revenue tables, the admin audit
    # log) are AeroSpec's own reports, not a customer's workspace export.
    workspace_exports = [rule for rule in routes(r"export") if not rule.startswith("/admin/")]
    assert workspace_exports == ["/t/<tenant_slug>/configurations/export"]
