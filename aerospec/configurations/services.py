"""Configurations: create, edit with versions, list, duplicate, archive, share, export, quotas.

Who may do what (DESIGN.md's role matrix, decided in aerospec.tenancy.permissions):
- every member reads every configuration of the workspace;
- admins edit any configuration; a user edits their own, and someone else's only when
  it is shared with them with "edit" permission (a "view" share only lists it under
  "shared with me"); viewers read only, whatever is shared with them;
- archiving (DELETE) and restoring: admins any, users their own only;
- sharing and unsharing: whoever may archive it (its owner or an admin).

Saving ranks: creating a configuration, or changing its fluid, targets or pressure, ranks the
catalog for it (`wizard.rank_for_configuration`, the wizard's own ranking) unless the caller
gives `compatible_actuators`; the version that changed them keeps the previous ranking in its
diff. Every change is in the audit log with its field-level diff.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, String, bindparam, cast, func, or_, select, type_coerce
from sqlalchemy.orm import Session, joinedload, selectinload

from aerospec import inputs, search
from aerospec.accounts.models import User
from aerospec.accounts.services import ClientInfo
from aerospec.billing import usage
from aerospec.catalog import services as catalog
from aerospec.compliance import services as audit
from aerospec.configurations import wizard
from aerospec.configurations.models import STATUSES, Configuration, ConfigurationShare, ConfigurationVersion
from aerospec.errors import NotFound, PermissionDenied, ValidationFailed
from aerospec.limits import counters
from aerospec.limits.effective import effective_limits
from aerospec.models import isoformat, utcnow
from aerospec.pagination import Page
from aerospec.tenancy.models import Membership, Tenant
from aerospec.tenancy.permissions import can, ensure_permitted, permits
from aerospec.tenancy.services import list_members

PER_PAGE = 25
PER_PAGE_CHOICES = (25, 50, 100)
# What a row of the list page shows (`summary=True`): the rest (descriptions, rankings) stays in the database.
SUMMARY_COLUMNS = (
    "id", "name", "fluid_name", "fluid_viscosity_cP", "target_spray_cone_deg", "target_droplet_size_um",
    "target_flow_rate_ml_min", "max_pressure_bar", "status", "tags", "archived_at", "updated_at",
)  # fmt: skip
# Read as the driver gives them in the list's summary rows (aerospec/configurations/rows.py converts them).
RAW_SUMMARY_COLUMNS = frozenset({"id", "archived_at", "updated_at"})
MAX_PAGE = 1_000_000  # beyond any real list; keeps OFFSET a small integer whatever ?page= says
SORTS = {"updated": "Recently updated", "name": "Name (A–Z)", "created": "Newest first"}
SHARE_PERMISSIONS = ("view", "edit")
MAX_TAGS = 20

# Numeric fields: (label with unit, minimum, minimum is exclusive, maximum)
NUMBERS: dict[str, tuple[str, float, bool, float]] = {
    "fluid_viscosity_cP": ("Viscosity (cP)", 0.0, True, 1_000_000.0),
    "fluid_density_kg_m3": ("Density (kg/m³)", 0.0, True, 25_000.0),
    "fluid_surface_tension_mN_m": ("Surface tension (mN/m)", 0.0, True, 1_000.0),
    "fluid_flash_point_C": ("Flash point (°C)", -273.15, False, 1_000.0),
    "fluid_vapour_pressure_kPa": ("Vapour pressure (kPa)", 0.0, False, 100_000.0),
    "target_spray_cone_deg": ("Cone angle (°)", 0.0, True, 180.0),
    "target_spray_cone_tol_deg": ("Cone angle tolerance (°)", 0.0, True, 180.0),
    "target_droplet_size_um": ("Dv50 (µm)", 0.0, True, 10_000.0),
    "target_droplet_size_tol_um": ("Dv50 tolerance (µm)", 0.0, True, 10_000.0),
    "target_flow_rate_ml_min": ("Flow rate (ml/min)", 0.0, True, 1_000_000.0),
    "target_flow_rate_tol_ml_min": ("Flow rate tolerance (ml/min)", 0.0, True, 1_000_000.0),
    "max_pressure_bar": ("Pressure (bar)", 0.0, True, 1_000.0),
}
REQUIRED = (
    "name",
    "fluid_viscosity_cP",
    "fluid_density_kg_m3",
    "fluid_surface_tension_mN_m",
    "max_pressure_bar",
)
TARGETS = (
    ("target_spray_cone_deg", "target_spray_cone_tol_deg"),
    ("target_droplet_size_um", "target_droplet_size_tol_um"),
    ("target_flow_rate_ml_min", "target_flow_rate_tol_ml_min"),
)
DEFAULT_TOLERANCE = 0.10  # a target without a tolerance gets ±10 % of its value
# Everything a version snapshots (and a restore puts back).
FIELDS = (
    "name",
    "description",
    "fluid_name",
    "fluid_id",
    *NUMBERS.keys(),
    "fluid_liquefied_propellant",
    "status",
    "tags",
    "compatible_actuators",
)
# The fields the ranking depends on: a real change to any of them ranks the catalog again.
RANKING_INPUTS = (*NUMBERS.keys(), "fluid_liquefied_propellant")
MAX_GIVEN_ACTUATORS = 100
LABELS = {
    "name": "Name",
    "description": "Notes",
    "fluid_name": "Fluid",
    "fluid_id": "Fluid (library)",
    "fluid_liquefied_propellant": "Liquefied propellant",
    "status": "Status",
    "tags": "Tags",
    "compatible_actuators": "Ranked actuators",
    **{k: v[0] for k, v in NUMBERS.items()},
}


# ---- validation


def normalise_tags(value) -> list[str]:
    """Tags as lower-case words joined by hyphens, without duplicates, in the given order."""
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple):
        raise ValidationFailed(field_errors={"tags": ["Give tags as a list of words or a comma-separated text."]})
    tags: list[str] = []
    for raw in value:
        if not isinstance(raw, str):
            raise ValidationFailed(field_errors={"tags": ["Each tag must be text."]})
        tag = re.sub(r"[^a-z0-9_\-]+", "-", raw.strip().lower()).strip("-")[:40]
        if tag and tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValidationFailed(field_errors={"tags": [f"Use at most {MAX_TAGS} tags."]})
    return tags


def _number(name: str, value, errors: dict[str, list[str]]) -> float | None:
    label, low, exclusive, high = NUMBERS[name]
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        errors.setdefault(name, []).append(f"{label}: enter a number.")
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip().replace(",", "."))
        except ValueError:
            errors.setdefault(name, []).append(f"{label}: enter a number, such as 12.5.")
            return None
    value = float(value)
    if not math.isfinite(value):
        errors.setdefault(name, []).append(f"{label}: enter a finite number.")
        return None
    if (exclusive and value <= low) or value < low:
        errors.setdefault(name, []).append(
            f"{label} must be greater than {low:g}." if exclusive else f"{label} must be at least {low:g}."
        )
        return None
    if value > high:
        errors.setdefault(name, []).append(f"{label} must be at most {high:g}.")
        return None
    return value


def clean(data: Mapping, *, partial: bool = False) -> dict:
    """Validate configuration fields (strings from forms or numbers from JSON); field errors say what to fix.

    `partial` validates only the fields given (an update); otherwise the required
    fields must be present and at least one spray target is needed.
    """
    errors: dict[str, list[str]] = {}
    out: dict = {}
    for key in data:
        if key not in FIELDS:
            errors.setdefault(key, []).append("Unknown field.")
    if "name" in data or not partial:
        name = (data.get("name") or "").strip() if isinstance(data.get("name"), str | type(None)) else None
        if not name:
            errors.setdefault("name", []).append("Give the configuration a name.")
        elif len(name) > 160:
            errors.setdefault("name", []).append("Use at most 160 characters.")
        out["name"] = name
    for key in ("description", "fluid_name"):
        if key in data:
            value = data[key]
            if value is not None and not isinstance(value, str):
                errors.setdefault(key, []).append("Must be text.")
            else:
                value = (value or "").strip() or None
                limit = 120 if key == "fluid_name" else 5000
                if value and len(value) > limit:
                    errors.setdefault(key, []).append(f"Use at most {limit} characters.")
                out[key] = value
    if "fluid_id" in data:
        try:
            out["fluid_id"] = str(uuid.UUID(str(data["fluid_id"]))) if data["fluid_id"] else None
        except ValueError:
            errors.setdefault("fluid_id", []).append("Not a fluid id.")
    for key in NUMBERS:
        if key in data or (not partial and key in REQUIRED):
            value = _number(key, data.get(key), errors)
            if value is None and key in REQUIRED and key not in errors:
                errors.setdefault(key, []).append(f"{NUMBERS[key][0]} is required.")
            out[key] = value
    if "fluid_liquefied_propellant" in data:
        out["fluid_liquefied_propellant"] = data["fluid_liquefied_propellant"] in (
            True,
            "y",
            "on",
            "true",
            "1",
        )
    if "status" in data or not partial:
        status = data.get("status") or "draft"
        if status not in STATUSES:
            errors.setdefault("status", []).append(f"Choose one of: {', '.join(STATUSES)}.")
        out["status"] = status
    if "tags" in data:
        try:
            out["tags"] = normalise_tags(data["tags"])
        except ValidationFailed as error:
            errors.update(error.field_errors)
    if "compatible_actuators" in data:
        value = data["compatible_actuators"]
        if not isinstance(value, list) or not all(isinstance(item, dict | str) for item in value):
            errors.setdefault("compatible_actuators", []).append("Give a list of actuators (objects or SKUs).")
        elif len(value) > MAX_GIVEN_ACTUATORS:
            errors.setdefault("compatible_actuators", []).append(f"Give at most {MAX_GIVEN_ACTUATORS} actuators.")
        elif unstorable := inputs.json_problems(value):  # NaN and Infinity: no JSON column stores them
            for path, messages in unstorable.items():
                errors.setdefault(f"compatible_actuators.{path}", []).extend(messages)
        else:
            out["compatible_actuators"] = [item if isinstance(item, dict) else {"sku": item} for item in value]
    if errors:
        raise ValidationFailed("Some fields need attention.", field_errors=errors)
    return out


def _fill_tolerances_and_check_targets(config_data: dict) -> None:
    """Give each target a default tolerance and insist on at least one target."""
    for target, tol in TARGETS:
        if config_data.get(target) is not None and config_data.get(tol) is None:
            config_data[tol] = default_tolerance(config_data[target])
        if config_data.get(target) is None:
            config_data[tol] = None
    if all(config_data.get(target) is None for target, _ in TARGETS):
        message = "Set at least one target: cone angle (°), Dv50 (µm) or flow rate (ml/min)."
        raise ValidationFailed(message, field_errors={target: [message] for target, _ in TARGETS})


def default_tolerance(target: float) -> float:
    """The ±10 % a target gets when no tolerance is given."""
    return round(target * DEFAULT_TOLERANCE, 6)


def _follow_default_tolerances(before: dict, merged: dict) -> None:
    """A tolerance that is still the default of its old target follows the target when it changes.

    The default is stored as a number (±3 µm for 30 µm); left as it was, editing the target to
    40 µm would freeze it at ±3 instead of the ±4 the form promises. A tolerance the person
    changed, or set to anything but 10 %, is theirs and stays."""
    for target, tol in TARGETS:
        old_target, new_target = before.get(target), merged.get(target)
        if old_target is None or new_target is None or not diff({target: old_target}, {target: new_target}):
            continue
        old_tol = before.get(tol)
        untouched = merged.get(tol) is None or not diff({tol: old_tol}, {tol: merged.get(tol)})
        if untouched and old_tol is not None and not diff({tol: old_tol}, {tol: default_tolerance(old_target)}):
            merged[tol] = default_tolerance(new_target)


# ---- snapshots, versions


def _jsonable(value):
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def snapshot(config: Configuration) -> dict:
    """The versioned fields of a configuration as JSON."""
    return {name: _jsonable(getattr(config, name)) for name in FIELDS}


def diff(old: dict, new: dict) -> dict:
    """{field: [old, new]} for the fields that really differ (floats within a float's tolerance)."""
    return audit.changed_fields(old, new, FIELDS)


def _check_fluid(session: Session, tenant: Tenant, values: dict) -> None:
    """A given `fluid_id` must name a library fluid or one of this tenant's own (ValidationFailed otherwise)."""
    if values.get("fluid_id") is None:
        return
    try:
        # SECURITY: another tenant's fluid id is refused like a missing one, never stored as a dangling id.
        catalog.get_fluid(session, tenant, values["fluid_id"])
    except NotFound as exc:
        message = "No such fluid in the library or this workspace."
        raise ValidationFailed(message, field_errors={"fluid_id": [message]}) from exc


def _check_given_actuators(session: Session, items: list[dict]) -> list[dict]:
    """Actuators a caller chose (the API's `compatible_actuators`): each SKU must be in the catalog."""
    cols = catalog.actuator_catalog(session).catalog
    known = {(str(sup), str(sku)) for sup, sku in zip(cols.supplier, cols.sku, strict=True)}
    skus = {sku for _sup, sku in known}
    problems: list[str] = []
    for n, item in enumerate(items, start=1):
        sku, supplier = item.get("sku"), item.get("supplier")
        if not isinstance(sku, str) or not sku.strip():
            problems.append(f"Item {n} has no SKU.")
        elif supplier is not None and (str(supplier), sku) not in known:
            problems.append(f"{supplier} has no SKU {sku} in the catalog.")
        elif sku not in skus:
            problems.append(f"No SKU {sku} in the catalog.")
    if problems:
        raise ValidationFailed(
            "Some actuators are not in the catalog.", field_errors={"compatible_actuators": problems}
        )
    return items


def _ranked(session: Session, before: dict | None, after: dict, given: bool) -> list[dict]:
    """The ranking to save with `after`: given by the caller, kept, or ranked again.

    It is ranked again when the configuration is new, when a field the ranking depends on
    really changed, or when it has none saved (e.g. created through the API before saving ranked).
    """
    if given:
        return _check_given_actuators(session, after["compatible_actuators"])
    if before is None or not before.get("compatible_actuators") or diff(before, after).keys() & set(RANKING_INPUTS):
        return wizard.rank_for_configuration(session, after)
    return before["compatible_actuators"]


def _audit_value(name: str, value):
    """A field's value as the audit log keeps it (a ranking as its SKUs, best first)."""
    if name == "compatible_actuators":
        return [a.get("sku") for a in value or [] if isinstance(a, dict)]
    return value


def _audit_changes(changes: dict) -> list[dict]:
    shown = {k: [_audit_value(k, a), _audit_value(k, b)] for k, (a, b) in changes.items() if k in FIELDS}
    return audit.change_list(shown, LABELS)


def _record(
    session: Session,
    actor: Membership,
    config: Configuration,
    action: str,
    *,
    client: ClientInfo | None = None,
    changes: dict | None = None,
    change_list: list[dict] | None = None,
    **details,
) -> None:
    """One audit entry about this configuration, with its field-level changes."""
    if changes or change_list:
        details["changes"] = change_list or _audit_changes(changes)
    audit.record(
        session,
        config.tenant_id,
        action,
        actor=actor.user,
        client=client,
        target_type="configuration",
        target_id=config.id,
        target_name=config.name,
        details=details,
    )
    event = WEBHOOK_EVENTS.get(action)
    if event:
        from aerospec.webhooks import services as webhooks

        webhooks.emit(
            session,
            config.tenant_id,
            event,
            {
                "id": str(config.id),
                "name": config.name,
                "status": config.status,
                "version": config.version,
                "changed_fields": sorted(changes or {}),
                "created_at": config.created_at,
                "updated_at": config.updated_at,
            },
        )


# The audit actions that are webhook events (sent after the commit to endpoints subscribed to them).
WEBHOOK_EVENTS = {
    "configuration.created": "configuration.created",
    "configuration.updated": "configuration.updated",
    "configuration.status_changed": "configuration.updated",
    "configuration.version_restored": "configuration.updated",
}


audit.register_target_kind(
    "configuration",
    audit.TargetKind("Configuration", endpoint="configurations.detail", id_arg="config_id", model=Configuration),
)


def _add_version(session: Session, config: Configuration, actor: Membership, changes: dict) -> ConfigurationVersion:
    version = ConfigurationVersion(
        tenant_id=config.tenant_id,
        configuration_id=config.id,
        version=config.version,
        data=snapshot(config),
        diff=changes,
        created_by_id=actor.user_id,
        created_at=utcnow(),
    )
    session.add(version)
    session.flush()
    return version


def _apply(config: Configuration, values: dict) -> None:
    for key, value in values.items():
        if key == "fluid_id" and value is not None:
            value = uuid.UUID(str(value))
        setattr(config, key, value)


# ---- permission helpers (the matrix decides; these add the row's owner and shares)


def share_for(session: Session, config: Configuration, user_id: uuid.UUID | None) -> ConfigurationShare | None:
    """The share of this configuration with this user, if any."""
    if user_id is None:
        return None
    return session.scalar(
        select(ConfigurationShare).where(
            ConfigurationShare.tenant_id == config.tenant_id,
            ConfigurationShare.configuration_id == config.id,
            ConfigurationShare.user_id == user_id,
        )
    )


def may_manage(membership, config: Configuration) -> bool:
    """Archive, restore, share: admins any, users their own ("delete configurations")."""
    return permits(membership, "delete_configurations", owner_id=config.created_by_id)


def may_edit(session: Session, membership, config: Configuration) -> bool:
    """Edit: the role must allow editing, and the row be the member's own (or they an admin) or shared to edit."""
    if not permits(membership, "edit_configurations"):  # a member's role, or an API key's scopes
        return False
    if may_manage(membership, config):
        return True
    share = share_for(session, config, getattr(membership, "user_id", None))
    return share is not None and share.permission == "edit"


def ensure_can_edit(session: Session, membership, config: Configuration) -> None:
    """Raise PermissionDenied unless the member may edit this configuration."""
    ensure_permitted(membership, "edit_configurations")
    if not may_edit(session, membership, config):
        raise PermissionDenied(
            "Only its owner, an admin, or a teammate it is shared with to edit can change this configuration. "
            "Duplicate it to make your own copy."
        )


def _ensure_can_manage(membership, config: Configuration) -> None:
    ensure_permitted(membership, "delete_configurations", owner_id=config.created_by_id)


# ---- quota


def configuration_quota(session: Session, tenant: Tenant, counter: counters.Counter, now: datetime | None = None):
    """How many configurations this month's quota has used."""
    now = now or utcnow()
    limit = effective_limits(tenant)["configurations_per_month"]
    # Unlimited plans have nothing to count: no query to build on every list request.
    seed = counters.configurations_this_month(session, tenant, now) if limit is not None else None
    return counters.current_use(session, tenant, "configurations_per_month", limit, counter, seed, now)


def _reserve_configuration(session: Session, tenant: Tenant, counter: counters.Counter, now: datetime):
    limit = effective_limits(tenant)["configurations_per_month"]
    seed = counters.configurations_this_month(session, tenant, now)
    return usage.reserve(session, tenant, "configurations_per_month", limit, counter, seed, now)


# ---- create, read, update


def create_configuration(
    session: Session,
    tenant: Tenant,
    actor: Membership,
    data: Mapping,
    *,
    counter: counters.Counter,
    now: datetime | None = None,
    client: ClientInfo | None = None,
) -> tuple[Configuration, counters.QuotaUse]:
    """Save a new configuration (version 1), ranked for its targets, within the monthly quota.

    The catalog is ranked as the wizard ranks it, unless `compatible_actuators` is given
    (then every SKU must be in the catalog). Returns the configuration and the quota use.
    """
    ensure_permitted(actor, "edit_configurations")
    values = clean(data)
    _check_fluid(session, tenant, values)
    _fill_tolerances_and_check_targets(values)
    values["compatible_actuators"] = _ranked(session, None, values, "compatible_actuators" in values)
    now = now or utcnow()
    use = _reserve_configuration(session, tenant, counter, now)
    config = Configuration(tenant_id=tenant.id, created_by_id=actor.user_id, version=1, tags=[])
    _apply(config, values)
    config.created_at = config.updated_at = now
    session.add(config)
    session.flush()
    _add_version(session, config, actor, {})
    created = {k: [None, v] for k, v in snapshot(config).items() if v not in (None, [], "") and k != "fluid_id"}
    _record(session, actor, config, "configuration.created", client=client, version=1, changes=created)
    return config, use


def get_configuration(session: Session, tenant: Tenant, config_id: uuid.UUID | str) -> Configuration:
    """One configuration of the tenant, or NotFound."""
    try:
        config_id = config_id if isinstance(config_id, uuid.UUID) else uuid.UUID(str(config_id))
    except ValueError as exc:
        raise NotFound("No such configuration.") from exc
    config = session.scalar(
        select(Configuration).where(Configuration.id == config_id, Configuration.tenant_id == tenant.id)
    )
    if config is None:
        raise NotFound("No such configuration.")
    return config


def update_configuration(
    session: Session,
    tenant: Tenant,
    actor: Membership,
    config: Configuration,
    data: Mapping,
    *,
    client: ClientInfo | None = None,
) -> Configuration:
    """Change fields; a real change stores a new version with the diff (and ranks again if the targets changed).

    Only values that really changed count (a float typed back from its display is the same
    value); a change to the fluid, a target or the pressure ranks the catalog again unless
    `compatible_actuators` is given, and the version's diff keeps the previous ranking.
    """
    ensure_can_edit(session, actor, config)
    if config.archived_at is not None:
        raise ValidationFailed("Restore this configuration from the archive before editing it.")
    values = clean(data, partial=True)
    _check_fluid(session, tenant, values)
    before = snapshot(config)
    merged = {**before, **{k: _jsonable(v) for k, v in values.items()}}
    _follow_default_tolerances(before, merged)
    _fill_tolerances_and_check_targets(merged)
    merged["compatible_actuators"] = _ranked(session, before, merged, "compatible_actuators" in values)
    changes = diff(before, merged)
    if changes:
        action = "configuration.status_changed" if "status" in changes else "configuration.updated"
        _save_version(session, actor, config, {k: merged[k] for k in changes}, changes, action, client=client)
    return config


def _save_version(
    session: Session,
    actor: Membership,
    config: Configuration,
    values: dict,
    changes: dict,
    action: str,
    *,
    client: ClientInfo | None = None,
    **details,
) -> None:
    """Apply real changes as the next version, with its diff and one audit entry."""
    _apply(config, values)
    config.version += 1
    config.updated_at = utcnow()
    session.flush()
    version_diff = (
        {**changes, "restored_from": [None, details["restored_from"]]} if "restored_from" in details else changes
    )
    _add_version(session, config, actor, version_diff)
    _record(session, actor, config, action, client=client, version=config.version, changes=changes, **details)


def rank_again(
    session: Session, tenant: Tenant, actor: Membership, config: Configuration, *, client: ClientInfo | None = None
) -> bool:
    """Rank today's catalog for the saved fluid and targets; a new version only if the ranking changed."""
    ensure_can_edit(session, actor, config)
    if config.archived_at is not None:
        raise ValidationFailed("Restore this configuration from the archive before ranking it again.")
    before = snapshot(config)
    ranking = wizard.rank_for_configuration(session, before)
    changes = diff(before, {**before, "compatible_actuators": ranking})
    if changes:
        _save_version(
            session, actor, config, {"compatible_actuators": ranking}, changes, "configuration.updated", client=client
        )
    return bool(changes)


def list_versions(session: Session, tenant: Tenant, config: Configuration) -> list[ConfigurationVersion]:
    """Every version of a configuration, newest first."""
    return list(
        session.scalars(
            select(ConfigurationVersion)
            .where(
                ConfigurationVersion.tenant_id == tenant.id,
                ConfigurationVersion.configuration_id == config.id,
            )
            .options(selectinload(ConfigurationVersion.created_by))
            .order_by(ConfigurationVersion.version.desc())
        )
    )


def ranking_version(session: Session, tenant: Tenant, config: Configuration) -> ConfigurationVersion | None:
    """The version that saved the current ranking (the newest whose diff changed it, else version 1)."""
    for version in list_versions(session, tenant, config):
        if "compatible_actuators" in (version.diff or {}) or version.version == 1:
            return version
    return None


def restore_version(
    session: Session,
    tenant: Tenant,
    actor: Membership,
    config: Configuration,
    version: int,
    *,
    client: ClientInfo | None = None,
) -> Configuration:
    """Put back the fields of an earlier version; this is itself a new version."""
    ensure_can_edit(session, actor, config)
    if config.archived_at is not None:
        raise ValidationFailed("Restore this configuration from the archive before restoring a version.")
    old = session.scalar(
        select(ConfigurationVersion).where(
            ConfigurationVersion.tenant_id == tenant.id,
            ConfigurationVersion.configuration_id == config.id,
            ConfigurationVersion.version == version,
        )
    )
    if old is None:
        raise NotFound(f"Version {version} does not exist.")
    before = snapshot(config)
    # Fields a version does not hold (added after it was stored) keep their current value.
    target = {**before, **{k: old.data[k] for k in FIELDS if k in old.data}}
    # The version's own ranking comes back with its targets; one saved without any is ranked now.
    if not target.get("compatible_actuators"):
        target["compatible_actuators"] = wizard.rank_for_configuration(session, target)
    changes = diff(before, target)
    if not changes:
        return config
    _save_version(
        session,
        actor,
        config,
        {k: target[k] for k in changes},
        changes,
        "configuration.version_restored",
        client=client,
        restored_from=version,
    )
    return config


def duplicate_configuration(
    session: Session,
    tenant: Tenant,
    actor: Membership,
    config: Configuration,
    *,
    counter: counters.Counter,
    now: datetime | None = None,
    client: ClientInfo | None = None,
) -> tuple[Configuration, counters.QuotaUse]:
    """A new draft "Copy of …" owned by the actor, starting again at version 1 (counts toward the quota)."""
    ensure_permitted(actor, "edit_configurations")
    now = now or utcnow()
    use = _reserve_configuration(session, tenant, counter, now)
    copy = Configuration(tenant_id=tenant.id, created_by_id=actor.user_id, version=1)
    data = snapshot(config)
    _apply(copy, data)
    copy.name = f"Copy of {config.name}"[:160]
    copy.status = "draft"
    copy.tags = list(config.tags or [])
    copy.compatible_actuators = list(config.compatible_actuators or [])
    copy.created_at = copy.updated_at = now
    session.add(copy)
    session.flush()
    _add_version(session, copy, actor, {"duplicated_from": [None, str(config.id)]})
    _record(session, actor, copy, "configuration.created", client=client, version=1, copy_of=config.name)
    return copy, use


def archive_configuration(
    session: Session, tenant: Tenant, actor: Membership, config: Configuration, *, client: ClientInfo | None = None
) -> Configuration:
    """Move a configuration to the archive (DELETE archives; it can be restored)."""
    _ensure_can_manage(actor, config)
    if config.archived_at is None:
        config.archived_at = utcnow()
        session.flush()
        _record(session, actor, config, "configuration.archived", client=client)
    return config


def unarchive_configuration(
    session: Session, tenant: Tenant, actor: Membership, config: Configuration, *, client: ClientInfo | None = None
) -> Configuration:
    """Bring an archived configuration back."""
    _ensure_can_manage(actor, config)
    if config.archived_at is not None:
        config.archived_at = None
        session.flush()
        _record(session, actor, config, "configuration.unarchived", client=client)
    return config


# ---- list


@dataclass
class ListFilters:
    q: str | None = None
    status: str | None = None
    tag: str | None = None
    creator_id: uuid.UUID | None = None
    shared_with_id: uuid.UUID | None = None
    include_archived: bool = False
    sort: str = "updated"
    page: int = 1
    per_page: int = PER_PAGE


_ORDERS = {
    "name": (Configuration.name.asc(), Configuration.id.asc()),
    "created": (Configuration.created_at.desc(), Configuration.id.desc()),
    "updated": (Configuration.updated_at.desc(), Configuration.id.desc()),
}


@functools.lru_cache(maxsize=256)
def _list_statements(
    summary: bool, include_archived: bool, q: bool, status: bool, tag: bool, creator: bool, shared: bool, sort: str
):
    """The list's page and count statements for one combination of filters, built once: every value
    (tenant, search, status, tag, creator, member, limit, offset) is a bound parameter, so the statement
    and the tenant guard's copy of it are reused (SQLAlchemy keeps its cache key)."""
    uuid_type = Configuration.__table__.c.tenant_id.type
    tenant_id = bindparam("tenant_id", type_=uuid_type)
    where = [Configuration.tenant_id == tenant_id]
    if not include_archived:
        where.append(Configuration.archived_at.is_(None))
    if q:
        pattern = bindparam("q_pattern", type_=String)
        searched = (Configuration.name, Configuration.fluid_name)
        where.append(or_(*(search.contains_pattern(column, pattern) for column in searched)))
    if status:
        where.append(Configuration.status == bindparam("status", type_=String))
    if tag:
        # Tags are normalised to [a-z0-9_-], so the quoted tag matches only a whole tag in the JSON text.
        tag_pattern = bindparam("tag_pattern", type_=String)
        where.append(cast(Configuration.tags, String).like(tag_pattern, escape=search.ESCAPE))
    if creator:
        where.append(Configuration.created_by_id == bindparam("creator_id", type_=uuid_type))
    if shared:
        shared_with = select(ConfigurationShare.configuration_id).where(
            ConfigurationShare.tenant_id == tenant_id,
            ConfigurationShare.user_id == bindparam("shared_with_id", type_=uuid_type),
        )
        where.append(Configuration.id.in_(shared_with))
    if summary:
        # The tags as their JSON text, and the id and the times as the driver reads them: plain values the
        # list's rows key on and convert only when a row is built (aerospec/configurations/rows.py).
        columns = [
            type_coerce(getattr(Configuration, name), String).label(name) if name in RAW_SUMMARY_COLUMNS
            else getattr(Configuration, name)
            for name in SUMMARY_COLUMNS
            if name != "tags"
        ]  # fmt: skip
        query = select(
            *columns, cast(Configuration.tags, String).label("tags_json"), User.name.label("created_by_name")
        ).outerjoin(User, User.id == Configuration.created_by_id)
    else:
        query = select(Configuration).options(joinedload(Configuration.created_by))
    # The total rides along with the page (count over the whole filtered set) and the creator
    # is joined in: one statement for the page, nothing per row.
    page = (
        query.add_columns(func.count().over().label("total_rows"))
        .where(*where)
        .order_by(*_ORDERS[sort])
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )
    count = select(func.count()).select_from(Configuration).where(*where)
    return page, count


def list_configurations(
    session: Session, tenant: Tenant, filters: ListFilters, per_page: int = PER_PAGE, *, summary: bool = False
) -> Page:
    """A page of the tenant's configurations: search, filters, sort (each order has a tenant-led index).

    `summary` returns plain rows of what the list page shows (SUMMARY_COLUMNS, the tags as
    `tags_json` and `created_by_name`; `total_rows` last) instead of Configuration objects: no
    per-object bookkeeping, and nothing left to load per row."""
    params: dict = {"tenant_id": tenant.id, "limit": per_page}
    if filters.q:
        params["q_pattern"] = search.like_pattern(filters.q.strip().lower())
    if filters.status:
        params["status"] = filters.status
    tags = normalise_tags([filters.tag]) if filters.tag else []
    if tags:
        params["tag_pattern"] = search.like_pattern(f'"{tags[0]}"')
    if filters.creator_id:
        params["creator_id"] = filters.creator_id
    if filters.shared_with_id:
        params["shared_with_id"] = filters.shared_with_id
    page_statement, count_statement = _list_statements(
        summary, filters.include_archived, bool(filters.q), bool(filters.status), bool(tags),
        bool(filters.creator_id), bool(filters.shared_with_id), filters.sort if filters.sort in _ORDERS else "updated",
    )  # fmt: skip

    def fetch(page: int) -> list:
        return session.execute(page_statement, {**params, "offset": (page - 1) * per_page}).all()

    page = min(max(1, filters.page), MAX_PAGE)
    rows = fetch(page)
    if rows or page == 1:
        total = int(rows[0].total_rows) if rows else 0
    else:
        total = int(session.scalar(count_statement, params) or 0)
        last = max(1, -(-total // per_page))
        if page > last:  # past the end: show the last page, as before
            page = last
            rows = fetch(page) if total else []
    return Page(items=rows if summary else [row[0] for row in rows], total=total, page=page, per_page=per_page)


TAG_CHOICES_FROM = 200  # the tag filter offers the tags of this many most recently updated configurations


@functools.cache
def _tags_in_use_statement():
    """The tag filter's statement, built once: the tenant and the limit are bound parameters."""
    return (
        select(cast(Configuration.tags, String))
        .where(
            Configuration.tenant_id == bindparam("tenant_id", type_=Configuration.__table__.c.tenant_id.type),
            Configuration.archived_at.is_(None),
        )
        .order_by(Configuration.updated_at.desc())
        .limit(bindparam("limit", type_=Integer))
    )


@functools.lru_cache(maxsize=4096)
def parse_tags(tags_json: str | None) -> tuple[str, ...]:
    """A configuration's tags from their JSON text (as the list reads them), kept per distinct text."""
    tags = json.loads(tags_json) if tags_json else None
    return tuple(tags) if tags else ()


def tags_in_use(session: Session, tenant: Tenant, limit: int = TAG_CHOICES_FROM) -> list[str]:
    """Tags of the most recently updated configurations (for the filter's choices)."""
    rows = session.scalars(_tags_in_use_statement(), {"tenant_id": tenant.id, "limit": limit})
    return sorted({tag for tags_json in rows for tag in parse_tags(tags_json)})


def tags_on_page(result: Page, filters: ListFilters) -> list[str] | None:
    """The tag filter's choices (as `tags_in_use` gives them) read off a list page of summary rows when
    that page holds every unarchived configuration of the workspace (and no more than the choices are
    taken from), else None: a small workspace's list then needs no statement for them."""
    narrowed = filters.q or filters.status or filters.tag or filters.creator_id or filters.shared_with_id
    if narrowed or result.page != 1 or result.total > len(result.items) or result.total > TAG_CHOICES_FROM:
        return None
    return sorted({tag for row in result.items if row.archived_at is None for tag in parse_tags(row.tags_json)})


@functools.cache
def _creator_choices_statement():
    """The creator filter's members, built once: the tenant is a bound parameter."""
    tenant_id = bindparam("tenant_id", type_=Membership.__table__.c.tenant_id.type)
    return (
        select(Membership.user_id, User.name)
        .join(User, User.id == Membership.user_id)
        .where(Membership.tenant_id == tenant_id)
        .order_by(Membership.role, User.name)
    )


def creator_choices(session: Session, tenant: Tenant) -> list:
    """The tenant's members as (user_id, name) rows, admins first, then by name (the list's creator filter)."""
    return session.execute(_creator_choices_statement(), {"tenant_id": tenant.id}).all()


def members(session: Session, tenant: Tenant) -> list[Membership]:
    """The tenant's members (for creator filters and share pickers)."""
    return list_members(session, tenant)


# ---- sharing


def list_shares(session: Session, tenant: Tenant, config: Configuration) -> list[ConfigurationShare]:
    """Who this configuration is shared with."""
    return list(
        session.scalars(
            select(ConfigurationShare)
            .where(ConfigurationShare.tenant_id == tenant.id, ConfigurationShare.configuration_id == config.id)
            .options(selectinload(ConfigurationShare.user))
            .order_by(ConfigurationShare.created_at)
        )
    )


def share_configuration(
    session: Session,
    tenant: Tenant,
    actor: Membership,
    config: Configuration,
    *,
    user_id: uuid.UUID | str | None,
    permission: str,
    client: ClientInfo | None = None,
) -> ConfigurationShare:
    """Share with a team member to view or to edit (sharing again changes the permission)."""
    _ensure_can_manage(actor, config)
    errors: dict[str, list[str]] = {}
    if permission not in SHARE_PERMISSIONS:
        errors["permission"] = ["Choose view or edit."]
    try:
        user_uuid = user_id if isinstance(user_id, uuid.UUID) else uuid.UUID(str(user_id))
    except (ValueError, TypeError):
        user_uuid = None
    member = None
    if user_uuid is not None:
        member = session.scalar(
            select(Membership).where(Membership.tenant_id == tenant.id, Membership.user_id == user_uuid)
        )
    if member is None:
        errors["user_id"] = ["Choose a member of this workspace."]
    elif member.user_id == config.created_by_id:
        errors["user_id"] = ["That person owns this configuration already."]
    elif permission in SHARE_PERMISSIONS and permission not in share_permissions_for(member.role):
        errors["permission"] = [f"{member.user.name} is a viewer: viewers can only be given view access."]
    if errors:
        raise ValidationFailed("Check who to share with and how.", field_errors=errors)
    share = share_for(session, config, member.user_id)
    previous = share.permission if share is not None else None
    if share is None:
        share = ConfigurationShare(
            tenant_id=tenant.id,
            configuration_id=config.id,
            user_id=member.user_id,
            permission=permission,
            created_at=utcnow(),
        )
        session.add(share)
    else:
        share.permission = permission
    session.flush()
    if previous != permission:
        _record(
            session,
            actor,
            config,
            "configuration.shared",
            client=client,
            shared_with=audit.person_label(member.user.name, member.user.email),
            change_list=audit.change_list({"permission": [previous, permission]}, {"permission": "Access"}),
        )
    return share


def share_permissions_for(role: str | None) -> tuple[str, ...]:
    """The access a member with this role can be given: edit only where the role may edit."""
    return SHARE_PERMISSIONS if can(role, "edit_configurations") else ("view",)


def unshare_configuration(
    session: Session,
    tenant: Tenant,
    actor: Membership,
    config: Configuration,
    user_id: uuid.UUID,
    *,
    missing_ok: bool = False,
    client: ClientInfo | None = None,
) -> bool:
    """Stop sharing with a member (False when it was not shared; NotFound unless missing_ok)."""
    _ensure_can_manage(actor, config)
    share = share_for(session, config, user_id)
    if share is None:
        if missing_ok:
            return False
        raise NotFound("This configuration is not shared with that person.")
    user = share.user
    access = share.permission
    session.delete(share)
    session.flush()
    _record(
        session,
        actor,
        config,
        "configuration.unshared",
        client=client,
        shared_with=audit.person_label(user.name, user.email),
        access=access,
    )
    return True


# ---- JSON and export


def configuration_json(config: Configuration) -> dict:
    """A configuration as the API and the JSON export show it (the seed's column names)."""
    body = {"id": str(config.id)}
    body.update(snapshot(config))
    body.update(
        {
            "version": config.version,
            "created_by": (
                {"id": str(config.created_by.id), "name": config.created_by.name} if config.created_by else None
            ),
            "created_at": isoformat(config.created_at),
            "updated_at": isoformat(config.updated_at),
            "archived_at": isoformat(config.archived_at),
        }
    )
    return body


def version_json(version: ConfigurationVersion) -> dict:
    return {
        "version": version.version,
        "data": version.data,
        "diff": version.diff,
        "created_at": isoformat(version.created_at),
        "created_by": str(version.created_by_id) if version.created_by_id else None,
    }


CSV_COLUMNS = (
    "id",
    "name",
    "status",
    "tags",
    "fluid_name",
    *NUMBERS.keys(),
    "fluid_liquefied_propellant",
    "top_actuators",
    "version",
    "created_by",
    "created_at",
    "updated_at",
    "archived_at",
)


def _csv_cell(value) -> str:
    if value is None:
        return ""
    text = str(value)
    # SECURITY: a cell starting with =, +, -, @ runs as a formula in spreadsheets.
    if text and text[0] in "=+-@\t\r" and not isinstance(value, int | float):
        text = "'" + text
    return text


@dataclass
class Export:
    filename: str
    mimetype: str
    body: str
    quota: counters.QuotaUse


def export_configurations(
    session: Session,
    tenant: Tenant,
    actor: Membership,
    fmt: str,
    *,
    counter: counters.Counter,
    client: ClientInfo | None = None,
    now: datetime | None = None,
) -> Export:
    """The tenant's configurations (archived included) as CSV or JSON, within the exports-per-day quota."""
    ensure_permitted(actor, "export_data")
    if fmt not in ("csv", "json"):
        raise ValidationFailed(field_errors={"format": ["Choose csv or json."]})
    now = now or utcnow()
    use = usage.take_export(session, tenant, counter, now)
    configs = list(
        session.scalars(
            select(Configuration)
            .where(Configuration.tenant_id == tenant.id)
            .options(selectinload(Configuration.created_by))
            .order_by(Configuration.created_at, Configuration.id)
        )
    )
    stamp = now.strftime("%Y%m%d-%H%M%S")
    if fmt == "json":
        body = json.dumps(
            {
                "tenant": tenant.slug,
                "exported_at": now.isoformat(),
                "configurations": [configuration_json(c) for c in configs],
            },
            indent=2,
        )
        mimetype = "application/json"
    else:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for c in configs:
            row = {
                **snapshot(c),
                "id": str(c.id),
                "tags": ";".join(c.tags or []),
                "top_actuators": ";".join(str(a.get("sku", "")) for a in (c.compatible_actuators or [])[:5]),
                "version": c.version,
                "created_by": c.created_by.email if c.created_by else "",
                "created_at": isoformat(c.created_at),
                "updated_at": isoformat(c.updated_at),
                "archived_at": isoformat(c.archived_at),
            }
            writer.writerow([_csv_cell(row.get(col)) for col in CSV_COLUMNS])
        body = out.getvalue()
        mimetype = "text/csv"
    audit.record(
        session,
        tenant.id,
        "data.exported",
        actor=actor.user,
        client=client,
        target_type="configurations",
        details={"format": fmt, "rows": len(configs)},
    )
    return Export(f"configurations-{tenant.slug}-{stamp}.{fmt}", mimetype, body, use)


def user_name(session: Session, user_id) -> str:
    user = session.get(User, user_id) if user_id else None
    return user.name if user else "someone"
