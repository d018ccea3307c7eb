"""Fixtures of the platform console tests: a platform admin, the SMTP server of tests/notifications."""

import pytest

from tests.notifications.conftest import smtp_server  # noqa: F401 - fixture


@pytest.fixture
def platform_admin(db, factories):
    """A committed platform admin outside every workspace."""
    admin = factories.UserFactory(is_platform_admin=True, email="pat@aerospec.example", name="Pat Platform")
    db.session.commit()
    return admin


@pytest.fixture
def outbox(db):
    """outbox() → every email recorded so far (the outbox backend keeps them unsent)."""
    from sqlalchemy import select

    from aerospec.notifications.models import EmailMessage

    def _outbox():
        db.session.expire_all()
        return list(db.session.scalars(select(EmailMessage)))

    return _outbox
