"""Property-based fuzzing (hypothesis): generated hostile bodies at every JSON endpoint, every form and list.

Logged in as the admin (and platform admin) of a seeded workspace (tests/web/hostile.py), each
example sends one request built from hostile parts — NUL bytes, lone surrogates, 1e400, NaN,
400-digit and 64-bit-overflowing numbers, JSON nested 100,000 deep, wrong types, long lists —
on top of a valid body, and checks: never a 5xx, an API refusal is problem+json, and a refusal
(4xx) wrote nothing (every table's row count unchanged).

The endpoints and forms are enumerated, not listed: every API route whose view parses a JSON
body (app.url_map), and every POST form the workspace's pages show. Examples are derandomized so
CI is repeatable; HYPOTHESIS_PROFILE=deep runs many more of them locally.
"""

from __future__ import annotations

import inspect
import json
import os
import re
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aerospec.api.schemas import Body
from tests.web.hostile import ADMIN_LIST_PAGES, API_LISTS, LIST_PAGES, changed, discover_forms, row_counts
from tests.web.test_hostile_input import _path

settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("deep", parent=settings.get_profile("ci"), max_examples=1000, derandomize=False)
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Requests the fuzz leaves out: each ends the session or the workspace every later example needs.
LEFT_OUT = {("POST", "/api/auth/logout"), ("DELETE", "/api/tenants/me")}


class Raw:
    """A piece of JSON text spliced in as is (what json.dumps cannot write: 1e400, 400 digits, deep nesting)."""

    def __init__(self, text: str):
        self.text = text


def render(value) -> str:
    """JSON text of a generated value; lone surrogates are written as \\ud800 escapes, NaN as NaN."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(render(v) for v in value) + "]"
    return json.dumps(value)


hostile_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["\x00", "a\x00b", "\ud800", "x\udfff", "\ud83d", "", " ", "-", "0", "NaN", "1e400", "%00"]),
    st.builds(lambda a, b: a + "\x00" + b, st.text(max_size=8), st.text(max_size=8)),
    st.builds(lambda a: a + "\ud800", st.text(max_size=8)),
    st.integers(min_value=200, max_value=5000).map(lambda n: "x" * n),
)
hostile_number = st.one_of(
    st.integers(),
    st.integers(min_value=2**63 - 2, max_value=2**80),
    st.integers(min_value=-(2**80), max_value=-(2**63) + 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([Raw("1e400"), Raw("-1e400"), Raw("9" * 400), Raw("NaN"), Raw("Infinity"), Raw("-0.0")]),
)
deep = st.sampled_from([33, 999, 5_000, 100_000]).map(lambda n: Raw("[" * n + "]" * n))
leaf = st.one_of(hostile_text, hostile_number, st.booleans(), st.none(), deep)
hostile_value = st.recursive(
    leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(hostile_text, children, max_size=4),
        st.integers(min_value=50, max_value=2000).flatmap(lambda n: st.just([{"sku": "X", "qty": 1}] * n)),
    ),
    max_leaves=12,
)


def _model_of(view):
    """The pydantic model a view parses its body with (the name inside parse_body(...))."""
    source = inspect.getsource(inspect.unwrap(view))
    name = re.search(r"parse_body\((\w+)\)", source).group(1)
    return inspect.unwrap(view).__globals__[name]


def _valid(world, model) -> dict:
    """Plausible values for the model's fields, so hostile parts reach past the first check."""
    ids = world.ids
    known = {
        "email": world.admin.email,
        "password": "correct horse battery staple 42",
        "name": "Nasal pump",
        "fluid_viscosity_cP": 1.0,
        "fluid_density_kg_m3": 997.0,
        "fluid_surface_tension_mN_m": 72.0,
        "target_spray_cone_deg": 60.0,
        "max_pressure_bar": 5.0,
        "pressure_bar": 5.0,
        "items": [{"sku": ids.sku, "qty": 5}],
        "order_type": "sample",
        "selected_supplier": "spencer",
        "ship_to_address": {"name": "Ada", "line1": "1 Main St", "city": "Boston", "postal_code": "02110"}
        | {"country": "US"},
        "configuration_id": str(ids.config),
        "user_id": str(ids.user),
        "permission": "view",
        "role": "user",
        "plan": "professional",
        "reason": "Fuzzing the admin API",  # issue 13's admin actions
        "days": 3,
        "minutes": 30,
        "actuator_sku": ids.sku,  # issue 12's lab results: a ranked SKU of the configuration, one measured value
        "dv50_um": 50.0,
        "measurement_method": "laser_diffraction",
        "scopes": ["configurations:read"],  # issue 14's API keys
        "url": "http://127.0.0.1:9/hooks",  # issue 14's webhooks: a closed loopback port
        "event_types": ["invoice.paid"],
        "grace_hours": 1,
        # issue 12 item 7: a workspace's own actuator (POST /api/actuators, PUT /api/actuators/<id>)
        "sku": "FUZZ-OWN-1",
        "spray_type": "hollow_cone",
        "orifice_mm": 0.3,
        "min_viscosity_cp": 0.5,
        "max_viscosity_cp": 50.0,
        "body_material": "POM",
        "seal_material": "none",
    }
    return {name: known[name] for name in model.model_fields if name in known}


