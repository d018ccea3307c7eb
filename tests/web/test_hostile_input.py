"""No 500 on any input (issue 10): each kind of input that answered 500, on pages and the API.

Every case answers 400/413/422 problem+json on the API, or the page again with the field's
message, and writes nothing (every table's row count is the same after). The property-based
sweep of every endpoint and form is tests/web/test_fuzz.py.
"""

from __future__ import annotations

import inspect
import io
import json
import re
import uuid

import pytest

from tests.api.conftest import assert_problem
from tests.billing.helpers import SECRET, sign
from tests.catalog.test_sds_views import upload
from tests.web.hostile import ADMIN_LIST_PAGES, API_LISTS, LIST_PAGES, SHIP_TO, changed, row_counts

DEEP = "[" * 100_000 + "]" * 100_000
NUL = "Remove the NUL character"
SURROGATE = "unpaired surrogate"
FINITE = "Must be a finite number."
HUGE = "9223372036854775807"


def _path(rule: str, world) -> str:
    ids = world.ids
    values = {
        "config_id": ids.config,
        "procurement_id": ids.order,
        "feedback_id": ids.feedback,
        "endpoint_id": ids.endpoint,  # issue 14's webhooks
        "delivery_id": ids.delivery,
        "user_id": ids.user,
        "invoice_id": uuid.uuid4(),
        "target_id": uuid.uuid4(),  # the admin API (issue 13): a subscription or workspace id
        "key_id": uuid.uuid4(),  # issue 14's API keys: parse_body answers before the key is looked up
        "actuator_id": uuid.uuid4(),  # issue 12's own actuators: PUT parses the body before the lookup
        "token": ids.token,
    }
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: str(values[m.group(1)]), rule)


def _json_endpoints(app) -> list[tuple[str, str]]:
    """(method, rule) of every API route whose view parses a JSON body."""
    found = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.rule.startswith("/api/") and "parse_body(" in inspect.getsource(inspect.unwrap(view)):
            found.extend((method, rule.rule) for method in sorted(rule.methods & {"POST", "PUT", "DELETE"}))
    return sorted(found)


def _raw(world, method: str, path: str, text: str, **headers):
    """Send `text` as the JSON body, byte for byte (json= would re-encode a lone surrogate)."""
    return world.client.open(
        path,
        method=method,
        data=text.encode("utf-8", "surrogatepass"),
        content_type="application/json",
        headers={**world.bearer, **headers},
    )


def _page_refused(response, *messages: str) -> str:
    html = response.get_data(as_text=True)
    assert response.status_code in (200, 422), (response.status_code, html[:400])
    assert response.mimetype == "text/html"
    for message in messages:
        assert message in html, message
    return html


# ---- JSON nested 100,000 deep


def test_json_nested_100000_deep_is_400_on_every_json_endpoint(world, app, db):
    endpoints = _json_endpoints(app)
    # and the Stripe webhook, below (issue 13 added extend-trial and impersonate; issue 12 POST /api/feedback and
    # PUT /api/feedback/<id>; issue 14 POST /api/keys and POST /api/keys/<id>/rotate, and five webhook routes;
    # POST /api/ml/custom-models/train; issue 12 item 7 POST /api/actuators and PUT /api/actuators/<id>)
    assert len(endpoints) == 35
    before = row_counts(db)
    for method, rule in endpoints:
        response = _raw(world, method, _path(rule, world), DEEP)
        body = assert_problem(response, 400)
        assert "nested too deeply" in body["detail"], (rule, body)
    assert changed(before, row_counts(db)) == {}


def test_json_nested_100000_deep_is_400_on_the_unauthenticated_auth_endpoints(app, db, client):
    for path in ("/api/auth/login", "/api/auth/signup", "/api/auth/forgot-password", "/api/auth/refresh"):
        response = client.post(path, data=DEEP, content_type="application/json")
        assert "nested too deeply" in assert_problem(response, 400)["detail"]


