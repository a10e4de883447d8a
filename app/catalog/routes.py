"""Catalog endpoints: shopper reads and merchant admin."""

from flask.views import MethodView

from app.accounts.permissions import staff_required
from app.blueprint import Blueprint
from app.catalog import lookups, schemas
from app.catalog import service as catalog_service
from app.extensions import db
from app.pagination import PageArgsSchema

catalog_blp = Blueprint("catalog", __name__, url_prefix="/v1", description="Products and SKUs")
admin_catalog_blp = Blueprint(
    "admin: catalog", __name__, url_prefix="/v1/admin", description="The merchant's catalog"
)
EDITORS = ("owner", "operator")


@catalog_blp.route("/products")
class ProductSearch(MethodView):
    @catalog_blp.arguments(schemas.ProductSearchArgsSchema, location="query")
    @catalog_blp.response(200, schemas.PublicProductPageSchema)
    def get(self, args):
        """Search products by title (no sign-in needed); then stock near me per SKU."""
        items, next_cursor = catalog_service.search_products(session=db.session, **args)
        return {"items": items, "next_cursor": next_cursor}


@catalog_blp.route("/products/<int:product_id>")
class PublicProduct(MethodView):
    @catalog_blp.response(200, schemas.PublicProductSchema)
    def get(self, product_id):
        """A product and its SKUs."""
        return catalog_service.public_product(session=db.session, product_id=product_id)


@catalog_blp.route("/skus/<int:sku_id>")
class PublicSku(MethodView):
    @catalog_blp.response(200, schemas.PublicSkuSchema)
    def get(self, sku_id):
        """A SKU with its product's title."""
        return catalog_service.public_sku(session=db.session, sku_id=sku_id)


@admin_catalog_blp.route("/products")
class Products(MethodView):
    @staff_required()
    @admin_catalog_blp.arguments(PageArgsSchema, location="query")
    @admin_catalog_blp.response(200, schemas.ProductPageSchema)
    def get(self, args, staff):
        """The merchant's products, newest first."""
        items, next_cursor = catalog_service.list_products(
            session=db.session, merchant_id=staff.merchant_id, **args
        )
        return {"items": items, "next_cursor": next_cursor}

    @staff_required(*EDITORS)
    @admin_catalog_blp.arguments(schemas.ProductCreateSchema)
    @admin_catalog_blp.response(201, schemas.ProductSchema)
    @admin_catalog_blp.alt_response(409, description="A SKU code is taken")
    def post(self, data, staff):
        """Create a product with its SKUs (owners, operators)."""
        product = catalog_service.create_product(
            session=db.session, merchant_id=staff.merchant_id, data=data
        )
        db.session.commit()
        return product


@admin_catalog_blp.route("/products/<int:product_id>")
class ProductItem(MethodView):
    @staff_required()
    @admin_catalog_blp.response(200, schemas.ProductSchema)
    def get(self, product_id, staff):
        """One product with all its SKUs."""
        return lookups.merchant_product(
            session=db.session, merchant_id=staff.merchant_id, product_id=product_id
        )

    @staff_required(*EDITORS)
    @admin_catalog_blp.arguments(schemas.ProductUpdateSchema)
    @admin_catalog_blp.response(200, schemas.ProductSchema)
    def patch(self, changes, product_id, staff):
        """Change a product (owners, operators)."""
        product = catalog_service.update_product(
            session=db.session,
            merchant_id=staff.merchant_id,
            product_id=product_id,
            changes=changes,
        )
        db.session.commit()
        return product

    @staff_required(*EDITORS)
    @admin_catalog_blp.response(204)
    def delete(self, product_id, staff):
        """Archive a product and its SKUs: they leave the shop, history keeps them."""
        catalog_service.archive_product(
            session=db.session, merchant_id=staff.merchant_id, product_id=product_id
        )
        db.session.commit()


@admin_catalog_blp.route("/products/<int:product_id>/skus")
class ProductSkus(MethodView):
    @staff_required(*EDITORS)
    @admin_catalog_blp.arguments(schemas.SkuCreateSchema)
    @admin_catalog_blp.response(201, schemas.SkuSchema)
    @admin_catalog_blp.alt_response(409, description="The SKU code is taken")
    def post(self, data, product_id, staff):
        """Add a SKU to a product (owners, operators)."""
        sku = catalog_service.add_sku(
            session=db.session, merchant_id=staff.merchant_id, product_id=product_id, data=data
        )
        db.session.commit()
        return sku


@admin_catalog_blp.route("/skus/<int:sku_id>")
class SkuItem(MethodView):
    @staff_required(*EDITORS)
    @admin_catalog_blp.arguments(schemas.SkuUpdateSchema)
    @admin_catalog_blp.response(200, schemas.SkuSchema)
    @admin_catalog_blp.alt_response(409, description="The SKU code is taken")
    def patch(self, changes, sku_id, staff):
        """Change a SKU's code, price or active flag (owners, operators)."""
        sku = catalog_service.update_sku(
            session=db.session, merchant_id=staff.merchant_id, sku_id=sku_id, changes=changes
        )
        db.session.commit()
        return sku
