"""The route sweep of issue 10: every route, every method, every role of a second tenant, hostile variants.

Two workspaces: the victim (A) with a row of every kind the routes take an id of, and the
attacker (B) with an admin, a user and a viewer, plus an anonymous browser and a platform admin
(a member of a third workspace). Routes come from `app.url_map`, so a new route is swept the day it
is added. Four phases, in this order (routes that end a session or a workspace run last):

1. cross-tenant: each actor calls each route with A's ids (through A's slug, and through its own
   slug with A's ids); tenant pages must answer 404 to members and send anonymous visitors to /login;
   no answer may be a 2xx that shows one of A's marked values, and A's rows (every tenant-owned
   table, A's tenant row, its members' users and sessions) must be the same after each route;
2. the role matrix: each of B's roles calls each tenant and API route with B's own fresh ids; every
   decision of `ensure_permitted` / the API's "API access" gate is compared with DESIGN.md's role table
   (written out in tests/tenancy/test_permissions.py, apart from MATRIX), a refusal must answer 403 and
   write nothing, an allowed request must not answer 403, and a 403 must come from the matrix;
3. malformed: path ids (NUL and control bytes, huge numbers, wrong types, overlong text) must answer as
   an unknown id does (404 for a member); bodies with NUL bytes, lone surrogates, deep JSON, wrong types,
   overlong strings and huge numbers must not answer 5xx (sampled deterministically unless `full`);
4. the routes left for last, as in 1 and 2.

Every request: no 5xx, and a 4xx answer wrote no row (every table's row count, one statement).
`python -m bench.sweep` prints the figures of a full run.
"""

from __future__ import annotations

import json
import random
import re
import sys
import uuid
from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace

from sqlalchemy import func, select

from aerospec.errors import PermissionDenied
from aerospec.tenancy import permissions
from aerospec.tenancy.scoping import tenant_scope, unscoped
from tests.tenancy.test_isolation import GLOBAL_PLACEHOLDERS, ID_MAKERS
from tests.tenancy.test_permissions import EXPECTED
from tests.web.hostile import WRITES_ON_REFUSAL

METHODS_LEFT_OUT = {"HEAD", "OPTIONS"}
# Development-only pages: off in production (404), and by design they show every email of the machine.
DEV_ONLY = ("/dev/", "/static/")
# Routes that end the actor's session or workspace: swept after everything else.
LAST = {
    ("POST", "/logout"),
    ("POST", "/api/auth/logout"),
    ("DELETE", "/api/tenants/me"),
    ("POST", "/t/<tenant_slug>/delete"),
    ("POST", "/invitations/<token>/switch-account"),
    ("POST", "/switch"),
}
LAST_ORDER = [
    "/switch",
    "/invitations/<token>/switch-account",
    "/t/<tenant_slug>/delete",
    "/api/tenants/me",
    "/api/auth/logout",
    "/logout",
]
SAFE_BATCH = 12  # GET routes swept between two comparisons of the victim's rows
LOGOUTS = {"/api/auth/logout", "/logout", "/invitations/<token>/switch-account"}
# Platform admins see every workspace on these by design (each action audited).
PLATFORM_ROUTES = ("/admin/", "/api/admin/")
ROLES = ("admin", "user", "viewer")
PLACEHOLDER = re.compile(r"<(?:([a-z]+)(?:\([^)]*\))?:)?([a-z_]+)>")

BAD_PATH_VALUES = [
    "%00",
    "a%00b",
    "%01x",
    "%7F",
    "9" * 40,
    "-1",
    "0",
    "abc",
    "a" * 3000,
    "%C0%80",
    "%FF%FE",
    "00000000-0000-0000-0000-00000000000g",
]


