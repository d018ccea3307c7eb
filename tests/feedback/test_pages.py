"""The Lab results section of the configuration and order pages: recording typed values in every unit the form
takes (stored exactly in bar, ml/min, µm, °C), importing an instrument export (kept, downloadable, row errors that
store nothing, the same file twice refused), the role matrix, editing, pagination, and another workspace's 404."""

from __future__ import annotations

import io
import re
import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from aerospec.feedback.models import Feedback, FeedbackFile
from aerospec.tenancy.scoping import tenant_scope, unscoped

PSI_BAR = 6894.757293168361 / 1e5  # 1 psi in bar (0.45359237 kg × 9.80665 m/s² / 0.0254² m²)
CSV = b"Sample,Dv(10) [um],Dv(50) [um],Dv(90) [um]\nrun 1,21.0,60.0,128.0\nrun 2,23.0,62.0,132.0\n"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def world(team, make_config, seeded_catalog, db, login, tenant_url):
    ns = team()
    config = make_config(ns.tenant, ns.user)
    ns.config_id = config.id
    ns.sku = config.compatible_actuators[0]["sku"]
    ns.other_sku = config.compatible_actuators[1]["sku"]
    ns.detail = tenant_url(ns.tenant, f"configurations/{config.id}")
    ns.post = ns.detail + "/lab-results"
    ns.login = login
    ns.url = lambda path: tenant_url(ns.tenant, path)
    return ns


def _form(ns, **extra) -> dict:
    return {
        "actuator_sku": ns.sku,
        "pressure_bar": "3",
        "pressure_unit": "bar",
        "dv50_um": "61.5",
        "size_unit": "µm",
        "measurement_method": "laser_diffraction",
        "measured_by": "R. Franklin",
        **extra,
    }


def _rows(db) -> list[SimpleNamespace]:
    """Every workspace's lab results as plain values (a row read unscoped cannot reload later under RLS)."""
    with unscoped(db.session, "tests read every workspace's lab results"):
        db.session.expire_all()
        rows = db.session.scalars(select(Feedback).order_by(Feedback.created_at))
        return [SimpleNamespace(**{c.key: getattr(r, c.key) for c in Feedback.__table__.columns}) for r in rows]


def _files(db) -> int:
    with unscoped(db.session, "tests count every workspace's instrument files"):
        return db.session.scalar(select(func.count(FeedbackFile.id)))


def _post(client, ns, data, *, file=None, headers=None):
    if file is not None and len(file[1]) > 500_000:
        return _post_raw(client, ns, data, file, headers)
    body = dict(data)
    if file is not None:
        name, content = file
        body["instrument_file"] = (io.BytesIO(content), name)
    return client.post(ns.post, data=body, headers=headers or {}, content_type="multipart/form-data")


def _hidden(html: str) -> dict:
    """The previewed file's hidden fields, as the form sends them back."""
    out = {}
    for name in ("pending_content", "pending_name", "pending_token"):
        match = re.search(rf'name="{name}" type="hidden" value="([^"]*)"', html) or re.search(
            rf'id="{name}" name="{name}" type="hidden" value="([^"]*)"', html
        )
        out[name] = match.group(1) if match else ""
    return out


def _preview(client, ns, data, file, headers=None):
    """Upload a file: the preview (status 200, nothing stored) and the fields a confirm sends back."""
    response = _post(client, ns, data, file=file, headers=headers)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "Nothing is stored yet" in html, html
    return html, _hidden(html)


def _confirm(client, ns, data, file, headers=None, step="confirm"):
    """Upload a file, check its preview, and confirm it (the form comes back with the file's hidden fields)."""
    _, hidden = _preview(client, ns, data, file, headers)
    return _post(client, ns, {**data, **hidden, "step": step}, headers=headers)


