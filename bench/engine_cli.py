"""CLI benchmark: how long one `predict` call takes from a cold process, and a 100-row batch.

    python -m bench.engine_cli [--runs 5] [--rows 100] [--flask]

Runs each command as a fresh process (wall time, including Python's start and every import) and
prints the median and range of `--runs` runs: `python -m aerospec.engine predict` (the light entry
point, target under 1.5 s), a batch file of `--rows` rows through it, and with `--flask` the same
single call through `flask engine predict` (app.py builds only a bare app for it). Figures, not a test;
on a shared machine, read them beside the load average printed with them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ONE = ["predict", "--type", "hollow_cone", "--orifice-mm", "0.4", "--pressure-bar", "5", "--viscosity-cp", "1",
       "--density", "998", "--surface-tension", "72", "--rated-flow-ml-min", "60", "--rated-pressure-bar", "3",
       "--angle-table", "0.7:39,1.5:58,6:69"]  # fmt: skip
TYPES = ("hollow_cone", "full_cone", "plain_orifice")


def batch_file(rows: int) -> Path:
    """A CSV of `rows` geometries over the three spray types, orifices and pressures."""
    lines = ["type,orifice_mm,pressure_bar,viscosity_cp,density,surface_tension,rated_flow_ml_min,rated_pressure_bar"]
    for i in range(rows):
        rating = f"{40 + i},3" if i % 2 else ","
        lines.append(f"{TYPES[i % 3]},{0.2 + 0.01 * (i % 80):.2f},{1 + i % 10},1,998,72,{rating}")
    path = Path(tempfile.mkdtemp()) / "rows.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def timed(command: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)  # noqa: S603 - our own commands
        times.append(time.perf_counter() - start)
    return times


def report(name: str, times: list[float]) -> None:
    print(f"{name:<44} median {statistics.median(times):6.2f} s   min {min(times):5.2f}   max {max(times):5.2f}"
          f"   ({len(times)} cold runs)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--flask", action="store_true", help="also time `flask engine predict`")
    args = parser.parse_args()
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    python = [sys.executable, "-m", "aerospec.engine"]
    report("python -m aerospec.engine predict (1 row)", timed([*python, *ONE], args.runs))
    path = batch_file(args.rows)
    report(f"python -m aerospec.engine predict --input ({args.rows} rows)",
           timed([*python, "predict", "--input", str(path)], args.runs))  # fmt: skip
    if args.flask:
        flask = [str(Path(sys.executable).with_name("flask")), "engine"]
        report("flask engine predict (1 row)", timed([*flask, *ONE], args.runs))


if __name__ == "__main__":
    main()
