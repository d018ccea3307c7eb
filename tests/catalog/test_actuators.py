"""The sample actuator catalog: generator, seeding, browse page, engine column arrays."""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal

import numpy as np
import pytest
from sqlalchemy import func, select

from aerospec.catalog import seed
from aerospec.catalog import services as catalog
from aerospec.catalog.models import Actuator
from aerospec.engine.types import SPRAY_TYPES, Catalog
from tests.catalog import makers


def test_generator_is_deterministic():
    first, second = seed.generate_actuators(), seed.generate_actuators()
    assert [r["sku"] for r in first] == [r["sku"] for r in second]
    assert first == second
    assert seed.generate_actuators(seed=1) != first  # the seed, not luck, fixes the values


def test_generator_makes_at_least_500_unique_skus_over_both_suppliers_and_every_spray_type():
    rows = seed.generate_actuators()
    assert len(rows) >= 500
    assert len({(r["supplier"], r["sku"]) for r in rows}) == len(rows)
    counts = Counter((r["supplier"], r["spray_type"]) for r in rows)
    for supplier in ("spencer", "coster"):
        for spray_type in SPRAY_TYPES:
            assert counts[(supplier, spray_type)] >= 20


def test_generated_values_lie_in_realistic_ranges():
    for r in seed.generate_actuators():
        assert r["is_sample_data"] is True
        assert 0.15 <= r["orifice_mm"] <= 1.5
        assert 3 <= r["max_pressure_bar"] <= 20
        assert 0 < r["min_viscosity_cp"] < r["max_viscosity_cp"] <= 2000
        assert r["body_material"] in seed.BODY_MATERIALS and r["seal_material"] in seed.SEAL_MATERIALS
        assert Decimal("0.01") <= r["unit_price"] <= Decimal("100") and r["currency"] == "USD"
        assert r["stock"] >= 0 and 1 <= r["lead_time_days"] <= 90
        if r["spray_type"] == "plain_orifice":
            assert r["swirl_chamber_mm"] is None and r["inlet_area_mm2"] is None
        else:
            assert 1.9 <= r["swirl_chamber_mm"] / r["orifice_mm"] <= 4.1
            k = r["inlet_area_mm2"] / (r["swirl_chamber_mm"] * r["orifice_mm"])
            assert 0.09 <= k <= 1.01
        if r["orifice_mm"] < 0.5 and r["spray_type"] != "plain_orifice":
            assert r["max_viscosity_cp"] <= 20  # fine swirl passages take thin liquids only


def test_aerosol_mbu_inserts_are_small_cheap_and_rated_for_can_pressure():
    mbu = [r for r in seed.generate_actuators() if "MBU" in r["sku"] or "-MB-" in r["sku"]]
    assert mbu
    for r in mbu:
        assert 0.20 <= r["orifice_mm"] <= 0.60
        assert r["max_pressure_bar"] in (10.0, 12.0)
        assert r["spray_type"] == "hollow_cone"


def test_sku_formats_differ_by_supplier():
    for r in seed.generate_actuators():
        if r["supplier"] == "spencer":
            assert re.fullmatch(r"SP-[A-Z]{2}-\d{4}-[A-Z]{2}(-\d+)?", r["sku"]), r["sku"]
        else:
            assert re.fullmatch(r"CV\.[A-Z]{3}\.\d{3}\.\d{2}[A-Z]?", r["sku"]), r["sku"]


def test_seeding_actuators_is_idempotent(db):
    created, updated = catalog.seed_actuators(db.session)
    assert created == len(seed.generate_actuators()) and updated == 0
    assert catalog.seed_actuators(db.session) == (0, 0)
    assert db.session.scalar(select(func.count()).select_from(Actuator)) == created


def test_seed_actuators_command_reports_sample_data(app, db):
    result = app.test_cli_runner().invoke(args=["catalog", "seed-actuators"])
    assert result.exit_code == 0, result.output
    assert "sample rows" in result.output


# ---- actuator_catalog


def test_actuator_catalog_arrays_match_the_rows(db):
    catalog.seed_actuators(db.session)
    cat, ids = catalog.actuator_catalog(db.session)
    assert isinstance(cat, Catalog)
    rows = {a.id: a for a in db.session.scalars(select(Actuator))}
    assert len(cat) == len(ids) == len(rows)
    for i in (0, 1, 137, len(ids) - 1):
        a = rows[ids[i]]
        assert cat.sku[i] == a.sku and cat.supplier[i] == a.supplier and cat.spray_type[i] == a.spray_type
        assert cat.orifice_mm[i] == a.orifice_mm and cat.max_pressure_bar[i] == a.max_pressure_bar
        assert cat.min_viscosity_cp[i] == a.min_viscosity_cp and cat.max_viscosity_cp[i] == a.max_viscosity_cp
        assert cat.unit_price[i] == pytest.approx(float(a.unit_price))
        assert cat.lead_time_days[i] == a.lead_time_days
        assert cat.body_material[i] == a.body_material and cat.seal_material[i] == a.seal_material
    plain = cat.spray_type == "plain_orifice"
    assert np.isnan(cat.swirl_chamber_mm[plain]).all() and np.isnan(cat.inlet_area_mm2[plain]).all()
    assert not np.isnan(cat.swirl_chamber_mm[~plain]).any()
    assert cat.orifice_mm.dtype == float and cat.lead_time_days.dtype.kind == "i"


