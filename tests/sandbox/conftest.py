from tests.sandbox.fixtures import sandbox, sandbox_server  # noqa: F401 - fixtures
