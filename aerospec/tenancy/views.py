"""Tenant pages: dashboard, members, invitations, settings, deletion, switching."""

from __future__ import annotations

import uuid

from flask import abort, flash, g, redirect, request, url_for
from flask_login import current_user, login_required, logout_user

from aerospec.accounts.forms import AcceptInvitationForm
from aerospec.billing.plans import PLANS
from aerospec.errors import Conflict, InvalidToken, LimitReached, ValidationFailed
from aerospec.extensions import db
from aerospec.limits.effective import effective_features, effective_limits
from aerospec.tenancy import bp
from aerospec.tenancy import services as tenancy
from aerospec.tenancy.forms import DeleteTenantForm, EmptyForm, InviteForm, RoleForm, SettingsForm
from aerospec.tenancy.permissions import can, coming_soon_rows, require_permission, role_rows
from aerospec.web.client import client_info
from aerospec.web.errors import upgrade_link
from aerospec.web.forms import apply_errors
from aerospec.web.htmx import hx_redirect, render

T = "/t/<tenant_slug>"


@bp.route(f"{T}/")
@login_required
def dashboard():
    """What this workspace can do next, honestly (no made-up figures)."""
    usage = tenancy.seat_usage(db.session, g.tenant)
    return render(
        "tenancy/dashboard.html",
        usage=usage,
        limits=effective_limits(g.tenant),
        features=effective_features(g.tenant),
        plan=PLANS[g.tenant.plan],
    )


@bp.route("/workspaces")
@login_required
def no_workspace():
    """Your workspaces (or how to get one, when you belong to none)."""
    memberships = tenancy.memberships_for_user(db.session, current_user)
    return render("tenancy/workspaces.html", memberships=memberships)


@bp.route("/switch", methods=["POST"])
@login_required
def switch():
    """Go to another workspace you belong to."""
    slug = request.form.get("tenant_slug", "")
    mine = {m.tenant.slug for m in tenancy.memberships_for_user(db.session, current_user)}
    if slug not in mine:
        abort(404)
    return redirect(url_for("tenancy.dashboard", tenant_slug=slug), 303)


# ---- members and invitations


def _members_context(invite_form: InviteForm | None = None) -> dict:
    return {
        "members": tenancy.list_members(db.session, g.tenant),
        "invitations": [i for i in tenancy.list_invitations(db.session, g.tenant) if i.status != "accepted"],
        "usage": tenancy.seat_usage(db.session, g.tenant),
        "invite_form": invite_form or InviteForm(),
        "role_form": RoleForm(),
        "action_form": EmptyForm(),
        "can_manage": can(g.membership.role, "manage_members"),
        "can_invite": can(g.membership.role, "invite_members"),
    }


@bp.route(f"{T}/members")
@login_required
@require_permission("view_configurations")
def members():
    """The team: members with their roles, pending invitations, seats used."""
    return render("tenancy/members.html", block="members_panel", **_members_context())


@bp.route(f"{T}/members/invite", methods=["POST"])
@login_required
@require_permission("invite_members")
def invite():
    """Invite a teammate by email with a role."""
    form = InviteForm()
    status = 200
    if form.validate_on_submit():
        try:
            invitation, _token = tenancy.invite(
                db.session,
                g.tenant,
                g.membership,
                email=form.email.data,
                role=form.role.data,
                client=client_info(),
            )
        except (ValidationFailed, LimitReached) as error:
            db.session.rollback()
            if isinstance(error, ValidationFailed):
                apply_errors(form, error)
            else:
                form.form_errors.append(error.message)
                form.billing_link = upgrade_link()  # the seat limit: an admin upgrades on the billing page
            status = 422 if isinstance(error, ValidationFailed) else 402
        else:
            db.session.commit()
            flash(f"Invitation sent to {invitation.email}.", "success")
            return hx_redirect(url_for("tenancy.members"))
    else:
        status = 422
    return render("tenancy/members.html", block="members_panel", status=status, **_members_context(form))


