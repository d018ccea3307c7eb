"""What the API answers, as pydantic models: the OpenAPI document's response schemas.

The views build their answers with the `*_json` helpers next to them; these models describe those
answers (schemathesis checks every live answer against them). Objects whose keys grow with the engine
(a prediction's `explain`, a quote's raw figures) are open (`Open`: more keys may appear); every key
named here is always present with the type given.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

Timestamp = Annotated[str | None, Field(description="ISO 8601 date and time (UTC), or null.")]
Money = Annotated[str, Field(description='A decimal amount as a string, e.g. "156.81".')]
Id = Annotated[str, Field(description="A UUID.")]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Open(BaseModel):
    """An object that may carry more keys than the ones listed."""

    model_config = ConfigDict(extra="allow")


class Problem(Open):
    """An error (RFC 9457 problem details)."""

    type: str = Field(description='"about:blank" unless a more specific type applies.')
    title: str
    status: int
    detail: str | None = None
    errors: dict[str, list[str]] | None = Field(
        default=None, description="Input errors: field name (dotted when nested) -> messages."
    )
    billing_url: str | None = Field(default=None, description="On 402: the billing page where an admin upgrades.")


class Detail(Model):
    detail: str


class PageFields(BaseModel):
    page: int = Field(ge=1)
    pages: int = Field(ge=1)
    per_page: int = Field(ge=1)
    total: int = Field(ge=0)


# -- people and workspaces ---------------------------------------------------------------------


class User(Model):
    id: Id
    email: str
    name: str


class TenantBrief(Model):
    id: Id
    name: str
    slug: str
    plan: str
    subscription_status: str
    trial_ends_at: Timestamp
    role: str | None = Field(default=None, description="Your role, where the answer is about you.")


class Tokens(Model):
    access_token: str
    refresh_token: str
    token_type: str = Field(description='Always "Bearer".')
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_expires_in: int = Field(description="Seconds until the refresh token expires.")
    user: User
    tenant: TenantBrief


class AdminTokens(Open):
    """A platform admin's token pair (no workspace)."""

    access_token: str
    refresh_token: str
    token_type: str


class Seats(Model):
    members: int
    pending_invitations: int
    limit: int | None


class Tenant(Model):
    id: Id
    name: str
    slug: str
    plan: str
    subscription_status: str
    trial_ends_at: Timestamp
    role: str | None = None
    billing_email: str | None
    trial_days_left: int | None = None
    features: dict[str, bool] | None = None
    limits: dict[str, int | None] | None = None
    seats: Seats | None = None


class TenantDeleted(Model):
    detail: str
    deleted_at: Timestamp


class Member(Model):
    id: Id
    user_id: Id
    email: str
    name: str
    role: str
    joined_at: Timestamp


class Members(Model):
    members: list[Member]


class Invitation(Model):
    id: Id
    email: str
    role: str
    status: str
    expires_at: Timestamp
    created_at: Timestamp
    invited_by: User | None
    send_count: int


class Invitations(Model):
    invitations: list[Invitation]


class Joined(Model):
    tenant: TenantBrief
    user: User


# -- catalog -----------------------------------------------------------------------------------


class Actuator(Open):
    id: Id
    source: Literal["catalog", "own"] = Field(description="A catalog SKU, or one of the workspace's own actuators.")
    label: str | None = Field(description='"own actuator" for the workspace\'s own; null for a catalog SKU.')
    sku: str
    supplier: str = Field(description='The supplier; "own" for the workspace\'s own actuators.')
    name: str
    spray_type: str
    orifice_mm: float
    unit_price: Money | None
    currency: str
    is_sample_data: bool
    last_synced_at: Timestamp
    anchors: dict[str, Any] = Field(description="The makers' figures (null where not stated).")
    anchors_given: list[str]
    anchors_missing: list[str]


class Actuators(PageFields):
    actuators: list[Actuator]


# -- configurations and predictions ------------------------------------------------------------


