"""Where a `next` or return address may send the browser: a path on this site, nothing else.

Every place that redirects to an address it was handed (the login's `next`, and through it the
invitation's log-in link; the offline checkout's stored return URLs) asks `safe_next` first.

Browsers read addresses more loosely than a plain check: they drop tabs and line breaks anywhere
(`/\\t/evil.example` is `//evil.example`), trim control characters and spaces, read `\\` as `/`,
and fold full-width forms (`／`). So the address is normalised first, the way a browser would see
it, and only then checked: one leading slash, no scheme, no host, no backslash, in any of its
percent-decoded or compatibility-folded forms.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote, urlsplit

from werkzeug.urls import iri_to_uri

MAX_LENGTH = 2048
# Controls, format characters (zero-width, bidi), every kind of space and line separator, and lone
# surrogates (which cannot even be encoded into a header).
_DROPPED = {"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"}
_DECODE_ROUNDS = 3


def _visible(text: str) -> str:
    """`text` without the characters a browser would drop or trim from an address."""
    return "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch) not in _DROPPED)


def _points_elsewhere(text: str) -> bool:
    """True when a browser could read `text` as another site, or as no path at all.

    An empty segment anywhere (`/..//evil.example` resolves to `//evil.example`) counts too: no page
    of ours has one."""
    return not text.startswith("/") or "//" in text or "\\" in text


def _local_path(target: str) -> bool:
    """A path on this host, in every form a browser or a proxy might decode it to."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return False
    form = parts.path
    for _ in range(_DECODE_ROUNDS):
        for variant in (form, unicodedata.normalize("NFKC", form)):
            if _points_elsewhere(_visible(variant)) or _visible(variant) != variant:
                return False
        decoded = unquote(form)
        if decoded == form:
            break
        form = decoded
    return True


def safe_next(raw: object, default: str, *, own_origins: tuple[str, ...] = ()) -> str:
    """`raw` when it is a path on this site, else `default`.

    `own_origins` (e.g. the app's BASE_URL) also admit an absolute URL on this site, whose path is
    then checked the same way. The answer is ASCII (non-ASCII percent-encoded), so it is safe in a
    Location or HX-Redirect header.
    """
    # SECURITY: the one gate for every redirect to an address that came from outside (issue 10).
    if not isinstance(raw, str) or not raw or len(raw) > MAX_LENGTH or "\\" in raw:
        return default
    target, origin = _visible(raw), ""
    for own in own_origins:
        own = (own or "").rstrip("/")
        if own and target.lower().startswith(own.lower() + "/"):
            origin, target = target[: len(own)], target[len(own) :]
            break
    if not _local_path(target):
        return default
    return iri_to_uri(origin + target)