@dataclass
class Tally:
    """What the sweep saw: requests by status, and every failure with its request."""

    statuses: Counter = field(default_factory=Counter)
    phases: Counter = field(default_factory=Counter)
    leaks: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    partial_writes: list[str] = field(default_factory=list)
    wall: list[str] = field(default_factory=list)  # tenant pages that answered other than 404 / login
    malformed_ids: list[str] = field(default_factory=list)  # malformed path ids not answered like unknown ids
    matrix_broken: list[str] = field(default_factory=list)
    matrix_decisions: int = 0
    cells_seen: set = field(default_factory=set)
    route_role_cells: set = field(default_factory=set)
    problem_json_missing: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def failures(self) -> dict[str, list[str]]:
        return {
            "leaks": self.leaks,
            "5xx": self.server_errors,
            "partial writes": self.partial_writes,
            "tenant wall": self.wall,
            "malformed ids": self.malformed_ids,
            "matrix": self.matrix_broken,
            "API refusals not problem+json": self.problem_json_missing,
        }

    def report(self) -> str:
        broken = {kind: found for kind, found in self.failures().items() if found}
        held = len(self.route_role_cells) - len({c for c in self.route_role_cells if c in self._broken_cells})
        lines = [
            f"requests sent: {self.requests}",
            "by phase: " + ", ".join(f"{k} {v}" for k, v in sorted(self.phases.items())),
            "by status: " + ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items())),
            f"cross-tenant leaks: {len(self.leaks)}",
            f"5xx answers: {len(self.server_errors)}",
            f"partial writes (a 4xx that wrote rows): {len(self.partial_writes)}",
            f"tenant wall misses: {len(self.wall)}",
            f"malformed path ids not answered as unknown: {len(self.malformed_ids)}",
            f"role matrix: {held} of {len(self.route_role_cells)} route x method x role cells held "
            f"({self.matrix_decisions} decisions; {len(self.cells_seen)} of "
            f"{sum(len(r) for r in EXPECTED.values())} permission x role cells exercised)",
        ]
        unseen = sorted((p, r) for p, roles in EXPECTED.items() for r in roles if (p, r) not in self.cells_seen)
        if unseen:
            lines.append("permission x role cells no route decided: " + ", ".join(f"{p}/{r}" for p, r in unseen))
        for kind, found in broken.items():
            lines.append(f"-- {kind} ({len(found)}):")
            lines.extend(f"   {line}" for line in found[:40])
        return "\n".join(lines)

    _broken_cells: set = field(default_factory=set)


# ---- the decisions of the permission matrix, recorded


DECISIONS: list[tuple] = []


def _expected(role, permission, *, actor_id, owner_id, enabled) -> bool:
    """DESIGN.md's role table (tests/tenancy/test_permissions.EXPECTED), not MATRIX."""
    cell = EXPECTED[permission].get(role, "no") if role else "no"
    if cell == "yes":
        return True
    if cell == "own":
        # With no row at hand allowed in principle; a row must be the actor's own (an ownerless row is not).
        return owner_id is permissions.NO_ROW or (actor_id is not None and owner_id == actor_id)
    if cell == "if_enabled":
        return enabled
    return False


def record_decisions(monkeypatch) -> None:
    """Wrap every binding of ensure_permitted and the API's gate so each decision is recorded."""
    from aerospec.api import views as api_views

    original = permissions.ensure_permitted
    original_gate = api_views.can_use_api

    def recording(membership, permission, *, owner_id=permissions.NO_ROW, doing=None):
        role = getattr(membership, "role", None)
        tenant = getattr(membership, "tenant", None)
        expected = _expected(
            role,
            permission,
            actor_id=getattr(membership, "user_id", None),
            owner_id=owner_id,
            enabled=bool(getattr(tenant, "api_enabled_for_users", False)),
        )
        try:
            original(membership, permission, owner_id=owner_id, doing=doing)
        except PermissionDenied:
            DECISIONS.append((permission, role, False, expected))
            raise
        DECISIONS.append((permission, role, True, expected))

    def gate(membership):
        allowed = original_gate(membership)
        tenant = getattr(membership, "tenant", None)
        role = getattr(membership, "role", None)
        expected = _expected(
            role,
            "api_access",
            actor_id=None,
            owner_id=permissions.NO_ROW,
            enabled=bool(tenant and tenant.api_enabled_for_users),
        )
        DECISIONS.append(("api_access", role, allowed, expected))
        return allowed

    for name, module in list(sys.modules.items()):
        if name.startswith("aerospec") and getattr(module, "ensure_permitted", None) is original:
            monkeypatch.setattr(module, "ensure_permitted", recording)
    monkeypatch.setattr(api_views, "can_use_api", gate)


