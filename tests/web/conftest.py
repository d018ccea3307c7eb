"""The seeded workspace the hostile-input tests share (tests/web/hostile.py)."""

from tests.web.hostile import world  # noqa: F401 - a fixture, shared
