"""Tenants, memberships, invitations, seats, settings and deletion.

Every function takes the tenant and the acting membership explicitly, checks the
permission matrix, writes the audit log, flushes, and leaves the commit to its caller.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, contains_eager, lazyload

from aerospec import queueing
from aerospec.accounts import services as accounts
from aerospec.accounts.models import User, UserSession
from aerospec.billing.plans import PLANS, TRIAL_PLAN
from aerospec.compliance import services as audit
from aerospec.errors import Conflict, InvalidToken, LimitReached, NotFound, ValidationFailed
from aerospec.limits.effective import effective_limits
from aerospec.limits.messages import seat_message
from aerospec.models import utcnow
from aerospec.notifications import services as notifications
from aerospec.tenancy.models import ROLES, Invitation, Membership, Tenant
from aerospec.tenancy.permissions import ensure_permitted
from aerospec.tenancy.scoping import tenant_scope, unscoped

TRIAL_DAYS = 14
INVITATION_DAYS = 7
PURGE_AFTER_DAYS = 30
RESERVED_SLUGS = {"admin", "api", "app", "static", "www", "login", "signup", "new"}


# ---- trial


def days_until(moment: datetime, now: datetime | None = None) -> int:
    """Whole days from now until `moment`, rounded up (13 days 2 hours → 14), 0 once it has passed.

    The one day count of a trial (banner, billing page, portal, emails: billing.lifecycle.trial_of).
    """
    remaining = moment - (now or utcnow())
    if remaining.total_seconds() <= 0:
        return 0
    return -(-int(remaining.total_seconds()) // 86400)


def trial_days_left(tenant: Tenant, now: datetime | None = None) -> int | None:
    """Whole days left in the trial (rounded up), 0 once over; None when not trialing."""
    if tenant.subscription_status != "trialing" or tenant.trial_ends_at is None:
        return None
    return days_until(tenant.trial_ends_at, now)


# ---- creating tenants


def slugify(name: str) -> str:
    """A URL-safe slug from a name ('Acme Sprays GmbH' → 'acme-sprays-gmbh')."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:50].strip("-") or "workspace"


def unique_slug(session: Session, name: str) -> str:
    """A slug not yet taken (suffixes -2, -3, … and finally random)."""
    base = slugify(name)
    if base in RESERVED_SLUGS:
        base = f"{base}-team"
    candidate = base
    for n in range(2, 50):
        if session.scalar(select(Tenant.id).where(Tenant.slug == candidate)) is None:
            return candidate
        candidate = f"{base}-{n}"
    return f"{base}-{secrets.token_hex(3)}"


def create_tenant(session: Session, *, name: str, billing_email: str, admin: User) -> Tenant:
    """A new tenant on a 14-day trial with professional limits, with `admin` as its admin."""
    name = accounts.validate_name(name, field="company", label="your company's name")
    tenant = Tenant(
        name=name,
        slug=unique_slug(session, name),
        plan=TRIAL_PLAN,
        subscription_status="trialing",
        trial_ends_at=utcnow() + timedelta(days=TRIAL_DAYS),
        billing_email=billing_email,
        limits={},
        features={},
    )
    session.add(tenant)
    session.flush()
    with tenant_scope(session, tenant.id):
        session.add(Membership(tenant_id=tenant.id, user_id=admin.id, role="admin"))
        session.flush()
    return tenant


def sign_up(session: Session, *, email: str, password: str, name: str, company: str, client) -> tuple[User, Tenant]:
    """Sign-up: the user, their tenant on trial, an admin membership, a welcome email."""
    errors: dict[str, list[str]] = {}
    try:
        accounts.validate_name(company, field="company", label="your company's name")
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
    try:
        user = accounts.create_user(session, email=email, password=password, name=name)
    except ValidationFailed as exc:
        errors = {**exc.field_errors, **errors}
    if errors:
        raise ValidationFailed(field_errors=errors)
    tenant = create_tenant(session, name=company, billing_email=user.email, admin=user)
    with tenant_scope(session, tenant.id):
        audit.record(
            session,
            tenant.id,
            "tenant.created",
            actor=user,
            client=client,
            target_type="tenant",
            target_id=tenant.id,
            details={"plan": tenant.plan},
        )
    notifications.queue_email(
        session,
        user.email,
        "welcome",
        user_name=user.name,
        tenant_name=tenant.name,
        tenant_slug=tenant.slug,
        trial_ends_at=tenant.trial_ends_at,
    )
    return user, tenant


