"""The configuration wizard's logic: its state (all in the query string), ranking, the plot.

Plain functions over a session and tenant (no request): the view parses nothing but
`request.args`/`request.form` into `parse_state`; the API's predict reuses `ranked_entries`,
and saving a configuration (wizard, edit page or API) ranks through `rank_for_configuration`.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from aerospec import engine
from aerospec.catalog import own_actuators, units
from aerospec.catalog import services as catalog
from aerospec.engine import correction
from aerospec.engine.rank import CONFIDENCE_WEIGHT
from aerospec.errors import NotFound
from aerospec.feedback import active
from aerospec.tenancy.scoping import current_tenant_id

SAVE_TOP_N = 10
SHOW_TOP_N = 25
SHOW_EXCLUDED = 50

# query parameter → (label, minimum, exclusive minimum, maximum, required); the limits are in the stored unit.
# Each is typed with a unit (`<param>_unit`, the fluid form's choices: units.UNIT_CHOICES) and converted
# by units.to_stored; density first, since a kinematic viscosity is converted with it.
FLUID_PARAMS = {
    "density_kg_m3": ("Density", 0.0, True, 25_000.0, True),
    "viscosity_cp": ("Viscosity", 0.0, True, 1_000_000.0, True),
    "surface_tension_mn_m": ("Surface tension", 0.0, True, 1_000.0, True),
    "flash_point_c": ("Flash point", -273.15, False, 1_000.0, False),
    "vapour_pressure_kpa": ("Vapour pressure", 0.0, False, 100_000.0, False),
}
FLUID_UNITS = {key: f"{key}_unit" for key in FLUID_PARAMS}
TARGET_PARAMS = {
    "pressure_bar": ("Operating pressure (bar)", 0.0, True, 1_000.0, True),
    "cone_deg": ("Cone angle (°)", 0.0, True, 180.0, False),
    "cone_tol": ("Cone angle tolerance (± °)", 0.0, True, 180.0, False),
    "dv50_um": ("Dv50 (µm)", 0.0, True, 10_000.0, False),
    "dv50_tol": ("Dv50 tolerance (± µm)", 0.0, True, 10_000.0, False),
    "flow_ml_min": ("Flow rate (ml/min)", 0.0, True, 1_000_000.0, False),
    "flow_tol": ("Flow rate tolerance (± ml/min)", 0.0, True, 1_000_000.0, False),
}
TARGETS = (
    # key in the engine, value param, tolerance param, unit, label
    ("cone_deg", "cone_deg", "cone_tol", "°", "Cone angle"),
    ("dv50_um", "dv50_um", "dv50_tol", "µm", "Dv50"),
    ("flow_ml_min", "flow_ml_min", "flow_tol", "ml/min", "Flow rate"),
)
STATE_KEYS = (
    "fluid_id", "fluid_name", "liquefied", *FLUID_PARAMS, *FLUID_UNITS.values(), *TARGET_PARAMS, "selected",
    "family", "actuator", "model",
)  # fmt: skip
#: What a customer filters by (engine.FAMILIES), in words.
FAMILY_LABELS = {
    "aerosol_actuator": "Aerosol actuator",
    "pump_trigger": "Pump/trigger insert",
    "industrial_nozzle": "Industrial nozzle",
}
#: engine.METHODS in words, for a quantity whose prediction carries no label of its own.
METHOD_LABELS = {
    "maker_anchored": "maker-anchored",
    "family_calibrated": "family-calibrated",
    "extrapolated": "extrapolated",
    "not_modelled": "not modelled",
}
QUANTITY_LABELS = {"flow_ml_min": "Flow", "cone_deg": "Cone angle", "dv50_um": "Dv50"}
# What "Score" means, in the words of aerospec.engine.rank (shown under every ranked table).
SCORE_HELP = (
    "Score: how far the predicted spray is from your targets, in tolerances — the root-mean-square, "
    "over the targets you set, of |predicted − target| ÷ tolerance — plus up to "
    f"{CONFIDENCE_WEIGHT:g} when a prediction lies outside the validated range of its correlations. "
    "0 is a perfect match and lower is better; there is no upper limit. "
    "“Fits 2 of 3 targets” counts the targets whose predicted value is within its tolerance."
)
# The configuration's fields for each engine target: (engine key, value field, tolerance field).
CONFIG_TARGETS = (
    ("cone_deg", "target_spray_cone_deg", "target_spray_cone_tol_deg"),
    ("dv50_um", "target_droplet_size_um", "target_droplet_size_tol_um"),
    ("flow_ml_min", "target_flow_rate_ml_min", "target_flow_rate_tol_ml_min"),
)


def parse_number(
    label: str, raw: str | None, low: float, exclusive: bool, high: float
) -> tuple[float | None, str | None]:
    """A number typed by a person (decimal comma allowed); (value, message)."""
    if raw is None or not str(raw).strip():
        return None, None
    try:
        value = float(str(raw).strip().replace(",", "."))
    except ValueError:
        return None, f"{label}: enter a number, such as 12.5."
    if not math.isfinite(value):
        return None, f"{label}: enter a finite number."
    if (exclusive and value <= low) or value < low:
        return (
            None,
            f"{label} must be greater than {low:g}." if exclusive else f"{label} must be at least {low:g}.",
        )
    if value > high:
        return None, f"{label} must be at most {high:g}."
    return value, None


@dataclass
class WizardState:
    """Everything the wizard knows, rebuilt from the query string on every request."""

    step: str = "fluid"
    raw: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    values: dict[str, float | None] = field(default_factory=dict)
    fluid: engine.Fluid | None = None
    fluid_name: str | None = None
    fluid_id: str | None = None
    library_fluid: object | None = None
    selected: str | None = None
    q: str = ""
    category: str = ""
    family: str | None = None  # one of FAMILY_LABELS: only that family is listed
    actuator: object | None = None  # "Predict with my fluid": the one catalog actuator predicted
    model: object | None = None  # a ready custom model of the workspace picked for the ranking (None: AeroSpec's)
    stack: active.Stack | None = None  # that model's stack

    def query(self, **changes) -> dict[str, str]:
        """The state as query parameters (for links and hidden inputs)."""
        out = {k: v for k, v in self.raw.items() if v not in (None, "") and k in STATE_KEYS}
        out["step"] = self.step
        for key, value in changes.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = value
        return out

    @property
    def targets(self) -> engine.Targets | None:
        if self.fluid is None or self.values.get("pressure_bar") is None:
            return None
        made = {}
        for key, value_param, tol_param, _unit, _label in TARGETS:
            value = self.values.get(value_param)
            if value is not None:
                tol = self.values.get(tol_param)
                made[key] = engine.Target(value, tol if tol is not None else round(value * 0.1, 6))
        return engine.Targets(pressure_bar=self.values["pressure_bar"], **made)


def parse_state(session: Session, tenant, args: Mapping, *, step: str | None = None) -> WizardState:
    """Read the wizard's state from query (or form) parameters; messages per field, input kept.

    `step` overrides the `step` parameter: saving asks for "results", so a save without a fluid
    or a pressure says which is missing instead of saving nothing.
    """
    state = WizardState()
    state.raw = {k: (args.get(k) or "").strip() for k in STATE_KEYS if args.get(k) is not None}
    state.q = (args.get("q") or "").strip()
    state.category = (args.get("category") or "").strip()
    state.selected = state.raw.get("selected") or None
    requested = step or args.get("step") or ""
    errors = state.errors
    family = state.raw.get("family")
    if family in FAMILY_LABELS:
        state.family = family
    elif family:
        errors["family"] = [f"Unknown actuator family {family!r}: choose one of {', '.join(FAMILY_LABELS.values())}."]
    if state.raw.get("actuator"):
        try:
            # A catalog SKU or one of this workspace's own (never another workspace's).
            state.actuator = own_actuators.get_any_actuator(session, tenant, uuid.UUID(state.raw["actuator"]))
        except (ValueError, NotFound):
            errors["actuator"] = ["That actuator is not in the catalog any more; rank the whole catalog instead."]

    if state.raw.get("model"):
        _pick_model(session, tenant, state)

    fluid_id = state.raw.get("fluid_id")
    if fluid_id:
        try:
            row = catalog.get_fluid(session, tenant, fluid_id)
        except NotFound:
            errors["fluid_id"] = ["That fluid no longer exists; pick another or type its properties."]
        else:
            state.library_fluid = row
            state.fluid_id = str(row.id)
            state.fluid_name = row.name
            state.fluid = catalog.fluid_for_engine(row)
    if state.fluid is None and not fluid_id:
        for key, (label, low, exclusive, high, required) in FLUID_PARAMS.items():
            value, message = _typed_property(state, key, label)
            if value is not None:
                value, message = parse_number(label, repr(value), low, exclusive, high)
            if message:
                errors[key] = [message]
            elif value is None and required and requested in ("targets", "results"):
                errors[key] = [f"{label} is required."]
            state.values[key] = value
        if not any(k in errors for k in FLUID_PARAMS) and all(
            state.values.get(k) is not None for k, spec in FLUID_PARAMS.items() if spec[4]
        ):
            state.fluid_name = state.raw.get("fluid_name") or None
            state.fluid = engine.Fluid(
                viscosity_cp=state.values["viscosity_cp"],
                density_kg_m3=state.values["density_kg_m3"],
                surface_tension_mn_m=state.values["surface_tension_mn_m"],
                flash_point_c=state.values.get("flash_point_c"),
                vapour_pressure_kpa=state.values.get("vapour_pressure_kpa"),
                liquefied_propellant=state.raw.get("liquefied") in ("1", "on", "y", "true"),
            )
    if state.fluid is None:
        state.step = "fluid"
        return state

    for key, (label, low, exclusive, high, required) in TARGET_PARAMS.items():
        value, message = parse_number(label, state.raw.get(key), low, exclusive, high)
        if message:
            errors[key] = [message]
        elif value is None and required and requested == "results":
            errors[key] = [f"{label} is required: the pressure the actuator will see."]
        state.values[key] = value
    for _key, value_param, tol_param, _unit, label in TARGETS:
        if (
            state.values.get(tol_param) is not None
            and state.values.get(value_param) is None
            and tol_param not in errors
        ):
            errors[tol_param] = [f"Set the {label.lower()} target too, or clear its tolerance."]
    state.step = "results" if requested == "results" else "targets"
    return state


def _typed_property(state: WizardState, key: str, label: str) -> tuple[float | None, str | None]:
    """A typed fluid property in its stored unit: the number in the unit chosen beside it (or typed after it,
    "0,998 g/cm3"), converted by units.to_stored as on the fluid form; (value, message)."""
    raw = state.raw.get(key)
    if not raw:
        return None, None
    unit = state.raw.get(FLUID_UNITS[key]) or units.UNIT_CHOICES[key][0][0]
    try:
        number, typed_unit = units.split_value_unit(raw)
    except ValueError:
        return None, f"{label}: enter a number, such as 12.5."
    try:
        return units.to_stored(key, number, typed_unit or unit, state.values.get("density_kg_m3")), None
    except ValueError as error:
        message = str(error)
        return None, f"{label}: {message}{'' if message.endswith('.') else '.'}"


def fluid_label(state: WizardState) -> str:
    f = state.fluid
    name = state.fluid_name or "Typed-in fluid"
    return f"{name}: {f.viscosity_cp:g} cP, {f.density_kg_m3:g} kg/m³, {f.surface_tension_mn_m:g} mN/m"


def _actuator_details(session: Session, ids: list) -> dict:
    """Names and currencies of a few actuators (the engine catalog carries no names); the workspace's own ones
    say so ("own actuator", its maker)."""
    from aerospec.catalog.models import Actuator, TenantActuator

    if not ids:
        return {}
    rows = session.execute(select(Actuator.id, Actuator.name, Actuator.currency).where(Actuator.id.in_(ids)))
    details = {row.id: {"name": row.name, "currency": row.currency} for row in rows}
    missing = [i for i in ids if i not in details]
    if missing:  # the ORM guard keeps these to the workspace in context
        own = session.execute(
            select(TenantActuator.id, TenantActuator.name, TenantActuator.currency, TenantActuator.maker).where(
                TenantActuator.id.in_(missing)
            )
        )
        for row in own:
            details[row.id] = {
                "name": row.name,
                "currency": row.currency,
                "maker": row.maker,
                "own_actuator_id": str(row.id),
            }
    return details


def infer_family(spray_type: str, orifice_mm: float, max_pressure_bar: float) -> str:
    """An actuator's family (engine.FAMILIES) guessed from its spray type, orifice and pressure rating.

    Used only where the catalog row carries no family of its own (Catalog.family empty, as before the
    anchors columns): full cones, plain jets and orifices above 0.8 mm are industrial nozzles; a swirl
    insert of 0.8 mm or less rated to at most 6 bar is a pump/trigger insert (hand pumps and triggers
    reach 3–6 bar); one of 0.6 mm or less rated for an aerosol can's 9–12 bar is an aerosol actuator;
    other swirl nozzles are industrial. A guess: the page says "inferred" beside it.
    """
    if spray_type != "hollow_cone" or orifice_mm > 0.8:
        return "industrial_nozzle"
    if max_pressure_bar <= 6.0:
        return "pump_trigger"
    if orifice_mm <= 0.6 and 9.0 <= max_pressure_bar <= 12.0:
        return "aerosol_actuator"
    return "industrial_nozzle"


def catalog_families(cat: engine.Catalog) -> tuple[np.ndarray, np.ndarray]:
    """(family per catalog entry, True where it was inferred rather than given by the catalog)."""
    given = cat.family if cat.family is not None else np.full(len(cat), "", dtype=object)
    families = np.array(given, dtype=object)
    inferred = np.array([f not in FAMILY_LABELS for f in families], dtype=bool)
    for i in np.flatnonzero(inferred):
        families[i] = infer_family(str(cat.spray_type[i]), float(cat.orifice_mm[i]), float(cat.max_pressure_bar[i]))
    return families, inferred


def _plain(value):
    """A value from the engine as JSON (saved with a configuration): numpy scalars unwrapped, NaN → None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _misses_in_words(out: dict, targets: engine.Targets) -> list[str]:
    """Each given target the point prediction misses, in words ("cone 48° against 60 ± 5°")."""
    words = []
    for key, _value, _tol, unit, label in TARGETS:
        target, value = getattr(targets, key), out.get(key)
        if target is None or value is None or abs(value - target.value) <= target.tolerance:
            continue
        sep = "" if unit == "°" else " "
        name = label if label.startswith("Dv") else label.lower()
        words.append(f"{name} {value:g}{sep}{unit} against {target.value:g} ± {target.tolerance:g}{sep}{unit}")
    return words


