"""The share form offers only the access the chosen member's role can be given (issue 9, item 14);
the server still refuses anything else with a field message."""

from __future__ import annotations

import re

import pytest

HX = {"HX-Request": "true"}


def _options(html: str, name: str) -> list[str]:
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f"no {name} select in the page"
    return re.findall(r'<option[^>]*value="([^"]*)"', select.group(1))


@pytest.mark.parametrize(
    ("role", "offered", "help_words"),
    [
        ("viewer", ["view"], "is a viewer: viewers can only be given view access."),
        ("other", ["view", "edit"], "Edit access lets them change it"),
        ("admin", ["view", "edit"], "is an admin: admins can already edit every configuration."),
    ],
)
def test_access_choices_follow_the_chosen_members_role(client, login, team, make_config, role, offered, help_words):
    t = team()
    cid = make_config(t.tenant, t.user).id  # an id: row-level security hides the row after a commit
    login(t.user)
    person = getattr(t, role)
    response = client.get(
        f"/t/{t.tenant.slug}/configurations/{cid}/shares/access",
        query_string={"user_id": str(person.id)},
        headers=HX,
    )
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="share-access">')
    assert _options(fragment, "permission") == offered
    assert help_words in fragment


def test_the_detail_page_offers_the_first_members_access_and_swaps_it_on_change(client, login, team, make_config):
    t = team()
    cid = make_config(t.tenant, t.user).id  # an id: row-level security hides the row after a commit
    login(t.user)
    page = client.get(f"/t/{t.tenant.slug}/configurations/{cid}").get_data(as_text=True)
    members = _options(page, "user_id")
    assert str(t.user.id) not in members  # the owner is not offered
    first_role = {str(t.admin.id): "admin", str(t.viewer.id): "viewer", str(t.other.id): "user"}[members[0]]
    assert _options(page, "permission") == (["view"] if first_role == "viewer" else ["view", "edit"])
    select = re.search(r'<select[^>]*name="user_id"[^>]*>', page).group(0)
    assert f'hx-get="/t/{t.tenant.slug}/configurations/{cid}/shares/access"' in select
    assert 'hx-target="#share-access"' in select


def test_edit_for_a_viewer_is_still_refused_and_the_form_then_offers_only_view(client, login, team, make_config, rows):
    from aerospec.configurations.models import ConfigurationShare

    t = team()
    cid = make_config(t.tenant, t.user).id  # an id: row-level security hides the row after a commit
    login(t.user)
    bad = client.post(
        f"/t/{t.tenant.slug}/configurations/{cid}/shares",
        data={"user_id": str(t.viewer.id), "permission": "edit"},
        headers=HX,
    )
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "viewers can only be given view access" in html
    assert _options(html, "permission") == ["view"]
    assert rows(t.tenant, ConfigurationShare) == []


@pytest.mark.parametrize(("role", "selected"), [("other", "edit"), ("viewer", "view")])
def test_choosing_another_member_keeps_the_chosen_access_where_their_role_allows_it(
    client, login, team, make_config, role, selected
):
    t = team()
    cid = make_config(t.tenant, t.user).id  # an id: row-level security hides the row after a commit
    login(t.user)
    fragment = client.get(
        f"/t/{t.tenant.slug}/configurations/{cid}/shares/access",
        query_string={"user_id": str(getattr(t, role).id), "permission": "edit"},
        headers=HX,
    ).get_data(as_text=True)
    offered = _options(fragment, "permission")
    if selected == "edit":
        assert re.search(r'<option selected value="edit"|<option value="edit" selected', fragment)
    else:  # the only choice left, shown first
        assert offered == ["view"]
