"""The OpenAPI document (GET /api/openapi.json) and its readable reference page (GET /api/docs).

Both are public: they describe the API, never a workspace's data. The page is rendered here from the
same document (no script, no CDN), so what it says is exactly what the document says.
"""

from __future__ import annotations

from flask import Response, current_app, jsonify, render_template

from aerospec.api import bp
from aerospec.api.openapi import document, reference


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """This API's OpenAPI 3.1 document."""
    return jsonify(document(current_app))  # no-store, as every API answer (aerospec.web: security headers)


@bp.get("/docs")
def api_reference() -> Response:
    """The API reference: every route with its parameters, body, answers and schemas."""
    html = render_template("api/docs.html", ref=reference(document(current_app)))
    return Response(html, mimetype="text/html")
