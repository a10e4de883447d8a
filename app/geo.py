"""Coordinate validation, point construction and distance helpers."""

import marshmallow as ma
from sqlalchemy import func

MAX_RADIUS_M = 50_000


def lat_field(**kwargs) -> ma.fields.Float:
    """Latitude in WGS84 degrees; NaN and infinities refused."""
    return ma.fields.Float(
        validate=ma.validate.Range(-90, 90),
        allow_nan=False,
        metadata={"example": 25.0330},
        **kwargs,
    )


def lng_field(**kwargs) -> ma.fields.Float:
    """Longitude in WGS84 degrees; NaN and infinities refused."""
    return ma.fields.Float(
        validate=ma.validate.Range(-180, 180),
        allow_nan=False,
        metadata={"example": 121.5654},
        **kwargs,
    )


def radius_field(default: int = 5000) -> ma.fields.Integer:
    """A search radius in metres, 1..50 000."""
    return ma.fields.Integer(
        load_default=default,
        validate=ma.validate.Range(1, MAX_RADIUS_M),
        metadata={"example": default},
    )


def point_ewkt(lat: float, lng: float) -> str:
    """EWKT of a WGS84 point (lng first), for ST_GeogFromText. Fixed-point digits: PostGIS does
    not parse exponents such as 1e-305 (a 500 before); 15 decimals keep a normal one's digits."""
    return f"SRID=4326;POINT({lng:.15f} {lat:.15f})"


def sql_point(lat: float | None, lng: float | None):
    """The position as a SQL geography, built once per statement (None without a position)."""
    return None if lat is None else func.ST_GeogFromText(point_ewkt(lat, lng))
