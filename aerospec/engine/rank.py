"""Rank a catalog against the user's targets: compatibility rules, a documented score, tie-breaks.

Compatibility (an actuator failing any rule is excluded, with every reason in words):
- pressure: the operating pressure `targets.pressure_bar` is above the actuator's
  `max_pressure_bar`;
- viscosity: the fluid viscosity lies outside [`min_viscosity_cp`, `max_viscosity_cp`];
- material: the fluid is flammable (flash point below `FLAMMABLE_FLASH_POINT_C`, or a
  liquefied propellant: the common ones, butane, isobutane, propane and DME, are
  flammable hydrocarbons or ethers) and the body or seal material is not in
  `RATED_FOR_FLAMMABLE` below. Unknown material names are treated as not rated.

Score (lower is better), for the compatible actuators:
    p_k   = P(target_k − tol_k ≤ true value ≤ target_k + tol_k), from the 90 % band
            (`probability_within`: the band read as ±1.645 σ of a normal, in ln for flow
            and Dv50, in degrees for the angle); `Ranking.p_meet[k]`
    d_k   = |predicted_k − target_k| / tolerance_k
    score = 1 − Π_k p_k + DISTANCE_WEIGHT · √(mean_k d_k²)
i.e. the probability of missing at least one target (targets taken as independent), with
the point distance breaking near-ties. A wide band therefore lowers the chance of a hit
even when the point value is on target. With no target given the score is
CONFIDENCE_WEIGHT · (1 − confidence) and `order_note` says so. Ties are broken by unit
price, then lead time (both ascending). An actuator is "within tolerance" when every
d_k ≤ 1; `targets_met` counts the d_k ≤ 1 and `misses(i)` words the others.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from aerospec.engine.precedence import Z90, norm_cdf
from aerospec.engine.predict import _fmt, predict
from aerospec.engine.types import Catalog, Fluid, Prediction, Ranking, Targets

FLAMMABLE_FLASH_POINT_C = 60.0  # GHS category 3 flammable liquids: flash point ≤ 60 °C
CONFIDENCE_WEIGHT = 0.5
#: Orders actuators with the same probability (e.g. all 0) by how far their point values are.
DISTANCE_WEIGHT = 1e-3
MISSING_DISTANCE = 1e3
ORDER_NOTE_NO_TARGET = (
    "No target given: ordered by the engine's confidence (lower when an input is outside a correlation's "
    "validity range, swirl geometry is missing or the fluid flash-boils), then by unit price and lead time."
)

#: Materials rated for flammable solvents and liquefied hydrocarbon propellants.
#: Seals: NBR (nitrile, Buna-N), HNBR, FKM (Viton), FFKM, PTFE and CR (neoprene, the
#: classic aerosol valve gasket) resist aliphatic hydrocarbons and alcohols. Not rated:
#: EPDM and silicone (VMQ) swell badly in hydrocarbons and oils; natural rubber, butyl
#: (IIR) and SBR likewise. Bodies: POM (acetal), PP, PE, PA (nylon), PBT, PPS, PVDF,
#: brass, aluminium and stainless steel are rated; ABS, polystyrene, polycarbonate, PMMA
#: and PVC are attacked (stress-cracked or dissolved) by ketones, esters or hydrocarbons.
#: Sources: Parker O-Ring Handbook ORD 5700 (compatibility tables); generic polymer
#: chemical-resistance charts. Conservative by design: a lab confirms before an order.
RATED_FOR_FLAMMABLE = {
    "seal": {"nbr", "hnbr", "fkm", "ffkm", "ptfe", "cr"},
    "body": {"pom", "pp", "pe", "pa", "pbt", "pps", "pvdf", "brass", "aluminium", "stainless_steel"},
}
MATERIAL_ALIASES = {
    "nitrile": "nbr",
    "buna": "nbr",
    "buna-n": "nbr",
    "buna n": "nbr",
    "viton": "fkm",
    "fpm": "fkm",
    "kalrez": "ffkm",
    "teflon": "ptfe",
    "neoprene": "cr",
    "chloroprene": "cr",
    "epdm": "epdm",
    "silicone": "vmq",
    "acetal": "pom",
    "polyacetal": "pom",
    "delrin": "pom",
    "polypropylene": "pp",
    "polyethylene": "pe",
    "hdpe": "pe",
    "ldpe": "pe",
    "nylon": "pa",
    "pa6": "pa",
    "pa66": "pa",
    "aluminum": "aluminium",
    "stainless": "stainless_steel",
    "stainless steel": "stainless_steel",
    "ss": "stainless_steel",
    "ss303": "stainless_steel",
    "ss304": "stainless_steel",
    "ss316": "stainless_steel",
    "303ss": "stainless_steel",
    "304ss": "stainless_steel",
    "316ss": "stainless_steel",
}


def normalise_material(name: str) -> str:
    """Canonical material code for a catalog spelling ("Viton" → "fkm", "Acetal" → "pom")."""
    key = str(name).strip().lower()
    return MATERIAL_ALIASES.get(key, key.replace(" ", "_"))


def is_flammable(fluid: Fluid) -> bool:
    """Flash point below 60 °C, or a liquefied propellant (assumed a flammable hydrocarbon/ether)."""
    return bool(fluid.liquefied_propellant) or (
        fluid.flash_point_c is not None and fluid.flash_point_c < FLAMMABLE_FLASH_POINT_C
    )


def _material_flags(catalog: Catalog) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(body not rated, seal not rated, either) for flammable fluids, cached per catalog."""
    key = (id(catalog.body_material), id(catalog.seal_material))
    cached = catalog._derived.get("materials")
    if cached is not None and cached[0] == key:
        return cached[1]
    flags = []
    for column, part in ((catalog.body_material, "body"), (catalog.seal_material, "seal")):
        uniq, inverse = np.unique(np.asarray(column).astype(str), return_inverse=True)
        bad = np.array([normalise_material(u) not in RATED_FOR_FLAMMABLE[part] for u in uniq], dtype=bool)
        flags.append(bad[inverse].reshape(-1) if len(uniq) else np.zeros(len(column), dtype=bool))
    result = (flags[0], flags[1], flags[0] | flags[1])
    catalog._derived["materials"] = (key, result)
    return result


