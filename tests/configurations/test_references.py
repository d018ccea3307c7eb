"""Ids in API bodies that name tenant-owned rows: another tenant's (or a missing) id is a 422 naming the
field, with nothing written; never a dangling id stored (issue 10, item 6)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from aerospec.catalog import services as catalog
from aerospec.catalog.models import Fluid
from aerospec.compliance.models import AuditLog
from aerospec.configurations.models import Configuration, ConfigurationShare
from aerospec.procurement.models import Procurement
from aerospec.tenancy.scoping import tenant_scope
from tests.api.conftest import assert_problem
from tests.catalog import makers
from tests.configurations.conftest import BASE


def _counts(db, tenant) -> tuple[int, ...]:
    """What a refused request must leave alone: the tenant's configurations, shares, orders and audit lines."""
    db.session.expire_all()
    with tenant_scope(db.session, tenant.id):
        return tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (Configuration, ConfigurationShare, Procurement, AuditLog)
        )


@pytest.fixture
def strangers_fluid(db, team):
    """The id of a custom fluid of another workspace (committed)."""
    fluid_id = str(makers.tenant_fluid(team().tenant).id)
    db.session.commit()
    return fluid_id


@pytest.mark.parametrize("whose", ["another workspace's", "nobody's"])
def test_creating_with_a_fluid_id_that_is_not_ours_is_a_422_and_writes_nothing(
    client, db, team, bearer, strangers_fluid, whose
):
    # One configuration a month: a refused create must not use up the unit either.
    t = team(limits={"configurations_per_month": 1})
    fluid_id = strangers_fluid if whose == "another workspace's" else str(uuid.uuid4())
    before = _counts(db, t.tenant)

    body = assert_problem(
        client.post("/api/configurations", json={**BASE, "fluid_id": fluid_id}, headers=bearer(t.user)),
        422,
        fields=("fluid_id",),
    )

    assert list(body["errors"]) == ["fluid_id"]
    assert _counts(db, t.tenant) == before
    assert client.post("/api/configurations", json=BASE, headers=bearer(t.user)).status_code == 201


def test_updating_to_another_workspaces_fluid_is_a_422_and_changes_nothing(
    client, db, team, bearer, make_config, strangers_fluid
):
    t = team()
    config_id = make_config(t.tenant, t.user).id
    before = _counts(db, t.tenant)

    assert_problem(
        client.put(f"/api/configurations/{config_id}", json={"fluid_id": strangers_fluid}, headers=bearer(t.user)),
        422,
        fields=("fluid_id",),
    )

    assert _counts(db, t.tenant) == before
    with tenant_scope(db.session, t.tenant.id):
        config = db.session.get(Configuration, config_id)
        assert (config.fluid_id, config.version) == (None, 1)


def test_our_own_fluid_and_a_library_fluid_are_accepted(client, db, team, bearer):
    t = team()
    own = makers.tenant_fluid(t.tenant).id
    catalog.seed_fluids(db.session)
    db.session.commit()
    water = db.session.scalar(select(Fluid.id).where(Fluid.name == "Water"))
    h = bearer(t.user)
    for fluid_id in (own, water):
        created = client.post("/api/configurations", json={**BASE, "fluid_id": str(fluid_id)}, headers=h)
        assert created.status_code == 201, created.get_json()
        assert created.get_json()["fluid_id"] == str(fluid_id)


def test_ordering_from_another_workspaces_configuration_is_a_422_and_writes_nothing(
    client, db, team, bearer, make_config
):
    t, other = team(), team()
    foreign = make_config(other.tenant, other.user).id
    before = _counts(db, t.tenant)
    order = {
        "configuration_id": str(foreign),
        "order_type": "sample",
        "items": [{"sku": "SP-MB-0100-PP", "qty": 10}],
        "selected_supplier": "spencer",
        "ship_to_address": {"name": "Lab", "line1": "1 Main St", "city": "Austin", "postal_code": "78701",
                            "country": "US"},
    }  # fmt: skip
    h = bearer(t.admin)
    assert_problem(client.post("/api/procurements", json=order, headers=h), 422, fields=("configuration_id",))
    assert_problem(
        client.post("/api/procurements/compare", json={"configuration_id": str(foreign)}, headers=h),
        422,
        fields=("configuration_id",),
    )
    assert _counts(db, t.tenant) == before


def test_moving_a_draft_order_to_another_workspaces_configuration_is_a_422_and_changes_nothing(
    client, db, team, bearer, make_config
):
    t, other = team(), team()
    foreign = make_config(other.tenant, other.user).id
    with tenant_scope(db.session, t.tenant.id):
        draft = Procurement(
            tenant_id=t.tenant.id, reference="PO-REFS0001", order_type="sample", status="draft",
            ship_to_address={}, idempotency_key=uuid.uuid4().hex,
        )  # fmt: skip
        db.session.add(draft)
        db.session.commit()
        draft_id = draft.id
    before = _counts(db, t.tenant)
    assert_problem(
        client.put(f"/api/procurements/{draft_id}", json={"configuration_id": str(foreign)}, headers=bearer(t.admin)),
        422,
        fields=("configuration_id",),
    )
    assert _counts(db, t.tenant) == before
    with tenant_scope(db.session, t.tenant.id):
        assert db.session.get(Procurement, draft_id).configuration_id is None


def test_sharing_with_a_member_of_another_workspace_is_a_422_and_writes_nothing(client, db, team, bearer, make_config):
    t, other = team(), team()
    config_id = make_config(t.tenant, t.user).id
    before = _counts(db, t.tenant)
    assert_problem(
        client.post(
            f"/api/configurations/{config_id}/share",
            json={"user_id": str(other.user.id), "permission": "view"},
            headers=bearer(t.user),
        ),
        422,
        fields=("user_id",),
    )
    assert _counts(db, t.tenant) == before
