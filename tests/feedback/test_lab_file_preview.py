"""An instrument file on the lab-results form is shown before anything is stored (values read, method, row errors)
and stored only when confirmed; on a result's edit page a file is attached or replaced with the same checks."""

from __future__ import annotations

import base64
import io

import pytest

from aerospec.feedback import instrument
from tests.feedback.test_pages import (
    CSV,
    HTMX,
    _confirm,
    _files,
    _form,
    _hidden,
    _order,
    _post,
    _post_raw,
    _preview,
    _rows,
)
from tests.feedback.test_pages import world as world  # noqa: F401 - the fixture

SPRAYTEC = (
    b"Instrument,Malvern Spraytec\nOperator,R. Franklin\n\n"
    b"Run,Dv(10) (um),Dv(50) (um),Dv(90) (um),D[3][2]\n1,20.0,55.0,120.0,40.0\n2,22.0,57.0,124.0,42.0\n"
)
PDPA = b"Technique,Phase Doppler (PDPA)\nDv10,Dv50,Dv90\n18,50,110\n"


def test_a_file_is_shown_with_what_was_read_and_nothing_is_stored_until_confirmed(client, db, world):
    world.login(world.user)
    data = _form(world, dv50_um="", measurement_method="")
    html, hidden = _preview(client, world, data, ("spraytec-0412.csv", SPRAYTEC), headers=HTMX)
    assert "Check what was read from spraytec-0412.csv" in html
    for value in ("21 µm", "56 µm", "122 µm", "41 µm"):  # the mean of the two runs, SMD too
        assert value in html, value
    assert "Laser diffraction (named in the file: “spraytec”)" in html
    assert "Confirm and record" in html and "Discard this file" in html
    assert "Predicted" in html and "90 % band" in html  # beside the prediction it will be compared with
    assert _rows(db) == [] and _files(db) == 0
    assert base64.b64decode(hidden["pending_content"]) == SPRAYTEC and hidden["pending_token"]

    stored = _post(client, world, {**data, **hidden, "step": "confirm"}, headers=HTMX)
    assert stored.status_code == 200, stored.get_data(as_text=True)
    [row] = _rows(db)
    assert (row.dv10_um, row.dv50_um, row.dv90_um, row.smd_um) == (21.0, 56.0, 122.0, 41.0)
    assert row.measurement_method == "laser_diffraction"  # the file named it and none was chosen
    assert _files(db) == 1
    assert "Nothing is stored yet" not in stored.get_data(as_text=True)


def test_confirming_twice_stores_one_result_and_says_the_file_is_in(client, db, world):
    world.login(world.user)
    data = _form(world, dv50_um="")
    _, hidden = _preview(client, world, data, ("a.csv", CSV), headers=HTMX)
    assert _post(client, world, {**data, **hidden, "step": "confirm"}, headers=HTMX).status_code == 200
    again = _post(client, world, {**data, **hidden, "step": "confirm"}, headers=HTMX)  # a double click, the back button
    assert again.status_code == 422
    assert "a.csv was already imported" in again.get_data(as_text=True)
    assert len(_rows(db)) == 1 and _files(db) == 1


def test_discarding_the_previewed_file_stores_nothing_and_forgets_it(client, db, world):
    world.login(world.user)
    response = _confirm(client, world, _form(world, dv50_um=""), ("a.csv", CSV), headers=HTMX, step="discard")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "The file was discarded; nothing was stored." in html
    assert 'name="pending_content" type="hidden" value=""' in html
    assert _rows(db) == [] and _files(db) == 0


def test_a_changed_preview_is_refused_and_stores_nothing(client, db, world):
    world.login(world.user)
    data = _form(world, dv50_um="")
    _, hidden = _preview(client, world, data, ("a.csv", CSV), headers=HTMX)
    other = b"Dv10,Dv50,Dv90\n5,6,7\n"
    forged = {**hidden, "pending_content": base64.b64encode(other).decode(), "step": "confirm"}
    response = _post(client, world, {**data, **forged}, headers=HTMX)
    assert response.status_code == 422
    assert "The preview does not match the file it showed" in response.get_data(as_text=True)
    assert _rows(db) == [] and _files(db) == 0


