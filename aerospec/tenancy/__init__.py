"""Tenants, memberships, invitations, roles and the tenant walls."""

from flask import Blueprint

bp = Blueprint("tenancy", __name__)

from aerospec.tenancy import context, views  # noqa: E402,F401 - attach URL processors and routes
