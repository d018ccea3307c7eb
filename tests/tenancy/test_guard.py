"""Wall two and three: the lookup helper and the ORM guard."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select
from werkzeug.exceptions import NotFound

from aerospec.accounts.models import RefreshToken
from aerospec.api.models import ApiKey
from aerospec.billing.models import BillingNotice, BillingSubscription, Invoice, OfflineCheckoutSession, UsageRollup
from aerospec.catalog.models import SdsDocument, TenantActuator, TenantFluid
from aerospec.compliance import services as audit
from aerospec.compliance.models import AuditLog
from aerospec.configurations.models import Configuration, ConfigurationShare, ConfigurationVersion
from aerospec.feedback.models import (
    CustomModel,
    Feedback,
    FeedbackAggregate,
    FeedbackFile,
    FeedbackImport,
    FeedbackReminder,
    TenantCorrectionModel,
)
from aerospec.models import TenantOwned
from aerospec.procurement.models import Procurement, ProcurementCommission, ProcurementEvent, ProcurementLineItem
from aerospec.revenue.models import MrrLedgerEntry
from aerospec.tenancy.context import get_for_tenant_or_404
from aerospec.tenancy.models import Invitation, Membership
from aerospec.tenancy.scoping import (
    NoTenantInContext,
    bypass_reason,
    current_tenant_id,
    tenant_scope,
    unscoped,
)
from aerospec.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.catalog import makers  # noqa: E402 - catalog rows for the fixture below
from tests.feedback.makers import (  # noqa: E402 - rows for the fixture below
    aggregate,
    bulk_import,
    correction_layer,
    custom_model,
    lab_file,
    lab_result,
    reminder,
)
from tests.webhooks import makers as webhook_makers  # noqa: E402 - webhook rows for the fixture below

GUARDED = [
    Membership,
    Invitation,
    AuditLog,
    Configuration,
    ConfigurationVersion,
    ConfigurationShare,
    TenantFluid,
    TenantActuator,  # a workspace's own actuator (issue 12 item 7)
    SdsDocument,
    Procurement,
    ProcurementLineItem,
    ProcurementEvent,
    ProcurementCommission,
    BillingSubscription,
    Invoice,
    UsageRollup,
    BillingNotice,
    OfflineCheckoutSession,
    RefreshToken,
    Feedback,
    FeedbackFile,  # a lab result's instrument export (issue 12 pages)
    FeedbackAggregate,
    FeedbackReminder,
    FeedbackImport,
    ApiKey,  # issue 14: a workspace's API keys (looked up in the scope of the workspace the key names)
    MrrLedgerEntry,  # the platform's revenue ledger, one row per workspace change: RLS like any tenant row
    TenantCorrectionModel,  # a workspace's own correction layer (its SKU-level means): never another's
    WebhookEndpoint,
    WebhookDelivery,
    WebhookAttempt,
    CustomModel,  # a workspace's custom model, trained on its selection of lab results
]


@pytest.fixture
def two_tenants(db, factories):
    a, b = factories.TenantFactory(), factories.TenantFactory()
    for tenant in (a, b):
        admin = factories.member(tenant, "admin")
        viewer = factories.member(tenant, "viewer")
        factories.invitation(tenant, f"invitee@{tenant.slug}.example")
        with tenant_scope(db.session, tenant.id):
            audit.record(db.session, tenant.id, "tenant.created", actor=admin)
            _configuration_rows(db, tenant, admin, viewer)
        makers.tenant_fluid(tenant, created_by=admin)
        makers.own_actuator(tenant, created_by=admin)
        with tenant_scope(db.session, tenant.id):
            db.session.add(
                SdsDocument(
                    tenant_id=tenant.id,
                    uploaded_by_id=admin.id,
                    filename="sheet.pdf",
                    size_bytes=8,
                    sha256="0" * 64,
                    content=b"%PDF-1.7",
                    status="queued",
                    extracted=[],
                )  # fmt: skip
            )
            db.session.flush()
            _procurement_rows(db, tenant, admin)
            _billing_rows(db, tenant)
            _token_and_checkout_rows(db, tenant, admin)
            _ledger_row(db, tenant)
            webhook_makers.delivery_with_attempt(db.session, webhook_makers.endpoint(db.session, tenant.id))
    return a, b


def _ledger_row(db, tenant) -> None:
    """One MRR ledger row (what the revenue dashboard aggregates across workspaces, unscoped and logged)."""
    from aerospec.models import utcnow

    now = utcnow()
    db.session.add(
        MrrLedgerEntry(
            tenant_id=tenant.id,
            event_id=f"evt_{tenant.id.hex[:12]}",
            source="offline",
            kind="new",
            effective_at=now,
            month=now.strftime("%Y-%m"),
            cohort=now.strftime("%Y-%m"),
            plan="professional",
            interval="month",
            mrr_before=0,
            mrr_after=200000,
            delta=200000,
        )
    )
    db.session.flush()


def _token_and_checkout_rows(db, tenant, admin) -> None:
    """A refresh token and an offline checkout (what the token exchange and the checkout page read)."""
    from datetime import timedelta

    from aerospec.accounts.models import UserSession
    from aerospec.models import utcnow

    login = UserSession(user_id=admin.id, kind="api")
    db.session.add(login)
    db.session.flush()
    db.session.add_all(
        [
            RefreshToken(
                tenant_id=tenant.id,
                session_id=login.id,
                user_id=admin.id,
                token_hash=uuid.uuid4().hex * 2,
                expires_at=utcnow() + timedelta(days=7),
            ),
            ApiKey(
                tenant_id=tenant.id,
                name="Guarded key",
                mode="test",
                hint="sk_test_…0000",
                secret_hash=uuid.uuid4().hex * 2,
                scopes=["configurations:read"],
                created_by_id=admin.id,
            ),
            OfflineCheckoutSession(
                id=f"cs_offline_{uuid.uuid4().hex}",
                tenant_id=tenant.id,
                mode="payment",
                amount_total=12000,
                customer_email=admin.email,
                success_url="/paid",
                cancel_url="/cancelled",
            ),
        ]
    )
    db.session.flush()


def _billing_rows(db, tenant) -> None:
    """A subscription, an invoice, a usage roll-up and a notice (the billing models' rows)."""
    ref = tenant.id.hex[:12]
    subscription = BillingSubscription(
        tenant_id=tenant.id,
        provider="offline",
        provider_customer_id=f"cus_{ref}",
        provider_subscription_id=f"sub_{ref}",
        plan="professional",
        status="active",
    )
    db.session.add(subscription)
    db.session.flush()
    db.session.add_all(
        [
            Invoice(
                tenant_id=tenant.id,
                provider="offline",
                provider_invoice_id=f"in_{ref}",
                subscription_id=subscription.id,
                status="paid",
                total=200000,
            ),
            UsageRollup(tenant_id=tenant.id, metric="configurations_per_month", period="2026-11", count=3),
            BillingNotice(tenant_id=tenant.id, kind="trial_reminder", key="7d"),
        ]
    )
    db.session.flush()


def _procurement_rows(db, tenant, creator) -> None:
    """An order with a line, a timeline event and a commission (the procurement models' rows)."""
    from decimal import Decimal

    order = Procurement(
        tenant_id=tenant.id,
        created_by_id=creator.id,
        reference=f"PO-{tenant.slug[:8].upper()}",
        order_type="sample",
        status="draft",
        ship_to_address={
            "name": "Lab",
            "line1": "1 Main St",
            "city": "Austin",
            "postal_code": "78701",
            "country": "US",
        },
        idempotency_key=f"key-{tenant.id.hex}",
        total=Decimal("120.00"),
    )
    order.items.append(ProcurementLineItem(tenant_id=tenant.id, sku="SP-MB-0100-PP", qty=10))
    order.events.append(ProcurementEvent(tenant_id=tenant.id, kind="status", message="Created", to_status="draft"))
    db.session.add(order)
    db.session.flush()
    db.session.add(
        ProcurementCommission(
            tenant_id=tenant.id,
            procurement_id=order.id,
            plan=tenant.plan,
            rate=Decimal("0.15"),
            base_amount=Decimal("120.00"),
            amount=Decimal("18.00"),
        )
    )
    db.session.flush()
    reminder(db.session, tenant.id, order.id)


def _configuration_rows(db, tenant, owner, viewer) -> None:
    """A configuration with a version and a share (the configuration models' rows)."""
    from aerospec.configurations import services as configs
    from aerospec.limits import counters
    from aerospec.tenancy.models import Membership

    membership = db.session.scalar(
        select(Membership).where(Membership.tenant_id == tenant.id, Membership.user_id == owner.id)
    )
    config, _ = configs.create_configuration(
        db.session, tenant, membership,
        {"name": "Guarded", "fluid_viscosity_cP": 1, "fluid_density_kg_m3": 997, "fluid_surface_tension_mN_m": 72,
         "max_pressure_bar": 5, "target_spray_cone_deg": 60},
        counter=counters.DatabaseCounter(),
    )  # fmt: skip
    configs.share_configuration(db.session, tenant, membership, config, user_id=viewer.id, permission="view")
    lab_file(db.session, tenant.id, lab_result(db.session, tenant.id, config.id, by=owner.id).id)
    correction_layer(db.session, tenant.id)
    aggregate(db.session, tenant.id)
    bulk_import(db.session, tenant.id, config.id, by=owner.id)
    custom_model(db.session, tenant.id)


def test_every_tenant_owned_model_is_covered_here():
    from aerospec.extensions import db

    owned = {m.class_ for m in db.Model.registry.mappers if issubclass(m.class_, TenantOwned)}
    assert owned == set(GUARDED), "a new tenant-owned model: add it to GUARDED and the RLS tests"


@pytest.mark.parametrize("model", GUARDED, ids=lambda m: m.__name__)
def test_query_without_tenant_in_context_raises(db, two_tenants, model):
    assert current_tenant_id() is None
    with pytest.raises(NoTenantInContext):
        db.session.scalars(select(model)).all()


@pytest.mark.parametrize("model", GUARDED, ids=lambda m: m.__name__)
def test_get_by_primary_key_without_tenant_raises(db, two_tenants, model):
    a, _ = two_tenants
    with tenant_scope(db.session, a.id):
        row_id = db.session.scalars(select(model.id)).first()
    db.session.expunge_all()  # force a real SELECT instead of the identity map
    with pytest.raises(NoTenantInContext):
        db.session.get(model, row_id)


@pytest.mark.parametrize("model", GUARDED, ids=lambda m: m.__name__)
def test_tenant_scope_returns_only_that_tenants_rows(db, two_tenants, model):
    a, b = two_tenants
    with tenant_scope(db.session, a.id):
        rows_a = db.session.scalars(select(model)).unique().all()
        count_a = db.session.scalar(select(func.count()).select_from(model))
    with tenant_scope(db.session, b.id):
        rows_b = db.session.scalars(select(model)).unique().all()
    assert rows_a and rows_b
    assert {r.tenant_id for r in rows_a} == {a.id}
    assert {r.tenant_id for r in rows_b} == {b.id}
    assert count_a == len(rows_a)


@pytest.mark.parametrize("model", GUARDED, ids=lambda m: m.__name__)
def test_a_filter_on_another_tenant_cannot_widen_the_scope(db, two_tenants, model):
    a, b = two_tenants
    with tenant_scope(db.session, a.id):
        assert db.session.scalars(select(model).where(model.tenant_id == b.id)).all() == []


@pytest.mark.parametrize("model", GUARDED, ids=lambda m: m.__name__)
def test_unscoped_sees_every_tenant_and_says_why(db, two_tenants, model):
    a, b = two_tenants
    with unscoped(db.session, "test: count across tenants"):
        assert bypass_reason() == "test: count across tenants"
        tenants = {r.tenant_id for r in db.session.scalars(select(model)).unique()}
    assert {a.id, b.id} <= tenants
    assert bypass_reason() is None
    with pytest.raises(NoTenantInContext):
        db.session.scalars(select(model)).all()


def test_tenant_scope_restores_the_previous_tenant(db, two_tenants):
    a, b = two_tenants
    with tenant_scope(db.session, a.id):
        with tenant_scope(db.session, b.id):
            assert current_tenant_id() == b.id
        assert current_tenant_id() == a.id
    assert current_tenant_id() is None


def test_joined_relationship_load_is_scoped_too(db, two_tenants):
    a, b = two_tenants
    with tenant_scope(db.session, a.id):
        invitations = db.session.scalars(select(Invitation)).unique().all()
    assert {i.tenant.id for i in invitations} == {a.id}


# ---- get_for_tenant_or_404


def _in_tenant_request(app, db, tenant):
    from flask import g

    ctx = app.test_request_context()
    ctx.push()
    g.tenant = tenant
    return ctx


@pytest.mark.parametrize("model", GUARDED, ids=lambda m: m.__name__)
def test_get_for_tenant_or_404_finds_own_row_and_404s_for_another_tenants(app, db, two_tenants, model):
    a, b = two_tenants
    with tenant_scope(db.session, b.id):
        b_row_id = db.session.scalars(select(model.id)).first()
    with tenant_scope(db.session, a.id):
        a_row_id = db.session.scalars(select(model.id)).first()
    ctx = _in_tenant_request(app, db, a)
    try:
        with tenant_scope(db.session, a.id):
            assert get_for_tenant_or_404(model, a_row_id).id == a_row_id
            assert get_for_tenant_or_404(model, str(a_row_id)).id == a_row_id
            with pytest.raises(NotFound):
                get_for_tenant_or_404(model, b_row_id)
            # Even with the wall open, the helper still checks the tenant.
            with unscoped(db.session, "test: helper must not depend on the guard"), pytest.raises(NotFound):
                get_for_tenant_or_404(model, b_row_id)
    finally:
        ctx.pop()


def test_get_for_tenant_or_404_404s_on_garbage_and_unknown_ids(app, db, two_tenants):
    a, _ = two_tenants
    ctx = _in_tenant_request(app, db, a)
    try:
        with tenant_scope(db.session, a.id):
            for bad in ("not-a-uuid", "", uuid.uuid4()):
                with pytest.raises(NotFound):
                    get_for_tenant_or_404(Membership, bad)
    finally:
        ctx.pop()


def test_get_for_tenant_or_404_refuses_models_that_are_not_tenant_owned(app, db, two_tenants):
    from aerospec.accounts.models import User

    a, _ = two_tenants
    ctx = _in_tenant_request(app, db, a)
    try:
        with pytest.raises(TypeError):
            get_for_tenant_or_404(User, uuid.uuid4())
    finally:
        ctx.pop()


@pytest.mark.parametrize("model", GUARDED, ids=lambda m: m.__name__)
def test_counts_joins_and_subqueries_are_guarded_too(db, two_tenants, model):
    from aerospec.tenancy.models import Tenant

    a, _ = two_tenants
    count = select(func.count()).select_from(model)
    joined = select(Tenant.id).join(model, model.tenant_id == Tenant.id)
    nested = select(func.count()).select_from(select(model.id).subquery())
    for statement in (count, joined, nested):
        with pytest.raises(NoTenantInContext):
            db.session.execute(statement).all()
    with tenant_scope(db.session, a.id):
        expected = len(db.session.scalars(select(model)).unique().all())
        assert db.session.scalar(count) == expected
        assert db.session.scalar(nested) == expected
        assert set(db.session.scalars(joined)) == {a.id}


@pytest.mark.parametrize("model", GUARDED, ids=lambda m: m.__name__)
def test_a_statement_reused_across_requests_is_guarded_every_time(db, two_tenants, model):
    """The guard remembers what it found walking a statement (scoping._walked): reusing the same
    statement object, as the per-request lookups do, must still raise without a tenant and be
    scoped to whichever tenant is in context at each use."""
    a, b = two_tenants
    statement = select(select(func.count()).select_from(model).scalar_subquery())  # no entity: walked
    counts = {}
    for tenant in (a, b):
        with tenant_scope(db.session, tenant.id):
            counts[tenant.id] = len(db.session.scalars(select(model)).unique().all())
    for _ in range(2):
        with pytest.raises(NoTenantInContext):
            db.session.execute(statement).all()
        for tenant in (a, b, a):
            with tenant_scope(db.session, tenant.id):
                assert db.session.scalar(statement) == counts[tenant.id]


@pytest.mark.parametrize("model", GUARDED, ids=lambda m: m.__name__)
def test_a_reused_entity_statement_reads_only_the_tenant_in_context_each_time(db, two_tenants, model):
    """The guard keeps its filtered copy of a statement per statement and tenant (scoping._guarded): one
    statement object reused across tenants reads each tenant's rows alone, a bypass reads all of them,
    and no tenant still raises."""
    a, b = two_tenants
    statement = select(model)
    for _ in range(2):
        for tenant in (a, b, a):
            with tenant_scope(db.session, tenant.id):
                assert {r.tenant_id for r in db.session.scalars(statement).unique()} == {tenant.id}
        with unscoped(db.session, "test: one statement across tenants"):
            assert {a.id, b.id} <= {r.tenant_id for r in db.session.scalars(statement).unique()}
        with pytest.raises(NoTenantInContext):
            db.session.scalars(statement).all()
