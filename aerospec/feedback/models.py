"""A lab result (the spec's `feedback` table) and the prediction it was measured against."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from aerospec.extensions import db
from aerospec.models import IdMixin, TenantOwned, TimestampMixin, UTCDateTime, utcnow

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


class FeedbackFile(IdMixin, TenantOwned, TimestampMixin, db.Model):
    """The instrument export attached to a lab result, kept as uploaded (one per result).

    `sha256` is unique per workspace: the same file imported twice is refused, naming the result it is on.
    """

    __tablename__ = "feedback_files"
    __table_args__ = (
        Index("ix_feedback_files_tenant_id_sha256", "tenant_id", "sha256", unique=True),
        Index("ix_feedback_files_tenant_id_feedback_id", "tenant_id", "feedback_id", unique=True),
    )

    feedback_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("feedback.id", ondelete="CASCADE"), nullable=False)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size_bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    # What the reader took from it, e.g. "Dv10 22 µm, Dv50 61.5 µm, Dv90 130 µm (the mean of 3 runs)".
    summary: Mapped[str | None] = mapped_column(Text)
    content: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class FeedbackAggregate(IdMixin, TenantOwned, db.Model):
    """The spec's `feedback_aggregates`: one row per workspace × actuator (supplier, SKU) × fluid, summing its results.

    Recomputed from the group's `feedback` rows whenever one of them is recorded or edited (the RQ job
    jobs.feedback.refresh_feedback_aggregate) and rebuilt from scratch by `flask feedback rebuild-aggregates`;
    never incremented, so a re-run gives the same row. A group with no results left has no row.

    Columns (for analytics readers):
    - `actuator_supplier`, `actuator_sku`: the actuator tested.
    - `fluid_key`: the fluid the predictions were made for: ``fluid:<uuid>`` when the configuration came from a
      library or workspace fluid, else ``props:<viscosity cP>/<density kg/m³>/<surface tension mN/m>``
      (a typed-in fluid, grouped by its properties). `fluid_name` is the name it carried (may be None).
    - `result_count`: lab results in the group; `pass_count`, `fail_count`: those marked pass or fail
      (the rest gave no verdict).
    - Per quantity q in (cone, dv50, flow): `q_count` results in which q was measured **and** the stored
      prediction had a value for it; `avg_predicted_q` and `avg_actual_q` are means over exactly those
      results (paired, so they compare like with like); `rmse_q` is the root mean square of
      (measured − predicted) over them. None when `q_count` is 0. Units: cone in degrees, dv50 in µm
      (droplet size is the volume median diameter Dv50, not SMD), flow in ml/min.
    - `last_result_at`: when the newest result of the group was recorded; `computed_at`: when this row was.
    """

    __tablename__ = "feedback_aggregates"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id",
            "actuator_supplier",
            "actuator_sku",
            "fluid_key",
            name="uq_feedback_aggregates_tenant_id_group",
        ),
    )

    actuator_supplier: Mapped[str] = mapped_column(String(20), nullable=False)
    actuator_sku: Mapped[str] = mapped_column(String(40), nullable=False)
    fluid_key: Mapped[str] = mapped_column(String(120), nullable=False)
    fluid_name: Mapped[str | None] = mapped_column(String(120))
    result_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    pass_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    fail_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    cone_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    avg_predicted_cone_deg: Mapped[float | None] = mapped_column(Float)
    avg_actual_cone_deg: Mapped[float | None] = mapped_column(Float)
    rmse_cone_deg: Mapped[float | None] = mapped_column(Float)
    dv50_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    avg_predicted_dv50_um: Mapped[float | None] = mapped_column(Float)
    avg_actual_dv50_um: Mapped[float | None] = mapped_column(Float)
    rmse_dv50_um: Mapped[float | None] = mapped_column(Float)
    flow_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    avg_predicted_flow_ml_min: Mapped[float | None] = mapped_column(Float)
    avg_actual_flow_ml_min: Mapped[float | None] = mapped_column(Float)
    rmse_flow_ml_min: Mapped[float | None] = mapped_column(Float)
    last_result_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class FeedbackReminder(IdMixin, TenantOwned, db.Model):
    """The "record your lab results" email of one delivered order: claimed once (unique per order), so sent once."""

    __tablename__ = "feedback_reminders"
    __table_args__ = (
        UniqueConstraint("tenant_id", "procurement_id", name="uq_feedback_reminders_tenant_id_procurement_id"),
    )

    procurement_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("procurements.id", ondelete="CASCADE"), nullable=False
    )
    to_address: Mapped[str] = mapped_column(String(254), nullable=False)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class FeedbackImport(IdMixin, TenantOwned, db.Model):
    """One confirmed bulk CSV import of lab results: its token (a hash of the configuration and the file's text) is
    unique per workspace, so confirming the same preview twice, or importing the same file again, adds nothing."""

    __tablename__ = "feedback_imports"
    __table_args__ = (UniqueConstraint("tenant_id", "token", name="uq_feedback_imports_tenant_id_token"),)

    configuration_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("configurations.id", ondelete="CASCADE"), nullable=False
    )
    procurement_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("procurements.id", ondelete="SET NULL"))
    token: Mapped[str] = mapped_column(String(64), nullable=False)
    filename: Mapped[str | None] = mapped_column(String(255))
    row_count: Mapped[int] = mapped_column(Integer, nullable=False)
    feedback_ids: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


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
