"""The yardstick for `bench.pages`: a bare Flask page on the same database and table.

One ORM query of 50 rows of the `configurations` table, rendered as a Jinja table: what the
stack costs with nothing of AeroSpec around it (no login, tenant, session or layout).
`gunicorn bench.bare_app:app` with BENCH_DATABASE_URL pointing at the bench's database;
`python -m bench.bare_app URL` prints the page's median and fastest time in process (bench.pages
runs it in a process of its own: AeroSpec's tenant guard would refuse this app's query).
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime

from flask import Flask, render_template_string
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, String, Uuid, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Configurations</title></head>
<body><main><h1>Configurations</h1>
<table><thead><tr><th>Name</th><th>Fluid</th><th>Status</th><th>Updated</th></tr></thead>
<tbody>{% for row in rows %}
<tr><td><a href="/c/{{ row.id }}">{{ row.name }}</a></td><td>{{ row.fluid_name }}</td>
<td>{{ row.status }}</td><td>{{ row.updated_at }}</td></tr>{% endfor %}
</tbody></table></main></body></html>
"""


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Row(db.Model):
    __tablename__ = "configurations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(160))
    fluid_name: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(12))
    updated_at: Mapped[datetime] = mapped_column(DateTime)


def create_app(url: str) -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    db.init_app(app)

    @app.get("/")
    def page():
        rows = db.session.scalars(select(Row).order_by(Row.updated_at.desc()).limit(50)).all()
        return render_template_string(PAGE, rows=rows)

    return app


if os.environ.get("BENCH_DATABASE_URL"):
    app = create_app(os.environ["BENCH_DATABASE_URL"])


if __name__ == "__main__":
    import statistics
    import sys
    import time

    client = create_app(sys.argv[1]).test_client()
    for _ in range(5):
        assert client.get("/").status_code == 200
    times = []
    for _ in range(100):
        t0 = time.perf_counter()
        client.get("/")
        times.append((time.perf_counter() - t0) * 1e3)
    print(f"{statistics.median(times):.3f} {min(times):.3f}")
