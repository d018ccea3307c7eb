"""Fixtures for lab-result tests: the configuration tests' team, configurations, catalog and API sessions."""

from tests.api.conftest import tokens as tokens  # noqa: F401 - fixtures, shared
from tests.configurations.conftest import bearer as bearer  # noqa: F401
from tests.configurations.conftest import make_config as make_config  # noqa: F401
from tests.configurations.conftest import seeded_catalog as seeded_catalog  # noqa: F401
from tests.configurations.conftest import team as team  # noqa: F401
