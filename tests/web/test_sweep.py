"""Issue 10's sweep, re-run on every change: every route as every role of another tenant, and hostile variants.

The sweep itself is tests/sweep.py; here it runs with the malformed variants sampled (deterministically)
so CI stays within about two minutes on each database; `python -m bench.sweep` runs every variant and
prints the figures. The test prints the same table and fails on any leak, 5xx, partial write, tenant-wall
miss, malformed id answered otherwise than an unknown one, or broken cell of the role matrix.
"""

from __future__ import annotations

import os

from tests.sweep import Sweep, build, record_decisions


def test_the_sweep_finds_no_leak_no_5xx_no_partial_write_and_the_matrix_holds(app, db, factories, sandbox, monkeypatch):
    record_decisions(monkeypatch)
    world = build(app, db, factories)
    sweep = Sweep(app, db, factories, world, full=os.environ.get("SWEEP_FULL") == "1")
    tally = sweep.run()
    print("\n" + tally.report())
    assert tally.requests > 1000, "the sweep sent too few requests to prove anything"
    assert len(tally.route_role_cells) > 150, "too few cells of the role matrix were exercised"
    assert {kind: found for kind, found in tally.failures().items() if found} == {}