def test_a_typed_field_to_fix_keeps_the_file_and_the_next_submit_shows_it_again(client, db, world):
    world.login(world.user)
    first = _post(client, world, _form(world, dv50_um="", pressure_bar=""), file=("a.csv", CSV), headers=HTMX)
    assert first.status_code == 422 and "Give the pressure the actuator was tested at." in first.get_data(as_text=True)
    hidden = _hidden(first.get_data(as_text=True))
    assert base64.b64decode(hidden["pending_content"]) == CSV
    shown = _post(client, world, {**_form(world, dv50_um=""), **hidden}, headers=HTMX)  # "Record result": a preview
    assert shown.status_code == 200 and "Nothing is stored yet" in shown.get_data(as_text=True)
    assert _rows(db) == []


def test_the_method_the_file_names_against_another_chosen_is_a_field_message(client, db, world):
    world.login(world.user)
    response = _post(client, world, _form(world, dv50_um="", measurement_method="laser_diffraction"),
                     file=("pdpa.csv", PDPA), headers=HTMX)  # fmt: skip
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "You chose Laser diffraction but the file names PDPA (phase Doppler)" in html
    assert _rows(db) == []


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        # Sizes in mm read as µm by a careless header would be tens of thousands of µm: outside any spray.
        ("mm.csv", b"Dv10 (mm),Dv50 (mm),Dv90 (mm)\n20,60,130\n", "Dv10 reads 20,000 µm, outside what a spray"),
        ("tiny.csv", b"Dv10,Dv50,Dv90\n0.01,0.02,0.03\n", "outside what a spray"),
        ("run.csv", b"%PDF-1.7\n1 0 obj <<>>\n", "is a PDF report"),  # not what its name claims
        ("run.csv", b"PK\x03\x04\x14\x00\x06\x00", "Excel workbook"),
        ("run.csv", b"<html><body>Dv50 report</body></html>\n", "no column for Dv10, Dv50, Dv90 or SMD"),
        ("crossed.csv", b"Dv10,Dv50,Dv90\n30,20,10\n", "percentiles of one run cannot cross"),
        ("rows.csv", b"Dv10,Dv50,Dv90\n20,abc,130\n21,61,\n", "row 2: Dv50 &#39;abc&#39; is not a number"),
    ],
)
def test_a_file_that_cannot_be_used_gets_no_preview_and_says_why(client, db, world, name, content, words):
    world.login(world.user)
    response = _post(client, world, _form(world, dv50_um=""), file=(name, content), headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert words in html, html[:3000]
    assert "Nothing is stored yet" not in html and 'name="pending_content" type="hidden" value=""' in html
    assert _rows(db) == [] and _files(db) == 0


def test_on_the_order_page_a_confirmed_file_is_tied_to_the_order_and_a_preview_from_elsewhere_is_refused(
    client, db, world
):
    order_id = _order(db, world, [world.other_sku])
    world.login(world.user)
    url = world.url(f"procurements/{order_id}/lab-results")
    data = _form(world, actuator_sku=world.other_sku, dv50_um="")
    # A preview made on the configuration's page does not confirm on the order's (its signature names the page).
    _, elsewhere = _preview(client, world, data, ("a.csv", CSV), headers=HTMX)
    moved = client.post(url, data={**data, **elsewhere, "step": "confirm"}, headers=HTMX)
    assert moved.status_code == 422 and "The preview does not match" in moved.get_data(as_text=True)
    shown = client.post(url, data={**data, "instrument_file": (io.BytesIO(CSV), "a.csv")}, headers=HTMX,
                        content_type="multipart/form-data")  # fmt: skip
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "Nothing is stored yet" in html and _rows(db) == []
    stored = client.post(url, data={**data, **_hidden(html), "step": "confirm"}, headers=HTMX)
    assert stored.status_code == 200
    [row] = _rows(db)
    assert row.procurement_id == order_id and row.dv50_um == 61.0 and _files(db) == 1


def test_method_words_in_an_export_name_one_method_or_none():
    assert instrument.detect_method("Instrument,Sympatec HELOS\nDv50\n50\n")[0] == "laser_diffraction"
    assert instrument.detect_method("System: Artium PDI\n")[0] == "pdpa"
    assert instrument.detect_method("Shadowgraph run\n")[0] == "imaging"
    assert instrument.detect_method("Dv10,Dv50,Dv90\n1,2,3\n") == (None, None)
    # Two methods named: a person must say which.
    assert instrument.detect_method("Spraytec; compared with phase Doppler\n") == (None, None)


# ---- the edit page


def _edit(client, world, row_id, data, file=None):
    if file is not None and len(file[1]) > 500_000:
        return _post_raw(client, world, data, file, None, url=world.url(f"lab-results/{row_id}/edit"))
    body = dict(data)
    if file is not None:
        body["instrument_file"] = (io.BytesIO(file[1]), file[0])
    return client.post(world.url(f"lab-results/{row_id}/edit"), data=body, content_type="multipart/form-data")


def _typed(client, db, world, **extra):
    assert _post(client, world, _form(world, **extra)).status_code == 303
    return _rows(db)[-1]


def _edit_form(**extra):
    return {"dv50_um": "61.5", "size_unit": "µm", "measurement_method": "laser_diffraction", **extra}


def test_a_file_is_attached_on_the_edit_page_and_its_sizes_replace_the_stored_ones(client, db, world):
    world.login(world.user)
    row = _typed(client, db, world)  # Dv50 61.5 typed, no file
    page = client.get(world.url(f"lab-results/{row.id}/edit")).get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'name="instrument_file"' in page
    assert "No instrument file is attached to this result" in page
    response = _edit(client, world, row.id, _edit_form(), file=("run-7.csv", CSV))
    assert response.status_code == 303, response.get_data(as_text=True)
    [row] = _rows(db)
    assert (row.dv10_um, row.dv50_um, row.dv90_um) == (22.0, 61.0, 130.0)
    assert _files(db) == 1
    assert client.get(world.url(f"lab-results/{row.id}/file")).data == CSV
    assert "run-7.csv" in client.get(world.url(f"lab-results/{row.id}/edit")).get_data(as_text=True)


def test_a_file_on_the_edit_page_replaces_the_one_the_result_had(client, db, world):
    world.login(world.user)
    _confirm(client, world, _form(world, dv50_um=""), ("first.csv", CSV))
    [row] = _rows(db)
    response = _edit(client, world, row.id, _edit_form(dv10_um="22", dv50_um="61", dv90_um="130"),
                     file=("second.csv", SPRAYTEC))  # fmt: skip
    assert response.status_code == 303, response.get_data(as_text=True)
    [row] = _rows(db)
    assert (row.dv10_um, row.dv50_um, row.dv90_um, row.smd_um) == (21.0, 56.0, 122.0, 41.0)
    assert _files(db) == 1
    assert client.get(world.url(f"lab-results/{row.id}/file")).data == SPRAYTEC
    # the first file is free again: it can go on another result
    assert _confirm(client, world, _form(world, dv50_um=""), ("first.csv", CSV)).status_code == 303


@pytest.mark.parametrize(
    ("file", "words"),
    [
        (("run.csv", b"%PDF-1.4 not a csv"), "is a PDF report"),
        (("run.txt", b"Dv10 (mm),Dv50 (mm),Dv90 (mm)\n20,60,130\n"), "outside what a spray"),
        (("run.exe", b"Dv50\n60\n"), "not a CSV export"),
        (("big.csv", b"Dv50\n" + b"60\n" * 400_000), "at most 1 MB"),
        (("rows.csv", b"Dv10,Dv50,Dv90\n20,abc,130\n"), "is not a number"),
    ],
)
def test_the_edit_page_refuses_a_file_as_recording_does_and_changes_nothing(client, db, world, file, words):
    world.login(world.user)
    row = _typed(client, db, world)
    response = _edit(client, world, row.id, _edit_form(dv50_um="70"), file=file)
    assert response.status_code == 422
    assert words in response.get_data(as_text=True)
    [after] = _rows(db)
    assert after.dv50_um == 61.5 and _files(db) == 0


def test_the_edit_page_refuses_a_file_already_on_another_result_or_already_on_this_one(client, db, world):
    world.login(world.user)
    _confirm(client, world, _form(world, dv50_um=""), ("a.csv", CSV))
    row = _typed(client, db, world, actuator_sku=world.other_sku)
    elsewhere = _edit(client, world, row.id, _edit_form(), file=("copy.csv", CSV))
    assert elsewhere.status_code == 422 and "a.csv was already imported" in elsewhere.get_data(as_text=True)
    first = _rows(db)[0]
    same = _edit(client, world, first.id, _edit_form(dv10_um="22", dv50_um="61", dv90_um="130"), file=("a.csv", CSV))
    assert same.status_code == 422 and "already this result&#39;s file" in same.get_data(as_text=True)
    assert _files(db) == 1


def test_a_size_changed_on_the_edit_page_that_the_file_contradicts_is_a_field_message(client, db, world):
    world.login(world.user)
    row = _typed(client, db, world)
    response = _edit(client, world, row.id, _edit_form(dv50_um="75"), file=("a.csv", CSV))
    assert response.status_code == 422
    assert "You typed Dv50 75 µm but the file says 61 µm" in response.get_data(as_text=True)
    assert _rows(db)[0].dv50_um == 61.5 and _files(db) == 0
