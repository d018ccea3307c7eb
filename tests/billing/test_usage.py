"""Limits checked on the server (configurations, exports, API calls, seats), the Redis and the
database counters, the 80/90/100 % emails once per period, the monthly roll-up, price ids."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from urllib.parse import urlparse

import pytest
import time_machine
from sqlalchemy import select

from aerospec.billing import plans, usage
from aerospec.billing.models import BillingNotice, UsageRollup
from aerospec.config import load_config
from aerospec.configurations import services as configs
from aerospec.errors import LimitReached
from aerospec.limits import counters, effective
from aerospec.models import utcnow
from aerospec.notifications.models import EmailMessage
from aerospec.tenancy import services as tenancy
from aerospec.tenancy.features import FeatureNotInPlan
from aerospec.tenancy.models import Membership
from aerospec.tenancy.scoping import tenant_scope
from tests.conftest import need

BASE = {
    "name": "Nasal pump",
    "fluid_name": "Water",
    "fluid_viscosity_cP": 1.0,
    "fluid_density_kg_m3": 997.0,
    "fluid_surface_tension_mN_m": 72.0,
    "target_spray_cone_deg": 60.0,
    "target_droplet_size_um": 50.0,
    "max_pressure_bar": 5.0,
}
NOV = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
DEC = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def _membership(db, tenant, user) -> Membership:
    return db.session.scalar(select(Membership).where(Membership.tenant_id == tenant.id, Membership.user_id == user.id))


def _emails(db, tenant) -> list[EmailMessage]:
    return list(
        db.session.scalars(
            select(EmailMessage)
            .where(EmailMessage.to_address == tenant.billing_email, EmailMessage.template == "usage_threshold")
            .order_by(EmailMessage.created_at, EmailMessage.subject)
        )
    )


@pytest.fixture
def redis_counter():
    """A RedisCounter on the real local Redis, database 13 (mandatory in CI); its keys are removed after."""
    import redis as redis_lib

    base = urlparse(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    url = base._replace(path="/13").geturl()
    client = redis_lib.Redis.from_url(url, socket_connect_timeout=1)
    try:
        reachable = bool(client.ping())
    except redis_lib.exceptions.ConnectionError:
        reachable = False
    need(reachable, f"a Redis server at {url}")
    yield counters.RedisCounter(client)
    # Keys carry random tenant ids, so removing every quota key of database 13 touches no other run's.
    for key in client.scan_iter("aerospec:quota:*"):
        client.delete(key)


# ---- limits


def test_limit_for_is_the_plan_limit_with_the_override_and_none_is_unlimited(team):
    t = team(plan="starter", limits={"exports_per_day": 12, "configurations_per_month": None})
    assert effective.limit_for(t.tenant, "seats") == 1
    assert effective.limit_for(t.tenant, "exports_per_day") == 12
    assert effective.limit_for(t.tenant, "configurations_per_month") is None
    assert effective.limit_for(t.tenant, "api_calls_per_month") == 0
    with pytest.raises(KeyError):
        effective.limit_for(t.tenant, "widgets")


def test_configurations_limit_is_402_naming_the_plan_that_allows_more(db, team):
    t = team(plan="starter", limits={"configurations_per_month": 2})
    with tenant_scope(db.session, t.tenant.id):
        m = _membership(db, t.tenant, t.user)
        for _ in range(2):
            configs.create_configuration(db.session, t.tenant, m, BASE, counter=counters.DatabaseCounter())
        with pytest.raises(LimitReached) as info:
            configs.create_configuration(db.session, t.tenant, m, BASE, counter=counters.DatabaseCounter())
    assert info.value.status == 402
    assert "Starter plan includes 2 configurations per month" in info.value.message
    assert "Upgrade to Professional (unlimited configurations) or Enterprise" in info.value.message


def test_exports_limit_is_402_on_the_server(db, team):
    t = team(limits={"exports_per_day": 1})
    with tenant_scope(db.session, t.tenant.id):
        m = _membership(db, t.tenant, t.user)
        configs.export_configurations(db.session, t.tenant, m, "csv", counter=counters.DatabaseCounter())
        with pytest.raises(LimitReached) as info:
            configs.export_configurations(db.session, t.tenant, m, "json", counter=counters.DatabaseCounter())
    assert info.value.status == 402
    assert "1 exports per day" in info.value.message and "Enterprise (unlimited exports)" in info.value.message


def test_a_starter_workspace_has_no_api(db, team):
    t = team(plan="starter")
    with tenant_scope(db.session, t.tenant.id), pytest.raises(LimitReached) as info:
        usage.count_api_call(db.session, t.tenant, counters.DatabaseCounter(), NOV)
    assert info.value.status == 402
    assert info.value.message.startswith("The API is not in your Starter plan.")
    assert "Professional (10,000 API calls per month)" in info.value.message


def test_api_calls_without_redis_are_counted_in_the_rollup_row_up_to_the_limit(db, team, rows):
    t = team(limits={"api_calls_per_month": 3})
    counter = counters.DatabaseCounter()
    with tenant_scope(db.session, t.tenant.id):
        assert all(usage.count_api_call(db.session, t.tenant, counter, NOV) for _ in range(3))
        with pytest.raises(LimitReached) as info:
            usage.count_api_call(db.session, t.tenant, counter, NOV)
        assert usage.peek(db.session, t.tenant, "api_calls_per_month", counter=counter, now=NOV) == 3
    assert "Professional plan includes 3 API calls per month" in info.value.message
    assert "Enterprise (unlimited API calls)" in info.value.message
    [row] = rows(t.tenant, UsageRollup)
    assert (row.metric, row.period, row.count) == ("api_calls_per_month", "2026-11", 3)


def test_api_switched_off_by_a_platform_admin_is_402(db, team):
    t = team(features={"api_access": False})
    with tenant_scope(db.session, t.tenant.id), pytest.raises(FeatureNotInPlan) as info:
        usage.count_api_call(db.session, t.tenant, counters.DatabaseCounter(), NOV)
    assert info.value.status == 402 and "REST API" in info.value.message


def test_unlimited_api_calls_are_still_counted_for_history(db, team, rows):
    t = team(plan="enterprise")
    with tenant_scope(db.session, t.tenant.id):
        for _ in range(4):
            usage.count_api_call(db.session, t.tenant, counters.DatabaseCounter(), NOV)
    assert [r.count for r in rows(t.tenant, UsageRollup)] == [4]
    assert rows(t.tenant, BillingNotice) == []


def test_seats_are_checked_by_the_invite_service_and_follow_the_override(db, factories):
    tenant = factories.TenantFactory(plan="starter")
    admin = factories.member(tenant, "admin")
    db.session.commit()
    with tenant_scope(db.session, tenant.id):
        actor = _membership(db, tenant, admin)
        with pytest.raises(LimitReached) as info:
            tenancy.invite(db.session, tenant, actor, email="new@example.com", role="user", client=None)
        assert info.value.status == 402 and "Upgrade to Professional" in info.value.message
        tenant.limits = {"seats": 2}
        db.session.flush()
        tenancy.invite(db.session, tenant, actor, email="new@example.com", role="user", client=None)
        seats = next(
            r for r in usage.usage_summary(db.session, tenant, counters.DatabaseCounter(), NOV) if r["name"] == "seats"
        )
    assert seats == {
        "name": "seats",
        "label": "Team seats",
        "used": 2,
        "limit": 2,
        "percent": 100,
        "period": None,
        "period_label": None,
        "resets_at": None,
        "state": "full",
    }


def test_usage_summary_has_a_bar_for_every_limit(db, team):
    t = team(plan="starter")
    with tenant_scope(db.session, t.tenant.id):
        m = _membership(db, t.tenant, t.user)
        configs.create_configuration(db.session, t.tenant, m, BASE, counter=counters.DatabaseCounter(), now=NOV)
        summary = {r["name"]: r for r in usage.usage_summary(db.session, t.tenant, counters.DatabaseCounter(), NOV)}
    assert list(summary) == list(plans.LIMIT_NAMES)
    assert summary["configurations_per_month"]["used"] == 1
    assert summary["configurations_per_month"]["percent"] == 2  # 1 of 50
    assert summary["configurations_per_month"]["period_label"] == "November 2026"
    assert summary["configurations_per_month"]["resets_at"] == datetime(2026, 12, 1, tzinfo=UTC)
    assert summary["api_calls_per_month"]["state"] == "not_included"
    assert summary["seats"]["used"] == 3 and summary["seats"]["state"] == "full"  # the team has three members


# ---- the Redis counter (real Redis)


def test_redis_counts_api_calls_atomically_and_the_rollup_reads_it(db, team, rows, redis_counter):
    t = team(limits={"api_calls_per_month": 3})
    with tenant_scope(db.session, t.tenant.id):
        wrote = [usage.count_api_call(db.session, t.tenant, redis_counter, NOV) for _ in range(2)]
        assert wrote == [False, False]  # nothing for the database: no commit needed
        assert usage.count_api_call(db.session, t.tenant, redis_counter, NOV) is True  # 100 % notice
        with pytest.raises(LimitReached):
            usage.count_api_call(db.session, t.tenant, redis_counter, NOV)
        assert rows(t.tenant, UsageRollup) == []
        assert usage.roll_up_tenant(db.session, t.tenant, redis_counter, NOV) >= 1
        # A lost key is seeded from the roll-up row, so the allowance is not handed out twice.
        redis_counter.redis.delete(f"aerospec:quota:{t.tenant.id}:api_calls_per_month:2026-11")
        with pytest.raises(LimitReached):
            usage.count_api_call(db.session, t.tenant, redis_counter, NOV)
    assert [(r.metric, r.period, r.count) for r in rows(t.tenant, UsageRollup)] == [
        ("api_calls_per_month", "2026-11", 3)
    ]


def test_redis_counter_for_configurations_is_seeded_from_rows_and_refuses_over_the_limit(db, team, redis_counter):
    t = team(limits={"configurations_per_month": 3})
    with tenant_scope(db.session, t.tenant.id):
        m = _membership(db, t.tenant, t.user)
        configs.create_configuration(db.session, t.tenant, m, BASE, counter=counters.DatabaseCounter(), now=NOV)
        _, use = configs.create_configuration(db.session, t.tenant, m, BASE, counter=redis_counter, now=NOV)
        assert use.used == 2
        with pytest.raises(LimitReached):
            usage.use(db.session, t.tenant, "configurations_per_month", counter=redis_counter, now=NOV, amount=2)
        assert usage.use(db.session, t.tenant, "configurations_per_month", counter=redis_counter, now=NOV).used == 3
        assert usage.peek(db.session, t.tenant, "configurations_per_month", counter=redis_counter, now=NOV) == 3


# ---- threshold emails


def test_api_call_emails_at_80_90_and_100_percent_once_per_period(db, team, rows):
    t = team(limits={"api_calls_per_month": 10})
    counter = counters.DatabaseCounter()
    with time_machine.travel(NOV, tick=False), tenant_scope(db.session, t.tenant.id):
        for _ in range(7):
            usage.count_api_call(db.session, t.tenant, counter, utcnow())
        assert _emails(db, t.tenant) == []
        usage.count_api_call(db.session, t.tenant, counter, utcnow())  # 8 of 10
        assert [e.subject for e in _emails(db, t.tenant)] == [
            f"{t.tenant.name} has used 80 % of its API calls for November 2026"
        ]
        usage.count_api_call(db.session, t.tenant, counter, utcnow())  # 9
        usage.count_api_call(db.session, t.tenant, counter, utcnow())  # 10
        assert len(_emails(db, t.tenant)) == 3
        # The counter comes back below 80 % (a lost Redis key, a correction): crossing again sends nothing.
        db.session.execute(UsageRollup.__table__.update().values(count=0))
        for _ in range(10):
            usage.count_api_call(db.session, t.tenant, counter, utcnow())
        emails = _emails(db, t.tenant)
        assert len(emails) == 3
        assert {n.key for n in rows(t.tenant, BillingNotice)} == {
            "api_calls_per_month:2026-11:80",
            "api_calls_per_month:2026-11:90",
            "api_calls_per_month:2026-11:100",
        }
    [body] = [e.text_body for e in emails if " 100 % " in e.subject]
    assert "has used all 10 API calls its Professional plan includes for November 2026" in body
    assert "01 December 2026" in body and "upgrade to Enterprise (unlimited API calls)" in body
    assert f"/t/{t.tenant.slug}/billing" in body

    with time_machine.travel(DEC, tick=False), tenant_scope(db.session, t.tenant.id):
        for _ in range(8):
            usage.count_api_call(db.session, t.tenant, counter, utcnow())
        assert len(_emails(db, t.tenant)) == 4
        assert [e.subject for e in _emails(db, t.tenant) if "December" in e.subject] == [
            f"{t.tenant.name} has used 80 % of its API calls for December 2026"
        ]


def test_configurations_send_the_highest_threshold_crossed_once(db, team):
    t = team(limits={"configurations_per_month": 5})
    with time_machine.travel(NOV, tick=False), tenant_scope(db.session, t.tenant.id):
        m = _membership(db, t.tenant, t.user)
        for _ in range(5):
            configs.create_configuration(db.session, t.tenant, m, BASE, counter=counters.DatabaseCounter())
        subjects = [e.subject for e in _emails(db, t.tenant)]
    # 80 % of 5 is the 4th; 90 % rounds up to the 5th, which is also 100 %: one email, the 100 % one.
    assert sorted((s.split(" has used ")[1] for s in subjects), key=lambda s: int(s.split(" ")[0])) == [
        "80 % of its configurations for November 2026",
        "100 % of its configurations for November 2026",
    ]


def test_exports_per_day_threshold_key_is_the_day(db, team, rows):
    t = team(limits={"exports_per_day": 1})
    with tenant_scope(db.session, t.tenant.id):
        m = _membership(db, t.tenant, t.user)
        configs.export_configurations(db.session, t.tenant, m, "csv", counter=counters.DatabaseCounter(), now=NOV)
    assert [n.key for n in rows(t.tenant, BillingNotice)] == ["exports_per_day:2026-11-10:100"]
    assert "10 November 2026" in _emails(db, t.tenant)[0].subject


# ---- roll-up


def test_roll_up_writes_current_and_closed_periods_and_is_idempotent(db, team, rows):
    from jobs.usage import roll_up_usage

    t = team(limits={"api_calls_per_month": 100})
    counter = counters.DatabaseCounter()
    # Frozen: the export's audit entry (what exports per day counts) is stamped with the clock.
    with time_machine.travel(NOV, tick=False), tenant_scope(db.session, t.tenant.id):
        m = _membership(db, t.tenant, t.user)
        for when in (datetime(2026, 10, 30, tzinfo=UTC), NOV, NOV):
            configs.create_configuration(db.session, t.tenant, m, BASE, counter=counter, now=when)
        configs.export_configurations(db.session, t.tenant, m, "csv", counter=counter, now=NOV)
        for _ in range(3):
            usage.count_api_call(db.session, t.tenant, counter, NOV)
    db.session.commit()

    first = roll_up_usage(NOV)
    snapshot = sorted((r.metric, r.period, r.count) for r in rows(t.tenant, UsageRollup))
    assert snapshot == [
        ("api_calls_per_month", "2026-11", 3),
        ("configurations_per_month", "2026-10", 1),
        ("configurations_per_month", "2026-11", 2),
        ("exports_per_day", "2026-11-10", 1),
    ]
    assert first >= 3
    roll_up_usage(NOV)
    assert sorted((r.metric, r.period, r.count) for r in rows(t.tenant, UsageRollup)) == snapshot
    with tenant_scope(db.session, t.tenant.id):
        history = usage.usage_history(db.session, t.tenant, "configurations_per_month")
    assert [(h.period, h.count) for h in history] == [("2026-11", 2), ("2026-10", 1)]


# ---- price ids


def test_price_ids_come_from_the_environment_both_ways(tmp_path):
    config = load_config(
        {
            "AEROSPEC_INSTANCE_PATH": str(tmp_path),
            "STRIPE_PRICE_PROFESSIONAL_MONTH": "price_pro_m",
            "STRIPE_PRICE_PROFESSIONAL_YEAR": "price_pro_y",
            "STRIPE_PRICE_STARTER_MONTH": "price_start_m",
        }
    )
    assert plans.price_id("professional", "month", config) == "price_pro_m"
    assert plans.price_id("professional", "year", config) == "price_pro_y"
    assert plans.price_id("starter", "year", config) is None
    assert plans.plan_for_price("price_pro_y", config) == ("professional", "year")
    assert plans.plan_for_price("price_start_m", config) == ("starter", "month")
    assert plans.plan_for_price("price_unknown", config) is None
    assert plans.plan_for_price(None, config) is None
    with pytest.raises(ValueError):
        plans.price_id("professional", "week", config)
    with pytest.raises(KeyError):
        plans.price_id("gold", "month", config)