def test_a_signed_stripe_event_nested_100000_deep_is_refused_with_400(app, db, client, monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", SECRET)
    payload = '{"id": "evt_deep", "type": "invoice.paid", "data": {"object": ' + DEEP + "}}"
    before = row_counts(db)
    response = client.post(
        "/api/webhooks/stripe",
        data=payload,
        content_type="application/json",
        headers={"Stripe-Signature": sign(payload)},
    )
    assert response.status_code == 400
    assert "nested too deeply" in response.get_data(as_text=True)
    assert changed(before, row_counts(db)) == {}


def test_a_signed_stripe_event_with_a_nul_in_a_string_is_refused_with_400(app, db, client, monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", SECRET)
    payload = json.dumps({"id": "evt_nul", "type": "invoice.paid", "data": {"object": {"id": "in_\u0000"}}})
    response = client.post(
        "/api/webhooks/stripe",
        data=payload,
        content_type="application/json",
        headers={"Stripe-Signature": sign(payload)},
    )
    assert response.status_code == 400 and NUL in response.get_data(as_text=True)


# ---- NUL bytes and lone surrogates in API bodies


API_TEXT_CASES = [
    ("POST", "/api/auth/login", {"email": "a\u0000@example.com", "password": "x"}, "email"),
    ("POST", "/api/auth/forgot-password", {"email": "a\u0000@example.com"}, "email"),
    ("POST", "/api/configurations", {"name": "Pump\u0000"}, "name"),
    ("POST", "/api/configurations", {"description": "\u0000"}, "description"),
    ("POST", "/api/configurations", {"tags": ["ok", "x\u0000"]}, "tags.1"),
    ("PUT", "/api/tenants/me", {"name": "Acme\u0000"}, "name"),
    ("POST", "/api/procurements", {"notes": "\u0000"}, "notes"),
    ("POST", "/api/procurements", {"ship_to_address": {**SHIP_TO, "city": "Bos\u0000ton"}}, "ship_to_address.city"),
    ("POST", "/api/procurements", {"items": [{"sku": "SP\u0000", "qty": 1}]}, "items.0.sku"),
    ("POST", "/api/procurements/compare", {"items": [{"sku": "SP\u0000", "qty": 1}]}, "items.0.sku"),
]


@pytest.mark.parametrize("marker", ["\\u0000", "\\ud800", "\\udfff"], ids=["nul", "high-surrogate", "low-surrogate"])
@pytest.mark.parametrize(("method", "path", "body", "field"), API_TEXT_CASES, ids=lambda v: str(v)[:30])
def test_nul_and_lone_surrogates_in_api_strings_are_422_on_the_field(world, db, method, path, body, field, marker):
    text = json.dumps(body).replace("\\u0000", marker)
    before = row_counts(db)
    problem = assert_problem(_raw(world, method, path, text), 422, fields=(field,))
    assert (NUL if marker == "\\u0000" else SURROGATE) in problem["errors"][field][0]
    assert changed(before, row_counts(db)) == {}


def test_a_lone_surrogate_in_a_field_name_is_422(world, db):
    problem = assert_problem(_raw(world, "POST", "/api/configurations", '{"na\\ud800me": "x"}'), 422)
    assert SURROGATE in json.dumps(problem["errors"])


# ---- NUL in query parameters (pages and API)


def test_nul_in_query_parameters_is_422_naming_the_parameter(world, db):
    ids = world.ids
    pages = [
        world.url("configurations?q=a%00b"),
        world.url("fluids?q=a%00b"),
        world.url("procurements?q=a%00b"),
        world.url("audit?actor=a%00b"),
        world.url(f"configurations/{ids.config}/quotes/card?supplier=spencer&sku=a%00b"),
        world.url("configurations/new?q=a%00b"),
        "/admin/tenants?q=a%00b",
    ]
    for path in pages:
        response = world.client.get(path)
        assert response.status_code == 422, path
        assert NUL in response.get_data(as_text=True), path
    for path in ("/api/configurations?q=a%00b", "/api/procurements?q=a%00b", "/api/procurements?st%00atus=x"):
        assert_problem(world.client.get(path, headers=world.bearer), 422)
    assert world.client.get(world.url("configurations") + "%00").status_code == 404


# ---- NUL in page forms: the form again, with the message on the field


def test_nul_in_form_fields_shows_the_form_again_with_the_message(world, db, app):
    ids = world.ids
    cases = [
        (world.url("settings"), {"name": "Acme\x00", "billing_email": "billing@example.com"}),
        (world.url("members/invite"), {"email": "x\x00@example.com", "role": "user"}),
        (
            world.url("fluids/new"),
            {"name": "Base\x00", "category": "other", "viscosity_cp": "1", "density_kg_m3": "1000"}
            | {"surface_tension_mn_m": "40", "notes": "n"},
        ),
        (world.url(f"fluids/{ids.fluid}/edit"), {"name": "Base", "notes": "\x00", "viscosity_cp": "1"}),
        (world.url(f"configurations/{ids.config}/edit"), {"name": "Pump", "description": "\x00", "status": "draft"}),
        (
            world.url("procurements/new"),
            {"order_type": "sample", "items-0-sku": ids.sku, "items-0-qty": "5", "selected_supplier": "spencer"}
            | {f"ship_to_address-{k}": v for k, v in SHIP_TO.items()}
            | {"ship_to_address-city": "Bos\x00ton", "notes": "\x00"},
        ),
        (
            world.url("configurations"),
            {"step": "results", "viscosity_cp": "1", "density_kg_m3": "997", "surface_tension_mn_m": "72"}
            | {"pressure_bar": "5", "cone_deg": "60", "name": "Pump\x00"},
        ),
    ]
    before = row_counts(db)
    for path, data in cases:
        _page_refused(world.client.post(path, data=data), NUL)
    assert changed(before, row_counts(db)) == {}


def test_nul_in_the_login_email_shows_the_login_form_with_the_message(app, db, client):
    before = row_counts(db)
    response = client.post("/login", data={"email": "a\x00@example.com", "password": "whatever it is"})
    _page_refused(response, NUL)
    assert changed(before, row_counts(db)) == {}


def test_nul_in_an_sds_file_name_shows_the_upload_form_with_the_message(world, db):
    from tests.catalog.sds_pdfs import text_layout_sds

    before = row_counts(db)
    response = upload(world.client, lambda _tenant, path: world.url(path), world.tenant, text_layout_sds(), "a\x00.pdf")
    html = _page_refused(response, NUL)
    assert '<label for="file">' in html
    assert changed(before, row_counts(db)) == {}


# ---- numbers: 1e400, NaN, 400 digits


def test_1e400_in_numeric_api_fields_is_422_on_the_field(world, db):
    before = row_counts(db)
    for path, text, field in [
        ("/api/configurations", '{"name": "P", "fluid_viscosity_cP": 1e400}', "fluid_viscosity_cP"),
        ("/api/configurations", '{"name": "P", "target_spray_cone_deg": -1e400}', "target_spray_cone_deg"),
        (
            "/api/configurations/predict",
            '{"fluid_viscosity_cP": 1, "fluid_density_kg_m3": 1e400, "fluid_surface_tension_mN_m": 72, '
            '"pressure_bar": 5}',
            "fluid_density_kg_m3",
        ),
    ]:
        problem = assert_problem(_raw(world, "POST", path, text), 422, fields=(field,))
        assert problem["errors"][field] == [FINITE]
    assert changed(before, row_counts(db)) == {}


def test_1e400_in_numeric_form_fields_and_actuator_filters_gets_a_field_message(world, db):
    ids = world.ids
    before = row_counts(db)
    fluid = {"name": "Base", "category": "other", "viscosity_cp": "1e400", "density_kg_m3": "1000"}
    _page_refused(world.client.post(world.url("fluids/new"), data=fluid | {"surface_tension_mn_m": "40"}), "finite")
    edit = {"name": "Pump", "status": "draft", "fluid_viscosity_cP": "1e400"}
    response = world.client.post(world.url(f"configurations/{ids.config}/edit"), data=edit)
    assert response.status_code == 422 and "Viscosity" in response.get_data(as_text=True)
    for name in ("viscosity", "orifice_min", "pressure_min"):
        response = world.client.get(world.url(f"actuators?{name}=1e400"))
        assert response.status_code == 200 and "finite" in response.get_data(as_text=True), name
    wizard = world.client.get(world.url("configurations/new?step=targets&viscosity_cp=1e400"))
    assert wizard.status_code == 200
    assert changed(before, row_counts(db)) == {}


def test_nan_and_infinity_inside_compatible_actuators_are_422(world, db):
    before = row_counts(db)
    base = '{"name": "P", "fluid_viscosity_cP": 1, "fluid_density_kg_m3": 997, "fluid_surface_tension_mN_m": 72, '
    base += '"target_spray_cone_deg": 60, "max_pressure_bar": 5, "compatible_actuators": '
    for literal in ("NaN", "Infinity", "-Infinity", "1e400"):
        text = base + f'[{{"sku": "{world.ids.sku}", "score": {literal}}}]}}'
        problem = assert_problem(_raw(world, "POST", "/api/configurations", text), 422)
        assert problem["errors"] == {"compatible_actuators.0.score": [FINITE]}, literal
    assert changed(before, row_counts(db)) == {}


def test_nan_inside_compatible_actuators_is_refused_by_the_service_too(world, db):
    from aerospec.configurations import services as configs
    from aerospec.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        configs.clean({"compatible_actuators": [{"sku": "X", "score": float("nan")}]}, partial=True)
    assert caught.value.field_errors == {"compatible_actuators.0.score": [FINITE]}


def test_a_400_digit_quantity_is_422_on_the_api_and_a_field_message_on_the_page(world, db):
    ids = world.ids
    digits = "9" * 400
    before = row_counts(db)
    for path in ("/api/procurements", "/api/procurements/compare"):
        text = f'{{"items": [{{"sku": "{ids.sku}", "qty": {digits}}}]}}'
        assert_problem(_raw(world, "POST", path, text), 422, fields=("items.0.qty",))
    text = f'{{"configuration_id": "{ids.config}", "qty": {digits}}}'
    assert_problem(_raw(world, "POST", "/api/procurements/compare", text), 422, fields=("qty",))
    form = {"order_type": "sample", "items-0-sku": ids.sku, "items-0-qty": digits, "selected_supplier": "spencer"}
    form |= {f"ship_to_address-{k}": v for k, v in SHIP_TO.items()}
    _page_refused(world.client.post(world.url("procurements/new"), data=form), "A whole number from 1 to 1,000,000.")
    assert changed(before, row_counts(db)) == {}


# ---- page=9223372036854775807


def test_a_huge_page_number_shows_the_last_page_of_every_list_page(world, db):
    for path in LIST_PAGES:
        response = world.client.get(world.url(f"{path}?page={HUGE}"))
        assert response.status_code == 200, path
    for path in ADMIN_LIST_PAGES:
        assert world.client.get(f"{path}?page={HUGE}").status_code == 200, path


@pytest.mark.parametrize("path", API_LISTS)
@pytest.mark.parametrize("page", [HUGE, "9" * 400, "-1", "0", "1.5", "²"])
def test_a_page_number_out_of_range_is_422_on_every_api_list(world, path, page):
    problem = assert_problem(world.client.get(f"{path}?page={page}", headers=world.bearer), 422, fields=("page",))
    assert problem["errors"]["page"] == ["Must be a whole number from 1 to 100,000."]


def test_a_page_past_the_end_of_an_api_list_is_its_last_page(world):
    body = world.client.get("/api/configurations?page=99999", headers=world.bearer).get_json()
    assert (body["page"], body["pages"], len(body["configurations"])) == (1, 1, 1)


# ---- the wizard's save


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"csrf_token": "x"}, "is required"),
        (
            {"viscosity_cp": "1", "density_kg_m3": "997", "surface_tension_mn_m": "72", "cone_deg": "60", "name": "P"},
            "is required: the pressure the actuator will see.",
        ),
    ],
    ids=["only-a-csrf-token", "without-pressure_bar"],
)
def test_the_wizards_save_without_its_inputs_shows_what_is_missing(world, db, data, message):
    before = row_counts(db)
    response = world.client.post(world.url("configurations"), data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert changed(before, row_counts(db)) == {}


# ---- bodies bounded before anything reads them; list maxima


class CountingStream(io.BytesIO):
    """A request body that records how much of it was read."""

    read_bytes = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.read_bytes += len(chunk)
        return chunk

    def readline(self, size=-1):
        chunk = super().readline(size)
        self.read_bytes += len(chunk)
        return chunk


def test_a_100_mb_post_to_login_is_413_without_being_read(build_app):
    app = build_app(WTF_CSRF_ENABLED=True)
    size = 100 * 1024 * 1024
    stream = CountingStream(b"email=a%40example.com&password=" + b"x" * 1024)
    response = app.test_client().post(
        "/login",
        input_stream=stream,
        content_type="application/x-www-form-urlencoded",
        environ_overrides={"CONTENT_LENGTH": str(size)},  # the test client would count the stream instead
    )
    assert response.status_code == 413
    assert "this page accepts at most 1 MB" in response.get_data(as_text=True)
    assert stream.read_bytes == 0


def test_an_api_body_over_the_limit_is_413_problem_json(world):
    text = json.dumps({"name": "x" * (1024 * 1024)})
    problem = assert_problem(_raw(world, "POST", "/api/configurations", text), 413)
    assert "at most 1 MB" in problem["detail"]


def test_the_sds_upload_limit_is_checked_before_csrf_parses_the_form(build_app, world, db):
    from aerospec.accounts import services as accounts

    app = build_app(WTF_CSRF_ENABLED=True)
    browser = app.test_client()
    session_row = accounts.start_session(db.session, world.admin, accounts.ClientInfo("127.0.0.1", "pytest"))
    db.session.commit()
    with browser.session_transaction() as sess:
        sess["_user_id"] = str(session_row.id)
        sess["_fresh"] = True
    stream = CountingStream(b"--b\r\n")
    response = browser.post(
        world.url("fluids/sds/new"),
        input_stream=stream,
        content_type="multipart/form-data; boundary=b",
        environ_overrides={"CONTENT_LENGTH": str(12 * 1024 * 1024)},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 413, html[:300]
    assert "larger than 10 MB" in html and '<label for="file">' in html  # the form, not a CSRF error
    assert stream.read_bytes == 0
    # 2 MB is over the app's limit but within the SDS route's: it reaches CSRF (no token here: 400).
    small = upload(browser, lambda _tenant, path: world.url(path), world.tenant, b"%PDF-1.7\n" + b"0" * 2**21)
    assert small.status_code == 400 and "Reload the page" in small.get_data(as_text=True)


def test_lists_have_stated_maxima(world, db):
    ids = world.ids
    before = row_counts(db)
    config = {"name": "P", "fluid_viscosity_cP": 1, "fluid_density_kg_m3": 997, "fluid_surface_tension_mN_m": 72}
    config |= {"target_spray_cone_deg": 60, "max_pressure_bar": 5}
    tags = world.client.post(
        "/api/configurations", json=config | {"tags": [f"t{i}" for i in range(21)]}, headers=world.bearer
    )
    assert assert_problem(tags, 422, fields=("tags",))["errors"]["tags"] == ["Use at most 20 tags."]
    many = world.client.post(
        "/api/configurations", json=config | {"compatible_actuators": [ids.sku] * 101}, headers=world.bearer
    )
    assert assert_problem(many, 422)["errors"]["compatible_actuators"] == ["Give at most 100 actuators."]
    lines = [{"sku": ids.sku, "qty": 1}] * 51
    order = world.client.post("/api/procurements", json={"items": lines}, headers=world.bearer)
    assert assert_problem(order, 422)["errors"]["items"] == ["At most 50 lines per order."]
    assert changed(before, row_counts(db)) == {}
