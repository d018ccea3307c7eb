"""MRR movements, churn, NRR, ARPU, LTV, the forecast, trial conversion and the cohort table against the
hand-built history of conftest.py, with the arithmetic written out.

Prices (billing.plans): Starter USD 500 a month; Professional USD 2,000 a month, or 21,600 a year = 1,800 a
month; a Professional extra seat USD 400 a month, or 4,320 a year = 360 a month.

    A  signed up 5 Jan   19 Jan starter monthly          new          +500
                         10 Feb professional monthly     expansion   +1500   (500 → 2000)
                         20 Mar canceled                 churn       −2000
    B  signed up 10 Jan  24 Jan professional annual      new         +1800
                          5 Mar + 2 annual seats         expansion    +720   (1800 → 2520)
    C  signed up 20 Jan  trial lapsed, never paid
    D  signed up 3 Feb   17 Feb professional + 1 seat    new         +2400
                         12 Mar seat removed             contraction  −400   (2400 → 2000)
    E  signed up 8 Feb   22 Feb starter monthly          new          +500
                          1 Mar canceled                 churn        −500
                          2 Apr starter again            reactivation +500

    month  start  new   expansion  contraction  churn  reactivation  end    paying start → end
    Jan       0   2300      0          0           0        0        2300      0 → 2
    Feb    2300   2900   1500          0           0        0        6700      2 → 4
    Mar    6700      0    720       −400       −2500        0        4520      4 → 2
    Apr    4520      0      0          0           0      500        5020      2 → 3   (to 15 Apr)
"""

from __future__ import annotations

import pytest

from aerospec.revenue import services
from tests.revenue.conftest import NOW


@pytest.fixture
def dash(history, db):
    return services.dashboard(db.session, NOW)


def month(d, name):
    return next(m for m in d.months if m.month == name)


def test_mrr_movements_per_month_match_the_hand_calculation(dash):
    assert [m.month for m in dash.months] == ["2026-01", "2026-02", "2026-03", "2026-04"]
    jan, feb, mar, apr = dash.months
    # cents: USD 500 = 50_000
    assert jan.movements == {"new": 230_000, "expansion": 0, "contraction": 0, "churn": 0, "reactivation": 0}
    assert feb.movements == {"new": 290_000, "expansion": 150_000, "contraction": 0, "churn": 0, "reactivation": 0}
    assert mar.movements == {
        "new": 0,
        "expansion": 72_000,
        "contraction": -40_000,
        "churn": -250_000,
        "reactivation": 0,
    }
    assert apr.movements == {"new": 0, "expansion": 0, "contraction": 0, "churn": 0, "reactivation": 50_000}
    assert [(m.mrr_start, m.mrr_end) for m in dash.months] == [
        (0, 230_000),
        (230_000, 670_000),  # 2300 + 2900 + 1500
        (670_000, 452_000),  # 6700 + 720 − 400 − 2500
        (452_000, 502_000),  # 4520 + 500
    ]
    assert [(m.customers_start, m.customers_end) for m in dash.months] == [(0, 2), (2, 4), (4, 2), (2, 3)]
    assert mar.counts["churn"] == 2 and apr.counts["reactivation"] == 1


def test_churn_and_net_revenue_retention_per_month(dash):
    jan, feb, mar, _apr = dash.months
    assert jan.logo_churn is None and jan.nrr is None  # nobody paid at the start of January: nothing to divide by
    assert feb.logo_churn == 0 / 2
    assert feb.nrr == pytest.approx((2300 + 1500) / 2300)  # A's upgrade on a base of A and B: 165.2 %
    assert mar.logo_churn == pytest.approx(2 / 4)  # A and E of A, B, D, E
    assert mar.revenue_churn == pytest.approx((2500 + 400) / 6700)  # churned + contraction over the start: 43.3 %
    assert mar.nrr == pytest.approx((6700 + 720 - 400 - 2500) / 6700)  # 67.5 %


