"""Webhook endpoints, events and deliveries: the logic pages, the API and the jobs share.

`emit(session, tenant, "procurement.status_changed", {...})` is the one call a capability makes
where something happened: it writes a delivery row per subscribed endpoint in the caller's
transaction and enqueues its first attempt for after the commit, so a change rolled back sends
nothing. A job then claims each attempt (`claim_attempt`), sends it (`delivery.send`, no
transaction open) and records the outcome (`record_outcome`), which schedules the next attempt with
exponential backoff and jitter, or disables an endpoint after a run of failures.
"""

from __future__ import annotations

import json
import random
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from aerospec import queueing
from aerospec.compliance import services as audit
from aerospec.errors import Conflict, ValidationFailed
from aerospec.limits.effective import feature_enabled
from aerospec.models import get_owned, isoformat, utcnow
from aerospec.pagination import Page, window
from aerospec.tenancy.models import Membership, Tenant
from aerospec.tenancy.permissions import ensure_permitted
from aerospec.tenancy.scoping import tenant_scope
from aerospec.webhooks import delivery
from aerospec.webhooks.events import EVENTS, TEST_EVENT, event_type
from aerospec.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

FEATURE = "webhooks"
PERMISSION = "manage_webhooks"
MAX_ENDPOINTS = 20  # per workspace
MAX_ROTATION_HOURS = 168  # the old secret keeps signing for at most a week
DEFAULT_ROTATION_HOURS = 24
LIVE = ("pending", "retrying")


@dataclass(frozen=True)
class Settings:
    """The WEBHOOK_* configuration (aerospec/config.py) as one value services and jobs pass around."""

    policy: delivery.Policy
    max_attempts: int = 8
    backoff_base: float = 30.0
    backoff_factor: float = 4.0
    backoff_max: float = 36000.0
    jitter: float = 0.2
    disable_after_failures: int = 10
    disable_after_days: float = 3.0
    sweep_after: float = 120.0

    @classmethod
    def from_config(cls, config: Mapping) -> Settings:
        return cls(
            policy=delivery.Policy(
                allow_loopback=bool(config.get("WEBHOOK_ALLOW_LOOPBACK")),
                allow_private=bool(config.get("WEBHOOK_ALLOW_PRIVATE")),
                timeout=float(config.get("WEBHOOK_TIMEOUT_SECONDS", 10)),
            ),
            max_attempts=int(config.get("WEBHOOK_MAX_ATTEMPTS", 8)),
            backoff_base=float(config.get("WEBHOOK_BACKOFF_BASE_SECONDS", 30)),
            backoff_factor=float(config.get("WEBHOOK_BACKOFF_FACTOR", 4)),
            backoff_max=float(config.get("WEBHOOK_BACKOFF_MAX_SECONDS", 36000)),
            jitter=float(config.get("WEBHOOK_BACKOFF_JITTER", 0.2)),
            disable_after_failures=int(config.get("WEBHOOK_DISABLE_AFTER_FAILURES", 10)),
            disable_after_days=float(config.get("WEBHOOK_DISABLE_AFTER_DAYS", 3)),
            sweep_after=float(config.get("WEBHOOK_SWEEP_AFTER_SECONDS", 120)),
        )


def backoff_seconds(failed_attempt: int, settings: Settings, rng: random.Random | None = None) -> float:
    """Seconds before the attempt after `failed_attempt`: base × factor^(n-1), capped, ± jitter."""
    raw = min(settings.backoff_max, settings.backoff_base * settings.backoff_factor ** (failed_attempt - 1))
    spread = (rng or random).uniform(-settings.jitter, settings.jitter) if settings.jitter else 0.0
    return max(0.0, raw * (1 + spread))


def schedule_words(settings: Settings) -> str:
    """The retry schedule in words, for the pages and the docs ("8 attempts over about 21 hours")."""
    total = sum(
        min(settings.backoff_max, settings.backoff_base * settings.backoff_factor ** (n - 1))
        for n in range(1, settings.max_attempts)
    )
    span = f"{total / 3600:.0f} hours" if total >= 7200 else f"{total / 60:.0f} minutes"
    return f"{settings.max_attempts} attempts over about {span}"


# -- endpoints ------------------------------------------------------------------------------------