# ---- state


_COUNTS: dict = {}


def _tables(db):
    if "tables" not in _COUNTS:
        _COUNTS["tables"] = [t for t in db.metadata.sorted_tables if t.name not in WRITES_ON_REFUSAL]
    return _COUNTS["tables"]


def row_counts(db) -> tuple:
    """Every table's row count in one statement (RLS bypassed)."""
    if "query" not in _COUNTS:
        counts = [select(func.count()).select_from(t).scalar_subquery().label(t.name) for t in _tables(db)]
        _COUNTS["query"] = select(*counts)
    db.session.rollback()
    with unscoped(db.session, "sweep: count every table's rows"):
        counts = tuple(db.session.execute(_COUNTS["query"]).one())
    db.session.rollback()
    return counts


def count_changes(db, before: tuple, after: tuple) -> dict:
    names = [t.name for t in _tables(db)]
    return {n: (b, a) for n, b, a in zip(names, before, after, strict=True) if b != a}


def fingerprint(db, victim) -> dict:
    """Everything of the victim's that an intruder could read out or change: every row of it."""
    from aerospec.accounts.models import User, UserSession
    from aerospec.tenancy.models import Membership, Tenant

    db.session.rollback()
    state = {}
    with unscoped(db.session, "sweep: the victim's rows"):
        for table in db.metadata.sorted_tables:
            if "tenant_id" in table.c and table.name not in WRITES_ON_REFUSAL:
                rows = db.session.execute(select(table).where(table.c.tenant_id == victim.tenant.id)).all()
                state[table.name] = sorted(map(repr, rows))
        state["tenant"] = repr(db.session.execute(select(Tenant.__table__).where(Tenant.id == victim.tenant.id)).all())
        users = select(Membership.user_id).where(Membership.tenant_id == victim.tenant.id)
        state["users"] = sorted(map(repr, db.session.execute(select(User.__table__).where(User.id.in_(users))).all()))
        state["sessions"] = sorted(
            map(repr, db.session.execute(select(UserSession.__table__).where(UserSession.user_id.in_(users))).all())
        )
    db.session.rollback()
    return state


# ---- the two workspaces


def _extra_makers(db, factories):
    """Placeholders outside tenant pages: login sessions, checkout sessions, tenants, emails, tokens."""
    from aerospec.accounts import services as accounts
    from aerospec.billing.models import OfflineCheckoutSession
    from aerospec.notifications.models import EmailMessage

    def session_id(_f, tenant, rule):
        if "checkout" in rule:
            with tenant_scope(db.session, tenant.id):
                row = OfflineCheckoutSession(
                    id=f"cs_offline_{uuid.uuid4().hex}", mode="payment", tenant_id=tenant.id,
                    amount_total=1000, description="Swept", success_url="/", cancel_url="/",
                    customer_email=f"payer-{tenant.slug}@example.com",
                    metadata_={"kind": "procurement", "tenant_id": str(tenant.id)},
                )  # fmt: skip
                db.session.add(row)
                db.session.flush()
            return row.id
        owner = tenant.sweep_admin
        return accounts.start_session(db.session, owner, accounts.ClientInfo("127.0.0.1", "sweep")).id

    def message_id(_f, tenant, rule):
        message = db.session.scalar(select(EmailMessage.id).where(EmailMessage.to_address.like("%victim%")).limit(1))
        return message or uuid.uuid4()

    return {
        "session_id": session_id,
        "message_id": message_id,
        "tenant_id": lambda _f, tenant, rule: tenant.id,
        "supplier": lambda _f, tenant, rule: "spencer",
        # A secret in the URL is the caller's authority: the sweep sends the victim's invitation *id*
        # where a token goes (an intruder who guesses must get 404), never the token itself.
        "token": lambda _f, tenant, rule: str(tenant.sweep_invitation),
        "filename": lambda _f, tenant, rule: "css/app.css",
        # The platform console (issue 13): a revenue CSV that exists, an action the console offers, and an
        # impersonation id (none is running in the sweep: a platform admin gets 404, everyone else 404 too).
        "name": lambda _f, tenant, rule: next(iter(_revenue_exports())),
        "action": lambda _f, tenant, rule: "extend-trial",
        "impersonation_id": lambda _f, tenant, rule: uuid.uuid4(),
    }


