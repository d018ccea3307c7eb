"""The OpenAPI document: every route under /api is in it, as the app serves it, and the reference page shows it."""

from __future__ import annotations

import re

import pytest

from aerospec.api.openapi import _openapi_path, type_label


@pytest.fixture
def spec(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def api_routes(app) -> set[tuple[str, str]]:
    return {
        (_openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_api_route_is_documented_and_nothing_else(app, spec):
    documented = {(path, method) for path, methods in spec["paths"].items() for method in methods}
    routes = api_routes(app)
    assert routes - documented == set(), "routes missing from aerospec/api/operations.py"
    assert documented - routes == set(), "documented routes that do not exist"
    assert len(routes) >= 60


def test_openapi_31_with_auth_schemes_error_shapes_and_pagination(spec):
    assert spec["openapi"] == "3.1.0"
    assert {"bearer", "platform"} <= set(spec["components"]["securitySchemes"])
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    problem = spec["components"]["schemas"]["Problem"]
    assert {"type", "title", "status"} <= set(problem["required"])
    # Every error answer is problem+json; every success answer names its schema or says it has no body.
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            assert op["tags"] and op["summary"], (method, path)
            assert op["operationId"], (method, path)
            for status, answer in op["responses"].items():
                if int(status) >= 400:
                    assert list(answer["content"]) == ["application/problem+json"], (method, path, status)
                    assert answer["description"], (method, path, status)
    listing = spec["paths"]["/api/configurations"]["get"]
    names = {p["name"]: p for p in listing["parameters"]}
    assert names["page"]["in"] == "query" and names["page"]["schema"]["minimum"] == 1
    page_schema = spec["components"]["schemas"]["Configurations"]
    assert {"page", "pages", "per_page", "total", "configurations"} <= set(page_schema["required"])


def test_examples_are_valid_bodies(client, spec, team, tokens):
    """The documented examples are what the API takes: an example body that failed validation would mislead."""
    from aerospec.api.configurations import ConfigurationBody, PredictBody
    from aerospec.api.schemas import FeedbackBody, LoginBody

    for model in (LoginBody, ConfigurationBody, PredictBody, FeedbackBody):
        (example,) = spec["components"]["schemas"][model.__name__]["examples"]
        model.model_validate(example)
    t = team()
    headers = {"Authorization": f"Bearer {tokens(t.admin, t.tenant)['access_token']}"}
    answer = client.post(
        "/api/configurations", json=spec["components"]["schemas"]["ConfigurationBody"]["examples"][0], headers=headers
    )
    assert answer.status_code == 201, answer.get_json()
    problem = spec["components"]["schemas"]["Problem"]["examples"][0]
    assert {"type", "title", "status"} <= set(problem)


def test_bodies_are_the_models_the_views_validate(spec):
    create = spec["paths"]["/api/configurations"]["post"]
    ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/ConfigurationBody")
    body = spec["components"]["schemas"]["ConfigurationBody"]
    assert body["additionalProperties"] is False  # unknown fields are refused (422), as parse_body does
    feedback = spec["components"]["schemas"]["FeedbackBody"]
    assert {"configuration_id", "actuator_sku", "pressure_bar"} <= set(feedback["required"])
    # Bearer routes say 401; body routes say 400/415/422; routes with an id say 404.
    get_one = spec["paths"]["/api/configurations/{config_id}"]["get"]
    assert {"200", "401", "403", "404"} <= set(get_one["responses"])
    assert get_one["parameters"][0]["schema"]["format"] == "uuid"
    assert {"201", "400", "415", "422"} <= set(create["responses"])


def test_public_routes_say_so(spec):
    assert spec["paths"]["/api/auth/login"]["post"]["security"] == []
    assert spec["paths"]["/api/openapi.json"]["get"]["security"] == []
    assert spec["paths"]["/api/tenants/me"]["get"]["security"] == [{"bearer": []}, {"apiKey": []}, {"apiKeyQuery": []}]
    assert spec["components"]["securitySchemes"]["apiKeyQuery"] == {
        "type": "apiKey",
        "in": "query",
        "name": "api_key",
        "description": spec["components"]["securitySchemes"]["apiKeyQuery"]["description"],
    }
    assert spec["paths"]["/api/admin/organizations"]["get"]["security"] == [{"platform": []}]


def test_reference_page_lists_every_operation_without_scripts(client, spec):
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for path, methods in spec["paths"].items():
        for method in methods:
            assert f"{method.upper()} {path}" in html, (method, path)
    for name in spec["components"]["schemas"]:
        assert f'id="schema-{name}"' in html
    # No inline script or CDN: the page is the document rendered server-side.
    assert not re.search(r"<script(?![^>]*\bsrc=\"/static/)", html)
    assert "cdn" not in html.lower()


def test_every_outgoing_event_has_a_versioned_payload_schema(spec):
    from aerospec.webhooks.events import EVENTS

    hooks = spec["webhooks"]
    assert set(EVENTS) <= set(hooks)
    for name, event in EVENTS.items():
        post = hooks[name]["post"]
        envelope = post["requestBody"]["content"]["application/json"]["schema"]
        assert envelope["properties"]["type"] == {"const": name}
        assert envelope["properties"]["version"] == {"const": event.version}
        payload = envelope["properties"]["data"]["$ref"].rsplit("/", 1)[-1]
        assert payload in spec["components"]["schemas"], payload
        assert {p["name"] for p in post["parameters"]} == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    purchase_order = spec["components"]["schemas"]["ProcurementSubmittedV1"]
    assert {"lines", "supplier"} <= set(purchase_order["properties"]), purchase_order["properties"].keys()


@pytest.mark.parametrize(
    ("schema", "label"),
    [
        ({"type": "string"}, "string"),
        ({"$ref": "#/components/schemas/Member"}, "Member"),
        ({"type": "array", "items": {"$ref": "#/components/schemas/User"}}, "list of User"),
        ({"anyOf": [{"type": "number"}, {"type": "null"}]}, "number or null"),
        ({"type": "integer", "minimum": 1, "maximum": 100}, "integer ≥ 1, ≤ 100"),
        ({"enum": ["a", "b"]}, 'one of "a", "b"'),
    ],
)
def test_type_labels(schema, label):
    assert type_label(schema) == label
