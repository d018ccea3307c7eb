"""Configuration and fluid events in the audit log (issue 9, item 15): one entry per event with
its field-level change, and a page that names people and objects instead of showing ids."""

from __future__ import annotations

import re
import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import event

from aerospec.catalog.models import TenantFluid
from aerospec.compliance import services as audit
from aerospec.compliance.models import AuditLog
from aerospec.configurations.models import Configuration
from aerospec.tenancy.scoping import tenant_scope
from tests.catalog import sds_pdfs
from tests.catalog.test_sds_views import review_data, upload
from tests.compliance.test_audit_log import entries
from tests.configurations.test_ranking_on_save import form_fields

HX = {"HX-Request": "true"}


@pytest.fixture
def crew(team, db, factories):
    """A team (admin, user, viewer) plus `other`, a second user, with names that read well."""
    ns = team(plan="starter")
    ns.other = factories.member(ns.tenant, "user", name="Olga Other", email=f"olga-{uuid.uuid4().hex[:6]}@example.com")
    db.session.commit()
    return ns


def _url(ns, path=""):
    return f"/t/{ns.tenant.slug}/{path.lstrip('/')}"


def _changes(entry) -> dict:
    return {c["field"]: (c["from"], c["to"]) for c in entry.details.get("changes", [])}


def test_each_configuration_event_writes_one_entry_with_its_field_changes(db, client, login, crew, make_config):
    t = crew
    config = make_config(t.tenant, t.user)
    cid = config.id
    [created] = entries(db, t.tenant, "configuration.created")
    assert (created.target_type, created.target_id, created.target_name) == ("configuration", str(cid), "Nasal pump")
    assert _changes(created)["max_pressure_bar"] == (None, 5.0)
    assert _changes(created)["target_droplet_size_um"] == (None, 50.0)

    login(t.user)
    # Edit one field through the form: exactly that change, with its label and unit.
    fields = form_fields(client.get(_url(t, f"configurations/{cid}/edit")).get_data(as_text=True), "edit-form")
    fields["max_pressure_bar"] = "6"
    assert client.post(_url(t, f"configurations/{cid}/edit"), data=fields).status_code == 303
    [edited] = entries(db, t.tenant, "configuration.updated")
    assert edited.details["changes"] == [
        {"field": "max_pressure_bar", "label": "Pressure (bar)", "from": 5.0, "to": 6.0}
    ]
    assert edited.details["version"] == 2 and edited.ip_address == "127.0.0.1"
    assert edited.actor_id == t.user.id

    client.post(_url(t, f"configurations/{cid}/status"), data={"status": "complete", "tags": ""}, headers=HX)
    [status] = entries(db, t.tenant, "configuration.status_changed")
    assert _changes(status) == {"status": ("draft", "complete")}

    share = _url(t, f"configurations/{cid}/shares")
    client.post(share, data={"user_id": str(t.other.id), "permission": "edit"}, headers=HX)
    client.post(share, data={"user_id": str(t.other.id), "permission": "view"}, headers=HX)
    client.post(share, data={"user_id": str(t.other.id), "permission": "view"}, headers=HX)  # no change
    shared = entries(db, t.tenant, "configuration.shared")
    assert [_changes(e)["permission"] for e in shared] == [(None, "edit"), ("edit", "view")]
    assert shared[0].details["shared_with"] == f"Olga Other <{t.other.email}>"
    client.post(_url(t, f"configurations/{cid}/shares/{t.other.id}/delete"), headers=HX)
    [unshared] = entries(db, t.tenant, "configuration.unshared")
    assert unshared.details == {"shared_with": f"Olga Other <{t.other.email}>", "access": "view"}

    client.post(_url(t, f"configurations/{cid}/archive"))
    client.post(_url(t, f"configurations/{cid}/archive"))  # already archived: nothing happens
    client.post(_url(t, f"configurations/{cid}/unarchive"))
    assert len(entries(db, t.tenant, "configuration.archived")) == 1
    assert len(entries(db, t.tenant, "configuration.unarchived")) == 1

    client.post(_url(t, f"configurations/{cid}/versions/1/restore"))
    [restored] = entries(db, t.tenant, "configuration.version_restored")
    assert _changes(restored) == {"max_pressure_bar": (6.0, 5.0), "status": ("complete", "draft")}
    assert restored.details["restored_from"] == 1

    client.post(_url(t, f"configurations/{cid}/duplicate"))
    copies = [e for e in entries(db, t.tenant, "configuration.created") if e.details.get("copy_of")]
    assert [(e.details["copy_of"], e.target_name) for e in copies] == [("Nasal pump", "Copy of Nasal pump")]


