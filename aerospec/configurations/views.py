"""Configuration pages: the wizard, list, detail, edit, history, sharing, export."""

from __future__ import annotations

import json
import uuid

from flask import Response, current_app, flash, g, make_response, render_template, request, url_for
from flask_login import login_required

from aerospec.catalog import services as catalog_services
from aerospec.configurations import bp, rows, wizard
from aerospec.configurations import services as configs
from aerospec.configurations.forms import ConfigurationForm, SaveForm, ShareForm, StatusTagsForm
from aerospec.configurations.models import STATUSES, Configuration
from aerospec.errors import LimitReached, ValidationFailed
from aerospec.extensions import db
from aerospec.limits import counters, messages
from aerospec.pagination import page_arg
from aerospec.tenancy.context import get_for_tenant_or_404
from aerospec.tenancy.forms import EmptyForm
from aerospec.tenancy.permissions import can, require_permission
from aerospec.web.client import client_info
from aerospec.web.errors import upgrade_link
from aerospec.web.forms import apply_errors
from aerospec.web.htmx import hx_redirect, is_htmx, render

T = "/t/<tenant_slug>/configurations"


def _counter() -> counters.Counter:
    return counters.counter_for(current_app)


def _quota_feedback(response: Response, use: counters.QuotaUse) -> Response:
    """Warn at 80 % of the quota: a flash for the next page and an HX-Trigger for this one."""
    if use.warn:
        message = messages.warning_message(use, g.tenant)
        flash(message, "warning")
        response.headers["HX-Trigger"] = json.dumps(
            {"quota-warning": {"message": message}, "configurations-changed": True}
        )
    else:
        response.headers["HX-Trigger"] = "configurations-changed"
    return response


bp.add_app_template_global(rows.configuration_rows, "configuration_rows")
# The words for the engine's method codes and the actuator families, for every template that shows a ranking.
bp.add_app_template_global(wizard.METHOD_LABELS, "method_labels")
bp.add_app_template_global(wizard.FAMILY_LABELS, "family_labels")


@bp.app_template_global("catalog_has_sample_data")
def catalog_has_sample_data() -> bool:
    """Whether the actuator catalog holds sample rows (then a ranking says its maker's figures are generated)."""
    if "catalog_has_sample_data" not in g:
        g.catalog_has_sample_data = catalog_services.catalog_summary(db.session)["sample"]
    return g.catalog_has_sample_data


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


# ---- list and export


def _list_filters() -> tuple[configs.ListFilters, dict]:
    args = request.args
    creator = args.get("creator") or ""
    creator_id = g.membership.user_id if creator == "me" else _uuid(creator)
    page = page_arg(args)
    per_page = args.get("per_page", type=int)
    status = args.get("status") or None
    filters = configs.ListFilters(
        q=(args.get("q") or "").strip() or None,
        status=status if status in STATUSES else None,
        tag=args.get("tag") or None,
        creator_id=creator_id,
        shared_with_id=g.membership.user_id if args.get("shared") == "1" else None,
        include_archived=args.get("archived") == "1",
        sort=args.get("sort") if args.get("sort") in configs.SORTS else "updated",
        page=page,
        per_page=per_page if per_page in configs.PER_PAGE_CHOICES else configs.PER_PAGE,
    )
    state = {k: v for k, v in args.items() if v and k not in ("page", "per_page")}
    if filters.per_page != configs.PER_PAGE:
        state["per_page"] = str(filters.per_page)  # kept in the page links; the default stays out of them
    return filters, state


@bp.route(T)
@login_required
@require_permission("view_configurations")
def index():
    """The workspace's configurations: search, filters, sort, pages."""
    filters, state = _list_filters()
    result = configs.list_configurations(db.session, g.tenant, filters, per_page=filters.per_page, summary=True)
    tags = configs.tags_on_page(result, filters)
    return render(
        "configurations/index.html",
        block="results",
        result=result,
        list_url=url_for("configurations.index"),  # the form, the rows' links and "show all" (one url_for)
        filters=filters,
        state=state,
        statuses=STATUSES,
        sorts=configs.SORTS,
        per_page_choices=configs.PER_PAGE_CHOICES,
        tags=tags if tags is not None else configs.tags_in_use(db.session, g.tenant),
        members=configs.creator_choices(db.session, g.tenant),
        quota=configs.configuration_quota(db.session, g.tenant, _counter()),
    )


@bp.route(f"{T}/export", methods=["POST"])
@login_required
@require_permission("export_data")
def export():
    """Download every configuration as CSV or JSON (counts toward exports per day)."""
    EmptyForm()
    fmt = request.form.get("format", "csv")
    result = configs.export_configurations(
        db.session, g.tenant, g.membership, fmt, counter=_counter(), client=client_info()
    )
    db.session.commit()
    response = make_response(result.body)
    response.mimetype = result.mimetype
    response.headers["Content-Disposition"] = f'attachment; filename="{result.filename}"'
    response.headers["Cache-Control"] = "no-store"
    if result.quota.warn:
        response.headers["X-Quota-Warning"] = messages.warning_message(result.quota, g.tenant)
    return response


