"""Store endpoints: shopper reads and merchant admin."""

import datetime as dt

from flask import make_response, request
from flask.views import MethodView

from app import cache, idempotency, rate_limits
from app.accounts.permissions import (
    StaffContext,
    current_user_id,
    optional_login,
    staff_required,
)
from app.blueprint import Blueprint, prebuilt_json
from app.clock import now
from app.content_types import accepts
from app.errors import Forbidden
from app.extensions import db
from app.pagination import decode_cursor, encode_cursor
from app.stores import cards, lookups, schemas, search
from app.stores import service as stores_service
from app.stores.csv_import import CSV, StoreImportParser

stores_blp = Blueprint(
    "stores", __name__, url_prefix="/v1", description="Nearby stores, store detail and the map"
)
admin_stores_blp = Blueprint(
    "admin: stores", __name__, url_prefix="/v1/admin", description="Stores of the merchant"
)
admin_stores_blp.ARGUMENTS_PARSER = StoreImportParser()  # JSON as usual, plus the CSV import
EDITORS = ("owner", "operator")
STORE = schemas.StoreSchema()
HOURS_EDITORS = ("owner", "operator", "store_manager")


@stores_blp.route("/stores/nearby")
class NearbyStores(MethodView):
    decorators = [rate_limits.shopper_reads]

    @stores_blp.arguments(schemas.NearbyArgsSchema, location="query")
    @stores_blp.response(200, schemas.NearbyPageSchema)
    def get(self, args):
        """Stores near a point, nearest first (no sign-in needed)."""
        filters = {key: args.pop(key) for key in ("open_now", "pickup", "merchant_id", "q")}
        return prebuilt_json(
            search.stores_near(session=db.session, filters=filters, now=now(), **args)
        )


@stores_blp.route("/stores/cards")
class StoreCards(MethodView):
    decorators = [rate_limits.shopper_reads]

    @optional_login
    @stores_blp.arguments(schemas.CardsArgsSchema, location="query")
    @stores_blp.response(200, schemas.StoreCardsPageSchema)
    def get(self, args):
        """Map pins in one call: distance, open now, pickup, a SKU's stock, coupons, latest post."""
        extra = {"sku_id": args.pop("sku_id"), "user_id": current_user_id(), "now": now()}
        if args["bbox"] is not None:
            body = cards.cards_in_bbox(
                session=db.session, bbox=args["bbox"], limit=args["limit"], **extra
            )
        else:
            del args["bbox"]
            body = cards.cards_near(session=db.session, **args, **extra)
        return prebuilt_json(body)


@stores_blp.route("/stores/map")
class StoresMap(MethodView):
    decorators = [rate_limits.shopper_reads]

    @stores_blp.arguments(schemas.MapArgsSchema, location="query")
    @stores_blp.response(200, schemas.FeatureCollectionSchema)
    def get(self, args):
        """Stores in a lng/lat box as GeoJSON (at most 500; `truncated` says when more)."""
        bbox = args.pop("bbox")
        return prebuilt_json(
            search.stores_in_bbox(session=db.session, bbox=bbox, filters=args, now=now())
        )


@stores_blp.route("/stores/<int:store_id>")
class StoreDetail(MethodView):
    @stores_blp.response(200, schemas.StoreDetailSchema)
    @stores_blp.alt_response(304, description="Not modified (If-None-Match)")
    def get(self, store_id):
        """One store with this week's hours and today's exception."""
        at = now()
        detail = cache.cached(
            "store",
            store_id,
            lambda: search.store_detail(session=db.session, store_id=store_id, now=at),
            fresh_for=lambda body: search.detail_fresh_for(body, at),
        )
        response = prebuilt_json(detail)
        response.add_etag()
        return response.make_conditional(request)


@admin_stores_blp.route("/stores")
class AdminStores(MethodView):
    @staff_required()
    @admin_stores_blp.arguments(schemas.AdminListArgsSchema, location="query")
    @admin_stores_blp.response(200, schemas.StorePageSchema)
    def get(self, args, staff: StaffContext):
        """The merchant's stores (store managers: their own), by id."""
        stores, last_id = stores_service.list_stores(
            session=db.session,
            merchant_id=staff.merchant_id,
            store_ids=staff.store_ids if staff.role == "store_manager" else None,
            after_id=decode_cursor("stores.admin", args["cursor"]),
            limit=args["limit"],
            include_inactive=args["include_inactive"],
        )
        cursor = encode_cursor("stores.admin", last_id) if last_id else None
        return {"items": stores, "next_cursor": cursor}

    @staff_required(*EDITORS)
    @admin_stores_blp.arguments(schemas.StoreCreateSchema)
    @admin_stores_blp.arguments(idempotency.IdempotencyHeaderSchema, location="headers")
    @admin_stores_blp.response(201, schemas.StoreSchema)
    @admin_stores_blp.alt_response(409, description="Another store of yours has this code")
    def post(self, data, headers, staff: StaffContext):
        """Create a store (owners, operators); retries with the same Idempotency-Key are safe."""
        outcome = idempotency.run_once(
            session=db.session,
            user_id=staff.user_id,
            scope=f"stores.create:{staff.merchant_id}",
            key=headers["idempotency_key"],
            payload=data,
            work=lambda: (201, STORE.dump(_create(data, staff))),
        )
        db.session.commit()
        # Dumped once when first made (a replay is the stored JSON): sent as is.
        return make_response(outcome.body, outcome.status)


