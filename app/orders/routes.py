"""Order endpoints: shoppers order, pay and cancel; the provider's webhook; store staff."""

from flask import request
from flask.views import MethodView

from app import idempotency
from app.accounts.permissions import StaffContext, current_user_id, login_required, staff_required
from app.blueprint import Blueprint, prebuilt_json
from app.extensions import db
from app.idempotency import IdempotencyHeaderSchema
from app.orders import aisle, dispatch, lifecycle, payment, returns, schemas, transfers
from app.orders import service as orders_service
from app.orders import staff as store_orders
from app.pagination import PageArgsSchema
from app.payments import provider as payments
from app.pickup import service as pickup_service
from app.pickup.schemas import PickupSchema, StaffCancelSchema

orders_blp = Blueprint("orders", __name__, url_prefix="/v1", description="Orders: pay and collect")
admin_orders_blp = Blueprint(
    "admin: orders", __name__, url_prefix="/v1/admin", description="A store's orders"
)
HANDLERS = ("owner", "store_manager")
READERS = ("owner", "store_manager", "service")
PLACERS = ("owner", "operator", "store_manager")


def _scope(ctx: StaffContext) -> dict:
    return {"merchant_id": ctx.merchant_id, "store_scope": ctx.store_scope}


@orders_blp.route("/orders")
class Orders(MethodView):
    @login_required
    @orders_blp.arguments(PageArgsSchema, location="query")
    @orders_blp.response(200, schemas.OrderPageSchema)
    def get(self, args):
        """The shopper's orders, newest first."""
        items, next_cursor = orders_service.list_own(
            session=db.session, user_id=current_user_id(), **args
        )
        return {"items": items, "next_cursor": next_cursor}

    @login_required
    @orders_blp.arguments(IdempotencyHeaderSchema, location="headers")
    @orders_blp.arguments(schemas.OrderCreateSchema)
    @orders_blp.response(201, schemas.OrderCreatedSchema)
    @orders_blp.alt_response(409, description="Items short, a limit hit, or payment not offered")
    @orders_blp.alt_response(502, description="The payment provider did not answer")
    def post(self, headers, data):
        """Order for pickup: hold every item at the store or none, and start the payment."""
        order = orders_service.place_order(
            session=db.session,
            user_id=current_user_id(),
            idempotency_key=headers["idempotency_key"],
            provider=payments.from_config(),
            **data,
        )
        db.session.commit()
        response = prebuilt_json(order)  # built as a dict by the service: no schema dump
        response.status_code = 201
        return response


@orders_blp.route("/orders/<uuid:order_id>")
class OrderItem(MethodView):
    @login_required
    @orders_blp.response(200, schemas.OrderSchema)
    def get(self, order_id):
        """One of the shopper's orders."""
        return orders_service.get_own(
            session=db.session, user_id=current_user_id(), public_id=str(order_id)
        )


@orders_blp.route("/orders/<uuid:order_id>/pay")
class OrderPay(MethodView):
    @login_required
    @orders_blp.arguments(schemas.OrderPaySchema)
    @orders_blp.response(200, schemas.OrderSchema)
    @orders_blp.alt_response(402, description="Declined: the order stays payable")
    @orders_blp.alt_response(409, description="Not payable (ended, or paid at the store)")
    @orders_blp.alt_response(502, description="The payment provider did not answer")
    def post(self, data, order_id):
        """Pay an online order with a payment method; paid exactly once."""
        order = payment.pay_own(
            session=db.session,
            user_id=current_user_id(),
            public_id=str(order_id),
            provider=payments.from_config(),
            **data,
        )
        db.session.commit()
        return order


@orders_blp.route("/orders/<uuid:order_id>/cancel")
class OrderCancel(MethodView):
    @login_required
    @orders_blp.response(200, schemas.OrderSchema)
    @orders_blp.alt_response(409, description="Being prepared, or ended")
    def post(self, order_id):
        """Cancel an order not yet being prepared; a paid one is refunded."""
        order = lifecycle.cancel_own(
            session=db.session, user_id=current_user_id(), public_id=str(order_id)
        )
        db.session.commit()
        return order


@orders_blp.route("/payments/stripe/webhook")
class StripeWebhook(MethodView):
    @orders_blp.arguments(schemas.StripeSignatureSchema, location="headers")
    @orders_blp.response(200, schemas.WebhookReceivedSchema)
    @orders_blp.alt_response(401, description="Not signed with the endpoint's secret")
    def post(self, _headers):
        """The provider's events, signed (Stripe-Signature); each applied once."""
        event = payments.from_config().parse_webhook(
            body=request.get_data(), headers=request.headers
        )
        fresh = payment.apply_event(session=db.session, event=event)
        db.session.commit()
        return {"received": True, "duplicate": not fresh}