class Prediction(Open):
    """One actuator's predicted spray: values, their 90 % bands (`*_low`, `*_high`), how each was made
    (`method`, `explain`: source, validity range and validation error) and the overall confidence."""

    band_level: float = Field(description="The bands' coverage (0.9: a 90 % interval).")
    confidence: float = Field(ge=0, le=1)
    confidence_label: str
    flow_ml_min: float | None
    flow_ml_min_low: float | None
    flow_ml_min_high: float | None
    cone_deg: float | None
    cone_deg_low: float | None
    cone_deg_high: float | None
    dv50_um: float | None
    dv50_um_low: float | None
    dv50_um_high: float | None
    explain: dict[str, Any]


class Predicted(Model):
    prediction: Prediction
    model_version: str | None = Field(description="The correction model that made it (null: physics alone).")


class Ranked(Model):
    model_version: str | None = Field(description="The correction model the ranking used (null: physics alone).")
    actuators: list[Open] = Field(description="Ranked compatible actuators, best first, each with its prediction.")
    excluded: list[Open] = Field(description="Why others were left out (a sample).")
    excluded_total: int
    compatible_total: int
    empty: Open | str | None = Field(default=None, description="When nothing is compatible: why, and what to change.")


class PredictAnswer(RootModel[Predicted | Ranked]):
    """With a typed-in `geometry`: that geometry's prediction. Without: the catalog ranked for the fluid."""


class Quota(Model):
    name: str
    used: int
    limit: int | None
    warning: str | None = None


class Person(Model):
    id: Id
    name: str


class Share(Model):
    user_id: Id
    name: str
    permission: str


class Configuration(Model):
    id: Id
    name: str | None
    description: str | None
    status: str
    tags: list[str]
    fluid_id: str | None
    fluid_name: str | None
    fluid_viscosity_cP: float | None  # noqa: N815 - the spec's names
    fluid_density_kg_m3: float | None
    fluid_surface_tension_mN_m: float | None  # noqa: N815
    fluid_flash_point_C: float | None  # noqa: N815
    fluid_vapour_pressure_kPa: float | None  # noqa: N815
    fluid_liquefied_propellant: bool | None
    target_spray_cone_deg: float | None
    target_spray_cone_tol_deg: float | None
    target_droplet_size_um: float | None
    target_droplet_size_tol_um: float | None
    target_flow_rate_ml_min: float | None
    target_flow_rate_tol_ml_min: float | None
    max_pressure_bar: float | None
    compatible_actuators: list[Open] = Field(description="The ranked actuators saved with it, best first.")
    version: int
    created_by: Person | None
    created_at: Timestamp
    updated_at: Timestamp
    archived_at: Timestamp
    shares: list[Share] | None = Field(default=None, description="GET of one configuration: who it is shared with.")
    quota: Quota | None = Field(default=None, description="On create and duplicate: the month's configurations.")


class Configurations(PageFields):
    configurations: list[Configuration]


class Shared(Model):
    configuration_id: Id
    user_id: Id
    permission: str


# -- lab results -------------------------------------------------------------------------------


class Comparison(Model):
    quantity: str
    measured: float
    predicted: float | None
    band_low: float | None
    band_high: float | None
    error: float | None
    error_pct: float | None
    in_band: bool | None
    method: str | None


class Feedback(Open):
    id: Id
    configuration_id: Id
    actuator_sku: str
    actuator_supplier: str
    procurement_id: str | None = None
    pressure_bar: float
    prediction: Prediction = Field(description="The prediction as it was when the result was recorded.")
    comparison: list[Comparison]
    created_at: Timestamp
    created_by_id: str | None


class FeedbackPage(PageFields):
    feedback: list[Feedback]


# -- procurement -------------------------------------------------------------------------------


class Quotes(Open):
    suppliers: list[Open] = Field(description="One entry per supplier: its quote, or its error (`ok` false).")
    configuration_id: str | None = None


class OrderLine(Open):
    sku: str
    qty: int
    unit_price: Money | None
    line_total: Money | None


