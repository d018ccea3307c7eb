"""Path values no row can have answer 404, as an unknown workspace or id does (issue 10): never 422 or 500."""

from __future__ import annotations

import uuid

import pytest

from tests.web.hostile import changed, row_counts


@pytest.mark.parametrize("slug", ["%00x", "x%00", "a%01b", "%7F", "%C0%80"])
def test_a_control_character_in_the_workspace_slug_is_404_like_an_unknown_workspace(world, slug):
    unknown = world.client.get("/t/no-such-workspace/configurations")
    assert unknown.status_code == 404
    for path in (f"/t/{slug}/", f"/t/{slug}/configurations", f"/t/{slug}/members"):
        assert world.client.get(path).status_code == 404, path


def test_a_version_number_past_64_bits_is_404_like_an_unknown_version(world, db):
    config = world.ids.config
    before = row_counts(db)
    unknown = world.client.post(world.url(f"configurations/{config}/versions/99999/restore"))
    huge = world.client.post(world.url(f"configurations/{config}/versions/{'9' * 30}/restore"))
    assert unknown.status_code == 404
    assert huge.status_code == 404, huge.get_data(as_text=True)[:300]
    assert changed(before, row_counts(db)) == {}


@pytest.mark.parametrize("bad", ["%00", "a%00b", "%01", "abc", "9" * 40, "-1"])
def test_malformed_ids_in_the_path_are_404(world, bad):
    paths = [
        world.url(f"configurations/{bad}"),
        world.url(f"procurements/{bad}"),
        world.url(f"fluids/{bad}"),
        world.url(f"billing/invoices/{bad}"),
        f"/api/configurations/{bad}",
        f"/api/procurements/{bad}",
        f"/admin/tenants/{bad}/plan",
    ]
    for path in paths:
        headers = world.bearer if path.startswith("/api/") else {}
        assert world.client.get(path, headers=headers).status_code == 404, path
    assert world.client.get(world.url(f"configurations/{uuid.uuid4()}")).status_code == 404