@admin_orders_blp.route("/stores/<int:store_id>/orders")
class StoreOrders(MethodView):
    @staff_required(*READERS)
    @admin_orders_blp.arguments(schemas.StoreOrderArgsSchema, location="query")
    @admin_orders_blp.response(200, schemas.StaffOrderPageSchema)
    def get(self, args, store_id, staff):
        """A store's orders, newest first, optionally in one state."""
        items, next_cursor = store_orders.list_at_store(
            session=db.session, store_id=store_id, **_scope(staff), **args
        )
        return {"items": items, "next_cursor": next_cursor}


@admin_orders_blp.route("/stores/<int:store_id>/orders/<uuid:order_id>")
class StoreOrder(MethodView):
    @staff_required(*READERS)
    @admin_orders_blp.response(200, schemas.StaffOrderSchema)
    def get(self, store_id, order_id, staff):
        """One order of the store."""
        return store_orders.get_at_store(
            session=db.session, store_id=store_id, public_id=str(order_id), **_scope(staff)
        )


def _advance(store_id, order_id, step: str, staff: StaffContext) -> dict:
    order = store_orders.advance(
        session=db.session, store_id=store_id, public_id=str(order_id), step=step, **_scope(staff)
    )
    db.session.commit()
    return order


@admin_orders_blp.route("/stores/<int:store_id>/orders/<uuid:order_id>/preparing")
class StoreOrderPreparing(MethodView):
    @staff_required(*HANDLERS)
    @admin_orders_blp.response(200, schemas.StaffOrderSchema)
    @admin_orders_blp.alt_response(409, description="Not paid, or past this step")
    def post(self, store_id, order_id, staff):
        """Staff started picking the items."""
        return _advance(store_id, order_id, "preparing", staff)


@admin_orders_blp.route("/stores/<int:store_id>/orders/<uuid:order_id>/ready")
class StoreOrderReady(MethodView):
    @staff_required(*HANDLERS)
    @admin_orders_blp.response(200, schemas.StaffOrderSchema)
    @admin_orders_blp.alt_response(409, description="Not paid, or past this step")
    def post(self, store_id, order_id, staff):
        """The items wait at the counter; the shopper is told."""
        return _advance(store_id, order_id, "ready", staff)


@admin_orders_blp.route("/stores/<int:store_id>/orders/<uuid:order_id>/pickup")
class StoreOrderPickup(MethodView):
    @staff_required(*HANDLERS)
    @admin_orders_blp.arguments(PickupSchema)
    @admin_orders_blp.response(200, schemas.StaffOrderSchema)
    @admin_orders_blp.alt_response(409, description="Not ready, or the code is locked")
    def post(self, data, store_id, order_id, staff):
        """Hand over with the shopper's code (5 wrong tries, then a manager override)."""
        try:
            order = store_orders.hand_over(
                session=db.session,
                store_id=store_id,
                public_id=str(order_id),
                staff_user_id=staff.user_id,
                **data,
                **_scope(staff),
            )
        except pickup_service.WrongCode:
            db.session.commit()  # the wrong try must count although the request fails
            raise
        db.session.commit()
        return order


@admin_orders_blp.route("/stores/<int:store_id>/orders/<uuid:order_id>/cancel")
class StoreOrderCancel(MethodView):
    @staff_required(*READERS)
    @admin_orders_blp.arguments(StaffCancelSchema)
    @admin_orders_blp.response(200, schemas.StaffOrderSchema)
    @admin_orders_blp.alt_response(409, description="Ended already")
    def post(self, data, store_id, order_id, staff):
        """Cancel an order with a reason; its units go back on sale, a paid one is refunded."""
        order = store_orders.cancel_at_store(
            session=db.session,
            store_id=store_id,
            public_id=str(order_id),
            staff_user_id=staff.user_id,
            **data,
            **_scope(staff),
        )
        db.session.commit()
        return order


@admin_orders_blp.route("/stores/<int:store_id>/orders/<uuid:order_id>:accept")
class StoreOrderAccept(MethodView):
    @staff_required(*HANDLERS)
    @admin_orders_blp.response(200, schemas.StaffOrderSchema)
    @admin_orders_blp.alt_response(409, description="Not offered to this store (any more)")
    def post(self, store_id, order_id, staff):
        """Take a web order offered to this store: its hold stays here to pack and ship."""
        order = dispatch.accept(
            session=db.session, store_id=store_id, public_id=str(order_id), **_scope(staff)
        )
        db.session.commit()
        return order


@admin_orders_blp.route("/stores/<int:store_id>/orders/<uuid:order_id>:reject")
class StoreOrderReject(MethodView):
    @staff_required(*HANDLERS)
    @admin_orders_blp.arguments(schemas.OrderRejectSchema)
    @admin_orders_blp.response(200, schemas.StaffOrderSchema)
    @admin_orders_blp.alt_response(409, description="Not offered to this store (any more)")
    def post(self, data, store_id, order_id, staff):
        """Turn down a web order with a reason: it is offered to the next store that can fill it."""
        order = dispatch.reject(
            session=db.session,
            store_id=store_id,
            public_id=str(order_id),
            staff_user_id=staff.user_id,
            **data,
            **_scope(staff),
        )
        db.session.commit()
        return order


