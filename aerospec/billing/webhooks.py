"""Provider events: one intake for Stripe's signed webhooks and the offline provider's page.

verify (Stripe only) → store the event under its id (a repeat does nothing) → enqueue
`jobs.billing.process_event` after commit → the job dispatches it to the handlers registered
for its type, inside the tenant named by the object's metadata, and marks it processed in the
same transaction as their work (so a failure leaves it unprocessed for the retry).

Handlers re-read state from the event's object (a checkout session's payment_status, a
PaymentIntent's status) rather than trusting the order events arrive in. Capabilities register
their handlers with `@handles("type", ...)`: procurement.payments for order payments now,
subscriptions (issue 5) next; an event type nobody handles is logged and marked processed.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import stripe
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from aerospec import inputs, queueing
from aerospec.billing.models import BillingEvent
from aerospec.errors import DomainError
from aerospec.models import utcnow
from aerospec.tenancy.scoping import tenant_scope

log = logging.getLogger(__name__)

SIGNATURE_TOLERANCE_SECONDS = 300  # older deliveries are refused (replay protection)
PROVIDERS = ("stripe", "offline")


class WebhookRejected(DomainError):
    """A delivery we refuse: no secret configured, bad or stale signature, not an event."""

    status = 400
    title = "Webhook rejected"


@dataclass(frozen=True)
class ProviderEvent:
    """A stored event as handlers see it: the Stripe-shaped payload and where it belongs."""

    id: str
    type: str
    provider: str
    payload: dict
    tenant_id: uuid.UUID | None

    @property
    def object(self) -> dict:
        """data.object: the checkout session, payment intent, subscription or invoice."""
        return self.payload["data"]["object"]

    @property
    def metadata(self) -> dict:
        return self.object.get("metadata") or {}

    @property
    def created(self) -> datetime | None:
        """When the provider created the event (not when it reached us)."""
        created = self.payload.get("created")
        return datetime.fromtimestamp(created, UTC) if isinstance(created, int | float) else None


Handler = Callable[[Session, ProviderEvent], str | None]
TenantResolver = Callable[[Session, dict], uuid.UUID | None]

# event type → handlers; each returns what it did (for the log) or None when the event is not its kind.
HANDLERS: dict[str, list[Handler]] = {}


def handles(*event_types: str) -> Callable[[Handler], Handler]:
    """Register a handler for event types (at import time of the capability's module)."""

    def register(func: Handler) -> Handler:
        for event_type in event_types:
            bucket = HANDLERS.setdefault(event_type, [])
            if func not in bucket:
                bucket.append(func)
        return func

    return register


def _tenant_from_metadata(session: Session, obj: dict) -> uuid.UUID | None:
    raw = (obj.get("metadata") or {}).get("tenant_id")
    try:
        return uuid.UUID(str(raw)) if raw else None
    except ValueError:
        return None


# Ways to find the tenant an object belongs to, tried in order (issue 5 adds: by Stripe customer id).
TENANT_RESOLVERS: list[TenantResolver] = [_tenant_from_metadata]


def resolve_tenant(session: Session, obj: dict) -> uuid.UUID | None:
    for resolver in TENANT_RESOLVERS:
        tenant_id = resolver(session, obj)
        if tenant_id is not None:
            return tenant_id
    return None


# -- intake -------------------------------------------------------------------------------


def verify_stripe(payload: bytes, signature: str | None, secret: str | None) -> dict:
    """A Stripe delivery's event as a plain dict, or WebhookRejected (never a 500).

    SECURITY: the signature is checked on the raw body before anything is trusted; with no
    signing secret configured every delivery is refused; older than 5 minutes is a replay.
    """
    if not secret:
        raise WebhookRejected("No webhook signing secret is configured here, so every delivery is refused.")
    if not signature:
        raise WebhookRejected("The Stripe-Signature header is missing.")
    try:
        # The signature alone: the body is then parsed once, by parse_event, with our depth limit.
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8") if isinstance(payload, bytes) else payload,
            signature,
            secret,
            tolerance=SIGNATURE_TOLERANCE_SECONDS,
        )
    except UnicodeDecodeError as exc:
        raise WebhookRejected("The body is not a JSON event.") from exc
    except stripe.SignatureVerificationError as exc:
        raise WebhookRejected(
            "The signature does not match this body, or the delivery is older than 5 minutes."
        ) from exc
    return parse_event(payload)