def _revenue_exports():
    from aerospec.revenue.views import EXPORTS

    return EXPORTS


def placeholders(rule) -> list[str]:
    return sorted(a for a in rule.arguments if a != "tenant_slug")


def make_ids(rule, factories, tenant, extra) -> dict:
    """Fresh rows of `tenant` for every placeholder of the rule."""
    return make_ids_named(rule, placeholders(rule), factories, tenant, extra)


def make_ids_named(rule, names, factories, tenant, extra) -> dict:
    ids = {}
    for name in names:
        if name in ID_MAKERS:
            ids[name] = ID_MAKERS[name](factories, tenant)
        elif name in extra:
            ids[name] = extra[name](factories, tenant, rule.rule)
        else:
            raise LookupError(f"{rule.rule}: teach tests/sweep.py to fill <{name}>")
    return ids


def path_for(rule, slug: str | None, ids: dict) -> str:
    """The rule's path with values put in as they are (a bad value stays bad: no converter sees it)."""
    values = dict(ids)
    if slug is not None:
        values["tenant_slug"] = slug
    return PLACEHOLDER.sub(lambda m: str(values[m.group(2)]), rule.rule)


def _scoped(app, make):
    """make() with the app's test clients request-scoped (tests.conftest.RequestScopedClient)."""
    from tests.conftest import RequestScopedClient

    previous, app.test_client_class = app.test_client_class, RequestScopedClient
    try:
        return make()
    finally:
        app.test_client_class = previous


def _login(app, db, user):
    from tests.web.test_csrf import logged_in

    return _scoped(app, lambda: logged_in(app, db, user))


def build(app, db, factories) -> SimpleNamespace:
    """The victim, the attacker's three roles, an anonymous browser and a platform admin (committed)."""
    from aerospec.configurations.models import Configuration
    from aerospec.procurement.models import Procurement
    from tests.web.hostile import _api_token

    def workspace(name: str):
        tenant = factories.TenantFactory(name=name, plan="enterprise", api_enabled_for_users=True)
        people = {role: factories.member(tenant, role) for role in ROLES}
        tenant.sweep_admin = people["admin"]
        invitation, _token = factories.invitation(tenant, f"invitee-{tenant.slug}@example.com")
        tenant.sweep_invitation = invitation.id
        db.session.commit()
        return tenant, people

    secret = uuid.uuid4().hex[:8]
    victim_tenant, victim_people = workspace(f"Victimcorp {secret}")
    attacker_tenant, attacker_people = workspace(f"Attacker {secret}")
    third = factories.TenantFactory(name=f"Platform home {secret}", plan="enterprise")
    platform = factories.member(third, "admin")
    platform.is_platform_admin = True
    third.sweep_admin = platform
    third.sweep_invitation = uuid.uuid4()
    db.session.commit()

    extra = _extra_makers(db, factories)
    victim = SimpleNamespace(tenant=victim_tenant, people=victim_people)
    # The victim's rows, made once: every placeholder of every route, with marked names.
    victim.ids = {}
    for rule in app.url_map.iter_rules():
        for name in placeholders(rule):
            if name not in victim.ids:
                victim.ids.update(make_ids_named(rule, [name], factories, victim_tenant, extra))
    victim.checkout_id = extra["session_id"](factories, victim_tenant, "checkout")
    victim.markers = [f"Victimcorp {secret}", f"Victim config {secret}", f"PO-VICTIM-{secret}"]
    victim.markers += [u.email for u in victim_people.values()]
    with tenant_scope(db.session, victim_tenant.id):
        for config in db.session.scalars(select(Configuration)):
            config.name = f"Victim config {secret}"
        for order in db.session.scalars(select(Procurement)):
            order.reference = f"PO-VICTIM-{secret}"
        db.session.flush()  # inside the victim's scope: on PostgreSQL row-level security hides its rows outside
    db.session.commit()

    actors = {
        "anonymous": SimpleNamespace(name="anonymous", client=_scoped(app, app.test_client), bearer={}, tenant=None)
    }
    for role, user in attacker_people.items():
        actors[role] = SimpleNamespace(
            name=role,
            role=role,
            user=user,
            tenant=attacker_tenant,
            client=_login(app, db, user),
            bearer={"Authorization": f"Bearer {_api_token(app, db, user, attacker_tenant)}"},
        )
    actors["platform admin"] = SimpleNamespace(
        name="platform admin",
        user=platform,
        tenant=third,
        client=_login(app, db, platform),
        bearer={"Authorization": f"Bearer {_api_token(app, db, platform, third)}"},
    )
    return SimpleNamespace(victim=victim, actors=actors, extra=extra, attacker=attacker_tenant)


