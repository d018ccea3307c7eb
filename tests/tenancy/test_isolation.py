"""Wall one and two from the outside: every tenant route, every id, another tenant → 404.

The sweep discovers routes from app.url_map, so a new route under /t/<tenant_slug>/ is
covered the day it is added; a new id placeholder makes the test fail until
ID_MAKERS learns how to create a row for it.
"""

from __future__ import annotations

import uuid
from itertools import count

import pytest
from sqlalchemy import select

from aerospec.tenancy.models import Invitation, Membership, Tenant
from aerospec.tenancy.scoping import tenant_scope, unscoped

IGNORED_METHODS = {"HEAD", "OPTIONS"}
_emails = count()


def _member_id(factories, tenant):
    return factories.member(tenant, "user").id


def _invitation_id(factories, tenant):
    return factories.invitation(tenant, f"invitee{next(_emails)}@example.com")[0].id


def _tenant_fluid_id(factories, tenant):
    from tests.catalog import makers

    return makers.tenant_fluid(tenant).id


def _actuator_id(factories, tenant):
    from tests.catalog import makers

    # The actuator catalog is global (not tenant-owned): every member may read every row.
    return makers.actuator().id


def _sds_document_id(factories, tenant):
    from aerospec.catalog.models import SdsDocument

    with tenant_scope(factories._session, tenant.id):
        document = SdsDocument(
            tenant_id=tenant.id, filename="sheet.pdf", size_bytes=8, sha256="0" * 64,
            content=b"%PDF-1.7", status="queued", extracted=[],
        )  # fmt: skip
        factories._session.add(document)
        factories._session.flush()
    return document.id


# placeholder name → how to create a row of `tenant` and return the value for the URL
def _configuration_id(factories, tenant):
    from aerospec.configurations.models import Configuration, ConfigurationVersion
    from aerospec.models import utcnow

    with tenant_scope(factories._session, tenant.id):
        config = Configuration(
            tenant_id=tenant.id, name="Swept", fluid_viscosity_cP=1.0, fluid_density_kg_m3=997.0,
            fluid_surface_tension_mN_m=72.0, max_pressure_bar=5.0, target_spray_cone_deg=60.0,
            target_spray_cone_tol_deg=6.0, tags=[], compatible_actuators=[], version=1,
        )  # fmt: skip
        factories._session.add(config)
        factories._session.flush()
        factories._session.add(
            ConfigurationVersion(
                tenant_id=tenant.id,
                configuration_id=config.id,
                version=1,
                data={},
                diff={},
                created_at=utcnow(),
            )
        )
        factories._session.flush()
    return config.id


def _procurement_id(factories, tenant):
    from aerospec.procurement.models import Procurement

    with tenant_scope(factories._session, tenant.id):
        order = Procurement(
            tenant_id=tenant.id,
            reference="PO-SWEEP",
            order_type="pilot",
            status="draft",
            ship_to_address={},
            idempotency_key=uuid.uuid4().hex,
        )
        factories._session.add(order)
        factories._session.flush()
    return order.id


def _feedback_id(factories, tenant):
    from tests.feedback.makers import lab_file, lab_result

    config_id = _configuration_id(factories, tenant)
    with tenant_scope(factories._session, tenant.id):
        row = lab_result(factories._session, tenant.id, config_id, sku="SWEPT-1")
        lab_file(factories._session, tenant.id, row.id)  # so the file's download route has a file to refuse
        return row.id


def _api_key_id(factories, tenant):
    from aerospec.api.models import ApiKey

    with tenant_scope(factories._session, tenant.id):
        key = ApiKey(
            tenant_id=tenant.id, name="Swept key", mode="test", hint="sk_test_…0000",
            secret_hash=uuid.uuid4().hex * 2, scopes=["configurations:read"],
        )  # fmt: skip
        factories._session.add(key)
        factories._session.flush()
    return key.id


def _custom_model_id(factories, tenant):
    from tests.feedback.makers import custom_model

    with tenant_scope(factories._session, tenant.id):
        return custom_model(factories._session, tenant.id).id


def _invoice_id(factories, tenant):
    from datetime import UTC, datetime

    from aerospec.billing import invoices

    now = datetime.now(UTC)
    with tenant_scope(factories._session, tenant.id):
        return invoices.issue_offline_invoice(factories._session, tenant, None, [], now, now, now).id


