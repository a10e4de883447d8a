"""Request and response shapes of stores, hours, nearby search and the map."""

import math
from functools import cache
from zoneinfo import available_timezones

import marshmallow as ma
from marshmallow import ValidationError, validate, validates_schema

from app.geo import lat_field, lng_field, radius_field
from app.pagination import PageArgsSchema, page_schema
from app.stores.models import WEEKDAYS

HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
HHMM_OR_24 = r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$"
PHONE = r"^\+?[0-9 ()-]{5,32}$"
CODE = r"^[A-Za-z0-9._-]{1,64}$"


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def valid_timezone(value: str) -> None:
    """An IANA zone name the server knows, e.g. Asia/Taipei."""
    if value not in _zones():
        raise ValidationError("Unknown IANA time zone (e.g. Asia/Taipei).")


class RangeSchema(ma.Schema):
    """One opening range; `closes` before `opens` runs past midnight, 00:00-24:00 is all day."""

    opens = ma.fields.String(
        required=True,
        validate=validate.Regexp(HHMM, error="Use HH:MM."),
        metadata={"example": "09:00"},
    )
    closes = ma.fields.String(
        required=True,
        validate=validate.Regexp(HHMM_OR_24, error="Use HH:MM (24:00 allowed)."),
        metadata={"example": "21:30"},
    )

    @validates_schema
    def _not_empty(self, data, **kwargs):
        if data.get("opens") == data.get("closes"):
            raise ValidationError("Must differ from opens; 00:00-24:00 is all day.", "closes")


def day_ranges(**kwargs) -> ma.fields.List:
    return ma.fields.List(
        ma.fields.Nested(RangeSchema),
        validate=validate.Length(max=6),
        metadata={"example": [{"opens": "09:00", "closes": "21:30"}]},
        **kwargs,
    )


WeekHoursSchema = ma.Schema.from_dict(
    {day: day_ranges() for day in WEEKDAYS}, name="WeekHoursSchema"
)


class LocationSchema(ma.Schema):
    lat = lat_field(required=True)
    lng = lng_field(required=True)


# --- admin -----------------------------------------------------------------------------------


class StoreSchema(ma.Schema):
    """A store as its merchant's staff see it."""

    id = ma.fields.Integer(metadata={"example": 42})
    merchant_id = ma.fields.Integer(metadata={"example": 3})
    code = ma.fields.String(allow_none=True, metadata={"example": "TPE-001"})
    name = ma.fields.String(metadata={"example": "Leaf & Bean Xinyi"})
    address = ma.fields.String(metadata={"example": "No. 7, Songren Rd"})
    city = ma.fields.String(metadata={"example": "Taipei"})
    location = ma.fields.Nested(LocationSchema, attribute="position")
    timezone = ma.fields.String(metadata={"example": "Asia/Taipei"})
    phone = ma.fields.String(allow_none=True, metadata={"example": "+886 2 1234 5678"})
    pickup_enabled = ma.fields.Boolean(metadata={"example": True})
    pickup_hold_minutes = ma.fields.Integer(metadata={"example": 120})
    is_active = ma.fields.Boolean(metadata={"example": True})
    hours = ma.fields.Nested(WeekHoursSchema)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class StoreUpdateSchema(ma.Schema):
    """Fields a PATCH may change; store managers only hours and pickup settings."""

    code = ma.fields.String(
        allow_none=True, validate=validate.Regexp(CODE), metadata={"example": "TPE-001"}
    )
    name = ma.fields.String(validate=validate.Length(1, 120), metadata={"example": "Leaf & Bean"})
    address = ma.fields.String(
        validate=validate.Length(1, 255), metadata={"example": "No. 7, Songren Rd"}
    )
    city = ma.fields.String(validate=validate.Length(1, 80), metadata={"example": "Taipei"})
    location = ma.fields.Nested(LocationSchema)
    timezone = ma.fields.String(validate=valid_timezone, metadata={"example": "Asia/Taipei"})
    phone = ma.fields.String(
        allow_none=True, validate=validate.Regexp(PHONE), metadata={"example": "+886 2 1234 5678"}
    )
    pickup_enabled = ma.fields.Boolean(metadata={"example": True})
    pickup_hold_minutes = ma.fields.Integer(
        validate=validate.Range(5, 10080), metadata={"example": 120}
    )
    is_active = ma.fields.Boolean(metadata={"example": True})
    hours = ma.fields.Nested(WeekHoursSchema)


