"""The route sweep of issue 10, every variant: `python -m bench.sweep` prints its figures.

Runs tests/web/test_sweep.py (the sweep is tests/sweep.py) with SWEEP_FULL=1, so every malformed path
value and every hostile body variant is sent instead of the CI sample, and prints the table the test
prints: requests sent, by phase and by status, cross-tenant leaks, 5xx answers, partial writes, tenant
wall misses, malformed ids answered otherwise than unknown ones, and the role-matrix cells held.
It uses the test suite's fixtures, so DATABASE_URL (a PostgreSQL admin URL: a throwaway database and a
non-superuser role are made from it) and REDIS_URL choose the databases as they do for the tests.

    python -m bench.sweep [--sampled]

Figures, not a timed test; exits non-zero when the sweep found anything.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    env = dict(os.environ, SWEEP_FULL="0" if "--sampled" in sys.argv[1:] else "1")
    command = [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "tests/web/test_sweep.py"]
    return subprocess.call(command, cwd=ROOT, env=env)  # noqa: S603 - our own interpreter and test file


if __name__ == "__main__":
    sys.exit(main())
