"""`flask seed-demo`: the demo workspace `make run` opens, with a saved configuration to order from."""

from __future__ import annotations

from sqlalchemy import select

from aerospec.accounts.models import User
from aerospec.cli import DEMO_EMAIL
from aerospec.configurations.models import Configuration
from aerospec.tenancy import services as tenancy
from aerospec.tenancy.scoping import tenant_scope, unscoped


def test_seed_demo_makes_a_workspace_with_one_saved_configuration_and_is_idempotent(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "Saved configuration “Ethanol room spray”" in first.output
    from aerospec.accounts import services as accounts
    from aerospec.cli import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD

    assert f"Platform admin: {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD}" in first.output  # beside the demo login
    demo_admin = accounts.authenticate(db.session, DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD)
    assert demo_admin is not None and demo_admin.is_platform_admin
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    assert "Saved configuration" not in second.output  # already there: not made twice

    with unscoped(db.session, "test: find the demo workspace"):
        user = db.session.scalar(select(User).where(User.email == DEMO_EMAIL))
        tenant = tenancy.memberships_for_user(db.session, user)[0].tenant
    with tenant_scope(db.session, tenant.id):
        (config,) = db.session.scalars(select(Configuration).where(Configuration.tenant_id == tenant.id)).all()
        assert config.fluid_name == "Ethanol" and config.max_pressure_bar == 5
        suppliers = {entry["supplier"] for entry in config.compatible_actuators}
        assert suppliers == {"spencer", "coster"}  # something to compare quotes for at both suppliers
