"""Production refuses to start on fakes nobody chose (issue 9 item 18), checked by running the Procfile's
three processes for real: `web` (gunicorn), `worker` (python -m jobs.worker) and `release` (flask db
upgrade). Each exits non-zero naming every missing variable and its explicit opt-out; with the opt-outs
(BILLING_PROVIDER=offline, EMAIL_BACKEND=outbox, SUPPLIERS=sandbox) each starts."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CHOICES = {"BILLING_PROVIDER": "offline", "EMAIL_BACKEND": "outbox", "SUPPLIERS": "sandbox"}
NAMED = ("STRIPE_SECRET_KEY", "BILLING_PROVIDER=offline", "SMTP_URL", "EMAIL_BACKEND=outbox", "SUPPLIERS=sandbox")

pytestmark = pytest.mark.slow


def procfile(name: str, path: str = "Procfile") -> str:
    """One process's command line from a Procfile."""
    for line in (ROOT / path).read_text().splitlines():
        key, _, command = line.partition(":")
        if key.strip() == name:
            return command.strip()
    raise KeyError(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def production_env(tmp_path) -> dict[str, str]:
    """A production environment with only SECRET_KEY and a (SQLite) DATABASE_URL: nothing else chosen."""
    return {
        "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(tmp_path),
        "AEROSPEC_ENV": "production",
        "SECRET_KEY": "s" * 40,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        "AEROSPEC_INSTANCE_PATH": str(tmp_path / "instance"),
        "PORT": str(_free_port()),
        "WEB_CONCURRENCY": "1",
    }


def _run(command: str, env: dict, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S602 - the Procfile's own command line, as the platform runs it
        command, shell=True, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def _assert_refused(result: subprocess.CompletedProcess) -> None:
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "AeroSpec will not start in production" in output
    for name in NAMED:
        assert name in output, name


def test_release_refuses_without_payments_email_and_suppliers_and_migrates_nothing(production_env, tmp_path):
    result = _run(procfile("release"), production_env)
    _assert_refused(result)
    database = tmp_path / "prod.sqlite3"
    if database.exists():
        tables = sqlite3.connect(database).execute("select name from sqlite_master where type='table'").fetchall()
        assert ("alembic_version",) not in tables


def test_release_with_the_explicit_choices_migrates(production_env, tmp_path):
    result = _run(procfile("release"), production_env | CHOICES)
    assert result.returncode == 0, result.stdout + result.stderr
    logged = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]  # JSON lines only
    assert any(e["logger"].startswith("alembic") and "Running upgrade" in e["message"] for e in logged)
    tables = sqlite3.connect(tmp_path / "prod.sqlite3").execute("select name from sqlite_master").fetchall()
    assert ("alembic_version",) in tables and ("tenants",) in tables


def test_worker_refuses_without_payments_email_and_suppliers(production_env):
    _assert_refused(_run(procfile("worker") + " --burst", production_env))


def test_worker_with_the_explicit_choices_starts_and_works(production_env):
    result = _run(procfile("worker") + " --burst --no-cron", production_env | CHOICES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "will not start" not in result.stderr


def test_web_refuses_without_payments_email_and_suppliers(production_env):
    _assert_refused(_run(procfile("web"), production_env, timeout=120))


def test_web_with_the_explicit_choices_serves_and_shows_the_test_mode_banner(production_env):
    env = production_env | CHOICES
    assert _run(procfile("release"), env).returncode == 0
    web = subprocess.Popen(  # noqa: S602 - the Procfile's own command line
        procfile("web"),
        shell=True,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{env['PORT']}"
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline and web.poll() is None:
            try:
                health = httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.3)
        assert health is not None, "gunicorn did not answer"
        assert health.status_code == 200 and health.json()["checks"]["database"] == "ok"
        landing = httpx.get(f"{base}/", timeout=5).text
        assert "Test mode." in landing
        for claim in ("no card is charged", "Emails are not sent", "supplier sandbox"):
            assert claim in landing
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.communicate(timeout=30)
