"""The `gradient_boosting` custom model: boosted regression trees on ln(measured / physics) per quantity.

Pure Python + numpy + scikit-learn (no Flask, no database), beside engine.correction (shrinkage).

Features per lab result: ln of the pressure, the orifice diameter and each fluid property (viscosity,
density, surface tension), and the family one-hot (families seen in training only). Per quantity a
scikit-learn GradientBoostingRegressor with small fixed hyper-parameters (HYPER) and a fixed
random_state learns the residual r = ln(measured / physics); the prediction is physics · exp(f(x)).

Storage: the fitted trees are written out as plain JSON arrays (feature, threshold, children, leaf
value per node) and evaluated here with numpy. Nothing is ever unpickled: a stored model is data this
module reads, not code, so a tampered row can at worst give wrong numbers, never run anything.
(Retraining at prediction time would cost seconds per ranking; pickle/joblib would run whatever the
row holds.) `predict` reproduces scikit-learn's own predict exactly (tests/feedback/test_boosting.py).

Applied only inside what it has seen: an item whose pressure, orifice or fluid property lies outside
the training range (widened by RANGE_MARGIN), or whose family was not in the training
results, keeps the physics value and says so, as the shrinkage model does.

Bands narrow only as far as the held-out spread allows: with s the RMS of r − f(x) over the m held-out
results of that quantity and σ_p the physics band's σ, σ² = (m·s² + K·σ_p²)/(m + K), never below s
(K = K_MIN): few held-out results barely narrow a band, a held-out spread wider than the
physics band widens it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from aerospec.engine.residual import K_MIN, QUANTITIES, RANGE_MARGIN, residuals

FORMAT = 1
KIND = "gradient_boosting"
#: Fixed, small: a few hundred to ten thousand results per workspace, a handful of features.
HYPER = {
    "n_estimators": 80,
    "max_depth": 3,
    "learning_rate": 0.1,
    "min_samples_leaf": 3,
    "subsample": 1.0,
    "random_state": 0,
}
#: Fewest results a gradient-boosting model is trained on: 10 to learn from (the trees' leaves need 3
#: results each) and the newest 20 % held out (at least 2).
MIN_TRAINING_ROWS = 10
MIN_ROWS = 12
NUMERIC = ("pressure_bar", "orifice_mm", "viscosity_cp", "density_kg_m3", "surface_tension_mn_m")
#: The physics band's weight in the band blend (the shrinkage model's K_MIN).
K_BAND = K_MIN


def _columns(rows: Sequence[Mapping]) -> dict[str, np.ndarray]:
    return {name: np.array([_float(r.get(name)) for r in rows], dtype=float) for name in NUMERIC}


def _float(value) -> float:
    try:
        return float(value) if value is not None else math.nan
    except (TypeError, ValueError):
        return math.nan


def features(numeric: Mapping[str, np.ndarray], families: Sequence[str | None], seen: Sequence[str]) -> np.ndarray:
    """The feature matrix: ln of each NUMERIC column, then one column per seen family (1 for that family)."""
    n = len(families)
    with np.errstate(divide="ignore", invalid="ignore"):
        cols = [np.log(np.asarray(numeric[name], dtype=float)) for name in NUMERIC]
    fam = np.array([f or "" for f in families], dtype=object)
    cols += [(fam == name).astype(float) for name in seen]
    return np.column_stack(cols) if cols else np.zeros((n, 0))


def _export(model) -> dict:
    """A fitted GradientBoostingRegressor as JSON arrays (every tree padded to the same node count)."""
    trees = [est[0].tree_ for est in model.estimators_]
    width = max(t.node_count for t in trees)

    def pad(values, fill):
        return [list(map(fill_type(fill), v)) + [fill] * (width - len(v)) for v in values]

    def fill_type(fill):
        return int if isinstance(fill, int) else float

    return {
        "init": float(model.init_.constant_[0][0]),
        "learning_rate": float(model.learning_rate),
        "depth": int(max(t.max_depth for t in trees)),
        "feature": pad([t.feature for t in trees], 0),
        "threshold": pad([t.threshold for t in trees], 0.0),
        "left": pad([t.children_left for t in trees], -1),
        "right": pad([t.children_right for t in trees], -1),
        "value": pad([t.value[:, 0, 0] for t in trees], 0.0),
    }


def predict(ensemble: Mapping, x: np.ndarray) -> np.ndarray:
    """f(x) of one stored ensemble for a feature matrix (as scikit-learn does: x as float32, x ≤ threshold left)."""
    x = np.asarray(x, dtype=np.float32).astype(float)
    n, width = x.shape[0], len(ensemble["feature"][0]) if ensemble["feature"] else 0
    out = np.full(n, float(ensemble["init"]))
    if n == 0 or width == 0:
        return out
    # Flat arrays and flat indices: one gather per array and depth for every tree and item at once.
    feature = np.asarray(ensemble["feature"], dtype=np.int32).ravel()
    threshold = np.asarray(ensemble["threshold"], dtype=float).ravel()
    left = np.asarray(ensemble["left"], dtype=np.int32).ravel()
    right = np.asarray(ensemble["right"], dtype=np.int32).ravel()
    value = np.asarray(ensemble["value"], dtype=float).ravel()
    base = (np.arange(len(ensemble["feature"]), dtype=np.int32) * width)[:, None]
    cells = (np.arange(n, dtype=np.int32) * x.shape[1])[None, :]
    flat_x = x.ravel()
    node = np.broadcast_to(base, (base.shape[0], n)).copy()
    for _ in range(int(ensemble["depth"])):
        lft = left.take(node)
        go_left = flat_x.take(cells + np.maximum(feature.take(node), 0)) <= threshold.take(node)
        child = np.where(go_left, lft, right.take(node))
        node = np.where(lft == -1, node, base + child)
    rate = float(ensemble["learning_rate"])
    for stage in value.take(node):  # stage by stage, as scikit-learn adds them (the same float rounding)
        out += rate * stage
    return out


def _range(numeric: Mapping[str, np.ndarray]) -> dict:
    out = {}
    for name, values in numeric.items():
        finite = values[np.isfinite(values)]
        if finite.size:
            out[name] = [float(finite.min()), float(finite.max())]
    return out


def _usable(rows: Sequence[Mapping], quantity: str) -> tuple[list[Mapping], np.ndarray]:
    """Rows with a residual for `quantity` and every numeric feature known."""
    pairs = residuals(rows, quantity)
    kept = [(row, r) for row, r in pairs if all(math.isfinite(_float(row.get(name))) for name in NUMERIC)]
    return [row for row, _ in kept], np.array([r for _, r in kept], dtype=float)


def train(
    rows: Sequence[Mapping],
    held_out: Sequence[Mapping] = (),
    progress: Callable[[float], None] | None = None,
) -> dict:
    """A gradient-boosting model (JSON-ready dict) from lab-result rows (as correction.train takes them, each
    also with `orifice_mm`), with each quantity's held-out spread measured on `held_out`.

    Raises ValueError when fewer than MIN_TRAINING_ROWS results have every feature known.
    """
    from sklearn.ensemble import GradientBoostingRegressor  # heavy import: only where a model is trained

    learnable = [q for q in QUANTITIES if len(_usable(rows, q)[0]) >= MIN_TRAINING_ROWS]
    if not learnable:
        usable = max(len(_usable(rows, q)[0]) for q in QUANTITIES)
        raise ValueError(
            f"only {usable} of the results to learn from have a measured value and a known pressure, orifice and "
            f"fluid; gradient boosting needs at least {MIN_TRAINING_ROWS}."
        )
    quantities = {}
    used: set[int] = set()
    for done, q in enumerate(learnable):
        train_rows, r = _usable(rows, q)
        used.update(id(row) for row in train_rows)
        numeric = _columns(train_rows)
        seen = sorted({str(row["family"]) for row in train_rows if row.get("family")})
        fams = [row.get("family") for row in train_rows]
        model = GradientBoostingRegressor(loss="squared_error", **HYPER)
        model.fit(features(numeric, fams, seen), r)
        part = {
            "n": len(train_rows),
            "families": seen,
            "range": _range(numeric),
            "trees": _export(model),
            "train_rmse_ln": float(np.sqrt(np.mean((r - model.predict(features(numeric, fams, seen))) ** 2))),
        }
        part.update(_held_spread(part, held_out, q))
        quantities[q] = part
        if progress is not None:
            progress((done + 1) / len(learnable))
    return {
        "kind": KIND,
        "format": FORMAT,
        "rows": len(used),
        "hyper": HYPER,
        "features": [f"ln {name}" for name in NUMERIC] + ["family (one column per family seen)"],
        "quantities": quantities,
    }


def _held_spread(part: Mapping, held_out: Sequence[Mapping], quantity: str) -> dict:
    """The RMS residual the model leaves on the held-out results it applies to, and how many those are."""
    rows, r = _usable(held_out, quantity)
    if not rows:
        return {"held_n": 0, "spread": None}
    shift, used = shifts(part, _columns(rows), [row.get("family") for row in rows])
    if not used.any():
        return {"held_n": 0, "spread": None}
    err = r[used] - shift[used]
    return {"held_n": int(used.sum()), "spread": float(np.sqrt(np.mean(err**2)))}


def inside(part: Mapping, numeric: Mapping[str, np.ndarray], families: Sequence[str | None]) -> np.ndarray:
    """Per item: inside the seen range of every numeric feature (± RANGE_MARGIN) and of a family seen."""
    n = len(families)
    ok = np.isin(np.array([f or "" for f in families], dtype=object), list(part["families"]))
    for name in NUMERIC:
        values = np.asarray(numeric[name], dtype=float) if name in numeric else np.full(n, np.nan)
        lo, hi = part["range"].get(name, (math.nan, math.nan))
        with np.errstate(invalid="ignore"):
            ok &= (values >= lo * (1 - RANGE_MARGIN)) & (values <= hi * (1 + RANGE_MARGIN))
    return ok


def shifts(part: Mapping, numeric: Mapping[str, np.ndarray], families: Sequence[str | None]):
    """(ln shift per item, applied mask): f(x) where the item is inside what the model has seen, else 0."""
    used = inside(part, numeric, families)
    out = np.zeros(len(families))
    if used.any():
        x = features(
            {k: np.asarray(v)[used] for k, v in numeric.items()},
            np.asarray(families, dtype=object)[used],
            part["families"],
        )
        out[used] = predict(part["trees"], x)
    return out, used


def row_shifts(part: Mapping | None, rows: Sequence[Mapping]) -> np.ndarray:
    """The ln shift one quantity's part of a model applies to each row's prediction (0: physics alone)."""
    if part is None or not rows:
        return np.zeros(len(rows))
    return shifts(part, _columns(rows), [row.get("family") for row in rows])[0]


def choose_all(part: Mapping, numeric: Mapping[str, np.ndarray], families: Sequence[str | None]):
    """What correction.apply blends per item: (shift, spread, k, results, level code).

    The band blend there is σ² = (c·s² + k·σ_p²)/(c + k) with c the results shown; k = K_BAND·c/m makes it
    (m·s² + K_BAND·σ_p²)/(m + K_BAND): the held-out count m, not the training count, sets how far it narrows.
    """
    n = len(families)
    shift, used = shifts(part, numeric, families)
    count = np.where(used, int(part["n"]), 0).astype(np.int64)
    spread_value = part.get("spread")
    held_n = int(part.get("held_n") or 0)
    if spread_value is None or held_n == 0:
        # Not measured on held-out results: the band stays the physics band (k huge, spread unknown).
        spread = np.full(n, np.nan)
        k = np.full(n, 1e12)
    else:
        spread = np.full(n, float(spread_value))
        k = np.full(n, K_BAND * int(part["n"]) / held_n)
    code = np.where(used, "boosting", "").astype(object)
    return shift, spread, k, count, code