def _ensure(tenant: Tenant, actor) -> None:
    from aerospec.tenancy.features import ensure_feature

    ensure_permitted(actor, PERMISSION, doing="manage the workspace's webhooks")
    ensure_feature(tenant, FEATURE)


def list_endpoints(session: Session, tenant: Tenant) -> list[WebhookEndpoint]:
    """The workspace's endpoints, oldest first."""
    return list(
        session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.tenant_id == tenant.id)
            .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
        )
    )


def get_endpoint(session: Session, tenant: Tenant, endpoint_id) -> WebhookEndpoint:
    """One of the workspace's endpoints (NotFound for another workspace's id)."""
    return get_owned(session, WebhookEndpoint, tenant, endpoint_id, "No such webhook endpoint.")


def get_delivery(session: Session, tenant: Tenant, delivery_id) -> WebhookDelivery:
    """One of the workspace's deliveries (NotFound for another workspace's id)."""
    return get_owned(session, WebhookDelivery, tenant, delivery_id, "No such webhook delivery.")


def clean_endpoint(data: Mapping, policy: delivery.Policy, *, partial: bool = False) -> dict:
    """Check an endpoint's fields; ValidationFailed names each field that is wrong."""
    errors: dict[str, list[str]] = {}
    values: dict = {}
    if "url" in data or not partial:
        url = str(data.get("url") or "").strip()
        if not url:
            errors["url"] = ["Enter the URL we should send events to."]
        elif len(url) > 2000:
            errors["url"] = ["Keep the URL to 2,000 characters."]
        else:
            try:
                delivery.check_url(url, policy)
            except delivery.BlockedTarget as exc:
                errors["url"] = [str(exc)]
            values["url"] = url
    if "description" in data or not partial:
        description = str(data.get("description") or "").strip()
        if len(description) > 200:
            errors["description"] = ["Keep the description to 200 characters."]
        values["description"] = description
    if "event_types" in data or not partial:
        chosen = data.get("event_types") or []
        if not isinstance(chosen, list | tuple) or not all(isinstance(e, str) for e in chosen):
            errors["event_types"] = ["Send a list of event type names."]
        else:
            unknown = sorted({e for e in chosen if e not in EVENTS})
            if unknown:
                errors["event_types"] = [f"Unknown event types: {', '.join(unknown)}. Known: {', '.join(EVENTS)}."]
            elif not chosen:
                errors["event_types"] = ["Choose at least one event."]
            values["event_types"] = [e for e in EVENTS if e in chosen]  # catalogue order, no repeats
    if "enabled" in data:
        if not isinstance(data["enabled"], bool):
            errors["enabled"] = ["Must be true or false."]
        values["enabled"] = data["enabled"]
    if errors:
        raise ValidationFailed("Check the fields listed in errors.", field_errors=errors)
    return values


def _audit(session: Session, endpoint: WebhookEndpoint, action: str, actor=None, client=None, **details) -> None:
    audit.record(
        session,
        endpoint.tenant_id,
        action,
        actor=getattr(actor, "user", None),
        actor_email=None if actor is not None else "AeroSpec",
        client=client,
        target_type="webhook_endpoint",
        target_id=endpoint.id,
        target_name=endpoint.url,
        details=details or None,
    )


def create_endpoint(
    session: Session, tenant: Tenant, actor: Membership, data: Mapping, settings: Settings, *, client=None
) -> WebhookEndpoint:
    """Add an endpoint with a fresh signing secret (admins, plans with webhooks)."""
    _ensure(tenant, actor)
    values = clean_endpoint(data, settings.policy)
    count = session.scalar(
        select(func.count()).select_from(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant.id)
    )
    if (count or 0) >= MAX_ENDPOINTS:
        raise Conflict(f"A workspace can have up to {MAX_ENDPOINTS} endpoints. Delete one you no longer use.")
    endpoint = WebhookEndpoint(
        tenant_id=tenant.id,
        url=values["url"],
        description=values["description"],
        event_types=values["event_types"],
        secret=delivery.new_secret(),
        enabled=values.get("enabled", True),
        consecutive_failures=0,
        created_by_id=actor.user_id,
    )
    session.add(endpoint)
    session.flush()
    _audit(session, endpoint, "webhook.endpoint_created", actor, client, event_types=endpoint.event_types)
    return endpoint