# ---- detail, edit, status and tags


def _share_candidates(config: Configuration) -> list:
    """Members this configuration can be shared with (everyone but its owner)."""
    return [m for m in configs.members(db.session, g.tenant) if m.user_id != config.created_by_id]


def _offer_share_access(form: ShareForm, candidates: list, user_id: str | None):
    """Offer the access the chosen member (or the first) can be given; returns that member."""
    chosen = next((m for m in candidates if str(m.user_id) == (user_id or "")), None)
    chosen = chosen or (candidates[0] if candidates else None)
    form.offer(configs.share_permissions_for(chosen.role if chosen else None))
    return chosen


def _detail_context(config: Configuration, **extra) -> dict:
    share_form = extra.pop("share_form", None) or ShareForm()
    candidates = _share_candidates(config)
    share_form.user_id.choices = [(str(m.user_id), f"{m.user.name} ({m.role})") for m in candidates]
    # Choosing a member swaps in the access their role can be given (the server still checks).
    share_form.user_id.render_kw = {
        "hx-get": url_for("configurations.share_access", config_id=config.id),
        "hx-target": "#share-access",
        "hx-swap": "outerHTML",
        "hx-trigger": "change",
        "hx-include": "[name='permission']",  # keep the access already chosen where the role allows it
    }
    share_member = _offer_share_access(share_form, candidates, share_form.user_id.data)
    status_form = extra.pop("status_form", None)
    if status_form is None:
        status_form = StatusTagsForm(formdata=None, status=config.status, tags=", ".join(config.tags or []))
    return {
        "config": config,
        "shares": configs.list_shares(db.session, g.tenant, config),
        "share_form": share_form,
        "status_form": status_form,
        "action_form": EmptyForm(),
        "may_edit": configs.may_edit(db.session, g.membership, config),
        "may_manage": configs.may_manage(g.membership, config),
        "targets": wizard.targets_table(config),
        "wizard_args": wizard.args_for_config(config),
        "share_member": share_member,
        "ranked_in": configs.ranking_version(db.session, g.tenant, config),
        "score_help": wizard.SCORE_HELP,
        "top_picks": wizard.top_picks(_ranked(config.compatible_actuators)),
        **extra,
    }


def _ranked(entries) -> list[dict]:
    """A saved ranking's entries when AeroSpec ranked them (an API client may have saved its own list)."""
    entries = entries or []
    return entries if all(isinstance(e, dict) and "verdicts" in e for e in entries) else []


@bp.route(f"{T}/<uuid:config_id>")
@login_required
@require_permission("view_configurations")
def detail(config_id: uuid.UUID):
    """One configuration: fluid, targets, ranked actuators, status, tags, shares."""
    config = get_for_tenant_or_404(Configuration, config_id)
    return render("configurations/detail.html", **_detail_context(config))


@bp.route(f"{T}/<uuid:config_id>/status", methods=["POST"])
@login_required
@require_permission("edit_configurations")
def update_status(config_id: uuid.UUID):
    """Change status and tags from the detail page (a new version)."""
    config = get_for_tenant_or_404(Configuration, config_id)
    form = StatusTagsForm()
    try:
        configs.update_configuration(
            db.session,
            g.tenant,
            g.membership,
            config,
            {"status": form.status.data, "tags": form.tags.data or ""},
            client=client_info(),
        )
    except ValidationFailed as error:
        db.session.rollback()
        config = get_for_tenant_or_404(Configuration, config_id)
        apply_errors(form, error)
        return render(
            "configurations/detail.html",
            block="status_tags",
            status=422,
            **_detail_context(config, status_form=form),
        )
    db.session.commit()
    response = render("configurations/detail.html", block="status_tags", **_detail_context(config, saved=True))
    response.headers["HX-Trigger"] = "configuration-changed"
    if not is_htmx():
        flash("Status and tags saved.", "success")
        return hx_redirect(url_for("configurations.detail", config_id=config.id))
    return response


