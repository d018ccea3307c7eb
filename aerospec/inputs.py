"""What any input must be before anything stores or computes with it: one set of rules for every edge.

Pure functions (no Flask): the API's body parser, the Stripe webhook, the web forms, the request
guard and the database's last check (aerospec/database.py) share them, so a NUL byte, a lone
surrogate, a number no column can hold or JSON nested past reason gets the same message
wherever it arrives, and never reaches PostgreSQL (which refuses NUL and unpaired surrogates).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator

# JSON documents nest this deep at most: our own bodies need 4 levels, Stripe's events about 8.
MAX_JSON_DEPTH = 32
# The largest whole number a BIGINT column (and SQLite's INTEGER) holds.
MAX_INT = 2**63 - 1

# NUL, and the halves of UTF-16 surrogate pairs that Python keeps unpaired (JSON's "\ud800").
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

NUL_MESSAGE = "Remove the NUL character (\\u0000): text cannot contain it."
SURROGATE_MESSAGE = "Remove the unpaired surrogate (such as \\ud800): it is not valid Unicode text."
FINITE_MESSAGE = "Must be a finite number."
INT_MESSAGE = f"Must be a whole number between {-MAX_INT - 1:,} and {MAX_INT:,}."


class MalformedJson(ValueError):
    """The bytes are not a JSON document we accept; the message says why, for people."""


def text_problem(value: str) -> str | None:
    """Why this text cannot be stored, or None when it can."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    return NUL_MESSAGE if found.group() == "\x00" else SURROGATE_MESSAGE


def number_problem(value: object) -> str | None:
    """Why this number cannot be stored or computed with (inf, NaN, beyond 64 bits), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return FINITE_MESSAGE
    if isinstance(value, int) and not -MAX_INT - 1 <= value <= MAX_INT:
        return INT_MESSAGE
    return None


def load_json(raw: bytes | str) -> object:
    """Parse a JSON document, refusing one nested deeper than MAX_JSON_DEPTH (MalformedJson otherwise)."""
    try:
        data = json.loads(raw)
    except RecursionError:
        raise MalformedJson(f"The JSON is nested too deeply (at most {MAX_JSON_DEPTH} levels).") from None
    except UnicodeDecodeError as exc:
        raise MalformedJson("The body is not UTF-8 text.") from exc
    except ValueError as exc:  # json.JSONDecodeError, and integers of more than 4,300 digits
        raise MalformedJson(f"The request body is not valid JSON: {exc}.") from exc
    if _depth(data) > MAX_JSON_DEPTH:
        raise MalformedJson(f"The JSON is nested too deeply (at most {MAX_JSON_DEPTH} levels).")
    return data


def _depth(data: object) -> int:
    deepest = 0
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            return depth
        stack.extend((child, depth + 1) for child in children)
    return deepest


def json_problems(data: object) -> dict[str, list[str]]:
    """{path: [messages]} for every string, key and number in a parsed JSON value that cannot be stored.

    Paths read like the API's other field errors: `items.0.sku`, `ship_to_address.city`.
    """
    errors: dict[str, list[str]] = {}
    for path, message in _walk(data, ()):
        field = ".".join(path) or "body"
        if message not in errors.setdefault(field, []):
            errors[field].append(message)
    return errors


def _walk(value: object, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
    stack = [(value, path)]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            message = text_problem(value)
            if message:
                yield path, message
        elif isinstance(value, dict):
            for key, child in value.items():
                message = text_problem(key)
                if message:
                    yield path, f"A field name is not valid: {message}"
                    continue
                stack.append((child, (*path, key)))
        elif isinstance(value, list):
            stack.extend((child, (*path, str(i))) for i, child in enumerate(value))
        else:
            message = number_problem(value)
            if message:
                yield path, message
