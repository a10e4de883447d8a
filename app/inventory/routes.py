"""Stock endpoints: stock near me, the pickup quote, and merchant stock admin."""

from flask.views import MethodView

from app import rate_limits
from app.accounts.permissions import current_user_id, optional_login, staff_required
from app.blueprint import Blueprint, prebuilt_json
from app.extensions import db
from app.idempotency import IdempotencyHeaderSchema
from app.inventory import availability, counts, ledger, schemas, shelf
from app.inventory import service as inventory_service
from app.pagination import PageArgsSchema

stock_blp = Blueprint(
    "stock",
    __name__,
    url_prefix="/v1",
    description="Stock near me and the pickup quote",
)
admin_stock_blp = Blueprint(
    "admin: stock",
    __name__,
    url_prefix="/v1/admin",
    description="Stock per store and POS sync",
)
STOCKISTS = ("owner", "operator", "store_manager")


@stock_blp.route("/stores/<int:store_id>/stock")
class StoreShelf(MethodView):
    decorators = [rate_limits.shopper_reads]

    @stock_blp.arguments(PageArgsSchema, location="query")
    @stock_blp.response(200, schemas.ShelfPageSchema)
    def get(self, args, store_id):
        """What a store holds now: its SKUs with units on the shelf (no sign-in needed)."""
        items, next_cursor = shelf.store_shelf(session=db.session, store_id=store_id, **args)
        return {"items": items, "next_cursor": next_cursor}


@stock_blp.route("/skus/<int:sku_id>/nearby")
class SkuNearby(MethodView):
    decorators = [rate_limits.shopper_reads]

    @stock_blp.arguments(schemas.SkuNearbyArgsSchema, location="query")
    @stock_blp.response(200, schemas.SkuNearbyPageSchema)
    def get(self, args, sku_id):
        """Nearest stores holding a SKU: distance, units available, reservable or in store only."""
        items, next_cursor = availability.skus_nearby(session=db.session, sku_id=sku_id, **args)
        return prebuilt_json({"items": items, "next_cursor": next_cursor})


@stock_blp.route("/pickup/quote")
class PickupQuote(MethodView):
    @optional_login
    @stock_blp.arguments(schemas.QuoteSchema)
    @stock_blp.response(200, schemas.QuoteResultSchema)
    def post(self, data):
        """Nearest stores that can fulfil the whole cart for pickup (else what each lacks)."""
        quote = availability.quote_cart(session=db.session, user_id=current_user_id(), **data)
        return prebuilt_json(quote)


@admin_stock_blp.route("/stores/<int:store_id>/stock/<int:sku_id>")
class StockRow(MethodView):
    @staff_required()
    @admin_stock_blp.response(200, schemas.StockSchema)
    def get(self, store_id, sku_id, staff):
        """One SKU's stock at one store."""
        return inventory_service.get_stock(
            session=db.session,
            merchant_id=staff.merchant_id,
            store_scope=staff.store_scope,
            store_id=store_id,
            sku_id=sku_id,
        )

    @staff_required(*STOCKISTS)
    @admin_stock_blp.arguments(schemas.StockSetSchema)
    @admin_stock_blp.response(200, schemas.StockSchema)
    @admin_stock_blp.alt_response(409, description="on_hand below the units reserved")
    def put(self, data, store_id, sku_id, staff):
        """Set a SKU's channel and on_hand at a store (never below what is reserved)."""
        row = counts.set_stock(
            session=db.session,
            merchant_id=staff.merchant_id,
            store_scope=staff.store_scope,
            store_id=store_id,
            sku_id=sku_id,
            data=data,
        )
        db.session.commit()
        return row


@admin_stock_blp.route("/stock:sync")
class StockSync(MethodView):
    @staff_required(*STOCKISTS)
    @admin_stock_blp.arguments(IdempotencyHeaderSchema, location="headers")
    @admin_stock_blp.arguments(schemas.StockSyncSchema)
    @admin_stock_blp.response(200, schemas.StockSyncResultSchema)
    @admin_stock_blp.alt_response(422, description="Rows rejected (per-row errors); none applied")
    def post(self, headers, data, staff):
        """POS/ERP bulk sync of up to 5000 rows (all or nothing, or the good rows); retry-safe."""
        result = counts.sync_stock(
            session=db.session,
            user_id=current_user_id(),
            merchant_id=staff.merchant_id,
            store_scope=staff.store_scope,
            idempotency_key=headers["idempotency_key"],
            **data,
        )
        db.session.commit()
        return result


@admin_stock_blp.route("/stock/changes")
class StockChanges(MethodView):
    @staff_required()
    @admin_stock_blp.arguments(schemas.StockChangeArgsSchema, location="query")
    @admin_stock_blp.response(200, schemas.StockChangePageSchema)
    def get(self, args, staff):
        """The stock ledger in commit order: every change of on_hand or reserved (resumable)."""
        return ledger.list_changes(
            session=db.session,
            merchant_id=staff.merchant_id,
            store_scope=staff.store_scope,
            **args,
        )
