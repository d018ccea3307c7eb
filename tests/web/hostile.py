"""A seeded workspace and the means to throw hostile input at every route of it.

Shared by the table-driven tests (tests/web/test_hostile_input.py) and the property-based
fuzz test (tests/web/test_fuzz.py): one tenant with every kind of row the routes take an id
of, its admin logged in on a browser and holding an API token, the forms its pages show, and a
count of every table's rows to prove that a refused request wrote nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from aerospec.configurations import services as configs
from aerospec.limits import counters
from aerospec.tenancy.models import Membership
from aerospec.tenancy.scoping import tenant_scope, unscoped
from tests.configurations.conftest import BASE
from tests.feedback.makers import lab_result
from tests.webhooks import makers as webhook_makers

SHIP_TO = {"name": "Ada Lovelace", "line1": "1 Main St", "city": "Boston", "postal_code": "02110", "country": "US"}

# The workspace's paginated list pages (under /t/<slug>/) and the API's lists.
LIST_PAGES = (
    "configurations",
    "procurements",
    "audit",
    "actuators",
    "fluids",
    "billing/invoices",
    "analytics/accuracy",
    "analytics/top-configurations",
)
ADMIN_LIST_PAGES = ("/admin/tenants", "/admin/procurement/commissions", "/admin/procurement/sync")
API_LISTS = (
    "/api/configurations",
    "/api/procurements",
    "/api/billing/invoices",
    "/api/admin/commissions",
    "/api/analytics/accuracy",
)

# Rows a refused request may still write: the record of the refusal itself.
WRITES_ON_REFUSAL = frozenset({"login_attempts", "alembic_version"})


def in_stock(supplier: str) -> str:
    from aerospec.sandbox import pricing

    return next(s for s in pricing.catalog_skus(supplier) if pricing.offer(supplier, s).stock >= 100)


def _membership(db, tenant, user) -> Membership:
    return db.session.scalar(select(Membership).where(Membership.tenant_id == tenant.id, Membership.user_id == user.id))


DEAD_RECEIVER = "http://127.0.0.1:9/hooks"  # the discard port: nothing listens there


@pytest.fixture
def world(app, db, team, factories, sandbox, login, client):
    """A workspace with a fluid, a configuration, an order and an invitation; its admin logged in."""
    from aerospec.catalog import services as catalog
    from aerospec.procurement import services as orders
    from aerospec.procurement.suppliers import supplier_clients
    from tests.api.conftest import auth

    catalog.seed_actuators(db.session)
    catalog.seed_fluids(db.session)
    db.session.commit()
    t = team()
    t.admin.is_platform_admin = True  # the /admin forms too
    db.session.commit()
    spencer = in_stock("spencer")
    with tenant_scope(db.session, t.tenant.id):
        membership = _membership(db, t.tenant, t.admin)
        config, _ = configs.create_configuration(
            db.session,
            t.tenant,
            membership,
            {**BASE, "compatible_actuators": [{"sku": spencer, "supplier": "spencer"}]},
            counter=counters.DatabaseCounter(),
        )
        order = orders.create_procurement(
            db.session,
            t.tenant,
            t.admin,
            {
                "order_type": "sample",
                "items": [{"sku": spencer, "qty": 5}],
                "selected_supplier": "spencer",
                "ship_to_address": SHIP_TO,
            },
            clients=supplier_clients(app),
            quote_timeout=5.0,
        )
        invitation, token = factories.invitation(t.tenant, "newcomer@example.com")
        fluid = catalog.create_tenant_fluid(
            db.session,
            t.tenant,
            t.admin,
            {"name": "House base", "viscosity_cp": 2.0, "density_kg_m3": 1010.0, "surface_tension_mn_m": 40.0},
        )
        result = lab_result(db.session, t.tenant.id, config.id, sku=spencer, by=t.admin.id)
        # A webhook endpoint on a closed loopback port (a delivery fails at once, nothing leaves the machine).
        hook = webhook_makers.endpoint(db.session, t.tenant.id, url=DEAD_RECEIVER, events=["invoice.paid"])
        hook_delivery = webhook_makers.delivery_with_attempt(db.session, hook)
        db.session.commit()
        ids = SimpleNamespace(
            endpoint=hook.id,
            delivery=hook_delivery.id,
            feedback=result.id,
            config=config.id,
            order=order.id,
            invitation=invitation.id,
            token=token,
            user=t.user.id,
            sku=spencer,
            fluid=fluid.id,
        )
    from aerospec.catalog.models import Actuator

    ids.actuator = db.session.scalar(select(Actuator.id).limit(1))
    login(t.admin)
    t.ids = ids
    t.client = client
    t.bearer = auth(_api_token(app, db, t.admin, t.tenant))
    t.url = lambda path="": f"/t/{t.tenant.slug}/{path.lstrip('/')}"
    # The month's API-call counter row exists from the first call on: later calls only count in it.
    assert client.get("/api/tenants/me", headers=t.bearer).status_code == 200
    return t


def _api_token(app, db, user, tenant) -> str:
    from aerospec.accounts.services import ClientInfo
    from aerospec.api import services as api

    settings = api.TokenSettings(
        app.config["SECRET_KEY"], app.config["JWT_ACCESS_SECONDS"], app.config["JWT_REFRESH_SECONDS"]
    )
    membership = api.choose_membership(db.session, user, tenant.slug)
    pair = api.start_api_session(db.session, user, membership, ClientInfo("127.0.0.1", "pytest"), settings)
    db.session.commit()
    return pair.access_token


# ---- row counts


def row_counts(db) -> dict[str, int]:
    """Every table's row count, across tenants (RLS bypassed where the database has it)."""
    from aerospec.extensions import db as _db

    counts = {}
    db.session.rollback()
    with unscoped(db.session, "tests: count every table's rows"):
        for table in _db.metadata.sorted_tables:
            if table.name in WRITES_ON_REFUSAL:
                continue
            counts[table.name] = int(db.session.scalar(select(func.count()).select_from(table)) or 0)
    db.session.rollback()
    return counts


