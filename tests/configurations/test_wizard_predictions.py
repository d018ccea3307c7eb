"""Issue 11, item 7, on the server: what the wizard and a saved configuration say about each prediction, the
family filter and its inference, the no-target order note, the plot's geometry, the links from fluid and
actuator pages, and units typed after the number on every path that stores them (the browser side is
tests/e2e/test_wizard_predictions.py). Expected figures come from the engine for the same inputs."""

from __future__ import annotations

import dataclasses
import html
import json
import re
from urllib.parse import urlencode

import markupsafe
import numpy as np
import pytest

from aerospec import engine
from aerospec.catalog import services as catalog
from aerospec.configurations import wizard
from aerospec.configurations.models import Configuration
from aerospec.engine.types import METHODS
from aerospec.tenancy.scoping import tenant_scope
from tests.catalog.test_fluid_units import CASES as FLUID_FORM_CASES
from tests.configurations.test_wizard import WATER

COLUMN = {
    "viscosity_cp": "fluid_viscosity_cP",
    "density_kg_m3": "fluid_density_kg_m3",
    "surface_tension_mn_m": "fluid_surface_tension_mN_m",
    "flash_point_c": "fluid_flash_point_C",
    "vapour_pressure_kpa": "fluid_vapour_pressure_kPa",
}


def _esc(text) -> str:
    """Text as Jinja's autoescape writes it in the page."""
    return str(markupsafe.escape(text))


def _new(t, **params) -> str:
    return f"/t/{t.tenant.slug}/configurations/new?{urlencode(params)}"


def _rows(page: str) -> list[str]:
    return re.findall(r'<tr data-sku="([^"]+)"', page)


def _row_html(page: str, sku: str) -> str:
    start = page.index(f'<tr data-sku="{sku}"')
    return page[start : page.index("</tr>", start)]


def _results(db, params: dict, **kwargs) -> wizard.Results:
    fluid = engine.Fluid(
        float(params["viscosity_cp"]), float(params["density_kg_m3"]), float(params["surface_tension_mn_m"])
    )
    made = {}
    for key, value, tol, *_ in wizard.TARGETS:
        if params.get(value):
            v = float(params[value])
            made[key] = engine.Target(v, float(params[tol]) if params.get(tol) else round(v * 0.1, 6))
    return wizard.ranked_entries(db.session, fluid, engine.Targets(float(params["pressure_bar"]), **made), **kwargs)


# ---- family


@pytest.mark.parametrize(
    ("spray_type", "orifice", "pressure", "family"),
    [
        ("full_cone", 0.5, 10.0, "industrial_nozzle"),
        ("plain_orifice", 0.3, 10.0, "industrial_nozzle"),
        ("hollow_cone", 1.0, 5.0, "industrial_nozzle"),
        ("hollow_cone", 0.4, 5.0, "pump_trigger"),
        ("hollow_cone", 0.8, 6.0, "pump_trigger"),
        ("hollow_cone", 0.3, 12.0, "aerosol_actuator"),
        ("hollow_cone", 0.7, 12.0, "industrial_nozzle"),
        ("hollow_cone", 0.4, 20.0, "industrial_nozzle"),
    ],
)
def test_a_family_is_inferred_from_type_orifice_and_rating(spray_type, orifice, pressure, family):
    assert wizard.infer_family(spray_type, orifice, pressure) == family


def test_a_family_the_catalog_gives_wins_over_the_inference(db, seeded_catalog):
    cat, _ids = catalog.actuator_catalog(db.session)
    if cat.family is not None:  # the catalog's own family column (seeded), used as given
        families, inferred = wizard.catalog_families(cat)
        given = np.array([f in wizard.FAMILY_LABELS for f in cat.family])
        assert (families[given] == cat.family[given]).all() and not inferred[given].any()
    blank = dataclasses.replace(cat, family=np.array([""] * len(cat), dtype=object))
    guessed, inferred = wizard.catalog_families(blank)
    assert inferred.all() and set(guessed) == set(wizard.FAMILY_LABELS)  # the sample catalog has every family
    one = blank.family.copy()
    one[0] = "pump_trigger" if guessed[0] != "pump_trigger" else "aerosol_actuator"
    families, inferred = wizard.catalog_families(dataclasses.replace(cat, family=one))
    assert families[0] == one[0] and not inferred[0]
    assert (families[1:] == guessed[1:]).all() and inferred[1:].all()


