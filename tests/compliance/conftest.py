"""Fixtures for audit tests: configurations made through their service, as the configuration tests make them."""

from tests.configurations.conftest import make_config  # noqa: F401 - the fixture, shared