def update_endpoint(
    session: Session,
    tenant: Tenant,
    actor: Membership,
    endpoint: WebhookEndpoint,
    data: Mapping,
    settings: Settings,
    *,
    client=None,
) -> WebhookEndpoint:
    """Change an endpoint's URL, description, events or enabled flag (turning it on clears its failure run)."""
    _ensure(tenant, actor)
    values = clean_endpoint(data, settings.policy, partial=True)
    changed = {k: v for k, v in values.items() if getattr(endpoint, k) != v}
    if changed.get("enabled") is True:
        _reset_failures(endpoint)
    if changed.get("enabled") is False:
        endpoint.disabled_at, endpoint.disabled_reason = utcnow(), "Turned off by an admin."
    for name, value in changed.items():
        setattr(endpoint, name, value)
    if changed:
        session.flush()
        _audit(session, endpoint, "webhook.endpoint_updated", actor, client, changed=sorted(changed))
    return endpoint


def _reset_failures(endpoint: WebhookEndpoint) -> None:
    endpoint.enabled = True
    endpoint.disabled_at = endpoint.disabled_reason = None
    endpoint.consecutive_failures = 0
    endpoint.failing_since = None


def enable_endpoint(session: Session, tenant: Tenant, actor: Membership, endpoint: WebhookEndpoint, *, client=None):
    """Turn a disabled endpoint back on; new events go to it again (replay the ones it missed)."""
    _ensure(tenant, actor)
    if endpoint.enabled:
        return endpoint
    _reset_failures(endpoint)
    session.flush()
    _audit(session, endpoint, "webhook.endpoint_enabled", actor, client)
    return endpoint


def delete_endpoint(session: Session, tenant: Tenant, actor: Membership, endpoint: WebhookEndpoint, *, client=None):
    """Delete an endpoint with its delivery log; nothing more is sent to it."""
    _ensure(tenant, actor)
    _audit(session, endpoint, "webhook.endpoint_deleted", actor, client)
    session.delete(endpoint)
    session.flush()


def rotate_secret(
    session: Session,
    tenant: Tenant,
    actor: Membership,
    endpoint: WebhookEndpoint,
    grace_hours,
    *,
    client=None,
    now: datetime | None = None,
) -> WebhookEndpoint:
    """A new signing secret; the old one keeps signing beside it for `grace_hours` (0 to 168)."""
    _ensure(tenant, actor)
    hours = _grace_hours(grace_hours)
    now = now or utcnow()
    if hours > 0:
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = now + timedelta(hours=hours)
    else:
        endpoint.previous_secret = endpoint.previous_secret_expires_at = None
    endpoint.secret = delivery.new_secret()
    session.flush()
    _audit(session, endpoint, "webhook.secret_rotated", actor, client, old_secret_signs_for_hours=hours)
    return endpoint


def _grace_hours(value) -> float:
    message = f"Enter the hours the old secret keeps signing, a number from 0 to {MAX_ROTATION_HOURS}."
    if isinstance(value, bool):
        raise ValidationFailed(message, field_errors={"grace_hours": [message]})
    try:
        hours = float(value if value not in (None, "") else DEFAULT_ROTATION_HOURS)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(message, field_errors={"grace_hours": [message]}) from exc
    if not 0 <= hours <= MAX_ROTATION_HOURS:  # also refuses NaN
        raise ValidationFailed(message, field_errors={"grace_hours": [message]})
    return hours


def live_secrets(endpoint: WebhookEndpoint, now: datetime | None = None) -> list[str]:
    """The secrets that sign now: the current one, and the previous one until its grace ends."""
    now = now or utcnow()
    keys = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now:
        keys.append(endpoint.previous_secret)
    return keys


def endpoint_json(endpoint: WebhookEndpoint, now: datetime | None = None) -> dict:
    """An endpoint as the API shows it to admins, its signing secrets included."""
    previous = len(live_secrets(endpoint, now)) > 1
    return {
        "id": str(endpoint.id),
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.event_types or []),
        "enabled": endpoint.enabled,
        "disabled_at": isoformat(endpoint.disabled_at),
        "disabled_reason": endpoint.disabled_reason,
        "consecutive_failures": endpoint.consecutive_failures,
        "secret": endpoint.secret,
        "previous_secret_expires_at": isoformat(endpoint.previous_secret_expires_at) if previous else None,
        "created_at": isoformat(endpoint.created_at),
        "updated_at": isoformat(endpoint.updated_at),
    }


