"""No inline styles anywhere the app's CSP (style-src 'self') applies: templates, our JS, HTML built in Python,
and htmx configured not to write any (its indicator <style>, its settle step copying style attributes)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from aerospec.web.security import CSP

ROOT = Path(__file__).resolve().parents[2]
INLINE_STYLE = re.compile(r"""\bstyle\s*=\s*["'{]|<style\b""", re.I)
# Script that writes an inline style at all: as an attribute or element (blocked by the CSP), or through the
# CSSOM (allowed, but a style attribute all the same, which any later copy of the attribute trips over).
SCRIPT_STYLE = re.compile(
    r"""setAttribute\(\s*["']style|\.style(\.[a-z-]+|\[["'][\w-]+["']\])?\s*=[^=]|\.setProperty\(|cssText|<style\b|insertRule""",
    re.I,
)
# Emails are for mail clients, which drop linked stylesheets: they keep inline styles, and are only ever
# shown in the outbox's sandboxed preview frame, which has a locked-down CSP of its own
# (tests/notifications/test_outbox.py::test_outbox_html_view_serves_the_email_html_locked_down).
EMAILS = ROOT / "templates" / "notifications" / "email"


def _files(folder: str, *suffixes: str) -> list[Path]:
    return [p for p in (ROOT / folder).rglob("*") if p.suffix in suffixes and p.is_file()]


def _hits(paths: list[Path], pattern: re.Pattern[str], root: Path = ROOT) -> list[str]:
    hits = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                hits.append(f"{path.relative_to(root)}:{number}: {line.strip()[:120]}")
    return hits


def test_the_csp_forbids_inline_styles():
    assert "style-src 'self'" in CSP and "unsafe-inline" not in CSP


def test_no_template_has_a_style_attribute_or_element():
    templates = [p for p in _files("templates", ".html", ".txt") if EMAILS not in p.parents]
    assert len(templates) > 50  # the walk found the templates
    assert _hits(templates, INLINE_STYLE) == []


def test_no_script_of_ours_writes_an_inline_style():
    scripts = [p for p in _files("static", ".js") if "vendor" not in p.parts]
    assert scripts, "static/js has no script to check"
    assert _hits(scripts, SCRIPT_STYLE) == []
    assert _hits(_files("static", ".html", ".svg"), INLINE_STYLE) == []


def test_no_python_builds_html_with_an_inline_style():
    assert _hits(_files("aerospec", ".py"), INLINE_STYLE) == []


def test_the_checks_catch_what_they_look_for(tmp_path):
    page = tmp_path / "page.html"
    page.write_text('<p>ok</p>\n<p style="color: red">no</p>\n<style>p {}</style>\n', encoding="utf-8")
    script = tmp_path / "app.js"
    script.write_text(
        'el.setAttribute("style", "x");\nel.style.cssText = "x";\nel.hidden = true;\nel.style.color = "red";\n'
        "if (el.style == x) {}\n",
        encoding="utf-8",
    )
    assert [h.split(":")[1] for h in _hits([page], INLINE_STYLE, tmp_path)] == ["2", "3"]
    assert [h.split(":")[1] for h in _hits([script], SCRIPT_STYLE, tmp_path)] == ["1", "2", "4"]


def test_htmx_is_told_to_write_no_inline_style():
    base = (ROOT / "templates" / "web" / "base.html").read_text(encoding="utf-8")
    meta = re.search(r"""<meta name="htmx-config" content='([^']*)'>""", base)
    assert meta, "base.html has no htmx-config meta tag"
    config = json.loads(meta[1])
    assert config["includeIndicatorStyles"] is False  # else htmx appends a <style> to <head>
    # htmx's settle step copies these attributes from the old element with setAttribute: a style a
    # browser or password manager put on an input would be re-applied inline, and blocked, on every swap.
    settled = config.get("attributesToSettle", ["class", "style", "width", "height"])  # htmx 2's default
    assert "style" not in [a.lower() for a in settled]
