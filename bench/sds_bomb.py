"""SDS bomb benchmark: what a small PDF whose content stream inflates to 50 MB costs the worker reading it.

    python -m bench.sds_bomb [--inflated-mb 50] [--before-limit 240] [--skip-before]

Each side runs in a fresh Python process that loads the app's parser as a worker does:

- before (the old way, `sds.parse_sds` in the worker's own process): seconds until it ends, or until
  `--before-limit` when it has not (then it is killed), and that process's peak RSS (VmHWM);
- after (`sds_limits.parse_isolated`, the child process with 256 MB, 20 s and 50 pages): seconds until the
  sheet fails and with which limit, the worker process's peak RSS before and after, and the child's.

To protect a shared machine the "before" process is capped at 4 GB of address space (a MemoryError there
is reported as such). Figures, not a timed test (tests/catalog/test_sds_limits.py and
tests/jobs/test_sds_lane.py assert the behaviour).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEFORE_CAP_MB = 4096

_PREAMBLE = """
import json, resource, sys, time
from pathlib import Path
def peak_mb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
from aerospec.catalog import attach_routes, sds, sds_limits
attach_routes()  # loads the app's modules (its pages and what they import), as a worker has them
content = Path(sys.argv[1]).read_bytes()
"""

BEFORE = (
    _PREAMBLE
    + """
cap = int(sys.argv[2]) * 1024 * 1024
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
print(json.dumps({"peak_before_mb": peak_mb()}), flush=True)
started = time.monotonic()
try:
    sds.parse_sds(content)
    outcome = "parsed"
except MemoryError:
    outcome = "out of memory at the 4 GB cap"
except sds.SdsParseError as error:
    outcome = f"failed: {error.code}"
    if sds_limits._out_of_memory(error):
        outcome = f"out of memory at the 4 GB cap (the parser said {error.code!r})"
print(json.dumps({"seconds": time.monotonic() - started, "outcome": outcome, "peak_mb": peak_mb()}), flush=True)
"""
)

AFTER = (
    _PREAMBLE
    + """
before = peak_mb()
started = time.monotonic()
try:
    sds_limits.parse_isolated(content)
    outcome = "parsed"
except sds.SdsParseError as error:
    outcome = f"failed: {error.code}"
seconds = time.monotonic() - started
child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "outcome": outcome, "peak_before_mb": before, "peak_mb": peak_mb(),
                  "child_peak_mb": child_mb}), flush=True)
"""
)


def _peak_of(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_before(pdf: Path, limit: float) -> dict:
    """The old way, in a process of its own; killed at `limit` seconds if it has not finished."""
    process = subprocess.Popen(  # noqa: S603 - our own interpreter on our own snippet
        [sys.executable, "-c", BEFORE, str(pdf), str(BEFORE_CAP_MB)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    first = json.loads(process.stdout.readline())
    started = time.monotonic()
    peak = first["peak_before_mb"]
    while process.poll() is None and time.monotonic() - started < limit:
        peak = max(peak, _peak_of(process.pid) or peak)
        time.sleep(0.5)
    if process.poll() is None:
        peak = max(peak, _peak_of(process.pid) or peak)
        process.kill()
        process.wait()
        return {"seconds": None, "outcome": f"still reading after {limit:g} s (killed)", "peak_mb": peak, **first}
    return {**first, **json.loads(process.stdout.readline())}


def run_after(pdf: Path) -> dict:
    done = subprocess.run(  # noqa: S603 - our own interpreter on our own snippet
        [sys.executable, "-c", AFTER, str(pdf)], cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"the isolated parse failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inflated-mb", type=int, default=50)
    parser.add_argument("--before-limit", type=float, default=240.0)
    parser.add_argument("--skip-before", action="store_true", help="only the isolated parse")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    import zlib

    from tests.catalog.sds_pdfs import inflation_bomb_pdf

    content = inflation_bomb_pdf(args.inflated_mb)
    start = content.index(b"stream\n") + len(b"stream\n")
    inflated = len(zlib.decompressobj().decompress(content[start:]))
    with tempfile.TemporaryDirectory(prefix="aerospec-sds-bomb-") as tmp:
        pdf = Path(tmp) / "bomb.pdf"
        pdf.write_bytes(content)
        print(f"bomb: {len(content) / 1024:.0f} KB on disk, content stream inflates to {inflated / 2**20:.0f} MB")
        if not args.skip_before:
            before = run_before(pdf, args.before_limit)
            took = f"{before['seconds']:.1f} s" if before["seconds"] is not None else "—"
            print(
                f"before (parsed in the worker): {took}, {before['outcome']}; worker peak RSS "
                f"{before['peak_before_mb']:.0f} MB → {before['peak_mb']:.0f} MB"
            )
        after = run_after(pdf)
        print(
            f"after (child process, 256 MB / 20 s / 50 pages): {after['seconds']:.1f} s, {after['outcome']}; "
            f"worker peak RSS {after['peak_before_mb']:.0f} MB → {after['peak_mb']:.0f} MB; "
            f"child peak RSS {after['child_peak_mb']:.0f} MB"
        )


if __name__ == "__main__":
    main()