# ---- payloads


def form_payload(world) -> dict:
    v = world.victim
    return {
        "role": "admin",
        "email": "intruder@example.com",
        "name": "Taken over",
        "billing_email": "intruder@example.com",
        "confirmation": v.tenant.slug,
        "configuration_id": str(v.ids["config_id"]),
        "fluid_id": str(v.ids["fluid_id"]),
        "user_id": str(v.ids["user_id"]),
        "plan": "professional",
        "password": "correct horse battery staple 42",
    }


def json_payload(world) -> dict:
    return {
        **form_payload(world),
        "fluid_viscosity_cP": 1.0,
        "fluid_density_kg_m3": 997.0,
        "fluid_surface_tension_mN_m": 72.0,
        "target_spray_cone_deg": 60.0,
        "max_pressure_bar": 5.0,
        "permission": "edit",
        "order_type": "sample",
        "items": [{"sku": "SP-1", "qty": 1}],
    }


class Raw(str):
    """JSON text sent as is."""


DEEP = "[" * 100_000 + "]" * 100_000


def hostile_values() -> list:
    return ["a\x00b", "\ud800", "x" * 100_000, 10**400, -(2**70), 1e308, [1, 2], {"a": {"b": []}}, True, None]


def hostile_bodies(world, rng: random.Random, k: int | None) -> list[tuple[str, str]]:
    """(kind, JSON text): the valid-looking body with one field made hostile, or a hostile whole body."""
    base = json_payload(world)
    bodies = [
        ("deep JSON", DEEP),
        ("not an object", "[1, 2, 3]"),
        ("truncated", '{"name": "a'),
        ("NaN", '{"name": NaN}'),
    ]
    bodies.append(("1e400", '{"max_pressure_bar": 1e400, "name": "x"}'))
    for name in sorted(base):
        for value in hostile_values():
            text = json.dumps({**base, name: value}) if not isinstance(value, str) or "\ud800" not in value else None
            if text is None:
                text = json.dumps({**base, name: "PLACEHOLDER"}).replace("PLACEHOLDER", "\\ud800")
            bodies.append((f"{name}={str(value)[:12]!r}", text))
    return bodies if k is None else rng.sample(bodies, min(k, len(bodies)))


def hostile_forms(world, rng: random.Random, k: int | None) -> list[tuple[str, dict]]:
    base = form_payload(world)
    values = ["a\x00b", "\ud800", "x" * 100_000, "9" * 400, "1e400", "NaN", "-1", ""]
    forms = [(f"{name}={value[:12]!r}", {**base, name: value}) for name in sorted(base) for value in values]
    forms.append(("empty", {}))
    return forms if k is None else rng.sample(forms, min(k, len(forms)))


