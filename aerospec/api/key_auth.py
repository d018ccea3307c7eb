"""How an API request authenticates with an API key, and the rate-limit headers on every API answer.

`bearer_required` (aerospec/api/views.py) hands a credential starting `sk_live_`/`sk_test_` here: from
`Authorization: Bearer sk_…`, or from `?api_key=sk_…` (accepted, answered with a Warning header; the
request log records the path without its query string). The request then acts as the workspace with
the key's scopes (`g.membership` is a KeyActor, `g.api_user` None) and audit entries name the key.
"""

from __future__ import annotations

from flask import Response, current_app, g, request

from aerospec.api import bp, rate_limits
from aerospec.api import key_services as keys
from aerospec.compliance import services as audit
from aerospec.config import simulated_services
from aerospec.errors import AuthenticationFailed, PermissionDenied
from aerospec.extensions import db, limiter
from aerospec.tenancy.models import Tenant
from aerospec.tenancy.scoping import set_tenant
from aerospec.web.client import client_info

QUERY_PARAM = "api_key"
QUERY_WARNING = '299 - "Send the API key in the Authorization header (Authorization: Bearer sk_...), not in the URL"'


def test_mode() -> bool:
    """Whether new keys are test keys: the deployment simulates something (the pages' test-mode banner)."""
    return bool(simulated_services(current_app.config))


def key_from_query() -> str | None:
    """The `?api_key=` credential, if any (remembered so the answer can warn about it)."""
    raw = request.args.get(QUERY_PARAM)
    if raw is None:
        return None
    g._api_key_in_query = True
    raw = raw.strip()
    if not keys.looks_like_key(raw):
        raise AuthenticationFailed("?api_key= takes an API key (sk_live_… or sk_test_…).")
    return raw


def authenticate_key(raw: str, *, require_member: bool = True) -> None:
    """Load the key's workspace and scopes into `g` and the tenant context; count its burst window."""
    if not require_member:
        # SECURITY: logout, the platform console: things only a person does.
        raise PermissionDenied("This needs a person's access token (POST /api/auth/login), not an API key.")
    key = keys.authenticate(db.session, raw)
    g._api_tenant_token = set_tenant(db.session, key.tenant_id)
    tenant = db.session.get(Tenant, key.tenant_id)
    keys.ensure_api_in_plan(tenant)
    g.api_key = key
    g.api_session = None
    g.api_user = None
    g.tenant = tenant
    g.membership = keys.actor_for(key, tenant)
    g._api_key_audit = audit.set_api_key_actor(key.id, key.name, key.hint)
    count_burst(f"key:{key.id}")
    if keys.touch(key, client_info().ip_address):
        db.session.commit()


def count_burst(identity: str) -> None:
    """One request in the credential's minute (429 problem+json with Retry-After when it is used up)."""
    g._api_burst = rate_limits.hit(identity)


@bp.after_app_request
def add_rate_limit_headers(response: Response) -> Response:
    """Every API answer says its credential's window (or, with no credential, the client address's).

    Registered app-wide: a path no API route matches (a malformed id: 404, a wrong method: 405) has no
    blueprint, and still answers with the headers."""
    if not request.path.startswith(bp.url_prefix + "/"):
        return response
    if g.get("_api_key_in_query"):
        response.headers["Warning"] = QUERY_WARNING
    if "X-RateLimit-Limit" in response.headers:
        return response  # a 429 says it already
    if limiter.enabled and limiter.current_limit is not None:
        return response  # the sign-in routes' own per-address limits (flask-limiter writes those headers)
    window = g.get("_api_burst")
    if window is None:
        # No credential got as far as counting (none sent, or refused): the client address's window.
        window = rate_limits.hit(f"ip:{client_info().ip_address}", enforce=False)
    return rate_limits.apply(response, window)


@bp.teardown_request
def forget_api_key(exc: BaseException | None) -> None:
    """The key's name stops signing audit entries when its request ends."""
    token = g.pop("_api_key_audit", None)
    if token is not None:
        audit.reset_api_key_actor(token)