class StoreCreateSchema(StoreUpdateSchema):
    name = ma.fields.String(
        required=True, validate=validate.Length(1, 120), metadata={"example": "Leaf & Bean"}
    )
    address = ma.fields.String(
        required=True, validate=validate.Length(1, 255), metadata={"example": "No. 7, Songren Rd"}
    )
    city = ma.fields.String(
        required=True, validate=validate.Length(1, 80), metadata={"example": "Taipei"}
    )
    location = ma.fields.Nested(LocationSchema, required=True)
    timezone = ma.fields.String(
        required=True, validate=valid_timezone, metadata={"example": "Asia/Taipei"}
    )


class StoreImportRowSchema(StoreCreateSchema):
    code = ma.fields.String(
        required=True, validate=validate.Regexp(CODE), metadata={"example": "TPE-001"}
    )


class StoreImportSchema(ma.Schema):
    """Up to 1000 stores; all are validated before any is written."""

    stores = ma.fields.List(
        ma.fields.Nested(StoreImportRowSchema), required=True, validate=validate.Length(1, 1000)
    )

    @validates_schema
    def _unique_codes(self, data, **kwargs):
        seen: set[str] = set()
        errors = {}
        for i, row in enumerate(data.get("stores", [])):
            if row["code"] in seen:
                errors[i] = {"code": ["Appears twice in this import."]}
            seen.add(row["code"])
        if errors:
            raise ValidationError({"stores": errors})


class ImportedStoreSchema(ma.Schema):
    code = ma.fields.String(metadata={"example": "TPE-001"})
    id = ma.fields.Integer(metadata={"example": 42})
    created = ma.fields.Boolean(metadata={"example": True})


class ImportResultSchema(ma.Schema):
    created = ma.fields.Integer(metadata={"example": 3})
    updated = ma.fields.Integer(metadata={"example": 1})
    items = ma.fields.List(ma.fields.Nested(ImportedStoreSchema))


class AdminListArgsSchema(PageArgsSchema):
    include_inactive = ma.fields.Boolean(load_default=True, metadata={"example": True})


class HoursExceptionInSchema(ma.Schema):
    """Closed, or special ranges that replace the date's regular hours."""

    closed = ma.fields.Boolean(required=True, metadata={"example": False})
    hours = day_ranges(load_default=list)
    note = ma.fields.String(
        load_default=None, validate=validate.Length(max=200), metadata={"example": "New Year"}
    )

    @validates_schema
    def _closed_or_hours(self, data, **kwargs):
        if data["closed"] == bool(data.get("hours")):
            raise ValidationError("Give hours, or closed=true without hours.", "hours")


class HoursExceptionSchema(ma.Schema):
    date = ma.fields.Date(metadata={"example": "2026-12-31"})
    closed = ma.fields.Boolean(metadata={"example": False})
    hours = day_ranges()
    note = ma.fields.String(allow_none=True, metadata={"example": "New Year"})


class HoursExceptionListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(HoursExceptionSchema))


StorePageSchema = page_schema(StoreSchema, "StorePageSchema")


# --- shopper ---------------------------------------------------------------------------------


class StoreFiltersSchema(ma.Schema):
    open_now = ma.fields.Boolean(load_default=None, metadata={"example": True})
    pickup = ma.fields.Boolean(load_default=None, metadata={"example": True})
    merchant_id = ma.fields.Integer(
        load_default=None, validate=validate.Range(1, 2**62), metadata={"example": 3}
    )
    q = ma.fields.String(
        load_default=None, validate=validate.Length(1, 80), metadata={"example": "bean"}
    )


