"""The lab-results reminder: FEEDBACK_REMINDER_DAYS (3) after an order is delivered, one email through the real
SMTP path (aiosmtpd) to the person who ordered, linking to where results are recorded; never twice, never once a
result is recorded for the order, never for a stale delivery, a viewer or someone who left. Time travels by
time-machine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes

import pytest
import time_machine
from sqlalchemy import func, select

from aerospec.feedback.models import FeedbackReminder
from aerospec.tenancy.scoping import tenant_scope, unscoped
from jobs.feedback import send_lab_result_reminders
from tests.feedback.makers import delivered_order
from tests.notifications.conftest import smtp_server  # noqa: F401 - fixture

DELIVERED = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def shop(app, team, make_config, seeded_catalog, db, smtp_server, monkeypatch):  # noqa: F811
    """A team with a ranked configuration and an order of the user's delivered at DELIVERED; email over SMTP."""
    monkeypatch.setitem(app.config, "SMTP_URL", smtp_server.url)
    ns = team()
    config = make_config(ns.tenant, ns.user)
    ns.config_id, ns.sku = config.id, config.compatible_actuators[0]["sku"]
    with tenant_scope(db.session, ns.tenant.id):
        ns.order = delivered_order(db.session, ns.tenant, ns.user, config.id, DELIVERED, sku=ns.sku)
        ns.order_id, ns.reference = ns.order.id, ns.order.reference
        db.session.commit()
    ns.smtp = smtp_server
    return ns


def _run(at: datetime) -> dict:
    with time_machine.travel(at, tick=False):
        return send_lab_result_reminders()


def _mails(shop) -> list:
    return [message_from_bytes(e.original_content) for e in shop.smtp.envelopes]


def _text(mail) -> str:
    part = next(p for p in mail.walk() if p.get_content_type() == "text/plain")
    return part.get_payload(decode=True).decode()


def test_the_reminder_goes_out_once_three_days_after_delivery(shop, db):
    assert _run(DELIVERED + timedelta(days=2, hours=23))["sent"] == 0
    assert shop.smtp.envelopes == []
    summary = _run(DELIVERED + timedelta(days=3, minutes=5))
    assert summary == {"due": 1, "sent": 1, "failed": 0}
    [mail] = _mails(shop)
    assert mail["To"] == shop.user.email
    assert mail["Subject"] == f"Order {shop.reference} was delivered: record what the lab measured"
    body = _text(mail)
    link = (
        f"http://testserver/t/{shop.tenant.slug}/configurations/{shop.config_id}/lab-results/import"
        f"?order={shop.order_id}"
    )
    assert f"Record lab results: {link}" in body
    assert "delivered on 02 November 2026" in body and shop.sku in body
    # The next hourly runs, and a run days later, send nothing more.
    for later in (timedelta(days=3, hours=1), timedelta(days=5)):
        assert _run(DELIVERED + later) == {"due": 0, "sent": 0, "failed": 0}
    assert len(shop.smtp.envelopes) == 1
    with unscoped(db.session, "tests read the reminder claims"):
        assert db.session.scalar(select(func.count(FeedbackReminder.id))) == 1


def test_the_link_in_the_email_opens_the_import_page_with_the_order_chosen(shop, client, login):
    _run(DELIVERED + timedelta(days=3, minutes=5))
    link = next(line for line in _text(_mails(shop)[0]).splitlines() if line.startswith("Record lab results: "))
    login(shop.user)
    page = client.get(link.removeprefix("Record lab results: http://testserver"))
    assert page.status_code == 200
    assert f'<option selected value="{shop.order_id}">{shop.reference}' in page.get_data(as_text=True)


def _record(client, bearer, shop, **extra) -> None:
    body = {
        "configuration_id": str(shop.config_id),
        "actuator_sku": shop.sku,
        "pressure_bar": 3.0,
        "spray_cone_angle_actual": 60.0,
        **extra,
    }
    assert client.post("/api/feedback", json=body, headers=bearer(shop.user, shop.tenant)).status_code == 201


def test_no_reminder_once_a_result_is_recorded_for_the_order(shop, db, client, bearer):
    _record(client, bearer, shop, procurement_id=str(shop.order_id))
    assert _run(DELIVERED + timedelta(days=3, minutes=5)) == {"due": 0, "sent": 0, "failed": 0}
    assert shop.smtp.envelopes == []


def test_a_result_for_another_order_does_not_stop_this_orders_reminder(shop, db, client, bearer):
    _record(client, bearer, shop)  # a result of the configuration, tied to no order
    assert _run(DELIVERED + timedelta(days=3, minutes=5))["sent"] == 1


def test_a_delivery_older_than_the_window_is_left_alone(shop):
    assert _run(DELIVERED + timedelta(days=3 + 14, hours=1)) == {"due": 0, "sent": 0, "failed": 0}
    assert shop.smtp.envelopes == []


def test_the_delay_is_configurable(shop, app, monkeypatch):
    monkeypatch.setitem(app.config, "FEEDBACK_REMINDER_DAYS", 7)
    assert _run(DELIVERED + timedelta(days=4))["sent"] == 0
    assert _run(DELIVERED + timedelta(days=7, minutes=1))["sent"] == 1


def test_no_reminder_to_someone_who_may_no_longer_record_results(shop, db):
    from aerospec.tenancy.models import Membership

    with tenant_scope(db.session, shop.tenant.id):
        membership = db.session.scalar(select(Membership).where(Membership.user_id == shop.user.id))
        membership.role = "viewer"
        db.session.commit()
    assert _run(DELIVERED + timedelta(days=3, minutes=5))["sent"] == 0
    assert shop.smtp.envelopes == []


def test_an_order_not_yet_delivered_gets_no_reminder(shop, db):
    from aerospec.procurement.models import Procurement

    with tenant_scope(db.session, shop.tenant.id):
        db.session.get(Procurement, shop.order_id).status = "shipped"
        db.session.commit()
    assert _run(DELIVERED + timedelta(days=3, minutes=5))["sent"] == 0