def test_the_family_filter_lists_only_that_family_and_says_how_many(client, login, team, seeded_catalog, db):
    t = team()
    login(t.user)
    params = {**WATER, "step": "results", "pressure_bar": "5", "cone_deg": "60"}
    everything = _results(db, params)
    for family, label in wizard.FAMILY_LABELS.items():
        page = client.get(_new(t, **params, family=family)).get_data(as_text=True)
        expected = _results(db, params, family=family)
        assert _rows(page) == [e["sku"] for e in expected.entries]
        assert all(e["family"] == family for e in expected.entries)
        if expected.entries:
            assert f"{everything.family_counts[family]} of them {label.lower()}s" in page
            assert page.count(f'<span class="family">{label}') == len(expected.entries)
        else:
            assert f"No compatible {label.lower()} for this fluid and pressure" in page
    assert sum(everything.family_counts.values()) == everything.compatible


def test_an_unknown_family_is_a_message_not_an_error(client, login, team, seeded_catalog):
    t = team()
    login(t.user)
    response = client.get(_new(t, **WATER, step="results", pressure_bar="5", family="rocket"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Unknown actuator family &#39;rocket&#39;" in page and 'aria-label="Ranked actuators"' not in page


# ---- what each prediction says


def test_every_row_shows_the_engines_values_bands_methods_fit_and_caveats(client, login, team, seeded_catalog, db):
    t = team()
    login(t.user)
    # Targets most actuators miss: the fit is counted and each miss said in words.
    params = {**WATER, "step": "results", "pressure_bar": "5", "cone_deg": "20", "cone_tol": "2",
              "dv50_um": "15", "dv50_tol": "1", "flow_ml_min": "900", "flow_tol": "10"}  # fmt: skip
    page = client.get(_new(t, **params)).get_data(as_text=True)
    expected = _results(db, params)
    assert _rows(page) == [e["sku"] for e in expected.entries] and expected.entries
    assert "Misses a target" not in page
    for e in expected.entries:  # engine v2: every quantity has a method and an explanation, every band is 90 %
        assert e["band_level"] == 0.9 and set(e["method"]) == {"flow_ml_min", "cone_deg", "dv50_um"}
        assert set(e["method"].values()) <= set(METHODS) and e["confidence_label"]
        assert all(e["explain"][q].get("label") and e["explain"][q].get("source") for q in e["method"])
        assert set(e["verdicts"]) == {"flow_ml_min", "cone_deg", "dv50_um"}
        assert all(0 <= v["p_meet"] <= 1 for v in e["verdicts"].values())
    for e in expected.entries:
        row = _row_html(page, e["sku"])
        for key, unit in (("flow_ml_min", " ml/min"), ("cone_deg", "°"), ("dv50_um", " µm")):
            assert f'<span class="value">{e[key]:g}{unit}</span>' in row
            level = "90 % range" if e.get("band_level") == 0.9 else "range"
            assert f"{level} {e[key + '_low']:g}–{e[key + '_high']:g}{unit}" in row
            assert f'<span class="method">{wizard.METHOD_LABELS[e["method"][key]]}</span>' in row
            p_meet = e["verdicts"][key]["p_meet"]
            assert f"{p_meet * 100:.0f} % likely to meet the target" in row
        assert f"Fits {e['targets_met']} of 3 targets" in row
        assert len(e["misses"]) == 3 - e["targets_met"]
        for miss in e["misses"]:
            assert f"<li>Misses: {_esc(miss)}</li>" in row
        for warning in e["warnings"]:
            assert f"<li>{_esc(warning)}</li>" in row
        assert "<summary>How was this predicted</summary>" in row
        for q, how in e["explain"].items():
            for field in ("label", "source", "validity", "validation_error", "band_note"):
                if how.get(field):
                    assert _esc(str(how[field])) in row, (q, field)
    missing_all = [e for e in expected.entries if e["targets_met"] == 0]
    assert missing_all, "the targets were chosen so that some actuator misses all three"
    assert "Fits 0 of 3 targets" in page
    json.dumps([{k: v for k, v in e.items() if k != "index"} for e in expected.entries], allow_nan=False)


def test_misses_are_worded_with_the_value_and_the_target():
    targets = engine.Targets(5.0, cone_deg=engine.Target(60, 5), dv50_um=engine.Target(40, 4))
    out = {"cone_deg": 48.0, "dv50_um": 41.0, "flow_ml_min": 30.0}
    assert wizard._misses_in_words(out, targets) == ["cone angle 48° against 60 ± 5°"]
    out["dv50_um"] = 30.0
    assert wizard._misses_in_words(out, targets)[1] == "Dv50 30 µm against 40 ± 4 µm"


def test_without_a_target_the_page_says_how_the_list_is_ordered(client, login, team, seeded_catalog, db):
    t = team()
    login(t.user)
    params = {**WATER, "step": "results", "pressure_bar": "5"}
    page = client.get(_new(t, **params)).get_data(as_text=True)
    expected = _results(db, params)
    assert expected.targets_given == 0
    assert expected.order_note.startswith("No target given")  # the engine's words
    assert (
        f'<p class="order-note" role="note"><strong>How this list is ordered:</strong> {_esc(expected.order_note)}</p>'
        in page
    )
    assert "Fits" not in re.sub(r"<p class=\"score-help\".*?</p>", "", page, flags=re.S)
    with_target = client.get(_new(t, **params, dv50_um="50")).get_data(as_text=True)
    assert "order-note" not in with_target


def test_top_picks_name_each_actuator_once_above_the_table(client, login, team, seeded_catalog, db):
    t = team()
    login(t.user)
    params = {**WATER, "step": "results", "pressure_bar": "5", "cone_deg": "60", "dv50_um": "50"}
    page = client.get(_new(t, **params)).get_data(as_text=True)
    picks = _results(db, params).top_picks
    skus = [p["entry"]["sku"] for p in picks]
    assert len(skus) == len(set(skus)) >= 2 and picks[0]["why"] == "Best ranked"
    assert page.index("Top picks") < page.index('aria-label="Ranked actuators"')
    entries = _results(db, params).entries
    cheapest = min((e for e in entries if e["targets_met"] >= entries[0]["targets_met"]), key=lambda e: e["unit_price"])
    assert (
        next(p for p in picks if p["why"] == "Lowest price" or p["entry"]["sku"] == cheapest["sku"])["entry"]
        == cheapest
    )


def test_the_saved_configuration_shows_what_the_wizard_showed(db, client, login, team, seeded_catalog, rows):
    t = team()
    login(t.user)
    params = {**WATER, "step": "results", "pressure_bar": "5", "cone_deg": "60", "dv50_um": "50"}
    wizard_page = client.get(_new(t, **params)).get_data(as_text=True)
    response = client.post(f"/t/{t.tenant.slug}/configurations", data={**params, "name": "Same values"})
    assert response.status_code == 303
    saved = next(c for c in rows(t.tenant, Configuration) if c.name == "Same values")
    saved_skus = [e["sku"] for e in saved.compatible_actuators]  # read now: row-level security on PostgreSQL
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert _rows(detail) == _rows(wizard_page)[: wizard.SAVE_TOP_N]

    def shown(page: str, sku: str) -> str:  # the row up to its link, without the wizard's selection mark
        return (
            _row_html(page, sku)
            .split('<td data-label="Distribution">')[0]
            .replace(' class="selected" aria-current="true"', "")
        )

    assert saved_skus == _rows(detail)
    picks = detail[detail.index("Top picks") : detail.index('aria-label="Ranked actuators"')]
    assert f'Best ranked</span> <strong class="sku">{saved_skus[0]}</strong>' in picks
    for sku in saved_skus:
        assert shown(detail, sku) == shown(wizard_page, sku)


# ---- the plot


@pytest.mark.parametrize("top", [0.7, 3.2, 47.0, 99.0, 100.0, 181.0, 1234.0])
def test_ticks_are_even_from_zero_and_cover_the_top(top):
    ticks = wizard.nice_ticks(top)
    steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:], strict=False)}
    assert ticks[0] == 0 and ticks[-1] >= top and len(steps) == 1 and 3 <= len(ticks) <= 7
    assert ticks[-2] < top  # no empty step at the end