@bp.route(f"{T}/invitations/<uuid:invitation_id>/resend", methods=["POST"])
@login_required
@require_permission("invite_members")
def resend_invitation(invitation_id: uuid.UUID):
    """Send an invitation again with a fresh 7-day link."""
    _check_csrf_form()
    invitation, _token = tenancy.resend_invitation(db.session, g.tenant, g.membership, invitation_id, client_info())
    db.session.commit()
    flash(f"Invitation resent to {invitation.email}.", "success")
    return hx_redirect(url_for("tenancy.members"))


@bp.route(f"{T}/invitations/<uuid:invitation_id>/revoke", methods=["POST"])
@login_required
@require_permission("invite_members")
def revoke_invitation(invitation_id: uuid.UUID):
    """Revoke an invitation so its link stops working."""
    _check_csrf_form()
    invitation = tenancy.revoke_invitation(db.session, g.tenant, g.membership, invitation_id, client_info())
    db.session.commit()
    flash(f"Invitation to {invitation.email} revoked.", "success")
    return hx_redirect(url_for("tenancy.members"))


@bp.route(f"{T}/members/<uuid:user_id>/role", methods=["POST"])
@login_required
@require_permission("manage_members")
def change_role(user_id: uuid.UUID):
    """Give a member another role."""
    form = RoleForm()
    if not form.validate_on_submit():
        raise ValidationFailed("Choose admin, user or viewer.", field_errors=form.errors)
    member = tenancy.change_role(db.session, g.tenant, g.membership, user_id, form.role.data, client_info())
    db.session.commit()
    flash(f"{member.user.name} is now {member.role}.", "success")
    if user_id == current_user.id and member.role != "admin":
        return hx_redirect(url_for("tenancy.dashboard"))
    return hx_redirect(url_for("tenancy.members"))


@bp.route(f"{T}/members/<uuid:user_id>/remove", methods=["POST"])
@login_required
@require_permission("manage_members")
def remove_member(user_id: uuid.UUID):
    """Remove a member from the workspace."""
    _check_csrf_form()
    tenancy.remove_member(db.session, g.tenant, g.membership, user_id, client_info())
    db.session.commit()
    if user_id == current_user.id:
        flash(f"You left {g.tenant.name}.", "success")
        return hx_redirect(url_for("tenancy.no_workspace"))
    flash("Member removed.", "success")
    return hx_redirect(url_for("tenancy.members"))


def _check_csrf_form() -> None:
    # CSRFProtect already checked the token; this keeps the form shape explicit.
    EmptyForm()


# ---- settings and deletion


@bp.route(f"{T}/settings", methods=["GET", "POST"])
@login_required
@require_permission("manage_settings")
def settings():
    """Workspace name, billing email, API access for users and sharing lab results with the shared model."""
    form = SettingsForm(obj=g.tenant if request.method == "GET" else None)
    status = 200
    if form.validate_on_submit():
        try:
            tenancy.update_settings(
                db.session,
                g.tenant,
                g.membership,
                name=form.name.data,
                billing_email=form.billing_email.data,
                client=client_info(),
                api_enabled_for_users=form.api_enabled_for_users.data,
                share_lab_results=form.share_lab_results.data,
            )
        except ValidationFailed as error:
            db.session.rollback()
            apply_errors(form, error)
            status = 422
        else:
            db.session.commit()
            flash("Settings saved.", "success")
            return hx_redirect(url_for("tenancy.settings"))
    elif request.method == "POST":
        status = 422
    return render(
        "tenancy/settings.html",
        block="settings_form",
        status=status,
        form=form,
        delete_form=DeleteTenantForm(),
    )


@bp.route(f"{T}/delete", methods=["POST"])
@login_required
@require_permission("delete_tenant")
def delete():
    """Delete the workspace after the admin types its address name."""
    form = DeleteTenantForm()
    try:
        tenancy.delete_tenant(
            db.session,
            g.tenant,
            g.membership,
            confirmation=form.confirmation.data or "",
            client=client_info(),
        )
    except ValidationFailed as error:
        db.session.rollback()
        apply_errors(form, error)
        return render(
            "tenancy/settings.html",
            block="delete_form",
            status=422,
            form=SettingsForm(obj=g.tenant),
            delete_form=form,
        )
    db.session.commit()
    flash(f"{g.tenant.name} was deleted. Its data will be purged in 30 days.", "success")
    return hx_redirect(url_for("tenancy.no_workspace"))