@bp.route(f"{T}/<uuid:config_id>/edit", methods=["GET", "POST"])
@login_required
@require_permission("edit_configurations")
def edit(config_id: uuid.UUID):
    """Edit every field; saving stores a new version with what changed."""
    config = get_for_tenant_or_404(Configuration, config_id)
    configs.ensure_can_edit(db.session, g.membership, config)
    form = ConfigurationForm()
    status = 200
    if request.method == "GET":
        form.fill(config)
    elif form.validate_on_submit():
        try:
            before, ranking = config.version, config.compatible_actuators
            configs.update_configuration(
                db.session, g.tenant, g.membership, config, form.data_for_service(config), client=client_info()
            )
        except ValidationFailed as error:
            db.session.rollback()
            config = get_for_tenant_or_404(Configuration, config_id)
            apply_errors(form, error)
            status = 422
        else:
            changed, reranked = config.version != before, config.compatible_actuators != ranking
            db.session.commit()
            message = f"Saved as version {config.version}." if changed else "Nothing changed."
            if reranked:
                message += (
                    " The actuators were ranked again for the new values; the history keeps the previous ranking."
                )
            flash(message, "success")
            return hx_redirect(url_for("configurations.detail", config_id=config_id))
    else:
        status = 422
    return render("configurations/edit.html", block="edit_form", status=status, form=form, config=config)


@bp.route(f"{T}/<uuid:config_id>/history")
@login_required
@require_permission("view_configurations")
def history(config_id: uuid.UUID):
    """Every version with what changed, and a way back to any of them."""
    config = get_for_tenant_or_404(Configuration, config_id)
    return render(
        "configurations/history.html",
        config=config,
        versions=configs.list_versions(db.session, g.tenant, config),
        labels=configs.LABELS,
        fields=configs.FIELDS,
        may_edit=configs.may_edit(db.session, g.membership, config),
        action_form=EmptyForm(),
    )


@bp.route(f"{T}/<uuid:config_id>/versions/<int:version>/restore", methods=["POST"])
@login_required
@require_permission("edit_configurations")
def restore_version(config_id: uuid.UUID, version: int):
    """Put an earlier version back (as a new version)."""
    EmptyForm()
    config = get_for_tenant_or_404(Configuration, config_id)
    configs.restore_version(db.session, g.tenant, g.membership, config, version, client=client_info())
    db.session.commit()
    flash(f"Version {version} restored as version {config.version}.", "success")
    return hx_redirect(url_for("configurations.history", config_id=config_id))


@bp.route(f"{T}/<uuid:config_id>/rank", methods=["POST"])
@login_required
@require_permission("edit_configurations")
def rank_again(config_id: uuid.UUID):
    """Rank today's catalog again for the saved fluid and targets (a new version if it changed)."""
    EmptyForm()
    config = get_for_tenant_or_404(Configuration, config_id)
    changed = configs.rank_again(db.session, g.tenant, g.membership, config, client=client_info())
    db.session.commit()
    if changed:
        flash(f"Ranked again as version {config.version}; the history keeps the previous ranking.", "success")
    else:
        flash("Ranked again: the catalog gives the same actuators and scores, so nothing changed.", "success")
    return hx_redirect(url_for("configurations.detail", config_id=config_id))


@bp.route(f"{T}/<uuid:config_id>/duplicate", methods=["POST"])
@login_required
@require_permission("edit_configurations")
def duplicate(config_id: uuid.UUID):
    """Make your own draft copy (counts toward this month's configurations)."""
    EmptyForm()
    config = get_for_tenant_or_404(Configuration, config_id)
    copy, use = configs.duplicate_configuration(
        db.session, g.tenant, g.membership, config, counter=_counter(), client=client_info()
    )
    db.session.commit()
    flash(f"Duplicated as “{copy.name}”.", "success")
    return _quota_feedback(hx_redirect(url_for("configurations.detail", config_id=copy.id)), use)


@bp.route(f"{T}/<uuid:config_id>/archive", methods=["POST"])
@login_required
@require_permission("view_configurations")
def archive(config_id: uuid.UUID):
    """Archive (the web's delete): hidden from the list until restored."""
    EmptyForm()
    config = get_for_tenant_or_404(Configuration, config_id)
    configs.archive_configuration(db.session, g.tenant, g.membership, config, client=client_info())
    db.session.commit()
    flash(f"“{config.name}” archived. Restore it from the list with “Show archived”.", "success")
    return hx_redirect(url_for("configurations.detail", config_id=config_id))


@bp.route(f"{T}/<uuid:config_id>/unarchive", methods=["POST"])
@login_required
@require_permission("view_configurations")
def unarchive(config_id: uuid.UUID):
    """Bring an archived configuration back."""
    EmptyForm()
    config = get_for_tenant_or_404(Configuration, config_id)
    configs.unarchive_configuration(db.session, g.tenant, g.membership, config, client=client_info())
    db.session.commit()
    flash(f"“{config.name}” restored from the archive.", "success")
    return hx_redirect(url_for("configurations.detail", config_id=config_id))


