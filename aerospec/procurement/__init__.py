"""Procurement: live supplier quotes, sample orders, order payment and supplier price sync."""

from flask import Blueprint

bp = Blueprint("procurement", __name__)
