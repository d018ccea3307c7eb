"""Fluid pages: list, detail with sources, create/edit/delete own fluids by role, tenant walls."""

from __future__ import annotations

import pytest

from aerospec.catalog import services as catalog
from aerospec.catalog.models import Fluid, TenantFluid
from tests.catalog import makers

GOOD = {
    "name": "Hair spray base",
    "category": "blend",
    "viscosity_cp": "1,8",
    "viscosity_cp_unit": "mPa·s",
    "density_kg_m3": "0,87",
    "density_kg_m3_unit": "g/cm³",
    "surface_tension_mn_m": "24",
    "surface_tension_mn_m_unit": "dyn/cm",
    "flash_point_c": "55",
    "flash_point_c_unit": "°F",
    "vapour_pressure_kpa": "",
    "vapour_pressure_kpa_unit": "kPa",
    "boiling_point_c": "",
    "boiling_point_c_unit": "°C",
    "notes": "measured in our lab",
}


@pytest.fixture
def workspace(db, factories):
    tenant = factories.TenantFactory()
    users = {role: factories.member(tenant, role) for role in ("admin", "user", "viewer")}
    catalog.seed_fluids(db.session)
    db.session.commit()
    return tenant, users


@pytest.mark.parametrize("role", ["admin", "user"])
def test_admin_and_user_create_a_fluid_with_units_converted(client, login, workspace, rows, tenant_url, role):
    tenant, users = workspace
    login(users[role])
    response = client.post(tenant_url(tenant, "fluids/new"), data=GOOD)
    assert response.status_code == 303
    [fluid] = rows(tenant, TenantFluid)
    assert response.headers["Location"].endswith(f"/fluids/{fluid.id}")
    assert fluid.viscosity_cp == pytest.approx(1.8)
    assert fluid.density_kg_m3 == pytest.approx(870.0)
    assert fluid.surface_tension_mn_m == pytest.approx(24.0)
    assert fluid.flash_point_c == pytest.approx(12.78, abs=0.01)
    assert fluid.vapour_pressure_kpa is None
    assert fluid.created_by_id == users[role].id
    assert fluid.sources["viscosity_cp"] == "entered by the user as 1.8 mPa·s"
    assert fluid.sources["flash_point_c"] == "entered by the user as 55 °F"


def test_viewer_cannot_create_edit_or_delete_fluids(client, login, workspace, rows, tenant_url):
    tenant, users = workspace
    own = makers.tenant_fluid(tenant)
    own_id, own_name = own.id, own.name  # read now: after a commit, RLS hides it outside the tenant
    login(users["viewer"])
    assert client.get(tenant_url(tenant, "fluids/new")).status_code == 403
    assert client.post(tenant_url(tenant, "fluids/new"), data=GOOD).status_code == 403
    assert client.post(tenant_url(tenant, f"fluids/{own_id}/edit"), data=GOOD).status_code == 403
    assert client.post(tenant_url(tenant, f"fluids/{own_id}/delete")).status_code == 403
    assert [f.name for f in rows(tenant, TenantFluid)] == [own_name]
    # ...but reads them.
    assert client.get(tenant_url(tenant, f"fluids/{own_id}")).status_code == 200
    page = client.get(tenant_url(tenant, "fluids")).get_data(as_text=True)
    assert own_name in page and "Add a fluid" not in page


