"""The training-data export (platform admins): every sharing workspace's lab results, anonymised.

SECURITY: reads across tenants through the logged bypass. Left out: tenant, user, configuration, order and
result ids, fluid names (the fluid is its properties), free text (issue descriptions, test conditions, who
measured), and every workspace whose share_lab_results setting is off. Dates are the month only.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aerospec.feedback.learning import MEASURED, _families, _physics, results_query
from aerospec.feedback.models import Feedback
from aerospec.tenancy.models import Tenant
from aerospec.tenancy.scoping import unscoped

PER_PAGE = 100


def page(session: Session, *, page: int = 1, per_page: int = PER_PAGE) -> tuple[list[dict], int]:
    families = _families(session)
    with unscoped(session, "training-data export: anonymised lab results of sharing workspaces (platform admin)"):
        sharing = select(Tenant.id).where(Tenant.share_lab_results.is_(True), Tenant.deleted_at.is_(None))
        where = (Feedback.tenant_id.in_(sharing),)
        total = session.scalar(select(func.count(Feedback.id)).where(*where)) or 0
        query = results_query(where).limit(per_page).offset((page - 1) * per_page)
        out = []
        for fb, viscosity, density, tension in session.execute(query):
            prediction = fb.prediction or {}
            measured = {q: getattr(fb, name) for name, q in MEASURED.items() if getattr(fb, name) is not None}
            out.append(
                {
                    "actuator_supplier": fb.actuator_supplier,
                    "actuator_sku": fb.actuator_sku,
                    "family": families.get(f"{fb.actuator_supplier}:{fb.actuator_sku}"),
                    "pressure_bar": fb.pressure_bar,
                    "fluid": {
                        "viscosity_cP": viscosity,
                        "density_kg_m3": density,
                        "surface_tension_mN_m": tension,
                    },
                    "temperature_c": fb.temperature_c,
                    "measurement_method": fb.measurement_method,
                    "measured": measured,
                    "physics": {q: _physics(prediction, q) for q in measured},
                    "engine_version": prediction.get("engine_version"),
                    "month": fb.created_at.strftime("%Y-%m") if fb.created_at else None,
                }
            )
        return out, total
