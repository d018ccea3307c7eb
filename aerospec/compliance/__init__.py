"""Audit log (and, later, GDPR export/erasure, consent, retention)."""

from flask import Blueprint

bp = Blueprint("compliance", __name__)

from aerospec.compliance import views  # noqa: E402,F401 - attach routes