def _tie_break_rank(catalog: Catalog) -> tuple[np.ndarray, np.ndarray]:
    """(position of each SKU when sorted by unit price then lead time, the SKUs in that order), cached."""
    key = (id(catalog.unit_price), id(catalog.lead_time_days))
    cached = catalog._derived.get("tie_break")
    if cached is not None and cached[0] == key:
        return cached[1]
    by = np.lexsort((np.asarray(catalog.lead_time_days, dtype=float), np.asarray(catalog.unit_price, dtype=float)))
    position = np.empty(len(by), dtype=np.int64)
    position[by] = np.arange(len(by))
    catalog._derived["tie_break"] = (key, (position, by))
    return position, by


#: Bit patterns of finite non-negative doubles lie in [0, this), and order as the numbers do.
_INF_BITS = int(np.array(np.inf).view(np.int64))


def _order(s: np.ndarray, idx: np.ndarray, score: np.ndarray, catalog: Catalog) -> np.ndarray:
    """The items idx (scores s; `score` per catalog item) by score, then price, then lead time.

    One integer sort (numpy sorts integers with SIMD; an argsort is several times slower): the
    key is the score's bit pattern with its lowest bits replaced by the item's tie-break
    position, so exact ties come out by price and lead time. Two scores that differ only in
    those bits (a relative 10⁻¹¹ for 10,000 items, e.g. probabilities in the far tails) can
    come out swapped: the result is checked against the scores and each run of equal key bits
    holding a swapped pair is sorted again exactly (a few short runs at most).
    """
    position, by = _tie_break_rank(catalog)
    bits = max(1, (len(catalog) - 1).bit_length())
    key = np.ascontiguousarray(s, dtype=float).view(np.int64)
    if len(key) < 2 or bits > 40 or key.min() < 0 or key.max() >= _INF_BITS:  # -0.0, negative, inf, NaN
        return _order_exact(s, idx, position)
    low = (1 << bits) - 1
    key = key & ~low
    key |= position.take(idx)
    key.sort()
    order = by.take(key & low)
    ranked = score.take(order)
    swapped = np.flatnonzero(ranked[1:] < ranked[:-1])
    if len(swapped):  # near-equal scores (same key bits) out of order: sort those runs exactly
        runs = key & ~low  # sorted, so each run is contiguous
        bad = np.unique(runs.take(swapped))
        start = np.searchsorted(runs, bad)
        length = np.searchsorted(runs, bad, side="right") - start
        at = np.arange(length.sum()) + np.repeat(start - (np.cumsum(length) - length), length)
        seg = order.take(at)
        run_of = np.repeat(np.arange(len(bad)), length)
        order[at] = seg.take(np.lexsort((position.take(seg), score.take(seg), run_of)))
    return order


