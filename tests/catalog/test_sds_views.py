"""SDS upload end to end: upload → job (inline) → progress → review → tenant fluid with sources."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select

from aerospec.catalog.models import SdsDocument, TenantFluid
from aerospec.tenancy.scoping import tenant_scope
from tests.catalog import sds_pdfs

HX = {"HX-Request": "true"}


@pytest.fixture
def workspace(factories, login):
    tenant = factories.TenantFactory(plan="starter")
    user = factories.member(tenant, "user", name="Ada Formulator")
    login(user)
    return tenant, user


def upload(client, tenant_url, tenant, content: bytes, filename: str = "sheet.pdf", headers=None):
    """POST the file as a browser would. The body is encoded here, in memory: werkzeug's test
    client spools big bodies to a temporary file it never closes (a ResourceWarning)."""
    boundary = "----aerospec-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return client.post(
        tenant_url(tenant, "fluids/sds/new"),
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=headers or {},
    )


def only_document(rows, tenant) -> SdsDocument:
    documents = rows(tenant, SdsDocument)
    assert len(documents) == 1
    return documents[0]


def make_document(db, tenant, content: bytes, status: str = "queued"):
    """A stored upload (no job run); returns its id (the row expires on commit, and on
    PostgreSQL row-level security hides it outside the tenant's scope)."""
    with tenant_scope(db.session, tenant.id):
        document = SdsDocument(
            tenant_id=tenant.id,
            filename="made.pdf",
            size_bytes=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            content=content,
            status=status,
            extracted=[],
        )
        db.session.add(document)
        db.session.flush()
        document_id = document.id
        db.session.commit()
    return document_id


def review_data(page: str) -> dict:
    """The review form's fields as the page prefilled them (what a browser would send)."""
    data = {}
    for name, value in re.findall(r'<input[^>]*name="([a-z_]+)"[^>]*value="([^"]*)"', page):
        data[name] = value
    for name, body in re.findall(r'<select[^>]*name="([a-z_]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', body)
        data[name] = next(g for g in chosen.groups() if g is not None) if chosen else ""
    for name in re.findall(r'<input[^>]*name="([a-z_]+)"', page):
        data.setdefault(name, "")
    return data


def test_upload_page_has_a_labelled_pdf_input(client, tenant_url, workspace):
    tenant, _ = workspace
    page = client.get(tenant_url(tenant, "fluids/sds/new")).get_data(as_text=True)
    assert '<label for="file">' in page
    assert 'accept="application/pdf,.pdf"' in page
    assert 'enctype="multipart/form-data"' in page


def test_upload_review_and_save_with_one_correction(client, db, rows, tenant_url, workspace):
    tenant, user = workspace
    response = upload(client, tenant_url, tenant, sds_pdfs.text_layout_sds("AeroBase Glycol 40"), "glycol-40.pdf")
    assert response.status_code == 303
    document = only_document(rows, tenant)
    document_id = document.id
    assert response.headers["Location"].endswith(f"/fluids/sds/{document_id}")
    # JOBS_MODE=inline: the parse job ran right after the upload committed.
    assert document.status == "parsed", document.error
    assert document.product_name == "AeroBase Glycol 40"
    assert document.uploaded_by_id == user.id
    assert document.sha256 == hashlib.sha256(sds_pdfs.text_layout_sds("AeroBase Glycol 40")).hexdigest()

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    # Each value beside the line it came from.
    assert "<q>Density: 1.036 g/cm³ at 20 °C</q>" in page
    assert "<q>Viscosity, dynamic: 3.4 mPa·s at 20 °C</q>" in page
    assert "<q>Flash point: 99 °C (closed cup)</q>" in page
    assert "Read as <strong>1036 kg/m³</strong>" in page
    assert "Safety data sheets rarely give surface tension" in page
    assert 'value="AeroBase Glycol 40"' in page
    for field in ("density_value", "viscosity_value", "surface_tension_value", "flash_point_value"):
        assert re.search(rf'<label for="{field}">', page), f"{field} has no label"

    data = review_data(page)
    assert data["density_value"] == "1036" and data["density_unit"] == "kg/m³"
    data["viscosity_value"] = "3,6"  # the user corrects the viscosity (decimal comma)
    data["viscosity_unit"] = "mPa·s"
    data["surface_tension_value"] = "38"  # missing from the sheet
    response = client.post(f"{response.headers['Location']}", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)

    fluid = rows(tenant, TenantFluid)[0]
    assert fluid.name == "AeroBase Glycol 40"
    assert fluid.sds_document_id == document_id
    assert fluid.created_by_id == user.id
    assert fluid.density_kg_m3 == pytest.approx(1036.0)
    assert fluid.viscosity_cp == pytest.approx(3.6)
    assert fluid.surface_tension_mn_m == pytest.approx(38.0)
    assert fluid.flash_point_c == pytest.approx(99.0)
    assert fluid.vapour_pressure_kpa == pytest.approx(2.3)
    assert fluid.boiling_point_c == pytest.approx(104.0)
    assert fluid.sources["density_kg_m3"] == "SDS glycol-40.pdf, section 9: 'Density: 1.036 g/cm³ at 20 °C'"
    assert fluid.sources["flash_point_c"] == "SDS glycol-40.pdf, section 9: 'Flash point: 99 °C (closed cup)'"
    assert fluid.sources["viscosity_cp"].startswith("entered by Ada Formulator")
    assert "Viscosity, dynamic: 3.4 mPa·s" in fluid.sources["viscosity_cp"]
    assert fluid.sources["surface_tension_mn_m"] == "entered by Ada Formulator"

    page = client.get(tenant_url(tenant, f"fluids/sds/{document_id}")).get_data(as_text=True)
    assert "AeroBase Glycol 40" in page and "Saved" in page


@pytest.mark.parametrize(
    ("sheet", "line", "given", "at", "unit", "typed", "stored"),
    [
        # 32 cSt × (0.85 × 997 kg/m³) / 1000
        (sds_pdfs.table_layout_sds, "Kinematic viscosity 20 cSt at 40 °C", "20 cSt", "40 °C", "cSt", "32", 27.1184),
        (sds_pdfs.text_layout_sds, "Viscosity, dynamic: 3.4 mPa·s at 20 °C", "3.4 mPa·s", "20 °C", "cP", "3,6", 3.6),
    ],
    ids=["kinematic-at-40-C", "dynamic-at-20-C"],
)
def test_viscosity_at_another_temperature_is_asked_for_at_25_c_not_taken_as_it(
    client, rows, tenant_url, workspace, sheet, line, given, at, unit, typed, stored
):
    # Was: confirming as read stored the 40 °C (or 20 °C) viscosity as the 25 °C value (issue 9).
    tenant, _ = workspace
    location = upload(client, tenant_url, tenant, sheet(), "sheet.pdf").headers["Location"]
    page = client.get(location).get_data(as_text=True)
    assert f"<q>{line}</q>" in page
    assert f"The sheet gives {given} at {at}, not at 25 °C." in page
    assert "one value cannot be converted to 25 °C" in page
    assert '<label for="viscosity_value">Viscosity at 25 °C</label>' in page
    assert re.search(r'<input[^>]*id="viscosity_value"[^>]*required', page)
    viscosity_block = re.search(r'id="sds-viscosity">(.*?)</li>', page, re.S).group(1)
    assert "Read as" not in viscosity_block  # the other temperature's value is not offered as the answer
    data = review_data(page)
    assert (data["viscosity_value"], data["viscosity_unit"]) == ("", unit)
    data["surface_tension_value"] = "28"

    refused = client.post(location, data=data, headers=HX)
    assert refused.status_code == 422
    message = f"The sheet gives the viscosity at {at} ({given}); enter its value at 25 °C."
    assert message in refused.get_data(as_text=True)
    assert rows(tenant, TenantFluid) == []

    data["viscosity_value"] = typed  # the supplier's 25 °C figure
    assert client.post(location, data=data).status_code == 303
    fluid = rows(tenant, TenantFluid)[0]
    assert fluid.viscosity_cp == pytest.approx(stored, rel=1e-9)
    assert fluid.sources["viscosity_cp"] == (
        f"entered by Ada Formulator as the 25 °C value (the sheet gives {given} at {at}; "
        f"SDS sheet.pdf, section 9: '{line}')"
    )


def test_review_keeps_input_and_explains_missing_surface_tension(client, rows, tenant_url, workspace):
    tenant, _ = workspace
    response = upload(client, tenant_url, tenant, sds_pdfs.decimal_comma_sds())
    location = response.headers["Location"]
    data = review_data(client.get(location).get_data(as_text=True))
    data["surface_tension_value"] = ""
    data["density_value"] = "abc"
    data["name"] = "My emulsion"
    response = client.post(location, data=data, headers=HX)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "rarely give it" in page
    assert "is not a number" in page
    assert 'value="abc"' in page and 'value="My emulsion"' in page
    assert rows(tenant, TenantFluid) == []


def test_same_file_twice_reuses_the_earlier_parse(client, rows, tenant_url, workspace):
    tenant, _ = workspace
    pdf = sds_pdfs.text_layout_sds()
    first = upload(client, tenant_url, tenant, pdf, "a.pdf")
    second = upload(client, tenant_url, tenant, pdf, "copy-of-a.pdf")
    assert first.headers["Location"] == second.headers["Location"]
    assert only_document(rows, tenant).filename == "a.pdf"
    assert "You uploaded this file before" in client.get(second.headers["Location"]).get_data(as_text=True)


def test_htmx_upload_answers_with_hx_redirect(client, rows, tenant_url, workspace):
    tenant, _ = workspace
    response = upload(client, tenant_url, tenant, sds_pdfs.text_layout_sds(), headers=HX)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"].endswith(f"/fluids/sds/{only_document(rows, tenant).id}")


def test_text_file_named_pdf_is_refused_at_upload(client, rows, tenant_url, workspace):
    tenant, _ = workspace
    response = upload(client, tenant_url, tenant, sds_pdfs.not_a_pdf(), "notes.pdf")
    assert response.status_code == 422
    assert "This file is not a PDF" in response.get_data(as_text=True)
    assert rows(tenant, SdsDocument) == []


def test_empty_form_asks_for_a_file(client, tenant_url, workspace):
    tenant, _ = workspace
    response = client.post(tenant_url(tenant, "fluids/sds/new"), data={}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Choose the safety data sheet PDF" in response.get_data(as_text=True)


def test_file_just_over_10_mb_is_refused_with_a_message(client, rows, tenant_url, workspace):
    tenant, _ = workspace
    content = b"%PDF-1.7\n" + b"0" * (10 * 1024 * 1024)
    response = upload(client, tenant_url, tenant, content, "big.pdf")
    assert response.status_code == 422
    assert "the limit is 10 MB" in response.get_data(as_text=True)
    assert rows(tenant, SdsDocument) == []


def test_body_far_over_the_limit_gets_a_clear_message_not_a_crash(client, rows, tenant_url, workspace):
    tenant, _ = workspace
    content = b"%PDF-1.7\n" + b"0" * (12 * 1024 * 1024)
    response = upload(client, tenant_url, tenant, content, "huge.pdf")
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "larger than 10 MB" in page
    assert '<label for="file">' in page  # the form again, not an error page
    assert rows(tenant, SdsDocument) == []


@pytest.mark.parametrize(
    ("maker", "message"),
    [
        (sds_pdfs.scanned_sds, "looks scanned"),
        (sds_pdfs.encrypted_sds, "password-protected"),
        (sds_pdfs.no_section_9_sds, "could not find section 9"),
        (sds_pdfs.no_properties_sds, "none of the properties we need"),
        (sds_pdfs.corrupt_pdf, "damaged"),
    ],
    ids=["scanned", "encrypted", "no-section-9", "no-properties", "corrupt"],
)
def test_unreadable_sheets_fail_with_a_clear_message(client, rows, tenant_url, workspace, maker, message):
    tenant, _ = workspace
    response = upload(client, tenant_url, tenant, maker())
    assert response.status_code == 303
    document = only_document(rows, tenant)
    document_id = document.id
    assert document.status == "failed"
    assert message in document.error
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "We could not read this sheet." in page and message in page
    assert 'name="density_value"' not in page
    status = client.get(tenant_url(tenant, f"fluids/sds/{document_id}/status"), headers=HX)
    assert status.status_code == 286


def test_progress_fragment_polls_until_parsed_then_answers_286(client, db, rows, tenant_url, workspace):
    tenant, _ = workspace
    document_id = make_document(db, tenant, sds_pdfs.text_layout_sds())
    url = tenant_url(tenant, f"fluids/sds/{document_id}/status")

    waiting = client.get(url, headers=HX)
    assert waiting.status_code == 200
    fragment = waiting.get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in fragment and f'hx-get="{url}"' in fragment
    assert "<html" not in fragment
    assert "HX-Request" in waiting.headers["Vary"]
    page = client.get(tenant_url(tenant, f"fluids/sds/{document_id}")).get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in page

    from jobs.sds import parse_sds_document

    assert parse_sds_document(str(tenant.id), str(document_id)) == "parsed"
    done = client.get(url, headers=HX)
    assert done.status_code == 286
    body = done.get_data(as_text=True)
    assert "hx-trigger" not in body and 'name="density_value"' in body
    # Without htmx the status URL sends the browser to the document page.
    assert client.get(url).status_code == 303


def test_parse_job_is_idempotent(db, factories, rows):
    from jobs.sds import parse_sds_document

    tenant = factories.TenantFactory()
    document_id = make_document(db, tenant, sds_pdfs.table_layout_sds())
    assert parse_sds_document(str(tenant.id), str(document_id)) == "parsed"
    first = rows(tenant, SdsDocument)[0].extracted
    assert parse_sds_document(str(tenant.id), str(document_id)) == "parsed"
    assert rows(tenant, SdsDocument)[0].extracted == first
    assert parse_sds_document(str(tenant.id), "00000000-0000-0000-0000-000000000000") is None


def test_saving_before_the_sheet_is_read_is_refused(client, db, tenant_url, workspace):
    tenant, _ = workspace
    document_id = make_document(db, tenant, sds_pdfs.text_layout_sds())
    response = client.post(tenant_url(tenant, f"fluids/sds/{document_id}"), data={"name": "x"})
    assert response.status_code == 409


def test_viewer_cannot_upload(client, factories, login, tenant_url):
    tenant = factories.TenantFactory()
    login(factories.member(tenant, "viewer"))
    assert client.get(tenant_url(tenant, "fluids/sds/new")).status_code == 403
    response = upload(client, tenant_url, tenant, sds_pdfs.text_layout_sds())
    assert response.status_code == 403


def test_tenant_without_msds_parsing_gets_402_with_an_upgrade_message(client, db, factories, login, rows, tenant_url):
    tenant = factories.TenantFactory(plan="starter", features={"msds_parsing": False})
    login(factories.member(tenant, "admin"))
    page = client.get(tenant_url(tenant, "fluids/sds/new"))
    assert page.status_code == 402
    text = page.get_data(as_text=True)
    assert "Safety-data-sheet parsing is not enabled for this workspace" in text
    assert "upgrade" in text.lower()
    response = upload(client, tenant_url, tenant, sds_pdfs.text_layout_sds())
    assert response.status_code == 402
    assert rows(tenant, SdsDocument) == []


def test_another_tenants_document_is_404(client, db, factories, login, tenant_url):
    mine, theirs = factories.TenantFactory(), factories.TenantFactory()
    login(factories.member(mine, "admin"))
    foreign = make_document(db, theirs, sds_pdfs.text_layout_sds(), status="parsed")
    for path in (f"fluids/sds/{foreign}", f"fluids/sds/{foreign}/status"):
        assert client.get(tenant_url(mine, path), headers=HX).status_code == 404
    assert client.post(tenant_url(mine, f"fluids/sds/{foreign}"), data={"name": "stolen"}).status_code == 404


def test_recent_sheets_are_listed_on_the_upload_page(client, tenant_url, workspace):
    tenant, _ = workspace
    upload(client, tenant_url, tenant, sds_pdfs.text_layout_sds("Listed Product"), "listed.pdf")
    page = client.get(tenant_url(tenant, "fluids/sds/new")).get_data(as_text=True)
    assert "listed.pdf" in page and "Listed Product" in page and "Read" in page


def test_upload_is_stored_under_its_tenant_only(db, client, factories, rows, tenant_url, workspace):
    tenant, _ = workspace
    other = factories.TenantFactory()
    upload(client, tenant_url, tenant, sds_pdfs.text_layout_sds())
    assert rows(other, SdsDocument) == []
    with tenant_scope(db.session, other.id):
        assert db.session.scalars(select(SdsDocument)).all() == []


def test_review_prefers_the_density_with_a_unit_over_the_relative_density(client, rows, tenant_url, workspace):
    tenant, _ = workspace
    pdf = sds_pdfs.property_lines_sds(
        ("Relative density: 0.95 (water = 1)", "Density: 0.95 g/cm³ at 20 °C", "Viscosity: 2 mPa·s at 25 °C")
    )
    location = upload(client, tenant_url, tenant, pdf, "both.pdf").headers["Location"]
    page = client.get(location).get_data(as_text=True)
    assert "<q>Density: 0.95 g/cm³ at 20 °C</q>" in page
    assert "Read as <strong>950 kg/m³</strong>" in page
    data = review_data(page)
    assert (data["density_value"], data["density_unit"]) == ("950", "kg/m³")
    # Viscosity given at 25 °C: taken as read, not asked again.
    assert (data["viscosity_value"], data["viscosity_unit"]) == ("2", "cP")
    data["surface_tension_value"] = "30"
    assert client.post(location, data=data).status_code == 303
    fluid = rows(tenant, TenantFluid)[0]
    assert fluid.density_kg_m3 == pytest.approx(950.0)  # not 0.95 × 997 = 947.15
    assert fluid.sources["density_kg_m3"] == "SDS both.pdf, section 9: 'Density: 0.95 g/cm³ at 20 °C'"
    assert fluid.sources["viscosity_cp"] == "SDS both.pdf, section 9: 'Viscosity: 2 mPa·s at 25 °C'"


def test_review_has_the_fluid_forms_categories_and_stores_the_one_chosen(client, rows, tenant_url, workspace):
    from aerospec.catalog.services import FLUID_CATEGORIES

    tenant, _ = workspace
    location = upload(client, tenant_url, tenant, sds_pdfs.text_layout_sds()).headers["Location"]
    page = client.get(location).get_data(as_text=True)
    assert '<label for="category">Category</label>' in page
    select = re.search(r'<select[^>]*name="category"[^>]*>(.*?)</select>', page, re.S).group(1)
    assert re.findall(r'value="([^"]*)"', select) == list(FLUID_CATEGORIES)
    form = client.get(tenant_url(tenant, "fluids/new")).get_data(as_text=True)
    form_select = re.search(r'<select[^>]*name="category"[^>]*>(.*?)</select>', form, re.S).group(1)
    assert re.findall(r">([^<]+)</option>", select) == re.findall(r">([^<]+)</option>", form_select)
    data = review_data(page)
    assert data["category"] == "other"
    data.update(category="blend", viscosity_value="3.6", surface_tension_value="38")
    assert client.post(location, data=data).status_code == 303
    fluid = rows(tenant, TenantFluid)[0]
    name = fluid.name  # read now: after the next request, RLS hides the row outside the tenant
    assert fluid.category == "blend"
    listed = client.get(tenant_url(tenant, "fluids?category=blend")).get_data(as_text=True)
    assert name in listed


def test_review_refuses_a_category_not_in_the_list_and_keeps_the_input(client, rows, tenant_url, workspace):
    tenant, _ = workspace
    location = upload(client, tenant_url, tenant, sds_pdfs.text_layout_sds()).headers["Location"]
    data = review_data(client.get(location).get_data(as_text=True))
    data.update(category="rocket-fuel", viscosity_value="3.6", surface_tension_value="38")
    response = client.post(location, data=data, headers=HX)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="category-error"' in page and "Choose a category from the list." in page
    assert 'value="3.6"' in page
    assert rows(tenant, TenantFluid) == []