def entry(
    catalog_cols: engine.Catalog,
    ranking: engine.Ranking,
    i: int,
    targets: engine.Targets | None,
    family: tuple[str, bool] | None = None,
) -> dict:
    """One ranked actuator, JSON-ready: identity, price, the predicted values with their 90 % bands, how each
    was predicted, and the verdict per target (how many are met, each miss in words, P(met) where the engine
    gives it). Fields the engine leaves None stay out: the page shows nothing rather than a guess."""
    item = engine.prediction_item(ranking.prediction, i)  # values, 90 % bands, method, explain, caveats
    out = {
        "sku": str(catalog_cols.sku[i]),
        "supplier": str(catalog_cols.supplier[i]),
        "spray_type": str(catalog_cols.spray_type[i]),
        "orifice_mm": float(catalog_cols.orifice_mm[i]),
        "max_pressure_bar": float(catalog_cols.max_pressure_bar[i]),
        "unit_price": round(float(catalog_cols.unit_price[i]), 4),
        "lead_time_days": int(catalog_cols.lead_time_days[i]),
        "score": round(float(ranking.score[i]), 4) if math.isfinite(float(ranking.score[i])) else None,
        **_plain(item),
    }
    if family is not None:
        out["family"], out["family_inferred"] = family[0], bool(family[1])
    verdicts = {}
    if targets is not None:
        for key, *_ in TARGETS:
            target = getattr(targets, key)
            if target is not None and out.get(key) is not None:
                off = float(out[key]) - target.value
                verdicts[key] = {"within": abs(off) <= target.tolerance, "off_by": round(off, 3)}
                if ranking.p_meet is not None and key in ranking.p_meet:
                    verdicts[key]["p_meet"] = _plain(round(float(ranking.p_meet[key][i]), 3))
        given = sum(getattr(targets, key) is not None for key, *_ in TARGETS)
        out["targets_given"] = given
        if ranking.targets_met is not None:
            out["targets_met"] = int(ranking.targets_met[i])
        else:  # the engine says nothing: count the point values within tolerance, as the verdicts do
            out["targets_met"] = sum(v["within"] for v in verdicts.values())
        out["misses"] = list(ranking.misses(i)) if callable(ranking.misses) else _misses_in_words(out, targets)
    out["verdicts"] = verdicts
    out["within_tolerance"] = all(v["within"] for v in verdicts.values()) if verdicts else True
    return out


