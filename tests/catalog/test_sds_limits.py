"""Reading a sheet in a child process within memory, time and page limits: each limit fails the sheet
with its own message, on the SDS page too, nothing half-written, and the reading process's own memory
stays where it was (issue 10 item 4; the worker side is tests/jobs/test_sds_lane.py)."""

from __future__ import annotations

import resource
import time

import pytest

from aerospec.catalog import sds, sds_limits
from aerospec.catalog.models import SdsDocument
from tests.catalog import sds_pdfs
from tests.catalog.test_sds_views import make_document, only_document, upload, workspace  # noqa: F401 - fixture

DEFAULTS = sds_limits.ParseLimits()
# The bomb reaches 256 MB in 5-13 s on this shared machine, near the 20 s limit when it is busy; at 192 MB
# it is 1-3 s, but at a load average of 10-17 it once took over 20 s: the clock is set to 120 s here so
# the memory limit (not the clock) is surely what stops it in these tests.
TIGHT = sds_limits.ParseLimits(memory_mb=192, timeout_seconds=120)


def _refused(content: bytes, limits: sds_limits.ParseLimits = DEFAULTS) -> sds.SdsParseError:
    with pytest.raises(sds.SdsParseError) as caught:
        sds_limits.parse_isolated(content, limits)
    return caught.value


def test_the_limits_default_to_256_mb_20_s_and_50_pages_and_come_from_the_config(app):
    assert (DEFAULTS.memory_mb, DEFAULTS.timeout_seconds, DEFAULTS.max_pages) == (256, 20.0, 50)
    assert sds_limits.ParseLimits.from_config(app.config) == DEFAULTS
    configured = {"SDS_PARSE_MEMORY_MB": "300", "SDS_PARSE_TIMEOUT_SECONDS": "7.5", "SDS_PARSE_MAX_PAGES": "9"}
    assert sds_limits.ParseLimits.from_config(configured) == sds_limits.ParseLimits(300, 7.5, 9)


def test_the_fixtures_are_small_files_that_are_expensive_to_read():
    import re
    import zlib

    bomb = sds_pdfs.inflation_bomb_pdf()
    assert len(bomb) < 160 * 1024
    stream = re.search(rb"stream\n(.*?)\nendstream", bomb, re.S).group(1)
    assert len(zlib.decompress(stream)) >= 50 * 1024 * 1024  # a FlateDecode content stream of 50 MB
    assert len(sds_pdfs.slow_pdf()) < 64 * 1024
    assert sds_pdfs.many_pages_pdf().count(b"/Type /Page ") == 60


def test_a_sheet_reads_the_same_in_the_child_as_in_process():
    for maker in (sds_pdfs.text_layout_sds, sds_pdfs.table_layout_sds, sds_pdfs.decimal_comma_sds):
        assert sds_limits.parse_isolated(maker()) == sds.parse_sds(maker())


def test_the_parsers_own_refusals_come_back_from_the_child_as_they_are():
    assert _refused(sds_pdfs.corrupt_pdf()).code == "corrupt"
    assert _refused(sds_pdfs.no_section_9_sds()).code == "no_section_9"


def test_an_inflation_bomb_fails_on_memory_in_seconds_and_the_parent_does_not_grow():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    error = _refused(sds_pdfs.inflation_bomb_pdf(), TIGHT)
    elapsed = time.monotonic() - started
    assert error.code == "too_much_memory"
    assert error.message == sds_limits.too_much_memory_message(TIGHT)
    assert "more than 192 MB of memory" in error.message
    assert elapsed < TIGHT.timeout_seconds  # the memory limit, not the clock, stopped it
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 32, f"the parent's peak memory grew {grown_mb:.0f} MB"


def test_a_sheet_that_takes_too_long_is_killed_at_the_time_limit():
    limits = sds_limits.ParseLimits(timeout_seconds=2)
    started = time.monotonic()
    error = _refused(sds_pdfs.slow_pdf(), limits)
    elapsed = time.monotonic() - started
    assert error.code == "too_slow"
    assert error.message.startswith("Reading this PDF took longer than 2 seconds, so we stopped")
    assert 2 <= elapsed < 5


def test_more_pages_than_the_limit_are_refused_before_any_page_is_read():
    error = _refused(sds_pdfs.many_pages_pdf(60))
    assert error.code == "too_many_pages"
    assert error.message.startswith("This PDF has 60 pages; we read safety data sheets of up to 50 pages")
    assert sds_limits.parse_isolated(sds_pdfs.many_pages_pdf(60), sds_limits.ParseLimits(max_pages=60)).pages == 60


def test_a_child_that_crashes_otherwise_is_an_error_of_ours_not_a_limit(monkeypatch):
    monkeypatch.setattr(sds_limits, "CHILD", sds_limits.CHILD.with_name("no_such_child.py"))
    with pytest.raises(RuntimeError, match="exited with 2"):
        sds_limits.parse_isolated(sds_pdfs.text_layout_sds())


@pytest.mark.parametrize(
    ("maker", "message"),
    [
        (sds_pdfs.inflation_bomb_pdf, "needs more than 192 MB of memory to read"),
        (lambda: sds_pdfs.many_pages_pdf(51), "This PDF has 51 pages; we read safety data sheets of up to 50 pages"),
    ],
    ids=["memory", "pages"],
)
def test_the_sds_page_shows_which_limit_the_sheet_hit(
    app,
    client,
    rows,
    tenant_url,
    workspace,  # noqa: F811 - the imported fixture
    maker,
    message,
    monkeypatch,
):
    monkeypatch.setitem(app.config, "SDS_PARSE_MEMORY_MB", TIGHT.memory_mb)
    monkeypatch.setitem(app.config, "SDS_PARSE_TIMEOUT_SECONDS", TIGHT.timeout_seconds)
    tenant, _ = workspace
    response = upload(client, tenant_url, tenant, maker(), filename="hostile.pdf")
    assert response.status_code == 303
    document = only_document(rows, tenant)
    assert (document.status, document.extracted, document.product_name) == ("failed", [], None)
    assert message in document.error
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "We could not read this sheet." in page and message in page
    assert "We could not read this PDF. Type the values in instead" not in page  # not the generic error


def test_the_sds_page_shows_the_time_limit(app, client, db, rows, tenant_url, workspace, monkeypatch):  # noqa: F811
    from jobs.sds import parse_sds_document

    tenant, _ = workspace
    document_id = make_document(db, tenant, sds_pdfs.slow_pdf())
    monkeypatch.setitem(app.config, "SDS_PARSE_TIMEOUT_SECONDS", 2)
    assert parse_sds_document(str(tenant.id), str(document_id)) == "failed"
    [document] = rows(tenant, SdsDocument)
    assert (document.extracted, document.product_name) == ([], None)
    page = client.get(tenant_url(tenant, f"fluids/sds/{document_id}")).get_data(as_text=True)
    assert "Reading this PDF took longer than 2 seconds, so we stopped" in page
