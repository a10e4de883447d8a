"""Request and response shapes of the inbox and push devices."""

import marshmallow as ma
from marshmallow import validate

from app.fields import Int, Text
from app.idempotency import StoredDateTime
from app.notifications.messages import KINDS, LOCALES
from app.notifications.models import PLATFORMS, PROVIDERS
from app.pagination import page_schema

LOCALE = Text(
    allow_none=True,
    load_default=None,
    validate=validate.OneOf(LOCALES),
    metadata={"example": "zh-CN"},
)
# An app's installation id: a UUID in practice; any URL-safe id up to 128 characters.
INSTALLATION_ID = validate.Regexp(r"^[A-Za-z0-9._:-]{8,128}$")


class NotificationSchema(ma.Schema):
    id = Int(metadata={"example": 5120})
    kind = Text(metadata={"example": "reservation_ready", "enum": list(KINDS)})
    title = Text(metadata={"example": "Ready for pickup at Leaf & Bean Xinyi"})
    body = Text(
        metadata={"example": "2 × Oat latte are waiting at Leaf & Bean Xinyi, 7 Songren Rd."}
    )
    data = ma.fields.Dict(
        metadata={
            "example": {"reservation_id": "0b7d4f5e-9a51-4c3b-8a6e-7f6f1c2a8e2d", "store_id": 12},
            "description": "What the text was made from: ids to open the right screen.",
        }
    )
    created_at = StoredDateTime(metadata={"example": "2026-12-02T08:00:00+00:00"})
    read_at = StoredDateTime(allow_none=True, metadata={"example": None})


class InboxSchema(page_schema(NotificationSchema, "NotificationPageSchema")):
    unread_count = Int(metadata={"example": 3})


class MarkReadSchema(ma.Schema):
    ids = ma.fields.List(
        Int(validate=validate.Range(1, 2**63 - 1)),
        validate=validate.Length(1, 100),
        metadata={"example": [5120, 5118]},
    )
    up_to = Int(
        validate=validate.Range(1, 2**63 - 1),
        metadata={"example": 5120, "description": "Every notification with this id or older."},
    )

    @ma.validates_schema
    def _one_of(self, data, **kwargs):
        if ("ids" in data) == ("up_to" in data):
            raise ma.ValidationError("Give either ids or up_to.", "ids")


class MarkedSchema(ma.Schema):
    marked = Int(metadata={"example": 2})
    unread_count = Int(metadata={"example": 1})


class DevicePutSchema(ma.Schema):
    platform = Text(
        required=True, validate=validate.OneOf(PLATFORMS), metadata={"example": "android"}
    )
    provider = Text(required=True, validate=validate.OneOf(PROVIDERS), metadata={"example": "fcm"})
    token = Text(
        required=True,
        load_only=True,
        validate=[validate.Length(8, 1024), validate.Regexp(r"^[\x21-\x7e]+$")],
        metadata={"example": "fGz1…:APA91bH…"},
    )
    locale = LOCALE
    app_version = Text(
        load_default=None, validate=validate.Length(1, 32), metadata={"example": "3.14.0"}
    )


class DeviceSchema(ma.Schema):
    installation_id = Text(metadata={"example": "6f1c2a8e-9a51-4c3b-8a6e-0b7d4f5e2d1a"})
    platform = Text(metadata={"example": "android"})
    provider = Text(metadata={"example": "fcm"})
    locale = Text(allow_none=True, metadata={"example": "zh-CN"})
    app_version = Text(allow_none=True, metadata={"example": "3.14.0"})
    created_at = StoredDateTime(metadata={"example": "2026-12-01T08:00:00+00:00"})
    last_seen_at = StoredDateTime(metadata={"example": "2026-12-02T08:00:00+00:00"})


class DeviceListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DeviceSchema))