def test_the_plot_draws_the_target_band_and_reads_density_on_its_own_axis():
    item = {"dv50_um": 40.0, "dv10_um": 18.0, "dv90_um": 70.0, "rosin_rammler_q": 2.5}
    plot = wizard.distribution(item, engine.Target(60.0, 10.0))
    d_max = float(plot["x_ticks"][-1]["label"])
    span = plot["right"] - plot["left"]
    assert plot["target"]["x"] == pytest.approx(plot["left"] + span * 50 / d_max, abs=0.1)
    assert plot["target"]["x"] + plot["target"]["width"] == pytest.approx(plot["left"] + span * 70 / d_max, abs=0.2)
    assert plot["target"]["label"] == "Dv50 target 60 ± 10 µm"
    # The density polyline never rises above its axis' top tick, and that tick is a real density (% per µm).
    ys = [float(p.split(",")[1]) for p in plot["pdf"].split()]
    assert min(ys) >= plot["top"] - 0.1
    assert plot["pdf_ticks"][0]["label"] == "0" and plot["pdf_ticks"][-1]["y"] == plot["top"]
    # The three marks sit on their own rows.
    assert len({m["y"] for m in plot["marks"]}) == 3
    assert wizard.distribution({"dv50_um": None}) is None


# ---- links into the wizard