def _order_exact(s: np.ndarray, idx: np.ndarray, position: np.ndarray) -> np.ndarray:
    """_order by an argsort of the scores, exact ties broken by a second sort over them only."""
    o = np.argsort(s)
    sorted_s = s.take(o)
    tied = sorted_s[1:] == sorted_s[:-1]
    if tied.any():  # exact ties: break by price, then lead time
        # One integer sort instead of a lexsort, over the tied positions only: number the runs
        # of equal scores, then order those positions by (run, tie-break position), a unique
        # key per actuator. Runs are contiguous, so the sorted keys refill the same positions.
        run = np.empty(len(o), dtype=np.int64)
        run[0] = 0
        np.cumsum(~tied, out=run[1:])
        involved = np.zeros(len(o), dtype=bool)
        involved[1:] = tied
        involved[:-1] |= tied
        pos = np.flatnonzero(involved)
        o_tied = o[pos]
        o[pos] = o_tied[np.argsort(run[pos] * len(position) + position.take(idx.take(o_tied)))]
    return idx.take(o)


class Exclusions(Mapping):
    """catalog index → reasons, worded lazily from the rule masks (no strings in the hot path)."""

    def __init__(self, catalog: Catalog, fluid: Fluid, pressure_bar: float, masks: dict[str, np.ndarray]):
        self._catalog = catalog
        self._fluid = fluid
        self._pressure = pressure_bar
        self._masks = masks
        self._any = masks["pressure"] | masks["viscosity"]
        if masks["material"] is not None:
            self._any |= masks["material"]
        self._index = np.flatnonzero(self._any)

    def __getitem__(self, i: int) -> list[str]:
        i = int(i)
        if not (0 <= i < len(self._any)) or not self._any[i]:
            raise KeyError(i)
        cat, fluid, m = self._catalog, self._fluid, self._masks
        reasons = []
        if m["pressure"][i]:
            reasons.append(
                f"Operating pressure {_fmt(self._pressure)} bar is above this actuator's "
                f"{_fmt(float(cat.max_pressure_bar[i]))} bar rating."
            )
        if m["viscosity"][i]:
            reasons.append(
                f"Fluid viscosity {_fmt(fluid.viscosity_cp)} cP is outside this actuator's "
                f"{_fmt(float(cat.min_viscosity_cp[i]))}–{_fmt(float(cat.max_viscosity_cp[i]))} cP range."
            )
        if m["material"] is not None and m["body_material"][i]:
            reasons.append(f"Body material {cat.body_material[i]} is not rated for flammable solvents or propellants.")
        if m["material"] is not None and m["seal_material"][i]:
            seal = cat.seal_material[i]
            extra = " (it swells in hydrocarbons)" if normalise_material(seal) in {"epdm", "vmq"} else ""
            reasons.append(f"Seal material {seal} is not rated for flammable solvents or propellants{extra}.")
        return reasons

    def __iter__(self):
        return (int(i) for i in self._index)

    def __len__(self) -> int:
        return len(self._index)


