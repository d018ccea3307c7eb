"""Order services: the state machine, status requests, Decimal pricing, validation, payment, deletion.

Orders are made through the service with quotes from the sandbox over real HTTP; the
helpers here (`catalog`, `make_order`, `in_stock`, SHIP_TO) are shared with test_jobs.py.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from aerospec.compliance.models import AuditLog
from aerospec.errors import Conflict, ValidationFailed
from aerospec.procurement import services
from aerospec.procurement.clients import QuoteLine, SupplierQuote, money
from aerospec.procurement.models import STATUSES, Procurement, ProcurementCommission, ProcurementEvent
from aerospec.procurement.suppliers import supplier_clients
from aerospec.sandbox import pricing
from aerospec.tenancy.scoping import tenant_scope

SHIP_TO = {"name": "Ada Lovelace", "line1": "1 Main St", "city": "Boston", "postal_code": "02110", "country": "US"}


def in_stock(supplier: str, n: int = 0) -> str:
    """The n-th catalog SKU this supplier has at least 100 of."""
    return [s for s in pricing.catalog_skus(supplier) if pricing.offer(supplier, s).stock >= 100][n]


@pytest.fixture
def catalog(db):
    """The sample actuator catalog (the SKUs the sandbox prices), committed in the test's transaction."""
    from aerospec.catalog import services as catalog_services

    catalog_services.seed_actuators(db.session)
    db.session.commit()


@pytest.fixture
def make_order(app, db, sandbox, catalog):
    """make_order(team, supplier=, order_type=, qty=, submit=) → a committed order made by team.user.

    supplier=None makes an unpriced draft (no quote). submit=True submits it, which sends it
    at once (jobs run inline in tests); faults={"spencer": {...}} are switched on just before.
    """

    def _make(team, *, supplier="spencer", order_type="pilot", qty=5, submit=False, items=None, user=None, faults=None):
        user = user or team.user
        skus = items or [{"sku": in_stock(supplier or "spencer"), "qty": qty}]
        with tenant_scope(db.session, team.tenant.id):
            order = services.create_procurement(
                db.session,
                team.tenant,
                user,
                {"order_type": order_type, "items": skus, "selected_supplier": supplier, "ship_to_address": SHIP_TO},
                clients=supplier_clients(app),
                quote_timeout=5.0,
            )
            db.session.commit()
            if faults:  # after the quote, before the send
                sandbox.faults(**faults)
            if submit:
                services.submit(db.session, team.tenant, user, order)
                db.session.commit()
            db.session.refresh(order)  # loaded while its tenant is in context (RLS on PostgreSQL)
            return order

    return _make


def events(db, order, **where) -> list[ProcurementEvent]:
    with tenant_scope(db.session, order.tenant_id):
        query = select(ProcurementEvent).where(ProcurementEvent.procurement_id == order.id)
        for name, value in where.items():
            query = query.where(getattr(ProcurementEvent, name) == value)
        return list(db.session.scalars(query.order_by(ProcurementEvent.created_at)))


def audits(db, order, action: str) -> list[AuditLog]:
    with tenant_scope(db.session, order.tenant_id):
        return list(
            db.session.scalars(select(AuditLog).where(AuditLog.target_id == str(order.id), AuditLog.action == action))
        )


# -- the state machine ----------------------------------------------------------------------------

LEGAL = {
    ("draft", "submitted"),
    ("draft", "cancelled"),
    ("submitted", "confirmed"),
    ("submitted", "failed"),
    ("submitted", "cancelled"),
    ("confirmed", "shipped"),
    ("confirmed", "cancelled"),
    ("shipped", "delivered"),
    ("failed", "draft"),
    ("failed", "cancelled"),
    ("cancelled", "shipped"),  # only when the supplier refuses a cancellation: it had shipped
}
PAIRS = [(a, b) for a in STATUSES for b in STATUSES]


def test_transitions_table_is_exactly_the_legal_pairs():
    assert {(a, b) for a, targets in services.TRANSITIONS.items() for b in targets} == LEGAL
    assert set(services.TRANSITIONS) == set(STATUSES)
    assert not services.TRANSITIONS["delivered"]


