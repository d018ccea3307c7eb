"""Shared request plumbing: layout, htmx helpers, error pages, security headers; the public pages."""

from flask import Blueprint

bp = Blueprint("web", __name__)

from aerospec.web import context, errors, security, views  # noqa: E402,F401 - attach handlers and routes
