"""Sessions name the browser and system a person would recognise, from real user-agent strings."""

from __future__ import annotations

import pytest

from aerospec.accounts.devices import describe

UA = {
    "chrome-linux": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "chrome-windows": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "chrome-mac": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "chrome-android": "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
    "chrome-ios": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
    "headless-chrome": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/156.0.0.0 Safari/537.36",
    "chromebook": "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "firefox-windows": "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "firefox-mac": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:133.0) Gecko/20100101 Firefox/133.0",
    "firefox-linux": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "firefox-ubuntu": "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "firefox-android": "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
    "firefox-ios": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "FxiOS/133.0 Mobile/15E148 Safari/605.1.15",
    "safari-mac": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "safari-iphone": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Mobile/15E148 Safari/604.1",
    "safari-ipad": "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.6 Mobile/15E148 Safari/604.1",
    "edge-windows": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
    "edge-mac": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
    "edge-android": "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36 EdgA/131.0.2903.87",
    "samsung": "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
    "opera-windows": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0",
}


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("chrome-linux", "Chrome on Linux"),
        ("chrome-windows", "Chrome on Windows"),
        ("chrome-mac", "Chrome on macOS"),
        ("chrome-android", "Chrome on Android"),
        ("chrome-ios", "Chrome on iOS"),
        ("headless-chrome", "Headless Chrome on Linux"),
        ("chromebook", "Chrome on ChromeOS"),
        ("firefox-windows", "Firefox on Windows"),
        ("firefox-mac", "Firefox on macOS"),
        ("firefox-linux", "Firefox on Linux"),
        ("firefox-ubuntu", "Firefox on Ubuntu"),
        ("firefox-android", "Firefox on Android"),
        ("firefox-ios", "Firefox on iOS"),
        ("safari-mac", "Safari on macOS"),
        ("safari-iphone", "Safari on iOS"),
        ("safari-ipad", "Safari on iOS"),
        ("edge-windows", "Edge on Windows"),  # not "Chrome": Edge's token wins over the Chrome it claims
        ("edge-mac", "Edge on macOS"),
        ("edge-android", "Edge on Android"),
        ("samsung", "Samsung Internet on Android"),
        ("opera-windows", "Opera on Windows"),
    ],
)
def test_browsers_on_their_systems(key, expected):
    assert describe(UA[key]) == expected


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        ("curl/8.5.0", "curl"),
        ("Wget/1.21.4", "Wget"),
        ("python-httpx/0.28.1", "python-httpx"),  # in no rule: the product it names
        ("PhoneBrowser/2.0", "PhoneBrowser"),
        ("Mozilla/5.0 (compatible; mystery)", "Unknown browser"),  # "Mozilla" names nothing
        ("seed-demo", "Unknown browser"),
        ("", "Unknown device"),
        ("   ", "Unknown device"),
        (None, "Unknown device"),
    ],
)
def test_tools_and_unknown_clients(user_agent, expected):
    assert describe(user_agent) == expected
