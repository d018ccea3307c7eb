"""Impersonation for support: a platform admin sees the product as a user, for a limited time.

- Started from the console (a form with a reason; 5–240 minutes, default 30) or
  `POST /api/admin/impersonate/<user_id>`; never of a platform admin.
- Read-only unless write access was asked for with its own reason: every non-GET request is refused
  (403, saying why) except ending the impersonation and logging out.
- The browser's login session stays the admin's: the user loader swaps in the user while an open,
  unexpired impersonation of this admin is named in the session cookie, so logging out, expiry or
  "End now" all give the admin back.
- Each workspace the user belongs to records the start and the end in its audit log; the admin audit
  log does too; while it runs every workspace audit entry carries `impersonated_by` and every request
  log line `impersonator`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Response, abort, flash, g, has_request_context, redirect, request, session, url_for
from flask_login import current_user
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from aerospec.accounts import views as account_views
from aerospec.accounts.decorators import platform_admin_required
from aerospec.accounts.models import User
from aerospec.admin import audit, bp
from aerospec.admin.models import Impersonation
from aerospec.compliance import services as tenant_audit
from aerospec.errors import Conflict, ValidationFailed
from aerospec.extensions import db, login_manager
from aerospec.models import utcnow
from aerospec.tenancy import services as tenancy
from aerospec.tenancy.context import remember_memberships
from aerospec.tenancy.scoping import tenant_scope
from aerospec.web.client import client_info
from aerospec.web.htmx import hx_redirect, is_htmx, render

SESSION_KEY = "impersonation_id"
MIN_MINUTES, MAX_MINUTES, DEFAULT_MINUTES = 5, 240, 30
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
# What a read-only impersonation may still POST: ending it, and logging out (which ends it too).
ALWAYS_OPEN = frozenset({"admin.end_impersonation", "accounts.logout"})


@dataclass(frozen=True)
class Request:
    """What the admin asked for, checked."""

    minutes: int
    reason: str
    write_access: bool
    write_reason: str | None


def parse_request(data) -> Request:
    """minutes (5–240, default 30), reason (required), write_access, write_reason (required with write access)."""
    errors: dict[str, list[str]] = {}
    raw = data.get("minutes")
    raw = DEFAULT_MINUTES if raw in (None, "") else raw
    text = str(raw).strip() if not isinstance(raw, bool) else ""
    minutes = int(text) if text.isascii() and text.isdigit() and len(text) <= 3 else -1
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        errors["minutes"] = [f"Enter a whole number of minutes from {MIN_MINUTES} to {MAX_MINUTES}."]
    reason = data.get("reason")
    reason = reason.strip() if isinstance(reason, str) else ""
    if len(reason) < 3:
        errors["reason"] = ["Give a reason (at least 3 characters): it is kept in both audit logs."]
    elif len(reason) > 500:
        errors["reason"] = ["Keep the reason under 500 characters."]
    write = data.get("write_access")
    write_access = write is True or (isinstance(write, str) and write.strip().lower() in ("1", "on", "true", "yes"))
    write_reason = data.get("write_reason")
    write_reason = write_reason.strip() if isinstance(write_reason, str) else ""
    if write_access and len(write_reason) < 3:
        errors["write_reason"] = ["Say why you need to change things as this user (at least 3 characters)."]
    if errors:
        raise ValidationFailed("Check the fields listed in errors.", field_errors=errors)
    return Request(minutes, reason, write_access, write_reason[:500] if write_access else None)


def _record_in_workspaces(session: Session, imp: Impersonation, action: str, details: dict) -> list[uuid.UUID]:
    """The start or end in the audit log of every workspace the user belongs to."""
    ids = []
    for membership in tenancy.memberships_for_user(session, imp.user):
        with tenant_scope(session, membership.tenant_id):
            tenant_audit.record(
                session,
                membership.tenant_id,
                action,
                actor=None,
                actor_email=f"AeroSpec support ({imp.admin.email})",
                target_type="user",
                target_id=imp.user_id,
                target_name=imp.user.email,
                details={"impersonation_id": str(imp.id), "admin_email": imp.admin.email, **details},
            )
        ids.append(membership.tenant_id)
    return ids


def start(
    session: Session, admin: User, user: User, ask: Request, client=None, now: datetime | None = None
) -> Impersonation:
    """Open an impersonation of `user` by `admin` (audited on both sides); flushed, not committed."""
    now = now or utcnow()
    if user.is_platform_admin:
        raise Conflict("Platform admins cannot be impersonated.")
    if user.id == admin.id:
        raise Conflict("You cannot impersonate yourself.")
    for running in session.scalars(
        select(Impersonation).where(Impersonation.admin_id == admin.id, Impersonation.ended_at.is_(None))
    ):
        end(session, running, "replaced" if running.active(now) else "expired", now)  # one at a time
    imp = Impersonation(
        admin_id=admin.id,
        user_id=user.id,
        reason=ask.reason,
        write_access=ask.write_access,
        write_reason=ask.write_reason,
        started_at=now,
        expires_at=now + timedelta(minutes=ask.minutes),
    )
    session.add(imp)
    session.flush()
    session.refresh(imp)  # load admin and user
    details = {
        "minutes": ask.minutes,
        "access": "write" if ask.write_access else "read-only",
        "reason": ask.reason,
        "expires_at": imp.expires_at.isoformat(),
    }
    if ask.write_reason:
        details["write_reason"] = ask.write_reason
    tenants = _record_in_workspaces(session, imp, "impersonation.started", details)
    audit.record(
        session,
        "impersonation.started",
        admin=admin,
        target_type="user",
        target_id=user.id,
        tenant_id=tenants[0] if len(tenants) == 1 else None,
        reason=ask.reason,
        details={
            **details,
            "impersonation_id": str(imp.id),
            "user_email": user.email,
            "workspaces": [str(t) for t in tenants],
        },
        client=client,
    )
    return imp


def end(session: Session, imp: Impersonation, reason: str = "ended", now: datetime | None = None) -> bool:
    """Close an impersonation (ended by the admin, or expired); False if it was closed already."""
    if imp.ended_at is not None:
        return False
    now = now or utcnow()
    ended_at = min(now, imp.expires_at) if reason == "expired" else now
    # Conditional: the request path and the expiry job may both try; only the one whose UPDATE finds
    # the row still open writes the end entries (on PostgreSQL the second waits for the first's commit).
    closed = session.execute(
        update(Impersonation)
        .where(Impersonation.id == imp.id, Impersonation.ended_at.is_(None))
        .values(ended_at=ended_at, end_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not closed:
        session.refresh(imp, ["ended_at", "end_reason"])
        return False
    set_committed_value(imp, "ended_at", ended_at)
    set_committed_value(imp, "end_reason", reason)
    details = {"how": reason, "ended_at": imp.ended_at.isoformat()}
    token = tenant_audit._impersonator.set(None)  # the end itself is support's, not the user's
    try:
        tenants = _record_in_workspaces(session, imp, "impersonation.ended", details)
    finally:
        tenant_audit._impersonator.reset(token)
    audit.record(
        session,
        "impersonation.ended",
        admin=imp.admin,
        target_type="user",
        target_id=imp.user_id,
        tenant_id=tenants[0] if len(tenants) == 1 else None,
        details={**details, "impersonation_id": str(imp.id), "user_email": imp.user.email},
    )
    return True


def end_expired(session: Session, now: datetime | None = None) -> int:
    """End every impersonation whose time is up (the expiry job; each its own commit); returns how many."""
    now = now or utcnow()
    due = list(
        session.scalars(
            select(Impersonation.id).where(Impersonation.ended_at.is_(None), Impersonation.expires_at <= now)
        )
    )
    ended = 0
    for imp_id in due:
        imp = session.get(Impersonation, imp_id)
        ended += end(session, imp, "expired", now)
        session.commit()
    return ended


def impersonation_json(imp: Impersonation, now: datetime | None = None) -> dict:
    now = now or utcnow()
    return {
        "id": str(imp.id),
        "admin": {"id": str(imp.admin_id), "email": imp.admin.email},
        "user": {"id": str(imp.user_id), "email": imp.user.email, "name": imp.user.name},
        "reason": imp.reason,
        "access": "write" if imp.write_access else "read-only",
        "write_reason": imp.write_reason,
        "started_at": imp.started_at.isoformat(),
        "expires_at": imp.expires_at.isoformat(),
        "ended_at": imp.ended_at.isoformat() if imp.ended_at else None,
        "active": imp.active(now),
        "open_url": url_for("admin.impersonation_page", impersonation_id=imp.id),
    }


def get_user(session: Session, user_id: str) -> User | None:
    try:
        ident = uuid.UUID(str(user_id))
    except ValueError:
        return None
    return session.get(User, ident)


# ---- the browser: who the request is


def _load_user(session_id: str):
    """The login session's user, or the impersonated user while this admin's impersonation runs."""
    user = account_views.load_user(session_id)
    imp_id = session.get(SESSION_KEY)
    if user is None or imp_id is None:
        return user
    imp = None
    if getattr(user, "is_platform_admin", False):
        try:
            imp = db.session.get(Impersonation, uuid.UUID(str(imp_id)))
        except ValueError:
            imp = None
    if imp is None or imp.admin_id != user.id or imp.ended_at is not None:
        session.pop(SESSION_KEY, None)
        return user
    if not imp.active():
        end(db.session, imp, "expired")
        db.session.commit()
        session.pop(SESSION_KEY, None)
        g.impersonation_expired = True
        return account_views.load_user(session_id)
    target = imp.user
    remember_memberships(tenancy.memberships_for_user(db.session, target))
    target.login_session_id = user.login_session_id
    g.impersonation = imp
    g.impersonator_id = str(user.id)
    g._impersonator_token = tenant_audit.set_impersonator(user.id, user.email, imp.id)
    return target


login_manager.user_loader(_load_user)


@bp.teardown_app_request
def _forget_impersonator(exc: BaseException | None) -> None:
    token = g.pop("_impersonator_token", None)
    if token is not None:
        tenant_audit.reset_impersonator(token)


@bp.before_app_request
def refuse_writes_while_read_only() -> Response | None:
    """SECURITY: a read-only impersonation refuses every non-GET request (403 saying why)."""
    if request.method in SAFE or SESSION_KEY not in session:
        return None
    if not current_user.is_authenticated:  # loads the user, and with it g.impersonation
        return None
    imp = g.get("impersonation")
    if imp is not None and request.endpoint == "accounts.logout":
        end(db.session, imp, "logged out")  # logging out ends the admin's session, and this with it
        db.session.commit()
        session.pop(SESSION_KEY, None)
        return None
    if imp is None or imp.write_access or request.endpoint in ALWAYS_OPEN:
        return None
    title = "Read-only impersonation"
    message = (
        f"You are viewing AeroSpec as {imp.user.email} read-only, so nothing can be changed. "
        "End the impersonation and start it again with write access (and a reason) if you must change something."
    )
    if request.blueprint == "api" or request.accept_mimetypes.best == "application/problem+json":
        from aerospec.web.errors import problem

        return problem(403, title, message)
    response = render("web/_error_fragment.html", status=403, title=title, message=message)
    if is_htmx():
        response.headers["HX-Retarget"] = "#main"
        response.headers["HX-Reswap"] = "afterbegin"
    return response


@bp.app_context_processor
def impersonation_banner() -> dict:
    """Template value `impersonation`: the running impersonation with its minutes left, or None."""
    imp = g.get("impersonation") if has_request_context() else None
    if imp is None:
        return {"impersonation": None}
    seconds = max(0, int((imp.expires_at - utcnow()).total_seconds()))
    return {
        "impersonation": {
            "user": imp.user,
            "admin_email": imp.admin.email,
            "write_access": imp.write_access,
            "expires_at": imp.expires_at,
            "minutes_left": -(-seconds // 60),
            "seconds_left": seconds,
        }
    }


# ---- pages


@bp.route("/admin/users/<user_id>/impersonate", methods=["GET", "POST"])
@platform_admin_required
def impersonate(user_id: str):
    """The form: how long, why, read-only or with write access; starting it opens the product as the user."""
    user = get_user(db.session, user_id)
    if user is None:
        abort(404)
    values = {
        "minutes": request.form.get("minutes", str(DEFAULT_MINUTES)),
        "reason": request.form.get("reason", ""),
        "write_access": request.form.get("write_access", ""),
        "write_reason": request.form.get("write_reason", ""),
    }
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            imp = start(
                db.session, current_user._get_current_object(), user, parse_request(request.form), client_info()
            )
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.field_errors
        except Conflict as exc:
            db.session.rollback()
            errors = {"form": [exc.message]}
        else:
            imp_id = imp.id
            db.session.commit()
            return _attach(imp_id, user)
    memberships = tenancy.memberships_for_user(db.session, user)
    return render(
        "admin/impersonate.html",
        status=422 if errors else 200,
        user=user,
        memberships=memberships,
        values=values,
        errors=errors,
        min_minutes=MIN_MINUTES,
        max_minutes=MAX_MINUTES,
    )


def _attach(imp_id: uuid.UUID, user: User) -> Response:
    """Name the impersonation in this browser's session and open the user's first workspace."""
    session[SESSION_KEY] = str(imp_id)
    g.pop("_login_user", None)
    memberships = tenancy.memberships_for_user(db.session, user)
    if memberships:
        return hx_redirect(url_for("tenancy.dashboard", tenant_slug=memberships[0].tenant.slug))
    return hx_redirect(url_for("web.landing"))


@bp.route("/admin/impersonations/<impersonation_id>", methods=["GET", "POST"])
@platform_admin_required
def impersonation_page(impersonation_id: str):
    """An impersonation started through the API: open it in this browser (its admin only)."""
    try:
        imp = db.session.get(Impersonation, uuid.UUID(impersonation_id))
    except ValueError:
        imp = None
    if imp is None or imp.admin_id != current_user.id:
        abort(404)
    if request.method == "POST" and imp.active():
        return _attach(imp.id, imp.user)
    return render("admin/impersonation.html", imp=imp, active=imp.active())


@bp.route("/impersonation/end", methods=["POST"])
def end_impersonation():
    """End now: back to the console as the admin (the end is recorded on both sides)."""
    imp = g.get("impersonation")
    if imp is None:
        session.pop(SESSION_KEY, None)
        return redirect(url_for("accounts.login"))
    user_id = imp.user_id
    end(db.session, imp, "ended")
    db.session.commit()
    session.pop(SESSION_KEY, None)
    flash("Impersonation ended: you are yourself again.", "success")
    return hx_redirect(url_for("admin.user_workspaces", user_id=user_id))


@bp.route("/admin/users/<user_id>")
@platform_admin_required
def user_workspaces(user_id: str):
    """A user's workspaces and roles, with the impersonation button (platform admins)."""
    user = get_user(db.session, user_id)
    if user is None:
        abort(404)
    impersonations = list(
        db.session.scalars(
            select(Impersonation)
            .where(Impersonation.user_id == user.id)
            .order_by(Impersonation.started_at.desc())
            .limit(10)
        )
    )
    return render(
        "admin/user.html",
        user=user,
        memberships=tenancy.memberships_for_user(db.session, user),
        impersonations=impersonations,
    )
