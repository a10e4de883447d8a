"""The framework floor: plain Flask + psycopg2 serving the same queries as shopnear's hot reads,
with the same JSON shapes — no ORM, no marshmallow, no auth, no error handling beyond the basics.

The SQL is imported from shopnear's own modules (compiled to the driver's parameter style), so
both apps always send the same statements; everything else here is deliberately minimal.
"""

import datetime as dt
import json
import os
from zoneinfo import ZoneInfo

import psycopg2
from flask import Flask, Response, request
from sqlalchemy.dialects.postgresql import psycopg2 as pg_dialect

from app.config import sqlalchemy_url
from app.geo import point_ewkt
from app.inventory.availability import _NEARBY as SKU_NEARBY
from app.stores.search import DETAIL, _map_sql, _nearby_sql

DIALECT = pg_dialect.dialect()


def _sql(statement) -> str:
    return str(statement.compile(dialect=DIALECT))


NEARBY_SQL = _sql(_nearby_sql(()))
# nearby_open_pickup's statement: the same filtered SQL shopnear sends for those two filters.
NEARBY_OPEN_PICKUP_SQL = _sql(_nearby_sql(("open_now", "pickup")))
MAP_SQL = _sql(_map_sql((), False))
DETAIL_SQL = _sql(DETAIL)
SKU_NEARBY_SQL = _sql(SKU_NEARBY)

app = Flask(__name__)
_conn = None


def cursor():
    global _conn
    if _conn is None or _conn.closed:
        url = sqlalchemy_url(os.environ["DATABASE_URL"]).replace("+psycopg2", "")
        _conn = psycopg2.connect(url)
        _conn.autocommit = True
    return _conn.cursor()


def _json(body) -> Response:
    return Response(json.dumps(body), mimetype="application/json")


def _local(moment, zone):
    return moment.astimezone(ZoneInfo(zone)).isoformat() if moment else None


@app.get("/healthz")
def healthz():
    return _json({"status": "ok"})


@app.get("/v1/stores/nearby")
def nearby():
    args = request.args
    params = {
        "lat": float(args["lat"]),
        "lng": float(args["lng"]),
        "radius": int(args.get("radius_m", 5000)),
        "limit": 21,
        "now": dt.datetime.now(dt.UTC),
        "after_distance": -1.0,
        "after_id": 0,
    }
    statement = NEARBY_SQL
    if args.get("open_now") == "true" and args.get("pickup") == "true":
        statement = NEARBY_OPEN_PICKUP_SQL
        params.update(open_now=True, pickup=True)
    with cursor() as cur:
        cur.execute(statement, params)
        rows = cur.fetchall()
    items = [
        {
            "id": r[0],
            "name": r[1],
            "merchant": {"id": r[2], "name": r[3]},
            "address": r[4],
            "location": {"lat": r[5], "lng": r[6]},
            "open_now": r[8],
            "next_change_at": _local(r[9], r[10]),
            "pickup_enabled": r[11],
            "distance_m": round(r[7]),
        }
        for r in rows[:20]
    ]
    return _json({"items": items, "next_cursor": None})


@app.get("/v1/stores/map")
def store_map():
    x1, y1, x2, y2 = (float(v) for v in request.args["bbox"].split(","))
    params = {"x1": x1, "x2": x2, "y1": y1, "y2": y2, "limit": 501, "now": dt.datetime.now(dt.UTC)}
    with cursor() as cur:
        cur.execute(MAP_SQL, params)
        rows = cur.fetchall()
    features = [
        {
            "type": "Feature",
            "id": r[0],
            "geometry": {"type": "Point", "coordinates": [r[3], r[4]]},
            "properties": {
                "id": r[0],
                "name": r[1],
                "merchant_id": r[2],
                "open_now": r[5],
                "pickup_enabled": r[6],
            },
        }
        for r in rows[:500]
    ]
    return _json({"type": "FeatureCollection", "features": features, "truncated": len(rows) > 500})


@app.get("/v1/stores/<int:store_id>")
def store_detail(store_id):
    with cursor() as cur:
        cur.execute(DETAIL_SQL, {"store_id": store_id, "now": dt.datetime.now(dt.UTC)})
        r = cur.fetchone()
    if r is None:
        return _json({"status": 404}), 404
    body = {
        "id": r[0],
        "name": r[1],
        "merchant": {"id": r[2], "name": r[3]},
        "address": r[4],
        "location": {"lat": r[6], "lng": r[7]},
        "open_now": r[13],
        "next_change_at": _local(r[14], r[8]),
        "pickup_enabled": r[10],
        "city": r[5],
        "timezone": r[8],
        "phone": r[9],
        "pickup_hold_minutes": r[11],
        "hours": r[12],
        "today_exception": None
        if r[15] is None
        else {"date": r[15].isoformat(), "closed": r[16], "hours": r[17], "note": r[18]},
    }
    response = _json(body)
    response.add_etag()
    return response.make_conditional(request)


@app.get("/v1/skus/<int:sku_id>/nearby")
def sku_nearby(sku_id):
    args = request.args
    lat, lng = float(args["lat"]), float(args["lng"])
    params = {
        "pt": point_ewkt(lat, lng),
        "sku": sku_id,
        "radius": int(args.get("radius_m", 10000)),
        "qty": int(args.get("qty", 1)),
        "after_distance": -1.0,
        "shown": [],
        "limit": 21,
    }
    with cursor() as cur:
        cur.execute(SKU_NEARBY_SQL, params)
        rows = cur.fetchall()
    if not rows:  # the statement says an unknown SKU by no row at all (one NULL row: none near)
        return Response(json.dumps({"status": 404}), status=404, mimetype="application/json")
    items = [
        {
            "store": {"id": r[0], "name": r[1], "address": r[2], "city": r[3]},
            "distance_m": round(r[8]),
            "channel": r[5],
            "available": r[6],
            "reservable": r[5] == "shared" and r[4],
        }
        for r in rows[:20]
        if r[0] is not None
    ]
    return _json({"items": items, "next_cursor": None})