class Procurement(Open):
    id: Id
    reference: str
    status: str
    status_label: str
    order_type: str
    currency: str
    items: list[OrderLine]
    subtotal: Money
    discount: Money
    shipping: Money
    tax: Money
    total: Money
    payment_status: str
    payment_required: bool
    submit_blockers: list[str]
    ship_to_address: dict[str, Any]
    selected_supplier: str | None
    configuration_id: str | None
    created_at: Timestamp
    updated_at: Timestamp


class Procurements(PageFields):
    procurements: list[Procurement]


class PaymentState(Open):
    procurement_id: Id
    reference: str
    status: str
    payment_status: str
    payment_label: str
    settled: bool
    total: Money
    currency: str
    paid_at: Timestamp


class Checkout(PaymentState):
    checkout_url: str
    session_id: str


# -- billing -----------------------------------------------------------------------------------


class InvoiceLine(Model):
    description: str | None
    quantity: int | float
    amount: int
    kind: str | None
    procurement_id: str | None


class Invoice(Model):
    id: Id
    number: str | None
    status: str
    currency: str
    subtotal: int
    tax: int
    total: int
    amount_paid: int
    amount_due: int
    attempt_count: int
    period_start: Timestamp
    period_end: Timestamp
    issued_at: Timestamp
    paid_at: Timestamp
    next_payment_attempt: Timestamp
    hosted_invoice_url: str | None
    pdf_url: str
    lines: list[InvoiceLine]


class Invoices(PageFields):
    invoices: list[Invoice]


class SubscriptionState(Open):
    plan: str
    status: str
    access: str
    trial_ends_at: Timestamp
    subscription: dict[str, Any] | None


class SubscriptionCheckout(Model):
    checkout_url: str
    session_id: str


class Proration(Model):
    proration: dict[str, Any]


class PortalUrl(Model):
    url: str


# -- platform admin ----------------------------------------------------------------------------


class AdminPage(Open):
    """A page of a platform-admin list: the items under the resource's name, with the page figures."""

    page: int | None = None
    total: int | None = None


class AdminObject(Open):
    """A platform-admin answer (a workspace, a metric series, an action's result)."""


class StripeAck(Open):
    """The event was received (stored by id; a repeat is a no-op)."""


# -- lab-result aggregates and analytics --------------------------------------------------------


class FeedbackAggregates(PageFields):
    aggregates: list[Open] = Field(description="Per actuator × fluid: counts, means and RMSE per quantity.")


class Analytics(Open):
    """An analytics answer: figures per quantity, group and period (see the analytics pages for each)."""


# -- API keys ----------------------------------------------------------------------------------


class ApiKeys(Model):
    keys: list[Open] = Field(description="The workspace's keys (never the secret; see ApiKeyOut).")


# -- outgoing webhooks -------------------------------------------------------------------------


class WebhookEndpoint(Open):
    id: Id
    url: str
    description: str | None
    event_types: list[str]
    enabled: bool
    disabled_at: Timestamp
    consecutive_failures: int
    secret: str = Field(description="The signing secret (whsec_…): admins only.")
    created_at: Timestamp


class EventType(Model):
    type: str
    version: int | str
    description: str


class WebhookEndpoints(Model):
    endpoints: list[WebhookEndpoint]
    event_types: list[EventType]


class WebhookDelivery(Open):
    id: Id
    endpoint_id: Id
    event_type: str
    webhook_id: str = Field(description="The webhook-id header: the same on every attempt and on a replay.")
    status: str
    attempts: int
    created_at: Timestamp


class WebhookDeliveries(PageFields):
    deliveries: list[WebhookDelivery]


# -- custom models and training data ----------------------------------------------------------


class TrainingStarted(Model):
    model_id: Id
    status: str = Field(description='"training"')
    eta_seconds: int | float


class CustomModel(Open):
    model_id: Id
    name: str
    model_type: str
    status: str = Field(description="training, ready or failed (then `message` says why).")
    progress: int = Field(ge=0, le=100)
    created_at: Timestamp


class CustomModels(PageFields):
    models: list[CustomModel]


class TrainingData(PageFields):
    rows: list[Open] = Field(description="Anonymised lab results: no workspace, user, order or result ids, no names.")