def _urlencoded(fields: dict) -> bytes:
    from urllib.parse import quote

    return "&".join(
        f"{quote(str(k).encode('utf-8', 'surrogatepass'))}={quote(str(v).encode('utf-8', 'surrogatepass'))}"
        for k, v in fields.items()
    ).encode()


# ---- the sweep


class Sweep:
    def __init__(self, app, db, factories, world, *, full: bool = False, seed: int = 10):
        self.app, self.db, self.factories, self.world = app, db, factories, world
        self.full = full
        self.seed = seed
        self.tally = Tally()
        self._counts: tuple | None = None  # every table's row count after the last request
        self._safe_batch: list = []  # GET routes swept since the victim's rows were last compared
        rules = [r for r in app.url_map.iter_rules() if not r.rule.startswith(DEV_ONLY)]
        self.targets = sorted(
            ((m, r) for r in rules for m in sorted(r.methods - METHODS_LEFT_OUT)), key=lambda t: (t[1].rule, t[0])
        )

    def wrote(self) -> None:
        """The sweep made rows of its own (fresh ids): commit them and count again before the next request."""
        self.db.session.commit()
        self._counts = None

    def _is_api(self, rule) -> bool:
        return rule.rule.startswith("/api/")

    def send(self, phase: str, actor, method: str, path: str, rule, *, body=None, form=None, label: str = ""):
        """One request, with every request's checks: no 5xx, a 4xx wrote nothing, API refusals in problem+json."""
        db = self.db
        headers = dict(actor.bearer) if self._is_api(rule) else {}
        kwargs = {}
        if method != "GET":
            if self._is_api(rule) or rule.rule == "/api/webhooks/stripe":
                text = body if body is not None else json.dumps(json_payload(self.world))
                kwargs = {"data": text.encode("utf-8", "surrogatepass"), "content_type": "application/json"}
            else:
                fields = form if form is not None else form_payload(self.world)
                kwargs = {"data": _urlencoded(fields), "content_type": "application/x-www-form-urlencoded"}
        # The counts after the previous request, unless the sweep wrote rows since (one statement a request then).
        before = self._counts if self._counts is not None else row_counts(db)
        DECISIONS.clear()
        response = actor.client.open(path, method=method, headers=headers, **kwargs)
        status = response.status_code
        self.tally.statuses[status] += 1
        self.tally.phases[phase] += 1
        where = f"{phase}: {actor.name} {method} {path[:120]} {label} -> {status}"
        if status >= 500:
            self.tally.server_errors.append(where + " " + response.get_data(as_text=True)[:200].replace("\n", " "))
        self._counts = row_counts(db)
        if 400 <= status < 500:
            changes = count_changes(db, before, self._counts)
            if changes:
                self.tally.partial_writes.append(f"{where} {changes}")
            if self._is_api(rule) and response.mimetype != "application/problem+json":
                self.tally.problem_json_missing.append(where)
        return response

    def leaked(self, actor, rule, response) -> bool:
        if not 200 <= response.status_code < 300:
            return False
        if actor.name == "platform admin" and rule.rule.startswith(PLATFORM_ROUTES):
            return False  # platform admins see every workspace there by design
        text = response.get_data(as_text=True)
        return any(marker in text for marker in self.world.victim.markers)

    # phase 1 and 4a
    def cross_tenant(self, targets, phase="cross-tenant"):
        world = self.world
        victim = world.victim
        for method, rule in targets:
            ids = {n: victim.ids[n] for n in placeholders(rule)}
            if rule.rule.startswith("/billing/offline/checkout/"):
                ids["session_id"] = victim.checkout_id
            has_ids = placeholders(rule) and not set(placeholders(rule)) <= GLOBAL_PLACEHOLDERS
            safe = method == "GET" and not rule.rule.startswith(PLATFORM_ROUTES)
            if safe and self._safe_batch:
                before = None  # a GET after GETs: the victim's rows are compared once for the whole run
                self._safe_batch.append((None, rule.rule))
            else:
                self._check_safe_batch()
                before = fingerprint(self.db, victim)
                if safe:
                    self._safe_batch = [(before, rule.rule)]
            for actor in world.actors.values():
                if actor.name == "platform admin" and rule.rule.startswith(PLATFORM_ROUTES):
                    # Platform admins may change any workspace there (audited): judge the others' requests first.
                    if fingerprint(self.db, victim) != before:
                        self.tally.leaks.append(f"{method} {rule.rule}: the victim's rows changed")
                    before = None
                if "tenant_slug" not in rule.arguments:
                    self._one(phase, actor, method, path_for(rule, None, ids), rule)
                    continue
                # Through the victim's slug: a stranger's answer is 404, an anonymous visitor's the login page.
                path = path_for(rule, victim.tenant.slug, ids)
                response = self._one(phase, actor, method, path, rule)
                wanted = "login" if actor.tenant is None else 404
                got = response.status_code
                if not (got == 404 if wanted == 404 else got == 302 and "/login" in response.location):
                    self.tally.wall.append(f"{actor.name} {method} {path} -> {got} (wanted {wanted})")
                if actor.tenant is None or not has_ids:
                    continue
                # Through its own slug with the victim's ids: answered exactly as ids that exist nowhere.
                path = path_for(rule, actor.tenant.slug, ids)
                response = self._one(phase, actor, method, path, rule)
                unknown = {
                    n: (v if n in GLOBAL_PLACEHOLDERS or n == "version" else uuid.uuid4()) for n, v in ids.items()
                }
                control = self.send(phase, actor, method, path_for(rule, actor.tenant.slug, unknown), rule)
                if response.status_code != control.status_code:
                    self.tally.wall.append(
                        f"{actor.name} {method} {path} -> {response.status_code}, unknown ids -> {control.status_code}"
                    )
            if safe:
                if len(self._safe_batch) >= SAFE_BATCH:
                    self._check_safe_batch()
            elif before is not None and fingerprint(self.db, victim) != before:
                self.tally.leaks.append(f"{method} {rule.rule}: the victim's rows changed")
        self._check_safe_batch()

    def _check_safe_batch(self) -> None:
        """The victim's rows after a run of GET routes are as before it (else each route of the run is named)."""
        if not self._safe_batch:
            return
        before, routes = self._safe_batch[0][0], [r for _b, r in self._safe_batch]
        self._safe_batch = []
        if fingerprint(self.db, self.world.victim) != before:
            self.tally.leaks.append(f"GET {', '.join(routes)}: the victim's rows changed during these routes")

    def _one(self, phase, actor, method, path, rule):
        response = self.send(phase, actor, method, path, rule)
        if self.leaked(actor, rule, response):
            self.tally.leaks.append(f"{actor.name} {method} {path} -> {response.status_code} shows the victim's data")
        return response

    # phase 2 and 4b
    def matrix(self, targets, phase="role matrix", roles=ROLES):
        world = self.world
        for method, rule in targets:
            if not ("tenant_slug" in rule.arguments or self._is_api(rule)):
                continue
            if rule.rule.startswith(("/api/auth/", "/api/tenants/invitations/")) or rule.rule == "/api/webhooks/stripe":
                continue  # no member yet: these authenticate themselves
            for role in roles:
                actor = world.actors[role]
                ids = make_ids(rule, self.factories, actor.tenant, world.extra)
                if "config_id" in ids:
                    self._made_by(actor, ids["config_id"])
                self.wrote()
                path = path_for(rule, actor.tenant.slug, ids)
                response = self.send(phase, actor, method, path, rule)
                self._judge(actor, method, path, rule, response)

    def _made_by(self, actor, config_id) -> None:
        """The actor's own configuration, so the "own only" cells are judged on the role alone.

        (Someone else's row, and a row whose creator was erased: tests/configurations/test_configurations.py.)"""
        from aerospec.configurations.models import Configuration

        with tenant_scope(self.db.session, actor.tenant.id):
            self.db.session.get(Configuration, config_id).created_by_id = actor.user.id
            self.db.session.flush()

    def _judge(self, actor, method, path, rule, response):
        cell = (method, rule.rule, actor.role)
        decisions = list(DECISIONS)
        status = response.status_code
        broken = []
        for permission, role, allowed, expected in decisions:
            self.tally.matrix_decisions += 1
            self.tally.cells_seen.add((permission, role))
            if allowed != expected:
                broken.append(f"{permission} for {role}: decided {allowed}, the role table says {expected}")
        if decisions:
            self.tally.route_role_cells.add(cell)
            refused = not all(allowed for _p, _r, allowed, _e in decisions)
            if refused and status != 403:
                broken.append(f"refused by the matrix but answered {status}")
            if not refused and status == 403:
                broken.append("allowed by the matrix but answered 403")
        elif status == 403:
            self.tally.route_role_cells.add(cell)
            broken.append("403 not decided by the permission matrix")
        if broken:
            self.tally._broken_cells.add(cell)
            self.tally.matrix_broken.append(f"{actor.name} {method} {path}: " + "; ".join(broken))

    # phase 3
    def malformed(self):
        world = self.world
        k = None if self.full else 2
        for method, rule in self.targets:
            if (method, rule.rule) in LAST:
                continue
            rng = random.Random(f"{self.seed}:{method}:{rule.rule}")
            actor = self._actor_for(rule)
            slug = actor.tenant.slug if actor.tenant is not None else None
            names = [n for n in placeholders(rule) if n != "filename"]
            if "tenant_slug" in rule.arguments:
                names.append("tenant_slug")
            for name in names:
                values = BAD_PATH_VALUES if self.full else rng.sample(BAD_PATH_VALUES, 2)
                ids = make_ids(rule, self.factories, actor.tenant or world.attacker, world.extra)
                self.wrote()
                unknown = dict(ids, **{name: uuid.uuid4()}) if name != "tenant_slug" else ids
                base = self.send(
                    "malformed path",
                    actor,
                    method,
                    path_for(rule, "no-such-workspace" if name == "tenant_slug" else slug, unknown),
                    rule,
                    label="unknown id",
                )
                for value in values:
                    bad = dict(ids, **({name: value} if name != "tenant_slug" else {}))
                    path = path_for(rule, value if name == "tenant_slug" else slug, bad)
                    response = self.send("malformed path", actor, method, path, rule, label=f"<{name}>")
                    if response.status_code not in (404, base.status_code):
                        self.tally.malformed_ids.append(
                            f"{actor.name} {method} {path[:100]}: {response.status_code}, an unknown id answers "
                            f"{base.status_code}"
                        )
            if method in ("POST", "PUT", "PATCH", "DELETE"):
                ids = make_ids(rule, self.factories, actor.tenant or world.attacker, world.extra)
                self.wrote()
                path = path_for(rule, slug, ids)
                if self._is_api(rule):
                    for label, text in hostile_bodies(world, rng, k):
                        self.send("malformed body", actor, method, path, rule, body=text, label=label)
                else:
                    for label, fields in hostile_forms(world, rng, k):
                        self.send("malformed body", actor, method, path, rule, form=fields, label=label)

    def _actor_for(self, rule):
        actors = self.world.actors
        if rule.rule.startswith(PLATFORM_ROUTES):
            return actors["platform admin"]
        if rule.rule.startswith(("/invitations/", "/reset-password/", "/api/auth/", "/signup", "/login")):
            return actors["anonymous"]
        return actors["admin"]

    def run(self) -> Tally:
        first = [t for t in self.targets if (t[0], t[1].rule) not in LAST]
        last = sorted((t for t in self.targets if (t[0], t[1].rule) in LAST), key=lambda t: LAST_ORDER.index(t[1].rule))
        ending = [t for t in last if t[1].rule in LOGOUTS]
        last = [t for t in last if t[1].rule not in LOGOUTS]
        self.cross_tenant(first)
        self.matrix(first)
        self.malformed()
        # Viewer and user first in the matrix: the admin's requests may end the workspace; logouts at the very end.
        for targets in (last, ending):
            self.cross_tenant(targets, phase="cross-tenant (last)")
            self.matrix(targets, phase="role matrix (last)", roles=tuple(reversed(ROLES)))
        return self.tally
