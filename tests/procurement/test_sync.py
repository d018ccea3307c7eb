"""Supplier catalog sync over the real sandbox: batching, upserts, partial failure, staleness."""

from __future__ import annotations

import math
import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select

from aerospec.catalog.models import Actuator
from aerospec.models import utcnow
from aerospec.procurement import sync
from aerospec.procurement.models import SupplierSyncRun
from aerospec.sandbox import pricing
from tests.catalog import makers

N = 1_100  # over two Spencer batches (500) and one Coster batch (1,000)
UNKNOWN = {"spencer": "SP-ZZ-0001-PP", "coster": "CV.XXX.001.01"}  # not in either supplier's format
SEED_PRICE = Decimal("1.2345")
SEED_STOCK, SEED_LEAD = 7, 99


def _row(supplier: str, sku: str) -> dict:
    return {
        "supplier": supplier, "sku": sku, "name": f"{supplier} {sku}", "spray_type": "hollow_cone",
        "orifice_mm": 0.4, "swirl_chamber_mm": 1.2, "inlet_area_mm2": 0.24, "max_pressure_bar": 10.0,
        "min_viscosity_cp": 0.3, "max_viscosity_cp": 20.0, "body_material": "PP", "seal_material": "none",
        "unit_price": SEED_PRICE, "currency": "USD", "stock": SEED_STOCK, "lead_time_days": SEED_LEAD,
        "is_sample_data": True,
    }  # fmt: skip


@pytest.fixture
def big_catalog(db):
    """N known SKUs per supplier (the sample catalog's, then synthetic ones) plus one unknown each."""
    rows = [_row(s, sku) for s in ("spencer", "coster") for sku in [*pricing.sample_skus(s, N), UNKNOWN[s]]]
    db.session.execute(insert(Actuator), rows)
    db.session.commit()
    return {s: N + 1 for s in ("spencer", "coster")}


@pytest.fixture
def clients(make_client):
    return [make_client("spencer", retries=1), make_client("coster", retries=1)]


def _rows(db, supplier: str) -> list[Actuator]:
    db.session.expire_all()
    return list(db.session.scalars(select(Actuator).where(Actuator.supplier == supplier)))


def _expected(supplier: str, sku: str) -> tuple[Decimal, int, int]:
    offer = pricing.offer(supplier, sku)
    lead = offer.lead_for(1)
    if supplier == "coster":  # Coster quotes whole weeks
        lead = math.ceil(lead / 7) * 7
    return offer.unit_price(supplier, 1), offer.stock, lead


def _assert_synced(db, supplier: str, since) -> None:
    for row in _rows(db, supplier):
        if row.sku == UNKNOWN[supplier]:
            assert row.last_synced_at is None and row.unit_price == SEED_PRICE  # left as it was
            continue
        assert (row.unit_price, row.stock, row.lead_time_days) == _expected(supplier, row.sku), row.sku
        assert row.last_synced_at is not None and row.last_synced_at >= since
        assert row.updated_at >= since  # the engine's catalog cache keys on it


def _assert_untouched(db, supplier: str) -> None:
    for row in _rows(db, supplier):
        assert (row.unit_price, row.stock, row.lead_time_days, row.last_synced_at) == (
            SEED_PRICE, SEED_STOCK, SEED_LEAD, None
        ), row.sku  # fmt: skip


def test_sync_updates_price_stock_lead_time_and_last_synced_for_both_suppliers(db, sandbox, big_catalog, clients):
    before = utcnow()
    run = sync.run_sync(db.session, clients)
    assert run.status == "ok" and run.finished_at >= run.started_at and run.trigger == "schedule"
    _assert_synced(db, "spencer", before)
    _assert_synced(db, "coster", before)
    for name in ("spencer", "coster"):
        entry = run.suppliers[name]
        assert entry["status"] == "ok" and entry["error"] is None
        assert entry["skus"] == N + 1 and entry["updated"] == N
        assert entry["unknown"] == 1 and entry["unknown_skus"] == [UNKNOWN[name]]
        assert entry["changed"] == N  # every seeded value differed from the supplier's
    assert run.skus_requested == 2 * (N + 1) and run.skus_updated == 2 * N
    assert run.errors == []


