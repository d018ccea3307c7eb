"""Procurements API at the seed's paths, with the seed's field names; and quote comparison.

POST /api/procurements/compare, GET/POST /api/procurements,
GET/PUT/DELETE /api/procurements/<id> (a status change is a PUT with `status`).
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, g, jsonify, request
from pydantic import Field

from aerospec.api import bp
from aerospec.api.schemas import Body
from aerospec.api.views import bearer_required, parse_body
from aerospec.configurations import services as configs
from aerospec.errors import NotFound, ValidationFailed
from aerospec.extensions import db
from aerospec.pagination import page_param
from aerospec.procurement import services as procurements
from aerospec.procurement.clients import QuoteItem
from aerospec.procurement.models import ORDER_TYPES, STATUSES, SUPPLIERS
from aerospec.procurement.quotes import compare_quotes
from aerospec.procurement.serializers import procurement_to_dict
from aerospec.procurement.suppliers import quote_timeout, supplier_clients
from aerospec.tenancy.permissions import ensure_permitted
from aerospec.web.client import client_info

MAX_PER_PAGE = 100
MAX_TOP = 10


class CompareBody(Body):
    """Either items [{sku, qty}], or a configuration's top-n compatible actuators per supplier at qty."""

    model_config = {**Body.model_config, "strict": False}

    items: list[dict] | None = None
    configuration_id: str | None = None
    qty: int | None = Field(default=None, ge=1, le=procurements.MAX_QTY, strict=True)
    top: int = Field(default=3, ge=1, le=MAX_TOP, strict=True)


class ProcurementBody(Body):
    """An order as sent to POST (create a draft) or PUT (any subset, and/or `status`).

    Types only; the services check meaning (catalog SKUs, address parts, legal transitions)
    so the pages and the API give the same messages.
    """

    configuration_id: str | None = None
    order_type: str | None = None
    items: list[Any] | None = None
    selected_supplier: str | None = None
    ship_to_address: dict | None = None
    notes: str | None = None
    status: str | None = None
    compared_items: list[Any] | None = None  # POST only: what the other suppliers were compared on


# -- quote comparison --------------------------------------------------------------------------


def _configuration_items(configuration_id: str, qty: int, top: int) -> dict[str, list[QuoteItem]]:
    """The configuration's top-`top` ranked actuators of each supplier, each at `qty`."""
    try:
        config = configs.get_configuration(db.session, g.tenant, configuration_id)
    except NotFound as exc:
        raise ValidationFailed(
            "Check the fields listed in errors.",
            field_errors={"configuration_id": ["No such configuration in this workspace."]},
        ) from exc
    chosen = procurements.configuration_items(db.session, config, qty, top)
    if not chosen:
        raise ValidationFailed(
            "This configuration has no compatible actuators to quote.",
            field_errors={
                "configuration_id": [
                    "This configuration has no compatible actuators in the catalog; "
                    "rank the catalog in the wizard and save it again."
                ]
            },
        )
    return chosen


@bp.post("/procurements/compare")
@bearer_required
def compare_procurement_quotes() -> Response:
    """Live quotes from every supplier that carries the items, fetched at once; best and fastest flagged.

    A failing or slow supplier's entry carries its error while the other quotes stand (still 200).
    """
    ensure_permitted(g.membership, "order_samples")
    body = parse_body(CompareBody)
    if body.items is not None and body.configuration_id is not None:
        raise ValidationFailed(
            "Send items, or a configuration_id, not both.",
            field_errors={"items": ["Send items, or a configuration_id, not both."]},
        )
    if body.configuration_id is not None:
        per_supplier = _configuration_items(body.configuration_id, body.qty or 1, body.top)
    else:
        stray = [name for name in ("qty", "top") if name in body.model_fields_set]
        if stray:
            raise ValidationFailed(
                "qty and top go with configuration_id; give each item its own qty.",
                field_errors={name: ["Only with configuration_id."] for name in stray},
            )
        items = procurements.clean_items(db.session, None, body.items)
        per_supplier = procurements.items_by_supplier(db.session, items)
    results = compare_quotes(supplier_clients(), per_supplier, quote_timeout())
    suppliers = []
    for result in results:
        entry = result.to_dict()
        entry["requested"] = [{"sku": i.sku, "qty": i.qty} for i in per_supplier.get(result.supplier, [])]
        suppliers.append(entry)
    answer: dict = {"suppliers": suppliers}
    if body.configuration_id is not None:
        answer["configuration_id"] = body.configuration_id
    return jsonify(answer)


# -- orders ------------------------------------------------------------------------------------


def _query_int(name: str, default: int, errors: dict[str, list[str]], *, high: int | None = None) -> int:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
        if value < 1 or (high is not None and value > high):
            raise ValueError
    except ValueError:
        errors[name] = [f"Must be a whole number from 1 to {high}." if high else "Must be a whole number from 1."]
        return default
    return value