@dataclass
class Results:
    entries: list[dict]
    compatible: int
    excluded: list[dict]
    excluded_total: int
    explanation: dict
    empty: bool
    selected: dict | None
    total: int
    order_note: str = ""
    targets_given: int = 0
    family: str | None = None
    family_counts: dict[str, int] = field(default_factory=dict)  # compatible actuators per family
    families_inferred: bool = False  # some family was guessed from type, orifice and rating
    top_picks: list[dict] = field(default_factory=list)


def ranked_entries(
    session: Session,
    fluid: engine.Fluid,
    targets: engine.Targets,
    top: int = SHOW_TOP_N,
    *,
    family: str | None = None,
    actuator_id=None,
    stack: active.Stack | None = None,
) -> Results:
    """Rank the whole catalog for a fluid and targets; the top entries (of one family, or the one actuator
    asked for), the excluded ones, the explanation, how the list is ordered and the top picks."""
    # The catalog with the workspace's own actuators appended (the workspace in context: the ORM guard's).
    cat, ids = own_actuators.actuator_catalog_for(session, current_tenant_id())
    if len(cat) == 0:
        return Results(
            [], 0, [], 0, {"status": "no_catalog", "message": "The actuator catalog is empty."}, True, None, 0
        )
    families, inferred = catalog_families(cat)
    ranking, applied = _rank_corrected(session, fluid, cat, targets, families, stack)
    compatible = [int(i) for i in ranking.order]
    counts = {key: 0 for key in FAMILY_LABELS}
    for i in compatible:
        counts[families[i]] = counts.get(families[i], 0) + 1
    if actuator_id is not None:
        shown = [i for i, row_id in enumerate(ids) if row_id == actuator_id]
    else:
        shown = [i for i in compatible if family is None or families[i] == family]
    order = shown[:top]
    details = _actuator_details(session, [ids[i] for i in order])
    entries = []
    for i in order:
        e = entry(cat, ranking, i, targets, (families[i], inferred[i]))
        e["correction"] = applied.item(i)
        e.update(details.get(ids[i], {}))
        e["index"] = i
        own = own_actuators.is_own(cat, i)
        e["source"], e["label"] = ("own", own_actuators.OWN_LABEL) if own else ("catalog", None)
        if own:  # no supplier: no lead time, and a price only when the workspace gave one
            e["lead_time_days"] = None
            if not math.isfinite(e["unit_price"]):
                e["unit_price"] = None
        if i in ranking.excluded:
            e["excluded_reasons"] = list(ranking.excluded[i])
        entries.append(e)
    excluded_items = list(ranking.excluded.items()) if hasattr(ranking.excluded, "items") else []
    excluded = [
        {"sku": str(cat.sku[i]), "supplier": str(cat.supplier[i]), "reasons": list(reasons)}
        for i, reasons in excluded_items[:SHOW_EXCLUDED]
    ]
    explanation = engine.explain_empty(ranking, targets)
    for near in explanation.get("nearest", []):
        near["sku"] = str(cat.sku[near["index"]])
    within = ranking.within_tolerance
    empty = len(ranking.order) == 0 or (within is not None and not bool(np.any(within)))
    given = sum(getattr(targets, key) is not None for key, *_ in TARGETS)
    return Results(
        entries=entries,
        compatible=len(ranking.order),
        excluded=excluded,
        excluded_total=len(ranking.excluded),
        explanation=explanation,
        empty=empty,
        selected=None,
        total=len(cat),
        order_note=ranking.order_note or "",
        targets_given=ranking.targets_given or given,
        family=family,
        family_counts=counts,
        families_inferred=bool(np.any(inferred)),
        top_picks=top_picks(entries),
    )