def changed(before: dict[str, int], after: dict[str, int]) -> dict[str, tuple[int, int]]:
    return {name: (before[name], after[name]) for name in before if before[name] != after.get(name)}


# ---- the forms on the pages


@dataclass
class FormSpec:
    """One <form method=post> as a page shows it: where it goes and the fields with their values."""

    page: str
    action: str
    fields: dict[str, str] = field(default_factory=dict)
    files: tuple[str, ...] = ()


class _FormParser(HTMLParser):
    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.page = page
        self.forms: list[FormSpec] = []
        self._form: FormSpec | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            method = (a.get("method") or a.get("hx-post") and "post" or "get").lower()
            action = a.get("hx-post") or a.get("action") or self.page
            self._form = FormSpec(self.page, action) if method == "post" or a.get("hx-post") else None
            if self._form is not None:
                self.forms.append(self._form)
            return
        if self._form is None or not a.get("name"):
            return
        name = a["name"]
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind == "file":
                self._form.files += (name,)
            elif kind in ("checkbox", "radio"):
                if "checked" in a or name not in self._form.fields:
                    self._form.fields[name] = a.get("value") or "on"
            elif kind not in ("submit", "button", "image", "reset"):
                self._form.fields[name] = a.get("value") or ""
        elif tag == "select":
            self._select = name
            self._form.fields.setdefault(name, "")
        elif tag == "option" and self._select:
            if "selected" in a or not self._form.fields.get(self._select):
                self._form.fields[self._select] = a.get("value") or ""
        elif tag == "textarea":
            self._textarea = name
            self._form.fields[name] = ""
        elif tag == "button" and a.get("value") is not None:
            self._form.fields.setdefault(name, a["value"])

    def handle_data(self, data):
        if self._textarea and self._form is not None:
            self._form.fields[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def forms_on(html: str, page: str) -> list[FormSpec]:
    parser = _FormParser(page)
    parser.feed(html)
    return parser.forms


# Pages whose forms are left alone: each ends the session or the workspace the others need.
DESTRUCTIVE = re.compile(r"/logout$|/delete$|/revoke$|/remove$|/switch-account$|/account/sessions/")


def pages_of(world) -> list[str]:
    """Every page of the workspace (and the public and account pages) with a form to fill."""
    ids = world.ids
    url = world.url
    return [
        "/login",
        "/signup",
        "/forgot-password",
        f"/invitations/{ids.token}",
        "/account/security",
        url("settings"),
        url("members"),
        url("fluids/new"),
        url(f"fluids/{ids.fluid}/edit"),
        url("fluids/sds/new"),
        url("configurations"),
        url(f"configurations/{ids.config}"),
        url(f"configurations/{ids.config}/edit"),
        url(
            "configurations/new?step=results&viscosity_cp=1&density_kg_m3=997&surface_tension_mn_m=72"
            "&pressure_bar=5&cone_deg=60"
        ),
        url("procurements/new"),
        url(f"procurements/new?configuration_id={ids.config}"),
        url(f"procurements/{ids.order}"),
        url("billing"),
        "/admin/catalog/import",
        f"/admin/tenants/{world.tenant.id}/plan",
    ]


def discover_forms(world) -> list[FormSpec]:
    """The POST forms the pages show (each action once), with the values they are shown with."""
    seen: dict[str, FormSpec] = {}
    for page in pages_of(world):
        response = world.client.get(page)
        assert response.status_code < 500, page
        if response.status_code != 200:
            continue
        for spec in forms_on(response.get_data(as_text=True), page.split("?")[0]):
            if DESTRUCTIVE.search(spec.action) or spec.action in seen:
                continue
            seen[spec.action] = spec
    return list(seen.values())
