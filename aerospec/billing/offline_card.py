"""The offline provider's test card and payment retry schedule, shared by every offline payment attempt.

Offline mode has no card; for demos and the browser an admin chooses what the
workspace's "card" does on the billing page: succeeds (the default) or fails. It is kept without a
schema change as a BillingNotice row (kind "offline_card", key "fails") whose presence means the
card declines; choosing "succeeds" deletes it. BillingNotice is the once-only marker table keyed by
(tenant, kind, key), which is exactly a per-tenant flag; no email is ever sent for this kind.

Retries follow `RETRY_AFTER_DAYS` (see `billing.offline_cycle`). This module sits below
`billing.offline_cycle` (renewals, retries) and `billing.subscriptions` (plan changes), which both
attempt payments with the card, and imports neither.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from aerospec.billing.models import BillingNotice
from aerospec.errors import ValidationFailed
from aerospec.models import utcnow
from aerospec.tenancy.models import Tenant
from aerospec.tenancy.scoping import tenant_scope

RETRY_AFTER_DAYS = (3, 5)  # attempt 2 three days after attempt 1, attempt 3 five days after attempt 2
MAX_ATTEMPTS = 1 + len(RETRY_AFTER_DAYS)  # = lifecycle.MAX_FAILED_ATTEMPTS: the third failure suspends
CARD_KIND, CARD_FAILS = "offline_card", "fails"
CARD_OUTCOMES = ("succeeds", "fails")


# -- the test card --------------------------------------------------------------------------------


def _card_row(session: Session, tenant: Tenant) -> BillingNotice | None:
    with tenant_scope(session, tenant.id):
        return session.scalar(
            select(BillingNotice).where(
                BillingNotice.tenant_id == tenant.id, BillingNotice.kind == CARD_KIND, BillingNotice.key == CARD_FAILS
            )
        )


def card_outcome(session: Session, tenant: Tenant) -> str:
    """What the workspace's offline test card does on the next payment attempt: "succeeds" or "fails"."""
    return "fails" if _card_row(session, tenant) is not None else "succeeds"


def set_test_card(session: Session, tenant: Tenant, outcome: str, now: datetime | None = None) -> str:
    """Make the workspace's offline payments succeed or fail from now on (demos, the browser test)."""
    if outcome not in CARD_OUTCOMES:
        raise ValidationFailed("Choose what the test card does.", field_errors={"card": ["succeeds or fails."]})
    row = _card_row(session, tenant)
    with tenant_scope(session, tenant.id):
        if outcome == "fails" and row is None:
            session.add(BillingNotice(tenant_id=tenant.id, kind=CARD_KIND, key=CARD_FAILS, sent_at=now or utcnow()))
        elif outcome == "succeeds" and row is not None:
            session.delete(row)
        session.flush()
    return outcome


# -- the retry schedule ----------------------------------------------------------------------------


def next_attempt_at(attempted_at: datetime, attempt: int) -> datetime | None:
    """When the retry after attempt number `attempt` is due (None after the last one)."""
    if attempt >= MAX_ATTEMPTS:
        return None
    return attempted_at + timedelta(days=RETRY_AFTER_DAYS[attempt - 1])
