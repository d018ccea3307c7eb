"""Every API route's documentation: endpoint name -> Operation (see aerospec.api.openapi).

Request bodies are the models the views validate with `parse_body`; query models list the query
parameters the views read (documentation: the views check them and answer 422 with field errors);
responses are aerospec.api.responses. A route missing here fails tests/api/test_openapi.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from aerospec.admin.api_views import ExtendTrialBody, ImpersonateBody, OrganizationPatch, ReasonBody
from aerospec.api import responses as r
from aerospec.api.actuators import OwnActuatorBody
from aerospec.api.billing_subscriptions import ChangePlanBody, SubscribeBody
from aerospec.api.configurations import ConfigurationBody, PredictBody, ShareBody
from aerospec.api.ml import TrainCustomModelBody
from aerospec.api.procurements import CompareBody, ProcurementBody
from aerospec.api.schemas import (
    ApiKeyCreateBody,
    ApiKeyOut,
    ApiKeyRotateBody,
    FeedbackBody,
    FeedbackFields,
    ForgotPasswordBody,
    InviteBody,
    LoginBody,
    NewAccountBody,
    RefreshBody,
    ResetPasswordBody,
    RoleBody,
    RotateSecretBody,
    SignupBody,
    TenantDeleteBody,
    TenantUpdateBody,
    WebhookEndpointBody,
    WebhookEndpointUpdateBody,
)
from aerospec.api.schemas import Body as EmptyBody
from aerospec.catalog import services as catalog
from aerospec.configurations import services as configs
from aerospec.pagination import MAX_PAGE
from aerospec.procurement.models import ORDER_TYPES, STATUSES, SUPPLIERS


@dataclass(frozen=True)
class Operation:
    """How one route is documented: its answers by status (a model, or None for no body) and its inputs."""

    tag: str
    responses: dict[int, type[BaseModel] | None]
    json: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    auth: str = "bearer"  # "bearer", "none" (public), "platform" (a platform admin's token), "stripe"
    errors: tuple[int, ...] = ()
    binary: dict[int, str] = field(default_factory=dict)  # status -> media type of a non-JSON answer


class Query(BaseModel):
    model_config = ConfigDict(extra="allow")


class PageQuery(Query):
    page: int = Field(default=1, ge=1, le=MAX_PAGE, description="The page, from 1.")


class PerPageQuery(PageQuery):
    per_page: int | None = Field(default=None, ge=1, le=100, description="Items per page.")


class ConfigurationsQuery(PageQuery):
    q: str | None = Field(default=None, description="Words in the name, description, fluid or tags.")
    status: Literal[tuple(configs.STATUSES)] | None = None
    tag: str | None = None
    creator: UUID | None = Field(default=None, description="A member's user id.")
    archived: Literal["1", "true", "0", "false"] | None = Field(default=None, description="1: include archived.")
    sort: Literal[tuple(configs.SORTS)] | None = None


class ActuatorsQuery(PageQuery):
    source: Literal["catalog", "own"] | None = Field(
        default=None, description="Only the catalog, or only the workspace's own actuators (listed first)."
    )
    supplier: Literal["spencer", "coster"] | None = None
    spray_type: Literal["hollow_cone", "full_cone", "plain_orifice"] | None = None
    family: Literal[tuple(catalog.FAMILY_LABELS)] | None = None
    sort: Literal[tuple(catalog.ACTUATOR_SORTS)] | None = None


class ProcurementsQuery(PerPageQuery):
    status: Literal[tuple(STATUSES)] | None = None
    order_type: Literal[tuple(ORDER_TYPES)] | None = None
    supplier: Literal[tuple(SUPPLIERS)] | None = None
    configuration_id: UUID | None = None
    q: str | None = Field(default=None, description="Words in the reference, notes or SKUs.")


class AdminQuery(PageQuery):
    """The console's filters (see the console page for each list's choices)."""


class GrowthQuery(Query):
    period: Literal["7d", "30d", "90d"] = "30d"


class TopQuery(Query):
    metric: Literal["mrr", "api_calls", "configurations", "orders"] = "mrr"


class DateRangeQuery(Query):
    date_from: str | None = Field(default=None, alias="from", description="First day, YYYY-MM-DD (UTC).")
    date_to: str | None = Field(default=None, alias="to", description="Last day, YYYY-MM-DD (UTC), included.")


class AccuracyQuery(DateRangeQuery):
    page: int = Field(default=1, ge=1, le=MAX_PAGE, description="The page of `points`.")
    per_page: int | None = Field(default=None, ge=1, le=100)


class UsageQuery(DateRangeQuery):
    granularity: Literal["day", "week", "month"] = "month"


class AggregatesQuery(PerPageQuery):
    sku: str | None = None


class AcceptBody(NewAccountBody):
    """With an access token: no body (you join as yourself). Without one: a new account's name and password."""