@bp.route(f"{T}/roles")
@login_required
def roles():
    """The permission matrix: what each role can do."""
    return render("tenancy/roles.html", rows=role_rows(), coming_soon=coming_soon_rows())


# ---- accepting an invitation (public link from the email)


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    """Join a workspace from an invitation link, as a new or an existing user."""
    from aerospec.accounts import login_policy
    from aerospec.accounts.views import begin_attempt, refused, with_retry_after

    attempt = throttled = None
    if request.method == "POST":
        try:
            # SECURITY: the link's token is the secret here: wrong ones count against this address.
            attempt = begin_attempt(None)
        except login_policy.TooManyAttempts as error:
            throttled = error
    try:
        invitation = tenancy.invitation_for_token(db.session, token)
    except InvalidToken as error:
        if attempt is not None:
            login_policy.policy().failed(attempt)
        message = throttled.message if throttled else error.message
        page = render("tenancy/invitation_invalid.html", status=429 if throttled else 400, message=message)
        return with_retry_after(page, throttled)
    form = AcceptInvitationForm()
    existing = tenancy.accounts.get_user_by_email(db.session, invitation.email)
    # Read before the commit: afterwards no tenant is in context, so on PostgreSQL row-level
    # security hides the (expired) invitation row and reloading it fails.
    tenant_name, tenant_slug, invitation_email = invitation.tenant.name, invitation.tenant.slug, invitation.email
    status = 200
    if throttled is not None:
        refused(form, throttled)
        status = 429
    elif request.method == "POST":
        try:
            if current_user.is_authenticated:
                EmptyForm()
                membership = tenancy.accept_invitation(db.session, token, current_user, client_info())
                db.session.commit()
            elif existing is None and form.validate_on_submit():
                from aerospec.accounts.views import log_in

                user, membership = tenancy.accept_invitation_as_new_user(
                    db.session, token, name=form.name.data, password=form.password.data, client=client_info()
                )
                log_in(user, remember=False)
                db.session.commit()
            else:
                status = 422
                membership = None
        except ValidationFailed as error:
            db.session.rollback()
            invitation = _reload_invitation(invitation)
            apply_errors(form, error)
            status = 422
        except (InvalidToken, LimitReached, Conflict) as error:
            db.session.rollback()
            invitation = _reload_invitation(invitation)
            form.form_errors.append(error.message)
            status = error.status
        else:
            if membership is not None:
                device = login_policy.policy().succeeded(attempt, email=invitation_email)
                flash(f"Welcome to {tenant_name}.", "success")
                response = hx_redirect(url_for("tenancy.dashboard", tenant_slug=tenant_slug))
                login_policy.set_device_cookie(response, device)
                return response
        login_policy.policy().cancel(attempt)  # a valid link and a form problem: not a guess
    response = render(
        "tenancy/accept_invitation.html",
        block="accept_form",
        status=status,
        form=form,
        invitation=invitation,
        existing=existing,
        action_form=EmptyForm(),
    )
    return with_retry_after(response, throttled)


def _reload_invitation(invitation):
    """Re-read the invitation after a rollback expired it, to show it on the page again.

    No tenant is in context on this public page, so the reload goes through the same
    explicit bypass as the token lookup (on PostgreSQL, RLS would hide the row).
    """
    from aerospec.tenancy.scoping import unscoped

    with unscoped(db.session, "re-read an invitation shown on its public page"):
        db.session.refresh(invitation)
        invitation.tenant  # noqa: B018 - load while the wall is open
    return invitation


@bp.route("/invitations/<token>/switch-account", methods=["POST"])
def switch_account_for_invitation(token: str):
    """Log out so the invitation can be accepted with the invited address."""
    logout_user()
    return redirect(url_for("accounts.login", next=url_for("tenancy.accept_invitation", token=token)), 303)