def sku_keys(cat: engine.Catalog) -> list[str]:
    """Each catalog entry's name in a correction model (supplier:sku), built once per catalog."""
    tenant_id = current_tenant_id()  # an own actuator's name carries its workspace (own_actuators.model_supplier)
    key = (id(cat.supplier), id(cat.sku), tenant_id)
    cached = cat._derived.get("correction_keys")
    if cached is None or cached[0] != key:
        names = zip(cat.supplier, cat.sku, strict=True)
        cached = (key, [correction.sku_key(own_actuators.model_supplier(str(s), tenant_id), str(k)) for s, k in names])
        cat._derived["correction_keys"] = cached
    return cached[1]


def _rank_corrected(
    session: Session, fluid: engine.Fluid, cat: engine.Catalog, targets: engine.Targets, families, stack=None
) -> tuple[engine.Ranking, correction.Applied]:
    """Rank with `stack` (a custom model), else the active correction models of the workspace in context
    (physics alone when none is)."""
    stack = stack if stack is not None else active.stack_for_current(session)
    box: dict = {}

    def correct(prediction: engine.Prediction) -> engine.Prediction:
        keys, fams = (sku_keys(cat), list(families)) if stack.models else ((), ())
        corrected, box["applied"] = active.correct(stack, prediction, keys, fams, fluid, cat.orifice_mm)
        return corrected

    return engine.rank(fluid, cat, targets, correct=correct), box["applied"]