def test_a_refused_edit_writes_no_entry(db, client, login, crew, make_config):
    t = crew
    cid = make_config(t.tenant, t.user).id
    login(t.user)
    fields = form_fields(client.get(_url(t, f"configurations/{cid}/edit")).get_data(as_text=True), "edit-form")
    fields["max_pressure_bar"] = "-1"
    assert client.post(_url(t, f"configurations/{cid}/edit"), data=fields).status_code == 422
    login(t.other)
    assert client.post(_url(t, f"configurations/{cid}/archive")).status_code == 403
    assert entries(db, t.tenant, "configuration.updated") == []
    assert entries(db, t.tenant, "configuration.archived") == []


FLUID = {
    "name": "Glycol base",
    "category": "blend",
    "viscosity_cp": "12",
    "viscosity_cp_unit": "cP",
    "density_kg_m3": "1040",
    "density_kg_m3_unit": "kg/m³",
    "surface_tension_mn_m": "40",
    "surface_tension_mn_m_unit": "mN/m",
    "flash_point_c": "",
    "flash_point_c_unit": "°C",
    "vapour_pressure_kpa": "",
    "vapour_pressure_kpa_unit": "kPa",
    "boiling_point_c": "",
    "boiling_point_c_unit": "°C",
    "notes": "",
}


def test_fluid_create_edit_delete_each_write_one_entry_with_what_changed(db, client, login, crew, rows):
    t = crew
    login(t.user)
    assert client.post(_url(t, "fluids/new"), data=FLUID).status_code == 303
    [fluid] = rows(t.tenant, TenantFluid)
    fluid_id = fluid.id
    [created] = entries(db, t.tenant, "fluid.created")
    assert (created.target_type, created.target_id, created.target_name) == ("fluid", str(fluid_id), "Glycol base")
    assert _changes(created) == {
        "name": (None, "Glycol base"),
        "category": (None, "blend"),
        "viscosity_cp": (None, 12.0),
        "density_kg_m3": (None, 1040.0),
        "surface_tension_mn_m": (None, 40.0),
        "liquefied_propellant": (None, False),
    }
    assert client.post(_url(t, f"fluids/{fluid_id}/edit"), data={**FLUID, "density_kg_m3": "1.05",
                       "density_kg_m3_unit": "g/cm³", "name": "Glycol base 2"}).status_code == 303  # fmt: skip
    [edited] = entries(db, t.tenant, "fluid.updated")
    assert edited.details["changes"] == [
        {"field": "name", "label": "Name", "from": "Glycol base", "to": "Glycol base 2"},
        {"field": "density_kg_m3", "label": "Density (kg/m³)", "from": 1040.0, "to": pytest.approx(1050.0)},
    ]
    assert client.post(_url(t, f"fluids/{fluid_id}/delete")).status_code == 303
    [deleted] = entries(db, t.tenant, "fluid.deleted")
    assert (deleted.target_id, deleted.target_name) == (str(fluid_id), "Glycol base 2")
    assert rows(t.tenant, TenantFluid) == []


def test_confirming_a_safety_data_sheet_writes_one_entry_naming_the_sheet(db, client, login, crew, rows, tenant_url):
    t = crew
    login(t.user)
    response = upload(client, tenant_url, t.tenant, sds_pdfs.text_layout_sds("AeroBase Glycol 40"), "glycol-40.pdf")
    data = review_data(client.get(response.headers["Location"]).get_data(as_text=True))
    data["surface_tension_value"] = "38"
    assert data["viscosity_value"] == ""  # the sheet gives it at 40 °C: the review asks for 25 °C
    data["viscosity_value"] = "9.5"
    assert client.post(response.headers["Location"], data=data).status_code == 303
    [fluid] = rows(t.tenant, TenantFluid)
    [confirmed] = entries(db, t.tenant, "fluid.sds_confirmed")
    assert (confirmed.target_id, confirmed.details["sheet"]) == (str(fluid.id), "glycol-40.pdf")
    assert _changes(confirmed)["surface_tension_mn_m"] == (None, 38.0)
    assert entries(db, t.tenant, "fluid.created") == []  # one event, one entry


