"""Request and response shapes of products and SKUs."""

import marshmallow as ma
from marshmallow import validate

from app.fields import Bool, Int, Text
from app.pagination import PageArgsSchema, page_schema

ID = validate.Range(1, 2**62)  # every bigint id taken from a client
CODE = Text(
    validate=validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$"),
    metadata={"example": "TEA-OOLONG-100G"},
)
PRICE = Int(validate=validate.Range(0, 10**9), metadata={"example": 34900})  # 349.5 is 422
CURRENCY = Text(validate=validate.Regexp(r"^[A-Z]{3}$"), metadata={"example": "TWD"})
IMAGE_URLS = ma.fields.List(
    ma.fields.URL(schemes={"https"}, validate=validate.Length(max=500)),
    validate=validate.Length(max=10),
    metadata={"example": ["https://img.example.com/oolong.jpg"]},
)


class SkuCreateSchema(ma.Schema):
    code = Text(required=True, validate=CODE.validate, metadata={"example": "TEA-OOLONG-100G"})
    title = Text(
        load_default=None, validate=validate.Length(max=120), metadata={"example": "100 g tin"}
    )
    price_cents = Int(required=True, validate=PRICE.validate, metadata={"example": 34900})
    currency = Text(required=True, validate=CURRENCY.validate, metadata={"example": "TWD"})
    is_active = Bool(load_default=True, metadata={"example": True})


class SkuUpdateSchema(ma.Schema):
    code = CODE
    title = Text(
        allow_none=True, validate=validate.Length(max=120), metadata={"example": "100 g tin"}
    )
    price_cents = PRICE
    currency = CURRENCY
    is_active = Bool(metadata={"example": False})


class SkuSchema(ma.Schema):
    id = Int(metadata={"example": 501})
    product_id = Int(metadata={"example": 77})
    code = Text(metadata={"example": "TEA-OOLONG-100G"})
    title = Text(allow_none=True, metadata={"example": "100 g tin"})
    price_cents = Int(metadata={"example": 34900})
    currency = Text(metadata={"example": "TWD"})
    is_active = Bool(metadata={"example": True})


class ProductCreateSchema(ma.Schema):
    title = Text(
        required=True, validate=validate.Length(1, 200), metadata={"example": "Oolong tea"}
    )
    description = Text(
        load_default=None,
        validate=validate.Length(max=4000),
        metadata={"example": "High-mountain oolong."},
    )
    image_urls = IMAGE_URLS
    is_active = Bool(load_default=True, metadata={"example": True})
    skus = ma.fields.List(
        ma.fields.Nested(SkuCreateSchema),
        load_default=list,
        validate=validate.Length(max=100),
        metadata={"example": [{"code": "TEA-1", "price_cents": 34900, "currency": "TWD"}]},
    )


class ProductUpdateSchema(ma.Schema):
    title = Text(validate=validate.Length(1, 200), metadata={"example": "Oolong tea"})
    description = Text(
        allow_none=True,
        validate=validate.Length(max=4000),
        metadata={"example": "High-mountain oolong."},
    )
    image_urls = IMAGE_URLS
    is_active = Bool(metadata={"example": False})


class ProductSchema(ma.Schema):
    id = Int(metadata={"example": 77})
    merchant_id = Int(metadata={"example": 3})
    title = Text(metadata={"example": "Oolong tea"})
    description = Text(allow_none=True, metadata={"example": "High-mountain oolong."})
    image_urls = ma.fields.List(Text(), metadata={"example": []})
    is_active = Bool(metadata={"example": True})
    created_at = ma.fields.DateTime(metadata={"example": "2026-11-25T16:00:00+00:00"})
    updated_at = ma.fields.DateTime(metadata={"example": "2026-11-25T16:00:00+00:00"})
    skus = ma.fields.List(ma.fields.Nested(SkuSchema))


ProductPageSchema = page_schema(ProductSchema, "ProductPageSchema")


class PublicSkuSchema(ma.Schema):
    id = Int(metadata={"example": 501})
    product_id = Int(metadata={"example": 77})
    merchant_id = Int(metadata={"example": 3})
    product_title = Text(metadata={"example": "Oolong tea"})
    code = Text(metadata={"example": "TEA-OOLONG-100G"})
    title = Text(allow_none=True, metadata={"example": "100 g tin"})
    price_cents = Int(metadata={"example": 34900})
    currency = Text(metadata={"example": "TWD"})


class PublicProductSchema(ma.Schema):
    id = Int(metadata={"example": 77})
    merchant_id = Int(metadata={"example": 3})
    title = Text(metadata={"example": "Oolong tea"})
    description = Text(allow_none=True, metadata={"example": "High-mountain oolong."})
    image_urls = ma.fields.List(Text(), metadata={"example": []})
    skus = ma.fields.List(ma.fields.Nested(SkuSchema))


class ProductSearchArgsSchema(PageArgsSchema):
    q = Text(
        required=True,
        validate=validate.Length(1, 100),
        metadata={"example": "oolong", "description": "Part of the title, any case"},
    )
    merchant_id = ma.fields.Integer(
        load_default=None, validate=validate.Range(min=1), metadata={"example": 3}
    )


PublicProductPageSchema = page_schema(PublicProductSchema, "PublicProductPage")