def test_a_fluid_page_links_to_ranking_for_it_and_an_actuator_page_to_predicting_it(
    client, login, team, seeded_catalog, db
):
    t = team()
    login(t.viewer)
    with tenant_scope(db.session, t.tenant.id):
        fluid = next(f for f in catalog.list_fluids(db.session, t.tenant, q="Ethanol") if f.name == "Ethanol")
        fluid_id = fluid.id
    page = client.get(f"/t/{t.tenant.slug}/fluids/{fluid_id}").get_data(as_text=True)
    link = html.escape(f"/t/{t.tenant.slug}/configurations/new?fluid_id={fluid_id}&step=targets")
    assert f'href="{link}">Rank actuators for this fluid</a>' in page
    assert "Ethanol" in client.get(html.unescape(link)).get_data(as_text=True)

    cat, ids = catalog.actuator_catalog(db.session)
    # An actuator rated below the pressure asked for: predicted anyway, with why it is not compatible.
    low = int(np.argmin(cat.max_pressure_bar))
    page = client.get(f"/t/{t.tenant.slug}/actuators/{ids[low]}").get_data(as_text=True)
    link = html.escape(f"/t/{t.tenant.slug}/configurations/new?actuator={ids[low]}&step=fluid")
    assert f'href="{link}">Predict with my fluid</a>' in page
    step1 = client.get(html.unescape(link)).get_data(as_text=True)
    assert f"Predicting <strong>{cat.sku[low]}</strong>" in step1
    assert f"actuator={ids[low]}" in html.unescape(step1)  # the fluid links keep the actuator
    pressure = f"{float(cat.max_pressure_bar[low]) + 5:g}"
    result = client.get(_new(t, **WATER, step="results", pressure_bar=pressure, actuator=str(ids[low])))
    body = result.get_data(as_text=True)
    assert _rows(body) == [str(cat.sku[low])]
    assert "Not compatible:" in body and "Save as configuration" not in body
    gone = client.get(_new(t, **WATER, step="results", pressure_bar="3", actuator="not-an-id")).get_data(as_text=True)
    assert "That actuator is not in the catalog any more" in gone


# ---- units typed after the number, on every path that stores them


WIZARD_CASES = [c for c in FLUID_FORM_CASES if c[0] in COLUMN]


def test_a_unit_typed_after_the_number_is_stored_right_by_the_wizard(db, client, login, team, seeded_catalog, rows):
    t = team()
    login(t.user)
    for n, (prop, unit, typed, expected, _shown) in enumerate(WIZARD_CASES):
        fluid = {"viscosity_cp": "1.8", "density_kg_m3": "870", "surface_tension_mn_m": "24"}
        fluid[prop] = f"{typed.replace('.', ',')} {unit}"  # decimal comma and the unit in the field; select left alone
        data = {**fluid, "step": "results", "pressure_bar": "5", "dv50_um": "40", "name": f"Typed {n}"}
        response = client.post(f"/t/{t.tenant.slug}/configurations", data=data)
        assert response.status_code == 303, (prop, unit, response.get_data(as_text=True)[:1500])
        saved = next(c for c in rows(t.tenant, Configuration) if c.name == f"Typed {n}")
        assert getattr(saved, COLUMN[prop]) == pytest.approx(expected, rel=1e-9), (prop, unit)


