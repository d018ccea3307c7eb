"""Issue 12 item 5 in chromium: an enterprise workspace trains a gradient-boosting model from the custom models
page, sees its progress bar while a real RQ worker has not run it yet, sees it turn into "Ready" (the page polls
with htmx), and picks it in the wizard, whose ranking then says it was predicted with that model.

A live server of its own with real RQ jobs (Redis from REDIS_URL, else the embedded one): the job waits on the
`ml` queue until the test runs a burst worker. Screenshots: test-artifacts/e2e/custom-models-*.png.
"""

from __future__ import annotations

import os
from urllib.parse import urlencode, urlparse

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.conftest import serve_live
from tests.e2e.test_correction_flow import _configuration, _record

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def rq_live(tmp_path_factory, sandbox_server):
    config = {"FEEDBACK_TRAIN_EVERY_N": 0, "JOBS_MODE": "embedded"}
    if os.environ.get("REDIS_URL"):
        config |= {"REDIS_URL": os.environ["REDIS_URL"], "JOBS_MODE": "rq"}
    yield from serve_live(tmp_path_factory, sandbox_server, **config)


def _enterprise(app, slug: str) -> None:
    from aerospec.extensions import db
    from aerospec.tenancy.models import Tenant

    with app.app_context():
        db.session.scalar(select(Tenant).where(Tenant.slug == slug)).plan = "enterprise"
        db.session.commit()
        db.session.remove()


def test_an_enterprise_user_trains_a_model_from_the_page_and_picks_it_in_the_wizard(
    rq_live, new_page, sign_up, unique_email, screenshot, console_errors
):
    from aerospec import queueing
    from jobs.worker import build_worker

    console_errors.allow(r"/models: Failed to load resource: .* 422")  # the form sent back without a name, on purpose
    app = rq_live.app
    assert queueing.get_redis(app) is not None, "a real Redis (REDIS_URL or the embedded one) runs the job"
    queueing.get_queue(app, "ml").empty()
    page = new_page(rq_live.base_url)
    sign_up(page, unique_email("models"))
    slug = urlparse(page.url).path.strip("/").split("/")[1]
    _enterprise(app, slug)
    config_id, sku, actuator_id, tenant_id = _configuration(app, slug)
    _record(app, tenant_id, config_id, sku, 140.0, 14)

    page.goto(f"/t/{slug}/models")
    expect(page.locator("#selection-count")).to_contain_text("14 matching lab results")
    page.get_by_label("Actuator", exact=True).select_option(sku)
    expect(page.locator("#selection-count")).to_contain_text("14 matching lab results")
    page.get_by_label("Recorded until").fill("2000-01-01")
    expect(page.locator("#selection-count")).to_contain_text("0 matching lab results")
    page.get_by_label("Recorded until").fill("")
    page.get_by_role("button", name="Train model").click()
    expect(page.locator("#name-error")).to_have_text("Give the model a name.")  # the form keeps what was typed
    page.get_by_label("Name", exact=True).fill("Line 3 trees")
    page.get_by_label("Gradient boosting (scikit-learn)").check()
    screenshot(page, "custom-models-form")
    page.get_by_role("button", name="Train model").click()

    page.wait_for_timeout(2500)
    screenshot(page, "custom-models-debug")
    bar = page.locator("#models-list progress")
    expect(bar).to_be_visible()
    expect(page.locator("#models-list")).to_contain_text("Training (0 %)")
    screenshot(page, "custom-models-training")
    assert queueing.get_queue(app, "ml").count == 1
    build_worker(app, ["ml"]).work(burst=True)  # the real worker trains it; the page's poll sees it
    expect(page.locator("#models-list")).to_contain_text("Ready", timeout=10_000)
    expect(bar).to_have_count(0)
    expect(page.locator("#models-list")).to_contain_text("Gradient boosting")
    screenshot(page, "custom-models-ready")
    page.set_viewport_size({"width": 360, "height": 800})
    screenshot(page, "custom-models-narrow")
    page.set_viewport_size({"width": 1280, "height": 900})

    args = {"step": "targets", "fluid_name": "Water", "viscosity_cp": "1", "density_kg_m3": "997"}
    args |= {"surface_tension_mn_m": "72", "actuator": str(actuator_id)}
    page.goto(f"/t/{slug}/configurations/new?{urlencode(args)}")
    page.get_by_label("Operating pressure (bar)").fill("5")
    page.get_by_label("Prediction model").select_option(label="Line 3 trees (gradient boosting, 11 results)")
    page.get_by_role("button", name="Predict").click()
    expect(page.locator("#model-in-use")).to_contain_text("Predicted with your model Line 3 trees")
    row = page.locator(f'tr[data-sku="{sku}"]')
    expect(row.locator(".calibration")).to_contain_text("model custom “Line 3 trees”")
    screenshot(page, "custom-models-wizard")