def _choice(name: str, allowed: tuple[str, ...], errors: dict[str, list[str]]) -> str | None:
    value = request.args.get(name) or None
    if value is not None and value not in allowed:
        errors[name] = [f"Choose one of: {', '.join(allowed)}."]
    return value


@bp.get("/procurements")
@bearer_required
def list_procurements() -> Response:
    """A page of the workspace's orders, newest first (status, order_type, supplier, configuration_id, q)."""
    ensure_permitted(g.membership, "view_procurements")
    errors: dict[str, list[str]] = {}
    status = _choice("status", STATUSES, errors)
    order_type = _choice("order_type", ORDER_TYPES, errors)
    supplier = _choice("supplier", SUPPLIERS, errors)
    configuration_id = None
    if request.args.get("configuration_id"):
        try:
            configuration_id = uuid.UUID(request.args["configuration_id"])
        except ValueError:
            errors["configuration_id"] = ["Must be a configuration id."]
    page = page_param(request.args, errors)
    per_page = _query_int("per_page", 25, errors, high=MAX_PER_PAGE)
    if errors:
        raise ValidationFailed("Check the query parameters listed in errors.", field_errors=errors)
    result = procurements.list_procurements(
        db.session,
        g.tenant,
        status=status,
        order_type=order_type,
        supplier=supplier,
        configuration_id=configuration_id,
        q=request.args.get("q") or None,
        page=page,
        per_page=per_page,
    )
    return jsonify(
        {
            "procurements": [procurement_to_dict(p) for p in result.items],
            "page": result.page,
            "pages": result.pages,
            "per_page": result.per_page,
            "total": result.total,
        }
    )


@bp.post("/procurements")
@bearer_required
def create_procurement() -> tuple[Response, int]:
    """A draft order from a configuration's actuators, priced from the chosen supplier's quote."""
    ensure_permitted(g.membership, "order_samples")
    body = parse_body(ProcurementBody)
    data = body.model_dump(exclude_unset=True)
    if "status" in data:
        raise ValidationFailed(
            'An order starts as a draft; submit it with PUT {"status": "submitted"}.',
            field_errors={"status": ["An order starts as a draft; submit it with a PUT."]},
        )
    procurement = procurements.create_procurement(
        db.session,
        g.tenant,
        g.api_user,
        data,
        clients=supplier_clients(),
        quote_timeout=quote_timeout(),
        client=client_info(),
    )
    answer = procurement_to_dict(procurement, timeline=True)
    db.session.commit()
    return jsonify(answer), 201


@bp.get("/procurements/<uuid:procurement_id>")
@bearer_required
def get_procurement(procurement_id: uuid.UUID) -> Response:
    """One order with its lines, totals and timeline."""
    ensure_permitted(g.membership, "view_procurements")
    procurement = procurements.get_procurement(db.session, g.tenant, procurement_id)
    return jsonify(procurement_to_dict(procurement, timeline=True))


@bp.put("/procurements/<uuid:procurement_id>")
@bearer_required
def update_procurement(procurement_id: uuid.UUID) -> Response:
    """Edit a draft (any subset of fields) and/or change `status` (409 for an illegal change)."""
    ensure_permitted(g.membership, "order_samples")
    body = parse_body(ProcurementBody)
    data = body.model_dump(exclude_unset=True)
    if not data:
        raise ValidationFailed(
            "Send the fields to change, or a status.",
            field_errors={"body": ["Send the fields to change, or a status."]},
        )
    procurement = procurements.get_procurement(db.session, g.tenant, procurement_id)
    procurement = procurements.update_procurement(
        db.session,
        g.tenant,
        g.api_user,
        procurement,
        data,
        clients=supplier_clients(),
        quote_timeout=quote_timeout(),
        client=client_info(),
    )
    db.session.commit()
    # After the commit: an inline job (send to supplier) may have moved the order on.
    procurement = procurements.get_procurement(db.session, g.tenant, procurement_id)
    return jsonify(procurement_to_dict(procurement, timeline=True))


@bp.delete("/procurements/<uuid:procurement_id>")
@bearer_required
def delete_procurement(procurement_id: uuid.UUID) -> Response:
    """Cancel procurement: a draft is deleted (204); an order not yet shipped is cancelled, at the
    supplier too (200 with the order); a shipped or delivered order cannot be (409)."""
    ensure_permitted(g.membership, "order_samples")
    procurement = procurements.get_procurement(db.session, g.tenant, procurement_id)
    outcome = procurements.withdraw(db.session, g.tenant, g.api_user, procurement, client=client_info())
    db.session.commit()
    if outcome == "deleted":
        return Response(status=204)
    # After the commit: the inline cancel job may already have heard back from the supplier.
    procurement = procurements.get_procurement(db.session, g.tenant, procurement_id)
    return jsonify(procurement_to_dict(procurement, timeline=True))
