"""Platform-admin procurement console: supplier sync runs, sandbox fault controls, commissions.

Every page answers 404 to anyone but a platform admin (`platform_admin_required`).
The sandbox page drives the supplier sandbox's own admin endpoints over HTTP
(`/_health`, `/_faults`, `/_clock`, `/_stats`), and only when the configured supplier
URLs point at a sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import httpx
from flask import Response, abort, current_app, flash, request, url_for
from flask_login import current_user

from aerospec.accounts.decorators import platform_admin_required
from aerospec.admin import audit as admin_audit
from aerospec.errors import ValidationFailed
from aerospec.extensions import db
from aerospec.models import utcnow
from aerospec.pagination import page_arg
from aerospec.procurement import bp, revenue, sync
from aerospec.procurement.models import SUPPLIERS
from aerospec.queueing import enqueue
from aerospec.web.htmx import hx_redirect, is_htmx, render

SYNC_JOB = "jobs.suppliers.sync_supplier_catalog"
SUPPLIER_LABELS = {"spencer": "Spencer", "coster": "Coster"}
SANDBOX_TIMEOUT = 3.0
MAX_LATENCY_MS = 60_000
CLOCK_UNITS = {"minutes": 60, "hours": 3600, "days": 86400}


def _page_arg() -> int:
    return page_arg(request.args)


def _vary(response: Response) -> Response:
    response.headers.add("Vary", "HX-Request")
    return response


@bp.app_template_global("price_freshness")
def price_freshness(last_synced_at: datetime | str | None) -> str:
    """'fresh', 'stale' (synced over 24 h ago) or 'never', for the price flags wherever prices show.

    Takes a datetime or an ISO 8601 string (as JSON-ready result entries carry it).
    """
    if isinstance(last_synced_at, str):
        last_synced_at = datetime.fromisoformat(last_synced_at) if last_synced_at else None
    return sync.freshness(last_synced_at)


# ---- supplier sync


@bp.route("/admin/procurement/sync")
@platform_admin_required
def admin_sync_runs():
    """Sync runs (newest first) with per-supplier counts and errors, and how stale the catalog is."""
    result = sync.list_runs(db.session, page=_page_arg())
    running = sync.running_run(db.session)
    response = render(
        "procurement/admin/sync.html",
        block="sync_runs",
        result=result,
        running=running,
        staleness=sync.staleness_summary(db.session),
        labels=SUPPLIER_LABELS,
        stale_hours=int(sync.STALE_AFTER.total_seconds() // 3600),
    )
    if is_htmx() and running is None and request.args.get("poll"):
        response.status_code = 286  # htmx: stop polling, the run has finished
    return _vary(response)


@bp.route("/admin/procurement/sync", methods=["POST"])
@platform_admin_required
def admin_start_sync():
    """ "Sync now": queue a catalog sync (unless one is already running)."""
    running = sync.running_run(db.session)
    if running is not None:
        flash("A sync is already running; its result appears below when it finishes.", "info")
        return hx_redirect(url_for("procurement.admin_sync_runs"))
    enqueue(
        db.session,
        SYNC_JOB,
        trigger="manual",
        triggered_by_id=str(current_user.id),
        queue="sync",
        job_id="supplier-sync-manual",
        retries=0,
    )
    _audited("supplier.sync_requested", "supplier", "all", details={"trigger": "manual"})
    db.session.commit()  # the job is sent (or, inline, run) on commit
    flash("Sync started: Spencer and Coster prices, stock and lead times are being refreshed.", "success")
    return hx_redirect(url_for("procurement.admin_sync_runs"))


def _audited(action: str, target_type: str, target_id: str, **fields) -> None:
    """Write this platform-admin action to the admin audit log (the caller commits)."""
    from aerospec.web.client import client_info

    admin_audit.record(
        db.session,
        action,
        admin=current_user._get_current_object(),
        target_type=target_type,
        target_id=target_id,
        client=client_info(),
        **fields,
    )


# ---- sandbox fault controls


@dataclass
class SandboxStatus:
    base_url: str | None
    ok: bool
    reason: str = ""


def _sandbox_base() -> str | None:
    """The sandbox root both supplier URLs share (…/spencer and …/coster), or None."""
    config = current_app.config
    spencer = str(config.get("SUPPLIER_SPENCER_URL") or "").rstrip("/")
    coster = str(config.get("SUPPLIER_COSTER_URL") or "").rstrip("/")
    if not spencer.endswith("/spencer") or not coster.endswith("/coster"):
        return None
    base = spencer.removesuffix("/spencer")
    return base if coster.removesuffix("/coster") == base else None


def _sandbox(method: str, path: str, base: str, json: dict | None = None, params: dict | None = None) -> dict:
    response = httpx.request(method, base + path, json=json, params=params, timeout=SANDBOX_TIMEOUT)
    if response.status_code == 400:
        raise ValidationFailed(response.json().get("error") or "The sandbox refused the change.")
    response.raise_for_status()
    return response.json()


def _sandbox_status() -> SandboxStatus:
    base = _sandbox_base()
    if base is None:
        return SandboxStatus(None, False, "The supplier URLs do not end in /spencer and /coster on one host.")
    try:
        health = _sandbox("GET", "/_health", base)
    except (httpx.HTTPError, ValueError) as exc:
        return SandboxStatus(base, False, f"{base}/_health did not answer as the sandbox does ({type(exc).__name__}).")
    if not (isinstance(health, dict) and health.get("ok") and set(SUPPLIERS) <= set(health.get("suppliers") or [])):
        return SandboxStatus(base, False, f"{base} answered, but not as the supplier sandbox.")
    return SandboxStatus(base, True)


def _sandbox_page(box: SandboxStatus, errors: dict | None = None, code: int = 200) -> Response:
    faults = stats = clock = None
    if box.ok:
        try:
            faults = _sandbox("GET", "/_faults", box.base_url)
            stats = _sandbox("GET", "/_stats", box.base_url)
            clock = _sandbox("GET", "/_clock", box.base_url)
        except (httpx.HTTPError, ValueError) as exc:
            box = SandboxStatus(box.base_url, False, f"The sandbox stopped answering ({type(exc).__name__}).")
    return _vary(
        render(
            "procurement/admin/sandbox.html",
            block="sandbox_controls",
            status=code,
            sandbox=box,
            faults=faults,
            stats=stats,
            clock=datetime.fromisoformat(clock["now"]) if clock else None,
            errors=errors or {},
            labels=SUPPLIER_LABELS,
            units=CLOCK_UNITS,
            supplier_urls={s: current_app.config.get(f"SUPPLIER_{s.upper()}_URL") for s in SUPPLIERS},
        )
    )


def _sandbox_lost(box: SandboxStatus, exc: Exception) -> Response:
    lost = SandboxStatus(box.base_url, False, f"The sandbox did not take the change ({type(exc).__name__}).")
    return _sandbox_page(lost, code=502)


@bp.route("/admin/procurement/sandbox")
@platform_admin_required
def admin_sandbox():
    """The supplier sandbox's faults per supplier, its clock and request counts."""
    return _sandbox_page(_sandbox_status())


