"""The maintained daily summary equals a live count of the same days, is written once per closed day (a
second run writes nothing), and today's sessions and orders reach the dashboard before any roll-up."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from aerospec.models import utcnow
from aerospec.revenue import rollups, seed, services
from aerospec.revenue.models import RevenueDayRollup
from jobs.revenue import roll_up_revenue_days


def test_rolled_up_days_match_a_live_count_and_are_written_once(db):
    now = utcnow()
    counts = seed.seed_history(db.session, 40, 3, now=now, seed=5)
    db.session.commit()
    assert counts["revenue_day_rollups"] >= 30  # every closed day from the first session or order to yesterday
    assert roll_up_revenue_days(now) == 0  # nothing new is due
    assert roll_up_revenue_days(now + timedelta(days=1)) == 1  # the day that has just closed

    summary = rollups.days(db.session, now)
    first = min(summary)
    start = rollups._midnight(rollups.date.fromisoformat(first))
    live = rollups.count_between(db.session, start, now + timedelta(seconds=1))
    for day in sorted(set(summary) | set(live)):
        got, want = summary.get(day, rollups.Day()), live.get(day, rollups.Day())
        assert (got.active_users, got.orders) == (want.active_users, want.orders), day
    assert sum(d.active_users for d in summary.values()) > 0
    assert sum(n for d in summary.values() for n, _v, _c in d.orders.values()) > 0
    rows = db.session.scalar(select(func.count()).select_from(RevenueDayRollup))
    assert rows == counts["revenue_day_rollups"] + 1


def test_todays_activity_is_counted_live_before_any_roll_up(db, factories, login):
    user = factories.UserFactory()
    db.session.commit()
    login(user)  # a session that starts now
    product = services.product(db.session, utcnow(), rollups.days(db.session, utcnow()))
    assert product.dau == 1 and product.wau == 1 and product.mau == 1
    assert db.session.scalar(select(func.count()).select_from(RevenueDayRollup)) == 0