def _or_inf(value) -> float:
    return math.inf if value is None else value


def top_picks(entries: list[dict]) -> list[dict]:
    """The summary above the table: the two best ranked, then the cheapest and the quickest of those that fit
    as many targets as the best one (each actuator named once; fewer picks when they coincide)."""
    if not entries:
        return []
    most = entries[0].get("targets_met", 0)
    fitting = [e for e in entries if e.get("targets_met", 0) >= most]
    candidates = [("Best ranked", entries[0])]
    if len(entries) > 1:
        candidates.append(("Runner-up", entries[1]))
    candidates += [
        ("Lowest price", min(fitting, key=lambda e: _or_inf(e.get("unit_price")))),
        ("Shortest lead time", min(fitting, key=lambda e: _or_inf(e.get("lead_time_days")))),
    ]
    picks, seen = [], set()
    for why, chosen in candidates:
        if chosen["sku"] not in seen:
            seen.add(chosen["sku"])
            picks.append({"why": why, "entry": chosen})
    return picks


# ---- the droplet-size distribution plot (server-rendered SVG)

PLOT_W, PLOT_H, PAD_L, PAD_B, PAD_T, PAD_R = 360, 250, 46, 40, 50, 50
PLOT_FONT = 11  # px in the viewBox; the figure is never drawn narrower than 300 px (readable at 360 px)


