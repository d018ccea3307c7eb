"""Wording follows the permission matrix (issue 9, item 14): the roles page is generated from it,
refusals say what the role cannot do on that page, and nothing lists a page that does not exist."""

from __future__ import annotations

import re

import pytest

from aerospec.tenancy.permissions import COMING_SOON, MATRIX, PERMISSION_LABELS, refusal


def _cells(page: str) -> dict[str, list[str]]:
    """Row label → the three cells' words, read from the roles table."""
    table = page[page.index('aria-label="Permissions by role"') :]
    table = table[: table.index("</table>")]
    out = {}
    for row in re.findall(r"<tr><th scope=\"row\">(.*?)</tr>", table, re.S):
        label = re.sub(r"<span.*", "", row.split("</th>")[0], flags=re.S).strip()
        out[label] = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    return out


@pytest.mark.parametrize("role", ["admin", "user", "viewer"])
def test_roles_page_is_the_matrix_in_words_for_every_role(client, login, team, tenant_url, role):
    ns = team()
    login(getattr(ns, role))
    page = client.get(tenant_url(ns.tenant, "roles")).get_data(as_text=True)
    cells = _cells(page)
    words = {"yes": "✓ Yes", "no": "✗ No", "own": "Their own only", "if_enabled": "If an admin turns it on"}
    expected = {
        PERMISSION_LABELS[p].replace("'", "&#39;"): [words[MATRIX[p][r]] for r in ("admin", "user", "viewer")]
        for p in MATRIX
        if p not in COMING_SOON
    }
    assert cells == expected
    assert "Archive, restore and share configurations" in cells
    assert cells["Archive, restore and share configurations"] == ["✓ Yes", "Their own only", "✗ No"]
    assert "Delete configurations" not in page and "Own only" not in page
    # The analytics pages exist: the row is in the table, no longer under "Coming soon".
    assert cells["View analytics"] == ["✓ Yes", "✓ Yes", "✗ No"]
    soon = page[page.index('id="coming-soon-heading"') :] if 'id="coming-soon-heading"' in page else ""
    assert "analytics" not in soon.lower()
    assert f"your role in {ns.tenant.name} is <strong>{role}</strong>" in page


def test_a_viewer_on_the_new_fluid_page_is_told_about_fluids_not_configurations(client, login, team, tenant_url):
    ns = team()
    login(ns.viewer)
    response = client.get(tenant_url(ns.tenant, "fluids/new"))
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "Your role (viewer) cannot add, edit or delete the workspace&#39;s fluids" in page
    assert "cannot create and edit configurations" not in page


def test_a_user_archiving_someone_elses_configuration_is_told_the_own_only_rule():
    assert refusal("user", "delete_configurations") == (
        "As a user, you can archive, restore and share only the configurations you created."
    )
    assert refusal("viewer", "delete_configurations") == (
        "Your role (viewer) cannot archive, restore and share configurations."
    )
    assert refusal("viewer", "api_access") == "Your role (viewer) cannot use the REST API."
