"""What a session's user-agent string means to a person: "Chrome on Linux", "Safari on iOS", "curl".

ua-parser (the Browserscope/uap-core rules, kept current by the ua-parser-builtins package) reads the
string; the names it gives are then shortened to what people call their browser and system.
"""

from __future__ import annotations

import re

from ua_parser import parse_os, parse_user_agent

# ua-parser's family → what the person would call it (the rest are kept as ua-parser names them).
BROWSER_NAMES = {
    "Chrome Mobile": "Chrome",
    "Chrome Mobile iOS": "Chrome",
    "Chrome Mobile WebView": "Chrome WebView",
    "HeadlessChrome": "Headless Chrome",
    "Firefox Mobile": "Firefox",
    "Firefox iOS": "Firefox",
    "Mobile Safari": "Safari",
    "Mobile Safari UI/WKWebView": "Safari in an app",
    "Edge Mobile": "Edge",
    "IE": "Internet Explorer",
}
OS_NAMES = {"Mac OS X": "macOS", "Chrome OS": "ChromeOS"}
_UNKNOWN = "Other"
# A client that names itself first ("python-httpx/0.28.1", "PhoneBrowser/2.0") but is in no rule.
_PRODUCT = re.compile(r"^([A-Za-z][\w.-]{0,39})/\S")


def describe(user_agent: str | None) -> str:
    """'Chrome on Linux', 'Firefox on Windows', 'curl', 'Unknown browser'; 'Unknown device' without one."""
    if not user_agent or not user_agent.strip():
        return "Unknown device"
    browser = parse_user_agent(user_agent)
    system = parse_os(user_agent)
    name = BROWSER_NAMES.get(browser.family, browser.family) if browser and browser.family != _UNKNOWN else None
    where = OS_NAMES.get(system.family, system.family) if system and system.family != _UNKNOWN else None
    if name is None and (product := _PRODUCT.match(user_agent.strip())) and product[1] != "Mozilla":
        name = product[1]
    if name and where:
        return f"{name} on {where}"
    if where:
        return f"Unknown browser on {where}"
    return name or "Unknown browser"