def rank(
    fluid: Fluid, catalog: Catalog, targets: Targets, correct: Callable[[Prediction], Prediction] | None = None
) -> Ranking:
    """Predict every actuator at the target pressure, exclude incompatible ones, order the rest.

    `correct`, when given, turns the physics prediction into the one ranked (the learned correction,
    engine.correction.apply): the score, the verdicts and the probabilities read the corrected values.
    """
    pressure = float(targets.pressure_bar)
    prediction = predict(fluid, catalog, pressure)
    if correct is not None:
        prediction = correct(prediction)
    n = len(catalog)

    masks = {
        "pressure": pressure > np.asarray(catalog.max_pressure_bar, dtype=float),
        "viscosity": (fluid.viscosity_cp < np.asarray(catalog.min_viscosity_cp, dtype=float))
        | (fluid.viscosity_cp > np.asarray(catalog.max_viscosity_cp, dtype=float)),
    }
    if is_flammable(fluid):
        masks["body_material"], masks["seal_material"], masks["material"] = _material_flags(catalog)
    else:
        masks["body_material"] = masks["seal_material"] = masks["material"] = None
    excluded = Exclusions(catalog, fluid, pressure, masks)
    incompatible = excluded._any
    # Score the compatible actuators only (the excluded ones get inf, p = 0, no target met):
    # the arrays below have one entry per compatible actuator, idx maps them to the catalog.
    idx = np.flatnonzero(~incompatible)
    whole = len(idx) == n

    def compatible(x: np.ndarray) -> np.ndarray:
        return x if whole else x.take(idx)

    sum_sq = None
    within = None
    met = np.zeros(len(idx), dtype=np.int64)
    p_all = None
    p_meet: dict[str, np.ndarray] = {}
    count = 0
    given = []
    for name, predicted, low, high, log_scale in (
        ("cone_deg", prediction.cone_deg, prediction.cone_deg_low, prediction.cone_deg_high, False),
        ("dv50_um", prediction.dv50_um, prediction.dv50_um_low, prediction.dv50_um_high, True),
        ("flow_ml_min", prediction.flow_ml_min, prediction.flow_ml_min_low, prediction.flow_ml_min_high, True),
    ):
        target = getattr(targets, name)
        if target is None:
            continue
        if not target.tolerance > 0:
            raise ValueError(f"the tolerance of the {name} target must be positive")
        given.append((name, target))
        predicted = compatible(np.asarray(predicted, dtype=float))
        prob = probability_within(
            predicted,
            compatible(np.asarray(low, dtype=float)),
            compatible(np.asarray(high, dtype=float)),
            target.value - target.tolerance,
            target.value + target.tolerance,
            log_scale,
        )
        p_meet[name] = prob
        p_all = prob.copy() if p_all is None else np.multiply(p_all, prob, out=p_all)
        d = predicted - target.value
        np.abs(d, out=d)
        d *= 1.0 / target.tolerance
        np.copyto(d, MISSING_DISTANCE, where=~np.isfinite(d))  # not modelled (flashing Dv50): counts as a miss
        ok = d <= 1.0
        met += ok
        within = ok if within is None else np.logical_and(within, ok, out=within)
        d *= d
        sum_sq = d if sum_sq is None else np.add(sum_sq, d, out=sum_sq)
        count += 1
    # score = 1 − P(every target met) + DISTANCE_WEIGHT·RMS distance in tolerances
    if count:
        s = np.sqrt(sum_sq * (1.0 / count), out=sum_sq)
        s *= DISTANCE_WEIGHT
        s += 1.0
        s -= p_all
        order_note = ""
    else:
        s = CONFIDENCE_WEIGHT - CONFIDENCE_WEIGHT * compatible(np.asarray(prediction.confidence, dtype=float))
        within = np.ones(len(idx), dtype=bool)
        order_note = ORDER_NOTE_NO_TARGET
    # back to one entry per catalog item
    score, met, within, p_meet = _per_item(idx, n, s, met, within, p_meet)
    order = _order(s, idx, score, catalog)
    counts = {
        "pressure": int(masks["pressure"].sum()),
        "viscosity": int(masks["viscosity"].sum()),
        "material": 0 if masks["material"] is None else int(masks["material"].sum()),
    }
    return Ranking(
        order=order,
        score=score,
        prediction=prediction,
        excluded=excluded,
        exclusion_counts=counts,
        within_tolerance=within,
        p_meet=p_meet,
        targets_met=met,
        targets_given=count,
        misses=Misses(prediction, given),
        order_note=order_note,
    )


