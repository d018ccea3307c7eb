"""One page of a longer list: what services return and list templates read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass
class Page:
    items: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    def as_json(self, key: str, items: list) -> dict:
        """The API's page body: `items` (this page's rows as JSON) under `key`, with the page figures."""
        return {key: items, "page": self.page, "pages": self.pages, "per_page": self.per_page, "total": self.total}


# The highest page number anyone asks for: past it a number is a typo or a probe, not a list.
MAX_PAGE = 100_000
PAGE_MESSAGE = f"Must be a whole number from 1 to {MAX_PAGE:,}."


def window(total: int, page: int, per_page: int) -> tuple[int, int]:
    """(page, offset) of a list of `total` rows: the page clamped to 1..last, so no offset overflows a column."""
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    return page, (page - 1) * per_page


def page_arg(args: Mapping[str, str], name: str = "page") -> int:
    """A page's ?page= for people: anything unreadable is page 1; past the end the list shows its last page."""
    raw = (args.get(name) or "").strip()
    if not (raw.isascii() and raw.isdigit()):
        return 1
    return max(1, min(int(raw[:7]) if len(raw) <= 7 else MAX_PAGE, MAX_PAGE))


def page_param(args: Mapping[str, str], errors: dict[str, list[str]], name: str = "page") -> int:
    """The API's ?page=: a whole number from 1 to MAX_PAGE, or a field error in `errors` (then 1)."""
    raw = (args.get(name) or "").strip()
    if not raw:
        return 1
    if raw.isascii() and raw.isdigit() and len(raw) <= 7 and 1 <= int(raw) <= MAX_PAGE:
        return int(raw)
    errors[name] = [PAGE_MESSAGE]
    return 1