def _number(form, name: str, low: float, high: float, errors: dict, label: str) -> float | None:
    text = (form.get(name) or "").strip() or "0"
    try:
        value = float(text)
    except ValueError:
        errors[name] = f"{label}: enter a number."
        return None
    if not low <= value <= high:
        errors[name] = f"{label}: enter a value from {low:g} to {high:g}."
        return None
    return value


@bp.route("/admin/procurement/sandbox/faults/<supplier>", methods=["POST"])
@platform_admin_required
def admin_set_faults(supplier: str):
    """Set one supplier's simulated latency, error rate, hang and malformed JSON."""
    if supplier not in SUPPLIERS:
        abort(404)
    box = _sandbox_status()
    if not box.ok:
        return _sandbox_page(box, code=409)
    label, errors = SUPPLIER_LABELS[supplier], {}
    latency = _number(request.form, f"{supplier}-latency_ms", 0, MAX_LATENCY_MS, errors, f"{label} latency (ms)")
    error_pct = _number(request.form, f"{supplier}-error_rate", 0, 100, errors, f"{label} error rate (%)")
    if errors:
        return _sandbox_page(box, errors, code=422)
    faults = {
        "latency_ms": int(latency),
        "error_rate": round(error_pct / 100, 4),
        "hang": request.form.get(f"{supplier}-hang") == "on",
        "malformed_json": request.form.get(f"{supplier}-malformed_json") == "on",
    }
    try:
        _sandbox("POST", "/_faults", box.base_url, json={supplier: faults})
    except ValidationFailed as exc:
        return _sandbox_page(box, {f"{supplier}-form": exc.message}, code=422)
    except httpx.HTTPError as exc:
        return _sandbox_lost(box, exc)
    current_app.logger.info("platform admin %s set sandbox faults %s: %s", current_user.email, supplier, faults)
    _audited("sandbox.faults_set", "sandbox", supplier, after=faults)
    db.session.commit()
    flash(f"{label} faults updated.", "success")
    return hx_redirect(url_for("procurement.admin_sandbox"))