def _endpoint_id(factories, tenant):
    from tests.webhooks.makers import endpoint

    with tenant_scope(factories._session, tenant.id):
        return endpoint(factories._session, tenant.id).id


def _delivery_id(factories, tenant):
    from tests.webhooks.makers import delivery_with_attempt, endpoint

    with tenant_scope(factories._session, tenant.id):
        return delivery_with_attempt(factories._session, endpoint(factories._session, tenant.id)).id


def _own_actuator_id(factories, tenant):
    from tests.catalog import makers

    return makers.own_actuator(tenant).id


ID_MAKERS = {
    "endpoint_id": _endpoint_id,
    "delivery_id": _delivery_id,
    "procurement_id": _procurement_id,
    "invoice_id": _invoice_id,
    "feedback_id": _feedback_id,
    "key_id": _api_key_id,  # issue 14's API keys
    "model_id": _custom_model_id,
    "config_id": _configuration_id,
    "version": lambda factories, tenant: 1,  # every configuration has a version 1
    "sds_document_id": _sds_document_id,
    "user_id": _member_id,
    "invitation_id": _invitation_id,
    "fluid_id": _tenant_fluid_id,
    "actuator_id": _actuator_id,
    "own_actuator_id": _own_actuator_id,  # a workspace's own actuator (issue 12 item 7): tenant-owned
    # The platform admin API (issue 13): a workspace's id, and a subscription's or workspace's.
    "tenant_id": lambda factories, tenant: tenant.id,
    "target_id": lambda factories, tenant: tenant.id,
}

# Placeholders naming rows shared by every tenant: there is no "foreign" id to try, so the
# sweep checks only the victim's slug (and the control request) for routes using them alone.
GLOBAL_PLACEHOLDERS = {"actuator_id"}


# Form data sent with every unsafe request: enough to make each route act if it let us in.
def _payload(victim: Tenant) -> dict:
    return {
        "role": "admin",
        "email": "intruder@example.com",
        "name": "Taken over",
        "billing_email": "intruder@example.com",
        "confirmation": victim.slug,
    }


def tenant_rules(app):
    rules = [r for r in app.url_map.iter_rules() if "tenant_slug" in r.arguments]
    assert rules, "no tenant routes found: the sweep would prove nothing"
    return sorted(rules, key=lambda r: r.rule)


def id_placeholders(rule) -> list[str]:
    return sorted(a for a in rule.arguments if a != "tenant_slug")


def build_url(app, rule, tenant_slug: str, ids: dict) -> str:
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, tenant_slug=tenant_slug, **ids)


def make_ids(rule, factories, tenant) -> dict:
    ids = {}
    for name in id_placeholders(rule):
        if name not in ID_MAKERS:
            raise LookupError(
                f"{rule.rule} has the placeholder <{name}> that the isolation sweep cannot fill. "
                f"Add a maker for it to ID_MAKERS in {__file__} so the route is proven tenant-safe."
            )
        ids[name] = ID_MAKERS[name](factories, tenant)
    return ids


def snapshot(db, tenant: Tenant) -> dict:
    """Everything an intruder could change in a tenant."""
    with unscoped(db.session, "test snapshot"):
        db.session.expire_all()
        t = db.session.get(Tenant, tenant.id)
        members = {
            (m.user_id, m.role)
            for m in db.session.scalars(select(Membership).where(Membership.tenant_id == tenant.id)).unique()
        }
        invitations = {
            (i.id, i.email, i.token_hash, i.revoked_at, i.send_count)
            for i in db.session.scalars(select(Invitation).where(Invitation.tenant_id == tenant.id)).unique()
        }
        return {
            "tenant": (t.name, t.billing_email, t.deleted_at),
            "members": members,
            "invitations": invitations,
        }


def test_every_tenant_route_placeholder_can_be_filled(app):
    for rule in tenant_rules(app):
        unknown = [name for name in id_placeholders(rule) if name not in ID_MAKERS]
        assert not unknown, f"{rule.rule}: teach ID_MAKERS to fill {unknown}"