@pytest.mark.parametrize(("from_status", "to_status"), PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_transition_allows_only_legal_pairs(db, team, make_order, from_status, to_status):
    t = team()
    order = make_order(t, supplier=None)
    with tenant_scope(db.session, t.tenant.id):
        order.status = from_status
        db.session.flush()
        before = len(events(db, order))
        if (from_status, to_status) in LEGAL:
            services.transition(db.session, order, to_status, message="moved")
            assert order.status == to_status
            assert len(events(db, order)) == before + 1
            assert len(audits(db, order, f"procurement.{to_status}")) == 1
        else:
            with pytest.raises(services.IllegalTransition) as refused:
                services.transition(db.session, order, to_status)
            assert refused.value.status == 409
            assert order.status == from_status and len(events(db, order)) == before


def test_transition_stamps_the_status_time_and_emails_the_creator(db, team, make_order):
    from aerospec.notifications.models import EmailMessage

    t = team()
    order = make_order(t, supplier=None)
    with tenant_scope(db.session, t.tenant.id):
        services.transition(db.session, order, "cancelled", message="No longer needed.")
        assert order.cancelled_at is not None
        (event,) = events(db, order, to_status="cancelled")
        assert (event.from_status, event.message) == ("draft", "No longer needed.")
        mail = db.session.scalars(select(EmailMessage).where(EmailMessage.to_address == t.user.email)).all()
        assert [m.template for m in mail] == ["procurement_status"] and order.reference in mail[0].subject


def test_unknown_status_is_a_field_error(db, team, make_order):
    t = team()
    order = make_order(t, supplier=None)
    with tenant_scope(db.session, t.tenant.id), pytest.raises(ValidationFailed) as bad:
        services.transition(db.session, order, "lost")
    assert "status" in bad.value.field_errors


# -- what a person may ask for --------------------------------------------------------------------


@pytest.mark.parametrize("target", ["confirmed", "shipped", "delivered", "failed"])
def test_supplier_only_statuses_cannot_be_requested(db, team, make_order, target):
    t = team()
    order = make_order(t)
    with tenant_scope(db.session, t.tenant.id):
        with pytest.raises(services.IllegalTransition) as refused:
            services.request_status(db.session, t.tenant, t.user, order, target)
        assert refused.value.status == 409 and "supplier" in refused.value.message
        assert order.status == "draft"


@pytest.mark.parametrize("target", ["bogus", None, 3])
def test_requesting_an_unknown_status_is_a_validation_error(db, team, make_order, target):
    t = team()
    order = make_order(t)
    with tenant_scope(db.session, t.tenant.id), pytest.raises(ValidationFailed) as bad:
        services.request_status(db.session, t.tenant, t.user, order, target)
    assert "status" in bad.value.field_errors


def test_only_a_failed_order_goes_back_to_draft(db, team, make_order):
    t = team()
    order = make_order(t, submit=True)
    with tenant_scope(db.session, t.tenant.id):
        assert order.status == "confirmed"
        with pytest.raises(services.IllegalTransition):
            services.request_status(db.session, t.tenant, t.user, order, "draft")


def test_delivered_and_shipped_orders_cannot_be_cancelled(db, team, make_order):
    t = team()
    order = make_order(t, supplier=None)
    with tenant_scope(db.session, t.tenant.id):
        for status in ("shipped", "delivered", "cancelled"):
            order.status = status
            with pytest.raises(services.IllegalTransition):
                services.request_status(db.session, t.tenant, t.user, order, "cancelled")


def test_request_cancel_of_a_draft_cancels_without_asking_a_supplier(db, team, make_order, sandbox):
    t = team()
    order = make_order(t)
    with tenant_scope(db.session, t.tenant.id):
        services.request_status(db.session, t.tenant, t.user, order, "cancelled")
        db.session.commit()
        assert order.status == "cancelled"
    assert sandbox.requests("spencer", "POST /orders/<order_id>/cancel") == 0


# -- money ---------------------------------------------------------------------------------------


def quote(subtotal: str, tax: str, shipping: str) -> SupplierQuote:
    sub, tx, ship = Decimal(subtotal), Decimal(tax), Decimal(shipping)
    line = QuoteLine("SP-X", 1, sub, sub, "in_stock", 5)
    return SupplierQuote("spencer", (line,), sub, tx, ship, sub + tx + ship, "USD", 5, "in_stock", datetime.now(UTC))


def test_price_discounts_the_goods_only_and_scales_the_tax():
    totals = services.price(quote("100.00", "7.25", "12.50"), Decimal("0.03"))
    assert totals.subtotal == Decimal("100.00")
    assert totals.discount == Decimal("3.00")
    assert totals.tax == Decimal("7.03")  # 7.25 × 97 / 100 = 7.0325
    assert totals.shipping == Decimal("12.50")  # not discounted
    assert totals.total == Decimal("116.53")
    for value in vars(totals).values():
        assert isinstance(value, Decimal) and not isinstance(value, float)


def test_price_rounds_cents_half_up_not_to_even():
    totals = services.price(quote("10.10", "1.00", "0"), Decimal("0.05"))
    assert totals.discount == Decimal("0.51")  # 0.505: half-up, where banker's rounding gives 0.50
    assert totals.tax == Decimal("0.95")  # 1.00 × 9.59 / 10.10 = 0.9495…
    assert totals.total == Decimal("10.54")
    assert all(v == v.quantize(Decimal("0.01")) for k, v in vars(totals).items() if k != "discount_rate")


def test_price_without_goods_keeps_the_suppliers_tax():
    totals = services.price(quote("0", "1.25", "4.00"), Decimal("0.05"))
    assert (totals.discount, totals.tax, totals.total) == (Decimal("0.00"), Decimal("1.25"), Decimal("5.25"))


@pytest.mark.parametrize(
    ("plan", "limits", "expected"),
    [
        ("starter", {}, Decimal("0")),
        ("professional", {}, Decimal("0.03")),
        ("enterprise", {}, Decimal("0.05")),
        ("starter", {"procurement_discount": 0.07}, Decimal("0.07")),
        ("enterprise", {"procurement_discount": "0"}, Decimal("0")),
    ],
)
def test_discount_rate_follows_the_plan_and_a_tenant_override(db, factories, plan, limits, expected):
    tenant = factories.TenantFactory(plan=plan, limits=limits)
    rate = services.discount_rate(tenant)
    assert rate == expected and isinstance(rate, Decimal)


def test_an_order_is_priced_from_the_live_quote_with_the_tenants_discount(db, team, make_order, app):
    t = team(plan="enterprise")
    order = make_order(t, qty=250)
    live = supplier_clients(app)[0].quote([(in_stock("spencer"), 250)])
    with tenant_scope(db.session, t.tenant.id):
        assert order.subtotal == live.subtotal
        assert order.discount_rate == Decimal("0.05")
        assert order.discount == money(live.subtotal * Decimal("0.05"))
        assert order.total == order.subtotal - order.discount + order.tax + order.shipping
        assert order.items[0].line_total == live.items[0].line_total
        for value in (order.subtotal, order.discount, order.tax, order.shipping, order.total):
            assert isinstance(value, Decimal)


# -- validation ----------------------------------------------------------------------------------


def test_clean_address_normalises_a_good_address():
    cleaned = services.clean_address(SHIP_TO | {"country": "us", "city": "  Boston ", "line2": ""})
    assert cleaned["country"] == "US" and cleaned["city"] == "Boston" and "line2" not in cleaned


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"line1": "   "}, "line1"),
        ({"city": None}, "city"),
        ({"postal_code": "!"}, "postal_code"),
        ({"country": "USA"}, "country"),
        ({"country": 1}, "country"),
        ({"company": "x" * 201}, "company"),
        ({"planet": "Mars"}, "planet"),
    ],
)
def test_clean_address_names_the_field_at_fault(change, field):
    with pytest.raises(ValidationFailed) as bad:
        services.clean_address(SHIP_TO | change)
    assert list(bad.value.field_errors) == [f"ship_to_address.{field}"]