# ---- lookups


def get_tenant_by_slug(session: Session, slug: str) -> Tenant | None:
    """A live (not deleted) tenant by slug."""
    return session.scalar(select(Tenant).where(Tenant.slug == slug, Tenant.deleted_at.is_(None)))


def get_membership(session: Session, tenant: Tenant, user: User) -> Membership | None:
    """The user's membership in the tenant (the tenant must be in context)."""
    return session.scalar(select(Membership).where(Membership.tenant_id == tenant.id, Membership.user_id == user.id))


@functools.cache
def _login_statement():
    """The login lookup, built once: only its session id (a bound parameter) changes between requests,
    and a statement keeps its cache key, so the read every page makes skips building both."""
    return (
        select(UserSession, Membership)
        .outerjoin(Membership, Membership.user_id == UserSession.user_id)
        .outerjoin(Tenant, Tenant.id == Membership.tenant_id)
        .where(UserSession.id == bindparam("session_id"))
        # The member is the session's user, already in the identity map: no second join of users.
        .options(contains_eager(Membership.tenant), lazyload(Membership.user))
        .order_by(Tenant.name, Tenant.id)
    )


def load_login(session: Session, session_id: str | uuid.UUID) -> tuple[UserSession | None, list[Membership]]:
    """A live login session with its user and the user's live workspaces by name, in one statement.

    Every page request starts here: the memberships serve the tenant URL processor (tenant and
    role by slug) and the switcher, so neither asks again. (None, []) for an unknown or ended session.
    """
    try:
        sid = session_id if isinstance(session_id, uuid.UUID) else uuid.UUID(str(session_id))
    except ValueError:
        return None, []
    with unscoped(session, "load the signed-in user's own memberships", routine=True):
        rows = session.execute(_login_statement(), {"session_id": sid}).all()
    if not rows or rows[0][0].ended_at is not None:
        return None, []
    memberships = [m for _, m in rows if m is not None and m.tenant.deleted_at is None]
    return rows[0][0], memberships


def memberships_for_user(session: Session, user: User) -> list[Membership]:
    """Every live tenant the user belongs to, by tenant name (for the switcher and login)."""
    with unscoped(session, "list a user's own memberships"):
        rows = session.scalars(
            select(Membership)
            .join(Tenant, Tenant.id == Membership.tenant_id)
            .where(Membership.user_id == user.id, Tenant.deleted_at.is_(None))
            .order_by(Tenant.name)
        )
        return list(rows.unique())


def admin_names(session: Session, tenant: Tenant) -> str:
    """The workspace's admins for a sentence: 'Ada Admin (ada@example.com) or Bo Boss (bo@example.com)'."""
    admins = [m.user for m in list_members(session, tenant) if m.role == "admin"]
    return " or ".join(f"{user.name} ({user.email})" for user in admins)


def list_members(session: Session, tenant: Tenant) -> list[Membership]:
    """The tenant's members, admins first, then by name."""
    rows = session.scalars(
        select(Membership)
        .join(User, User.id == Membership.user_id)
        .where(Membership.tenant_id == tenant.id)
        .order_by(Membership.role, User.name)
    )
    return list(rows.unique())


def list_invitations(session: Session, tenant: Tenant, *, pending_only: bool = False) -> list[Invitation]:
    """The tenant's invitations, newest first."""
    query = select(Invitation).where(Invitation.tenant_id == tenant.id)
    if pending_only:
        query = query.where(
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > utcnow(),
        )
    return list(session.scalars(query.order_by(Invitation.created_at.desc())).unique())


# ---- seats


@dataclass(frozen=True)
class SeatUsage:
    members: int
    pending: int
    limit: int | None

    @property
    def used(self) -> int:
        return self.members + self.pending

    @property
    def available(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)


@functools.cache
def _seat_counts_statement():
    """Members and pending invitations in one round trip (the dashboard's only statement of its own),
    built once: the tenant and the time are bound parameters."""
    tenant_id = bindparam("tenant_id", type_=Membership.__table__.c.tenant_id.type)
    members = select(func.count()).select_from(Membership).where(Membership.tenant_id == tenant_id)
    pending = (
        select(func.count())
        .select_from(Invitation)
        .where(
            Invitation.tenant_id == tenant_id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > bindparam("now", type_=Invitation.__table__.c.expires_at.type),
        )
    )
    return select(members.scalar_subquery(), pending.scalar_subquery())


