"""Exact ties in a large catalog: the order is score, then price, then lead time, then catalog order."""

from __future__ import annotations

import numpy as np
import pytest

from aerospec.engine import Target, Targets, rank
from bench.engine import synthetic_catalog, workload


@pytest.mark.parametrize("n,seed", [(2, 1), (17, 2), (3_000, 3), (10_000, 7)])
def test_the_order_is_score_then_price_then_lead_time(n, seed):
    fluid, _, targets = workload(10)
    catalog = synthetic_catalog(n, seed=seed)  # rounded geometries: many exactly equal scores
    for t in (targets, Targets(pressure_bar=3.0), Targets(pressure_bar=8.0, cone_deg=Target(70.0, 5.0))):
        ranking = rank(fluid, catalog, t)
        compatible = np.flatnonzero(np.isfinite(ranking.score))
        price = np.asarray(catalog.unit_price, dtype=float)[compatible]
        lead = np.asarray(catalog.lead_time_days, dtype=float)[compatible]
        expected = compatible[np.lexsort((compatible, lead, price, ranking.score[compatible]))]
        assert np.array_equal(ranking.order, expected)