def test_the_issue_examples_0998_g_cm3_and_12_cst_are_stored_as_998_kg_m3_and_11976_cp(
    db, client, login, team, seeded_catalog, rows
):
    t = team()
    login(t.user)
    fluid = {"viscosity_cp": "12 cSt", "density_kg_m3": "0,998 g/cm3", "surface_tension_mn_m": "72"}
    targets = client.get(_new(t, step="targets", **fluid)).get_data(as_text=True)
    assert "11.98 cP, 998 kg/m³" in targets  # the summary the person reads before ranking
    data = {**fluid, "step": "results", "pressure_bar": "5", "dv50_um": "40", "name": "Issue example"}
    response = client.post(f"/t/{t.tenant.slug}/configurations", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)[-3000:]
    saved = next(c for c in rows(t.tenant, Configuration) if c.name == "Issue example")
    assert saved.fluid_density_kg_m3 == pytest.approx(998.0) and saved.fluid_viscosity_cP == pytest.approx(11.976)
    # The edit form reads them the same way.
    edit = f"/t/{t.tenant.slug}/configurations/{saved.id}/edit"
    from tests.configurations.test_ranking_on_save import form_fields

    fields = form_fields(client.get(edit).get_data(as_text=True), "edit-form")
    fields.update({"fluid_density_kg_m3": "1,2 g/cm3", "fluid_viscosity_cP": "10 cSt"})
    assert client.post(edit, data=fields).status_code == 303
    db.session.expire_all()
    again = next(c for c in rows(t.tenant, Configuration) if c.name == "Issue example")
    assert again.fluid_density_kg_m3 == pytest.approx(1200.0) and again.fluid_viscosity_cP == pytest.approx(12.0)


def test_a_flashing_propellant_shows_no_single_droplet_size_and_says_why(client, login, team, seeded_catalog, db):
    t = team()
    login(t.user)
    params = {"viscosity_cp": "1", "density_kg_m3": "560", "surface_tension_mn_m": "12",
              "vapour_pressure_kpa": "250", "liquefied": "1", "step": "results", "pressure_bar": "5",
              "cone_deg": "60"}  # fmt: skip
    page = client.get(_new(t, **params)).get_data(as_text=True)
    skus = _rows(page)
    assert skus, re.sub(r"\s+", " ", page[page.find('id="wizard-results"') :][:1500])
    for sku in skus:
        dv50 = _row_html(page, sku).split('data-quantity="dv50_um"')[1].split("</td>")[0]
        assert '<span class="value">—</span>' in dv50 and '<span class="method">not modelled</span>' in dv50
        assert "range" not in dv50  # no band for a value the engine does not give
        assert "Regime: fully flashing" in _row_html(page, sku)
    assert 'figure class="distribution"' not in page
    assert f"No droplet-size distribution for {skus[0]}: the engine gives no single Dv50 for it (fully flashing" in page


# ---- sample catalog


def test_a_ranking_over_the_sample_catalog_says_its_makers_figures_are_generated(
    client, login, team, seeded_catalog, db
):
    from sqlalchemy import update

    from aerospec.catalog.models import Actuator

    t = team()
    login(t.user)
    params = {**WATER, "step": "results", "pressure_bar": "5", "cone_deg": "60"}
    notice = "they are not Spencer's or Coster's measurements"
    page = " ".join(client.get(_new(t, **params)).get_data(as_text=True).split())
    assert _rows(page) and notice in page and "Sample catalog data." in page
    # A catalog of real rows (a supplier's CSV marks them is_sample_data=false) carries no such notice.
    db.session.execute(update(Actuator).values(is_sample_data=False))
    db.session.commit()
    page = " ".join(client.get(_new(t, **params)).get_data(as_text=True).split())
    assert _rows(page) and notice not in page and "Sample catalog data." not in page


def test_an_aerosol_actuators_valve_restrictions_are_said_in_its_row(client, login, team, seeded_catalog, db):
    t = team()
    login(t.user)
    params = {**WATER, "step": "results", "pressure_bar": "5", "family": "aerosol_actuator"}
    page = client.get(_new(t, **params)).get_data(as_text=True)
    expected = _results(db, params, family="aerosol_actuator")
    assert expected.entries
    for e in expected.entries:  # every sample aerosol SKU has a stem and a housing orifice
        said = [w for w in e["warnings"] if w.startswith("Valve restrictions in series")]
        assert len(said) == 1, e["sku"]
        left = float(re.search(r"of the 5\.00 bar, ([0-9.]+) bar is left", said[0]).group(1))
        assert 0 < left < 5.0
        assert f"<li>{_esc(said[0])}</li>" in _row_html(page, e["sku"])
        assert e["method"]["flow_ml_min"] != "family_calibrated"  # never called validated through a valve
