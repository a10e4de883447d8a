"""Request and response shapes of stores, hours, nearby search and the map."""

import math
from functools import cache
from zoneinfo import available_timezones

import marshmallow as ma
from marshmallow import ValidationError, validate, validates_schema

from app.fields import PHONE, Bool, Int, QueryBool, Text
from app.geo import lat_field, lng_field, radius_field
from app.pagination import PageArgsSchema, page_schema
from app.stores.models import WEEKDAYS

HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
HHMM_OR_24 = r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$"
CODE = r"^[A-Za-z0-9._-]{1,64}$"


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def valid_timezone(value: str) -> None:
    """An IANA zone name the server knows, e.g. Asia/Taipei."""
    if value not in _zones():
        raise ValidationError("Unknown IANA time zone (e.g. Asia/Taipei).")


# The contract lists the zones, so a client (and a generated test) knows which names exist.
TIMEZONE_DOC = {"example": "Asia/Taipei", "enum": sorted(_zones())}


class RangeSchema(ma.Schema):
    """One opening range; `closes` before `opens` runs past midnight, 00:00-24:00 is all day."""

    opens = Text(
        required=True,
        validate=validate.Regexp(HHMM, error="Use HH:MM."),
        metadata={"example": "09:00"},
    )
    closes = Text(
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

    id = Int(metadata={"example": 42})
    merchant_id = Int(metadata={"example": 3})
    code = Text(allow_none=True, metadata={"example": "TPE-001"})
    name = Text(metadata={"example": "Leaf & Bean Xinyi"})
    address = Text(metadata={"example": "No. 7, Songren Rd"})
    city = Text(metadata={"example": "Taipei"})
    location = ma.fields.Nested(LocationSchema, attribute="position")
    timezone = Text(metadata={"example": "Asia/Taipei"})
    phone = Text(allow_none=True, metadata={"example": "+886 2 1234 5678"})
    pickup_enabled = Bool(metadata={"example": True})
    pickup_hold_minutes = Int(metadata={"example": 120})
    pay_at_store = Bool(metadata={"example": True, "description": "Orders may be paid at the till"})
    pay_online = Bool(metadata={"example": False, "description": "Orders may be paid online"})
    is_active = Bool(metadata={"example": True})
    hours = ma.fields.Nested(WeekHoursSchema)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class StoreUpdateSchema(ma.Schema):
    """Fields a PATCH may change; store managers only hours and pickup settings."""

    code = Text(allow_none=True, validate=validate.Regexp(CODE), metadata={"example": "TPE-001"})
    name = Text(validate=validate.Length(1, 120), metadata={"example": "Leaf & Bean"})
    address = Text(validate=validate.Length(1, 255), metadata={"example": "No. 7, Songren Rd"})
    city = Text(validate=validate.Length(1, 80), metadata={"example": "Taipei"})
    location = ma.fields.Nested(LocationSchema)
    timezone = Text(validate=valid_timezone, metadata=TIMEZONE_DOC)
    phone = Text(
        allow_none=True, validate=validate.Regexp(PHONE), metadata={"example": "+886 2 1234 5678"}
    )
    pickup_enabled = Bool(metadata={"example": True})
    pickup_hold_minutes = Int(validate=validate.Range(5, 10080), metadata={"example": 120})
    pay_at_store = Bool(metadata={"example": True})
    pay_online = Bool(metadata={"example": False})
    is_active = Bool(metadata={"example": True})
    hours = ma.fields.Nested(WeekHoursSchema)


class StoreCreateSchema(StoreUpdateSchema):
    name = Text(
        required=True, validate=validate.Length(1, 120), metadata={"example": "Leaf & Bean"}
    )
    address = Text(
        required=True, validate=validate.Length(1, 255), metadata={"example": "No. 7, Songren Rd"}
    )
    city = Text(required=True, validate=validate.Length(1, 80), metadata={"example": "Taipei"})
    location = ma.fields.Nested(LocationSchema, required=True)
    timezone = Text(required=True, validate=valid_timezone, metadata=TIMEZONE_DOC)


class StoreImportRowSchema(StoreCreateSchema):
    code = Text(required=True, validate=validate.Regexp(CODE), metadata={"example": "TPE-001"})


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
    code = Text(metadata={"example": "TPE-001"})
    id = Int(metadata={"example": 42})
    created = Bool(metadata={"example": True})


class ImportResultSchema(ma.Schema):
    created = Int(metadata={"example": 3})
    updated = Int(metadata={"example": 1})
    items = ma.fields.List(ma.fields.Nested(ImportedStoreSchema))


class AdminListArgsSchema(PageArgsSchema):
    include_inactive = QueryBool(load_default=True, metadata={"example": True})


class HoursExceptionInSchema(ma.Schema):
    """Closed, or special ranges that replace the date's regular hours."""

    closed = Bool(required=True, metadata={"example": False})
    hours = day_ranges(load_default=list)
    note = Text(
        load_default=None, validate=validate.Length(max=200), metadata={"example": "New Year"}
    )

    @validates_schema
    def _closed_or_hours(self, data, **kwargs):
        if data["closed"] == bool(data.get("hours")):
            raise ValidationError("Give hours, or closed=true without hours.", "hours")


class HoursExceptionSchema(ma.Schema):
    date = ma.fields.Date(metadata={"example": "2026-12-31"})
    closed = Bool(metadata={"example": False})
    hours = day_ranges()
    note = Text(allow_none=True, metadata={"example": "New Year"})


class HoursExceptionListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(HoursExceptionSchema))


