"""What both custom-model trainers share (engine.correction's shrinkage and engine.boosting's trees): the
quantities a model learns, the residual it learns, ln(measured / predicted), and the margin around the range
of what it has seen.

A module of its own so that correction (which applies either kind) and boosting import it, not each other.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

#: Every quantity the model may learn, in the keys of engine.prediction_item.
QUANTITIES = ("flow_ml_min", "cone_deg", "dv50_um", "dv10_um", "dv90_um", "smd_um")
#: The stated floor of the shrinkage k (two results move a SKU at most 2/7 of the way); also the prior weight
#: of the physics band in a gradient-boosting model's band blend.
K_MIN = 5.0
#: Relative margin around the seen range of pressure and each fluid property.
RANGE_MARGIN = 0.10


def residuals(rows: Iterable[Mapping], quantity: str) -> list[tuple[Mapping, float]]:
    """(row, ln(measured/predicted)) for every row that measured `quantity` against a positive prediction."""
    out = []
    for row in rows:
        measured = (row.get("measured") or {}).get(quantity)
        predicted = (row.get("predicted") or {}).get(quantity)
        if measured is None or predicted is None:
            continue
        measured, predicted = float(measured), float(predicted)
        if measured > 0 and predicted > 0 and math.isfinite(measured) and math.isfinite(predicted):
            out.append((row, math.log(measured / predicted)))
    return out
