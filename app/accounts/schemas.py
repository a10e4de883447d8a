"""Request and response shapes of accounts and staff."""

import marshmallow as ma
from marshmallow import validate

from app.accounts.models import ROLES
from app.fields import PHONE, Int, Text
from app.notifications.messages import LOCALES

EMAIL = ma.fields.Email(
    required=True, validate=validate.Length(max=254), metadata={"example": "mei@example.com"}
)


class RegisterSchema(ma.Schema):
    email = EMAIL
    password = Text(
        required=True,
        load_only=True,
        validate=validate.Length(10, 128),
        metadata={"example": "correct horse battery"},
    )
    display_name = Text(required=True, validate=validate.Length(1, 80), metadata={"example": "Mei"})
    phone = Text(
        load_default=None,
        validate=validate.Regexp(PHONE),
        metadata={"example": "+886 2 1234 5678"},
    )


class LoginSchema(ma.Schema):
    email = Text(
        required=True, validate=validate.Length(1, 254), metadata={"example": "mei@example.com"}
    )
    password = Text(
        required=True,
        load_only=True,
        validate=validate.Length(1, 128),
        metadata={"example": "correct horse battery"},
    )


class RefreshSchema(ma.Schema):
    refresh_token = Text(
        required=True, validate=validate.Length(1, 200), metadata={"example": "r1Xq…"}
    )


class TokensSchema(ma.Schema):
    access_token = Text(metadata={"example": "eyJhbGciOi…"})
    refresh_token = Text(metadata={"example": "r1Xq…"})
    token_type = Text(metadata={"example": "Bearer"})
    expires_in = Int(metadata={"example": 900})


class UserSchema(ma.Schema):
    id = Int(dump_only=True, metadata={"example": 7})
    email = Text(dump_only=True, metadata={"example": "mei@example.com"})
    display_name = Text(metadata={"example": "Mei"})
    phone = Text(allow_none=True, metadata={"example": "+886 2 1234 5678"})
    locale = Text(
        allow_none=True,
        metadata={"example": "zh-CN", "description": "Language of notifications and pushes"},
    )
    created_at = ma.fields.DateTime(dump_only=True)


class UserUpdateSchema(ma.Schema):
    display_name = Text(validate=validate.Length(1, 80), metadata={"example": "Mei"})
    phone = Text(
        allow_none=True,
        validate=validate.Regexp(PHONE),
        metadata={"example": "+886 2 1234 5678"},
    )
    locale = Text(allow_none=True, validate=validate.OneOf(LOCALES), metadata={"example": "zh-CN"})


class MerchantSchema(ma.Schema):
    id = Int(dump_only=True, metadata={"example": 3})
    name = Text(metadata={"example": "Leaf & Bean"})
    slug = Text(dump_only=True, metadata={"example": "leaf-bean-1a2b3c"})
    description = Text(allow_none=True, metadata={"example": "Tea and coffee"})
    created_at = ma.fields.DateTime(dump_only=True)


class MerchantUpdateSchema(ma.Schema):
    name = Text(validate=validate.Length(1, 120), metadata={"example": "Leaf & Bean"})
    description = Text(
        allow_none=True, validate=validate.Length(max=2000), metadata={"example": "Tea and coffee"}
    )


class StaffSchema(ma.Schema):
    user_id = Int(metadata={"example": 7})
    email = Text(attribute="user.email", metadata={"example": "mgr@example.com"})
    display_name = Text(attribute="user.display_name", metadata={"example": "Mgr"})
    role = Text(metadata={"example": "store_manager"})
    store_ids = ma.fields.List(Int(), metadata={"example": [12]})
    created_at = ma.fields.DateTime()


class StaffListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(StaffSchema))


class StaffCreateSchema(ma.Schema):
    email = EMAIL
    role = Text(
        required=True, validate=validate.OneOf(ROLES), metadata={"example": "store_manager"}
    )
    store_ids = ma.fields.List(
        Int(validate=validate.Range(1, 2**62)),
        load_default=list,
        validate=validate.Length(max=1000),
        metadata={"example": [12]},
    )


class StaffUpdateSchema(ma.Schema):
    role = Text(validate=validate.OneOf(ROLES), metadata={"example": "operator"})
    store_ids = ma.fields.List(
        Int(validate=validate.Range(1, 2**62)),
        validate=validate.Length(max=1000),
        metadata={"example": [12]},
    )


class StaffSelfSchema(ma.Schema):
    """The caller's own place at the merchant an admin request acts for."""

    user_id = Int(metadata={"example": 12})
    merchant_id = Int(metadata={"example": 3})
    role = Text(metadata={"example": "store_manager"})
    store_ids = ma.fields.List(
        Int(),
        metadata={"example": [42], "description": "The stores of a store manager; empty: all"},
    )