def _per_item(idx: np.ndarray, n: int, score, met, within, p_meet) -> tuple:
    """Per-compatible arrays spread to one entry per catalog item (excluded: inf, 0, False, 0)."""
    if len(idx) == n:
        return score, met, within, p_meet
    full_score = np.full(n, np.inf)
    full_score[idx] = score
    full_met = np.zeros(n, dtype=np.int64)
    full_met[idx] = met
    full_within = np.zeros(n, dtype=bool)
    full_within[idx] = within
    full_p = {}
    for name, prob in p_meet.items():
        full_p[name] = np.zeros(n)
        full_p[name][idx] = prob
    return full_score, full_met, full_within, full_p


def probability_within(value, low, high, lo: float, hi: float, log_scale: bool) -> np.ndarray:
    """P(lo ≤ true value ≤ hi) when [low, high] is the 90 % band around value.

    The band is read as a normal distribution (in ln for flow and drop size, whose bands are
    ratios; in degrees for the angle) whose ±1.645 σ span it. NaN (not modelled) gives 0.
    Both bounds go through one `norm_cdf` pass over a (2, n) buffer (half the array calls).
    """
    n = len(value)
    z = np.empty((2, n))
    with np.errstate(divide="ignore", invalid="ignore"):
        if log_scale:
            centre = np.log(value)
            sigma = np.log(high / low)
            sigma *= 0.5 / Z90
            np.subtract(math.log(hi), centre, out=z[0])
            if lo > 0:
                np.subtract(math.log(lo), centre, out=z[1])
            else:
                z[1] = -np.inf
        else:
            sigma = high - low
            sigma *= 0.5 / Z90
            np.subtract(hi, value, out=z[0])
            np.subtract(lo, value, out=z[1])
        z /= sigma
        cdf = norm_cdf(z)
    prob = np.subtract(cdf[0], cdf[1])
    np.copyto(prob, 0.0, where=~np.isfinite(prob))
    return prob


class Misses:
    """misses(i) → the targets item i misses, in words: "cone 48° against 60 ± 5°"."""

    def __init__(self, prediction, given):
        self._p = prediction
        self._given = given

    def __call__(self, i: int) -> list[str]:
        out = []
        for name, target in self._given:
            value = float(getattr(self._p, name)[i])
            unit = _TARGET_UNITS[name]
            against = f"against {target.value:.3g} ± {target.tolerance:.3g}{unit}"
            if not math.isfinite(value):
                out.append(f"{_MISS_WORDS[name]} not modelled (flashing propellant) {against}")
            elif abs(value - target.value) > target.tolerance:
                out.append(f"{_MISS_WORDS[name]} {value:.3g}{unit} {against}")
        return out