def nice_ticks(top: float, most: int = 5) -> list[float]:
    """Evenly spaced ticks from 0 on a 1-2-5 step, the last at or above `top`, at most `most` + 1 of them."""
    if not top > 0:
        return [0.0, 1.0]
    raw = top / most
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    count = math.ceil(top / step - 1e-9)
    return [round(step * k, 10) for k in range(count + 1)]


def _tick_label(value: float) -> str:
    return f"{value:g}"


def distribution(item: dict, target: engine.Target | None = None, points: int = 80) -> dict | None:
    """Rosin–Rammler volume distribution of one prediction as SVG geometry and a table; None without a Dv50.

    F(D) = 1 − exp(−(D/X)^q) with X = Dv50 / (ln 2)^(1/q) (Lefebvre, Atomization and Sprays, 1989, ch. 4);
    the density is dF/dD in % per µm. The cumulative curve is read on the left axis (%), the density on the
    right (%/µm), each with its own even ticks; the Dv50 target and its tolerance are drawn as a band.
    """
    if item.get("dv50_um") is None:
        return None
    dv50 = float(item["dv50_um"])
    q = float(item.get("rosin_rammler_q") or 2.5)
    x = dv50 / math.log(2) ** (1 / q)
    d_end = x * (-math.log(0.001)) ** (1 / q)  # 99.9 % of the volume below
    if target is not None:
        d_end = max(d_end, target.value + target.tolerance)
    x_ticks = nice_ticks(d_end)
    d_max = x_ticks[-1]
    ds = np.linspace(0.0, d_max, points)
    cdf = 1 - np.exp(-((ds / x) ** q))
    pdf = 100 * (q / x) * (ds / x) ** (q - 1) * np.exp(-((ds / x) ** q))  # % of the volume per µm
    pdf_ticks = nice_ticks(float(pdf.max()), most=4)
    pdf_top = pdf_ticks[-1]
    left, right, top, bottom = PAD_L, PLOT_W - PAD_R, PAD_T, PLOT_H - PAD_B

    def px(d: float) -> float:
        return round(left + (right - left) * min(max(d, 0.0), d_max) / d_max, 1)

    def py(fraction: float) -> float:
        return round(top + (bottom - top) * (1 - fraction), 1)

    cdf_points = " ".join(f"{px(d)},{py(f)}" for d, f in zip(ds, cdf, strict=True))
    pdf_points = " ".join(f"{px(d)},{py(f / pdf_top)}" for d, f in zip(ds, pdf, strict=True))
    # The Dv10/Dv50/Dv90 labels sit on three rows above the plot, so they never overlap one another.
    marks = []
    for row, (name, key) in enumerate((("Dv10", "dv10_um"), ("Dv50", "dv50_um"), ("Dv90", "dv90_um"))):
        if item.get(key) is None:
            continue
        mx = px(float(item[key]))
        anchor = "start" if mx < left + 20 else ("end" if mx > right - 20 else "middle")
        marks.append({"label": f"{name} {float(item[key]):g} µm", "x": mx, "y": 12 + 13 * row, "anchor": anchor})
    band = None
    if target is not None:
        low, high = target.value - target.tolerance, target.value + target.tolerance
        band = {
            "x": px(low),
            "width": round(px(high) - px(low), 1),
            "line_x": px(target.value),
            "label": f"Dv50 target {target.value:g} ± {target.tolerance:g} µm",
        }
    table = [
        {"d_um": round(float(d), 1), "cum_pct": round(100 * float(1 - math.exp(-((d / x) ** q))), 1)}
        for d in np.linspace(d_max / 8, d_max, 8)
    ]
    return {
        "width": PLOT_W,
        "height": PLOT_H,
        "font": PLOT_FONT,
        "cdf": cdf_points,
        "pdf": pdf_points,
        "x_ticks": [{"x": px(t), "label": _tick_label(t)} for t in x_ticks],
        "y_ticks": [{"y": py(f), "label": f"{int(f * 100)}"} for f in (0, 0.25, 0.5, 0.75, 1.0)],
        "pdf_ticks": [{"y": py(t / pdf_top), "label": _tick_label(t)} for t in pdf_ticks],
        "marks": marks,
        "target": band,
        "table": table,
        "q": round(q, 2),
        "x_um": round(x, 1),
        "left": left,
        "right": right,
        "top": top,
        "bottom": bottom,
    }


