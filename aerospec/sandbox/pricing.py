"""Deterministic supplier prices, stock and lead times, derived from the SKU string alone.

Catalog SKUs (from `aerospec.catalog.seed`) start from the sample catalog's price, stock
and lead time, with a small per-SKU drift so that a price sync has something to update.
Any other SKU in the supplier's format gets values from a hash of the SKU string within
the catalog generator's price ranges, so a 10,000-SKU sync is answered without any list.
Anything else is unknown to that supplier. No database, no randomness across runs.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from aerospec.catalog import seed

VOLUME_BREAKS = (1, 100, 1_000, 10_000)
# Discount multipliers at each break; the suppliers' price lists differ a little.
BREAK_FACTORS = {
    "spencer": (Decimal("1.00"), Decimal("0.90"), Decimal("0.78"), Decimal("0.66")),
    "coster": (Decimal("1.00"), Decimal("0.88"), Decimal("0.76"), Decimal("0.64")),
}
UNIT_PLACES = Decimal("0.0001")

SPENCER_SKU = re.compile(r"^SP-(MB|TP|HC|FC|PO)-(\d{4})-(PP|AC|PB|BR|SS)(?:-\d+)?$")
COSTER_SKU = re.compile(r"^CV\.(MBU|TRG|HCS|FCN|JET)\.(\d{3})\.(\d{2})[A-Z]?$")
_SPENCER_BODY = {code: body for body, code in seed.SPENCER_BODY.items()}
_BODIES = tuple(seed.BODY_MATERIALS)


@dataclass(frozen=True)
class Offer:
    """What a supplier knows about one SKU: list price at quantity 1, stock, lead time."""

    sku: str
    base_price: Decimal  # USD per unit at quantity 1, 4 decimal places
    stock: int
    lead_time_days: int  # when in stock
    backorder_days: int  # when the order exceeds stock

    def unit_price(self, supplier: str, qty: int) -> Decimal:
        """Unit price at this quantity's volume break."""
        factor = BREAK_FACTORS[supplier][0]
        for minimum, f in zip(VOLUME_BREAKS, BREAK_FACTORS[supplier], strict=True):
            if qty >= minimum:
                factor = f
        return (self.base_price * factor).quantize(UNIT_PLACES, rounding=ROUND_HALF_UP)

    def breaks(self, supplier: str) -> list[tuple[int, Decimal]]:
        """(minimum quantity, unit price) for every volume break."""
        return [(q, self.unit_price(supplier, q)) for q in VOLUME_BREAKS]

    def lead_for(self, qty: int) -> int:
        """Days to deliver this quantity: stock lead time, or the backorder lead time."""
        return self.lead_time_days if qty <= self.stock else self.backorder_days


def _unit_floats(sku: str, n: int) -> list[float]:
    """n numbers in [0, 1) from the SKU's SHA-256 (stable across runs and machines)."""
    digest = hashlib.sha256(sku.encode()).digest()
    return [int.from_bytes(digest[i * 4 : i * 4 + 4], "big") / 2**32 for i in range(n)]


def _log_between(u: float, low: float, high: float) -> float:
    return math.exp(math.log(low) + u * (math.log(high) - math.log(low)))


@cache
def _catalog() -> dict[tuple[str, str], dict]:
    return {(row["supplier"], row["sku"]): row for row in seed.generate_actuators()}


def catalog_skus(supplier: str) -> list[str]:
    """The sample catalog's SKUs for one supplier, in catalog order."""
    return [sku for (s, sku) in _catalog() if s == supplier]


def sample_skus(supplier: str, n: int) -> list[str]:
    """n SKUs this supplier knows: the catalog's first, then synthetic ones in its format."""
    skus = catalog_skus(supplier)[:n]
    known = set(skus)
    i = 0
    while len(skus) < n:
        if supplier == "spencer":
            prefix = ("HC", "FC", "PO", "MB", "TP")[i % 5]
            body = ("PP", "AC", "PB", "BR", "SS")[(i // 5) % 5]
            sku = f"SP-{prefix}-{150 + (i // 25) % 1350:04d}-{body}-{2 + i // 33750}"
        else:
            family = ("HCS", "FCN", "JET", "MBU", "TRG")[i % 5]
            suffix = chr(65 + (i // 5) % 26)
            sku = f"CV.{family}.{15 + (i // 130) % 135:03d}.{3 + (i // 17550) % 18:02d}{suffix}"
        i += 1
        if sku not in known:
            known.add(sku)
            skus.append(sku)
    return skus


def offer(supplier: str, sku: str) -> Offer | None:
    """The supplier's offer for a SKU, or None when the SKU is unknown to that supplier."""
    u = _unit_floats(f"{supplier}:{sku}", 6)
    row = _catalog().get((supplier, sku))
    if row is not None:
        drift = Decimal(str(0.96 + 0.10 * u[0]))  # live price within -4 % … +6 % of the catalog
        base = (row["unit_price"] * drift).quantize(UNIT_PLACES, rounding=ROUND_HALF_UP)
        stock, lead = int(row["stock"]), int(row["lead_time_days"])
    else:
        price_key, orifice = _decode(supplier, sku, u[1])
        if price_key is None:
            return None
        low, high = seed.PRICE_USD[price_key]
        price = _log_between(u[2], low, high) * (1.0 + orifice * 0.2)
        base = Decimal(f"{price:.4f}")
        in_stock = u[3] > 0.12
        stock = round(_log_between(u[4], 50, 50_000)) if in_stock else 0
        lead = 2 + int(u[5] * 9) if in_stock else 14 + int(u[5] * 47)
    backorder = max(lead, 14 + int(u[5] * 47))
    return Offer(sku=sku, base_price=max(base, UNIT_PLACES), stock=stock, lead_time_days=lead, backorder_days=backorder)


def _decode(supplier: str, sku: str, u: float) -> tuple[str | None, float]:
    """(price range key in seed.PRICE_USD, orifice mm) read from a SKU in the supplier's format."""
    if supplier == "spencer":
        m = SPENCER_SKU.match(sku)
        if not m:
            return None, 0.0
        prefix, digits, body = m.groups()
        key = {"MB": "MBU", "TP": "TRG"}.get(prefix, _SPENCER_BODY[body])
        return key, int(digits) / 1000
    if supplier == "coster":
        m = COSTER_SKU.match(sku)
        if not m:
            return None, 0.0
        family, digits, _pressure = m.groups()
        # Coster codes do not carry the body material: pick one per SKU, deterministically.
        key = family if family in ("MBU", "TRG") else _BODIES[int(u * len(_BODIES))]
        return key, int(digits) / 100
    return None, 0.0
