"""The configuration wizard, configurations, versions and sharing."""

from flask import Blueprint

bp = Blueprint("configurations", __name__)

from aerospec.configurations import models, views  # noqa: E402,F401 - attach models and routes