def test_headline_figures_arpu_ltv_and_forecast(dash):
    s = dash.summary
    assert (s.mrr, s.arr, s.customers) == (502_000, 502_000 * 12, 3)
    assert s.arpu == pytest.approx(502_000 / 3)  # USD 1,673.33
    assert s.trailing == ["2026-01", "2026-02", "2026-03"]  # April is not complete on 15 April
    assert s.logo_churn == pytest.approx((0 + 0.5) / 2)  # January's is undefined and left out
    assert s.ltv == pytest.approx((502_000 / 3) / 0.25)  # ARPU ÷ churn: USD 6,693.33
    trend = (230_000 + 440_000 - 218_000) / 3  # net new Jan, Feb, Mar: USD 1,506.67 a month
    assert s.net_new_trend == pytest.approx(trend)
    assert dash.forecast[0] == {"month": "2026-05", "mrr": round(502_000 + trend)}
    assert dash.forecast[-1] == {"month": "2027-04", "mrr": round(502_000 + 12 * trend)}  # USD 23,100


def test_mrr_by_plan_and_interval_now(dash):
    assert dash.plans == [
        {"plan": "professional", "plan_name": "Professional", "interval": "year", "mrr": 252_000, "customers": 1},
        {"plan": "professional", "plan_name": "Professional", "interval": "month", "mrr": 200_000, "customers": 1},
        {"plan": "starter", "plan_name": "Starter", "interval": "month", "mrr": 50_000, "customers": 1},
    ]
    assert dash.intervals == [
        {"interval": "month", "mrr": 250_000, "customers": 2},
        {"interval": "year", "mrr": 252_000, "customers": 1},
    ]


def test_trial_conversion_and_cohort_table_by_signup_month(dash):
    conversion = {c["month"]: c for c in dash.conversion}
    assert (conversion["2026-01"]["signups"], conversion["2026-01"]["converted"]) == (3, 2)  # A, B of A, B, C
    assert conversion["2026-01"]["rate"] == pytest.approx(2 / 3)
    assert (conversion["2026-02"]["signups"], conversion["2026-02"]["converted"], conversion["2026-02"]["rate"]) == (
        2,
        2,
        1.0,
    )
    cohorts = {c["cohort"]: c for c in dash.cohorts}
    # January's cohort: A and B pay at the end of January and February; A churns in March.
    assert [cell["paying"] for cell in cohorts["2026-01"]["cells"]] == [2, 2, 1, 1]
    assert [cell["share"] for cell in cohorts["2026-01"]["cells"]] == pytest.approx([2 / 3, 2 / 3, 1 / 3, 1 / 3])
    # February's: D and E pay at its end; E churns in March and is back in April.
    assert [cell["paying"] for cell in cohorts["2026-02"]["cells"]] == [2, 1, 2]
    # The cohort's MRR at each month's end: B 1800 + A 2000 in Feb; B 2520 from March.
    assert [cell["mrr"] for cell in cohorts["2026-01"]["cells"]] == [230_000, 380_000, 252_000, 252_000]


def test_growth_compares_the_last_30_days_with_the_30_before(history, db):
    result = services.growth(db.session, 30, NOW)
    # 16 Mar – 15 Apr: A churned (20 Mar, −2000), E came back (2 Apr, +500).
    assert result["current"]["churned_customers"] == 1
    assert result["current"]["reactivated_customers"] == 1
    assert result["current"]["net_new_mrr"] == -200_000 + 50_000
    assert result["current"]["mrr_end"] == 502_000
    # 14 Feb – 16 Mar: D and E new (+2400, +500), E churned, B expanded, D contracted.
    assert result["previous"]["new_customers"] == 2
    assert result["previous"]["net_new_mrr"] == 240_000 + 50_000 - 50_000 + 72_000 - 40_000


def test_top_workspaces_by_mrr(history, db):
    top = services.top_organizations(db.session, "mrr", NOW)
    assert [(row["slug"], row["value"]) for row in top] == [
        ("hand-b", 252_000),
        ("hand-d", 200_000),
        ("hand-e", 50_000),
    ]
