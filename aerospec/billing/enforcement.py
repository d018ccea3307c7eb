"""What a read-only or suspended workspace may still do: one table, one decision, one hook.

`allowed(endpoint, method, access)` decides from OPEN_WHEN: with "full" access everything is
allowed; "read_only" (trial expired, subscription ended, payment overdue past the grace) allows
every safe method plus the unsafe requests listed (billing, exports, logout, session management,
the GDPR data export); "suspended" allows only what is listed (billing, the dashboard and settings
pages, logout). A refused request answers 402 saying why and where an admin restores the workspace:
problem+json for the API, an error fragment swapped into the top of the page for htmx, a page
otherwise.

The hook (`enforce`, a before_request registered by `init_app`) runs after the tenant URL
processor, so tenant pages (/t/<slug>/...) have `g.tenant`. API routes learn their tenant inside
`bearer_required`, which calls `check` right after authenticating (so a dead token keeps its 401
and the token is verified once). Requests without a tenant (login, sign-up, webhooks) are never
enforced.

Naming convention the table relies on: billing pages are endpoints of the `billing` blueprint
(`billing.*`); billing API routes have `billing` in their name (`api.list_billing_invoices`,
`api.billing_subscribe`); export endpoints are `configurations.export`, `analytics.export_*` and
`api.export_*`; the GDPR data export is `*.export_data`.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from flask import Flask, Response, g, request, url_for

from aerospec.billing import lifecycle
from aerospec.extensions import db
from aerospec.models import utcnow
from aerospec.tenancy.models import Tenant

SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
ANY = None  # every method

# access → (endpoint pattern, methods) pairs that stay open; everything else answers 402.
OPEN_WHEN: dict[str, tuple[tuple[str, frozenset[str] | None], ...]] = {
    "read_only": (
        ("*", SAFE),  # view everything
        ("billing.*", ANY),  # the billing pages: pay, change plan, resume
        ("api.*billing*", ANY),
        ("configurations.export", ANY),  # export is POST (a form with the format)
        ("analytics.export_*", ANY),  # the analytics pages' CSVs (POST, counted as exports)
        ("api.export_*", ANY),
        ("*.export_data", ANY),  # the GDPR data export, when it exists
        ("accounts.logout", ANY),
        ("api.logout", ANY),
        ("accounts.revoke_session", ANY),  # session management
        ("accounts.change_password", ANY),
    ),
    "suspended": (
        ("billing.*", ANY),
        ("api.*billing*", ANY),
        ("tenancy.dashboard", SAFE),
        ("tenancy.settings", SAFE),
        ("api.get_tenant", SAFE),  # the API's settings page
        ("accounts.logout", ANY),
        ("api.logout", ANY),
    ),
}


def allowed(endpoint: str | None, method: str, access: str) -> bool:
    """Whether a request to `endpoint` with `method` may run in a workspace with `access`."""
    if access == "full" or endpoint is None:  # no endpoint: the 404/405 answers on its own
        return True
    rules = OPEN_WHEN.get(access)
    if rules is None:
        raise KeyError(f"unknown access level {access!r}")
    method = method.upper()
    return any(fnmatchcase(endpoint, pattern) and (methods is None or method in methods) for pattern, methods in rules)


def message(status: str, access: str) -> tuple[str, str]:
    """The refusal's title and sentence, naming the reason and the way out."""
    reason = lifecycle.REASONS.get(status, "of its billing status")
    if status == "suspended_by_admin":
        return (
            "Workspace suspended",
            "This workspace is suspended because AeroSpec suspended it — contact AeroSpec support to have it "
            "reactivated. Your data is kept.",
        )
    if access == "suspended":
        return (
            "Workspace suspended",
            f"This workspace is suspended because {reason} — an admin can restore it on the billing page.",
        )
    return (
        "Workspace is read-only",
        f"This workspace is read-only because {reason} — you can still view and export; "
        "an admin can restore it on the billing page.",
    )


def check(tenant: Tenant | None) -> Response | None:
    """The 402 when the workspace's billing state does not allow this request, else None."""
    if tenant is None or tenant.deleted_at is not None:
        return None
    now = utcnow()
    level = lifecycle.request_access(db.session, tenant, now)
    if allowed(request.endpoint, request.method, level):
        return None
    return refusal(tenant, level, now)


def enforce() -> Response | None:
    """before_request for tenant pages (the URL processor has loaded `g.tenant`)."""
    return check(g.get("tenant"))


def refusal(tenant: Tenant, level: str, now=None) -> Response:
    """The 402: problem+json for the API, a notice at the top of the page for htmx, a page otherwise."""
    from aerospec.web.errors import problem, wants_problem_json
    from aerospec.web.htmx import is_htmx, render

    cycle = lifecycle.dunning(db.session, tenant) if tenant.subscription_status in lifecycle.DUNNING_STATES else None
    status = lifecycle.effective_status(tenant, now, cycle.since if cycle else None)
    title, detail = message(status, level)
    if request.blueprint == "api" or wants_problem_json():
        return problem(402, title, detail)
    link = url_for(lifecycle.billing_endpoint(), tenant_slug=tenant.slug)
    can_manage = _can_manage_billing()
    response = render(
        "billing/blocked.html",
        block="blocked_notice",
        status=402,
        title=title,
        message=detail,
        billing_link=link,
        can_manage_billing=can_manage,
    )
    if is_htmx():
        # SECURITY-neutral UX: show the refusal above the page instead of inside the target that asked.
        response.headers["HX-Retarget"] = "#main"
        response.headers["HX-Reswap"] = "afterbegin"
    return response


def _can_manage_billing() -> bool:
    from aerospec.tenancy.permissions import can

    membership = g.get("membership")
    return bool(membership is not None and can(membership.role, "manage_billing"))


def inject_banner() -> dict:
    """Template helper `billing_banner()`: the app shell's dunning/read-only/suspended banner, or None."""

    def billing_banner() -> dict | None:
        tenant = g.get("tenant")
        if tenant is None:
            return None
        if "_billing_banner" not in g:
            info = lifecycle.banner(db.session, tenant)
            if info is not None:
                info["link"] = url_for(lifecycle.billing_endpoint(), tenant_slug=tenant.slug)
                info["can_manage"] = _can_manage_billing()
            g._billing_banner = info
        return g._billing_banner

    return {"billing_banner": billing_banner}


def init_app(app: Flask) -> None:
    """Register the hook and the banner helper (after the blueprints, so the tenant is loaded first)."""
    app.before_request(enforce)
    app.context_processor(inject_banner)
