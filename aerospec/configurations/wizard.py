"""The configuration wizard's logic: its state (all in the query string), ranking, the plot.

Plain functions over a session and tenant (no request): the view parses nothing but
`request.args`/`request.form` into `parse_state`; the API's predict reuses `ranked_entries`,
and saving a configuration (wizard, edit page or API) ranks through `rank_for_configuration`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from aerospec import engine
from aerospec.catalog import services as catalog
from aerospec.catalog import units
from aerospec.engine.rank import CONFIDENCE_WEIGHT
from aerospec.errors import NotFound

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
STATE_KEYS = ("fluid_id", "fluid_name", "liquefied", *FLUID_PARAMS, *FLUID_UNITS.values(), *TARGET_PARAMS, "selected")
# What "Score" means, in the words of aerospec.engine.rank (shown under every ranked table).
SCORE_HELP = (
    "Score: how far the predicted spray is from your targets, in tolerances — the root-mean-square, "
    "over the targets you set, of |predicted − target| ÷ tolerance — plus up to "
    f"{CONFIDENCE_WEIGHT:g} when a prediction lies outside the validated range of its correlations. "
    "0 is a perfect match and lower is better; there is no upper limit. "
    "“Meets all targets” means every target is within 1 tolerance."
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
    """Names and currencies of a few actuators (the engine catalog carries no names)."""
    from aerospec.catalog.models import Actuator

    if not ids:
        return {}
    rows = session.execute(select(Actuator.id, Actuator.name, Actuator.currency).where(Actuator.id.in_(ids)))
    return {row.id: {"name": row.name, "currency": row.currency} for row in rows}


def entry(catalog_cols: engine.Catalog, ranking: engine.Ranking, i: int, targets: engine.Targets | None) -> dict:
    """One ranked actuator, JSON-ready: identity, price, the predicted values and the verdict per target."""
    item = engine.prediction_item(ranking.prediction, i)
    out = {
        "sku": str(catalog_cols.sku[i]),
        "supplier": str(catalog_cols.supplier[i]),
        "spray_type": str(catalog_cols.spray_type[i]),
        "orifice_mm": float(catalog_cols.orifice_mm[i]),
        "max_pressure_bar": float(catalog_cols.max_pressure_bar[i]),
        "unit_price": round(float(catalog_cols.unit_price[i]), 4),
        "lead_time_days": int(catalog_cols.lead_time_days[i]),
        "score": round(float(ranking.score[i]), 4) if math.isfinite(float(ranking.score[i])) else None,
        **item,
    }
    verdicts = {}
    if targets is not None:
        for key, *_ in TARGETS:
            target = getattr(targets, key)
            if target is not None and out.get(key) is not None:
                off = float(out[key]) - target.value
                verdicts[key] = {"within": abs(off) <= target.tolerance, "off_by": round(off, 3)}
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


def ranked_entries(session: Session, fluid: engine.Fluid, targets: engine.Targets, top: int = SHOW_TOP_N) -> Results:
    """Rank the whole catalog for a fluid and targets; the top entries, the excluded ones, the explanation."""
    cat, ids = catalog.actuator_catalog(session)
    if len(cat) == 0:
        return Results(
            [], 0, [], 0, {"status": "no_catalog", "message": "The actuator catalog is empty."}, True, None, 0
        )
    ranking = engine.rank(fluid, cat, targets)
    order = [int(i) for i in ranking.order[:top]]
    details = _actuator_details(session, [ids[i] for i in order])
    entries = []
    for i in order:
        e = entry(cat, ranking, i, targets)
        e.update(details.get(ids[i], {}))
        e["index"] = i
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
    return Results(
        entries=entries,
        compatible=len(ranking.order),
        excluded=excluded,
        excluded_total=len(ranking.excluded),
        explanation=explanation,
        empty=empty,
        selected=None,
        total=len(cat),
    )


# ---- the droplet-size distribution plot (server-rendered SVG)

PLOT_W, PLOT_H, PAD_L, PAD_B, PAD_T, PAD_R = 480, 240, 48, 36, 12, 48


def distribution(item: dict, points: int = 60) -> dict:
    """Rosin–Rammler volume CDF and PDF of one prediction, as SVG polylines and a table.

    F(D) = 1 − exp(−(D/X)^q) with X = Dv50 / (ln 2)^(1/q) (Lefebvre, Atomization and
    Sprays, 1989, ch. 4); the PDF is dF/dD, scaled to the plot's height.
    """
    dv50 = float(item["dv50_um"])
    q = float(item.get("rosin_rammler_q") or 2.5)
    x = dv50 / math.log(2) ** (1 / q)
    d_max = x * (-math.log(0.001)) ** (1 / q)  # 99.9 % of the volume below
    ds = np.linspace(0.0, d_max, points)
    cdf = 1 - np.exp(-((ds / x) ** q))
    pdf = (q / x) * (ds / x) ** (q - 1) * np.exp(-((ds / x) ** q))
    pdf_scaled = pdf / pdf.max() if pdf.max() > 0 else pdf
    inner_w, inner_h = PLOT_W - PAD_L - PAD_R, PLOT_H - PAD_T - PAD_B

    def px(d: float) -> float:
        return round(PAD_L + inner_w * d / d_max, 1)

    def py(f: float) -> float:
        return round(PAD_T + inner_h * (1 - f), 1)

    cdf_points = " ".join(f"{px(d)},{py(f)}" for d, f in zip(ds, cdf, strict=True))
    pdf_points = " ".join(f"{px(d)},{py(f)}" for d, f in zip(ds, pdf_scaled, strict=True))
    ticks = [round(d_max * k / 4, -1 if d_max > 40 else 0) for k in range(5)]
    marks = [
        {"label": name, "d": float(item[key]), "x": px(min(float(item[key]), d_max))}
        for name, key in (("Dv10", "dv10_um"), ("Dv50", "dv50_um"), ("Dv90", "dv90_um"))
        if item.get(key) is not None
    ]
    table = [
        {"d_um": round(float(d), 1), "cum_pct": round(100 * float(1 - math.exp(-((d / x) ** q))), 1)}
        for d in np.linspace(d_max / 8, d_max, 8)
    ]
    return {
        "width": PLOT_W,
        "height": PLOT_H,
        "cdf": cdf_points,
        "pdf": pdf_points,
        "x_ticks": [{"x": px(t), "label": f"{t:g}"} for t in ticks],
        "y_ticks": [{"y": py(f), "label": f"{int(f * 100)} %"} for f in (0, 0.25, 0.5, 0.75, 1.0)],
        "marks": marks,
        "table": table,
        "q": round(q, 2),
        "x_um": round(x, 1),
        "left": PAD_L,
        "right": PLOT_W - PAD_R,
        "top": PAD_T,
        "bottom": PLOT_H - PAD_B,
    }


def page_context(session: Session, tenant, state: WizardState) -> dict:
    """What the wizard page shows for its state."""
    context: dict = {
        "fluids": [],
        "results": None,
        "plot": None,
        "categories": catalog.FLUID_CATEGORIES,
        "unit_choices": units.UNIT_CHOICES,
    }
    if state.step == "fluid":
        context["fluids"] = catalog.list_fluids(session, tenant, q=state.q or None, category=state.category or None)
        return context
    targets = state.targets
    if state.step == "results" and targets is not None and not state.errors:
        results = ranked_entries(session, state.fluid, targets)
        if results.entries:
            chosen = next((e for e in results.entries if e["sku"] == state.selected), results.entries[0])
            results.selected = chosen
            context["plot"] = distribution(chosen)
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
