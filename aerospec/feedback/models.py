"""A lab result (the spec's `feedback` table) and the prediction it was measured against."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from aerospec.extensions import db
from aerospec.models import IdMixin, TenantOwned, TimestampMixin, UTCDateTime

METHODS = ("laser_diffraction", "pdpa", "imaging", "other")
PASS_FAIL = ("pass", "fail")


class Feedback(IdMixin, TenantOwned, TimestampMixin, db.Model):
    """What a lab measured for one actuator of a configuration at one pressure.

    `prediction` is the engine's prediction_item() for that SKU, pressure and the configuration's
    fluid as computed when the result was recorded (values, 90 % bands, methods, engine version):
    it is never recomputed, so the error of that prediction stays known after the engine changes.
    """

    __tablename__ = "feedback"
    __table_args__ = (
        Index("ix_feedback_tenant_id_configuration_id_created_at", "tenant_id", "configuration_id", "created_at"),
        Index("ix_feedback_tenant_id_actuator_sku", "tenant_id", "actuator_sku"),
    )

    configuration_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("configurations.id", ondelete="CASCADE"), nullable=False
    )
    actuator_sku: Mapped[str] = mapped_column(String(40), nullable=False)
    actuator_supplier: Mapped[str] = mapped_column(String(20), nullable=False)
    procurement_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("procurements.id", ondelete="SET NULL"))
    pressure_bar: Mapped[float] = mapped_column(Float, nullable=False)
    rating: Mapped[int | None] = mapped_column(Integer)
    spray_cone_angle_actual: Mapped[float | None] = mapped_column(Float)  # degrees
    droplet_size_range_um: Mapped[list | None] = mapped_column(JSON)  # [smallest, largest] µm
    flow_rate_actual_ml_min: Mapped[float | None] = mapped_column(Float)
    dv10_um: Mapped[float | None] = mapped_column(Float)
    dv50_um: Mapped[float | None] = mapped_column(Float)
    dv90_um: Mapped[float | None] = mapped_column(Float)
    smd_um: Mapped[float | None] = mapped_column(Float)
    measurement_method: Mapped[str | None] = mapped_column(String(20))  # METHODS
    temperature_c: Mapped[float | None] = mapped_column(Float)
    measured_by: Mapped[str | None] = mapped_column(String(120))
    pass_fail: Mapped[str | None] = mapped_column(String(4))  # PASS_FAIL
    issue_description: Mapped[str | None] = mapped_column(Text)
    prediction_matched: Mapped[bool | None] = mapped_column(Boolean)
    confidence_in_prediction: Mapped[int | None] = mapped_column(Integer)  # 1-5, the lab's own view
    test_conditions: Mapped[str | None] = mapped_column(Text)
    prediction: Mapped[dict] = mapped_column(JSON, nullable=False)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))


#: A correction model's life: trained (candidate), in use (active, one per scope), replaced or rolled
#: back (retired), or not better than the one in use on the newest results (rejected).
MODEL_STATUSES = ("candidate", "active", "retired", "rejected")


class CorrectionModelColumns:
    """What the registry keeps of every trained correction model (aerospec.engine.correction)."""

    version: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="candidate")  # MODEL_STATUSES
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    # The newest result's time among those it was trained and evaluated on.
    trained_through: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rows_used: Mapped[int] = mapped_column(Integer, nullable=False)  # results trained on
    rows_held_out: Mapped[int] = mapped_column(Integer, nullable=False)  # newest results it was judged on
    # {"quantities": {q: {"n", "before", "after"}}, "before", "after", "better", "against"}: RMS ln errors
    # on the held-out results of the model in use ("before") and of this one ("after").
    heldout_error: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    params: Mapped[dict] = mapped_column(JSON, nullable=False)  # correction.train()'s model dict
    note: Mapped[str | None] = mapped_column(Text)  # why it was rejected, promoted or rolled back
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CorrectionModel(IdMixin, CorrectionModelColumns, TimestampMixin, db.Model):
    """The shared correction model: learned from every workspace's results where the workspace allows it.

    Platform data (no tenant): its parameters hold SKU-level means of the sharing workspaces' results
    only (a workspace that opted out is never read into it).
    """

    __tablename__ = "correction_models"
    __table_args__ = (
        Index("ix_correction_models_status", "status"),
        Index("uq_correction_models_version", "version", unique=True),
    )


class TenantCorrectionModel(IdMixin, TenantOwned, CorrectionModelColumns, TimestampMixin, db.Model):
    """A workspace's own correction layer over the shared model, trained on its results alone."""

    __tablename__ = "tenant_correction_models"
    __table_args__ = (
        Index("ix_tenant_correction_models_tenant_id_status", "tenant_id", "status"),
        Index("uq_tenant_correction_models_tenant_id_version", "tenant_id", "version", unique=True),
    )


#: A custom model's life: queued and training (with progress), then ready, or failed with a message.
CUSTOM_STATUSES = ("training", "ready", "failed")
CUSTOM_TYPES = ("shrinkage", "gradient_boosting")


class CustomModel(IdMixin, TenantOwned, TimestampMixin, db.Model):
    """A workspace's own model (feature custom_models), trained on a selection of its lab results only.

    `selection` is what was asked for (feedback ids or filters); `params` the trained model
    (correction.train()'s dict for shrinkage; the gradient-boosting trees as JSON); `metrics` the held-out
    errors (time-ordered: the newest results of the selection) of this model, the shared model and physics alone.
    """

    __tablename__ = "custom_models"
    __table_args__ = (Index("ix_custom_models_tenant_id_created_at", "tenant_id", "created_at"),)

    name: Mapped[str] = mapped_column(String(80), nullable=False)
    model_type: Mapped[str] = mapped_column(String(20), nullable=False)  # CUSTOM_TYPES
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="training")  # CUSTOM_STATUSES
    progress: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # percent
    message: Mapped[str | None] = mapped_column(Text)  # why it failed
    selection: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    params: Mapped[dict | None] = mapped_column(JSON)
    metrics: Mapped[dict | None] = mapped_column(JSON)
    rows_used: Mapped[int | None] = mapped_column(Integer)
    rows_held_out: Mapped[int | None] = mapped_column(Integer)
    trained_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
