"""Settings: Heroku-style environment variables, and a fresh machine with none."""

from __future__ import annotations

import pytest

from aerospec import config
from aerospec.config import ConfigError, load_config, normalise_database_url

# A complete production environment: every fake replaced by the real service (issue 9 item 18).
PRODUCTION = {
    "AEROSPEC_ENV": "production",
    "SECRET_KEY": "s" * 40,
    "DATABASE_URL": "postgres://u:p@db.example:5432/app",
    "STRIPE_SECRET_KEY": "sk_live_x",
    "STRIPE_WEBHOOK_SECRET": "whsec_x",
    "SMTP_URL": "smtp://user:pass@smtp.example.com:587",
    "SUPPLIER_SPENCER_URL": "https://api.spencer.example/v1",
    "SUPPLIER_SPENCER_KEY": "spencer-live",
    "SUPPLIER_COSTER_URL": "https://api.coster.example",
    "SUPPLIER_COSTER_KEY": "coster-live",
}
# The explicit choices that run production on the offline checkout, the outbox and the sandbox.
TEST_MODE_CHOICES = {"BILLING_PROVIDER": "offline", "EMAIL_BACKEND": "outbox", "SUPPLIERS": "sandbox"}
BARE_PRODUCTION = {k: PRODUCTION[k] for k in ("AEROSPEC_ENV", "SECRET_KEY", "DATABASE_URL")}


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


def test_complete_production_settings_simulate_nothing(tmp_path):
    settings = load_config({**PRODUCTION, "AEROSPEC_INSTANCE_PATH": str(tmp_path)})
    assert config.simulated_services(settings) == []
    assert config.billing_provider(settings) == "stripe"
    assert config.email_backend(settings) == "smtp"
    assert settings["SUPPLIER_SPENCER_URL"] == "https://api.spencer.example/v1"


def test_production_without_payments_email_or_suppliers_names_each_variable_and_its_opt_out(tmp_path):
    with pytest.raises(ConfigError) as refused:
        load_config({**BARE_PRODUCTION, "AEROSPEC_INSTANCE_PATH": str(tmp_path)})
    message = str(refused.value)
    for name in ("STRIPE_SECRET_KEY", "BILLING_PROVIDER=offline", "SMTP_URL", "EMAIL_BACKEND=outbox"):
        assert name in message
    for name in ("SUPPLIER_SPENCER_URL", "SUPPLIER_SPENCER_KEY", "SUPPLIER_COSTER_URL", "SUPPLIER_COSTER_KEY"):
        assert name in message
    assert "SUPPLIERS=sandbox" in message
    assert "SECRET_KEY must be set" not in message and "DATABASE_URL must be set" not in message


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ("STRIPE_SECRET_KEY", "BILLING_PROVIDER=offline"),
        ("STRIPE_WEBHOOK_SECRET", "STRIPE_WEBHOOK_SECRET"),
        ("SMTP_URL", "EMAIL_BACKEND=outbox"),
        ("SUPPLIER_COSTER_KEY", "SUPPLIER_COSTER_KEY"),
    ],
)
def test_production_missing_one_setting_refuses_naming_it(tmp_path, missing, named):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    with pytest.raises(ConfigError) as refused:
        load_config({**env, "AEROSPEC_INSTANCE_PATH": str(tmp_path)})
    assert named in str(refused.value)
    assert str(refused.value).count("\n  - ") == 1  # only that one


def test_production_with_supplier_urls_on_this_machine_must_choose_the_sandbox(tmp_path):
    env = {**PRODUCTION, "SUPPLIER_SPENCER_URL": "http://127.0.0.1:5100/spencer"}
    with pytest.raises(ConfigError, match="SUPPLIERS=sandbox"):
        load_config({**env, "AEROSPEC_INSTANCE_PATH": str(tmp_path)})


def test_production_refuses_unknown_choices(tmp_path):
    env = {**PRODUCTION, "BILLING_PROVIDER": "paypal", "EMAIL_BACKEND": "pigeon", "SUPPLIERS": "live"}
    with pytest.raises(ConfigError) as refused:
        load_config({**env, "AEROSPEC_INSTANCE_PATH": str(tmp_path)})
    for text in ("BILLING_PROVIDER=paypal", "EMAIL_BACKEND=pigeon", "SUPPLIERS=live"):
        assert text in str(refused.value)


def test_production_with_explicit_test_mode_choices_starts_and_says_what_is_simulated(tmp_path):
    settings = load_config({**BARE_PRODUCTION, **TEST_MODE_CHOICES, "AEROSPEC_INSTANCE_PATH": str(tmp_path)})
    assert config.simulated_services(settings) == ["payments", "email", "suppliers"]
    assert settings["SUPPLIER_SPENCER_URL"] == "http://127.0.0.1:5100/spencer"  # chosen: the sandbox defaults
    assert settings["SUPPLIER_COSTER_KEY"] == "sandbox-coster-key"


def test_production_without_a_sandbox_choice_gets_no_sandbox_defaults(tmp_path):
    settings = load_config({**PRODUCTION, "AEROSPEC_INSTANCE_PATH": str(tmp_path)})
    assert "127.0.0.1" not in settings["SUPPLIER_SPENCER_URL"] + settings["SUPPLIER_COSTER_URL"]


def test_explicit_choice_wins_over_configured_keys(tmp_path):
    settings = load_config({**PRODUCTION, **TEST_MODE_CHOICES, "AEROSPEC_INSTANCE_PATH": str(tmp_path)})
    assert config.billing_provider(settings) == "offline"
    assert config.email_backend(settings) == "outbox"
    assert config.suppliers_are_sandbox(settings)


def test_development_defaults_are_test_mode(tmp_path):
    settings = load_config({"AEROSPEC_INSTANCE_PATH": str(tmp_path)})
    assert config.simulated_services(settings) == ["payments", "email", "suppliers"]


def test_sandbox_urls_follow_sandbox_port(tmp_path):
    settings = load_config({"SANDBOX_PORT": "6123", "AEROSPEC_INSTANCE_PATH": str(tmp_path)})
    assert settings["SANDBOX_PORT"] == 6123
    assert settings["SUPPLIER_SPENCER_URL"] == "http://127.0.0.1:6123/spencer"
    assert settings["SUPPLIER_COSTER_URL"] == "http://127.0.0.1:6123/coster"
    explicit = load_config(
        {
            "SANDBOX_PORT": "6123",
            "SUPPLIER_COSTER_URL": "http://127.0.0.1:7000/coster/",
            "AEROSPEC_INSTANCE_PATH": str(tmp_path),
        }
    )
    assert explicit["SUPPLIER_COSTER_URL"] == "http://127.0.0.1:7000/coster"  # an explicit URL is kept


@pytest.mark.parametrize(
    ("url", "sandbox"),
    [
        ("http://127.0.0.1:5100/spencer", True),
        ("http://localhost:5100/spencer", True),
        ("http://[::1]:5100/spencer", True),
        ("https://api.spencer.example/v1", False),
        ("https://10.0.0.8/spencer", False),
    ],
)
def test_supplier_urls_on_loopback_are_the_sandbox(url, sandbox):
    assert (
        config.suppliers_are_sandbox({"SUPPLIER_SPENCER_URL": url, "SUPPLIER_COSTER_URL": "https://c.example"})
        is sandbox
    )
