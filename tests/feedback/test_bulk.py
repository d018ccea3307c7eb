"""Bulk CSV import of lab results through the pages: a preview that stores nothing, row-level errors in words,
one transaction on confirm (all or none), a second confirm or the same file again adds nothing, limits, units,
the role matrix, and another workspace's configuration answers 404."""

from __future__ import annotations

import base64
import io
import re
import uuid

import pytest
from sqlalchemy import func, select

from aerospec.feedback.bulk import PSI_TO_BAR
from aerospec.feedback.models import Feedback, FeedbackAggregate, FeedbackImport
from aerospec.tenancy.scoping import tenant_scope, unscoped

HEADER = "actuator_sku,pressure_bar,spray_cone_angle_actual,dv50_um,measurement_method,pass_fail,notes\n"


@pytest.fixture
def lab(team, make_config, seeded_catalog, login, db):
    """A team, a ranked configuration, two of its ranked SKUs, and the user logged in."""
    ns = team()
    config = make_config(ns.tenant, ns.user)
    ns.config_id = config.id
    ns.skus = [e["sku"] for e in config.compatible_actuators[:2]]
    ns.url = f"/t/{ns.tenant.slug}/configurations/{config.id}/lab-results/import"
    login(ns.user)
    return ns


def _count(db, model=Feedback) -> int:
    with unscoped(db.session, "tests count rows in every workspace"):
        return db.session.scalar(select(func.count(model.id)))


def _upload(client, lab, text: str | bytes, *, name="results.csv", order=""):
    data = text.encode() if isinstance(text, str) else text
    return client.post(
        lab.url,
        data={"file": (io.BytesIO(data), name), "order": order},
        content_type="multipart/form-data",
    )


def _confirm_fields(html: str) -> dict:
    fields = {}
    for name in ("content", "token", "filename", "order"):
        match = re.search(rf'name="{name}" type="hidden" value="([^"]*)"', html) or re.search(
            rf'type="hidden" name="{name}" value="([^"]*)"', html
        )
        if match is None:
            match = re.search(rf'id="{name}" name="{name}" type="hidden" value="([^"]*)"', html)
        fields[name] = match.group(1) if match else None
    return fields


def _good_file(lab) -> str:
    a, b = lab.skus
    return HEADER + f"{a},3,58,61.5,laser_diffraction,pass,first\n{b},2.5,64,,,fail,\n\n{a},4,55,70,PDPA,pass,\n"


def test_the_configuration_page_links_the_import_for_those_who_may_record(client, db, lab, login):
    page = client.get(f"/t/{lab.tenant.slug}/configurations/{lab.config_id}").get_data(as_text=True)
    assert f'href="{lab.url}"' in page and "Import lab results (CSV)" in page
    login(lab.viewer)
    page = client.get(f"/t/{lab.tenant.slug}/configurations/{lab.config_id}").get_data(as_text=True)
    assert lab.url not in page
    assert client.get(lab.url).status_code == 403
    assert _upload(client, lab, _good_file(lab)).status_code == 403
    assert _count(db) == 0