StorePageSchema = page_schema(StoreSchema, "StorePageSchema")


# --- shopper ---------------------------------------------------------------------------------


class StoreFiltersSchema(ma.Schema):
    open_now = QueryBool(load_default=None, metadata={"example": True})
    pickup = QueryBool(load_default=None, metadata={"example": True})
    merchant_id = ma.fields.Integer(
        load_default=None, validate=validate.Range(1, 2**62), metadata={"example": 3}
    )
    q = Text(load_default=None, validate=validate.Length(1, 80), metadata={"example": "bean"})


class NearbyArgsSchema(StoreFiltersSchema, PageArgsSchema):
    lat = lat_field(required=True)
    lng = lng_field(required=True)
    radius_m = radius_field()


class StoreMerchantSchema(ma.Schema):
    id = Int(metadata={"example": 3})
    name = Text(metadata={"example": "Leaf & Bean"})


class NearbyStoreSchema(ma.Schema):
    id = Int(metadata={"example": 42})
    name = Text(metadata={"example": "Leaf & Bean Xinyi"})
    merchant = ma.fields.Nested(StoreMerchantSchema)
    address = Text(metadata={"example": "No. 7, Songren Rd"})
    location = ma.fields.Nested(LocationSchema)
    distance_m = Int(
        metadata={
            "example": 312,
            "description": "Geodesic (WGS84) metres. Items are ordered by the index's "
            "great-circle distance, which may differ from it by up to ~0.5 %.",
        }
    )
    open_now = Bool(metadata={"example": True})
    next_change_at = Text(
        allow_none=True,
        metadata={
            "example": "2026-11-25T21:30:00+08:00",
            "description": "When open_now flips (closing if open, opening if closed), in the "
            "store's zone; null when not within 7 days.",
        },
    )
    pickup_enabled = Bool(metadata={"example": True})


NearbyPageSchema = page_schema(NearbyStoreSchema, "NearbyPageSchema")


class StoreDetailSchema(NearbyStoreSchema):
    city = Text(metadata={"example": "Taipei"})
    timezone = Text(metadata={"example": "Asia/Taipei"})
    phone = Text(allow_none=True, metadata={"example": "+886 2 1234 5678"})
    pickup_hold_minutes = Int(metadata={"example": 120})
    hours = ma.fields.Nested(WeekHoursSchema)
    today_exception = ma.fields.Nested(HoursExceptionSchema, allow_none=True)

    class Meta:
        exclude = ("distance_m",)


NUMBER = r"-?[0-9]{1,3}(\.[0-9]+)?"
BBOX = f"^{NUMBER},{NUMBER},{NUMBER},{NUMBER}$"


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
    bbox = BBoxField(
        required=True,
        metadata={"type": "string", "pattern": BBOX, "example": "121.50,25.02,121.58,25.06"},
    )


class MapPropertiesSchema(ma.Schema):
    id = Int(metadata={"example": 42})
    name = Text(metadata={"example": "Leaf & Bean Xinyi"})
    merchant_id = Int(metadata={"example": 3})
    open_now = Bool(metadata={"example": True})
    pickup_enabled = Bool(metadata={"example": True})


class PointSchema(ma.Schema):
    type = Text(metadata={"example": "Point"})
    coordinates = ma.fields.List(ma.fields.Float(), metadata={"example": [121.5654, 25.033]})


class FeatureSchema(ma.Schema):
    type = Text(metadata={"example": "Feature"})
    id = Int(metadata={"example": 42})
    geometry = ma.fields.Nested(PointSchema)
    properties = ma.fields.Nested(MapPropertiesSchema)


class FeatureCollectionSchema(ma.Schema):
    type = Text(metadata={"example": "FeatureCollection"})
    features = ma.fields.List(ma.fields.Nested(FeatureSchema))
    truncated = Bool(metadata={"example": False})


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
    available = Int(metadata={"example": 3, "description": "Units on the shelf"})
    reservable = Bool(
        metadata={"example": True, "description": "Shared stock at a pickup store: reservable"}
    )


class CardCouponSchema(ma.Schema):
    campaign_id = Int(metadata={"example": 41})
    title = Text(metadata={"example": "NT$50 off"})
    kind = Text(metadata={"example": "amount_off"})
    value_cents = Int(allow_none=True, metadata={"example": 5000})
    percent_off = Int(allow_none=True, metadata={"example": None})
    red_packet_max_cents = Int(allow_none=True, metadata={"example": None})
    currency = Text(metadata={"example": "TWD"})


class CardCouponsSchema(ma.Schema):
    claimable = Int(metadata={"example": 2, "description": "Campaigns claimable here"})
    best = ma.fields.Nested(
        CardCouponSchema,
        allow_none=True,
        metadata={"description": "The most money off (then the highest percentage)"},
    )


class CardPostSchema(ma.Schema):
    id = Int(metadata={"example": 7})
    title = Text(allow_none=True, metadata={"example": "New autumn blends"})
    kind = Text(metadata={"example": "article"})
    published_at = ma.fields.DateTime(metadata={"example": "2026-11-25T09:00:00+00:00"})


class StoreCardSchema(NearbyStoreSchema):
    distance_m = Int(
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
    truncated = Bool(
        metadata={"example": False, "description": "bbox form: more stores than `limit`"}
    )