def parse_event(payload: bytes | str) -> dict:
    """The event as a plain dict (SDK objects are not dicts), with the parts we rely on checked."""
    try:
        event = inputs.load_json(payload)
    except inputs.MalformedJson as exc:
        raise WebhookRejected(f"The body is not a JSON event: {exc}") from exc
    if not isinstance(event, dict):
        raise WebhookRejected("The body is not a JSON event.")
    unstorable = inputs.json_problems(event)
    if unstorable:  # the payload is stored as JSON, which PostgreSQL refuses with these inside
        field, messages = next(iter(unstorable.items()))
        raise WebhookRejected(f"The event cannot be stored: {field}: {messages[0]}")
    event_id, event_type, data = event.get("id"), event.get("type"), event.get("data")
    if not isinstance(event_id, str) or not event_id or len(event_id) > 255:
        raise WebhookRejected("The event has no id.")
    if not isinstance(event_type, str) or not event_type or len(event_type) > 80:
        raise WebhookRejected("The event has no type.")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise WebhookRejected("The event has no data.object.")
    return event


def intake(session: Session, event: Mapping, provider: str, *, process_now: bool = False) -> BillingEvent | None:
    """Store an event under its id and enqueue its processing; a repeat returns None and does nothing.

    Does not commit: the caller commits once, and the job is sent only after that commit. With
    process_now (the offline provider's answer to an admin's own action: a plan change, cancel,
    resume, a completed subscription checkout) the event is processed here, in the caller's
    transaction, so the page that follows the commit already shows its result, as Stripe's answer
    to the same request would; no job is queued for it.
    """
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}")
    event_id = event["id"]
    existing = session.get(BillingEvent, event_id)
    if existing is not None:
        if existing.processed_at is None and existing.error:
            _enqueue(session, event_id)  # a failed one gets another go; a stored, queued one is left alone
        log.info("billing event %s (%s) already received", event_id, existing.type)
        return None
    if not _insert_once(session, event_id, provider, event):  # the same event arriving twice at once
        log.info("billing event %s stored concurrently", event_id)
        return None
    if process_now:
        log.info("billing event %s (%s): %s", event_id, event["type"], process_event(session, event_id))
    else:
        _enqueue(session, event_id)
    return session.get(BillingEvent, event_id)


def _insert_once(session: Session, event_id: str, provider: str, event: Mapping) -> bool:
    """INSERT the event row or skip it when the id exists (True when this call inserted it).

    Insert-or-skip rather than a savepoint: SQLAlchemy fires after_commit when a savepoint is
    released, and queueing dispatches pending jobs on after_commit, so a savepoint here would run
    the previous event's job before its row is committed (it would find nothing).
    """
    values = {
        "id": event_id,
        "provider": provider,
        "type": event["type"],
        "payload": dict(event),
        "attempts": 0,
        "received_at": utcnow(),
    }
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        table = BillingEvent.__table__
        statement = insert(table).values(**values).on_conflict_do_nothing(index_elements=["id"]).returning(table.c.id)
        return session.execute(statement).first() is not None
    try:
        with session.begin_nested():
            session.add(BillingEvent(**values))
    except IntegrityError:
        return False
    return True


def _enqueue(session: Session, event_id: str) -> None:
    queueing.enqueue(
        session, "jobs.billing.process_event", event_id, queue="billing", job_id=f"billing-event-{event_id}", retries=3
    )


# -- processing (the job) -----------------------------------------------------------------


def process_event(session: Session, event_id: str) -> str:
    """Run a stored event's handlers once and mark it processed (in the caller's transaction).

    The event row is locked while it is processed so two workers cannot both apply it.
    """
    row = session.get(BillingEvent, event_id, with_for_update=True)
    if row is None:
        log.warning("billing event %s not found", event_id)
        return "missing"
    if row.processed_at is not None:
        return "already processed"
    row.attempts = (row.attempts or 0) + 1
    obj = row.payload["data"]["object"]
    event = ProviderEvent(row.id, row.type, row.provider, row.payload, resolve_tenant(session, obj))
    handlers = HANDLERS.get(row.type, [])
    outcomes: list[str] = []
    # SECURITY: a tenant's rows are touched only inside that tenant's scope (ORM guard and RLS);
    # an event with no tenant runs with none, so a handler cannot read any tenant's rows by accident.
    with tenant_scope(session, event.tenant_id):
        for handler in handlers:
            outcome = handler(session, event)
            if outcome:
                outcomes.append(outcome)
        if not outcomes:
            log.info("billing event %s (%s) ignored: no handler for it", row.id, row.type)
        row.processed_at = utcnow()
        row.error = None
        # Flush while the tenant is in context: on PostgreSQL the RLS policies check every
        # UPDATE against it, and the tenant setting is cleared when the scope ends.
        session.flush()
    return "; ".join(outcomes) or "ignored"


def record_failure(session: Session, event_id: str, error: BaseException) -> None:
    """After a failed attempt (rolled back): count it and keep the error for the admin and the retry."""
    row = session.get(BillingEvent, event_id)
    if row is None or row.processed_at is not None:
        return
    row.attempts = (row.attempts or 0) + 1
    row.error = f"{type(error).__name__}: {error}"[:2000]
    session.flush()