def test_the_page_documents_the_columns_and_the_template_downloads(client, lab):
    page = client.get(lab.url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for column in ("actuator_sku", "pressure_psi", "dv50_um", "measurement_method", "notes"):
        assert f"<code>{column}</code>" in html
    assert "All or nothing" in html
    template = client.get(lab.url + "/template.csv")
    assert template.status_code == 200 and template.mimetype == "text/csv"
    lines = template.get_data(as_text=True).splitlines()
    assert lines[0].startswith("actuator_sku,pressure_bar,pressure_psi,")
    assert lines[1].startswith(f"{lab.skus[0]},5,")  # the configuration's pressure (5 bar)


def test_preview_shows_each_row_beside_its_prediction_and_stores_nothing(client, db, lab):
    response = _upload(client, lab, _good_file(lab))
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    html = response.get_data(as_text=True)
    assert "All 3 rows can be imported." in html
    assert "Import 3 lab results" in html
    assert re.search(r"Cone: 58 ° measured; [\d.]+ ° predicted \([\d.]+–[\d.]+\)", html), html
    assert "Dv50: 61.5 µm measured" in html
    assert _count(db) == 0 and _count(db, FeedbackImport) == 0


def test_confirm_stores_every_row_once_and_a_second_confirm_adds_nothing(client, db, lab):
    fields = _confirm_fields(_upload(client, lab, _good_file(lab)).get_data(as_text=True))
    assert fields["token"] and fields["content"]
    done = client.post(lab.url + "/confirm", data=fields)
    assert done.status_code == 303
    assert done.headers["Location"].endswith(f"/configurations/{lab.config_id}")
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Imported 3 lab results from results.csv." in page
    with tenant_scope(db.session, lab.tenant.id):
        rows = list(db.session.scalars(select(Feedback).order_by(Feedback.pressure_bar)))
        assert [(r.actuator_sku, r.pressure_bar, r.pass_fail) for r in rows] == [
            (lab.skus[1], 2.5, "fail"),
            (lab.skus[0], 3.0, "pass"),
            (lab.skus[0], 4.0, "pass"),
        ]
        first = rows[1]
        assert first.issue_description == "first" and first.measurement_method == "laser_diffraction"
        assert rows[2].measurement_method == "pdpa"
        assert first.prediction["pressure_bar"] == 3.0 and first.prediction["cone_deg"] > 0
        assert first.created_by_id == lab.user.id
        record = db.session.scalar(select(FeedbackImport))
        assert record.row_count == 3 and sorted(record.feedback_ids) == sorted(str(r.id) for r in rows)
        # The aggregates job ran for each new result (inline here).
        counts = {a.actuator_sku: a.result_count for a in db.session.scalars(select(FeedbackAggregate))}
        assert counts == {lab.skus[0]: 2, lab.skus[1]: 1}
    again = client.post(lab.url + "/confirm", data=fields)
    assert again.status_code == 303
    assert "This file was already imported into this configuration" in client.get(again.headers["Location"]).get_data(
        as_text=True
    )
    assert _count(db) == 3 and _count(db, FeedbackImport) == 1
    # The same file uploaded again (with other line endings) is recognised before anything is confirmed.
    repeat = _upload(client, lab, _good_file(lab).replace("\n", "\r\n"), name="copy.csv")
    html = repeat.get_data(as_text=True)
    assert repeat.status_code == 422 and "Already imported." in html and "Import 3 lab results" not in html


def test_row_errors_name_the_row_the_column_and_the_value_and_nothing_is_stored(client, db, lab):
    a = lab.skus[0]
    text = (
        HEADER
        + f"{a},3,58,61.5,laser_diffraction,pass,\n"  # row 2: fine
        + "NOT-RANKED-9,3,58,,,,\n"  # row 3
        + f"{a},3,58,abc,laser_diffraction,,\n"  # row 4
        + f"{a},,58,,,,\n"  # row 5
        + f"{a},3,200,,,,\n"  # row 6
        + f"{a},3,,61.5,,,\n"  # row 7: a size without its method
        + f"{a},3,58,61.5,guesswork,,\n"  # row 8
        + f"{a},3,,,,,\n"  # row 9: nothing measured
        + f'{a},3,58,"61,5",laser_diffraction,,\n'  # row 10: a decimal comma
    )
    response = _upload(client, lab, text)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "row 3: NOT-RANKED-9 is not in this configuration&#39;s saved ranking" in html
    assert "row 4: dv50_um &#39;abc&#39; is not a number." in html
    assert "row 5: the pressure tested is missing (pressure_bar or pressure_psi)." in html
    assert "row 6: spray_cone_angle_actual: Must be &gt; 0 and ≤ 180 ° (got 200)" in html
    assert "row 7: measurement_method: Say how the droplet sizes were measured" in html
    assert "row 8: measurement_method:" in html
    assert "row 9: Give at least one of:" in html
    assert "row 10: dv50_um &#39;61,5&#39; is not a number (use a point for decimals)." in html
    assert "Nothing can be imported yet:" in html
    assert not re.search(r"Import \d+ lab result", html)  # no confirm button
    assert 'name="token"' not in html  # no confirm form
    assert _count(db) == 0


def test_pressure_in_psi_is_stored_in_bar_and_predicted_there(client, db, lab):
    a = lab.skus[0]
    text = f"actuator_sku,pressure_psi,dv50_um,measurement_method\n{a},43.5,60,imaging\n"
    response = _upload(client, lab, text)
    assert response.status_code == 200, response.get_data(as_text=True)[:3000]
    assert "(43.5 psi)" in response.get_data(as_text=True)
    assert client.post(lab.url + "/confirm", data=_confirm_fields(response.get_data(as_text=True))).status_code == 303
    with tenant_scope(db.session, lab.tenant.id):
        row = db.session.scalar(select(Feedback))
    assert row.pressure_bar == pytest.approx(43.5 * PSI_TO_BAR) == pytest.approx(2.999219, abs=1e-6)
    assert row.prediction["pressure_bar"] == pytest.approx(row.pressure_bar, abs=0.005)  # as the engine rounds it
    # Out of range in psi: the message gives the psi and the bar it is.
    bad = _upload(client, lab, f"actuator_sku,pressure_psi,dv50_um,measurement_method\n{a},20000,60,imaging\n")
    assert "row 2: pressure_psi (20000 psi = 1379 bar): Must be &gt; 0 and ≤ 1000 bar" in bad.get_data(as_text=True)
    both = _upload(client, lab, f"actuator_sku,pressure_bar,pressure_psi,dv50_um,measurement_method\n{a},3,43,60,x\n")
    assert "row 2: give pressure_bar or pressure_psi, not both." in both.get_data(as_text=True)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "Choose a CSV file to upload."),
        (b"\xff\xfe\x00a\x00b", "The file is not UTF-8 text"),
        (b"actuator_sku,pressure_bar\x00\n", "holds binary data"),
        (b"sku,pressure_bar\nA,3\n", "Unknown column: sku."),
        (b"actuator_sku,dv50_um\nA,3\n", "A pressure column is missing"),
        (b"actuator_sku,pressure_bar\n\n\n", "The file has a header but no results."),
        (b"actuator_sku,pressure_bar,pressure_bar\nA,3,3\n", "Column given twice: pressure_bar."),
    ],
)
def test_a_file_that_cannot_be_read_says_why(client, db, lab, content, words):
    response = _upload(client, lab, content)
    assert response.status_code == 422
    assert words in response.get_data(as_text=True).replace("&#39;", "'")
    assert _count(db) == 0


