"""Fixtures of the billing tests (shared with tests/procurement/test_payments.py through helpers)."""

from tests.billing.helpers import make_order  # noqa: F401 - fixture
