"""AeroSpec: spray-actuator selection as a multi-tenant SaaS."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def create_app(overrides: dict | None = None) -> Flask:
    """Build the app: config, extensions, blueprints, error handlers, CLI."""
    # Imported here, not at the top: `python -m aerospec.engine` imports this package and needs
    # neither Flask nor the settings (the engine's command line starts in a fraction of the time).
    from flask import Flask

    from aerospec.config import check_production_settings, load_config

    app = Flask(
        __name__,
        template_folder="../templates",
        static_folder="../static",
        instance_relative_config=False,
    )
    app.config.update(load_config())
    if overrides:
        app.config.update(overrides)
    if app.config.get("PRODUCTION"):
        # Web, worker and release all build the app here: each refuses to start on fakes nobody chose.
        check_production_settings(app.config)

    from aerospec import observability

    observability.init_app(app)  # logs and error tracking first, so the rest of start-up is recorded

    if app.config.get("PROXY_FIX", app.config.get("PRODUCTION")):
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Behind Heroku's router: trust one hop of X-Forwarded-For/-Proto for IPs and https.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)

    from flask_sqlalchemy.session import Session as FlaskSession

    from aerospec import database, queueing
    from aerospec.extensions import csrf, db, limiter, login_manager, migrate
    from aerospec.limits import counters
    from aerospec.tenancy import scoping
    from aerospec.web import guards

    guards.init_app(app)  # before CSRFProtect: bodies are bounded before its hook parses a form
    database.install()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    scoping.install(FlaskSession)
    with app.app_context():
        for engine in db.engines.values():
            database.install_idle_ping(engine)
            scoping.install_engine(engine)
    queueing.install(FlaskSession)
    counters.install(FlaskSession)  # a failed creation gives its quota unit back
    queueing.init_app(app)
    from aerospec.accounts import login_policy

    login_policy.init_app(app)  # after the jobs: it may count in their Redis

    from aerospec import (
        accounts,
        admin,
        analytics,
        api,
        billing,
        catalog,
        compliance,
        configurations,
        feedback,
        notifications,
        procurement,
        revenue,
        tenancy,
        web,
        webhooks,
    )

    packages = (
        web,
        accounts,
        tenancy,
        catalog,
        configurations,
        procurement,
        feedback,
        analytics,
        billing,
        compliance,
        notifications,
        revenue,
        webhooks,
        api,
        admin,  # last: its user loader wraps the accounts one, its API routes join the api blueprint
    )
    for package in packages:
        package.attach_routes()  # each package's route modules, imported once every package is loaded
    for package in packages:
        app.register_blueprint(package.bp)
    from aerospec.billing import enforcement

    enforcement.init_app(app)  # after the blueprints: the tenant URL processor has loaded g.tenant

    from aerospec.cli import register_cli

    register_cli(app)
    return app
