"""The offline proration arithmetic (billing.proration), against examples worked out by hand: dates, seconds,
amounts in cents, rounded half-up. Prices from plans.price_quote: Starter USD 500 a month, Professional
USD 2,000 a month (annual 12 × 2,000 × 0.9 = USD 21,600), an extra seat USD 400 a month."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aerospec.billing.plans import price_quote
from aerospec.billing.proration import prorate, proration, settle


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def lines(result) -> list[tuple[str, int, int]]:
    return [(line.kind, line.quantity, line.amount) for line in result.lines]


def test_the_prices_the_examples_use():
    assert price_quote("starter", "month").total_minor == 50_000
    assert price_quote("professional", "month").total_minor == 200_000
    assert price_quote("professional", "year").total_minor == 2_160_000  # 12 × 200,000 × 0.9
    assert price_quote("professional", "month", 2).total_minor == 280_000  # + 2 × 40,000
    assert price_quote("professional", "year", 1).total_minor == 2_160_000 + 432_000  # 12 × 40,000 × 0.9


def test_example_1_adding_two_seats_charges_only_the_seats_for_the_rest_of_the_period():
    # Period 1 Mar 2026 00:00 → 1 Apr 2026 00:00: 31 days. On 11 Mar 00:00, 21 days are left.
    # The workspace price does not change: no line. 2 seats × USD 400 = 80,000 cents;
    # 80,000 × 21/31 = 54,193.548… → 54,194 cents = USD 541.94 charged now.
    result = proration(
        price_quote("professional", "month"),
        price_quote("professional", "month", 2),
        at(2026, 3, 1),
        at(2026, 4, 1),
        at(2026, 3, 11),
    )
    assert lines(result) == [("seat", 2, 54_194)]
    assert result.total == 54_194
    assert (result.period_start, result.period_end) == (at(2026, 3, 1), at(2026, 4, 1))  # the period stays


def test_example_2_starter_to_professional_credits_the_unused_starter_and_charges_the_rest_of_professional():
    # Period 1 Apr 2026 → 1 May 2026: 30 days; on 21 Apr 00:00, 10 days are left (1/3).
    # Credit 50,000 × 10/30 = 16,666.67 → 16,667; charge 200,000 × 10/30 = 66,666.67 → 66,667.
    # Due: 66,667 − 16,667 = 50,000 cents = USD 500.00.
    result = proration(
        price_quote("starter", "month"),
        price_quote("professional", "month"),
        at(2026, 4, 1),
        at(2026, 5, 1),
        at(2026, 4, 21),
    )
    assert lines(result) == [("plan", 1, -16_667), ("plan", 1, 66_667)]
    assert [line.description for line in result.lines] == [
        "Unused time on Starter plan (monthly)",
        "Remaining time on Professional plan (monthly)",
    ]
    assert result.total == 50_000


def test_example_3_monthly_to_annual_starts_a_new_year_and_credits_half_a_month():
    # Period 1 Mar 2026 → 1 Apr 2026: 31 days; on 16 Mar 12:00, 15.5 days are left (half).
    # Credit 200,000 × 15.5/31 = 100,000 exactly; the annual price is charged whole: 2,160,000.
    # Due: 2,060,000 cents = USD 20,600.00; the new period is 16 Mar 2026 12:00 → 16 Mar 2027 12:00.
    result = proration(
        price_quote("professional", "month"),
        price_quote("professional", "year"),
        at(2026, 3, 1),
        at(2026, 4, 1),
        at(2026, 3, 16, 12),
        at(2027, 3, 16, 12),
    )
    assert lines(result) == [("plan", 1, -100_000), ("plan", 1, 2_160_000)]
    assert result.total == 2_060_000
    assert (result.period_start, result.period_end) == (at(2026, 3, 16, 12), at(2027, 3, 16, 12))


def test_example_4_fewer_seats_is_a_credit_kept_for_the_next_invoice():
    # Period 1 Feb 2026 → 1 Mar 2026: 28 days; on 15 Feb 00:00, 14 days are left (half).
    # 3 extra seats → 1: credit 120,000 × 14/28 = 60,000; charge 40,000 × 14/28 = 20,000; total −40,000.
    result = proration(
        price_quote("professional", "month", 3),
        price_quote("professional", "month", 1),
        at(2026, 2, 1),
        at(2026, 3, 1),
        at(2026, 2, 15),
    )
    assert lines(result) == [("seat", 3, -60_000), ("seat", 1, 20_000)]
    assert result.total == -40_000
    # Nothing is paid out: nothing due now, USD 400.00 of credit afterwards …
    assert settle(result.total, 0) == (0, 0, 40_000)
    # … which the renewal on 1 Mar (2,000 + 1 × 400 = 240,000) uses first: 200,000 due, credit gone.
    assert settle(240_000, 40_000) == (200_000, 40_000, 0)


def test_example_5_half_a_cent_rounds_up():
    # 30-day period (2,592,000 s) with 162 s left: 200,000 × 162 / 2,592,000 = 12.5 cents → 13 (half-up;
    # banker's rounding would give 12). Monthly → annual then bills 2,160,000 − 13 = 2,159,987 cents.
    assert prorate(200_000, 162, 2_592_000) == 13
    assert prorate(200_000, 161, 2_592_000) == 12  # 12.42…
    end = at(2026, 5, 1)
    result = proration(
        price_quote("professional", "month"),
        price_quote("professional", "year"),
        at(2026, 4, 1),
        end,
        datetime.fromtimestamp(end.timestamp() - 162, UTC),
        at(2027, 4, 30, 23, 57, 18),
    )
    assert result.total == 2_159_987


def test_an_interval_change_needs_the_new_period_and_a_period_needs_a_length():
    with pytest.raises(ValueError, match="new period"):
        proration(
            price_quote("professional", "month"),
            price_quote("professional", "year"),
            at(2026, 1, 1),
            at(2026, 2, 1),
            at(2026, 1, 5),
        )
    with pytest.raises(ValueError, match="positive length"):
        proration(
            price_quote("starter", "month"),
            price_quote("professional", "month"),
            at(2026, 1, 1),
            at(2026, 1, 1),
            at(2026, 1, 1),
        )
