"""Order lifecycle jobs: send an order to its supplier, follow its status, cancel it there.

Reliability (issue 4): an order is never lost and never sent twice.
- `send_to_supplier` runs after the submit commits, with RQ's Retry (10 s, 60 s, 300 s).
  A failed attempt is committed (attempt count, error, timeline event) before the job
  re-raises, so the record survives the retry; the order stays `submitted`.
- Every attempt carries the order's one idempotency key: the supplier replays an order it
  already made (a "lost answer" after a timeout) instead of making a second.
- `poll_open_orders` (every 10 minutes) is also the sweeper: a submitted order that still
  has no supplier order id and no attempt for PROCUREMENT_RESEND_AFTER_SECONDS is sent
  again (RQ's retries exhausted, or Redis lost the job), and a cancellation the supplier
  has not confirmed is asked for again.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select

from aerospec.extensions import db
from aerospec.models import utcnow
from aerospec.procurement import services
from aerospec.procurement.clients import SupplierError, SupplierOrder, SupplierRejected, SupplierUnavailable
from aerospec.procurement.models import Procurement, ProcurementEvent
from aerospec.procurement.suppliers import supplier_client
from aerospec.tenancy.scoping import tenant_scope, unscoped

log = logging.getLogger(__name__)

RESEND_AFTER_SECONDS = 600  # longer than RQ's last retry interval (300 s), so the two rarely overlap
POLL_BATCH = 500  # orders per run, least recently polled first; the rest wait ten minutes
CANCEL_FOLLOW_UP_DAYS = 30  # how long an unconfirmed cancellation is asked for again


def send_to_supplier(tenant_id: str, procurement_id: str) -> str:
    """Place a submitted order with its supplier; a failed attempt is kept and the job retried."""
    with tenant_scope(db.session, uuid.UUID(str(tenant_id))):
        order = _load(tenant_id, procurement_id)
        if order is None:
            db.session.commit()
            return "gone"  # deleted since (only a cancelled, never-sent order can be)
        return _send(order)


def poll_open_orders() -> dict[str, int]:
    """Every 10 minutes: follow open orders at their suppliers, resend stuck ones, finish cancellations."""
    stale = utcnow() - timedelta(seconds=_resend_after())
    cancel_pending = and_(
        Procurement.status == "cancelled",
        Procurement.supplier_order_id.is_not(None),
        Procurement.cancelled_at >= utcnow() - timedelta(days=CANCEL_FOLLOW_UP_DAYS),
        # cancel_at_supplier stamps last_polled_at once the supplier has answered
        or_(Procurement.last_polled_at.is_(None), Procurement.last_polled_at < Procurement.cancelled_at),
    )
    with unscoped(db.session, "procurement status poll"):
        rows = db.session.execute(
            select(Procurement.tenant_id, Procurement.id, Procurement.selected_supplier)
            .where(or_(Procurement.status.in_(services.OPEN_STATUSES), cancel_pending))
            .order_by(Procurement.last_polled_at.is_not(None), Procurement.last_polled_at, Procurement.id)
            .limit(current_app.config.get("PROCUREMENT_POLL_BATCH", POLL_BATCH))
        ).all()
        db.session.commit()  # end the unscoped read; each order gets its own transaction
    outcomes: Counter[str] = Counter()
    down: set[str] = set()  # suppliers that failed this run: their other orders wait for the next
    for tenant_id, procurement_id, supplier in rows:
        if supplier in down:
            outcomes["deferred"] += 1
            continue
        try:
            outcome = _follow(tenant_id, procurement_id, stale)
        except SupplierError as exc:  # an outage at one supplier does not stop the run
            db.session.rollback()
            log.warning("procurement %s: %s", procurement_id, exc)
            if isinstance(exc, SupplierUnavailable):
                down.add(supplier)  # each call would wait out its timeouts again
            outcome = "error"
        except Exception:  # nor does a bug on one order
            db.session.rollback()
            log.exception("procurement %s: poll failed", procurement_id)
            outcome = "error"
        outcomes[outcome] += 1
    return dict(outcomes)


def poll_order(tenant_id: str, procurement_id: str) -> str:
    """Ask the supplier about one order now (the order page's "check status")."""
    with tenant_scope(db.session, uuid.UUID(str(tenant_id))):
        order = _load(tenant_id, procurement_id)
        if order is None or order.status not in services.OPEN_STATUSES:
            db.session.commit()
            return "skipped"  # delivered, cancelled, failed and drafts have nothing to learn
        if not order.supplier_order_id:
            db.session.commit()
            return "waiting"  # still being sent: send_to_supplier or the sweeper owns it
        return _poll(order)


def cancel_at_supplier(tenant_id: str, procurement_id: str) -> str:
    """Cancel a locally cancelled order at its supplier; if it had shipped, say so and follow it."""
    with tenant_scope(db.session, uuid.UUID(str(tenant_id))):
        order = _load(tenant_id, procurement_id)
        if order is None or order.status != "cancelled" or not order.supplier_order_id or not _cancel_pending(order):
            db.session.commit()  # ends the transaction and its row lock
            return "skipped"  # never sent, reinstated, or the supplier already answered this cancellation
        return _cancel(order)


# -- the work, inside one tenant's scope --------------------------------------------------------


def _follow(tenant_id: uuid.UUID, procurement_id: uuid.UUID, stale: datetime) -> str:
    """One order of the poll run, in its own tenant scope and transaction."""
    with tenant_scope(db.session, tenant_id):
        order = _load(tenant_id, procurement_id)
        if order is None:
            return "gone"
        if order.status == "cancelled":
            if not _cancel_pending(order) or order.cancelled_at is None or order.cancelled_at > stale:
                db.session.commit()
                return "waiting"  # answered, or the cancel job has just been enqueued
            return _cancel(order)
        if order.status not in services.OPEN_STATUSES:
            db.session.commit()
            return "skipped"  # moved on since the list was read
        if not order.supplier_order_id:
            if order.status != "submitted" or _last_attempt(order) > stale:
                db.session.commit()
                return "waiting"  # a send job is (or was just) on it
            return _send(order)
        return _poll(order)


def _send(order: Procurement) -> str:
    try:
        outcome = services.send_to_supplier(db.session, order, supplier_client(order.selected_supplier))
    except SupplierError:
        db.session.commit()  # the attempt, its error and its timeline event outlive the failure
        raise  # RQ's Retry (or the next sweep) sends again with the same idempotency key
    db.session.commit()
    return outcome


def _poll(order: Procurement) -> str:
    remote = supplier_client(order.selected_supplier).order_status(order.supplier_order_id)
    moved = services.apply_supplier_status(db.session, order, remote)
    db.session.commit()
    return "moved" if moved else "unchanged"


def _cancel(order: Procurement) -> str:
    client = supplier_client(order.selected_supplier)
    label = services.SUPPLIER_LABELS[client.name]
    try:
        remote = client.cancel_order(order.supplier_order_id)
    except SupplierRejected as exc:
        if exc.status_code == 409:  # the supplier no longer cancels it: it has shipped
            _refused(order, client.order_status(order.supplier_order_id), label, exc)
            db.session.commit()
            return "refused"
        services.add_event(
            db.session,
            order,
            "note",
            f"{label} could not cancel order {order.supplier_order_id}: {exc.message}. "
            f"Contact {label} to make sure it is not sent.",
            tone="warning",
        )
        order.last_polled_at = utcnow()  # answered: the sweeper stops asking
        db.session.commit()
        return "rejected"
    except SupplierError as exc:
        services.add_event(
            db.session,
            order,
            "note",
            f"Could not reach {label} to cancel order {order.supplier_order_id} ({exc}); trying again.",
            tone="warning",
        )
        db.session.commit()
        raise
    order.last_polled_at = utcnow()
    services.add_event(db.session, order, "note", f"{label} cancelled order {remote.order_id}.")
    db.session.commit()
    return "cancelled"


def _refused(order: Procurement, remote: SupplierOrder, label: str, exc: SupplierRejected) -> None:
    """The honest outcome of a refused cancellation: the order is what the supplier says it is.

    It was marked cancelled here when the person asked; the goods are on their way all the
    same, so it goes back to shipped (the one edge out of cancelled), the creator is told by
    email, and the poller follows it to delivered.
    """
    if remote.status not in ("shipped", "delivered"):
        order.last_polled_at = utcnow()
        services.add_event(
            db.session, order, "note", f"{label} refused the cancellation: {exc.message}", tone="warning"
        )
        return
    order.cancelled_at = None
    order.tracking_number = remote.tracking_number or order.tracking_number
    order.expected_delivery = remote.expected_delivery or order.expected_delivery
    tracking = f" (tracking {order.tracking_number})" if order.tracking_number else ""
    services.transition(
        db.session,
        order,
        "shipped",
        message=f"{label} refused the cancellation: order {remote.order_id} had already shipped{tracking}. "
        "It was not cancelled and is on its way; arrange a return with the supplier if it is not wanted.",
        at=remote.shipped_at,
    )
    services.apply_supplier_status(db.session, order, remote)  # on to delivered if it has arrived


# -- helpers -----------------------------------------------------------------------------------


def _load(tenant_id, procurement_id) -> Procurement | None:
    """The order, locked for this transaction on PostgreSQL so two sends or polls take turns."""
    return db.session.scalar(
        select(Procurement)
        .where(Procurement.id == uuid.UUID(str(procurement_id)), Procurement.tenant_id == uuid.UUID(str(tenant_id)))
        .with_for_update(of=Procurement)
        .execution_options(populate_existing=True)
    )


def _cancel_pending(order: Procurement) -> bool:
    return order.last_polled_at is None or (
        order.cancelled_at is not None and order.last_polled_at < order.cancelled_at
    )


def _last_attempt(order: Procurement) -> datetime:
    """When the order was last sent (or submitted, if never sent yet)."""
    last = db.session.scalar(
        select(func.max(ProcurementEvent.created_at)).where(
            ProcurementEvent.procurement_id == order.id,
            ProcurementEvent.tenant_id == order.tenant_id,
            ProcurementEvent.kind == "submit",
        )
    )
    times = [t for t in (last, order.submitted_at, order.created_at) if t is not None]
    return max(times)


def _resend_after() -> float:
    return float(current_app.config.get("PROCUREMENT_RESEND_AFTER_SECONDS", RESEND_AFTER_SECONDS))