def _create(data: dict, staff: StaffContext):
    return stores_service.create_store(session=db.session, merchant_id=staff.merchant_id, data=data)


@admin_stores_blp.route("/stores:import")
class AdminStoresImport(MethodView):
    @staff_required(*EDITORS)
    @accepts(CSV)
    @admin_stores_blp.arguments(
        schemas.StoreImportSchema,
        description="JSON as shown, or text/csv with a header line: code,name,address,city,"
        "lat,lng,timezone and optionally phone,pickup_enabled,pickup_hold_minutes,is_active,"
        "hours (a JSON cell). Errors name rows from 0 (the first line after the header).",
    )
    @admin_stores_blp.response(200, schemas.ImportResultSchema)
    def post(self, data, staff: StaffContext):
        """Create or update (by code) up to 1000 stores; any bad row and nothing is written."""
        result = stores_service.import_stores(
            session=db.session, merchant_id=staff.merchant_id, rows=data["stores"]
        )
        db.session.commit()
        return result


def _require_manager_fields(staff: StaffContext, changes: dict) -> None:
    extra = sorted(set(changes) - stores_service.MANAGER_FIELDS)
    if staff.role == "store_manager" and extra:
        raise Forbidden(
            f"Store managers may change only hours and pickup settings, not: {', '.join(extra)}.",
            type="stores.field_forbidden",
        )


@admin_stores_blp.route("/stores/<int:store_id>")
class AdminStore(MethodView):
    @staff_required()
    @admin_stores_blp.response(200, schemas.StoreSchema)
    def get(self, store_id, staff: StaffContext):
        """One store of the merchant."""
        return lookups.merchant_store(
            session=db.session,
            merchant_id=staff.merchant_id,
            store_id=store_id,
            scope=staff.store_scope,
        )

    @staff_required(*HOURS_EDITORS)
    @admin_stores_blp.arguments(schemas.StoreUpdateSchema)
    @admin_stores_blp.response(200, schemas.StoreSchema)
    def patch(self, changes, store_id, staff: StaffContext):
        """Change a store (store managers: hours and pickup settings of their stores)."""
        staff.require_store(store_id)
        _require_manager_fields(staff, changes)
        store = stores_service.update_store(
            session=db.session, merchant_id=staff.merchant_id, store_id=store_id, changes=changes
        )
        db.session.commit()
        return store

    @staff_required(*EDITORS)
    @admin_stores_blp.response(204)
    def delete(self, store_id, staff: StaffContext):
        """Deactivate a store: shoppers no longer find it (owners, operators)."""
        stores_service.deactivate_store(
            session=db.session, merchant_id=staff.merchant_id, store_id=store_id
        )
        db.session.commit()


@admin_stores_blp.route("/stores/<int:store_id>/hours-exceptions")
class AdminHoursExceptions(MethodView):
    @staff_required()
    @admin_stores_blp.response(200, schemas.HoursExceptionListSchema)
    def get(self, store_id, staff: StaffContext):
        """Date exceptions of a store from yesterday on."""
        staff.require_store(store_id)
        items = stores_service.list_exceptions(
            session=db.session,
            merchant_id=staff.merchant_id,
            store_id=store_id,
            since=now().date() - dt.timedelta(days=1),
        )
        return {"items": items}


@admin_stores_blp.route("/stores/<int:store_id>/hours-exceptions/<date:day>")
class AdminHoursException(MethodView):
    @staff_required(*HOURS_EDITORS)
    @admin_stores_blp.arguments(schemas.HoursExceptionInSchema)
    @admin_stores_blp.response(200, schemas.HoursExceptionSchema)
    def put(self, data, store_id, day, staff: StaffContext):
        """Set one date's hours: closed, or special ranges replacing the regular ones."""
        staff.require_store(store_id)
        exception = stores_service.put_exception(
            session=db.session,
            merchant_id=staff.merchant_id,
            store_id=store_id,
            day=day,
            data=data,
        )
        db.session.commit()
        return exception

    @staff_required(*HOURS_EDITORS)
    @admin_stores_blp.response(204)
    def delete(self, store_id, day, staff: StaffContext):
        """Back to the regular hours on that date."""
        staff.require_store(store_id)
        stores_service.delete_exception(
            session=db.session, merchant_id=staff.merchant_id, store_id=store_id, day=day
        )
        db.session.commit()