class NearbyArgsSchema(StoreFiltersSchema, PageArgsSchema):
    lat = lat_field(required=True)
    lng = lng_field(required=True)
    radius_m = radius_field()


class StoreMerchantSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"example": 3})
    name = ma.fields.String(metadata={"example": "Leaf & Bean"})


class NearbyStoreSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"example": 42})
    name = ma.fields.String(metadata={"example": "Leaf & Bean Xinyi"})
    merchant = ma.fields.Nested(StoreMerchantSchema)
    address = ma.fields.String(metadata={"example": "No. 7, Songren Rd"})
    location = ma.fields.Nested(LocationSchema)
    distance_m = ma.fields.Integer(
        metadata={
            "example": 312,
            "description": "Geodesic (WGS84) metres. Items are ordered by the index's "
            "great-circle distance, which may differ from it by up to ~0.5 %.",
        }
    )
    open_now = ma.fields.Boolean(metadata={"example": True})
    next_change_at = ma.fields.String(
        allow_none=True,
        metadata={
            "example": "2026-11-25T21:30:00+08:00",
            "description": "When open_now flips (closing if open, opening if closed), in the "
            "store's zone; null when not within 7 days.",
        },
    )
    pickup_enabled = ma.fields.Boolean(metadata={"example": True})


NearbyPageSchema = page_schema(NearbyStoreSchema, "NearbyPageSchema")


class StoreDetailSchema(NearbyStoreSchema):
    city = ma.fields.String(metadata={"example": "Taipei"})
    timezone = ma.fields.String(metadata={"example": "Asia/Taipei"})
    phone = ma.fields.String(allow_none=True, metadata={"example": "+886 2 1234 5678"})
    pickup_hold_minutes = ma.fields.Integer(metadata={"example": 120})
    hours = ma.fields.Nested(WeekHoursSchema)
    today_exception = ma.fields.Nested(HoursExceptionSchema, allow_none=True)

    class Meta:
        exclude = ("distance_m",)


class BBoxField(ma.fields.Field):
    """`minLng,minLat,maxLng,maxLat`; minLng > maxLng crosses the antimeridian."""

    def _deserialize(self, value, attr, data, **kwargs):
        parts = str(value).split(",")
        if len(parts) != 4:
            raise ValidationError("Use minLng,minLat,maxLng,maxLat.")
        try:
            min_lng, min_lat, max_lng, max_lat = (float(p) for p in parts)
        except ValueError:
            raise ValidationError("Four numbers: minLng,minLat,maxLng,maxLat.") from None
        if not all(math.isfinite(v) for v in (min_lng, min_lat, max_lng, max_lat)):
            raise ValidationError("Numbers must be finite.")
        if not (-180 <= min_lng <= 180 and -180 <= max_lng <= 180):
            raise ValidationError("Longitudes must be within -180..180.")
        if not (-90 <= min_lat < max_lat <= 90):
            raise ValidationError("Latitudes must be within -90..90 with minLat < maxLat.")
        if min_lng == max_lng:
            raise ValidationError("minLng and maxLng must differ.")
        return min_lng, min_lat, max_lng, max_lat


class MapArgsSchema(StoreFiltersSchema):
    bbox = BBoxField(required=True, metadata={"example": "121.50,25.02,121.58,25.06"})


class MapPropertiesSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"example": 42})
    name = ma.fields.String(metadata={"example": "Leaf & Bean Xinyi"})
    merchant_id = ma.fields.Integer(metadata={"example": 3})
    open_now = ma.fields.Boolean(metadata={"example": True})
    pickup_enabled = ma.fields.Boolean(metadata={"example": True})


class PointSchema(ma.Schema):
    type = ma.fields.String(metadata={"example": "Point"})
    coordinates = ma.fields.List(ma.fields.Float(), metadata={"example": [121.5654, 25.033]})


