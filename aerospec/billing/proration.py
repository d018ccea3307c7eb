"""Proration: what a change of plan, interval or extra seats bills now, outside a trial.

The same arithmetic as Stripe's `proration_behavior=always_invoice`, so the offline provider's
estimate and invoice say what Stripe's `invoices.create_preview` would:

* Each subscription item whose price or quantity changes is credited for the unused part of the
  current period (`amount × left / period`, negative) and, when the interval stays, charged for
  the same part at its new price and quantity (`new amount × left / period`). An item that does not
  change (the workspace price when only the seats change) has no lines.
* An interval change re-anchors the period at the moment of the change (as Stripe does), so every
  new item is charged for a whole new period, and the old items are credited for their unused time.
* Time is measured in seconds; each line is rounded to the cent half-up, in Decimal (never a float).
* A positive total is charged now. A negative total is not paid out: it becomes account credit that
  later invoices use first (Stripe: the customer's balance; offline: `credit_balance`).

During a trial nothing of this applies: a change bills nothing and the new price starts at the
trial's end (billing.subscriptions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from aerospec.billing.plans import PriceLine, PriceQuote, billing_words


@dataclass(frozen=True)
class ProrationLine:
    """One line of a proration invoice (minor units; a credit is negative)."""

    kind: str  # "plan" | "seat"
    description: str
    quantity: int
    amount: int


@dataclass(frozen=True)
class Proration:
    """The lines a change bills now, their total, and the period the subscription has afterwards."""

    lines: tuple[ProrationLine, ...]
    period_start: datetime
    period_end: datetime

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)


def prorate(amount_minor: int, left_seconds: int, period_seconds: int) -> int:
    """`amount × left / period` in minor units, rounded half-up (Decimal; period_seconds > 0)."""
    exact = Decimal(amount_minor) * Decimal(left_seconds) / Decimal(period_seconds)
    return int(exact.quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def _line_key(line: PriceLine) -> str:
    return line.kind


def _unit_words(line: PriceLine, quote: PriceQuote) -> str:
    if line.kind == "seat":
        return f"{line.quantity} × extra seat on {quote.plan.name} ({billing_words(quote.interval)})"
    return f"{quote.plan.name} plan ({billing_words(quote.interval)})"


def proration(
    old: PriceQuote,
    new: PriceQuote,
    period_start: datetime,
    period_end: datetime,
    at: datetime,
    next_period_end: datetime | None = None,
) -> Proration:
    """The proration of moving from `old` to `new` at `at`, in a period [period_start, period_end).

    For an interval change, `next_period_end` is the end of the re-anchored period that starts at `at`.
    """
    span = int((period_end - period_start).total_seconds())
    if span <= 0:
        raise ValueError("the period must have a positive length")
    left = min(max(int((period_end - at).total_seconds()), 0), span)
    same_interval = old.interval == new.interval
    old_items = {_line_key(line): line for line in old.lines}
    new_items = {_line_key(line): line for line in new.lines}
    lines: list[ProrationLine] = []
    for key in ("plan", "seat"):
        before, after = old_items.get(key), new_items.get(key)
        if same_interval and old.plan.key == new.plan.key and before == after:
            continue  # this item does not change: Stripe bills nothing for it
        if before is not None:
            lines.append(
                ProrationLine(
                    key,
                    f"Unused time on {_unit_words(before, old)}",
                    before.quantity,
                    -prorate(before.amount_minor, left, span),
                )
            )
        if after is not None:
            if same_interval:
                amount = prorate(after.amount_minor, left, span)
                words = f"Remaining time on {_unit_words(after, new)}"
            else:
                amount = after.amount_minor
                words = _unit_words(after, new)
            lines.append(ProrationLine(key, words, after.quantity, amount))
    if same_interval:
        return Proration(tuple(lines), period_start, period_end)
    if next_period_end is None:
        raise ValueError("an interval change needs the end of the new period")
    return Proration(tuple(lines), at, next_period_end)


def settle(total: int, credit_balance: int) -> tuple[int, int, int]:
    """(amount due now, credit used, credit balance afterwards) for an invoice of `total` minor units.

    Credit pays first; a negative total adds to the credit instead of being paid out.
    """
    balance = max(0, credit_balance)
    if total <= 0:
        return 0, 0, balance - total
    used = min(balance, total)
    return total - used, used, balance - used
