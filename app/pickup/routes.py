"""Reservation endpoints: shoppers reserve and manage theirs; store staff prepare and hand over."""

from flask import current_app
from flask.views import MethodView

from app import rate_limits
from app.accounts.permissions import (
    StaffContext,
    current_user_id,
    login_required,
    per_user_key,
    staff_required,
)
from app.blueprint import Blueprint, prebuilt_json
from app.extensions import db, limiter
from app.idempotency import IdempotencyHeaderSchema
from app.pagination import PageArgsSchema
from app.pickup import handover, passes, schemas
from app.pickup import service as pickup_service

reservations_blp = Blueprint(
    "reservations", __name__, url_prefix="/v1", description="Store pickup reservations"
)
admin_reservations_blp = Blueprint(
    "admin: reservations",
    __name__,
    url_prefix="/v1/admin",
    description="A store's pickup reservations",
)
HANDLERS = ("owner", "store_manager")
READERS = ("owner", "store_manager", "service")


def _reserve_limit() -> str:
    return current_app.config["RESERVATION_RATE_LIMIT"]


def _scope(staff: StaffContext) -> dict:
    return {
        "merchant_id": staff.merchant_id,
        "store_scope": staff.store_scope,
    }


@reservations_blp.route("/reservations")
class Reservations(MethodView):
    decorators = [limiter.limit(_reserve_limit, key_func=per_user_key("reserve"), methods=["POST"])]

    @login_required
    @reservations_blp.arguments(PageArgsSchema, location="query")
    @reservations_blp.response(200, schemas.ReservationPageSchema)
    def get(self, args):
        """The shopper's reservations, newest first."""
        items, next_cursor = pickup_service.list_own(
            session=db.session, user_id=current_user_id(), **args
        )
        return {"items": items, "next_cursor": next_cursor}

    @login_required
    @reservations_blp.arguments(IdempotencyHeaderSchema, location="headers")
    @reservations_blp.arguments(schemas.ReservationCreateSchema)
    @reservations_blp.response(201, schemas.ReservationCreatedSchema)
    @reservations_blp.alt_response(409, description="Items short (each listed), or a limit hit")
    @reservations_blp.alt_response(429, description="Too many reservations per minute")
    def post(self, headers, data):
        """Hold every item at one store for pickup, or none; shows the pickup code once."""
        reservation = pickup_service.reserve(
            session=db.session,
            user_id=current_user_id(),
            idempotency_key=headers["idempotency_key"],
            **data,
        )
        db.session.commit()
        response = prebuilt_json(reservation)  # built as a dict by the service: no schema dump
        response.status_code = 201
        return response


@reservations_blp.route("/reservations/<uuid:public_id>")
class ReservationItem(MethodView):
    @login_required
    @reservations_blp.response(200, schemas.ReservationSchema)
    def get(self, public_id):
        """One of the shopper's reservations."""
        return pickup_service.get_own(
            session=db.session, user_id=current_user_id(), public_id=str(public_id)
        )


@reservations_blp.route("/reservations/<uuid:public_id>/cancel")
class ReservationCancel(MethodView):
    @login_required
    @reservations_blp.response(200, schemas.ReservationSchema)
    @reservations_blp.alt_response(409, description="No longer active")
    def post(self, public_id):
        """Cancel a reservation; its units go back on sale."""
        reservation = pickup_service.cancel_own(
            session=db.session, user_id=current_user_id(), public_id=str(public_id)
        )
        db.session.commit()
        return prebuilt_json(reservation)


@reservations_blp.route("/reservations/<uuid:public_id>/pass")
class ReservationPass(MethodView):
    @login_required
    @reservations_blp.response(200, schemas.PassSchema)
    @reservations_blp.alt_response(409, description="No longer active")
    def get(self, public_id):
        """A pickup pass to show at the store: a signed token for about a minute, and its QR."""
        return passes.own_pass(
            session=db.session, user_id=current_user_id(), public_id=str(public_id)
        )


@reservations_blp.route("/reservations/<uuid:public_id>/extend")
class ReservationExtend(MethodView):
    @login_required
    @reservations_blp.response(200, schemas.ReservationSchema)
    @reservations_blp.alt_response(409, description="Not reserved, or extended already")
    def post(self, public_id):
        """Hold a reserved reservation longer, once, by the store's hold time."""
        reservation = pickup_service.extend_own(
            session=db.session, user_id=current_user_id(), public_id=str(public_id)
        )
        db.session.commit()
        return reservation


@admin_reservations_blp.route("/stores/<int:store_id>/reservations")
class StoreReservations(MethodView):
    @staff_required(*READERS)
    @admin_reservations_blp.arguments(schemas.StoreReservationArgsSchema, location="query")
    @admin_reservations_blp.response(200, schemas.StaffReservationPageSchema)
    def get(self, args, store_id, staff):
        """A store's reservations, newest first, optionally in one state."""
        items, next_cursor = handover.list_at_store(
            session=db.session, store_id=store_id, **_scope(staff), **args
        )
        return {"items": items, "next_cursor": next_cursor}


@admin_reservations_blp.route("/stores/<int:store_id>/reservations/<uuid:public_id>")
class StoreReservation(MethodView):
    @staff_required(*READERS)
    @admin_reservations_blp.response(200, schemas.StaffReservationSchema)
    def get(self, store_id, public_id, staff):
        """One reservation of the store."""
        return handover.get_at_store(
            session=db.session, store_id=store_id, public_id=str(public_id), **_scope(staff)
        )


