"""Settings: Heroku-style environment variables, and a fresh machine with none."""

from __future__ import annotations

import pytest

from aerospec import config
from aerospec.config import ConfigError, load_config, normalise_database_url

PRODUCTION = {
    "AEROSPEC_ENV": "production",
    "SECRET_KEY": "s" * 40,
    "DATABASE_URL": "postgres://u:p@db.example:5432/app",
}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db.example:5432/app", "postgresql+psycopg://u:p@db.example:5432/app"),
        ("postgresql://u:p@db.example/app", "postgresql+psycopg://u:p@db.example/app"),
        ("postgresql+psycopg://u@h/app", "postgresql+psycopg://u@h/app"),
        ("sqlite:///tmp/x.sqlite3", "sqlite:///tmp/x.sqlite3"),
    ],
)
def test_database_urls_are_normalised_to_psycopg3(given, expected):
    assert normalise_database_url(given) == expected


def test_heroku_database_url_is_accepted(tmp_path):
    settings = load_config({**PRODUCTION, "AEROSPEC_INSTANCE_PATH": str(tmp_path)})
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db.example:5432/app"
    assert settings["PRODUCTION"] is True
    assert settings["DEV_OUTBOX_ENABLED"] is False
    assert settings["SESSION_COOKIE_SECURE"] is True


def test_production_without_secret_key_refuses_to_start(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    with pytest.raises(ConfigError, match="SECRET_KEY must be set in production"):
        load_config({**env, "AEROSPEC_INSTANCE_PATH": str(tmp_path)})
    assert not (tmp_path / "secret_key").exists()


def test_production_without_database_url_refuses_to_start(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != "DATABASE_URL"}
    with pytest.raises(ConfigError, match="DATABASE_URL must be set in production"):
        load_config({**env, "AEROSPEC_INSTANCE_PATH": str(tmp_path)})


def test_development_secret_key_is_generated_once_and_kept(tmp_path):
    first = load_config({"AEROSPEC_INSTANCE_PATH": str(tmp_path)})["SECRET_KEY"]
    second = load_config({"AEROSPEC_INSTANCE_PATH": str(tmp_path)})["SECRET_KEY"]
    key_file = tmp_path / "secret_key"
    assert first == second == key_file.read_text().strip()
    assert len(first) >= 64
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert load_config({"AEROSPEC_INSTANCE_PATH": str(tmp_path / "other")})["SECRET_KEY"] != first


def test_fresh_machine_with_no_environment_gets_embedded_defaults(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    monkeypatch.setattr(config, "INSTANCE", instance)
    settings = load_config({})
    assert settings["PRODUCTION"] is False
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'aerospec.sqlite3'}"
    assert settings["JOBS_MODE"] == "embedded"
    assert settings["REDIS_URL"] is None
    assert settings["RATELIMIT_STORAGE_URI"] == "memory://"
    assert settings["RATELIMIT_ENABLED"] is True
    assert settings["SMTP_URL"] is None
    assert settings["DEV_OUTBOX_ENABLED"] is True
    assert settings["SESSION_COOKIE_SECURE"] is False
    assert settings["BASE_URL"] == "http://127.0.0.1:5000"
    assert (instance / "secret_key").exists()


def test_redis_url_switches_jobs_and_rate_limits_to_redis(tmp_path):
    settings = load_config({"REDIS_URL": "redis://cache.example:6379/0", "AEROSPEC_INSTANCE_PATH": str(tmp_path)})
    assert settings["JOBS_MODE"] == "rq"
    assert settings["RATELIMIT_STORAGE_URI"] == "redis://cache.example:6379/0"


def test_https_base_url_prefers_https(tmp_path):
    settings = load_config({"BASE_URL": "https://app.aerospec.example/", "AEROSPEC_INSTANCE_PATH": str(tmp_path)})
    assert settings["BASE_URL"] == "https://app.aerospec.example"
    assert settings["PREFERRED_URL_SCHEME"] == "https"
