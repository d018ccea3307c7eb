"""Schemathesis against the running app: every documented operation, fuzzed from the OpenAPI document,
answers without a server error and as the document says (status code, media type, body schema,
headers), and refuses what the document says is invalid.

Runs in-process (WSGI) on the suite's database: SQLite by default, PostgreSQL with row-level security
in CI. Calls carry the access token of a workspace admin with a saved configuration and the catalog, or
of a platform admin for the console's API. (schemathesis' own pytest plugin does not run under pytest 9
yet, so the operations are driven here, one hypothesis run each.)

Left out: schemathesis' "positive data acceptance" check, which expects every schema-valid body to be
accepted. The API checks meaning beyond what a schema can say (an email address that exists, a
password's strength, a reset token's signature, a Stripe signature) and answers those with 4xx
problem+json; the status code check still holds every such answer to the documented statuses.
"""

from __future__ import annotations

import contextvars

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from aerospec.extensions import db
from tests.api.conftest import auth
from tests.configurations.conftest import make_config as make_config  # noqa: F401 - fixtures, shared
from tests.configurations.conftest import seeded_catalog as seeded_catalog  # noqa: F401

EXAMPLES = 6
#: Path parameters filled with ids that exist (half the examples), so id routes are reached past their 404.
KNOWN_IDS: dict[str, str] = {}


@pytest.fixture
def headers(app, db, team, seeded_catalog, make_config, tokens, factories):  # noqa: F811
    """headers(kind) -> fresh headers of a new API session: "bearer" a workspace admin's, "platform" a platform
    admin's (fresh for each operation: POST /api/auth/logout ends the session it is called with)."""
    from aerospec.accounts.services import ClientInfo
    from aerospec.api import services as api

    ns = team()
    config = make_config(ns.tenant, ns.admin)
    KNOWN_IDS.update(config_id=str(config.id), user_id=str(ns.viewer.id))
    staff = factories.UserFactory(is_platform_admin=True)
    db.session.commit()
    settings_ = api.TokenSettings(
        app.config["SECRET_KEY"], app.config["JWT_ACCESS_SECONDS"], app.config["JWT_REFRESH_SECONDS"]
    )

    def _headers(kind: str) -> dict:
        if kind == "platform":
            answer = api.start_admin_api_session(db.session, staff, ClientInfo("127.0.0.1", "pytest"), settings_)
            db.session.commit()
            return auth(answer["access_token"])
        return auth(tokens(ns.admin, ns.tenant)["access_token"])

    return _headers


def run_operation(operation, headers: dict, statuses: set[int]) -> list[str]:
    calls = [0]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case):
        calls[0] += 1
        for name in case.path_parameters or {}:
            if name in KNOWN_IDS and calls[0] % 2 == 0:
                case.path_parameters[name] = KNOWN_IDS[name]
        # Each call outside the test's app context, as tests.conftest.RequestScopedClient does (else `g` and
        # the tenant context of one request would leak into the next).
        response = contextvars.Context().run(
            case.call_and_validate, headers=headers, excluded_checks=[positive_data_acceptance]
        )
        db.session.expire_all()
        statuses.add(response.status_code)

    try:
        check()
    except (Exception, BaseExceptionGroup) as exc:  # every operation's first failure, reported together
        return [f"{operation.label}: {type(exc).__name__}: {str(exc)[:1500]}"]
    return []


@pytest.mark.slow
def test_api_conforms_to_its_document(app, headers):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    failures: list[str] = []
    answered: dict[str, set[int]] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        platform = operation.definition.raw.get("security") == [{"platform": []}]
        answered[operation.label] = set()
        failures += run_operation(operation, headers("platform" if platform else "bearer"), answered[operation.label])
    assert len(answered) >= 60, sorted(answered)
    assert not failures, "\n\n".join(failures)
    # The run reached the operations, not only their doors: reads of the workspace answered 200.
    for label in (
        "GET /api/tenants/me",
        "GET /api/tenants/members",
        "GET /api/configurations",
        "GET /api/actuators",
        "GET /api/admin/organizations",
        "GET /api/billing/subscription",
    ):
        assert 200 in answered[label], (label, answered[label])
    succeeded = [label for label, seen in answered.items() if any(200 <= s < 300 for s in seen)]
    assert len(succeeded) >= 25, sorted(answered.items())
    assert 200 in answered["GET /api/configurations/{config_id}"]