# -- events and deliveries --------------------------------------------------------------------------


def _message_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def envelope(tenant_id, name: str, data: Mapping, now: datetime) -> str:
    """The JSON body of an event: type, version, timestamp, workspace and the validated data."""
    kind = event_type(name)
    body = {
        "type": name,
        "version": kind.version,
        "timestamp": now.isoformat(),
        "workspace_id": str(tenant_id),
        "data": kind.model.model_validate(dict(data)).model_dump(mode="json"),
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def _new_delivery(
    session: Session, endpoint: WebhookEndpoint, name: str, message_id: str, payload: str, trigger: str, now, **extra
) -> WebhookDelivery:
    row = WebhookDelivery(
        tenant_id=endpoint.tenant_id,
        endpoint_id=endpoint.id,
        event_type=name,
        message_id=message_id,
        payload=payload,
        status="pending",
        trigger=trigger,
        attempts=0,
        next_attempt_at=now,
        **extra,
    )
    session.add(row)
    session.flush()
    enqueue_attempt(session, row.tenant_id, row.id, 1)
    return row


def enqueue_attempt(session: Session, tenant_id, delivery_id, number: int, delay: float = 0.0) -> None:
    """Send attempt `number` of a delivery by a job once `session` commits (`delay` seconds later)."""
    queueing.enqueue(
        session,
        "jobs.webhooks.deliver",
        str(tenant_id),
        str(delivery_id),
        number,
        queue="webhooks",
        job_id=f"webhook-{delivery_id}-{number}",
        retries=0,  # the delivery's own schedule retries it (record_outcome), not RQ
        delay=delay,
    )


def emit(session: Session, tenant: Tenant | uuid.UUID, name: str, data: Mapping) -> list[WebhookDelivery]:
    """Send an event to every enabled endpoint of the workspace subscribed to it, after the commit."""
    if name not in EVENTS:
        raise KeyError(f"unknown webhook event {name!r}")
    if not isinstance(tenant, Tenant):
        tenant = session.get(Tenant, tenant)
    if tenant is None or not feature_enabled(tenant, FEATURE):
        return []
    with tenant_scope(session, tenant.id):
        endpoints = [
            e
            for e in session.scalars(
                select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant.id, WebhookEndpoint.enabled.is_(True))
            )
            if name in (e.event_types or [])
        ]
        if not endpoints:
            return []
        now = utcnow()
        payload = envelope(tenant.id, name, data, now)
        return [_new_delivery(session, e, name, _message_id(), payload, "automatic", now) for e in endpoints]


def send_test(
    session: Session, tenant: Tenant, actor: Membership, endpoint: WebhookEndpoint, *, client=None
) -> WebhookDelivery:
    """Send a `webhook.test` event to this endpoint now (retried like any other)."""
    _ensure(tenant, actor)
    if not endpoint.enabled:
        raise Conflict("This endpoint is disabled. Enable it before sending a test event.")
    now = utcnow()
    data = {"endpoint_id": str(endpoint.id), "message": "A test event from AeroSpec: your endpoint receives webhooks."}
    payload = envelope(tenant.id, TEST_EVENT.name, data, now)
    row = _new_delivery(session, endpoint, TEST_EVENT.name, _message_id(), payload, "test", now)
    _audit(session, endpoint, "webhook.test_sent", actor, client, delivery_id=str(row.id))
    return row


def replay(
    session: Session, tenant: Tenant, actor: Membership, original: WebhookDelivery, *, client=None
) -> WebhookDelivery:
    """Send a delivery again: the same body and `webhook-id` (freshly signed), retried like a new one."""
    _ensure(tenant, actor)
    endpoint = get_endpoint(session, tenant, original.endpoint_id)
    if not endpoint.enabled:
        raise Conflict("This endpoint is disabled. Enable it before replaying deliveries to it.")
    row = _new_delivery(
        session,
        endpoint,
        original.event_type,
        original.message_id,
        original.payload,
        "replay",
        utcnow(),
        replay_of_id=original.id,
    )
    _audit(session, endpoint, "webhook.delivery_replayed", actor, client, delivery_id=str(original.id))
    return row