def test_member_of_another_tenant_gets_404_on_every_tenant_route(app, db, client, factories, login):
    victim = factories.TenantFactory()
    factories.member(victim, "admin")
    attacker_tenant = factories.TenantFactory()
    attacker = factories.member(attacker_tenant, "admin")
    login(attacker)

    checked = []
    for rule in tenant_rules(app):
        for method in sorted(rule.methods - IGNORED_METHODS):
            # Through the victim's slug: not a member → 404.
            victim_ids = make_ids(rule, factories, victim)
            db.session.commit()
            before = snapshot(db, victim)
            url = build_url(app, rule, victim.slug, victim_ids)
            response = client.open(url, method=method, data=_payload(victim))
            assert response.status_code == 404, (method, url, response.status_code)
            assert snapshot(db, victim) == before, f"{method} {url} changed the victim's data"
            checked.append((method, rule.rule, "victim slug"))

            if not id_placeholders(rule) or set(id_placeholders(rule)) <= GLOBAL_PLACEHOLDERS:
                continue
            # Through the attacker's own slug with the victim's ids: row not in tenant → 404.
            victim_ids = make_ids(rule, factories, victim)
            db.session.commit()
            before = snapshot(db, victim)
            url = build_url(app, rule, attacker_tenant.slug, victim_ids)
            response = client.open(url, method=method, data=_payload(victim))
            assert response.status_code == 404, (method, url, response.status_code)
            assert snapshot(db, victim) == before, f"{method} {url} changed the victim's data"
            checked.append((method, rule.rule, "own slug, foreign id"))

            # Control: the same route with the attacker's own fresh row is not a 404, so
            # the 404 above came from the tenant wall, not from a broken route.
            own_ids = make_ids(rule, factories, attacker_tenant)
            db.session.commit()
            url = build_url(app, rule, attacker_tenant.slug, own_ids)
            response = client.open(url, method=method, data=_payload(attacker_tenant))
            assert response.status_code != 404, (method, url, "control request 404'd")
    id_routes = [c for c in checked if c[2] == "own slug, foreign id"]
    assert id_routes, "no route with an id was swept"


def test_anonymous_visitor_is_sent_to_login_from_every_tenant_route(app, client, factories):
    tenant = factories.TenantFactory()
    factories.member(tenant, "admin")
    for rule in tenant_rules(app):
        ids = {name: uuid.uuid4() for name in id_placeholders(rule)}
        url = build_url(app, rule, tenant.slug, ids)
        for method in sorted(rule.methods - IGNORED_METHODS):
            response = client.open(url, method=method, data=_payload(tenant))
            assert response.status_code == 302, (method, url, response.status_code)
            assert response.headers["Location"].startswith("/login"), (method, url)


def test_unknown_tenant_slug_is_404(client, factories, login):
    tenant = factories.TenantFactory()
    login(factories.member(tenant, "admin"))
    assert client.get("/t/no-such-workspace/").status_code == 404
    assert client.get("/t/no-such-workspace/members").status_code == 404


def test_not_a_member_and_not_found_look_the_same(client, factories, login):
    mine, theirs = factories.TenantFactory(), factories.TenantFactory()
    factories.member(theirs, "admin")
    login(factories.member(mine, "admin"))
    stranger = client.get(f"/t/{theirs.slug}/members")
    missing = client.get("/t/no-such-workspace/members")
    assert stranger.status_code == missing.status_code == 404
    assert theirs.name not in stranger.get_data(as_text=True)


def test_soft_deleted_tenant_is_404_even_for_its_admin(db, client, factories, login):
    from aerospec.models import utcnow

    tenant = factories.TenantFactory()
    admin = factories.member(tenant, "admin")
    login(admin)
    assert client.get(f"/t/{tenant.slug}/").status_code == 200
    tenant.deleted_at = utcnow()
    db.session.commit()
    assert client.get(f"/t/{tenant.slug}/").status_code == 404
    assert client.get(f"/t/{tenant.slug}/members").status_code == 404


@pytest.mark.parametrize("model", [Membership, Invitation])
def test_tenant_scope_of_attacker_never_returns_victim_rows(db, factories, model):
    victim, attacker = factories.TenantFactory(), factories.TenantFactory()
    factories.member(victim, "admin")
    factories.invitation(victim, "someone@example.com")
    with tenant_scope(db.session, attacker.id):
        assert db.session.scalars(select(model)).all() == []
