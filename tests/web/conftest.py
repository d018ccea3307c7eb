from tests.web.isolated import build_app  # noqa: F401 - fixture
