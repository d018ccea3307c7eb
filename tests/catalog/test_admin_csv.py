"""Platform-admin CSV export and import of the actuator catalog."""

from __future__ import annotations

import csv
import io
import logging

import pytest
from sqlalchemy import func, select

from aerospec.catalog import services as catalog
from aerospec.catalog.models import Actuator

HEADER = list(catalog.CSV_COLUMNS)


def _csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=HEADER, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode()


def _row(**kwargs) -> dict:
    row = {
        "supplier": "coster", "sku": "CV.HCS.040.12", "name": "Coster hollow-cone 0.40 mm",
        "spray_type": "hollow_cone", "orifice_mm": "0.4", "swirl_chamber_mm": "1.2", "inlet_area_mm2": "0.2",
        "max_pressure_bar": "12", "min_viscosity_cp": "0.3", "max_viscosity_cp": "20", "body_material": "POM",
        "seal_material": "none", "unit_price": "0.12", "currency": "USD", "stock": "500",
        "lead_time_days": "4",
        "last_synced_at": "", "is_sample_data": "false",
    }  # fmt: skip
    row.update(kwargs)
    return row


@pytest.fixture
def admin(db, factories, login):
    user = factories.UserFactory(is_platform_admin=True)
    db.session.commit()
    login(user)
    return user


def _upload(client, data: bytes, valid_only: bool = False, **headers):
    form = {"file": (io.BytesIO(data), "actuators.csv")}
    if valid_only:
        form["valid_rows_only"] = "y"
    return client.post("/admin/catalog/import", data=form, content_type="multipart/form-data", headers=headers)


def _count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Actuator))


def test_export_then_import_round_trips_every_column(client, admin, db):
    catalog.seed_actuators(db.session)
    db.session.commit()
    response = client.get("/admin/catalog/actuators.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    exported = response.get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert list(rows[0]) == HEADER and len(rows) == _count(db)
    # Wipe the catalog, import the file: the same rows come back, value for value.
    before = catalog.export_actuators_csv(db.session)
    db.session.query(Actuator).delete()
    db.session.commit()
    assert _count(db) == 0
    result = _upload(client, exported.encode())
    assert result.status_code == 200, result.get_data(as_text=True)[:2000]
    assert f"{len(rows)} added, 0 updated" in result.get_data(as_text=True)
    assert catalog.export_actuators_csv(db.session) == before


def test_import_updates_existing_skus_and_adds_new_ones(client, admin, db):
    _upload(client, _csv([_row()]))
    response = _upload(
        client,
        _csv(
            [
                _row(unit_price="0.15", stock="0"),
                _row(sku="CV.JET.020.10", spray_type="plain_orifice", swirl_chamber_mm="", inlet_area_mm2=""),
            ]
        ),
    )
    assert "1 added, 1 updated" in response.get_data(as_text=True)
    a = db.session.scalar(select(Actuator).where(Actuator.sku == "CV.HCS.040.12"))
    assert str(a.unit_price).startswith("0.15") and a.stock == 0
    assert _count(db) == 2


def test_any_row_error_writes_nothing_and_reports_every_row(client, admin, db):
    rows = [_row(sku=f"CV.HCS.{i:03d}.12") for i in range(14)]
    rows[10]["orifice_mm"] = "abc"  # row 12 of the file (the header is row 1)
    rows[3]["spray_type"] = "flat_fan"
    rows[5]["max_pressure_bar"] = "0,0"
    response = _upload(client, _csv(rows))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "row 12: orifice_mm must be a number between 0.05 and 5 (got &#39;abc&#39;)" in html
    assert "row 5: spray_type must be one of hollow_cone, full_cone, plain_orifice (got &#39;flat_fan&#39;)" in html
    assert "row 7: max_pressure_bar must be a number between" in html
    assert "Nothing was imported" in html
    assert _count(db) == 0


def test_valid_rows_only_imports_the_rows_that_passed(client, admin, db):
    rows = [_row(sku="CV.HCS.001.12"), _row(sku="CV.HCS.002.12", orifice_mm="9"), _row(sku="CV.HCS.003.12")]
    response = _upload(client, _csv(rows), valid_only=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2 added, 0 updated, 1 row skipped" in html
    assert "row 3: orifice_mm" in html
    assert sorted(db.session.scalars(select(Actuator.sku))) == ["CV.HCS.001.12", "CV.HCS.003.12"]


def test_import_reports_missing_columns_duplicates_and_swirl_geometry(client, admin, db):
    html = _upload(client, b"supplier,sku\nspencer,SP-1\n").get_data(as_text=True)
    assert "row 1: the header lacks the columns" in html
    rows = [_row(), _row(), _row(sku="X1", swirl_chamber_mm=""), _row(sku="X2", spray_type="plain_orifice")]
    html = _upload(client, _csv(rows)).get_data(as_text=True)
    assert "row 3: sku &#39;CV.HCS.040.12&#39; of coster repeats row 2" in html
    assert "row 4: swirl_chamber_mm is required for swirl types" in html
    assert "row 5: swirl_chamber_mm must be empty for plain_orifice" in html
    assert _count(db) == 0


def test_import_without_a_file_or_with_binary_says_what_to_do(client, admin):
    response = client.post("/admin/catalog/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Choose a CSV file" in response.get_data(as_text=True)
    html = _upload(client, b"\xff\xfe\x00garbage").get_data(as_text=True)
    assert "not UTF-8" in html


def test_htmx_import_gets_the_result_block_only(client, admin):
    response = _upload(client, _csv([_row()]), **{"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert "<html" not in html and html.strip().startswith('<div id="import-result">')


def test_admin_actions_are_logged_with_who_did_what(client, admin, caplog, monkeypatch):
    # migrations/env.py runs logging.config.fileConfig() (disable_existing_loggers=True) when
    # the test session migrates, which disables loggers created before it; undo that here.
    monkeypatch.setattr(logging.getLogger("aerospec.platform_admin"), "disabled", False)
    with caplog.at_level(logging.INFO, logger="aerospec.platform_admin"):
        client.get("/admin/catalog/actuators.csv")
    assert any(
        admin.email in r.getMessage() and "/admin/catalog/actuators.csv" in r.getMessage() for r in caplog.records
    )


@pytest.mark.parametrize("path", ["/admin/catalog/actuators.csv", "/admin/catalog/import"])
def test_non_admins_get_404_on_admin_urls(client, db, factories, login, path):
    assert client.get(path).status_code == 404  # anonymous
    tenant = factories.TenantFactory()
    login(factories.member(tenant, "admin"))  # a tenant admin is not a platform admin
    assert client.get(path).status_code == 404
    assert client.post(path, data={}).status_code in (404, 405)