def test_clean_address_wants_an_object_with_every_required_part():
    with pytest.raises(ValidationFailed) as bad:
        services.clean_address("1 Main St, Boston")
    assert list(bad.value.field_errors) == ["ship_to_address"]
    with pytest.raises(ValidationFailed) as bad:
        services.clean_address({})
    assert set(bad.value.field_errors) == {f"ship_to_address.{k}" for k in services.ADDRESS_REQUIRED}


def test_clean_items_merges_duplicate_skus(db, catalog):
    a, b = in_stock("spencer", 0), in_stock("spencer", 1)
    items = services.clean_items(
        db.session, "spencer", [{"sku": a, "qty": 2}, {"sku": b, "qty": 1}, {"sku": a, "qty": 3}]
    )
    assert [(i.sku, i.qty) for i in items] == [(a, 5), (b, 1)]


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        ([{"sku": "SP-NOPE", "qty": 1}], "items.0.sku", "not in the actuator catalog"),
        ([{"sku": "COSTER", "qty": 1}], "items.0.sku", "Coster part"),
        ([{"sku": "SPENCER", "qty": 0}], "items.0", "qty must be"),
        ([{"sku": "SPENCER", "qty": True}], "items.0", "qty must be"),
        ([{"sku": "SPENCER", "qty": 1.5}], "items.0", "qty must be"),
        ([{"sku": "SPENCER", "qty": services.MAX_QTY + 1}], "items.0.qty", "At most"),
        ([{"sku": "SPENCER"}], "items.0", "sku and a qty"),
        ([], "items", "at least one"),
        ("SPENCER", "items", "at least one"),
        # a SKU's error points at the first line naming it, even after duplicates were merged
        ([{"sku": "SPENCER", "qty": 1}, {"sku": "SPENCER", "qty": 1}, {"sku": "SP-NOPE", "qty": 1}], "items.2.sku", ""),
        ([{"sku": "SPENCER", "qty": services.MAX_QTY}, {"sku": "SPENCER", "qty": 1}], "items.0.qty", "in all"),
    ],
)
def test_clean_items_refuses_bad_lines_with_field_errors(db, catalog, raw, field, words):
    def real(value):
        return {"SPENCER": in_stock("spencer"), "COSTER": in_stock("coster")}.get(value, value)

    if isinstance(raw, list):
        raw = [{k: real(v) for k, v in item.items()} for item in raw]
    with pytest.raises(ValidationFailed) as bad:
        services.clean_items(db.session, "spencer", raw)
    assert field in bad.value.field_errors, bad.value.field_errors
    assert words in " ".join(bad.value.field_errors[field])


