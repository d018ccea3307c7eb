"""Two checkouts side by side (issue 9 item 21): `make run` takes every port from the environment (PORT,
SANDBOX_PORT; the supplier URLs follow SANDBOX_PORT) and keeps its runtime files, gunicorn's control
socket included, under the checkout's instance/ folder, never in a path every checkout shares."""

from __future__ import annotations

import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.test_production_startup import ROOT, procfile

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(tmp_path / "home"),
        "AEROSPEC_INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'dev.sqlite3'}",
        "SECRET_KEY": "k" * 40,
        **extra,
    }


def _spawn(command: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S602 - Procfile.dev's own command line, as honcho runs it
        command,
        shell=True,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def _wait_for(url: str, process: subprocess.Popen, seconds: float = 60) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.3)
    raise AssertionError(f"nothing answered at {url}")


def test_procfile_dev_takes_every_port_from_the_environment_and_shares_no_path():
    text = (ROOT / "Procfile.dev").read_text()
    assert "$PORT" in procfile("web", "Procfile.dev")
    assert "${SANDBOX_PORT:-5100}" in procfile("suppliers", "Procfile.dev")
    assert "--control-socket ${AEROSPEC_INSTANCE_PATH:-instance}/gunicorn.ctl" in procfile("web", "Procfile.dev")
    assert not re.search(r"(?<![-{:])\b\d{4,5}\b(?!})", text.replace("${SANDBOX_PORT:-5100}", "")), text
    assert "/tmp" not in text and "~/" not in text and "$HOME" not in text  # noqa: S108 - asserting its absence
    assert "--no-control-socket" in procfile("web")  # production: no socket in a shared home folder


def test_make_run_passes_port_and_sandbox_port_through():
    dry = subprocess.run(
        ["make", "-n", "run"],  # noqa: S607 - make from PATH, as the README says
        cwd=ROOT,
        env={**os.environ, "PORT": "6000", "SANDBOX_PORT": "6100"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "honcho start -f Procfile.dev -p 6000" in dry
    assert "http://127.0.0.1:6000" in dry and "http://127.0.0.1:6100" in dry
    assert "5000" not in dry and "5100" not in dry


def test_the_sandbox_listens_on_sandbox_port(tmp_path):
    port = _free_port()
    sandbox = _spawn(procfile("suppliers", "Procfile.dev"), _env(tmp_path, SANDBOX_PORT=str(port)))
    try:
        health = _wait_for(f"http://127.0.0.1:{port}/_health", sandbox)
        assert health.status_code == 200 and health.json()["ok"] is True
    finally:
        _stop(sandbox)


def test_two_web_processes_side_by_side_each_keep_their_control_socket_under_their_instance(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    webs = []
    try:
        for checkout in (one, two):
            port = str(_free_port())
            env = _env(checkout, PORT=port, SANDBOX_PORT=str(_free_port()), LOG_LEVEL="WARNING")
            webs.append((checkout, port, _spawn(procfile("web", "Procfile.dev"), env)))
        for checkout, port, web in webs:
            assert _wait_for(f"http://127.0.0.1:{port}/healthz", web).status_code == 200
            control = checkout / "instance" / "gunicorn.ctl"
            deadline = time.monotonic() + 10
            while not control.exists() and time.monotonic() < deadline:
                time.sleep(0.2)
            assert stat.S_ISSOCK(control.stat().st_mode), f"no control socket at {control}"
            assert not (checkout / "home" / ".gunicorn").exists()  # not the shared per-user default
    finally:
        for _, _, web in webs:
            _stop(web)
