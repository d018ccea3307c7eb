"""GET /api/ml/training-data: platform admins only (a workspace's token answers 404), anonymised (no tenant,
user, configuration, order or result ids, no fluid names, no free text), workspaces that opted out left out."""

from __future__ import annotations

import json

import pytest

from aerospec.tenancy.scoping import tenant_scope
from tests.api.conftest import assert_problem
from tests.feedback.makers import lab_result


@pytest.fixture
def shared_world(team, make_config, bearer, db, factories):
    sharing = team(name="Sharing Sprays Ltd")
    private = team(name="Private Mist plc", share_lab_results=False)
    ns = {"ids": [], "sharing": sharing, "private": private}
    for t, fluid, n in ((sharing, "Secret Formula SF-9", 3), (private, "Hidden Blend HB-2", 2)):
        config_id = make_config(t.tenant, t.user, fluid_name=fluid).id  # kept: on PostgreSQL it reloads in scope only
        tenant_id, user_id, admin_id, slug = t.tenant.id, t.user.id, t.admin.id, t.tenant.slug
        with tenant_scope(db.session, tenant_id):
            for _ in range(n):
                row = lab_result(db.session, tenant_id, config_id, by=user_id)
                row.measured_by = "Dr. Confidential"
                ns["ids"].append(str(row.id))
            db.session.commit()
        ns["ids"] += [str(tenant_id), str(user_id), str(admin_id), str(config_id), slug, fluid]
    platform = factories.UserFactory(is_platform_admin=True)
    factories.member(factories.TenantFactory(), "admin", user=platform)
    db.session.commit()
    ns["platform"] = bearer(platform)
    ns["tenant_admin"] = bearer(sharing.admin, sharing.tenant)
    return ns


def test_platform_admin_reads_anonymised_rows_of_sharing_workspaces_only(client, db, shared_world):
    response = client.get("/api/ml/training-data", headers=shared_world["platform"])
    assert response.status_code == 200, response.get_json()
    got = response.get_json()
    assert got["total"] == 3 and len(got["rows"]) == 3  # the opted-out workspace's 2 results are not there
    assert got["page"] == 1 and got["pages"] == 1
    text = json.dumps(got)
    for secret in shared_world["ids"] + ["Sharing Sprays", "Private Mist", "Dr. Confidential"]:
        assert secret not in text, secret
    row = got["rows"][0]
    assert row["fluid"] == {"viscosity_cP": 1.0, "density_kg_m3": 997.0, "surface_tension_mN_m": 72.0}
    assert row["measured"] == {"dv50_um": 50.0} and row["pressure_bar"] == 3.0
    assert set(row) == {
        "actuator_supplier", "actuator_sku", "family", "pressure_bar", "fluid", "temperature_c",
        "measurement_method", "measured", "physics", "engine_version", "month",
    }  # fmt: skip
    page2 = client.get("/api/ml/training-data?page=2", headers=shared_world["platform"]).get_json()
    assert page2["rows"] == [] and page2["total"] == 3
    assert_problem(client.get("/api/ml/training-data?page=0", headers=shared_world["platform"]), 422)


def test_a_workspaces_token_answers_404_like_the_other_admin_routes(client, db, shared_world):
    assert_problem(client.get("/api/ml/training-data", headers=shared_world["tenant_admin"]), 404)
    assert client.get("/api/ml/training-data").status_code == 401