def seat_usage(session: Session, tenant: Tenant) -> SeatUsage:
    """Members, pending invitations and the plan's seat limit."""
    counts = session.execute(_seat_counts_statement(), {"tenant_id": tenant.id, "now": utcnow()}).one()
    return SeatUsage(members=counts[0] or 0, pending=counts[1] or 0, limit=effective_limits(tenant)["seats"])


# ---- invitations


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _validate_role(role: str, field: str = "role") -> str:
    if role not in ROLES:
        raise ValidationFailed(field_errors={field: [f"Choose one of: {', '.join(ROLES)}."]})
    return role


def invite(
    session: Session, tenant: Tenant, actor: Membership, *, email: str, role: str, client
) -> tuple[Invitation, str]:
    """Invite someone by email with a role; returns the invitation and its secret token."""
    ensure_permitted(actor, "invite_members")
    errors: dict[str, list[str]] = {}
    try:
        email = accounts.normalise_email(email)
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
    try:
        _validate_role(role)
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
    if errors:
        raise ValidationFailed(field_errors=errors)
    existing_user = accounts.get_user_by_email(session, email)
    if existing_user and get_membership(session, tenant, existing_user):
        raise ValidationFailed(field_errors={"email": [f"{email} is already a member of {tenant.name}."]})
    for pending in list_invitations(session, tenant, pending_only=True):
        if pending.email == email:
            raise ValidationFailed(
                field_errors={"email": [f"{email} already has a pending invitation. Resend it from the list instead."]}
            )
    usage = seat_usage(session, tenant)
    if usage.limit is not None and usage.used >= usage.limit:
        raise LimitReached(seat_message(tenant, usage.limit))
    token = secrets.token_urlsafe(32)
    now = utcnow()
    invitation = Invitation(
        tenant_id=tenant.id,
        email=email,
        role=role,
        token_hash=_token_hash(token),
        invited_by_id=actor.user_id,
        expires_at=now + timedelta(days=INVITATION_DAYS),
        send_count=1,
        last_sent_at=now,
    )
    session.add(invitation)
    session.flush()
    audit.record(
        session,
        tenant.id,
        "invitation.sent",
        actor=actor.user,
        client=client,
        target_type="invitation",
        target_id=invitation.id,
        details={"email": email, "role": role},
    )
    _send_invitation(session, tenant, invitation, token, actor.user)
    return invitation, token


def _send_invitation(session: Session, tenant: Tenant, invitation: Invitation, token: str, inviter: User) -> None:
    notifications.queue_email(
        session,
        invitation.email,
        "invitation",
        tenant_name=tenant.name,
        inviter_name=inviter.name,
        role=invitation.role,
        token=token,
        expires_at=invitation.expires_at,
    )


def _get_invitation(session: Session, tenant: Tenant, invitation_id: uuid.UUID) -> Invitation:
    invitation = session.scalar(
        select(Invitation).where(Invitation.id == invitation_id, Invitation.tenant_id == tenant.id)
    )
    if invitation is None:
        raise NotFound("That invitation does not exist.")
    return invitation


def resend_invitation(
    session: Session, tenant: Tenant, actor: Membership, invitation_id: uuid.UUID, client
) -> tuple[Invitation, str]:
    """Send a pending or expired invitation again with a fresh token and 7 more days."""
    ensure_permitted(actor, "invite_members")
    invitation = _get_invitation(session, tenant, invitation_id)
    if invitation.status in ("accepted", "revoked"):
        raise Conflict(f"This invitation was {invitation.status}; send a new one instead.")
    token = secrets.token_urlsafe(32)
    now = utcnow()
    invitation.token_hash = _token_hash(token)
    invitation.expires_at = now + timedelta(days=INVITATION_DAYS)
    invitation.send_count += 1
    invitation.last_sent_at = now
    audit.record(
        session,
        tenant.id,
        "invitation.resent",
        actor=actor.user,
        client=client,
        target_type="invitation",
        target_id=invitation.id,
        details={"email": invitation.email},
    )
    _send_invitation(session, tenant, invitation, token, actor.user)
    return invitation, token


def revoke_invitation(
    session: Session, tenant: Tenant, actor: Membership, invitation_id: uuid.UUID, client
) -> Invitation:
    """Revoke a pending invitation so its link stops working."""
    ensure_permitted(actor, "invite_members")
    invitation = _get_invitation(session, tenant, invitation_id)
    if invitation.status == "accepted":
        raise Conflict("This invitation was already accepted; remove the member instead.")
    if invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
        audit.record(
            session,
            tenant.id,
            "invitation.revoked",
            actor=actor.user,
            client=client,
            target_type="invitation",
            target_id=invitation.id,
            details={"email": invitation.email},
        )
    return invitation