def test_actuator_catalog_is_cached_until_the_catalog_changes(db):
    catalog.seed_actuators(db.session)
    first = catalog.actuator_catalog(db.session)
    assert catalog.actuator_catalog(db.session) is first
    added = makers.actuator(sku="SP-NEW-0001", unit_price=Decimal("9.99"))
    second = catalog.actuator_catalog(db.session)
    assert second is not first and len(second.catalog) == len(first.catalog) + 1
    assert added.id in second.ids
    # An edit that keeps the count still refreshes (updated_at moves).
    added.max_pressure_bar = 3.0
    db.session.flush()
    third = catalog.actuator_catalog(db.session)
    assert third is not second
    assert third.catalog.max_pressure_bar[third.ids.index(added.id)] == 3.0


def test_actuator_catalog_of_an_empty_catalog_is_empty_arrays(db):
    cat, ids = catalog.actuator_catalog(db.session)
    assert len(cat) == 0 and ids == []


# ---- browse page


@pytest.fixture
def browse(db, factories, login):
    tenant = factories.TenantFactory()
    viewer = factories.member(tenant, "viewer")
    catalog.seed_actuators(db.session)
    db.session.commit()
    login(viewer)
    return tenant


def _skus(html: str) -> list[str]:
    return re.findall(r'class="sku">([^<]+)<', html)


def test_any_member_browses_the_catalog_labelled_as_sample_data(client, browse, tenant_url):
    response = client.get(tenant_url(browse, "actuators"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Sample catalog data" in html and "Last synced" in html and "never" in html
    assert len(_skus(html)) == 25
    assert " mm</td>" in html and " bar</td>" in html and " cP</td>" in html and " USD</td>" in html


def test_filters_narrow_the_results(client, browse, tenant_url, db):
    query = (
        "actuators?supplier=coster&spray_type=hollow_cone&orifice_min=0,3&orifice_max=0.5"
        "&pressure_min=10&viscosity=15&material=POM&in_stock=1"
    )
    html = client.get(tenant_url(browse, query)).get_data(as_text=True)
    expected = db.session.scalars(
        select(Actuator).where(
            Actuator.supplier == "coster", Actuator.spray_type == "hollow_cone",
            Actuator.orifice_mm >= 0.3, Actuator.orifice_mm <= 0.5, Actuator.max_pressure_bar >= 10,
            Actuator.min_viscosity_cp <= 15, Actuator.max_viscosity_cp >= 15,
            Actuator.body_material == "POM", Actuator.stock > 0,
        )
    ).all()  # fmt: skip
    assert 0 < len(expected) <= 25
    assert sorted(_skus(html)) == sorted(a.sku for a in expected)
    assert f"{len(expected)} actuator" in html


def test_sort_by_price_orders_the_page(client, browse, tenant_url, db):
    html = client.get(tenant_url(browse, "actuators?sort=price&supplier=spencer")).get_data(as_text=True)
    prices = [db.session.scalar(select(Actuator.unit_price).where(Actuator.sku == s)) for s in _skus(html)]
    assert prices == sorted(prices)
    html = client.get(tenant_url(browse, "actuators?sort=pressure")).get_data(as_text=True)
    pressures = [db.session.scalar(select(Actuator.max_pressure_bar).where(Actuator.sku == s)) for s in _skus(html)]
    assert pressures == sorted(pressures, reverse=True)


def test_pagination_pages_through_without_overlap_and_htmx_gets_the_results_block(client, browse, tenant_url):
    first = client.get(tenant_url(browse, "actuators?spray_type=full_cone")).get_data(as_text=True)
    assert "page 1 of" in first and 'rel="next"' in first
    next_link = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    assert "spray_type=full_cone" in next_link and "page=2" in next_link
    second = client.get(next_link, headers={"HX-Request": "true"})
    html = second.get_data(as_text=True)
    assert "<html" not in html and html.strip().startswith('<div id="actuator-results">')
    assert "HX-Request" in second.headers.get("Vary", "")
    assert set(_skus(first)).isdisjoint(_skus(html))


def test_bad_filter_numbers_get_a_message_and_no_crash(client, browse, tenant_url):
    html = client.get(tenant_url(browse, "actuators?orifice_min=abc&orifice_max=0.2&pressure_min=-3")).get_data(
        as_text=True
    )
    assert "Orifice from: &#39;abc&#39; is not a number." in html
    assert "Max pressure at least: Enter a positive number." in html
    assert 'value="abc"' in html


def test_no_match_empty_state_says_what_to_widen(client, browse, tenant_url):
    html = client.get(tenant_url(browse, "actuators?orifice_min=1.5&spray_type=hollow_cone&material=PP")).get_data(
        as_text=True
    )
    assert "No actuator matches these filters" in html and "Widen" in html


def test_actuator_detail_shows_geometry_with_units(client, browse, tenant_url, db):
    a = db.session.scalar(select(Actuator).where(Actuator.spray_type == "hollow_cone").limit(1))
    html = client.get(tenant_url(browse, f"actuators/{a.id}")).get_data(as_text=True)
    assert a.sku in html and f"{a.orifice_mm:.2f} mm" in html and "mm²" in html and "bar" in html
    assert "Sample catalog data" in html and "Atomiser constant K" in html


def test_unknown_actuator_is_404(client, browse, tenant_url):
    import uuid

    assert client.get(tenant_url(browse, f"actuators/{uuid.uuid4()}")).status_code == 404


def test_empty_catalog_explains_how_to_load_it(client, factories, login, tenant_url, db):
    tenant = factories.TenantFactory()
    login(factories.member(tenant, "user"))
    html = client.get(tenant_url(tenant, "actuators")).get_data(as_text=True)
    assert "The actuator catalog is empty" in html and "seed-actuators" in html