def _visible_text(page: str) -> str:
    body = page.split('<div id="audit-results">', 1)[1]
    return re.sub(r"<[^>]+>", " ", body)


def test_the_page_names_people_and_objects_with_links_and_keeps_a_deleted_objects_name(
    db, client, login, crew, make_config, rows
):
    t = crew
    cid = make_config(t.tenant, t.user, name="Throat spray").id
    login(t.user)
    client.post(_url(t, "fluids/new"), data={**FLUID, "name": "Short-lived fluid"})
    [fluid_id] = [f.id for f in rows(t.tenant, TenantFluid)]
    client.post(_url(t, f"fluids/{fluid_id}/delete"))
    login(t.admin)
    page = client.get(_url(t, "audit")).get_data(as_text=True)
    text = _visible_text(page)
    assert f'{t.user.name} <span class="audit-email">&lt;{t.user.email}&gt;</span>' in page
    assert f'<a href="/t/{t.tenant.slug}/configurations/{cid}">Throat spray</a>' in page
    assert "Short-lived fluid" in text and "(deleted)" in text
    assert f"/fluids/{fluid_id}" not in page  # no link to what is gone
    for raw in (str(cid), str(fluid_id), str(t.user.id)):
        assert raw not in text, f"raw id {raw} shown"
    assert "Pressure (bar): 5" in re.sub(r"\s+", " ", text)  # the creation values, labelled with units


def test_renamed_objects_show_their_current_name(db, client, login, crew, make_config):
    t = crew
    cid = make_config(t.tenant, t.user, name="Old name").id
    login(t.user)
    fields = form_fields(client.get(_url(t, f"configurations/{cid}/edit")).get_data(as_text=True), "edit-form")
    client.post(_url(t, f"configurations/{cid}/edit"), data={**fields, "name": "New name"})
    login(t.admin)
    page = client.get(_url(t, "audit")).get_data(as_text=True)
    assert page.count(f'/configurations/{cid}">New name</a>') == 2  # created and edited
    # The old name survives only as a value: the creation's "Name: Old name" and the edit's "Old name → New name".
    assert _visible_text(page).count("Old name") == 2


def test_another_tenants_entries_and_objects_never_show(db, client, login, crew, team, make_config, factories):
    a, b = crew, team()
    cid = make_config(a.tenant, a.user, name="Tenant A secret formula").id
    # An entry in B pointing at A's configuration (as a forged or buggy id would) resolves to nothing.
    with tenant_scope(db.session, b.tenant.id):
        audit.record(db.session, b.tenant.id, "configuration.archived", actor=b.admin,
                     target_type="configuration", target_id=cid)  # fmt: skip
        forged = db.session.query(AuditLog).filter(AuditLog.tenant_id == b.tenant.id).all()
        [view] = [v for v in audit.describe_entries(db.session, b.tenant.id, forged) if v.entry.target_id]
        assert view.target is None and view.endpoint is None
    db.session.commit()
    login(b.admin)
    page = client.get(f"/t/{b.tenant.slug}/audit").get_data(as_text=True)
    assert "Tenant A secret formula" not in page
    assert a.user.email not in page
    assert f"/configurations/{cid}" not in page
    login(a.admin)
    assert "Tenant A secret formula" in client.get(f"/t/{a.tenant.slug}/audit").get_data(as_text=True)


def test_the_page_looks_names_up_in_bulk(db, app, client, login, crew, make_config):
    t = crew

    def statements_for_page() -> int:
        count = SimpleNamespace(n=0)
        connection = db._app_engines[app][None]

        def _count(*_args):
            count.n += 1

        event.listen(connection, "before_cursor_execute", _count)
        try:
            assert client.get(_url(t, "audit")).status_code == 200
        finally:
            event.remove(connection, "before_cursor_execute", _count)
        return count.n

    make_config(t.tenant, t.user, name="First")
    login(t.admin)
    few = statements_for_page()
    for n in range(12):
        make_config(t.tenant, t.user if n % 2 else t.other, name=f"Config {n}")
    login(t.admin)
    many = statements_for_page()
    assert many == few, f"{few} statements for 1 entry, {many} for 13: a lookup per entry"
    with tenant_scope(db.session, t.tenant.id):
        assert db.session.query(Configuration).count() == 13