@admin_orders_blp.route("/stores/<int:store_id>/orders/<uuid:order_id>:ship")
class StoreOrderShip(MethodView):
    @staff_required(*HANDLERS)
    @admin_orders_blp.arguments(schemas.ShipSchema)
    @admin_orders_blp.response(200, schemas.StaffOrderSchema)
    @admin_orders_blp.alt_response(409, description="Not accepted")
    def post(self, data, store_id, order_id, staff):
        """Shipped with the carrier's tracking reference; the units leave the store's stock."""
        order = dispatch.ship(
            session=db.session,
            store_id=store_id,
            public_id=str(order_id),
            staff_user_id=staff.user_id,
            **data,
            **_scope(staff),
        )
        db.session.commit()
        return order


@admin_orders_blp.route("/stores/<int:store_id>/returns")
class StoreReturns(MethodView):
    @staff_required(*HANDLERS)
    @admin_orders_blp.arguments(IdempotencyHeaderSchema, location="headers")
    @admin_orders_blp.arguments(schemas.ReturnCreateSchema)
    @admin_orders_blp.response(201, schemas.ReturnSchema)
    @admin_orders_blp.alt_response(409, description="Not collected, past the window, or returned")
    def post(self, headers, data, store_id, staff):
        """Take back lines of an order at this store: restocked here, the money given back."""
        outcome = idempotency.run_once(
            session=db.session,
            user_id=staff.user_id,
            scope=f"orders.return:{staff.merchant_id}",
            key=headers["idempotency_key"],
            payload={**data, "store_id": store_id},
            work=lambda: (
                201,
                returns.return_lines(
                    session=db.session,
                    store_id=store_id,
                    staff_user_id=staff.user_id,
                    **data,
                    **_scope(staff),
                ),
            ),
        )
        db.session.commit()
        return outcome.body, outcome.status


@admin_orders_blp.route("/stores/<int:store_id>/aisle")
class StoreAisle(MethodView):
    @staff_required("owner", "operator", "store_manager", "service")
    @admin_orders_blp.arguments(schemas.AisleArgsSchema, location="query")
    @admin_orders_blp.response(200, schemas.AisleSchema)
    def get(self, args, store_id, staff):
        """The endless aisle: what the merchant's other stores and online pool hold of a SKU."""
        return aisle.look(session=db.session, store_id=store_id, **args, **_scope(staff))


@admin_orders_blp.route("/stores/<int:store_id>/aisle/orders")
class StoreAisleOrders(MethodView):
    @staff_required(*PLACERS)
    @admin_orders_blp.arguments(IdempotencyHeaderSchema, location="headers")
    @admin_orders_blp.arguments(schemas.AisleOrderCreateSchema)
    @admin_orders_blp.response(201, schemas.AisleOrderCreatedSchema)
    @admin_orders_blp.alt_response(409, description="The source store cannot hold the cart")
    def post(self, headers, data, store_id, staff):
        """Order for the shopper here from another store's stock: a transfer, or shipped."""
        order = aisle.place(
            session=db.session,
            store_id=store_id,
            staff_user_id=staff.user_id,
            idempotency_key=headers["idempotency_key"],
            **data,
            **_scope(staff),
        )
        db.session.commit()
        response = prebuilt_json(order)  # built as a dict by the service: no schema dump
        response.status_code = 201
        return response


@admin_orders_blp.route("/stores/<int:store_id>/orders/<uuid:order_id>:send")
class StoreOrderSend(MethodView):
    @staff_required(*PLACERS)
    @admin_orders_blp.response(200, schemas.StaffOrderSchema)
    @admin_orders_blp.alt_response(409, description="Not a transfer waiting to be sent")
    def post(self, store_id, order_id, staff):
        """The source store sends a transfer's held units on their way (in_transit)."""
        order = transfers.send(
            session=db.session,
            store_id=store_id,
            public_id=str(order_id),
            staff_user_id=staff.user_id,
            **_scope(staff),
        )
        db.session.commit()
        return order


@admin_orders_blp.route("/stores/<int:store_id>/orders/<uuid:order_id>:receive")
class StoreOrderReceive(MethodView):
    @staff_required(*PLACERS)
    @admin_orders_blp.response(200, schemas.StaffOrderSchema)
    @admin_orders_blp.alt_response(409, description="Not on its way (received already)")
    def post(self, store_id, order_id, staff):
        """The collecting store receives a transfer: into its stock, held for the shopper."""
        order = transfers.receive(
            session=db.session, store_id=store_id, public_id=str(order_id), **_scope(staff)
        )
        db.session.commit()
        return order