def _pick_model(session: Session, tenant, state: WizardState) -> None:
    """The custom model picked for the ranking; a field message (never another workspace's model) otherwise."""
    from aerospec.errors import Conflict
    from aerospec.tenancy.features import feature_enabled, feature_message

    if not feature_enabled(tenant, "custom_models"):
        state.errors["model"] = [feature_message(tenant, "custom_models")]
        return
    try:
        # SECURITY: looked up inside this workspace only: another workspace's id is unknown here.
        state.stack, state.model = active.custom_stack(session, tenant, state.raw["model"])
    except NotFound:
        state.errors["model"] = ["Unknown model: pick one of this workspace's models, or AeroSpec's models."]
    except Conflict as exc:
        state.errors["model"] = [exc.message]


def model_choices(session: Session, tenant) -> list:
    """The workspace's ready custom models for the wizard's picker (none without the plan feature)."""
    from aerospec.tenancy.features import feature_enabled

    return active.ready_custom_models(session, tenant) if feature_enabled(tenant, "custom_models") else []


def page_context(session: Session, tenant, state: WizardState) -> dict:
    """What the wizard page shows for its state."""
    context: dict = {
        "fluids": [],
        "results": None,
        "plot": None,
        "categories": catalog.FLUID_CATEGORIES,
        "unit_choices": units.UNIT_CHOICES,
    }
    if state.step != "fluid":
        context["custom_models"] = model_choices(session, tenant)
    if state.step == "fluid":
        context["fluids"] = catalog.list_fluids(session, tenant, q=state.q or None, category=state.category or None)
        return context
    targets = state.targets
    if state.step == "results" and targets is not None and not state.errors:
        results = ranked_entries(
            session,
            state.fluid,
            targets,
            family=state.family,
            actuator_id=state.actuator.id if state.actuator is not None else None,
            stack=state.stack,
        )
        if results.entries:
            chosen = next((e for e in results.entries if e["sku"] == state.selected), results.entries[0])
            results.selected = chosen
            context["plot"] = distribution(chosen, targets.dv50_um)
        context["results"] = results
    return context