def invitation_for_token(session: Session, token: str) -> Invitation:
    """The usable invitation for a token; InvalidToken says plainly why not."""
    with unscoped(session, "resolve an invitation token before its tenant is known"):
        invitation = session.scalar(select(Invitation).where(Invitation.token_hash == _token_hash(token or "")))
        if invitation is None or invitation.tenant.deleted_at is not None:
            raise InvalidToken("This invitation link is not valid. Ask your team admin for a new one.")
        if invitation.accepted_at:
            raise InvalidToken("This invitation has already been accepted. Log in to reach the workspace.")
        if invitation.revoked_at:
            raise InvalidToken("This invitation was revoked. Ask your team admin for a new one.")
        if invitation.expires_at <= utcnow():
            raise InvalidToken(
                "This invitation has expired (invitations last 7 days). Ask your team admin to resend it."
            )
        return invitation


def accept_invitation(session: Session, token: str, user: User, client) -> Membership:
    """Join the invitation's tenant as `user` (whose email must match the invitation)."""
    invitation = invitation_for_token(session, token)
    if invitation.email != user.email:
        raise InvalidToken(
            f"This invitation was sent to {invitation.email}, but you are logged in as {user.email}. "
            "Log out and accept it with the invited address."
        )
    tenant = invitation.tenant
    with tenant_scope(session, tenant.id):
        if get_membership(session, tenant, user):
            raise InvalidToken(f"You are already a member of {tenant.name}.")
        members = seat_usage(session, tenant).members
        limit = effective_limits(tenant)["seats"]
        if limit is not None and members >= limit:
            raise LimitReached(seat_message(tenant, limit) + " Ask your team admin to make room.")
        membership = Membership(tenant_id=tenant.id, user_id=user.id, role=invitation.role)
        session.add(membership)
        invitation.accepted_at = utcnow()
        invitation.accepted_by_id = user.id
        session.flush()
        audit.record(
            session,
            tenant.id,
            "invitation.accepted",
            actor=user,
            client=client,
            target_type="invitation",
            target_id=invitation.id,
            details={"email": user.email, "role": invitation.role},
        )
        from aerospec.webhooks import services as webhooks

        webhooks.emit(
            session,
            tenant,
            "member.joined",
            {
                "user_id": str(user.id),
                "email": user.email,
                "name": user.name,
                "role": membership.role,
                "joined_at": invitation.accepted_at,
            },
        )
    # The billing job checks the subscription stays on the per-workspace price (a job: an outage cannot fail a join).
    queueing.enqueue(session, "jobs.billing.sync_subscription_seats", str(tenant.id), queue="billing")
    return membership


def accept_invitation_as_new_user(
    session: Session, token: str, *, name: str, password: str, client
) -> tuple[User, Membership]:
    """Create the account for the invited email and join the tenant."""
    invitation = invitation_for_token(session, token)
    user = accounts.create_user(session, email=invitation.email, password=password, name=name)
    return user, accept_invitation(session, token, user, client)


# ---- members


def _get_member(session: Session, tenant: Tenant, user_id: uuid.UUID) -> Membership:
    membership = session.scalar(
        select(Membership).where(Membership.tenant_id == tenant.id, Membership.user_id == user_id)
    )
    if membership is None:
        raise NotFound("That person is not a member of this workspace.")
    return membership


def _admin_count(session: Session, tenant: Tenant) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.tenant_id == tenant.id, Membership.role == "admin")
        )
        or 0
    )


def change_role(
    session: Session, tenant: Tenant, actor: Membership, user_id: uuid.UUID, role: str, client
) -> Membership:
    """Give a member another role; the last admin cannot be demoted."""
    ensure_permitted(actor, "manage_members")
    _validate_role(role)
    member = _get_member(session, tenant, user_id)
    if member.role == role:
        return member
    if member.role == "admin" and _admin_count(session, tenant) <= 1:
        raise Conflict(f"{member.user.name} is the last admin of {tenant.name}. Make someone else an admin first.")
    old = member.role
    member.role = role
    audit.record(
        session,
        tenant.id,
        "member.role_changed",
        actor=actor.user,
        client=client,
        target_type="user",
        target_id=member.user_id,
        details={"email": member.user.email, "from": old, "to": role},
    )
    return member


