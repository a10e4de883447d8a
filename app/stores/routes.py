"""Store endpoints: shopper reads and merchant admin."""

from flask_smorest import Blueprint

stores_blp = Blueprint(
    "stores", __name__, url_prefix="/v1", description="Nearby stores, store detail and the map"
)
admin_stores_blp = Blueprint(
    "admin: stores", __name__, url_prefix="/v1/admin", description="Stores of the merchant"
)