def configuration_data(session: Session, tenant, state: WizardState) -> dict:
    """The configuration fields (the seed's names) for the wizard's state; saving ranks them."""
    targets = state.targets
    f = state.fluid
    data = {
        "fluid_name": state.fluid_name,
        "fluid_id": state.fluid_id,
        "fluid_viscosity_cP": f.viscosity_cp,
        "fluid_density_kg_m3": f.density_kg_m3,
        "fluid_surface_tension_mN_m": f.surface_tension_mn_m,
        "fluid_flash_point_C": f.flash_point_c,
        "fluid_vapour_pressure_kPa": f.vapour_pressure_kpa,
        "fluid_liquefied_propellant": f.liquefied_propellant,
        "max_pressure_bar": targets.pressure_bar,
    }
    for key, seed_value, seed_tol in CONFIG_TARGETS:
        target = getattr(targets, key)
        data[seed_value] = target.value if target else None
        data[seed_tol] = target.tolerance if target else None
    return data


def engine_inputs(values: Mapping) -> tuple[engine.Fluid, engine.Targets]:
    """The engine's fluid and targets for a configuration's fields (tolerances already filled)."""
    fluid = engine.Fluid(
        viscosity_cp=values["fluid_viscosity_cP"],
        density_kg_m3=values["fluid_density_kg_m3"],
        surface_tension_mn_m=values["fluid_surface_tension_mN_m"],
        flash_point_c=values.get("fluid_flash_point_C"),
        vapour_pressure_kpa=values.get("fluid_vapour_pressure_kPa"),
        liquefied_propellant=bool(values.get("fluid_liquefied_propellant")),
    )
    made = {
        key: engine.Target(values[value_field], values[tol_field])
        for key, value_field, tol_field in CONFIG_TARGETS
        if values.get(value_field) is not None
    }
    return fluid, engine.Targets(pressure_bar=values["max_pressure_bar"], **made)


def rank_for_configuration(session: Session, values: Mapping) -> list[dict]:
    """The top SAVE_TOP_N actuators for a configuration's fluid and targets, as a configuration saves them."""
    fluid, targets = engine_inputs(values)
    results = ranked_entries(session, fluid, targets, top=SAVE_TOP_N)
    return [{k: v for k, v in e.items() if k != "index"} for e in results.entries]


def targets_table(config) -> list[dict]:
    """A configuration's targets for the detail page."""
    return [
        {
            "label": "Cone angle",
            "unit": "°",
            "value": config.target_spray_cone_deg,
            "tolerance": config.target_spray_cone_tol_deg,
        },
        {
            "label": "Dv50",
            "unit": "µm",
            "value": config.target_droplet_size_um,
            "tolerance": config.target_droplet_size_tol_um,
        },
        {
            "label": "Flow rate",
            "unit": "ml/min",
            "value": config.target_flow_rate_ml_min,
            "tolerance": config.target_flow_rate_tol_ml_min,
        },
        {"label": "Operating pressure", "unit": "bar", "value": config.max_pressure_bar, "tolerance": None},
    ]


def args_for_config(config) -> dict[str, str]:
    """Wizard query parameters that reproduce a configuration's fluid and targets."""
    pairs = {
        "fluid_name": config.fluid_name,
        "viscosity_cp": config.fluid_viscosity_cP,
        "density_kg_m3": config.fluid_density_kg_m3,
        "surface_tension_mn_m": config.fluid_surface_tension_mN_m,
        "flash_point_c": config.fluid_flash_point_C,
        "vapour_pressure_kpa": config.fluid_vapour_pressure_kPa,
        "liquefied": "1" if config.fluid_liquefied_propellant else None,
        "pressure_bar": config.max_pressure_bar,
        "cone_deg": config.target_spray_cone_deg,
        "cone_tol": config.target_spray_cone_tol_deg,
        "dv50_um": config.target_droplet_size_um,
        "dv50_tol": config.target_droplet_size_tol_um,
        "flow_ml_min": config.target_flow_rate_ml_min,
        "flow_tol": config.target_flow_rate_tol_ml_min,
    }
    out = {k: (f"{v:g}" if isinstance(v, float) else str(v)) for k, v in pairs.items() if v is not None}
    out["step"] = "results"
    return out