def test_clean_items_limits_the_number_of_lines(db, catalog):
    raw = [{"sku": f"SP-{i}", "qty": 1} for i in range(services.MAX_LINES + 1)]
    with pytest.raises(ValidationFailed) as bad:
        services.clean_items(db.session, None, raw)
    assert "items" in bad.value.field_errors


def test_without_a_supplier_any_catalog_sku_is_accepted(db, catalog):
    raw = [{"sku": in_stock("spencer"), "qty": 1}, {"sku": in_stock("coster"), "qty": 2}]
    assert len(services.clean_items(db.session, None, raw)) == 2


# -- submitting and payment ------------------------------------------------------------------------


def test_an_unpaid_sample_order_is_not_ready_to_submit(db, team, make_order):
    t = team()
    order = make_order(t, order_type="sample")
    with tenant_scope(db.session, t.tenant.id):
        assert services.ready_to_submit(order) == ["Pay for this sample order: samples go to the supplier once paid."]
        with pytest.raises(Conflict) as blocked:
            services.request_status(db.session, t.tenant, t.user, order, "submitted")
        assert "Pay for this sample" in blocked.value.message and order.status == "draft"
        order.payment_status = "paid"
        assert services.ready_to_submit(order) == []


def test_a_pilot_order_may_be_submitted_unpaid_but_not_unpriced(db, team, make_order):
    t = team()
    with tenant_scope(db.session, t.tenant.id):
        assert services.ready_to_submit(make_order(t, order_type="pilot")) == []
        unpriced = make_order(t, supplier=None)
        assert services.ready_to_submit(unpriced) == ["Choose a supplier's quote."]
        with pytest.raises(Conflict):
            services.submit(db.session, t.tenant, t.user, unpriced)