def _json_targets(app, world) -> list[tuple[str, str, dict, list[str]]]:
    """(method, path, valid body, field names) for every API route that parses a JSON body."""
    targets = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions[rule.endpoint]
        if not rule.rule.startswith("/api/") or "parse_body(" not in inspect.getsource(inspect.unwrap(view)):
            continue
        model = _model_of(view)
        fields = sorted(model.model_fields) if issubclass(model, Body) else []
        for method in sorted(rule.methods & {"POST", "PUT", "DELETE"}):
            if (method, rule.rule) not in LEFT_OUT:
                targets.append((method, _path(rule.rule, world), _valid(world, model), fields))
    return targets


def _check(response, db, before, *, api: bool) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if 400 <= response.status_code < 500:
        if api:
            assert response.mimetype == "application/problem+json", response.get_data(as_text=True)[:300]
            assert response.get_json()["status"] == response.status_code
        assert changed(before, row_counts(db)) == {}, "a refused request wrote rows"


def test_no_json_body_gets_a_5xx_or_writes_when_refused(app, db, world):
    targets = _json_targets(app, world)
    assert len(targets) == 34  # the 35 JSON endpoints but DELETE /api/tenants/me (it ends the workspace)

    @PROFILE
    @given(data=st.data())
    def send(data):
        method, path, valid, fields = data.draw(st.sampled_from(targets), label="endpoint")
        body = dict(valid)
        names = st.sampled_from(fields) if fields else hostile_text
        for _ in range(data.draw(st.integers(min_value=1, max_value=3), label="changes")):
            name = data.draw(st.one_of(names, names, names, hostile_text), label="field")  # mostly real fields
            body[name] = data.draw(hostile_value, label="value")
        whole = st.one_of(deep.map(render), hostile_value.map(render))
        text = data.draw(st.one_of(st.just(render(body)), st.just(render(body)), whole), label="text")
        before = row_counts(db)
        response = world.client.open(
            path,
            method=method,
            data=text.encode("utf-8", "surrogatepass"),
            content_type="application/json",
            headers=world.bearer,
        )
        _check(response, db, before, api=True)

    send()


def _urlencoded(fields: dict[str, str]) -> bytes:
    return "&".join(
        f"{quote(name.encode('utf-8', 'surrogatepass'))}={quote(value.encode('utf-8', 'surrogatepass'))}"
        for name, value in fields.items()
    ).encode()


form_text = st.one_of(
    hostile_text,
    st.sampled_from(["1e400", "-1e400", "9" * 400, "-" + "9" * 400, "9223372036854775808", "NaN", "inf", "1,5e3"]),
)


def test_no_form_gets_a_5xx_or_writes_when_refused(app, db, world):
    forms = discover_forms(world)
    assert len(forms) >= 20, [f.action for f in forms]

    @PROFILE
    @given(data=st.data())
    def send(data):
        form = data.draw(st.sampled_from(forms), label="form")
        fields = dict(form.fields)
        if fields and data.draw(st.booleans(), label="hostile field"):
            for name in data.draw(st.lists(st.sampled_from(sorted(fields)), min_size=1, max_size=3), label="fields"):
                fields[name] = data.draw(form_text, label=name)
        if data.draw(st.booleans(), label="drop fields"):
            fields = {k: v for k, v in fields.items() if data.draw(st.booleans(), label=f"keep {k}")}
        before = row_counts(db)
        response = world.client.post(
            form.action, data=_urlencoded(fields), content_type="application/x-www-form-urlencoded"
        )
        _check(response, db, before, api=False)

    send()


PARAMS = ["q", "page", "per_page", "actor", "sku", "status", "tag", "creator", "sort", "since", "until", "action"]
PARAMS += ["viscosity", "orifice_min", "orifice_max", "pressure_min", "category", "step", "viscosity_cp"]
PARAMS += ["pressure_bar", "cone_deg", "fluid_id", "supplier", "order_type", "configuration_id", "archived"]
PARAMS += ["from", "to", "granularity", "sku_page", "fluid_page"]  # the analytics pages and API


def test_no_query_string_gets_a_5xx(app, db, world):
    paths = [
        world.url(p)
        for p in (
            *LIST_PAGES,
            "configurations/new",
            f"configurations/{world.ids.config}/quotes/card",
            "analytics/usage",
        )
    ]
    paths += ADMIN_LIST_PAGES

    @PROFILE
    @given(data=st.data())
    def send(data):
        api = data.draw(st.booleans(), label="api")
        path = data.draw(st.sampled_from(API_LISTS if api else paths), label="path")
        query = data.draw(st.dictionaries(st.sampled_from(PARAMS), form_text, min_size=1, max_size=4), label="query")
        url = path + "?" + _urlencoded(query).decode()
        response = world.client.get(url, headers=world.bearer if api else {})
        assert response.status_code < 500, (url, response.get_data(as_text=True)[:300])
        if api and response.status_code >= 400:
            assert response.mimetype == "application/problem+json"

    send()
