"""`flask admin create|grant|revoke EMAIL`: make and unmake platform admins (each audited)."""

from __future__ import annotations

import os

import click
from flask.cli import AppGroup

admin_cli = AppGroup("admin", help="Platform admins: create, grant, revoke.")

PASSWORD_ENV = "AEROSPEC_ADMIN_PASSWORD"  # noqa: S105 - the variable's name, not a password


def make_admin(session, email: str, password: str, name: str) -> tuple[object, bool]:
    """The platform admin with this email: created (with the password) or granted; (user, created)."""
    from aerospec.accounts import services as accounts
    from aerospec.admin import audit

    user = accounts.get_user_by_email(session, email)
    if user is not None:
        if not user.is_platform_admin:
            user.is_platform_admin = True
            audit.record(
                session,
                "admin.granted",
                admin=None,
                admin_email="cli",
                target_type="user",
                target_id=user.id,
                details={"email": user.email},
                before={"is_platform_admin": False},
                after={"is_platform_admin": True},
            )
        return user, False
    user = accounts.create_user(session, email=email, password=password, name=name)
    user.is_platform_admin = True
    session.flush()
    audit.record(
        session,
        "admin.created",
        admin=None,
        admin_email="cli",
        target_type="user",
        target_id=user.id,
        details={"email": user.email},
        after={"is_platform_admin": True},
    )
    return user, True


@admin_cli.command("create")
@click.argument("email")
@click.option("--name", default="Platform Admin", show_default=True, help="Display name.")
def create(email: str, name: str) -> None:
    """Create a platform admin (password from AEROSPEC_ADMIN_PASSWORD, else prompted twice)."""
    from aerospec.accounts import services as accounts
    from aerospec.errors import ValidationFailed
    from aerospec.extensions import db

    if accounts.get_user_by_email(db.session, email) is not None:
        raise click.ClickException(f"{email} already has an account: use `flask admin grant {email}`.")
    password = os.environ.get(PASSWORD_ENV) or click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user, _ = make_admin(db.session, email, password, name)
    except ValidationFailed as exc:
        db.session.rollback()
        messages = [m for msgs in (exc.field_errors or {}).values() for m in msgs] or [exc.message]
        raise click.ClickException(" ".join(messages)) from exc
    db.session.commit()
    click.echo(f"Platform admin {user.email} created. Log in at /login; the console is at /admin/tenants.")


def _set_admin(email: str, value: bool) -> None:
    from aerospec.accounts import services as accounts
    from aerospec.admin import audit
    from aerospec.extensions import db

    user = accounts.get_user_by_email(db.session, email)
    if user is None:
        raise click.ClickException(f"No account with the email {email}.")
    if user.is_platform_admin == value:
        click.echo(f"{user.email} {'already is' if value else 'is not'} a platform admin: nothing changed.")
        return
    user.is_platform_admin = value
    audit.record(
        db.session,
        "admin.granted" if value else "admin.revoked",
        admin=None,
        admin_email="cli",
        target_type="user",
        target_id=user.id,
        details={"email": user.email},
        before={"is_platform_admin": not value},
        after={"is_platform_admin": value},
    )
    db.session.commit()
    click.echo(f"{user.email} {'is now' if value else 'is no longer'} a platform admin.")


@admin_cli.command("grant")
@click.argument("email")
def grant(email: str) -> None:
    """Make an existing account a platform admin."""
    _set_admin(email, True)


@admin_cli.command("revoke")
@click.argument("email")
def revoke(email: str) -> None:
    """Take platform-admin rights away from an account."""
    _set_admin(email, False)
