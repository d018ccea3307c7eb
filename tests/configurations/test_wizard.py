"""The wizard: full page and fragment, no-JS path, empty state, plot, save as configuration."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from aerospec.catalog import units
from aerospec.configurations import wizard
from aerospec.configurations.models import Configuration
from tests.catalog.test_fluid_units import CASES as FLUID_FORM_CASES

WATER = {"viscosity_cp": "1", "density_kg_m3": "997", "surface_tension_mn_m": "72", "fluid_name": "Water"}


def _new(t, **params):
    return f"/t/{t.tenant.slug}/configurations/new?{urlencode(params)}"


def test_step_one_lists_library_fluids_and_searches(client, login, team, seeded_catalog):
    t = team()
    login(t.user)
    page = client.get(_new(t)).get_data(as_text=True)
    assert "Pick a fluid" in page and "Ethanol" in page
    fragment = client.get(_new(t, step="fluid", q="ethan"), headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and "Ethanol" in fragment and "Glycerol" not in fragment


def test_typed_fluid_with_bad_values_stays_on_step_one_with_messages(client, login, team):
    t = team()
    login(t.user)
    page = client.get(_new(t, step="targets", viscosity_cp="abc", density_kg_m3="-5", surface_tension_mn_m="72"))
    html = page.get_data(as_text=True)
    assert "enter a number" in html and "must be greater than 0" in html and 'value="abc"' in html


def test_results_full_page_without_javascript_and_fragment(client, login, team, seeded_catalog):
    t = team()
    login(t.user)
    params = {**WATER, "step": "results", "pressure_bar": "5", "cone_deg": "60", "cone_tol": "30"}
    full = client.get(_new(t, **params))
    html = full.get_data(as_text=True)
    assert full.status_code == 200 and "<html" in html and "Ranked actuators" in html
    assert "<svg" in html and "Volume below (%)" in html  # plot and its table fallback
    assert "within tolerance" in html
    fragment = client.get(_new(t, **params), headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and body.lstrip().startswith('<section id="wizard-results"')
    assert "HX-Request" in fragment.headers["Vary"]
    assert "style=" not in html and "<script>" not in html


def test_selected_actuator_is_a_query_parameter(client, login, team, seeded_catalog):
    t = team()
    login(t.user)
    params = {**WATER, "step": "results", "pressure_bar": "5"}
    html = client.get(_new(t, **params)).get_data(as_text=True)
    import re

    skus = re.findall(r'<tr data-sku="([^"]+)"', html)
    second = skus[1]
    chosen = client.get(_new(t, **params, selected=second), headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f"Droplet-size distribution of {second}" in chosen


def test_missing_or_zero_pressure_gives_a_message(client, login, team, seeded_catalog):
    t = team()
    login(t.user)
    html = client.get(_new(t, **WATER, step="results", pressure_bar="0")).get_data(as_text=True)
    assert "must be greater than 0" in html and 'value="0"' in html
    html = client.get(_new(t, **WATER, step="results")).get_data(as_text=True)
    assert "is required" in html


def test_empty_state_names_the_constraint_and_the_nearest_miss(client, login, team, seeded_catalog):
    t = team()
    login(t.user)
    html = client.get(_new(t, **WATER, step="results", pressure_bar="900")).get_data(as_text=True)
    assert "No actuator meets every target" in html and "pressure" in html
    html = client.get(_new(t, **WATER, step="results", pressure_bar="5", dv50_um="1", dv50_tol="0.1")).get_data(
        as_text=True
    )
    assert "No actuator meets every target" in html and "closest Dv50" in html


def test_save_as_configuration_keeps_the_top_ranked_actuators(db, client, login, team, seeded_catalog, rows):
    t = team()
    login(t.user)
    data = {**WATER, "step": "results", "pressure_bar": "5", "cone_deg": "60", "name": "", "tags": "pilot"}
    bad = client.post(f"/t/{t.tenant.slug}/configurations", data=data, headers={"HX-Request": "true"})
    assert bad.status_code == 422 and "Give the configuration a name" in bad.get_data(as_text=True)
    data["name"] = "Water at 5 bar"
    ok = client.post(f"/t/{t.tenant.slug}/configurations", data=data, headers={"HX-Request": "true"})
    assert ok.status_code == 200 and "/configurations/" in ok.headers["HX-Redirect"]
    (config,) = rows(t.tenant, Configuration)
    assert config.name == "Water at 5 bar" and config.tags == ["pilot"] and config.fluid_name == "Water"
    assert 1 <= len(config.compatible_actuators) <= 10 and config.compatible_actuators[0]["sku"]
    assert config.target_spray_cone_deg == 60 and config.max_pressure_bar == 5


def test_saving_past_the_monthly_limit_names_the_billing_page_and_links_it_for_admins(
    client, login, team, seeded_catalog, rows
):
    t = team(limits={"configurations_per_month": 0})
    data = {**WATER, "step": "results", "pressure_bar": "5", "cone_deg": "60", "name": "One too many"}
    billing = f'href="/t/{t.tenant.slug}/billing"'
    login(t.admin)
    refused = client.post(f"/t/{t.tenant.slug}/configurations", data=data, headers={"HX-Request": "true"})
    assert refused.status_code == 402
    assert "billing page" in refused.get_data(as_text=True) and billing in refused.get_data(as_text=True)
    login(t.user)  # may save, may not buy: told to ask an admin, no link
    refused = client.post(f"/t/{t.tenant.slug}/configurations", data=data, headers={"HX-Request": "true"})
    assert refused.status_code == 402 and "Ask a workspace admin" in refused.get_data(as_text=True)
    assert billing not in refused.get_data(as_text=True)
    assert rows(t.tenant, Configuration) == []


def test_viewer_can_explore_but_not_save(client, login, team, seeded_catalog):
    t = team()
    login(t.viewer)
    html = client.get(_new(t, **WATER, step="results", pressure_bar="5")).get_data(as_text=True)
    assert "Viewers can explore" in html
    response = client.post(f"/t/{t.tenant.slug}/configurations", data={**WATER, "pressure_bar": "5", "name": "x"})
    assert response.status_code == 403


# The fluid form's cases, for the properties the wizard asks for (reference figures in test_fluid_units.py).
WIZARD_UNIT_CASES = [c for c in FLUID_FORM_CASES if c[0] != "boiling_point_c"]


def test_the_typed_in_fluid_takes_every_unit_the_fluid_form_takes(db, client, login, team, seeded_catalog, rows):
    """The wizard's typed-in fluid took only cP, kg/m³, mN/m, °C and kPa; now every unit, via units.to_stored."""
    offered = {(prop, unit) for prop in wizard.FLUID_PARAMS for unit, _ in units.UNIT_CHOICES[prop]}
    assert {(c[0], c[1]) for c in WIZARD_UNIT_CASES} == offered
    t = team()
    login(t.user)
    column = {"viscosity_cp": "fluid_viscosity_cP", "density_kg_m3": "fluid_density_kg_m3",
              "surface_tension_mn_m": "fluid_surface_tension_mN_m", "flash_point_c": "fluid_flash_point_C",
              "vapour_pressure_kpa": "fluid_vapour_pressure_kPa"}  # fmt: skip
    for n, (prop, unit, typed, expected, _shown) in enumerate(WIZARD_UNIT_CASES):
        fluid = {"viscosity_cp": "1.8", "density_kg_m3": "870", "surface_tension_mn_m": "24", prop: typed}
        data = {**fluid, f"{prop}_unit": unit, "step": "results", "pressure_bar": "5", "dv50_um": "40"}
        response = client.post(f"/t/{t.tenant.slug}/configurations", data={**data, "name": f"Unit {n}"})
        assert response.status_code == 303, (prop, unit, response.get_data(as_text=True)[:2000])
        saved = next(c for c in rows(t.tenant, Configuration) if c.name == f"Unit {n}")
        assert getattr(saved, column[prop]) == pytest.approx(expected, rel=1e-9), (prop, unit)
    # A unit typed after the number wins; an unknown one is said at the field, with what was typed.
    page = client.get(_new(t, step="targets", **{**WATER, "density_kg_m3": "0,997 g/cm3"})).get_data(as_text=True)
    assert "997 kg/m³" in page
    bad = client.get(_new(t, step="targets", **{**WATER, "viscosity_cp": "1", "viscosity_cp_unit": "furlong"}))
    html = bad.get_data(as_text=True)
    assert "Viscosity: unknown unit &#39;furlong&#39;" in html and "Pick a fluid" in html
