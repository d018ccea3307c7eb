"""Sign-up, login/logout, password reset, and the security page (sessions, password)."""

from __future__ import annotations

import uuid

from flask import current_app, flash, redirect, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from aerospec.accounts import bp, devices, login_policy
from aerospec.accounts import services as accounts
from aerospec.accounts.forms import (
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    ResetPasswordForm,
    SignupForm,
)
from aerospec.errors import InvalidToken, NotFound, ValidationFailed
from aerospec.extensions import db, limiter, login_manager
from aerospec.tenancy import services as tenancy
from aerospec.web.client import client_info
from aerospec.web.errors import form_again_on_flood
from aerospec.web.forms import apply_errors
from aerospec.web.htmx import hx_redirect, render
from aerospec.web.redirects import safe_next

login_manager.login_view = "accounts.login"
login_manager.login_message = "Log in to continue."
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"

# Sessions read as "Chrome on Linux" on the security page (the raw string stays in its details).
bp.add_app_template_filter(devices.describe, "device")

# Request floods per client address: generous for people, tight for scripts. Guessing at one
# account from many addresses, and reset bombing, are login_policy's (one policy for every path).
AUTH_LIMIT = "10 per minute;50 per hour"


def begin_attempt(email: str | None) -> login_policy.Attempt:
    """Count a sign-in attempt from this request's client and browser (TooManyAttempts when it must wait)."""
    return login_policy.policy().begin(
        email=email, ip=client_info().ip_address, device_cookie=request.cookies.get(login_policy.DEVICE_COOKIE)
    )


def refused(form, error: login_policy.TooManyAttempts) -> None:
    """Say on the form when to try again."""
    form.form_errors.append(error.message)


def with_retry_after(response, error: login_policy.TooManyAttempts | None):
    """The 429's Retry-After on a re-rendered form."""
    if error is not None:
        response.headers.update(error.headers)
    return response


@login_manager.user_loader
def load_user(session_id: str):
    """Resolve the login session in the cookie; an ended session logs the user out."""
    from aerospec.tenancy.context import remember_memberships  # tenancy imports accounts

    login, memberships = tenancy.load_login(db.session, session_id)
    if login is None:
        return None
    if accounts.touch_session(login, client_info()):
        db.session.commit()
        login, memberships = tenancy.load_login(db.session, session_id)  # the commit expired what was read
    remember_memberships(memberships)
    user = login.user
    user.login_session_id = login.id
    return user


def _safe_next(default: str) -> str:
    """The request's `next` (query or form) when it is a path on this site, else `default`."""
    return safe_next(request.args.get("next") or request.form.get("next"), default)


def _home_for(user) -> str:
    memberships = tenancy.memberships_for_user(db.session, user)
    if memberships:
        return url_for("tenancy.dashboard", tenant_slug=memberships[0].tenant.slug)
    return url_for("tenancy.no_workspace")


def log_in(user, remember: bool) -> None:
    """Start a recorded session for the user and set the login cookie."""
    login = accounts.start_session(db.session, user, client_info(), kind="web", remember=remember)
    user.login_session_id = login.id
    session.clear()
    login_user(user, remember=remember)
    tenancy.record_for_user_tenants(db.session, user, "user.login", client_info())


def _signup_form_again(message: str):
    """The sign-up form as typed (all but the password), refused by the flood limit."""
    form = SignupForm()
    form.form_errors.append(message)
    return render("accounts/signup.html", block="signup_form", status=429, form=form)


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(AUTH_LIMIT, methods=["POST"])
@form_again_on_flood(_signup_form_again)
def signup():
    """Start a 14-day trial: account, workspace and admin seat in one step."""
    form = SignupForm()
    if request.method == "GET" and request.args.get("email"):
        form.email.data = request.args["email"]
    if form.validate_on_submit():
        try:
            user, tenant = tenancy.sign_up(
                db.session,
                email=form.email.data,
                password=form.password.data,
                name=form.name.data,
                company=form.company.data,
                client=client_info(),
            )
        except ValidationFailed as error:
            db.session.rollback()
            apply_errors(form, error)
        else:
            device = login_policy.policy().signed_up(user.email, request.cookies.get(login_policy.DEVICE_COOKIE))
            log_in(user, remember=False)
            db.session.commit()
            flash(f"Welcome to AeroSpec, {user.name}. Your 14-day trial has started.", "success")
            response = hx_redirect(url_for("tenancy.dashboard", tenant_slug=tenant.slug))
            login_policy.set_device_cookie(response, device)
            return response
    status = 422 if form.errors or form.form_errors else 200
    return render("accounts/signup.html", block="signup_form", status=status, form=form)


def _login_form_again(message: str):
    """The login form as typed (the email kept), refused by the flood limit."""
    form = LoginForm()
    form.form_errors.append(message)
    return render("accounts/login.html", block="login_form", status=429, form=form, next=_safe_next(""))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(AUTH_LIMIT, methods=["POST"])
@form_again_on_flood(_login_form_again)
def login():
    """Log in with email and password."""
    if current_user.is_authenticated:
        return redirect(_safe_next(_home_for(current_user)))
    form = LoginForm()
    throttled = None
    if form.validate_on_submit():
        try:
            attempt = begin_attempt(form.email.data)
        except login_policy.TooManyAttempts as error:
            throttled = error
            refused(form, error)  # SECURITY: checked before the password, the same for any email
        else:
            user = accounts.authenticate(db.session, form.email.data, form.password.data)
            if user is None:
                known = accounts.get_user_by_email(db.session, form.email.data or "")
                login_policy.policy().failed(attempt, db.session, known, client_info())
                if known is not None:
                    tenancy.record_for_user_tenants(db.session, known, "user.login_failed", client_info())
                    db.session.commit()
                # SECURITY: the same message whether or not the email exists.
                form.form_errors.append("That email and password do not match an account.")
            else:
                device = login_policy.policy().succeeded(attempt)
                log_in(user, remember=bool(form.remember.data))
                db.session.commit()
                response = hx_redirect(_safe_next(_home_for(user)))
                login_policy.set_device_cookie(response, device)
                return response
    status = 429 if throttled else 422 if form.errors or form.form_errors else 200
    response = render("accounts/login.html", block="login_form", status=status, form=form, next=_safe_next(""))
    return with_retry_after(response, throttled)