def test_sync_is_batched_at_the_clients_batch_size(db, sandbox, big_catalog, clients):
    spencer, coster = clients
    assert spencer.prices_batch_size == 500 and coster.prices_batch_size == 1_000
    run = sync.run_sync(db.session, clients)
    # Counted by the sandbox itself: one request per batch, never one per SKU.
    assert sandbox.requests("spencer", "GET /prices") == math.ceil((N + 1) / 500) == 3
    assert sandbox.requests("coster", "POST /v2/catalog/prices") == math.ceil((N + 1) / 1_000) == 2
    assert run.suppliers["spencer"]["requests"] == 3 and run.suppliers["coster"]["requests"] == 2
    assert run.requests_made == 5


def test_one_supplier_failing_leaves_the_others_update_and_records_a_partial_run(db, sandbox, big_catalog, clients):
    sandbox.faults(coster={"error_rate": 1})
    before = utcnow()
    run = sync.run_sync(db.session, clients)
    assert run.status == "partial"
    _assert_synced(db, "spencer", before)
    _assert_untouched(db, "coster")
    assert run.suppliers["spencer"]["status"] == "ok"
    coster = run.suppliers["coster"]
    assert coster["status"] == "failed" and coster["updated"] == 0
    assert "Coster" in coster["error"] and "503" in coster["error"]
    assert coster["requests"] == 2  # the first batch, retried once, then it gave up
    assert [(e["supplier"], e["type"]) for e in run.errors] == [("coster", "SupplierUnavailable")]
    # Committed: a fresh read (not the run object in memory) sees it.
    db.session.expire_all()
    stored = db.session.get(SupplierSyncRun, run.id)
    assert stored.status == "partial" and stored.skus_updated == N


def test_both_suppliers_failing_is_a_failed_run_that_changes_nothing(db, sandbox, big_catalog, clients):
    sandbox.faults(spencer={"malformed_json": True}, coster={"error_rate": 1})
    run = sync.run_sync(db.session, clients)
    assert run.status == "failed" and run.skus_updated == 0
    assert {e["supplier"] for e in run.errors} == {"spencer", "coster"}
    assert "not valid JSON" in run.suppliers["spencer"]["error"]
    _assert_untouched(db, "spencer")
    _assert_untouched(db, "coster")


def test_an_empty_catalog_syncs_without_a_request(db, sandbox, clients):
    run = sync.run_sync(db.session, clients)
    assert run.status == "ok" and run.requests_made == 0 and run.skus_requested == 0
    assert sandbox.requests("spencer", "GET /prices") == 0


# ---- staleness


def test_freshness_never_fresh_and_stale_after_24_hours():
    now = utcnow()
    assert sync.freshness(None, now) == "never"
    assert sync.freshness(now - timedelta(hours=23, minutes=59), now) == "fresh"
    assert sync.freshness(now - timedelta(hours=24, minutes=1), now) == "stale"
    assert sync.is_stale(Actuator(last_synced_at=None), now)
    assert sync.is_stale(Actuator(last_synced_at=now - timedelta(hours=25)), now)
    assert not sync.is_stale(Actuator(last_synced_at=now - timedelta(hours=1)), now)


def test_staleness_summary_counts_fresh_stale_and_never_per_supplier(db):
    now = utcnow()
    makers.actuator(supplier="spencer", last_synced_at=now - timedelta(hours=1))
    makers.actuator(supplier="spencer", last_synced_at=now - timedelta(hours=30))
    makers.actuator(supplier="spencer")
    makers.actuator(supplier="coster", sku="CV.TEST.1", last_synced_at=now - timedelta(hours=2))
    summary = {s["supplier"]: s for s in sync.staleness_summary(db.session, now)}
    assert (summary["spencer"]["skus"], summary["spencer"]["fresh"]) == (3, 1)
    assert (summary["spencer"]["stale"], summary["spencer"]["never"]) == (1, 1)
    assert (summary["coster"]["skus"], summary["coster"]["fresh"], summary["coster"]["stale"]) == (1, 1, 0)


