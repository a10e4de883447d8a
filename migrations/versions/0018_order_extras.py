"""orders: coupon discount and points spent; endless-aisle transfers between stores

Revision ID: 0018_order_extras
Revises: 0017_price_guess
Create Date: 2026-12-02 18:20:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0018_order_extras"
down_revision = "0017_price_guess"
branch_labels = None
depends_on = None

TRANSFER_STATES = (
    "transfer_state IS NULL OR transfer_state IN ('requested', 'in_transit', 'received')"
)


def upgrade():
    op.add_column(
        "orders", sa.Column("discount_cents", sa.BigInteger(), server_default="0", nullable=False)
    )
    op.add_column(
        "orders", sa.Column("points_spent", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column("orders", sa.Column("placed_by_user_id", sa.BigInteger(), nullable=True))
    op.add_column("orders", sa.Column("transfer_from_store_id", sa.BigInteger(), nullable=True))
    op.add_column("orders", sa.Column("transfer_state", sa.String(length=16), nullable=True))
    op.add_column(
        "orders", sa.Column("transfer_sent_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "orders", sa.Column("transfer_received_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("orders", sa.Column("transfer_code_hash", sa.String(length=64), nullable=True))
    op.create_foreign_key(
        op.f("fk_orders_transfer_from_store_id_stores"),
        "orders",
        "stores",
        ["transfer_from_store_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_check_constraint(op.f("ck_orders_discount_cents"), "orders", "discount_cents >= 0")
    op.create_check_constraint(op.f("ck_orders_points_spent"), "orders", "points_spent >= 0")
    op.create_check_constraint(op.f("ck_orders_transfer_state"), "orders", TRANSFER_STATES)
    op.create_index(
        "ix_orders_transfer_from_store_id_id",
        "orders",
        ["transfer_from_store_id", "id"],
        postgresql_where=sa.text("transfer_from_store_id IS NOT NULL"),
    )


def downgrade():
    op.drop_index("ix_orders_transfer_from_store_id_id", table_name="orders")
    op.drop_constraint(op.f("ck_orders_transfer_state"), "orders", type_="check")
    op.drop_constraint(op.f("ck_orders_points_spent"), "orders", type_="check")
    op.drop_constraint(op.f("ck_orders_discount_cents"), "orders", type_="check")
    op.drop_constraint(
        op.f("fk_orders_transfer_from_store_id_stores"), "orders", type_="foreignkey"
    )
    for column in (
        "transfer_code_hash",
        "transfer_received_at",
        "transfer_sent_at",
        "transfer_state",
        "transfer_from_store_id",
        "placed_by_user_id",
        "points_spent",
        "discount_cents",
    ):
        op.drop_column("orders", column)
