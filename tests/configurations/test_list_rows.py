"""The configurations list's rows (written in Python, aerospec/configurations/rows.py): every cell says
what the row holds, and nothing a user typed reaches the page unescaped."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from sqlalchemy import insert

from aerospec.configurations.models import Configuration
from aerospec.models import utcnow
from aerospec.tenancy.scoping import tenant_scope


def _insert(db, tenant, **fields) -> uuid.UUID:
    config_id = uuid.uuid4()
    now = utcnow()
    row = {
        "id": config_id, "tenant_id": tenant.id, "name": "Plain", "fluid_name": "Water",
        "fluid_viscosity_cP": 1.0, "fluid_density_kg_m3": 997.0, "fluid_surface_tension_mN_m": 72.0,
        "max_pressure_bar": 5.0, "status": "draft", "tags": [], "compatible_actuators": [], "version": 1,
        "fluid_liquefied_propellant": False, "created_at": now, "updated_at": now, **fields,
    }  # fmt: skip
    with tenant_scope(db.session, tenant.id):
        db.session.execute(insert(Configuration), [row])
    db.session.commit()
    return config_id


def _cells(html: str, config_id: uuid.UUID) -> dict[str, str]:
    row = re.search(rf'<tr id="configuration-{config_id}">(.*?)</tr>', html, re.S)
    assert row, f"no row for {config_id}"
    return dict(re.findall(r'<td data-label="([^"]+)">(.*?)</td>', row.group(1), re.S))


def test_each_cell_reads_what_the_row_holds(client, db, team, login, tenant_url):
    ns = team()
    login(ns.admin)
    config_id = _insert(
        db, ns.tenant, name="Glass cleaner", fluid_name="Ethanol", fluid_viscosity_cP=1.2346,
        target_spray_cone_deg=60.0, target_droplet_size_um=50.0, target_flow_rate_ml_min=80.0,
        max_pressure_bar=6.5, status="testing", tags=["bench", "glass"], created_by_id=ns.admin.id,
        updated_at=utcnow() - timedelta(days=3), archived_at=utcnow(),
    )  # fmt: skip
    list_url = tenant_url(ns.tenant, "configurations")
    cells = _cells(client.get(list_url + "?archived=1").get_data(as_text=True), config_id)

    assert cells["Name"] == (
        f'<a href="{list_url}/{config_id}">Glass cleaner</a> <span class="badge badge-archived">Archived</span>'
    )
    assert cells["Fluid"] == 'Ethanol <span class="muted">(1.235 cP)</span>'
    assert cells["Targets"] == '60°, Dv50 50 µm, 80 ml/min <span class="muted">at 6.5 bar</span>'
    assert cells["Status"] == '<span class="badge badge-status-testing">Testing</span>'
    assert cells["Tags"] == (
        f'<a class="tag" href="{list_url}?tag=bench">bench</a> <a class="tag" href="{list_url}?tag=glass">glass</a> '
    )
    assert cells["Created by"] == ns.admin.name
    assert re.fullmatch(
        r'<time class="when" datetime="[^"]+">\d\d \w{3} \d{4}, \d\d:\d\d UTC '
        r'<span class="when-relative">\(3 days ago\)</span></time>',
        cells["Updated"],
    ), cells["Updated"]


def test_a_row_without_fluid_targets_tags_or_creator_says_so(client, db, team, login, tenant_url):
    ns = team()
    login(ns.admin)
    config_id = _insert(db, ns.tenant, fluid_name=None, target_spray_cone_deg=None, created_by_id=None)
    cells = _cells(client.get(tenant_url(ns.tenant, "configurations")).get_data(as_text=True), config_id)

    assert cells["Fluid"] == 'Typed-in fluid <span class="muted">(1 cP)</span>'
    assert cells["Targets"] == '— <span class="muted">at 5 bar</span>'
    assert cells["Tags"] == '<span class="muted">—</span>'
    assert cells["Created by"] == "—"
    assert "badge-archived" not in cells["Name"]


def test_what_a_user_typed_is_escaped_in_every_cell(client, db, team, login, tenant_url):
    ns = team()
    login(ns.admin)
    hostile = '<script>alert("x")</script> & co'
    # A tag as an older import or a direct write could hold it: the row escapes it in the text and the link.
    config_id = _insert(db, ns.tenant, name=hostile, fluid_name=hostile, tags=['a"b<c>&d'])
    html = client.get(tenant_url(ns.tenant, "configurations")).get_data(as_text=True)
    cells = _cells(html, config_id)

    assert "<script>" not in html
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co"
    assert f">{escaped}</a>" in cells["Name"]
    assert cells["Fluid"].startswith(escaped + " ")
    assert cells["Tags"] == (
        f'<a class="tag" href="{tenant_url(ns.tenant, "configurations")}?tag=a%22b%3Cc%3E%26d">'
        "a&#34;b&lt;c&gt;&amp;d</a> "
    )


def test_the_tag_filter_offers_each_tag_in_use_once_in_order(client, db, team, login, tenant_url):
    from aerospec.configurations import services as configs

    ns, stranger = team(), team()
    login(ns.admin)
    now = utcnow()
    _insert(db, ns.tenant, tags=["zeta", "alpha"], updated_at=now - timedelta(minutes=3))
    _insert(db, ns.tenant, tags=["alpha", "mid-way", "b_c"], updated_at=now - timedelta(minutes=2))
    _insert(db, ns.tenant, tags=[], updated_at=now - timedelta(minutes=1))
    _insert(db, ns.tenant, tags=["archived-only"], archived_at=now)
    _insert(db, stranger.tenant, tags=["their-tag"])
    html = client.get(tenant_url(ns.tenant, "configurations")).get_data(as_text=True)
    control = re.search(r'<select id="filter-tag" name="tag">(.*?)</select>', html, re.S).group(1)

    assert re.findall(r'<option value="([^"]*)"', control) == ["", "alpha", "b_c", "mid-way", "zeta"]
    with tenant_scope(db.session, ns.tenant.id):  # only the most recently updated configurations count
        assert configs.tags_in_use(db.session, ns.tenant, limit=2) == ["alpha", "b_c", "mid-way"]


def test_a_row_seen_again_shows_every_change_and_the_clock_moving(client, db, team, login, tenant_url):
    """Rows are kept built between requests (rows.py): a change to any value the row shows, a rename
    of its creator and the passing of time each show on the next view, as if nothing were kept."""
    import time_machine
    from sqlalchemy import update

    from aerospec.accounts.models import User
    from aerospec.configurations import rows

    ns = team()
    login(ns.admin)
    config_id = _insert(db, ns.tenant, name="Before", created_by_id=ns.admin.id, updated_at=utcnow())
    url = tenant_url(ns.tenant, "configurations")

    def cells() -> dict[str, str]:
        return _cells(client.get(url).get_data(as_text=True), config_id)

    first = cells()
    assert "(just now)" in first["Updated"]
    assert any(str(key[1]).replace("-", "") == config_id.hex for key in rows._BUILT), "the row was not kept"
    with time_machine.travel(utcnow() + timedelta(hours=3), tick=False):
        assert "(3 hours ago)" in cells()["Updated"]
    with tenant_scope(db.session, ns.tenant.id):
        db.session.execute(
            update(Configuration)
            .where(Configuration.id == config_id)
            .values(name="After", status="testing", tags=["new-tag"], max_pressure_bar=7.25)
            .values(updated_at=Configuration.updated_at)  # kept as it was: the values alone must tell
        )
    db.session.execute(update(User).where(User.id == ns.admin.id).values(name="Renamed Admin"))
    db.session.commit()
    second = cells()

    assert ">After</a>" in second["Name"]
    assert second["Status"] == '<span class="badge badge-status-testing">Testing</span>'
    assert ">new-tag</a>" in second["Tags"]
    assert "at 7.25 bar" in second["Targets"]
    assert second["Created by"] == "Renamed Admin"
    assert second["Updated"] == first["Updated"]
