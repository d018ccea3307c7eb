"""Supplier catalog sync: live price, stock and lead time for every catalog SKU, in batches.

`run_sync` fetches each supplier's price list for the SKUs the catalog holds for it
(`SupplierClient.prices`, one request per `prices_batch_size` SKUs: 500 for Spencer,
1,000 for Coster), writes the values back in bulk, and records the run as a
SupplierSyncRun. Suppliers are fetched concurrently and written one after the other,
each in its own transaction: one supplier failing leaves the other's update committed.

Unlike most services, `run_sync` commits (the run row first, so the admin page shows
it running, then once per supplier); only the job and the tests call it.

Staleness: a price synced more than STALE_AFTER ago "may be out of date"; a row never
synced (the seeded sample catalog) is "not yet synced". Pages show both.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from aerospec.catalog.models import Actuator
from aerospec.models import utcnow
from aerospec.pagination import Page, window
from aerospec.procurement.clients import SkuPrice, SupplierClient, SupplierError
from aerospec.procurement.models import SupplierSyncRun

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(hours=24)
# A run still "running" after this long died with its worker; a new one may start.
RUN_EXPIRES_AFTER = timedelta(minutes=30)
WRITE_CHUNK = 1_000  # rows per executemany
UNKNOWN_SAMPLE = 20  # unknown SKUs kept on the run, to show which

Freshness = Literal["fresh", "stale", "never"]


# -- staleness ------------------------------------------------------------------------------


def freshness(last_synced_at: datetime | None, now: datetime | None = None) -> Freshness:
    """'never' (not synced yet), 'stale' (synced more than 24 h ago) or 'fresh'."""
    if last_synced_at is None:
        return "never"
    return "stale" if (now or utcnow()) - last_synced_at > STALE_AFTER else "fresh"


def is_stale(actuator: Actuator, now: datetime | None = None) -> bool:
    """Whether the actuator's price may be out of date: never synced, or synced over 24 h ago."""
    return freshness(actuator.last_synced_at, now) != "fresh"


def staleness_summary(session: Session, now: datetime | None = None) -> list[dict]:
    """Per supplier: SKUs in the catalog, synced within 24 h, older than 24 h, never synced."""
    cutoff = (now or utcnow()) - STALE_AFTER
    rows = session.execute(
        select(
            Actuator.supplier,
            func.count(Actuator.id),
            func.count(Actuator.id).filter(Actuator.last_synced_at.is_(None)),
            func.count(Actuator.id).filter(Actuator.last_synced_at < cutoff),
            func.min(Actuator.last_synced_at),
        )
        .group_by(Actuator.supplier)
        .order_by(Actuator.supplier)
    ).all()
    out = []
    for supplier, total, never, stale, oldest in rows:
        if isinstance(oldest, str):  # SQLite hands aggregates back without the column type
            oldest = None
        out.append(
            {
                "supplier": supplier,
                "skus": total,
                "fresh": total - never - stale,
                "stale": stale,
                "never": never,
                "oldest_synced_at": oldest,
            }
        )
    return out


# -- the run --------------------------------------------------------------------------------


@dataclass
class _Fetched:
    client: SupplierClient
    skus: int = 0
    prices: list[SkuPrice] = field(default_factory=list)
    requests: int = 0
    seconds: float = 0.0
    error: SupplierError | None = None


def _fetch(client: SupplierClient, skus: list[str]) -> _Fetched:
    result = _Fetched(client, skus=len(skus))
    before = client.requests_made
    started = time.perf_counter()
    try:
        result.prices = client.prices(skus)
    except SupplierError as exc:
        result.error = exc
    result.requests = client.requests_made - before
    result.seconds = time.perf_counter() - started
    return result


def _catalog_skus(session: Session, supplier: str) -> list[str]:
    return list(session.scalars(select(Actuator.sku).where(Actuator.supplier == supplier).order_by(Actuator.sku)))


def _write(session: Session, supplier: str, prices: Sequence[SkuPrice], now: datetime) -> tuple[int, int, list[str]]:
    """Bulk-update the supplier's rows from its price list; (updated, changed, unknown SKUs)."""
    current = {
        row.sku: row
        for row in session.execute(
            select(Actuator.id, Actuator.sku, Actuator.unit_price, Actuator.stock, Actuator.lead_time_days).where(
                Actuator.supplier == supplier
            )
        )
    }
    params, unknown, changed = [], [], 0
    for price in prices:
        row = current.get(price.sku)
        if row is None:
            continue  # deleted from the catalog while we were fetching
        if price.availability == "unavailable" or price.unit_price is None:
            unknown.append(price.sku)
            continue
        lead = price.lead_time_days if price.lead_time_days is not None else row.lead_time_days
        changed += (row.unit_price, row.stock, row.lead_time_days) != (price.unit_price, price.stock, lead)
        params.append(
            {
                "id": row.id,
                "unit_price": price.unit_price,
                "currency": price.currency,
                "stock": price.stock,
                "lead_time_days": lead,
                "last_synced_at": now,
                # The engine's catalog cache is keyed on max(updated_at): bump it.
                "updated_at": now,
            }
        )
    for start in range(0, len(params), WRITE_CHUNK):
        # ORM bulk UPDATE by primary key: one executemany per chunk, not a round trip per SKU.
        session.execute(update(Actuator), params[start : start + WRITE_CHUNK])
    return len(params), changed, unknown