@bp.route(f"{T}/<uuid:config_id>/shares", methods=["POST"])
@login_required
@require_permission("view_configurations")
def share(config_id: uuid.UUID):
    """Share with a team member to view or edit."""
    config = get_for_tenant_or_404(Configuration, config_id)
    form = ShareForm()
    try:
        configs.share_configuration(
            db.session,
            g.tenant,
            g.membership,
            config,
            user_id=request.form.get("user_id"),
            permission=request.form.get("permission", ""),
            client=client_info(),
        )
    except ValidationFailed as error:
        db.session.rollback()
        config = get_for_tenant_or_404(Configuration, config_id)
        context = _detail_context(config, share_form=form)
        apply_errors(context["share_form"], error)
        return render("configurations/detail.html", block="share_panel", status=422, **context)
    db.session.commit()
    if not is_htmx():
        flash("Shared.", "success")
        return hx_redirect(url_for("configurations.detail", config_id=config_id))
    return render("configurations/detail.html", block="share_panel", **_detail_context(config))


@bp.route(f"{T}/<uuid:config_id>/shares/<uuid:user_id>/delete", methods=["POST"])
@login_required
@require_permission("view_configurations")
def unshare(config_id: uuid.UUID, user_id: uuid.UUID):
    """Stop sharing with a team member."""
    EmptyForm()
    config = get_for_tenant_or_404(Configuration, config_id)
    configs.unshare_configuration(
        db.session, g.tenant, g.membership, config, user_id, missing_ok=True, client=client_info()
    )
    db.session.commit()
    if not is_htmx():
        flash("No longer shared.", "success")
        return hx_redirect(url_for("configurations.detail", config_id=config_id))
    return render("configurations/detail.html", block="share_panel", **_detail_context(config))


@bp.route(f"{T}/<uuid:config_id>/shares/access")
@login_required
@require_permission("view_configurations")
def share_access(config_id: uuid.UUID):
    """The share form's access choices for the chosen member (edit only if their role may edit)."""
    config = get_for_tenant_or_404(Configuration, config_id)
    form = ShareForm(formdata=None, permission=request.args.get("permission"))
    chosen = _offer_share_access(form, _share_candidates(config), request.args.get("user_id"))
    response = make_response(render_template("configurations/_share_access.html", share_form=form, share_member=chosen))
    response.headers["Vary"] = "HX-Request"
    return response


# ---- the wizard and saving its result


@bp.route(f"{T}/new")
@login_required
@require_permission("view_configurations")
def new():
    """The wizard: fluid → targets → ranked actuators, all state in the query string."""
    state = wizard.parse_state(db.session, g.tenant, request.args)
    context = wizard.page_context(db.session, g.tenant, state)
    return render(
        "configurations/wizard.html",
        block={"results": "wizard_results", "fluid": "fluid_list"}.get(state.step),
        state=state,
        save_form=SaveForm(formdata=None),
        can_save=can(g.membership.role, "edit_configurations"),
        fluid_label=wizard.fluid_label,
        score_help=wizard.SCORE_HELP,
        **context,
    )


@bp.route(T, methods=["POST"])
@login_required
@require_permission("edit_configurations")
def create():
    """Save the wizard's result as a configuration with its top-ranked actuators."""
    form = SaveForm()
    state = wizard.parse_state(db.session, g.tenant, request.form, step="results")
    try:
        if state.errors:
            raise ValidationFailed("Go back to the wizard: some inputs need attention.", field_errors=state.errors)
        data = wizard.configuration_data(db.session, g.tenant, state)
        data.update({"name": form.name.data or "", "tags": form.tags.data or ""})
        config, use = configs.create_configuration(
            db.session, g.tenant, g.membership, data, counter=_counter(), client=client_info()
        )
    except (ValidationFailed, LimitReached) as error:
        db.session.rollback()
        if isinstance(error, ValidationFailed):
            apply_errors(form, _save_errors(error))
        else:
            form.form_errors.append(error.message)
            form.billing_link = upgrade_link()  # the monthly limit: an admin upgrades on the billing page
        context = wizard.page_context(db.session, g.tenant, state)
        return render(
            "configurations/wizard.html",
            block="save_panel",
            status=error.status,
            state=state,
            save_form=form,
            can_save=True,
            fluid_label=wizard.fluid_label,
            score_help=wizard.SCORE_HELP,
            **context,
        )
    db.session.commit()
    flash(f"Saved “{config.name}”.", "success")
    return _quota_feedback(hx_redirect(url_for("configurations.detail", config_id=config.id)), use)


def _save_errors(error: ValidationFailed) -> ValidationFailed:
    """Field errors of the save form: its own fields stay, the rest become form-level messages."""
    own = {k: v for k, v in error.field_errors.items() if k in ("name", "tags")}
    others = [m for k, v in error.field_errors.items() if k not in own for m in v]
    seen: list[str] = []
    for message in others:
        if message not in seen:
            seen.append(message)
    if seen:
        own["__form__"] = seen
    return ValidationFailed(error.message, field_errors=own)