def _table_row(html: str, sku: str) -> str:
    rows = [r for r in re.split(r"<tr[ >]", html) if f">{sku}<" in r]
    assert len(rows) == 1, sku
    return rows[0]


def test_actuators_page_flags_a_price_synced_25_hours_ago_and_not_a_fresh_one(db, client, factories, login, tenant_url):
    tenant = factories.TenantFactory()
    viewer = factories.member(tenant, "viewer")
    now = utcnow()
    stale = makers.actuator(sku="SP-STALE-1", last_synced_at=now - timedelta(hours=25))
    fresh = makers.actuator(sku="SP-FRESH-1", last_synced_at=now - timedelta(hours=1))
    never = makers.actuator(sku="SP-NEVER-1")
    db.session.commit()
    login(viewer)
    html = client.get(tenant_url(tenant, "actuators")).get_data(as_text=True)
    assert "Price may be out of date" in _table_row(html, stale.sku)
    assert "last synced 1 day ago" in re.sub(r"<[^>]+>", "", _table_row(html, stale.sku))  # as read, tags aside
    assert "out of date" not in _table_row(html, fresh.sku) and "not yet synced" not in _table_row(html, fresh.sku)
    assert "not yet synced" in _table_row(html, never.sku)
    assert "out of date" not in _table_row(html, never.sku)
    # The HTMX fragment (filters, pages) carries the flag too.
    fragment = client.get(tenant_url(tenant, "actuators"), headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Price may be out of date" in _table_row(fragment, stale.sku)
    detail = client.get(tenant_url(tenant, f"actuators/{stale.id}")).get_data(as_text=True)
    assert "Price may be out of date" in detail
    detail = client.get(tenant_url(tenant, f"actuators/{fresh.id}")).get_data(as_text=True)
    assert "out of date" not in detail and "not yet synced" not in detail


# ---- the job


def test_sync_job_records_a_run_and_skips_while_one_is_running(app, db, sandbox, big_catalog):
    from jobs.suppliers import sync_supplier_catalog

    running = SupplierSyncRun(status="running", started_at=utcnow() - timedelta(minutes=5))
    db.session.add(running)
    db.session.commit()
    assert sync_supplier_catalog() is None  # another run is in progress: nothing to do
    assert db.session.scalar(select(func.count(SupplierSyncRun.id))) == 1
    assert sandbox.requests("spencer", "GET /prices") == 0

    running.started_at = utcnow() - timedelta(minutes=45)  # its worker died
    db.session.commit()
    run_id = sync_supplier_catalog()
    assert run_id is not None
    db.session.expire_all()
    assert db.session.get(SupplierSyncRun, running.id).status == "failed"
    run = db.session.get(SupplierSyncRun, uuid.UUID(run_id))
    assert run.status == "ok" and run.skus_updated == 2 * N and run.trigger == "schedule"


def test_a_crash_mid_sync_marks_the_run_failed_and_raises(db, sandbox, big_catalog, make_client):
    class BrokenCoster(type(make_client("coster"))):
        def _prices_chunk(self, skus, deadline):
            raise RuntimeError("bug in the adapter")

    broken = BrokenCoster(sandbox.url("coster"), sandbox.state.keys["coster"])
    try:
        with pytest.raises(RuntimeError):
            sync.run_sync(db.session, [make_client("spencer"), broken])
    finally:
        broken.close()
    db.session.expire_all()
    run = db.session.scalar(select(SupplierSyncRun))
    assert run.status == "failed" and run.finished_at is not None
    assert run.errors == [{"supplier": None, "type": "RuntimeError", "message": "bug in the adapter"}]
    assert sync.running_run(db.session) is None  # the next scheduled run is not blocked
