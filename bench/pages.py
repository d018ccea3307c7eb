"""Page throughput against a bare Flask page: `python -m bench.pages` prints figures.

What it runs, on a throwaway SQLite file (or a fresh PostgreSQL database and non-superuser
role on the server DATABASE_URL names, so row-level security is on as in production):

1. In process (Flask test client): SQL statements and median and fastest server time per request
   for the workspace dashboard and the configurations list (50 rows), statements split into data
   statements and the row-level-security context calls (PostgreSQL only), beside the bare page's
   (the fastest of 100 is the steadiest figure on a shared machine).
2. The engine ranking 10,000 SKUs from the catalog held as arrays (median over 200 calls).
3. Over HTTP: gunicorn as in the Procfile (2 workers x 4 threads) for AeroSpec in production
   mode and for `bench.bare_app` (one ORM query of 50 rows of the same `configurations` table,
   rendered as a Jinja table), wrk at 16 connections with `Connection: close`, alternating
   bare → dashboard → list for each round; prints requests/s, p99 and each page's ratio to the
   bare page of the same round, and the servers' CPU time a request (from /proc: on a loaded machine
   it moves less than requests/s do) with the same ratio by CPU.
   Targets: ratio ≥ 70 %, p99 ≤ 100 ms, ≤ 4 statements a page.

    python -m bench.pages [--seconds 10] [--rounds 2] [--connections 16]

Needs `wrk` (Debian: apt-get install wrk). Figures, not a timed test.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROWS = 50
CREATORS = 5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis_url() -> str | None:
    url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
        return url
    except Exception:
        return None


def _environment(database_url: str, instance: Path, redis_url: str | None) -> dict:
    """AeroSpec in production mode, with the fakes explicitly chosen (nothing here can reach out)."""
    env = dict(os.environ)
    env.update(
        {
            "AEROSPEC_ENV": "production",
            "SECRET_KEY": "bench-" + "s" * 40,
            "DATABASE_URL": database_url,
            "AEROSPEC_INSTANCE_PATH": str(instance),
            "BILLING_PROVIDER": "offline",
            "EMAIL_BACKEND": "outbox",
            "SUPPLIERS": "sandbox",
            "SESSION_COOKIE_SECURE": "false",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.pop("SENTRY_DSN", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    else:
        env.pop("REDIS_URL", None)
    return env


def _seed(app) -> tuple[str, str]:
    """A workspace of 5 members holding 50 configurations (10 each); returns (slug, session id)."""
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from aerospec.accounts import services as accounts
    from aerospec.accounts.models import User
    from aerospec.catalog import services as catalog
    from aerospec.configurations.models import Configuration
    from aerospec.extensions import db
    from aerospec.models import utcnow
    from aerospec.tenancy.models import Membership, Tenant
    from aerospec.tenancy.scoping import tenant_scope
    from tests.factories import _HASH

    with app.app_context():
        upgrade()
        catalog.seed_actuators(db.session)
        catalog.seed_fluids(db.session)
        suffix = uuid.uuid4().hex[:8]
        users = [
            User(email=f"bench-{i}-{suffix}@example.com", name=f"Bench Member {i}", password_hash=_HASH)
            for i in range(CREATORS)
        ]
        tenant = Tenant(
            name="Bench Sprays", slug=f"bench-{suffix}", plan="professional", subscription_status="active",
            billing_email="billing@example.com", limits={}, features={},
        )  # fmt: skip
        db.session.add_all([*users, tenant])
        db.session.flush()
        with tenant_scope(db.session, tenant.id):
            for i, user in enumerate(users):
                db.session.add(Membership(tenant_id=tenant.id, user_id=user.id, role="admin" if i == 0 else "user"))
            db.session.flush()
            now = utcnow()
            rows = [
                {
                    "id": uuid.uuid4(), "tenant_id": tenant.id, "name": f"Window cleaner {i:02d}",
                    "fluid_name": ("Water", "Ethanol", "Isopropanol")[i % 3], "fluid_viscosity_cP": 1.0 + i % 7,
                    "fluid_density_kg_m3": 997.0, "fluid_surface_tension_mN_m": 72.0, "max_pressure_bar": 5.0,
                    "target_spray_cone_deg": 60.0, "target_spray_cone_tol_deg": 6.0,
                    "status": ("draft", "complete", "ordered", "testing")[i % 4], "tags": ["bench", f"t{i % 10}"],
                    "compatible_actuators": [], "version": 1, "created_by_id": users[i % CREATORS].id,
                    "fluid_liquefied_propellant": False,
                    "created_at": now - timedelta(minutes=i), "updated_at": now - timedelta(minutes=i),
                }
                for i in range(ROWS)
            ]  # fmt: skip
            db.session.execute(insert(Configuration), rows)
        login = accounts.start_session(db.session, users[0], accounts.ClientInfo("127.0.0.1", "bench"))
        db.session.commit()
        return tenant.slug, str(login.id)


def _cookie(app, session_id: str) -> str:
    serializer = app.session_interface.get_signing_serializer(app)
    value = serializer.dumps({"_user_id": session_id, "_fresh": True})
    return f"{app.config.get('SESSION_COOKIE_NAME', 'session')}={value}"


def _in_process(app, cookie: str, pages: dict[str, str]) -> dict[str, dict]:
    """Statements and median server time per page through the test client."""
    from sqlalchemy import event

    from aerospec.extensions import db

    client = app.test_client()
    name, _, value = cookie.partition("=")
    client.set_cookie(name, value)
    statements: list[str] = []

    def count(conn, cursor, statement, params, context, executemany):
        statements.append(statement)

    out = {}
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        for label, url in pages.items():
            for _ in range(5):
                assert client.get(url).status_code == 200, url
            statements.clear()
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            context = [s for s in statements if "set_config(" in s]
            data = [s for s in statements if "set_config(" not in s]
            times = []
            for _ in range(100):
                t0 = time.perf_counter()
                client.get(url)
                times.append((time.perf_counter() - t0) * 1e3)
            out[label] = {
                "data": data,
                "context": len(context),
                "median_ms": statistics.median(times),
                "min_ms": min(times),
                "bytes": len(response.data),
            }
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return out


def _bare_in_process(database_url: str) -> tuple[float, float]:
    """The bare page's (median, fastest) time through its own test client, in a process of its own."""
    out = subprocess.run(  # noqa: S603 - our own module
        [sys.executable, "-m", "bench.bare_app", database_url],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return float(out[0]), float(out[1])


def _engine_rank_ms() -> float:
    from aerospec.engine import rank
    from bench.engine import _time, workload

    fluid, catalog, targets = workload(10_000)
    rank(fluid, catalog, targets)  # the catalog's derived arrays are built once and kept
    return statistics.median(_time(lambda: rank(fluid, catalog, targets), 200))


def _serve(module: str, port: int, env: dict, log: Path) -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "gunicorn", module, "--bind", f"127.0.0.1:{port}",
        "--workers", "2", "--threads", "4", "--no-control-socket", "--log-level", "warning",
    ]  # fmt: skip
    return subprocess.Popen(  # noqa: S603 - our own gunicorn command
        cmd, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )


def _wait(url: str, cookie: str | None, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {log.read_text()[-2000:]}")
        try:
            request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})  # noqa: S310
            with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310 - http://127.0.0.1 only
                if response.status == 200:
                    return
        except Exception:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer 200 within 60 s: {log.read_text()[-2000:]}")


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}
_TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def _cpu_ms(master: int) -> float:
    """CPU time (user + system) so far of a gunicorn master and its workers, in ms (Linux /proc).

    On a shared machine requests/s moves with everyone else's load; the server's CPU time per request
    moves much less, so the bench prints both."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        pid, ppid = int(stat.parent.name), int(fields[1])
        if pid == master or ppid == master:
            total += (int(fields[11]) + int(fields[12])) * _TICK_MS
    return total


def _wrk(url: str, cookie: str | None, seconds: int, connections: int, server: int | None = None) -> dict:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", "Connection: close"]
    if cookie:
        cmd += ["-H", f"Cookie: {cookie}"]
    cpu_before = _cpu_ms(server) if server else 0.0
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout  # noqa: S603
    cpu = _cpu_ms(server) - cpu_before if server else 0.0
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s|m)\b", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:(.*)", out)
    return {
        "rps": rps,
        "cpu_ms": cpu / requests if requests else float("nan"),
        "p99_ms": float(p99.group(1)) * _UNITS[p99.group(2)],
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(1).strip() if errors else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("bench.pages needs wrk (Debian: apt-get install wrk)")
    sys.path.insert(0, str(ROOT))

    from aerospec import create_app
    from aerospec.config import load_config, normalise_database_url

    tmp = Path(tempfile.mkdtemp(prefix="aerospec-bench-pages-"))
    server_url = os.environ.get("DATABASE_URL")
    pg = None
    if server_url and server_url.startswith(("postgres://", "postgresql")):
        from tests.conftest import PostgresDatabase

        pg = PostgresDatabase(server_url)
        database_url = pg.create()
        # The bare page has no tenant context: it reads as the server's superuser (no row-level security).
        bare_url = normalise_database_url(server_url).rsplit("/", 1)[0] + f"/{pg.name}"
    else:
        database_url = f"sqlite:///{tmp / 'bench.sqlite3'}"
        bare_url = database_url
    redis_url = _redis_url()
    env = _environment(database_url, tmp, redis_url)
    procs: list[subprocess.Popen] = []
    try:
        app = create_app(load_config(env))
        slug, session_id = _seed(app)
        cookie = _cookie(app, session_id)
        pages = {"dashboard": f"/t/{slug}/", "configurations list": f"/t/{slug}/configurations?per_page={ROWS}"}
        dialect = "postgresql" if pg else "sqlite"
        redis_said = redis_url or "none (embedded defaults)"
        print(f"database: {dialect}; redis: {redis_said}; {ROWS} configurations by {CREATORS} members")

        print("\nin process (test client):")
        measured = _in_process(app, cookie, pages)
        bare_median, bare_min = _bare_in_process(bare_url)
        print(f"  bare page: median {bare_median:.1f} ms, fastest {bare_min:.1f} ms")
        for label, m in measured.items():
            verdict = "OK" if len(m["data"]) <= 4 else "ABOVE TARGET"
            extra = f" + {m['context']} row-level-security context calls" if pg else ""
            print(
                f"  {label}: {len(m['data'])} SQL statements{extra} (target ≤ 4) {verdict}; "
                f"median {m['median_ms']:.1f} ms, fastest {m['min_ms']:.1f} ms "
                f"(the bare page's fastest is {bare_min / m['min_ms']:.0%} of it); {m['bytes']:,} bytes"
            )
            if os.environ.get("BENCH_SHOW_SQL"):
                for statement in m["data"]:
                    print("      " + " ".join(statement.split())[:160])
        rank_ms = _engine_rank_ms()
        verdict = "OK" if rank_ms <= 2 else "ABOVE TARGET"
        print(f"  engine rank of 10,000 SKUs: median {rank_ms:.2f} ms (target ≤ 2 ms) {verdict}")

        app_port, bare_port = _free_port(), _free_port()
        bare_env = {**os.environ, "BENCH_DATABASE_URL": bare_url, "PYTHONPATH": str(ROOT)}
        procs.append(_serve("app:app", app_port, env, tmp / "app.log"))
        procs.append(_serve("bench.bare_app:app", bare_port, bare_env, tmp / "bare.log"))
        targets = {
            "bare": (f"http://127.0.0.1:{bare_port}/", None),
            **{label: (f"http://127.0.0.1:{app_port}{url}", cookie) for label, url in pages.items()},
        }
        servers = {"bare": procs[1].pid, **{label: procs[0].pid for label in pages}}
        _wait(targets["bare"][0], None, procs[1], tmp / "bare.log")
        for url, c in targets.values():
            _wait(url, c, procs[0] if c else procs[1], tmp / "app.log")
            _wrk(url, c, 2, args.connections)  # warm up every worker and thread
        print(
            f"\nover HTTP: gunicorn 2 workers x 4 threads, wrk {args.connections} connections, "
            f"Connection: close, {args.seconds} s a run, {args.rounds} rounds"
        )
        ratios: dict[str, list[float]] = {label: [] for label in pages}
        cpu_ratios: dict[str, list[float]] = {label: [] for label in pages}
        p99s: dict[str, list[float]] = {label: [] for label in targets}
        for r in range(1, args.rounds + 1):
            results = {
                label: _wrk(url, c, args.seconds, args.connections, servers[label])
                for label, (url, c) in targets.items()
            }
            bare = results["bare"]["rps"]
            for label, res in results.items():
                p99s[label].append(res["p99_ms"])
                line = (
                    f"  round {r} {label}: {res['rps']:.0f} requests/s, p99 {res['p99_ms']:.1f} ms, "
                    f"server CPU {res['cpu_ms']:.2f} ms a request"
                )
                if label != "bare":
                    ratio = res["rps"] / bare
                    ratios[label].append(ratio)
                    cpu_ratios[label].append(results["bare"]["cpu_ms"] / res["cpu_ms"])
                    line += f"; {ratio:.0%} of the bare page's requests/s, {cpu_ratios[label][-1]:.0%} by CPU"
                if res["non2xx"] or res["socket_errors"]:
                    line += f" (non-2xx: {res['non2xx']}; socket errors: {res['socket_errors'] or 0})"
                print(line)
        print("\nsummary:")
        for label in pages:
            ratio = statistics.median(ratios[label])
            p99 = max(p99s[label])
            ok = ratio >= 0.70 and p99 <= 100
            spread = f"{min(ratios[label]):.0%}–{max(ratios[label]):.0%}"
            by_cpu = statistics.median(cpu_ratios[label])
            print(
                f"  {label}: {ratio:.0%} of the bare page (median of rounds, spread {spread}; target ≥ 70 %), "
                f"worst p99 {p99:.1f} ms (target ≤ 100 ms) {'OK' if ok else 'ABOVE TARGET'}; "
                f"by server CPU a request {by_cpu:.0%} (the bare page's CPU time over this page's, median of rounds)"
            )
    finally:
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired) as exc:
                print(f"  (stopping server {proc.pid}: {exc!r})")
        if pg is not None:
            from aerospec.extensions import db

            with app.app_context():
                db.engine.dispose()
            pg.drop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