def _post_raw(client, ns, data, file, headers, url=None):
    """A large upload as one multipart body in memory (the test client would spool it to a file it never closes)."""
    boundary = "lab-results-test-boundary"
    head = '--{b}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
    parts = [head.format(b=boundary, k=k, v=v).encode() for k, v in data.items()]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="instrument_file"; filename="{file[0]}"\r\n'
        "Content-Type: text/csv\r\n\r\n".encode()
        + file[1]
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return client.post(
        url or ns.post,
        data=b"".join(parts),
        headers=headers or {},
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def test_user_records_a_typed_result_and_sees_it_beside_the_prediction(client, db, world):
    world.login(world.user)
    response = _post(client, world, _form(world, spray_cone_angle_actual="58", pass_fail="pass", rating="4"))
    assert response.status_code == 303 and response.headers["Location"].endswith("#lab-results")
    [row] = _rows(db)
    assert (row.actuator_sku, row.pressure_bar, row.dv50_um, row.spray_cone_angle_actual) == (
        world.sku,
        3.0,
        61.5,
        58.0,
    )
    assert row.created_by_id == world.user.id and row.rating == 4 and row.pass_fail == "pass"
    page = client.get(world.detail).get_data(as_text=True)
    assert "Recorded " + world.sku + " at 3 bar." in page  # the flash
    section = page[page.index('id="lab-results"') :]
    predicted = row.prediction["dv50_um"]
    assert f"{world.sku} at 3 bar" in section and "61.5 µm" in section
    assert "90 % band" in section and ("Inside" in section or "Outside" in section)
    inside = row.prediction["dv50_um_low"] <= 61.5 <= row.prediction["dv50_um_high"]
    dv50_row = re.search(r"<th scope=\"row\" data-label=\"Quantity\">Dv50</th>(.*?)</tr>", section, re.S).group(1)
    assert ("Inside" if inside else "Outside") in dv50_row
    assert f"{61.5 - predicted:+.3g} µm" in dv50_row


@pytest.mark.parametrize(
    ("typed", "unit", "stored"),
    [
        ("3", "bar", 3.0),
        ("45", "psi", 45 * PSI_BAR),
        ("45 psi", "bar", 45 * PSI_BAR),  # a unit typed in the box wins over the select
        ("350", "kPa", 3.5),
        ("0,25", "MPa", 2.5),
    ],
)
def test_pressure_in_every_unit_is_stored_in_bar(client, db, world, typed, unit, stored):
    world.login(world.user)
    assert _post(client, world, _form(world, pressure_bar=typed, pressure_unit=unit)).status_code == 303
    assert _rows(db)[0].pressure_bar == pytest.approx(stored, rel=1e-12)
    assert _rows(db)[0].prediction["pressure_bar"] == pytest.approx(stored, abs=0.05)  # the engine rounds it for show


@pytest.mark.parametrize(
    ("typed", "unit", "stored"),
    [("410", "ml/min", 410.0), ("6.5", "ml/s", 390.0), ("0.41", "L/min", 410.0), ("24.6", "L/h", 410.0)],
)
def test_flow_in_every_unit_is_stored_in_ml_min(client, db, world, typed, unit, stored):
    world.login(world.user)
    assert _post(client, world, _form(world, flow_rate_actual_ml_min=typed, flow_unit=unit)).status_code == 303
    assert _rows(db)[0].flow_rate_actual_ml_min == pytest.approx(stored, rel=1e-12)


@pytest.mark.parametrize(
    ("sizes", "unit", "stored"),
    [
        (("22", "61.5", "130", "40"), "µm", (22.0, 61.5, 130.0, 40.0)),
        (("0.022", "0,0615", "0.13", "0.04"), "mm", (22.0, 61.5, 130.0, 40.0)),
    ],
)
def test_droplet_sizes_in_every_unit_are_stored_in_um(client, db, world, sizes, unit, stored):
    world.login(world.user)
    data = dict(zip(("dv10_um", "dv50_um", "dv90_um", "smd_um"), sizes, strict=True))
    assert _post(client, world, _form(world, size_unit=unit, **data)).status_code == 303
    row = _rows(db)[0]
    assert (row.dv10_um, row.dv50_um, row.dv90_um, row.smd_um) == pytest.approx(stored, rel=1e-12)


@pytest.mark.parametrize(
    ("typed", "unit", "stored"),
    [("21.5", "°C", 21.5), ("70.7", "°F", (70.7 - 32) * 5 / 9), ("294.65", "K", 21.5)],
)
def test_temperature_in_every_unit_is_stored_in_celsius(client, db, world, typed, unit, stored):
    world.login(world.user)
    assert _post(client, world, _form(world, temperature_c=typed, temperature_unit=unit)).status_code == 303
    assert _rows(db)[0].temperature_c == pytest.approx(stored, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("pressure_bar", "abc", "&#39;abc&#39; does not start with a number"),
        ("pressure_bar", "", "Give the pressure"),
        ("pressure_bar", "20000", "at most 1000 bar"),
        ("dv50_um", "6 mm", "at most 5000 µm (you gave 6000 µm)"),
        ("flow_rate_actual_ml_min", "3 gal", "unknown unit"),
        ("spray_cone_angle_actual", "190", "at most 180 °"),
        ("temperature_c", "500", "at most 200 °C"),
        ("actuator_sku", "NOT-RANKED", "Choose one of the actuators listed"),
        ("measurement_method", "", "Say how the droplet sizes were measured"),
    ],
)
def test_bad_input_shows_its_message_keeps_the_input_and_stores_nothing(client, db, world, field, value, words):
    world.login(world.user)
    response = _post(client, world, _form(world, **{field: value}), headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert words in html, html[html.find("field-error") - 300 : html.find("field-error") + 400]
    assert "<html" not in html  # the section alone, for htmx
    assert 'value="R. Franklin"' in html  # what was typed stays
    assert _rows(db) == []


def test_htmx_record_answers_the_section_with_the_new_result_and_a_fresh_form(client, db, world):
    world.login(world.user)
    response = _post(client, world, _form(world), headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "lab-results-changed"
    assert "<html" not in html and 'id="lab-results"' in html
    assert f"Recorded {world.sku} at 3 bar." in html and "1 result, newest first" in html
    assert 'name="dv50_um" type="text" value=""' in html  # the form is empty again for the next actuator


def test_an_instrument_csv_fills_the_sizes_is_kept_and_downloads(client, db, world):
    world.login(world.user)
    data = _form(world, dv50_um="")
    response = _confirm(client, world, data, ("run-0412.csv", CSV), headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    [row] = _rows(db)
    assert (row.dv10_um, row.dv50_um, row.dv90_um) == (22.0, 61.0, 130.0)  # the mean of the two runs
    assert "read from run-0412.csv" in html and "mean of 2 runs" in html
    download = client.get(world.url(f"lab-results/{row.id}/file"))
    assert download.status_code == 200 and download.data == CSV
    assert download.mimetype == "text/csv" and 'filename="run-0412.csv"' in download.headers["Content-Disposition"]
    world.login(world.viewer)
    assert client.get(world.url(f"lab-results/{row.id}/file")).data == CSV


def test_a_file_with_unreadable_rows_shows_each_row_error_and_stores_nothing(client, db, world):
    world.login(world.user)
    bad = "Size (µm);Volume %\n1;0\n2;5\n4;20\n8;30\n16;30\n1,2e;10\n32;x\n".encode()
    response = _post(client, world, _form(world, dv50_um=""), file=("bad.csv", bad), headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "bad.csv: row 7: size &#39;1,2e&#39; is not a number" in html
    assert "bad.csv: row 8: volume &#39;x&#39; is not a number" in html
    assert 'aria-describedby="instrument_file-error' in html or "instrument_file-error" in html
    assert _rows(db) == [] and _files(db) == 0
    # fixed and sent again: shown, confirmed, stored, and the page shows the result and no error
    good = _confirm(client, world, _form(world, dv50_um=""), ("good.csv", CSV), headers=HTMX)
    assert good.status_code == 200 and "is not a number" not in good.get_data(as_text=True)
    assert len(_rows(db)) == 1 and _files(db) == 1


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("run.xlsx", b"PK\x03\x04rest-of-zip", "Excel workbook"),
        ("run.pdf", b"%PDF-1.7 ...", "a PDF report"),
        ("run.exe", b"Dv50\n60\n", "not a CSV export"),
        ("empty.csv", b"", "is empty"),
        ("big.csv", b"Dv50\n" + b"60\n" * 400_000, "at most 1 MB"),
    ],
)
def test_files_of_the_wrong_type_or_size_are_refused_with_a_message(client, db, world, name, content, words):
    world.login(world.user)
    response = _post(client, world, _form(world, dv50_um=""), file=(name, content), headers=HTMX)
    assert response.status_code == 422
    assert words in response.get_data(as_text=True)
    assert _rows(db) == [] and _files(db) == 0


def test_the_same_file_twice_is_refused(client, db, world):
    world.login(world.user)
    assert _confirm(client, world, _form(world, dv50_um=""), ("a.csv", CSV)).status_code == 303
    again = _post(client, world, _form(world, dv50_um=""), file=("copy.csv", CSV), headers=HTMX)
    assert again.status_code == 422 and "already imported" in again.get_data(as_text=True)
    assert "Nothing is stored yet" not in again.get_data(as_text=True)  # no preview of a file already in
    assert len(_rows(db)) == 1 and _files(db) == 1


def test_a_typed_value_the_file_contradicts_is_refused(client, db, world):
    world.login(world.user)
    response = _post(client, world, _form(world, dv50_um="70"), file=("a.csv", CSV), headers=HTMX)
    assert response.status_code == 422
    assert "You typed Dv50 70 µm but the file says 61 µm" in response.get_data(as_text=True)
    assert _rows(db) == []


def test_viewer_reads_the_list_but_has_no_form_and_cannot_post(client, db, world):
    world.login(world.user)
    _post(client, world, _form(world))
    world.login(world.viewer)
    page = client.get(world.detail).get_data(as_text=True)
    assert "Lab results" in page and f"{world.sku} at 3 bar" in page
    assert "Record a lab result" not in page and 'id="lab-form"' not in page
    assert _post(client, world, _form(world)).status_code == 403
    assert len(_rows(db)) == 1


def test_empty_state_teaches_the_next_step(client, world):
    world.login(world.user)
    page = client.get(world.detail).get_data(as_text=True)
    assert "No lab results yet." in page and "record what the lab measured" in page
    world.login(world.viewer)
    assert "Team members who record results" in client.get(world.detail).get_data(as_text=True)


def test_a_user_edits_their_own_result_in_other_units_but_not_someone_elses(client, db, world):
    world.login(world.user)
    _post(client, world, _form(world))
    row = _rows(db)[0]
    edit = world.url(f"lab-results/{row.id}/edit")
    assert client.get(edit).status_code == 200
    response = client.post(
        edit,
        data={"dv50_um": "0.0705", "size_unit": "mm", "flow_rate_actual_ml_min": "0.5", "flow_unit": "L/min",
              "measurement_method": "pdpa", "temperature_c": "68", "temperature_unit": "°F"},
    )  # fmt: skip
    assert response.status_code == 303
    row = _rows(db)[0]
    assert row.dv50_um == pytest.approx(70.5, rel=1e-12) and row.flow_rate_actual_ml_min == 500.0
    assert row.temperature_c == pytest.approx(20.0, rel=1e-12) and row.measurement_method == "pdpa"
    assert row.measured_by is None  # cleared on the form: cleared in the row
    world.login(world.other)
    assert client.get(edit).status_code == 403
    assert client.post(edit, data={"dv50_um": "1", "measurement_method": "other"}).status_code == 403
    world.login(world.admin)
    assert client.get(edit).status_code == 200


def test_the_list_pages_ten_at_a_time(client, db, world):
    world.login(world.user)
    for i in range(11):
        assert _post(client, world, _form(world, dv50_um=str(50 + i))).status_code == 303
    page = client.get(world.detail).get_data(as_text=True)
    assert "11 results, newest first" in page and "Page 1 of 2" in page
    assert page.count('class="lab-result"') == 10
    second = client.get(world.post + "?page=2")
    html = second.get_data(as_text=True)
    assert second.status_code == 200 and "<html" in html and html.count('class="lab-result"') == 1
    assert "50 µm" in html  # the oldest
    fragment = client.get(world.post + "?page=2", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment and fragment.count('class="lab-result"') == 1


def _order(db, ns, skus):
    from aerospec.procurement.models import Procurement, ProcurementLineItem

    with tenant_scope(db.session, ns.tenant.id):
        order = Procurement(
            tenant_id=ns.tenant.id,
            configuration_id=ns.config_id,
            created_by_id=ns.user.id,
            reference="PO-LAB1",
            order_type="sample",
            status="delivered",
            ship_to_address={},
            idempotency_key=uuid.uuid4().hex,
        )
        db.session.add(order)
        db.session.flush()
        for i, sku in enumerate(skus):
            db.session.add(
                ProcurementLineItem(tenant_id=ns.tenant.id, procurement_id=order.id, position=i, sku=sku, qty=1)
            )
        db.session.commit()
        return order.id


def test_recording_from_the_order_page_ties_the_order(client, db, world):
    order_id = _order(db, world, [world.other_sku])
    world.login(world.user)
    page_url = world.url(f"procurements/{order_id}")
    page = client.get(page_url).get_data(as_text=True)
    assert "Recorded against order PO-LAB1" in page and f'value="{world.other_sku}"' in page
    assert f'<option value="{world.sku}"' not in page  # the order's lines only
    response = client.post(page_url + "/lab-results", data=_form(world, actuator_sku=world.other_sku))
    assert response.status_code == 303 and response.headers["Location"].endswith(f"{order_id}#lab-results")
    [row] = _rows(db)
    assert row.procurement_id == order_id and row.actuator_sku == world.other_sku
    assert f"{world.other_sku} at 3 bar" in client.get(page_url).get_data(as_text=True)
    # and on the configuration page, with a link to the order
    assert "PO-LAB1</a>" in client.get(world.detail).get_data(as_text=True)


def test_another_workspace_gets_404_everywhere(client, db, world, team):
    world.login(world.user)
    _confirm(client, world, _form(world, dv50_um=""), ("a.csv", CSV))
    row = _rows(db)[0]
    order_id = _order(db, world, [world.sku])
    stranger = team()
    world.login(stranger.admin)
    base = f"/t/{stranger.tenant.slug}"
    for path in (
        f"/configurations/{world.config_id}/lab-results",
        f"/procurements/{order_id}/lab-results",
        f"/lab-results/{row.id}/file",
        f"/lab-results/{row.id}/edit",
    ):
        assert client.get(base + path).status_code == 404, path
    assert client.post(base + f"/configurations/{world.config_id}/lab-results", data=_form(world)).status_code == 404
    assert client.post(base + f"/procurements/{order_id}/lab-results", data=_form(world)).status_code == 404
    assert len(_rows(db)) == 1


def test_an_order_whose_configuration_is_gone_says_so_and_stores_nothing(client, db, world):
    from aerospec.procurement.models import Procurement

    order_id = _order(db, world, [world.sku])
    with tenant_scope(db.session, world.tenant.id):
        db.session.get(Procurement, order_id).configuration_id = None
        db.session.commit()
    world.login(world.user)
    page_url = world.url(f"procurements/{order_id}")
    assert "configuration is no longer in the workspace" in client.get(page_url).get_data(as_text=True)
    response = client.post(page_url + "/lab-results", data=_form(world), headers=HTMX)
    assert response.status_code == 422
    assert "configuration is no longer in the workspace" in response.get_data(as_text=True)
    assert _rows(db) == []


def test_two_uploads_of_one_file_at_once_store_one(client, db, world, monkeypatch):
    """The duplicate check and the insert race: the unique index on the file's hash is the last word."""
    from aerospec.feedback import attachments

    world.login(world.user)
    data = _form(world, dv50_um="")
    _, first = _preview(client, world, data, ("a.csv", CSV))
    _, second = _preview(client, world, data, ("b.csv", CSV), headers=HTMX)  # both previewed before either is in
    assert _post(client, world, {**data, **first, "step": "confirm"}).status_code == 303
    monkeypatch.setattr(attachments, "ensure_not_imported", lambda *a, **k: None)  # as if both checked at once
    again = _post(client, world, {**data, **second, "step": "confirm"}, headers=HTMX)
    assert again.status_code == 422 and "imported by someone else a moment ago" in again.get_data(as_text=True)
    assert len(_rows(db)) == 1 and _files(db) == 1