@admin_reservations_blp.route("/stores/<int:store_id>/reservations/<uuid:public_id>/ready")
class StoreReservationReady(MethodView):
    @staff_required(*HANDLERS)
    @admin_reservations_blp.response(200, schemas.StaffReservationSchema)
    @admin_reservations_blp.alt_response(409, description="Not in state reserved")
    def post(self, store_id, public_id, staff):
        """The items are prepared at the counter."""
        reservation = handover.mark_ready(
            session=db.session, store_id=store_id, public_id=str(public_id), **_scope(staff)
        )
        db.session.commit()
        return reservation


@admin_reservations_blp.route("/stores/<int:store_id>/reservations/<uuid:public_id>/preparing")
class StoreReservationPreparing(MethodView):
    @staff_required(*HANDLERS)
    @admin_reservations_blp.response(200, schemas.StaffReservationSchema)
    @admin_reservations_blp.alt_response(409, description="Not reserved")
    def post(self, store_id, public_id, staff):
        """Staff started picking the items."""
        reservation = handover.mark_preparing(
            session=db.session, store_id=store_id, public_id=str(public_id), **_scope(staff)
        )
        db.session.commit()
        return reservation


@admin_reservations_blp.route(
    "/stores/<int:store_id>/reservations/<uuid:public_id>/items/<int:sku_id>:short"
)
class StoreReservationShort(MethodView):
    @staff_required(*HANDLERS)
    @admin_reservations_blp.arguments(schemas.ShortSchema)
    @admin_reservations_blp.response(200, schemas.StaffReservationSchema)
    @admin_reservations_blp.alt_response(409, description="Ready or closed already")
    def post(self, data, store_id, public_id, sku_id, staff):
        """Mark units of a line not found: they go back to stock, the shopper is told."""
        reservation = handover.mark_short(
            session=db.session,
            store_id=store_id,
            public_id=str(public_id),
            sku_id=sku_id,
            **data,
            **_scope(staff),
        )
        db.session.commit()
        return reservation


@admin_reservations_blp.route("/stores/<int:store_id>/picklist")
class StorePickList(MethodView):
    @staff_required(*HANDLERS)
    @admin_reservations_blp.arguments(PageArgsSchema, location="query")
    @admin_reservations_blp.response(200, schemas.PickListSchema)
    def get(self, args, store_id, staff):
        """Units to pull per SKU for the oldest reservations not yet ready, with their orders."""
        items, next_cursor = handover.pick_list(
            session=db.session, store_id=store_id, **args, **_scope(staff)
        )
        return {"items": items, "next_cursor": next_cursor}


@admin_reservations_blp.route("/stores/<int:store_id>/reservations:collect")
class StoreReservationCollect(MethodView):
    @staff_required(*HANDLERS)
    @admin_reservations_blp.arguments(schemas.CollectSchema)
    @admin_reservations_blp.response(200, schemas.StaffReservationSchema)
    @admin_reservations_blp.alt_response(409, description="Not ready (or collected already)")
    def post(self, data, store_id, staff):
        """Hand over by the shopper's pickup pass (scanned QR): once, at this store, while fresh."""
        reservation = handover.collect_with_pass(
            session=db.session,
            store_id=store_id,
            staff_user_id=staff.user_id,
            token=data["pass_"],
            **_scope(staff),
        )
        db.session.commit()
        return reservation


@admin_reservations_blp.route("/stores/<int:store_id>/reservations/<uuid:public_id>/pickup")
class StoreReservationPickup(MethodView):
    decorators = [rate_limits.wrong_pickup_codes]

    @staff_required(*HANDLERS)
    @admin_reservations_blp.arguments(schemas.PickupSchema)
    @admin_reservations_blp.response(200, schemas.StaffReservationSchema)
    @admin_reservations_blp.alt_response(409, description="Not ready, or the code is locked")
    def post(self, data, store_id, public_id, staff):
        """Hand over with the shopper's code (5 wrong tries, then a manager override)."""
        try:
            reservation = handover.hand_over(
                session=db.session,
                store_id=store_id,
                public_id=str(public_id),
                staff_user_id=staff.user_id,
                code=data["code"],
                override_reason=data["override_reason"],
                **_scope(staff),
            )
        except pickup_service.WrongCode:
            db.session.commit()  # the wrong try must count although the request fails
            raise
        db.session.commit()
        return reservation


@admin_reservations_blp.route("/stores/<int:store_id>/reservations/<uuid:public_id>/cancel")
class StoreReservationCancel(MethodView):
    @staff_required(*READERS)
    @admin_reservations_blp.arguments(schemas.StaffCancelSchema)
    @admin_reservations_blp.response(200, schemas.StaffReservationSchema)
    @admin_reservations_blp.alt_response(409, description="No longer active")
    def post(self, data, store_id, public_id, staff):
        """Cancel a hold with a reason; its units go back on sale."""
        reservation = handover.cancel_at_store(
            session=db.session,
            store_id=store_id,
            public_id=str(public_id),
            staff_user_id=staff.user_id,
            reason=data["reason"],
            **_scope(staff),
        )
        db.session.commit()
        return reservation