def _sync_suppliers(session: Session, clients: Sequence[SupplierClient]) -> tuple[dict[str, dict], list[dict]]:
    """Fetch every supplier's prices concurrently, then write each in its own transaction."""
    wanted = {client.name: _catalog_skus(session, client.name) for client in clients}
    session.rollback()  # end the read transaction before the (slow) fetches
    with ThreadPoolExecutor(max_workers=max(1, len(clients)), thread_name_prefix="supplier-sync") as pool:
        fetched = list(pool.map(lambda c: _fetch(c, wanted[c.name]), clients))

    entries: dict[str, dict] = {}
    errors: list[dict] = []
    for result in fetched:
        name = result.client.name
        entry = {
            "status": "ok",
            "skus": result.skus,
            "updated": 0,
            "changed": 0,
            "unknown": 0,
            "unknown_skus": [],
            "requests": result.requests,
            "batch_size": result.client.prices_batch_size,
            "seconds": round(result.seconds, 3),
            "error": None,
        }
        if result.error is None:
            started = time.perf_counter()
            try:
                updated, changed, unknown = _write(session, name, result.prices, utcnow())
                session.commit()
            except SQLAlchemyError as exc:
                session.rollback()
                log.exception("supplier sync: writing %s prices failed", name)
                reason = str(getattr(exc, "orig", None) or type(exc).__name__)[:300]  # not the 1,000 rows of SQL
                label = result.client.label
                result.error = SupplierError(label, f"Saving {label}'s prices failed: {reason}")
            else:
                entry.update(
                    updated=updated, changed=changed, unknown=len(unknown), unknown_skus=unknown[:UNKNOWN_SAMPLE]
                )
            entry["seconds"] = round(entry["seconds"] + time.perf_counter() - started, 3)
        if result.error is not None:
            entry.update(status="failed", error=str(result.error))
            errors.append({"supplier": name, "type": type(result.error).__name__, "message": str(result.error)})
            log.warning("supplier sync: %s failed: %s", name, result.error)
        entries[name] = entry

    return entries, errors


def run_sync(
    session: Session,
    clients: Sequence[SupplierClient],
    *,
    trigger: str = "schedule",
    triggered_by: uuid.UUID | None = None,
) -> SupplierSyncRun:
    """Refresh price, stock and lead time of every catalog SKU from its supplier; record the run."""
    run = SupplierSyncRun(trigger=trigger, triggered_by_id=triggered_by, status="running", started_at=utcnow())
    session.add(run)
    session.commit()  # visible as running to the admin page and to the job's overlap check
    run_id = run.id

    try:
        entries, errors = _sync_suppliers(session, clients)
    except Exception as exc:  # a bug or a lost database: record it, then let the job fail
        session.rollback()
        run = session.get(SupplierSyncRun, run_id)
        run.status, run.finished_at = "failed", utcnow()
        run.errors = [{"supplier": None, "type": type(exc).__name__, "message": str(exc)[:500]}]
        session.commit()
        raise

    run = session.get(SupplierSyncRun, run_id)
    failed = sum(e["status"] == "failed" for e in entries.values())
    run.status = "ok" if not failed else ("failed" if failed == len(entries) else "partial")
    run.finished_at = utcnow()
    run.suppliers = entries
    run.errors = errors
    run.skus_requested = sum(e["skus"] for e in entries.values())
    run.skus_updated = sum(e["updated"] for e in entries.values())
    run.requests_made = sum(e["requests"] for e in entries.values())
    session.commit()
    return run


# -- runs: overlap and listing ---------------------------------------------------------------


def running_run(session: Session, now: datetime | None = None) -> SupplierSyncRun | None:
    """A run still in progress that started within the last 30 minutes, if any."""
    cutoff = (now or utcnow()) - RUN_EXPIRES_AFTER
    return session.scalar(
        select(SupplierSyncRun)
        .where(SupplierSyncRun.status == "running", SupplierSyncRun.started_at >= cutoff)
        .order_by(SupplierSyncRun.started_at.desc())
        .limit(1)
    )


def abandon_expired_runs(session: Session, now: datetime | None = None) -> int:
    """Mark runs left 'running' for over 30 minutes as failed (their worker died)."""
    now = now or utcnow()
    expired = list(
        session.scalars(
            select(SupplierSyncRun).where(
                SupplierSyncRun.status == "running", SupplierSyncRun.started_at < now - RUN_EXPIRES_AFTER
            )
        )
    )
    for run in expired:
        run.status = "failed"
        run.finished_at = now
        abandoned = {"supplier": None, "type": "Abandoned", "message": "Did not finish within 30 minutes."}
        run.errors = [*(run.errors or []), abandoned]
    return len(expired)


def list_runs(session: Session, page: int = 1, per_page: int = 20) -> Page:
    """Sync runs, newest first."""
    total = session.scalar(select(func.count(SupplierSyncRun.id))) or 0
    page, offset = window(total, page, per_page)
    items = list(
        session.scalars(
            select(SupplierSyncRun)
            .order_by(SupplierSyncRun.started_at.desc(), SupplierSyncRun.id)
            .limit(per_page)
            .offset(offset)
        )
    )
    return Page(items, total, page, per_page)


def latest_run(session: Session) -> SupplierSyncRun | None:
    """The most recent run, finished or not."""
    return session.scalar(select(SupplierSyncRun).order_by(SupplierSyncRun.started_at.desc()).limit(1))