def list_attempts(session: Session, tenant: Tenant, endpoint: WebhookEndpoint, *, page: int, per_page: int) -> Page:
    """The endpoint's delivery log: every attempt, newest first, with its delivery's event."""
    where = (WebhookAttempt.tenant_id == tenant.id, WebhookAttempt.endpoint_id == endpoint.id)
    total = session.scalar(select(func.count()).select_from(WebhookAttempt).where(*where)) or 0
    page, offset = window(total, page, per_page)
    rows = session.execute(
        select(WebhookAttempt, WebhookDelivery)
        .join(WebhookDelivery, WebhookDelivery.id == WebhookAttempt.delivery_id)
        .where(*where)
        .order_by(WebhookAttempt.created_at.desc(), WebhookAttempt.number.desc())
        .limit(per_page)
        .offset(offset)
    ).all()
    return Page(items=[tuple(r) for r in rows], total=total, page=page, per_page=per_page)


def list_deliveries(session: Session, tenant: Tenant, endpoint: WebhookEndpoint, *, page: int, per_page: int) -> Page:
    """The endpoint's deliveries, newest first."""
    where = (WebhookDelivery.tenant_id == tenant.id, WebhookDelivery.endpoint_id == endpoint.id)
    total = session.scalar(select(func.count()).select_from(WebhookDelivery).where(*where)) or 0
    page, offset = window(total, page, per_page)
    rows = session.scalars(
        select(WebhookDelivery)
        .where(*where)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
        .limit(per_page)
        .offset(offset)
    )
    return Page(items=list(rows), total=total, page=page, per_page=per_page)


def attempts_of(session: Session, tenant: Tenant, deliveries: list[WebhookDelivery]) -> dict[uuid.UUID, list]:
    """The attempts of these deliveries, by delivery id, first attempt first (one statement)."""
    ids = [d.id for d in deliveries]
    found: dict[uuid.UUID, list] = {i: [] for i in ids}
    if ids:
        for row in session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.tenant_id == tenant.id, WebhookAttempt.delivery_id.in_(ids))
            .order_by(WebhookAttempt.number)
        ):
            found[row.delivery_id].append(row)
    return found


def attempt_json(attempt: WebhookAttempt) -> dict:
    return {
        "number": attempt.number,
        "status_code": attempt.status_code,
        "succeeded": attempt.succeeded,
        "error": attempt.error,
        "duration_ms": attempt.duration_ms,
        "response_excerpt": attempt.response_excerpt,
        "created_at": isoformat(attempt.created_at),
    }


def delivery_json(row: WebhookDelivery, attempts: list[WebhookAttempt] | None = None) -> dict:
    body = {
        "id": str(row.id),
        "endpoint_id": str(row.endpoint_id),
        "event_type": row.event_type,
        "webhook_id": row.message_id,
        "status": row.status,
        "trigger": row.trigger,
        "attempts": row.attempts,
        "next_attempt_at": isoformat(row.next_attempt_at) if row.status in LIVE else None,
        "last_status_code": row.last_status_code,
        "last_error": row.last_error,
        "succeeded_at": isoformat(row.succeeded_at),
        "replay_of": str(row.replay_of_id) if row.replay_of_id else None,
        "created_at": isoformat(row.created_at),
        "payload": json.loads(row.payload),
    }
    if attempts is not None:
        body["attempt_log"] = [attempt_json(a) for a in attempts]
    return body


# -- the delivery job's steps -------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    delivery_id: uuid.UUID
    number: int
    url: str
    message_id: str
    body: bytes
    secrets: list[str]


