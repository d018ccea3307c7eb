"""The learned correction: a residual model on ln(measured / predicted), shrunk SKU → family → global.

Pure Python + numpy (no Flask, no database): the feedback service feeds it rows it read, a job
stores what it returns, and the predictions apply it. Another trainer (custom models) can reuse
`train` as is: it takes rows and returns a model dict (JSON-ready).

The model, per quantity q (flow_ml_min, cone_deg, dv50_um, and dv10_um, dv90_um, smd_um where
measured), with r = ln(measured / physics prediction) for each lab result:

- global shift  g = w_g · mean(r),               w_g = n / (n + k_global)   (shrunk towards physics)
- family shift  f = g + w_f · (mean_f(r) − g),   w_f = n_f / (n_f + k_family)
- SKU shift     s = f + w_s · (mean_s(r) − f),   w_s = n_s / (n_s + k_sku)

Empirical Bayes: k = σ²_within / τ²_between per level (method of moments over the groups of that
level), bounded to [K_MIN, K_MAX]; K_DEFAULT where the data cannot estimate it (fewer than
MIN_GROUPS groups, or no group with two results). K_MIN = 5 is a stated floor: two results move a
SKU at most 2/7 of the way to their own mean, twenty at least 20/25.

Each level remembers the pressure and fluid-property range of the results behind it; a prediction
uses the deepest level (SKU, then family, then global) whose range, widened by RANGE_MARGIN either
side, holds its pressure and fluid; where none does, it is physics alone and says so.

Bands: the physics band is read as ±Z90 σ_p in ln (asymmetry kept). After correction
σ² = (n·s² + k·σ_p²)/(n + k), never below s, where s is the RMS residual of that level's results
around its shift: bands narrow towards the measured spread as results accumulate, never below it,
and widen to it when the physics band was too narrow.

A model stack is a list of models applied in turn (the shared model, then a workspace's own layer
trained on the residuals the shared model leaves). "calibrated with N lab results" counts the results
behind the level used; a layer marked `disjoint` (its results are not in the models before it, e.g. a
workspace that does not share them) adds its count, otherwise the larger count is shown.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from datetime import datetime

import numpy as np

from aerospec.engine import boosting
from aerospec.engine.precedence import Z90
from aerospec.engine.residual import K_MIN, QUANTITIES, RANGE_MARGIN, residuals
from aerospec.engine.types import Fluid, Prediction

FORMAT = 1
#: Every quantity the model may learn, in the keys of engine.prediction_item.
#: Drop sizes come from one distribution: a size without a model of its own follows Dv50.
SIZES = ("dv10_um", "dv50_um", "dv90_um", "smd_um")
CONDITIONS = ("pressure_bar", "viscosity_cp", "density_kg_m3", "surface_tension_mn_m")
LEVELS = ("sku", "family", "global")
K_MAX, K_DEFAULT = 50.0, 8.0
MIN_GROUPS = 3
#: Held-out share for the time-ordered split (newest results).
HOLDOUT_FRACTION = 0.2
WORDS = {
    "flow_ml_min": "flow",
    "cone_deg": "cone angle",
    "dv50_um": "Dv50",
    "dv10_um": "Dv10",
    "dv90_um": "Dv90",
    "smd_um": "SMD",
}


def sku_key(supplier: str, sku: str) -> str:
    """How a SKU is named inside a model: `supplier:sku`."""
    return f"{supplier}:{sku}"


# ---- training


def estimate_k(groups: Sequence[Sequence[float]], offsets: Sequence[float] | None = None) -> tuple[float, str]:
    """k = σ²_within / τ²_between by the method of moments, bounded to [K_MIN, K_MAX]; (k, how it was set).

    `groups` are the residuals of each group; `offsets` (one per group) are subtracted from a group's
    mean before the between-group variance is taken (the parent level's shift).
    """
    groups = [list(g) for g in groups if len(g)]
    if len(groups) < MIN_GROUPS:
        return K_DEFAULT, f"default k = {K_DEFAULT:g} (fewer than {MIN_GROUPS} groups)"
    within_ss, within_df = 0.0, 0
    for g in groups:
        if len(g) > 1:
            a = np.asarray(g)
            within_ss += float(((a - a.mean()) ** 2).sum())
            within_df += len(g) - 1
    if within_df == 0:
        return K_DEFAULT, f"default k = {K_DEFAULT:g} (no group with two results)"
    sigma2 = within_ss / within_df
    offsets = list(offsets) if offsets is not None else [0.0] * len(groups)
    means = np.array([np.mean(g) - o for g, o in zip(groups, offsets, strict=True)])
    sizes = np.array([len(g) for g in groups], dtype=float)
    tau2 = float(means.var(ddof=1) - np.mean(sigma2 / sizes))
    if tau2 <= 0:
        return K_MAX, f"k = {K_MAX:g} (the groups differ no more than their noise)"
    k = min(max(sigma2 / tau2, K_MIN), K_MAX)
    return k, f"k = σ²_within/τ²_between = {sigma2:.3g}/{tau2:.3g}, bounded to [{K_MIN:g}, {K_MAX:g}]"


def _range(rows: Sequence[Mapping]) -> dict:
    out = {}
    for name in CONDITIONS:
        values = [float(r[name]) for r in rows if r.get(name) is not None]
        if values:
            out[name] = [min(values), max(values)]
    return out


def _level(pairs: Sequence[tuple[Mapping, float]], shift: float) -> dict:
    r = np.array([x for _, x in pairs])
    return {
        "n": len(pairs),
        "mean": float(r.mean()),
        "shift": float(shift),
        "spread": float(np.sqrt(np.mean((r - shift) ** 2))) if len(r) > 1 else None,
        "range": _range([row for row, _ in pairs]),
    }


def train_quantity(rows: Sequence[Mapping], quantity: str) -> dict | None:
    """One quantity's shrinkage levels from the rows that measured it, or None when none did."""
    pairs = residuals(rows, quantity)
    if not pairs:
        return None
    r_all = np.array([x for _, x in pairs])
    k_global = K_MIN
    g = float(len(r_all) / (len(r_all) + k_global) * r_all.mean())
    by_family: dict[str, list] = {}
    by_sku: dict[str, list] = {}
    for row, x in pairs:
        if row.get("family"):
            by_family.setdefault(str(row["family"]), []).append((row, x))
        by_sku.setdefault(str(row["key"]), []).append((row, x))
    k_family, k_family_how = estimate_k([[x for _, x in v] for v in by_family.values()], [g] * len(by_family))
    families = {}
    for name, fam_pairs in by_family.items():
        n = len(fam_pairs)
        mean = float(np.mean([x for _, x in fam_pairs]))
        families[name] = _level(fam_pairs, g + n / (n + k_family) * (mean - g))
    parents = []
    for sku_pairs in by_sku.values():
        fam = sku_pairs[0][0].get("family")
        parents.append(families[str(fam)]["shift"] if fam and str(fam) in families else g)
    k_sku, k_sku_how = estimate_k([[x for _, x in v] for v in by_sku.values()], parents)
    skus = {}
    for (key, sku_pairs), parent in zip(by_sku.items(), parents, strict=True):
        n = len(sku_pairs)
        mean = float(np.mean([x for _, x in sku_pairs]))
        level = _level(sku_pairs, parent + n / (n + k_sku) * (mean - parent))
        level["family"] = sku_pairs[0][0].get("family") or None
        skus[key] = level
    return {
        "k": {"global": k_global, "family": k_family, "sku": k_sku},
        "k_how": {"global": f"k = {k_global:g} (towards physics)", "family": k_family_how, "sku": k_sku_how},
        "global": _level(pairs, g),
        "families": families,
        "skus": skus,
    }


def train(rows: Sequence[Mapping]) -> dict:
    """A correction model (JSON-ready dict) from lab-result rows.

    Each row: `key` (sku_key), `family` (or None), `pressure_bar`, `viscosity_cp`, `density_kg_m3`,
    `surface_tension_mn_m`, `measured` and `predicted` ({quantity: value}, the prediction this model
    corrects). Rows with nothing usable are ignored.
    """
    quantities = {}
    for q in QUANTITIES:
        part = train_quantity(rows, q)
        if part is not None:
            quantities[q] = part
    used = {id(row) for q in QUANTITIES for row, _ in residuals(rows, q)}
    return {"kind": "shrinkage", "format": FORMAT, "rows": len(used), "quantities": quantities}


def split_by_time(rows: Sequence[Mapping], fraction: float = HOLDOUT_FRACTION) -> tuple[list, list]:
    """(older rows to train on, newest rows held out): at least one held out when there are two or more."""
    ordered = sorted(rows, key=lambda r: (_when(r.get("created_at")), str(r.get("id", ""))))
    if len(ordered) < 2:
        return ordered, []
    held = max(1, int(round(len(ordered) * fraction)))
    return ordered[:-held], ordered[-held:]


def _when(value) -> float:
    if value is None:
        return -math.inf
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(str(value)).timestamp()


# ---- applying


def _in_range(level: Mapping, conditions: Mapping) -> bool:
    for name, (lo, hi) in (level.get("range") or {}).items():
        value = conditions.get(name)
        if value is None:
            return False
        if not (lo * (1 - RANGE_MARGIN) <= float(value) <= hi * (1 + RANGE_MARGIN)):
            return False
    return True


def choose_level(part: Mapping, key: str | None, family: str | None, conditions: Mapping) -> tuple[str, dict] | None:
    """The deepest level (sku, family, global) of one quantity whose seen range holds `conditions`, or None."""
    sku = part["skus"].get(key) if key else None
    if sku is not None and _in_range(sku, conditions):
        return "sku", sku
    fam = part["families"].get(family) if family else None
    if fam is not None and _in_range(fam, conditions):
        return "family", fam
    if _in_range(part["global"], conditions):
        return "global", part["global"]
    return None


def row_shift(stack: Sequence[Mapping], row: Mapping, quantity: str) -> float:
    """The total ln shift the stack applies to one row's prediction of `quantity` (0: physics alone)."""
    total = 0.0
    for model in stack:
        if model.get("kind") == "gradient_boosting":
            total += float(boosting.row_shifts(part_of(model, quantity), [row])[0])
            continue
        part = part_of(model, quantity)
        if part is None:
            continue
        chosen = choose_level(part, row.get("key"), row.get("family"), row)
        if chosen is not None:
            total += chosen[1]["shift"]
    return total


def row_shifts(stack: Sequence[Mapping], rows: Sequence[Mapping], quantity: str) -> np.ndarray:
    """row_shift for many rows (a gradient-boosting layer is evaluated for all rows at once)."""
    total = np.zeros(len(rows))
    for model in stack:
        if model.get("kind") == "gradient_boosting":
            total += boosting.row_shifts(part_of(model, quantity), rows)
        else:
            total += np.array([row_shift([model], row, quantity) for row in rows], dtype=float)
    return total


def part_of(model: Mapping, quantity: str) -> Mapping | None:
    """The part of a model that predicts `quantity` (drop sizes without their own follow Dv50), or None."""
    parts = model.get("quantities") or {}
    if quantity in parts:
        return parts[quantity]
    if quantity in SIZES and quantity != "dv50_um":
        return parts.get("dv50_um")
    return None


def corrected_rows(stack: Sequence[Mapping], rows: Sequence[Mapping]) -> list[dict]:
    """The rows with `predicted` replaced by what the stack makes of it (for training a layer over it)."""
    out = []
    for row in rows:
        predicted = {
            q: (v * math.exp(row_shift(stack, row, q)) if v is not None else None)
            for q, v in (row.get("predicted") or {}).items()
        }
        out.append({**row, "predicted": predicted})
    return out


def evaluate(stack: Sequence[Mapping], rows: Sequence[Mapping]) -> dict:
    """Per quantity, {"n", "rmse_ln"}: the RMS of ln(measured / corrected prediction) over `rows`."""
    out = {}
    for q in QUANTITIES:
        pairs = residuals(rows, q)
        if pairs:
            shift = row_shifts(stack, [row for row, _ in pairs], q)
            errors = np.array([x for _, x in pairs]) - shift
            out[q] = {"n": len(errors), "rmse_ln": float(np.sqrt(np.mean(np.square(errors))))}
    return out


def total_error(scores: Mapping) -> float:
    """One figure for a comparison: the mean squared ln error over every held-out measurement."""
    n = sum(s["n"] for s in scores.values())
    return sum(s["n"] * s["rmse_ln"] ** 2 for s in scores.values()) / n if n else math.nan


def compare(candidate: Sequence[Mapping], in_use: Sequence[Mapping], held_out: Sequence[Mapping]) -> dict:
    """Held-out error per quantity before (the stack in use) and after (the candidate), and the verdict.

    {"quantities": {q: {"n", "before", "after"}}, "before", "after", "better": bool}; before/after are
    RMS ln errors (≈ relative errors). `better` only when the candidate's total error is strictly lower.
    """
    before, after = evaluate(in_use, held_out), evaluate(candidate, held_out)
    quantities = {q: {"n": after[q]["n"], "before": before[q]["rmse_ln"], "after": after[q]["rmse_ln"]} for q in after}
    b, a = total_error(before), total_error(after)
    return {
        "quantities": quantities,
        "before": None if math.isnan(b) else math.sqrt(b),
        "after": None if math.isnan(a) else math.sqrt(a),
        "better": bool(held_out) and not math.isnan(a) and a < b - 1e-12,
    }


@dataclasses.dataclass
class Applied:
    """What the correction did to each item of a prediction (read per item with `item(i)`)."""

    version: str | None
    levels: dict[str, np.ndarray]  # quantity -> per item level code ("" physics alone)
    counts: dict[str, np.ndarray]  # quantity -> per item results behind the level(s) used
    factors: dict[str, np.ndarray]  # quantity -> per item measured/physics factor applied
    has_model: bool

    def item(self, i: int) -> dict:
        """{"model_version", "calibrated", "results", "label", "quantities": {q: {level, results, factor}}}."""
        quantities = {}
        for q, levels in self.levels.items():
            level = str(levels[i])
            quantities[q] = {
                "level": level or None,
                "results": int(self.counts[q][i]),
                "factor": round(float(self.factors[q][i]), 4),
            }
        used = [v for v in quantities.values() if v["level"]]
        n = max((v["results"] for v in used), default=0)
        if not self.has_model:
            label = "Physics alone: no correction model has been trained on lab results yet."
        elif used:
            label = f"calibrated with {n} lab result{'s' if n != 1 else ''}"
        else:
            label = (
                "Physics alone: this pressure and fluid are outside the range the correction model has seen, "
                "so no correction is applied."
            )
        return {
            "model_version": self.version if used else None,
            "model_in_use": self.version,
            "calibrated": bool(used),
            "results": n,
            "label": label,
            "quantities": quantities,
        }


def apply(
    stack: Sequence[Mapping],
    prediction: Prediction,
    keys: Sequence[str | None],
    families: Sequence[str | None],
    fluid: Fluid,
    *,
    version: str | None = None,
    orifice_mm: Sequence[float] | None = None,
) -> tuple[Prediction, Applied]:
    """The prediction corrected by each model of the stack in turn, and what was applied to each item.

    `keys[i]` is item i's sku_key (None for a typed-in geometry: family and global levels only),
    `families[i]` its family, `orifice_mm[i]` its orifice (a gradient-boosting model needs it; without it
    that model applies to nothing). Items outside every level's seen range keep the physics values.
    """
    n = len(prediction)
    pressure = (
        np.asarray(prediction.pressure_bar, dtype=float) if prediction.pressure_bar is not None else np.full(n, np.nan)
    )
    fluid_conditions = {
        "viscosity_cp": fluid.viscosity_cp,
        "density_kg_m3": fluid.density_kg_m3,
        "surface_tension_mn_m": fluid.surface_tension_mn_m,
    }
    one_pressure = n > 0 and bool(np.all(pressure == pressure[0]))
    present = [q for q in QUANTITIES if any(part_of(m, q) is not None for m in stack)]
    shifts = {q: np.zeros(n) for q in present}
    sigmas: dict[str, np.ndarray] = {}
    levels = {q: np.full(n, "", dtype=object) for q in present}
    counts = {q: np.zeros(n, dtype=np.int64) for q in present}
    values = {q: np.asarray(getattr(prediction, q), dtype=float) for q in QUANTITIES}
    bands = {}
    for q in QUANTITIES:
        low, high = getattr(prediction, f"{q}_low", None), getattr(prediction, f"{q}_high", None)
        if low is None or high is None:
            continue
        v = values[q]
        with np.errstate(divide="ignore", invalid="ignore"):
            h_lo, h_hi = np.log(v / np.asarray(low, dtype=float)), np.log(np.asarray(high, dtype=float) / v)
        bands[q] = (h_lo, h_hi)
        sigmas[q] = (h_lo + h_hi) / (2 * Z90)
    base_sigma = {q: s.copy() for q, s in sigmas.items()}
    index: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        if key:
            index.setdefault(key, []).append(i)
    fam_arr = np.array([f or "" for f in families], dtype=object)
    numeric = {
        "pressure_bar": pressure,
        "orifice_mm": np.asarray(orifice_mm, dtype=float) if orifice_mm is not None else np.full(n, np.nan),
        **{name: np.full(n, float(value)) for name, value in fluid_conditions.items()},
    }
    families_list = list(fam_arr)
    for model in stack:
        boosted: dict[int, tuple] = {}
        for q in present:
            part = part_of(model, q)
            if part is None:
                continue
            if model.get("kind") == "gradient_boosting":
                # Dv10, Dv90 and SMD without trees of their own share Dv50's: evaluated once per part.
                if id(part) not in boosted:
                    boosted[id(part)] = boosting.choose_all(part, numeric, families_list)
                chosen = boosted[id(part)]
            else:
                chosen = _choose_all(part, index, fam_arr, pressure, one_pressure, fluid_conditions, n)
            shift, spread, k, count, code = chosen
            used = code != ""
            if not used.any():
                continue
            shifts[q] += shift
            levels[q] = np.where(used, code, levels[q])
            # A layer over results the models before it never saw adds them; over the same results, the larger count.
            more = counts[q] + count if model.get("disjoint") else np.maximum(counts[q], count)
            counts[q] = np.where(used, more, counts[q])
            if q in sigmas:
                s_p = sigmas[q]
                s2 = np.where(np.isfinite(spread), spread, s_p) ** 2
                blended = np.sqrt((count * s2 + k * s_p**2) / np.maximum(count + k, 1e-12))
                floor = np.where(np.isfinite(spread), spread, 0.0)
                sigmas[q] = np.where(used, np.maximum(blended, floor), s_p)
    # Drop sizes stay one distribution: if the own shifts would cross Dv10 ≤ Dv50 ≤ Dv90, all follow Dv50.
    if "dv50_um" in shifts:
        crossed = np.zeros(n, dtype=bool)
        scaled = {q: values[q] * np.exp(shifts[q]) for q in ("dv10_um", "dv50_um", "dv90_um") if q in shifts}
        if len(scaled) == 3:
            with np.errstate(invalid="ignore"):
                crossed = (scaled["dv10_um"] > scaled["dv50_um"]) | (scaled["dv50_um"] > scaled["dv90_um"])
        for q in SIZES:
            if q in shifts and q != "dv50_um" and crossed.any():
                shifts[q] = np.where(crossed, shifts["dv50_um"], shifts[q])
    changes = {}
    for q in present:
        factor = np.exp(shifts[q])
        changes[q] = values[q] * factor
        if q in bands:
            h_lo, h_hi = bands[q]
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(base_sigma[q] > 0, sigmas[q] / base_sigma[q], 1.0)
            changes[f"{q}_low"] = changes[q] * np.exp(-h_lo * ratio)
            changes[f"{q}_high"] = changes[q] * np.exp(h_hi * ratio)
    corrected = dataclasses.replace(prediction, **changes) if changes else prediction
    applied = Applied(
        version=version,
        levels=levels,
        counts=counts,
        factors={q: np.exp(shifts[q]) for q in present},
        has_model=bool(stack),
    )
    return corrected, applied


def _choose_all(part, index, fam_arr, pressure, one_pressure, fluid_conditions, n):
    """Vectorised choose_level over a catalog: (shift, spread, k, results, level code) per item."""
    shift = np.zeros(n)
    spread = np.full(n, np.nan)
    k = np.zeros(n)
    count = np.zeros(n, dtype=np.int64)
    code = np.full(n, "", dtype=object)

    def fits(level) -> np.ndarray:
        if one_pressure:
            ok = _in_range(level, {**fluid_conditions, "pressure_bar": float(pressure[0])})
            return np.full(n, ok)
        fluid_ok = _in_range(
            {"range": {c: r for c, r in (level.get("range") or {}).items() if c != "pressure_bar"}}, fluid_conditions
        )
        if not fluid_ok:
            return np.zeros(n, dtype=bool)
        lo, hi = (level.get("range") or {}).get("pressure_bar", (-math.inf, math.inf))
        return (pressure >= lo * (1 - RANGE_MARGIN)) & (pressure <= hi * (1 + RANGE_MARGIN))

    def put(mask, level, name, k_value):
        shift[mask] = level["shift"]
        spread[mask] = np.nan if level.get("spread") is None else level["spread"]
        k[mask] = k_value
        count[mask] = level["n"]
        code[mask] = name

    ks = part["k"]
    put(fits(part["global"]), part["global"], "global", ks["global"])
    for name, level in part["families"].items():
        mask = fam_arr == name
        if mask.any():
            put(mask & fits(level), level, "family", ks["family"])
    for key, level in part["skus"].items():
        rows = index.get(key)
        if not rows:
            continue
        mask = np.zeros(n, dtype=bool)
        mask[rows] = True
        put(mask & fits(level), level, "sku", ks["sku"])
    return shift, spread, k, count, code