@bp.route("/logout", methods=["POST"])
def logout():
    """End this session and clear the cookies."""
    if current_user.is_authenticated:
        login = accounts.load_active_session(db.session, current_user.login_session_id)
        if login is not None:
            accounts.end_session(login, "logout")
            tenancy.record_for_user_tenants(db.session, current_user, "user.logout", client_info())
        db.session.commit()
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("accounts.login"))


def _forgot_form_again(message: str):
    """The reset request form as typed, refused by the flood limit."""
    form = ForgotPasswordForm()
    form.form_errors.append(message)
    return render("accounts/forgot_password.html", block="forgot_form", status=429, form=form, sent=False)


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(AUTH_LIMIT, methods=["POST"])
@form_again_on_flood(_forgot_form_again)
def forgot_password():
    """Email a reset link; the answer is the same whether or not the email exists."""
    form = ForgotPasswordForm()
    sent, throttled = False, None
    if form.validate_on_submit():
        try:
            # SECURITY: counted per address whether or not it has an account.
            login_policy.policy().reserve_reset_email(form.email.data)
        except login_policy.TooManyAttempts as error:
            throttled = error
            refused(form, error)
        else:
            accounts.request_password_reset(db.session, form.email.data, current_app.config["SECRET_KEY"])
            db.session.commit()
            sent = True
    response = render(
        "accounts/forgot_password.html", block="forgot_form", status=429 if throttled else 200, form=form, sent=sent
    )
    return with_retry_after(response, throttled)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@limiter.limit(AUTH_LIMIT, methods=["POST"])
def reset_password(token: str):
    """Choose a new password from an emailed link (valid one hour, once)."""
    form = ResetPasswordForm()
    try:
        user = accounts.user_for_reset_token(
            db.session, token, current_app.config["SECRET_KEY"], current_app.config["PASSWORD_RESET_MAX_AGE"]
        )
    except InvalidToken as error:
        return render("accounts/reset_invalid.html", status=400, message=error.message)
    if form.validate_on_submit():
        try:
            accounts.reset_password(db.session, token, form.password.data, current_app.config["SECRET_KEY"])
        except ValidationFailed as error:
            db.session.rollback()
            apply_errors(form, error)
        else:
            tenancy.record_for_user_tenants(db.session, user, "user.password_reset", client_info())
            db.session.commit()
            logout_user()
            flash(
                "Your password was changed and every session was logged out. Log in with the new password.",
                "success",
            )
            return hx_redirect(url_for("accounts.login"))
    status = 422 if form.errors or form.form_errors else 200
    return render(
        "accounts/reset_password.html",
        block="reset_form",
        status=status,
        form=form,
        token=token,
        email=user.email,
    )


@bp.route("/account/security", methods=["GET"])
@login_required
def security():
    """Your login sessions (with revoke) and the change-password form."""
    return render(
        "accounts/security.html",
        form=ChangePasswordForm(),
        sessions=accounts.list_sessions(db.session, current_user),
    )


@bp.route("/account/password", methods=["POST"])
@login_required
@limiter.limit(AUTH_LIMIT)
def change_password():
    """Change your password; every other session is logged out."""
    form = ChangePasswordForm()
    throttled = None
    if form.validate_on_submit():
        try:
            # SECURITY: the current password is checked here too, so guesses at it count like logins.
            attempt = begin_attempt(current_user.email)
        except login_policy.TooManyAttempts as error:
            throttled = error
            refused(form, error)
        else:
            try:
                ended = accounts.change_password(
                    db.session,
                    current_user,
                    form.current_password.data,
                    form.password.data,
                    current_user.login_session_id,
                )
            except ValidationFailed as error:
                db.session.rollback()
                apply_errors(form, error)
                wrong_current = "current_password" in error.field_errors
                (login_policy.policy().failed if wrong_current else login_policy.policy().cancel)(attempt)
            else:
                login_policy.policy().succeeded(attempt)
                tenancy.record_for_user_tenants(
                    db.session,
                    current_user,
                    "user.password_changed",
                    client_info(),
                    details={"other_sessions_ended": ended},
                )
                db.session.commit()
                flash(f"Password changed. {ended} other session(s) were logged out.", "success")
                return hx_redirect(url_for("accounts.security"))
    response = render(
        "accounts/security.html",
        block="password_form",
        status=429 if throttled else 422,
        form=form,
        sessions=accounts.list_sessions(db.session, current_user),
    )
    return with_retry_after(response, throttled)


@bp.route("/account/sessions/<uuid:session_id>/revoke", methods=["POST"])
@login_required
def revoke_session(session_id: uuid.UUID):
    """Log out one of your sessions (another browser or device)."""
    try:
        accounts.revoke_session(db.session, current_user, session_id)
    except NotFound:
        db.session.rollback()
        from flask import abort

        abort(404)
    tenancy.record_for_user_tenants(
        db.session, current_user, "session.revoked", client_info(), details={"session_id": str(session_id)}
    )
    db.session.commit()
    if session_id == current_user.login_session_id:
        logout_user()
        return hx_redirect(url_for("accounts.login"))
    flash("That session was logged out.", "success")
    return hx_redirect(url_for("accounts.security"))