_CONSTRAINT_WORDS = {
    "pressure": "the operating pressure is above their pressure rating",
    "viscosity": "the fluid viscosity is outside their supported range",
    "material": "their body or seal material is not rated for this flammable fluid",
}
_TARGET_UNITS = {"cone_deg": "°", "dv50_um": " µm", "flow_ml_min": " ml/min"}
_TARGET_WORDS = {"cone_deg": "cone angle", "dv50_um": "Dv50", "flow_ml_min": "flow rate"}
_MISS_WORDS = {"cone_deg": "cone", "dv50_um": "Dv50", "flow_ml_min": "flow"}


def explain_empty(ranking: Ranking, targets: Targets, nearest: int = 3) -> dict:
    """Why nothing fits: the constraint that excluded most actuators and how far the nearest miss.

    Returns {"status": "ok" | "none_compatible" | "none_within_tolerance", "message",
    "excluded_total", "excluded_by" (counts per rule), "top_constraint", "nearest": [{index,
    score, misses: {target: {predicted, target, tolerance, off_by, tolerances}}}],
    "closest_per_target": {target: {index, predicted, off_by}}}.
    """
    n = len(ranking.score)
    counts = dict(ranking.exclusion_counts)
    excluded_total = len(ranking.excluded)
    top = max(counts, key=counts.get) if counts and max(counts.values()) > 0 else None
    within = ranking.within_tolerance if ranking.within_tolerance is not None else np.isfinite(ranking.score)
    given = {k: getattr(targets, k) for k in _TARGET_UNITS if getattr(targets, k) is not None}
    pred = ranking.prediction

    def misses(i: int) -> dict:
        out = {}
        for key, target in given.items():
            value = float(getattr(pred, key)[i])
            if not math.isfinite(value):  # not modelled (flashing Dv50)
                out[key] = {"predicted": None, "target": target.value, "tolerance": target.tolerance}
                out[key].update(off_by=None, tolerances=None)
                continue
            off = value - target.value
            out[key] = {
                "predicted": round(value, 3),
                "target": target.value,
                "tolerance": target.tolerance,
                "off_by": round(off, 3),
                "tolerances": round(abs(off) / target.tolerance, 2),
            }
        return out

    result: dict = {
        "excluded_total": excluded_total,
        "excluded_by": counts,
        "top_constraint": top,
        "nearest": [],
        "closest_per_target": {},
    }
    if len(ranking.order) == 0:
        result["status"] = "none_compatible"
        result["message"] = f"No actuator is compatible: all {n} were excluded" + (
            f"; most ({counts[top]}) because {_CONSTRAINT_WORDS[top]}." if top else "."
        )
        return result
    compat = ranking.order
    result["nearest"] = [
        {"index": int(i), "score": round(float(ranking.score[i]), 3), "misses": misses(int(i))}
        for i in compat[:nearest]
    ]
    for key, target in given.items():
        values = getattr(pred, key)[compat]
        distance = np.abs(values - target.value)
        if not np.isfinite(distance).any():
            continue
        j = int(np.nanargmin(distance))
        result["closest_per_target"][key] = {
            "index": int(compat[j]),
            "predicted": round(float(values[j]), 3),
            "off_by": round(float(values[j] - target.value), 3),
        }
    if within.any():
        result["status"] = "ok"
        result["message"] = f"{int(within.sum())} actuators meet every target within tolerance."
        return result
    result["status"] = "none_within_tolerance"
    parts = []
    for key, info in result["closest_per_target"].items():
        parts.append(
            f"the closest {_TARGET_WORDS[key]} is {_fmt(info['predicted'])}{_TARGET_UNITS[key]} "
            f"({'+' if info['off_by'] >= 0 else '−'}{_fmt(abs(info['off_by']))}{_TARGET_UNITS[key]}"
            " from the target)"
        )
    message = "No compatible actuator meets every target within tolerance"
    message += ("; " + "; ".join(parts)) if parts else ""
    if top:
        message += f". {counts[top]} actuators were excluded mostly because {_CONSTRAINT_WORDS[top]}"
    result["message"] = message + "."
    return result