@pytest.mark.parametrize(
    ("plan", "rate"), [("starter", Decimal("0.20")), ("professional", Decimal("0.15")), ("enterprise", Decimal("0.10"))]
)
def test_payment_records_one_commission_at_the_plan_rate_and_submits_the_sample(db, team, make_order, plan, rate):
    t = team(plan=plan)
    order = make_order(t, order_type="sample")
    with tenant_scope(db.session, t.tenant.id):
        assert services.record_payment(db.session, order, succeeded=True, provider="offline", payment_intent_id="pi_1")
        db.session.commit()  # the send job runs (inline) after this commit
        assert order.payment_status == "paid" and order.paid_at is not None
        assert order.status == "confirmed" and order.supplier_order_id
        again = services.record_payment(db.session, order, succeeded=True, provider="offline", payment_intent_id="pi_1")
        late_failure = services.record_payment(db.session, order, succeeded=False, provider="offline", error="no")
        db.session.commit()
        assert (again, late_failure) == (False, False)
        assert order.payment_status == "paid" and order.payment_error is None
        (commission,) = db.session.scalars(
            select(ProcurementCommission).where(ProcurementCommission.procurement_id == order.id)
        ).all()
        assert commission.rate == rate and commission.plan == plan
        assert commission.base_amount == order.total
        assert commission.amount == money(order.total * rate) and isinstance(commission.amount, Decimal)
        assert len(audits(db, order, "procurement.paid")) == 1


def test_a_failed_payment_is_recorded_once_and_a_later_success_still_counts(db, team, make_order):
    t = team()
    order = make_order(t, order_type="sample")
    with tenant_scope(db.session, t.tenant.id):
        assert services.record_payment(db.session, order, succeeded=False, provider="offline", error="Card declined")
        assert not services.record_payment(
            db.session, order, succeeded=False, provider="offline", error="Card declined"
        )
        assert order.payment_status == "failed" and order.status == "draft"
        assert len(events(db, order, kind="payment")) == 1
        assert services.record_payment(db.session, order, succeeded=True, provider="offline")
        db.session.commit()
        assert order.payment_status == "paid" and order.payment_error is None and order.status == "confirmed"


# -- deleting ------------------------------------------------------------------------------------


def test_a_draft_is_deleted_with_an_audit_entry(db, team, make_order):
    t = team()
    order = make_order(t)
    order_id = order.id
    with tenant_scope(db.session, t.tenant.id):
        services.delete_draft(db.session, t.tenant, t.admin, order)
        db.session.commit()
        assert db.session.get(Procurement, order_id) is None
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "procurement.deleted"))
        assert entry.target_id == str(order_id) and entry.actor_id == t.admin.id


def test_a_cancelled_order_never_sent_may_be_deleted_but_not_one_the_supplier_had(db, team, make_order):
    t = team()
    never_sent, sent = make_order(t), make_order(t, submit=True)
    with tenant_scope(db.session, t.tenant.id):
        services.request_status(db.session, t.tenant, t.user, never_sent, "cancelled")
        services.delete_draft(db.session, t.tenant, t.user, never_sent)
        services.request_status(db.session, t.tenant, t.user, sent, "cancelled")
        with pytest.raises(Conflict):
            services.delete_draft(db.session, t.tenant, t.user, sent)


@pytest.mark.parametrize(("status", "payment"), [("submitted", "unpaid"), ("draft", "pending"), ("draft", "paid")])
def test_orders_past_draft_or_with_a_payment_cannot_be_deleted(db, team, make_order, status, payment):
    t = team()
    order = make_order(t)
    with tenant_scope(db.session, t.tenant.id):
        order.status, order.payment_status = status, payment
        with pytest.raises(Conflict):
            services.delete_draft(db.session, t.tenant, t.user, order)


WITHDRAWALS = [
    # (status, payment, sent to the supplier) → what "cancel procurement" does (README "Procurement")
    ("draft", "unpaid", False, "delete"),
    ("draft", "failed", False, "delete"),
    ("draft", "pending", False, "cancel"),
    ("draft", "paid", False, "cancel"),
    ("submitted", "paid", False, "cancel"),
    ("confirmed", "paid", True, "cancel"),
    ("failed", "paid", True, "cancel"),
    ("shipped", "paid", True, None),
    ("delivered", "paid", True, None),
    ("cancelled", "unpaid", False, "delete"),
    ("cancelled", "paid", False, None),
    ("cancelled", "unpaid", True, None),
]


@pytest.mark.parametrize(("status", "payment", "sent", "expected"), WITHDRAWALS)
def test_withdrawal_deletes_drafts_cancels_what_has_not_shipped_and_keeps_payments(status, payment, sent, expected):
    order = Procurement(status=status, payment_status=payment, supplier_order_id="SO-1" if sent else None)
    assert services.withdrawal(order) == expected