@bp.route("/admin/procurement/sandbox/faults/clear", methods=["POST"])
@platform_admin_required
def admin_clear_faults():
    """Clear every simulated fault on both suppliers."""
    box = _sandbox_status()
    if not box.ok:
        return _sandbox_page(box, code=409)
    try:
        _sandbox("DELETE", "/_faults", box.base_url)
    except httpx.HTTPError as exc:
        return _sandbox_lost(box, exc)
    _audited("sandbox.faults_cleared", "sandbox", "all")
    db.session.commit()
    flash("All sandbox faults cleared: both suppliers answer normally.", "success")
    return hx_redirect(url_for("procurement.admin_sandbox"))


@bp.route("/admin/procurement/sandbox/clock", methods=["POST"])
@platform_admin_required
def admin_advance_clock():
    """Move the sandbox clock forward, so supplier orders ship and arrive."""
    box = _sandbox_status()
    if not box.ok:
        return _sandbox_page(box, code=409)
    errors: dict = {}
    unit = request.form.get("unit") if request.form.get("unit") in CLOCK_UNITS else "hours"
    amount = _number(request.form, "amount", 0, 365 * 86400 / CLOCK_UNITS[unit], errors, "Advance by")
    if errors or not amount:
        errors.setdefault("amount", "Advance by: enter a number above 0.")
        return _sandbox_page(box, errors, code=422)
    try:
        now = _sandbox("POST", "/_clock", box.base_url, json={"advance_seconds": amount * CLOCK_UNITS[unit]})["now"]
    except httpx.HTTPError as exc:
        return _sandbox_lost(box, exc)
    _audited("sandbox.clock_advanced", "sandbox", "clock", details={"amount": amount, "unit": unit, "now": now})
    db.session.commit()
    flash(f"Sandbox clock advanced by {amount:g} {unit}; it is now {now[:16].replace('T', ' ')} UTC there.", "success")
    return hx_redirect(url_for("procurement.admin_sandbox"))


# ---- commissions and revenue


@bp.route("/admin/procurement/commissions")
@platform_admin_required
def admin_commissions():
    """Commissions on paid orders across workspaces, filtered, and revenue per month."""
    errors: dict[str, list[str]] = {}
    try:
        filters = revenue.CommissionFilters.parse(request.args)
    except ValidationFailed as exc:
        errors, filters = exc.field_errors, revenue.CommissionFilters()
    months = revenue.monthly_revenue(db.session, filters)
    peak = max((m["commissions"] for m in months), default=0)
    return _vary(
        render(
            "procurement/admin/commissions.html",
            block="commission_results",
            result=revenue.list_commissions(db.session, filters, page=_page_arg()),
            totals=revenue.commission_totals(db.session, filters),
            months=months,
            peak=peak,
            filters=filters,
            query=filters.query(),
            args=request.args,
            errors=errors,
            tenants=revenue.commission_tenants(db.session),
            now=utcnow(),
        )
    )