def remove_member(session: Session, tenant: Tenant, actor: Membership, user_id: uuid.UUID, client) -> None:
    """Remove a member; the last admin cannot be removed."""
    ensure_permitted(actor, "manage_members")
    member = _get_member(session, tenant, user_id)
    if member.role == "admin" and _admin_count(session, tenant) <= 1:
        raise Conflict(f"{member.user.name} is the last admin of {tenant.name} and cannot be removed.")
    audit.record(
        session,
        tenant.id,
        "member.removed",
        actor=actor.user,
        client=client,
        target_type="user",
        target_id=member.user_id,
        details={"email": member.user.email, "role": member.role},
    )
    session.delete(member)
    session.flush()
    queueing.enqueue(session, "jobs.billing.sync_subscription_seats", str(tenant.id), queue="billing")


# ---- settings and deletion


def update_settings(
    session: Session,
    tenant: Tenant,
    actor: Membership,
    *,
    name: str,
    billing_email: str,
    client,
    api_enabled_for_users: bool | None = None,
    share_lab_results: bool | None = None,
) -> Tenant:
    """Change the workspace name, billing email and (when given) whether users may use the API and whether
    the workspace's lab results train the shared correction model."""
    ensure_permitted(actor, "manage_settings")
    errors: dict[str, list[str]] = {}
    try:
        name = accounts.validate_name(name, field="name", label="the workspace name")
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
    try:
        billing_email = accounts.normalise_email(billing_email)
    except ValidationFailed as exc:
        errors["billing_email"] = exc.field_errors.get("email", [exc.message])
    if errors:
        raise ValidationFailed(field_errors=errors)
    changes = {}
    if name != tenant.name:
        changes["name"] = [tenant.name, name]
        tenant.name = name
    if billing_email != tenant.billing_email:
        changes["billing_email"] = [tenant.billing_email, billing_email]
        tenant.billing_email = billing_email
    if api_enabled_for_users is not None and bool(api_enabled_for_users) != tenant.api_enabled_for_users:
        changes["api_enabled_for_users"] = [tenant.api_enabled_for_users, bool(api_enabled_for_users)]
        tenant.api_enabled_for_users = bool(api_enabled_for_users)
    if share_lab_results is not None and bool(share_lab_results) != tenant.share_lab_results:
        changes["share_lab_results"] = [tenant.share_lab_results, bool(share_lab_results)]
        tenant.share_lab_results = bool(share_lab_results)
    if changes:
        audit.record(
            session,
            tenant.id,
            "tenant.settings_changed",
            actor=actor.user,
            client=client,
            target_type="tenant",
            target_id=tenant.id,
            details=changes,
        )
    return tenant


def delete_tenant(session: Session, tenant: Tenant, actor: Membership, *, confirmation: str, client) -> Tenant:
    """Soft-delete the workspace after the admin types its slug; purged after 30 days."""
    ensure_permitted(actor, "delete_tenant")
    if (confirmation or "").strip() != tenant.slug:
        raise ValidationFailed(field_errors={"confirmation": [f"Type {tenant.slug} exactly to confirm deletion."]})
    tenant.deleted_at = utcnow()
    audit.record(
        session,
        tenant.id,
        "tenant.deleted",
        actor=actor.user,
        client=client,
        target_type="tenant",
        target_id=tenant.id,
        details={"purge_after_days": PURGE_AFTER_DAYS},
    )
    return tenant


def purge_deleted_tenants(session: Session, now: datetime | None = None) -> int:
    """Hard-delete tenants soft-deleted more than 30 days ago (rows cascade)."""
    cutoff = (now or utcnow()) - timedelta(days=PURGE_AFTER_DAYS)
    with unscoped(session, "purge tenants deleted over 30 days ago"):
        doomed = list(session.scalars(select(Tenant).where(Tenant.deleted_at.is_not(None), Tenant.deleted_at < cutoff)))
        for tenant in doomed:
            session.delete(tenant)
        session.flush()
    return len(doomed)


def plan_names() -> list[str]:
    return list(PLANS)


def record_for_user_tenants(session: Session, user: User, action: str, client, details: dict | None = None) -> None:
    """Write an account event (login, failed login, …) into each tenant the user belongs to."""
    for membership in memberships_for_user(session, user):
        with unscoped(session, f"audit {action} in each of the user's tenants"):
            audit.record(
                session,
                membership.tenant_id,
                action,
                actor=user,
                client=client,
                target_type="user",
                target_id=user.id,
                details=details,
            )
