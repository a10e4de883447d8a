"""Catalog rules: products and SKUs of one merchant; SKU codes unique within the merchant."""

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.catalog import lookups
from app.catalog.lookups import ProductNotFound, SkuNotFound
from app.catalog.models import Product, Sku
from app.errors import Conflict
from app.pagination import page_by_id


class SkuCodeTaken(Conflict):
    type = "catalog.sku_code_taken"


def _flush_codes(session: Session) -> None:
    try:
        with session.begin_nested():  # a savepoint: the unique index decides, not a prior read
            session.flush()
    except IntegrityError:
        raise SkuCodeTaken("A SKU with this code exists at this merchant.") from None


def create_product(*, session: Session, merchant_id: int, data: dict) -> Product:
    """A product with its first SKUs."""
    skus = [Sku(merchant_id=merchant_id, **sku) for sku in data.pop("skus", [])]
    product = Product(merchant_id=merchant_id, **data, skus=skus)
    session.add(product)
    _flush_codes(session)
    return product


def list_products(
    *, session: Session, merchant_id: int, limit: int, cursor: str | None
) -> tuple[list[Product], str | None]:
    """The merchant's products, newest first."""
    query = select(Product).where(Product.merchant_id == merchant_id)
    return page_by_id(
        session, query, id_column=Product.id, kind="products", limit=limit, cursor=cursor
    )


def update_product(
    *, session: Session, merchant_id: int, product_id: int, changes: dict
) -> Product:
    """Change a product's title, description, images or active flag."""
    product = lookups.merchant_product(
        session=session, merchant_id=merchant_id, product_id=product_id
    )
    for key, value in changes.items():
        setattr(product, key, value)
    return product


def archive_product(*, session: Session, merchant_id: int, product_id: int) -> None:
    """Deactivate a product and its SKUs (rows stay: reservations and history refer to them)."""
    product = lookups.merchant_product(
        session=session, merchant_id=merchant_id, product_id=product_id
    )
    product.is_active = False
    session.execute(update(Sku).where(Sku.product_id == product.id).values(is_active=False))


def add_sku(*, session: Session, merchant_id: int, product_id: int, data: dict) -> Sku:
    """A new SKU of a product."""
    product = lookups.merchant_product(
        session=session, merchant_id=merchant_id, product_id=product_id
    )
    sku = Sku(merchant_id=merchant_id, product_id=product.id, **data)
    session.add(sku)
    _flush_codes(session)
    return sku


def update_sku(*, session: Session, merchant_id: int, sku_id: int, changes: dict) -> Sku:
    """Change a SKU's code, title, price or active flag."""
    sku = lookups.merchant_sku(session=session, merchant_id=merchant_id, sku_id=sku_id)
    for key, value in changes.items():
        setattr(sku, key, value)
    _flush_codes(session)
    return sku


def public_product(*, session: Session, product_id: int) -> dict:
    """An active product with its active SKUs, as shoppers see it."""
    product = session.get(Product, product_id)
    if product is None or not product.is_active:
        raise ProductNotFound("Product not found.")
    return _public(product)


def _public(product: Product) -> dict:
    return {
        "id": product.id,
        "merchant_id": product.merchant_id,
        "title": product.title,
        "description": product.description,
        "image_urls": product.image_urls,
        "skus": [s for s in product.skus if s.is_active],
    }


def search_products(
    *, session: Session, q: str, merchant_id: int | None, limit: int, cursor: str | None
) -> tuple[list[dict], str | None]:
    """Active products whose title holds `q` (any case), with their active SKUs, newest first."""
    query = select(Product).where(
        Product.is_active, func.strpos(func.lower(Product.title), q.lower()) > 0
    )
    if merchant_id is not None:
        query = query.where(Product.merchant_id == merchant_id)
    products, next_cursor = page_by_id(
        session, query, id_column=Product.id, kind="products.search", limit=limit, cursor=cursor
    )
    return [_public(p) for p in products], next_cursor


def public_sku(*, session: Session, sku_id: int) -> dict:
    """An active SKU with its product's title, as shoppers see it."""
    row = session.execute(
        select(Sku, Product.title.label("product_title"))
        .join(Product, Product.id == Sku.product_id)
        .where(Sku.id == sku_id, Sku.is_active, Product.is_active)
    ).first()
    if row is None:
        raise SkuNotFound("SKU not found.")
    sku = row.Sku
    return {
        **{k: getattr(sku, k) for k in ("id", "product_id", "merchant_id", "code", "title")},
        "price_cents": sku.price_cents,
        "currency": sku.currency,
        "product_title": row.product_title,
    }
