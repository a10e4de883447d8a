"""Request and response shapes of webhook endpoints, deliveries and the event feed."""

import marshmallow as ma
from marshmallow import validate
from webargs.fields import DelimitedList

from app.events.models import DELIVERY_STATES
from app.events.service import EVENT_TYPES, SUBSCRIPTIONS
from app.fields import Bool, Int, Text
from app.pagination import FeedArgsSchema, PageArgsSchema, feed_schema, page_schema

URL_EXAMPLE = "https://erp.example.com/hooks/shopnear"
TYPES = ma.fields.List(
    Text(validate=validate.OneOf(SUBSCRIPTIONS)),
    required=True,
    validate=validate.Length(1, len(SUBSCRIPTIONS)),
    metadata={"example": ["reservation.*", "inventory.level.updated"]},
)


class WebhookCreateSchema(ma.Schema):
    url = ma.fields.Url(
        required=True,
        schemes={"https", "http"},
        require_tld=False,
        validate=validate.Length(max=2000),
        metadata={"example": URL_EXAMPLE},
    )
    description = Text(
        load_default=None, validate=validate.Length(max=200), metadata={"example": "Our ERP"}
    )
    event_types = TYPES


class WebhookUpdateSchema(WebhookCreateSchema):
    """Any of the fields of a create (PATCH)."""


class WebhookSchema(ma.Schema):
    id = Int(metadata={"example": 7})
    url = Text(metadata={"example": URL_EXAMPLE})
    description = Text(allow_none=True, metadata={"example": "Our ERP"})
    event_types = ma.fields.List(Text(), metadata={"example": ["*"]})
    enabled = Bool(metadata={"example": True})
    disabled_reason = Text(allow_none=True, metadata={"example": None})
    consecutive_failures = Int(
        metadata={"example": 0, "description": "Deliveries failed for good in a row"}
    )
    last_success_at = ma.fields.DateTime(allow_none=True, metadata={"example": None})
    last_failure_at = ma.fields.DateTime(allow_none=True, metadata={"example": None})
    previous_secret_expires_at = ma.fields.DateTime(
        allow_none=True,
        metadata={"example": None, "description": "Until then the old secret signs too"},
    )
    created_at = ma.fields.DateTime(metadata={"example": "2026-12-02T08:00:00+00:00"})
    updated_at = ma.fields.DateTime(metadata={"example": "2026-12-02T08:00:00+00:00"})


class WebhookWithSecretSchema(WebhookSchema):
    secret = Text(
        metadata={
            "example": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "description": "Shown only in this answer: keep it to verify signatures",
        }
    )


WebhookPageSchema = page_schema(WebhookSchema, "WebhookPageSchema")


class RotateSecretSchema(ma.Schema):
    overlap_hours = Int(
        load_default=24,
        validate=validate.Range(0, 168),
        metadata={"example": 24, "description": "How long the old secret keeps signing too"},
    )


class DeliveryArgsSchema(PageArgsSchema):
    status = Text(
        load_default=None, validate=validate.OneOf(DELIVERY_STATES), metadata={"example": "failed"}
    )


class AttemptSchema(ma.Schema):
    attempted_at = ma.fields.DateTime(metadata={"example": "2026-12-02T08:00:01+00:00"})
    status_code = Int(allow_none=True, metadata={"example": 503})
    duration_ms = Int(metadata={"example": 120})
    response_excerpt = Text(allow_none=True, metadata={"example": "busy"})
    error = Text(allow_none=True, metadata={"example": None})


class DeliverySchema(ma.Schema):
    id = Int(metadata={"example": 991})
    event_id = Text(metadata={"example": "evt_0b9c7a52-7c0e-4c4e-9f0e-7d1f2a3b4c5d"})
    event_type = Text(metadata={"example": "reservation.created"})
    ordering_key = Text(metadata={"example": "reservation:0b9c7a52"})
    sequence = Int(metadata={"example": 1})
    status = Text(metadata={"example": "pending"})
    attempt_count = Int(metadata={"example": 2})
    next_attempt_at = ma.fields.DateTime(allow_none=True, metadata={"example": None})
    created_at = ma.fields.DateTime(metadata={"example": "2026-12-02T08:00:00+00:00"})
    finished_at = ma.fields.DateTime(allow_none=True, metadata={"example": None})
    attempts = ma.fields.List(ma.fields.Nested(AttemptSchema))


DeliveryPageSchema = page_schema(DeliverySchema, "DeliveryPageSchema")


class EventArgsSchema(FeedArgsSchema):
    types = DelimitedList(
        Text(validate=validate.OneOf(EVENT_TYPES)),
        load_default=list,
        validate=validate.Length(1, len(EVENT_TYPES)),
        metadata={"example": "reservation.created,reservation.cancelled"},
    )


class EventSchema(ma.Schema):
    id = Text(metadata={"example": "evt_0b9c7a52-7c0e-4c4e-9f0e-7d1f2a3b4c5d"})
    type = Text(metadata={"example": "inventory.level.updated"})
    merchant_id = Int(metadata={"example": 3})
    ordering_key = Text(metadata={"example": "stock:12:501"})
    sequence = Int(metadata={"example": 41})
    schema_version = Int(metadata={"example": 1})
    occurred_at = ma.fields.DateTime(metadata={"example": "2026-12-02T08:00:00+00:00"})
    timestamp = ma.fields.DateTime(metadata={"example": "2026-12-02T08:00:00+00:00"})
    data = ma.fields.Dict(metadata={"example": {"store_id": 12, "sku_id": 501, "on_hand": 7}})


EventPageSchema = feed_schema(EventSchema, "EventPageSchema")