def test_withdraw_refuses_a_shipped_order_and_leaves_a_cancelled_one_alone(db, team, make_order):
    t = team()
    shipped, cancelled = make_order(t, submit=True), make_order(t)
    with tenant_scope(db.session, t.tenant.id):
        services.transition(db.session, shipped, "shipped")
        with pytest.raises(services.IllegalTransition, match="only orders not yet shipped"):
            services.withdraw(db.session, t.tenant, t.user, shipped)
        assert shipped.status == "shipped"
        cancelled.payment_status = "paid"
        services.cancel(db.session, t.tenant, t.user, cancelled)
        events_before = len(cancelled.events)
        assert services.withdraw(db.session, t.tenant, t.user, cancelled) == "unchanged"
        assert len(cancelled.events) == events_before


def test_events_carry_their_tone_and_older_ones_read_it_from_their_status():
    assert services.event_tone(ProcurementEvent(kind="payment", message="Payment failed: x", tone="danger")) == "danger"
    assert services.event_tone(ProcurementEvent(kind="status", to_status="failed", message="")) == "danger"
    assert services.event_tone(ProcurementEvent(kind="status", to_status="delivered", message="")) == "success"
    assert services.event_tone(ProcurementEvent(kind="payment", message="Paid USD 1.00.")) == "neutral"
    with pytest.raises(ValueError, match="unknown tone"):
        services.add_event(None, Procurement(), "note", "x", tone="green")


def test_get_procurement_is_404_for_another_tenants_order_and_for_junk_ids(db, team, make_order):
    from aerospec.errors import NotFound

    mine, theirs = team(), team()
    order = make_order(mine)
    with tenant_scope(db.session, theirs.tenant.id):
        for pid in (order.id, str(uuid.uuid4()), "not-a-uuid"):
            with pytest.raises(NotFound):
                services.get_procurement(db.session, theirs.tenant, pid)


def test_ordering_is_a_plan_feature_a_platform_admin_can_switch_off(app, db, team, make_order, catalog):
    from aerospec.tenancy.features import FeatureNotInPlan

    allowed = team(plan="starter")  # every plan orders samples (the commission rate differs)
    assert make_order(allowed).status == "draft"

    switched_off = team(features={"ecommerce": False})
    with tenant_scope(db.session, switched_off.tenant.id), pytest.raises(FeatureNotInPlan) as refused:
        services.create_procurement(
            db.session,
            switched_off.tenant,
            switched_off.user,
            {"order_type": "pilot", "items": [{"sku": in_stock("spencer"), "qty": 1}], "ship_to_address": SHIP_TO},
            clients=supplier_clients(app),
        )
    assert refused.value.status == 402 and "Sample ordering" in refused.value.message
    with tenant_scope(db.session, switched_off.tenant.id):
        assert (
            db.session.scalars(select(Procurement).where(Procurement.tenant_id == switched_off.tenant.id)).all() == []
        )


def test_each_timeline_line_is_attributed_to_who_reported_it():
    """The supplier's answers are the supplier's (the timeline said "Coster accepted …" · AeroSpec)."""
    from aerospec.accounts.models import User

    placed = Procurement(selected_supplier="coster", supplier_order_id="CV-ORD-1")
    unsent = Procurement(selected_supplier="coster")

    def source(order=placed, **event):
        return services.event_source(ProcurementEvent(message="", **event), order)

    assert source(kind="submit", tone="success") == "Coster"  # "Coster accepted the order as CV-ORD-1."
    assert source(kind="submit", tone="warning") == "AeroSpec"  # our attempt that timed out
    for step in ("confirmed", "shipped", "delivered", "failed"):
        assert source(kind="status", to_status=step) == "Coster"
    assert source(kind="status", to_status="cancelled") == "Coster"  # cancelled on their side
    assert source(unsent, kind="status", to_status="cancelled") == "AeroSpec"
    assert source(kind="status", to_status="submitted") == "AeroSpec"
    assert source(kind="payment", tone="danger") == "Payment provider"
    assert source(kind="status", to_status="cancelled", actor=User(name="Bea Buyer", email="b@x.example")) == (
        "Bea Buyer"
    )