OPERATIONS: dict[str, Operation] = {
    # -- auth
    "api.signup": Operation("auth", {201: r.Tokens}, json=SignupBody, auth="none", errors=(409, 429)),
    "api.login": Operation("auth", {200: r.Tokens}, json=LoginBody, auth="none", errors=(401, 403, 404, 429)),
    "api.refresh": Operation("auth", {200: r.Tokens}, json=RefreshBody, auth="none", errors=(401, 429)),
    "api.logout": Operation("auth", {204: None}),
    "api.forgot_password": Operation("auth", {202: r.Detail}, json=ForgotPasswordBody, auth="none", errors=(429,)),
    "api.reset_password": Operation(
        "auth", {200: r.Detail}, json=ResetPasswordBody, auth="none", errors=(401, 404, 429)
    ),
    # -- workspace
    "api.get_tenant": Operation("workspace", {200: r.Tenant}),
    "api.update_tenant": Operation("workspace", {200: r.Tenant}, json=TenantUpdateBody),
    "api.delete_tenant": Operation("workspace", {200: r.TenantDeleted}, json=TenantDeleteBody),
    "api.list_members": Operation("workspace", {200: r.Members}),
    "api.invite_member": Operation("workspace", {201: r.Invitation}, json=InviteBody, errors=(409,)),
    "api.change_member_role": Operation("workspace", {200: r.Member}, json=RoleBody, errors=(409,)),
    "api.remove_member": Operation("workspace", {204: None}, errors=(409,)),
    "api.list_invitations": Operation("workspace", {200: r.Invitations}),
    "api.accept_invitation": Operation(
        "workspace", {200: r.Joined, 201: r.Tokens}, json=AcceptBody, auth="none", errors=(401, 402, 409, 410, 429)
    ),
    # -- catalog
    "api.list_actuators": Operation("catalog", {200: r.Actuators}, query=ActuatorsQuery),
    "api.get_actuator": Operation("catalog", {200: r.Actuator}),
    "api.create_actuator": Operation("catalog", {201: r.Actuator}, json=OwnActuatorBody),
    "api.update_actuator": Operation("catalog", {200: r.Actuator}, json=OwnActuatorBody),
    "api.delete_actuator": Operation("catalog", {204: None}),
    # -- configurations
    "api.list_configurations": Operation("configurations", {200: r.Configurations}, query=ConfigurationsQuery),
    "api.create_configuration": Operation("configurations", {201: r.Configuration}, json=ConfigurationBody),
    "api.get_configuration": Operation("configurations", {200: r.Configuration}),
    "api.update_configuration": Operation("configurations", {200: r.Configuration}, json=ConfigurationBody),
    "api.archive_configuration": Operation("configurations", {200: r.Configuration}),
    "api.duplicate_configuration": Operation("configurations", {201: r.Configuration}),
    "api.share_configuration": Operation("configurations", {200: r.Shared}, json=ShareBody),
    "api.unshare_configuration": Operation("configurations", {204: None}),
    "api.predict": Operation("configurations", {200: r.PredictAnswer}, json=PredictBody, errors=(404, 409)),
    # -- lab results
    "api.create_feedback": Operation("lab results", {201: r.Feedback}, json=FeedbackBody, errors=(404,)),
    "api.list_configuration_feedback": Operation("lab results", {200: r.FeedbackPage}, query=PerPageQuery),
    "api.update_feedback": Operation("lab results", {200: r.Feedback}, json=FeedbackFields),
    "api.list_feedback_aggregates": Operation("lab results", {200: r.FeedbackAggregates}, query=AggregatesQuery),
    "api.train_custom_model": Operation(
        "custom models", {202: r.TrainingStarted}, json=TrainCustomModelBody, errors=(404,)
    ),
    "api.list_custom_models": Operation("custom models", {200: r.CustomModels}, query=PageQuery),
    "api.get_custom_model": Operation("custom models", {200: r.CustomModel}),
    "api.training_data_export": Operation("platform admin", {200: r.TrainingData}, query=PageQuery, auth="platform"),
    # -- analytics
    "api.analytics_accuracy": Operation("analytics", {200: r.Analytics}, query=AccuracyQuery),
    "api.analytics_usage": Operation("analytics", {200: r.Analytics}, query=UsageQuery),
    "api.analytics_top_configurations": Operation("analytics", {200: r.Analytics}, query=DateRangeQuery),
    # -- API keys
    "api.list_api_keys": Operation("api keys", {200: r.ApiKeys}),
    "api.create_api_key": Operation("api keys", {201: ApiKeyOut}, json=ApiKeyCreateBody, errors=(409,)),
    "api.rotate_api_key": Operation("api keys", {201: ApiKeyOut}, json=ApiKeyRotateBody, errors=(409,)),
    "api.revoke_api_key": Operation("api keys", {204: None}),
    # -- outgoing webhooks
    "api.list_webhook_endpoints": Operation("webhooks", {200: r.WebhookEndpoints}),
    "api.create_webhook_endpoint": Operation("webhooks", {201: r.WebhookEndpoint}, json=WebhookEndpointBody),
    "api.get_webhook_endpoint": Operation("webhooks", {200: r.WebhookEndpoint}),
    "api.update_webhook_endpoint": Operation("webhooks", {200: r.WebhookEndpoint}, json=WebhookEndpointUpdateBody),
    "api.delete_webhook_endpoint": Operation("webhooks", {204: None}),
    "api.test_webhook_endpoint": Operation("webhooks", {202: r.WebhookDelivery}, json=EmptyBody, errors=(409,)),
    "api.rotate_webhook_secret": Operation("webhooks", {200: r.WebhookEndpoint}, json=RotateSecretBody),
    "api.list_webhook_deliveries": Operation("webhooks", {200: r.WebhookDeliveries}, query=PerPageQuery),
    "api.replay_webhook_delivery": Operation("webhooks", {202: r.WebhookDelivery}, json=EmptyBody, errors=(409,)),
    # -- procurement
    "api.compare_procurement_quotes": Operation("procurement", {200: r.Quotes}, json=CompareBody),
    "api.list_procurements": Operation("procurement", {200: r.Procurements}, query=ProcurementsQuery),
    "api.create_procurement": Operation(
        "procurement", {201: r.Procurement}, json=ProcurementBody, errors=(409, 502, 503)
    ),
    "api.get_procurement": Operation("procurement", {200: r.Procurement}),
    "api.update_procurement": Operation(
        "procurement", {200: r.Procurement}, json=ProcurementBody, errors=(409, 502, 503)
    ),
    "api.delete_procurement": Operation("procurement", {200: r.Procurement, 204: None}, errors=(409,)),
    "api.start_procurement_checkout": Operation("procurement", {201: r.Checkout}, errors=(400, 409, 415, 422, 502)),
    "api.get_procurement_payment_status": Operation("procurement", {200: r.PaymentState}),
    # -- billing
    "api.billing_subscribe": Operation("billing", {201: r.SubscriptionCheckout}, json=SubscribeBody, errors=(409, 502)),
    "api.get_billing_subscription": Operation("billing", {200: r.SubscriptionState}),
    "api.billing_change_plan": Operation("billing", {200: r.SubscriptionState}, json=ChangePlanBody, errors=(409, 502)),
    "api.billing_cancel": Operation("billing", {200: r.SubscriptionState}, errors=(409, 502)),
    "api.billing_resume": Operation("billing", {200: r.SubscriptionState}, errors=(409, 502)),
    "api.billing_portal_session": Operation("billing", {200: r.PortalUrl}, errors=(409, 502)),
    "api.list_billing_invoices": Operation("billing", {200: r.Invoices}, query=PerPageQuery),
    "api.get_billing_invoice": Operation("billing", {200: r.Invoice}),
    "api.download_billing_invoice": Operation("billing", {200: None, 302: None}, binary={200: "application/pdf"}),
    # -- platform admin
    "api.admin_list_organizations": Operation(
        "platform admin", {200: r.AdminPage}, query=AdminQuery, auth="platform", errors=(404,)
    ),
    "api.admin_get_organization": Operation("platform admin", {200: r.AdminObject}, auth="platform", errors=(404,)),
    "api.admin_update_organization": Operation(
        "platform admin", {200: r.AdminObject}, json=OrganizationPatch, auth="platform"
    ),
    "api.admin_list_subscriptions": Operation(
        "platform admin", {200: r.AdminPage}, query=AdminQuery, auth="platform", errors=(404,)
    ),
    "api.admin_extend_trial": Operation(
        "platform admin", {200: r.AdminObject}, json=ExtendTrialBody, auth="platform", errors=(409,)
    ),
    "api.admin_suspend": Operation(
        "platform admin", {200: r.AdminObject}, json=ReasonBody, auth="platform", errors=(404, 409)
    ),
    "api.admin_reactivate": Operation(
        "platform admin", {200: r.AdminObject}, json=ReasonBody, auth="platform", errors=(409,)
    ),
    "api.admin_impersonate": Operation(
        "platform admin", {201: r.AdminObject}, json=ImpersonateBody, auth="platform", errors=(409,)
    ),
    "api.admin_audit_logs": Operation(
        "platform admin", {200: r.AdminPage}, query=AdminQuery, auth="platform", errors=(404,)
    ),
    "api.admin_commissions": Operation(
        "platform admin", {200: r.AdminPage}, query=AdminQuery, auth="platform", errors=(404,)
    ),
    "api.admin_monthly_revenue": Operation(
        "platform admin", {200: r.AdminObject}, query=AdminQuery, auth="platform", errors=(404,)
    ),
    "api.admin_metrics": Operation("platform admin", {200: r.AdminObject}, auth="platform", errors=(404,)),
    "api.admin_growth": Operation(
        "platform admin", {200: r.AdminObject}, query=GrowthQuery, auth="platform", errors=(404,)
    ),
    "api.admin_top_organizations": Operation("platform admin", {200: r.AdminObject}, query=TopQuery, auth="platform"),
    "api.admin_usage_violations": Operation("platform admin", {200: r.AdminObject}, auth="platform", errors=(404,)),
    # -- this document
    "api.openapi_document": Operation("reference", {200: r.Open}, auth="none"),
    "api.api_reference": Operation("reference", {200: None}, auth="none", binary={200: "text/html"}),
    # -- the payment provider's events
    "billing.stripe_webhook": Operation("provider webhooks", {200: r.StripeAck}, auth="stripe", errors=(400, 503)),
}