def test_out_of_range_and_unreadable_values_get_field_messages_and_keep_input(
    client, login, workspace, rows, tenant_url
):
    tenant, users = workspace
    login(users["user"])
    data = {**GOOD, "viscosity_cp": "250000", "density_kg_m3": "abc", "surface_tension_mn_m": "1 furlong"}
    response = client.post(tenant_url(tenant, "fluids/new"), data=data, headers={"HX-Request": "true"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "<html" not in html  # the form fragment only
    assert "Viscosity must be between 0.05 and 100,000 cP (got 250,000 cP)" in html
    assert "&#39;abc&#39; does not start with a number" in html or "'abc' does not start with a number" in html
    assert "Unknown unit &#39;furlong&#39;; use one of mN/m" in html
    assert 'value="250000"' in html and 'value="abc"' in html and 'value="Hair spray base"' in html
    assert rows(tenant, TenantFluid) == []


def test_missing_required_property_and_name_are_reported(client, login, workspace, tenant_url):
    tenant, users = workspace
    login(users["admin"])
    data = {**GOOD, "name": "", "surface_tension_mn_m": ""}
    html = client.post(tenant_url(tenant, "fluids/new"), data=data).get_data(as_text=True)
    assert "Give the fluid a name." in html
    assert "Surface tension is required." in html


def test_kinematic_viscosity_is_converted_with_the_density_entered(client, login, workspace, rows, tenant_url):
    tenant, users = workspace
    login(users["user"])
    data = {
        **GOOD,
        "viscosity_cp": "10",
        "viscosity_cp_unit": "cSt",
        "density_kg_m3": "0.96",
        "density_kg_m3_unit": "relative",
    }
    assert client.post(tenant_url(tenant, "fluids/new"), data=data).status_code == 303
    [fluid] = rows(tenant, TenantFluid)
    assert fluid.viscosity_cp == pytest.approx(10 * 0.96 * 997 / 1000)


def test_unit_typed_after_the_number_wins_over_the_select(client, login, workspace, rows, tenant_url):
    tenant, users = workspace
    login(users["user"])
    data = {**GOOD, "density_kg_m3": "0,998 g/cm3", "density_kg_m3_unit": "kg/m³"}
    assert client.post(tenant_url(tenant, "fluids/new"), data=data).status_code == 303
    assert rows(tenant, TenantFluid)[0].density_kg_m3 == pytest.approx(998.0)


def test_user_edits_own_fluid_and_changed_values_are_marked_as_entered(client, login, workspace, rows, tenant_url, db):
    tenant, users = workspace
    fluid_id = makers.tenant_fluid(tenant, sources={"viscosity_cp": "from SDS page 3"}, viscosity_cp=1.8).id
    db.session.commit()
    login(users["user"])
    form = client.get(tenant_url(tenant, f"fluids/{fluid_id}/edit")).get_data(as_text=True)
    assert 'value="1.8"' in form
    data = {
        **GOOD,
        "name": "Renamed",
        "viscosity_cp": "1.8",
        "density_kg_m3": "1200",
        "density_kg_m3_unit": "kg/m³",
    }
    assert client.post(tenant_url(tenant, f"fluids/{fluid_id}/edit"), data=data).status_code == 303
    [saved] = rows(tenant, TenantFluid)
    assert saved.name == "Renamed" and saved.density_kg_m3 == 1200.0
    assert saved.sources["viscosity_cp"] == "from SDS page 3"  # unchanged value keeps its source
    assert saved.sources["density_kg_m3"] == "entered by the user as 1200 kg/m³"


def test_delete_asks_for_confirmation_then_deletes(client, login, workspace, rows, tenant_url, db):
    tenant, users = workspace
    fluid_id = makers.tenant_fluid(tenant, name="Old blend").id
    db.session.commit()
    login(users["admin"])
    confirm = client.get(tenant_url(tenant, f"fluids/{fluid_id}/delete"))
    assert confirm.status_code == 200
    assert "Delete “Old blend”?" in confirm.get_data(as_text=True)
    assert rows(tenant, TenantFluid) != []
    response = client.post(tenant_url(tenant, f"fluids/{fluid_id}/delete"))
    assert response.status_code == 303
    assert rows(tenant, TenantFluid) == []


def test_library_fluids_cannot_be_edited_or_deleted_but_can_be_copied(client, login, workspace, tenant_url, db):
    tenant, users = workspace
    from sqlalchemy import select

    water = db.session.scalar(select(Fluid).where(Fluid.name == "Water"))
    login(users["admin"])
    assert client.get(tenant_url(tenant, f"fluids/{water.id}/edit")).status_code == 404
    assert client.post(tenant_url(tenant, f"fluids/{water.id}/delete")).status_code == 404
    copy = client.get(tenant_url(tenant, f"fluids/new?from={water.id}")).get_data(as_text=True)
    assert 'value="Water (copy)"' in copy and 'value="0.890' in copy


def test_another_tenants_fluid_is_404_everywhere(client, login, workspace, factories, tenant_url, db, rows):
    tenant, users = workspace
    other = factories.TenantFactory()
    theirs = makers.tenant_fluid(other, name="Secret formula").id
    db.session.commit()
    login(users["admin"])
    for path in (f"fluids/{theirs}", f"fluids/{theirs}/edit", f"fluids/{theirs}/delete"):
        assert client.get(tenant_url(tenant, path)).status_code == 404, path
    assert client.post(tenant_url(tenant, f"fluids/{theirs}/delete")).status_code == 404
    assert client.post(tenant_url(tenant, f"fluids/{theirs}/edit"), data=GOOD).status_code == 404
    assert "Secret formula" not in client.get(tenant_url(tenant, "fluids?q=secret")).get_data(as_text=True)
    assert [f.name for f in rows(other, TenantFluid)] == ["Secret formula"]


def test_get_fluid_service_finds_library_and_own_but_not_another_tenants(db, workspace, factories):
    from aerospec.errors import NotFound
    from aerospec.tenancy.scoping import tenant_scope

    tenant, _ = workspace
    other = factories.TenantFactory()
    mine, theirs = makers.tenant_fluid(tenant), makers.tenant_fluid(other)
    with tenant_scope(db.session, tenant.id):
        assert catalog.get_fluid(db.session, tenant, mine.id) is mine
        library_ids = [f.id for f in catalog.list_fluids(db.session, tenant) if isinstance(f, Fluid)]
        assert catalog.get_fluid(db.session, tenant, library_ids[0]).id == library_ids[0]
        with pytest.raises(NotFound):
            catalog.get_fluid(db.session, tenant, theirs.id)
        with pytest.raises(NotFound):
            catalog.get_fluid(db.session, tenant, "not-a-uuid")


def test_list_shows_own_fluids_first_and_filters_by_search_and_category(client, login, workspace, tenant_url, db):
    tenant, users = workspace
    makers.tenant_fluid(
        tenant,
        name="Zeta custom",
        category="propellant",
        vapour_pressure_kpa=300.0,
        liquefied_propellant=True,
    )
    db.session.commit()
    login(users["viewer"])
    page = client.get(tenant_url(tenant, "fluids")).get_data(as_text=True)
    assert page.index("Zeta custom") < page.index("Acetone")
    assert "Yours" in page and "Library" in page
    propellants = client.get(tenant_url(tenant, "fluids?category=propellant")).get_data(as_text=True)
    assert "Propane (A-108)" in propellants and "Zeta custom" in propellants and "Acetone" not in propellants
    search = client.get(tenant_url(tenant, "fluids?q=glycerol"), headers={"HX-Request": "true"})
    html = search.get_data(as_text=True)
    assert "<html" not in html and 'id="fluid-results"' in html
    assert "Glycerol/water 50/50 wt%" in html and "Acetone" not in html
    assert "HX-Request" in search.headers.get("Vary", "")
    empty = client.get(tenant_url(tenant, "fluids?q=unobtainium")).get_data(as_text=True)
    assert "No fluid matches" in empty


def test_fluid_list_paginates(client, login, workspace, tenant_url):
    tenant, users = workspace
    login(users["user"])
    first = client.get(tenant_url(tenant, "fluids")).get_data(as_text=True)
    assert "page 1 of 2" in first and 'rel="next"' in first
    second = client.get(tenant_url(tenant, "fluids?page=2")).get_data(as_text=True)
    assert "page 2 of 2" in second and 'rel="prev"' in second


def test_detail_shows_each_value_with_unit_and_source(client, login, workspace, tenant_url, db):
    from sqlalchemy import select

    tenant, users = workspace
    ethanol = db.session.scalar(select(Fluid).where(Fluid.name == "Ethanol"))
    login(users["viewer"])
    html = client.get(tenant_url(tenant, f"fluids/{ethanol.id}")).get_data(as_text=True)
    assert "1.083 cP" in html and "785.2 kg/m³" in html and "mN/m" in html and "12 °C" in html
    assert "computed with thermo 0.6.1 (method" in html
    assert "Copy to my fluids" not in html  # viewers do not create


SDS_LINK = "Read from a safety data sheet"


def _sds_href(page: str, tenant) -> bool:
    return f'href="/t/{tenant.slug}/fluids/sds/new"' in page


@pytest.mark.parametrize("role", ["admin", "user"])
def test_fluid_list_new_fluid_form_and_wizard_link_to_the_sds_upload(client, login, workspace, tenant_url, role):
    tenant, users = workspace
    login(users[role])
    listing = client.get(tenant_url(tenant, "fluids")).get_data(as_text=True)
    assert SDS_LINK in listing and _sds_href(listing, tenant)
    new = client.get(tenant_url(tenant, "fluids/new")).get_data(as_text=True)
    assert "Have the supplier's safety data sheet?" in new and _sds_href(new, tenant)
    wizard = client.get(tenant_url(tenant, "configurations/new")).get_data(as_text=True)
    assert "read it from its safety data sheet" in wizard and _sds_href(wizard, tenant)
    # The link leads to the upload page, not to a refusal.
    upload_page = client.get(tenant_url(tenant, "fluids/sds/new"))
    assert upload_page.status_code == 200
    assert "Read a fluid from its safety data sheet" in upload_page.get_data(as_text=True)


def test_edit_form_does_not_offer_the_sds_upload(client, login, workspace, tenant_url, db):
    tenant, users = workspace
    fluid_id = makers.tenant_fluid(tenant).id
    db.session.commit()
    login(users["user"])
    page = client.get(tenant_url(tenant, f"fluids/{fluid_id}/edit")).get_data(as_text=True)
    assert not _sds_href(page, tenant)


def test_viewer_is_not_linked_to_the_sds_upload_they_may_not_use(client, login, workspace, tenant_url):
    tenant, users = workspace
    login(users["viewer"])
    for path in ("fluids", "configurations/new"):
        page = client.get(tenant_url(tenant, path)).get_data(as_text=True)
        assert not _sds_href(page, tenant), path
    assert client.get(tenant_url(tenant, "fluids/sds/new")).status_code == 403


def test_a_workspace_without_sds_parsing_is_not_linked_to_it(client, login, factories, tenant_url, db):
    tenant = factories.TenantFactory(features={"msds_parsing": False})
    admin = factories.member(tenant, "admin")
    db.session.commit()
    login(admin)
    for path in ("fluids", "fluids/new", "configurations/new"):
        page = client.get(tenant_url(tenant, path)).get_data(as_text=True)
        assert not _sds_href(page, tenant), path
    assert client.get(tenant_url(tenant, "fluids/sds/new")).status_code == 402