def test_limits_on_rows_and_size_are_stated(client, db, lab, app, monkeypatch):
    a = lab.skus[0]
    monkeypatch.setitem(app.config, "FEEDBACK_IMPORT_MAX_ROWS", 3)
    rows = "".join(f"{a},3,58,,,,\n" for _ in range(4))
    html = _upload(client, lab, HEADER + rows).get_data(as_text=True)
    assert "The file has 4 results; at most 3 can be imported at once. Split it into several files." in html
    monkeypatch.setitem(app.config, "FEEDBACK_IMPORT_MAX_BYTES", 1024)
    big = _upload(client, lab, HEADER + f"{a},3,58,,,,{'x' * 1100}\n")
    assert big.status_code == 422 and "The file is larger than 1 KB; split it into several files." in big.get_data(
        as_text=True
    )
    assert _count(db) == 0


def test_a_changed_file_at_confirm_is_refused_and_stores_nothing(client, db, lab):
    fields = _confirm_fields(_upload(client, lab, _good_file(lab)).get_data(as_text=True))
    tampered = base64.b64decode(fields["content"]).decode().replace("61.5", "62.5")
    fields["content"] = base64.b64encode(tampered.encode()).decode()
    response = client.post(lab.url + "/confirm", data=fields)
    assert response.status_code == 303 and response.headers["Location"].endswith("/lab-results/import")
    assert "The file changed since its preview" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert _count(db) == 0 and _count(db, FeedbackImport) == 0


def test_results_can_be_tied_to_an_order_of_the_configuration(client, db, lab, factories):
    from tests.tenancy.test_guard import _procurement_rows

    with tenant_scope(db.session, lab.tenant.id):
        _procurement_rows(db, lab.tenant, lab.user)
        from aerospec.procurement.models import Procurement

        order = db.session.scalar(select(Procurement))
        order.configuration_id = lab.config_id
        order_id = order.id
        db.session.commit()
    page = client.get(f"{lab.url}?order={order_id}").get_data(as_text=True)
    assert f'<option selected value="{order_id}">' in page
    response = _upload(client, lab, _good_file(lab), order=str(order_id))
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert client.post(lab.url + "/confirm", data=_confirm_fields(response.get_data(as_text=True))).status_code == 303
    with tenant_scope(db.session, lab.tenant.id):
        assert set(db.session.scalars(select(Feedback.procurement_id))) == {order_id}
    stranger = _upload(client, lab, _good_file(lab), order=str(uuid.uuid4()))
    assert stranger.status_code == 422 and "Not a valid choice" in stranger.get_data(as_text=True)


def test_another_workspaces_configuration_is_404_on_every_import_route(client, db, lab, team, make_config, login):
    other = team()
    theirs = make_config(other.tenant, other.user)
    for url in (
        f"/t/{lab.tenant.slug}/configurations/{theirs.id}/lab-results/import",
        f"/t/{other.tenant.slug}/configurations/{theirs.id}/lab-results/import",
    ):
        assert client.get(url).status_code == 404
        assert client.get(url + "/template.csv").status_code == 404
        assert _upload(client, type("L", (), {"url": url}), _good_file(lab)).status_code == 404
        assert client.post(url + "/confirm", data={"content": "", "token": ""}).status_code == 404
    assert _count(db) == 0