class FeatureSchema(ma.Schema):
    type = ma.fields.String(metadata={"example": "Feature"})
    id = ma.fields.Integer(metadata={"example": 42})
    geometry = ma.fields.Nested(PointSchema)
    properties = ma.fields.Nested(MapPropertiesSchema)


class FeatureCollectionSchema(ma.Schema):
    type = ma.fields.String(metadata={"example": "FeatureCollection"})
    features = ma.fields.List(ma.fields.Nested(FeatureSchema))
    truncated = ma.fields.Boolean(metadata={"example": False})


class CardsArgsSchema(PageArgsSchema):
    """Store cards around a point (lat, lng, radius_m) or in a box (bbox): one of the two."""

    lat = lat_field(load_default=None)
    lng = lng_field(load_default=None)
    radius_m = radius_field()
    bbox = BBoxField(load_default=None, metadata={"example": "121.50,25.02,121.58,25.06"})
    sku_id = ma.fields.Integer(
        load_default=None,
        validate=validate.Range(min=1, max=2**63 - 1),
        metadata={"example": 17, "description": "Also show this SKU's stock at each store."},
    )

    @validates_schema
    def _one_form(self, data, **kwargs):
        point = data.get("lat") is not None, data.get("lng") is not None
        if data.get("bbox") is not None:
            if any(point):
                raise ValidationError("Give either bbox or lat/lng, not both.", "bbox")
            if data.get("cursor") is not None:
                raise ValidationError("The bbox form has one page (zoom in).", "cursor")
        elif not all(point):
            missing = "lng" if point[0] else "lat"
            raise ValidationError("Required (or give bbox).", missing)


class CardStockSchema(ma.Schema):
    available = ma.fields.Integer(metadata={"example": 3, "description": "Units on the shelf"})
    reservable = ma.fields.Boolean(
        metadata={"example": True, "description": "Shared stock at a pickup store: reservable"}
    )


class CardCouponSchema(ma.Schema):
    campaign_id = ma.fields.Integer(metadata={"example": 41})
    title = ma.fields.String(metadata={"example": "NT$50 off"})
    kind = ma.fields.String(metadata={"example": "amount_off"})
    value_cents = ma.fields.Integer(allow_none=True, metadata={"example": 5000})
    percent_off = ma.fields.Integer(allow_none=True, metadata={"example": None})
    red_packet_max_cents = ma.fields.Integer(allow_none=True, metadata={"example": None})
    currency = ma.fields.String(metadata={"example": "TWD"})


class CardCouponsSchema(ma.Schema):
    claimable = ma.fields.Integer(
        metadata={"example": 2, "description": "Campaigns claimable here"}
    )
    best = ma.fields.Nested(
        CardCouponSchema,
        allow_none=True,
        metadata={"description": "The most money off (then the highest percentage)"},
    )


class CardPostSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"example": 7})
    title = ma.fields.String(allow_none=True, metadata={"example": "New autumn blends"})
    kind = ma.fields.String(metadata={"example": "article"})
    published_at = ma.fields.DateTime(metadata={"example": "2026-11-25T09:00:00+00:00"})


class StoreCardSchema(NearbyStoreSchema):
    distance_m = ma.fields.Integer(
        allow_none=True,
        metadata={
            "example": 312,
            "description": "Geodesic metres from lat/lng; null in the bbox form",
        },
    )
    stock = ma.fields.Nested(
        CardStockSchema, allow_none=True, metadata={"description": "With sku_id only"}
    )
    coupons = ma.fields.Nested(CardCouponsSchema)
    latest_post = ma.fields.Nested(CardPostSchema, allow_none=True)


class StoreCardsPageSchema(page_schema(StoreCardSchema, "StoreCardsPage")):
    truncated = ma.fields.Boolean(
        metadata={"example": False, "description": "bbox form: more stores than `limit`"}
    )
