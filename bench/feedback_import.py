"""Benchmark of the bulk lab-results import: `python -m bench.feedback_import` prints figures.

A preview (every row checked and predicted, nothing written) and a confirm (every row recorded through
record_feedback in one transaction, one aggregate refresh per group, inline) of a FEEDBACK_IMPORT_MAX_ROWS-row
file, twice: the rows at one pressure (a prediction per SKU, reused) and every row at its own pressure (one
engine call a row, the worst case). Runs on a throwaway SQLite file.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path


def bench_workspace(prefix: str):
    """(app, tenant id) of a throwaway SQLite workspace with the sample catalog and fluids, migrated to head.

    Used inside `with app.test_request_context():`; the caller opens the tenant's scope."""
    from flask_migrate import upgrade

    from aerospec import create_app
    from aerospec.accounts import services as accounts
    from aerospec.catalog import services as catalog
    from aerospec.extensions import db
    from aerospec.tenancy import services as tenancy
    from tests.conftest import make_overrides

    folder = Path(tempfile.mkdtemp(prefix=prefix))
    app = create_app(make_overrides(f"sqlite:///{folder / 'bench.sqlite3'}", folder / "instance"))
    with app.app_context():
        upgrade()
    with app.test_request_context():
        catalog.seed_actuators(db.session)
        catalog.seed_fluids(db.session)
        db.session.commit()
        _, tenant = tenancy.sign_up(
            db.session,
            email="bench@example.com",
            password="bench import passphrase 1",  # noqa: S106 - a throwaway login
            name="Bench",
            company="Bench Sprays",
            client=accounts.ClientInfo("127.0.0.1", "bench"),
        )
        db.session.commit()
        return app, tenant.id


def main() -> None:
    from sqlalchemy import select

    from aerospec.configurations import services as configs
    from aerospec.extensions import db
    from aerospec.feedback import bulk
    from aerospec.limits import counters
    from aerospec.tenancy.models import Membership, Tenant
    from aerospec.tenancy.scoping import tenant_scope
    from tests.configurations.conftest import BASE

    app, tenant_id = bench_workspace("bench-feedback-")
    rows = int(app.config["FEEDBACK_IMPORT_MAX_ROWS"])
    with app.test_request_context():
        tenant = db.session.get(Tenant, tenant_id)
        with tenant_scope(db.session, tenant.id):
            member = db.session.scalar(select(Membership).where(Membership.tenant_id == tenant.id))
            header = "actuator_sku,pressure_bar,spray_cone_angle_actual,dv50_um,measurement_method\n"
            print(f"Bulk import of {rows} lab results (SQLite, inline aggregate jobs):")
            for label, pressure in (
                ("one pressure", lambda i: "3"),
                ("a pressure a row", lambda i: f"{1 + i * 0.01:.2f}"),
            ):
                config, _ = configs.create_configuration(
                    db.session, tenant, member, dict(BASE), counter=counters.DatabaseCounter()
                )
                db.session.commit()
                skus = [e["sku"] for e in config.compatible_actuators[:5]]
                text = header + "".join(f"{skus[i % 5]},{pressure(i)},58,61.5,pdpa\n" for i in range(rows))
                started = time.perf_counter()
                checked = bulk.preview(db.session, tenant, member, config, text, max_rows=rows)
                previewed = time.perf_counter() - started
                assert checked.ready, checked.errors[:3]
                started = time.perf_counter()
                bulk.confirm(db.session, tenant, member, config, text, checked.token, max_rows=rows)
                db.session.commit()
                confirmed = time.perf_counter() - started
                print(f"  {label:>17}: preview {previewed:5.2f} s, confirm {confirmed:5.2f} s")


if __name__ == "__main__":
    main()