def claim_attempt(session: Session, tenant_id: uuid.UUID, delivery_id: uuid.UUID, number: int) -> Claimed | None:
    """Take attempt `number` of a delivery (None when it was made already, the delivery is over, or its
    endpoint is disabled): a conditional update, so two workers never send the same attempt twice."""
    claimed = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.tenant_id == tenant_id,
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.attempts == number - 1,
            WebhookDelivery.status.in_(LIVE),
        )
        .values(attempts=number, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        return None
    row = session.get(WebhookDelivery, delivery_id, populate_existing=True)
    endpoint = row.endpoint
    if not endpoint.enabled:
        row.attempts = number - 1
        row.status, row.next_attempt_at = "failed", None
        row.last_error = "Not sent: the endpoint is disabled. Enable it and replay the delivery."
        return None
    return Claimed(row.id, number, endpoint.url, row.message_id, row.payload.encode(), live_secrets(endpoint))


def record_outcome(
    session: Session,
    tenant_id: uuid.UUID,
    claimed: Claimed,
    outcome: delivery.Outcome,
    settings: Settings,
    *,
    now: datetime | None = None,
) -> float | None:
    """Log the attempt, move the delivery on and schedule its next attempt; returns that delay (or None)."""
    now = now or utcnow()
    row = session.get(WebhookDelivery, claimed.delivery_id, populate_existing=True)
    endpoint = row.endpoint
    session.add(
        WebhookAttempt(
            tenant_id=tenant_id,
            delivery_id=row.id,
            endpoint_id=endpoint.id,
            number=claimed.number,
            status_code=outcome.status_code,
            succeeded=outcome.succeeded,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
            response_excerpt=outcome.excerpt,
            created_at=now,
        )
    )
    row.last_status_code, row.last_error = outcome.status_code, outcome.error
    if outcome.succeeded:
        row.status, row.succeeded_at, row.next_attempt_at = "succeeded", now, None
        endpoint.consecutive_failures, endpoint.failing_since = 0, None
        session.flush()
        return None
    # One statement, so attempts of several deliveries failing at once all count.
    session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.id == endpoint.id)
        .values(
            consecutive_failures=WebhookEndpoint.consecutive_failures + 1,
            failing_since=func.coalesce(WebhookEndpoint.failing_since, now),
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(endpoint, ["consecutive_failures", "failing_since", "enabled"])
    delay = None
    if claimed.number < settings.max_attempts:
        delay = backoff_seconds(claimed.number, settings)
        row.status, row.next_attempt_at = "retrying", now + timedelta(seconds=delay)
    else:
        row.status, row.next_attempt_at = "failed", None
    session.flush()
    if _run_too_long(endpoint, settings, now):
        disable_for_failures(session, endpoint, now)
    if delay is not None:
        enqueue_attempt(session, tenant_id, row.id, claimed.number + 1, delay)
    return delay


def _run_too_long(endpoint: WebhookEndpoint, settings: Settings, now: datetime) -> bool:
    if not endpoint.enabled:
        return False
    if endpoint.consecutive_failures >= settings.disable_after_failures:
        return True
    since = endpoint.failing_since
    return since is not None and now - since >= timedelta(days=settings.disable_after_days)


def disable_for_failures(session: Session, endpoint: WebhookEndpoint, now: datetime) -> None:
    """Turn an endpoint off after its run of failures and email the workspace's admins."""
    from aerospec.accounts.models import User
    from aerospec.notifications.services import queue_email

    endpoint.enabled = False
    endpoint.disabled_at = now
    endpoint.disabled_reason = (
        f"Disabled automatically after {endpoint.consecutive_failures} failed attempts in a row"
        f" (failing since {endpoint.failing_since:%d %b %Y %H:%M} UTC)."
    )
    session.flush()
    _audit(session, endpoint, "webhook.endpoint_disabled", reason=endpoint.disabled_reason)
    tenant = session.get(Tenant, endpoint.tenant_id)
    admins = session.scalars(
        select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.tenant_id == tenant.id, Membership.role == "admin")
        .order_by(User.email)
    )
    for email in admins:
        queue_email(
            session,
            email,
            "webhook_disabled",
            tenant_name=tenant.name,
            tenant_slug=tenant.slug,
            endpoint_id=str(endpoint.id),
            endpoint_url=endpoint.url,
            reason=endpoint.disabled_reason,
        )


def due_deliveries(session: Session, due_before: datetime, limit: int = 500) -> list[tuple[str, str, int]]:
    """(tenant id, delivery id, next attempt number) of live deliveries overdue since `due_before`, across
    workspaces (the caller opens the wall): their job was lost (a Redis restart) or never enqueued."""
    rows = session.execute(
        select(WebhookDelivery.tenant_id, WebhookDelivery.id, WebhookDelivery.attempts)
        .where(WebhookDelivery.status.in_(LIVE), WebhookDelivery.next_attempt_at < due_before)
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
    ).all()
    return [(str(t), str(d), attempts + 1) for t, d, attempts in rows]
