"""Security headers on every response, Vary: HX-Request, and no caching of anything but static assets."""

from __future__ import annotations

from flask import current_app, request

from aerospec.web import bp

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


@bp.after_app_request
def add_security_headers(response):
    """Set the CSP and the usual hardening headers; vary on HX-Request; no-store on every dynamic answer."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if current_app.config.get("PREFERRED_URL_SCHEME") == "https":
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    response.vary.add("HX-Request")
    # SECURITY: pages, fragments, API data, exports and PDFs all carry a user's or a workspace's data,
    # so no browser or proxy cache keeps any of them (a view may set its own, e.g. "private, no-store").
    # Static assets keep Flask's revalidated caching: they hold nobody's data.
    if request.endpoint != "static":
        headers.setdefault("Cache-Control", "no-store")
    return response
