"""orders: online payment for pickups, refunds, the provider's events

Revision ID: 0016_orders
Revises: 0009
Create Date: 2026-12-02 12:40:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0016_orders'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('stores', sa.Column('pay_at_store', sa.Boolean(), server_default='true', nullable=False))
    op.add_column('stores', sa.Column('pay_online', sa.Boolean(), server_default='false', nullable=False))
    op.add_column('reservations', sa.Column('awaiting_payment', sa.Boolean(), server_default='false', nullable=False))
    op.create_table('orders',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('public_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('merchant_id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.BigInteger(), nullable=False),
    sa.Column('reservation_id', sa.BigInteger(), nullable=False),
    sa.Column('fulfilment', sa.String(length=16), server_default='pickup', nullable=False),
    sa.Column('payment_method', sa.String(length=16), nullable=False),
    sa.Column('payment_state', sa.String(length=16), server_default='unpaid', nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('intent_id', sa.String(length=255), nullable=True),
    sa.Column('client_secret', sa.String(length=255), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('unit_prices', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('delivery', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('offers', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tracking_ref', sa.String(length=100), nullable=True),
    sa.Column('shipped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_state', sa.String(length=16), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("fulfilment IN ('pickup', 'ship_from_store')", name=op.f('ck_orders_fulfilment')),
    sa.CheckConstraint("fulfilment = 'pickup' OR delivery IS NOT NULL", name=op.f('ck_orders_delivery')),
    sa.CheckConstraint("payment_method IN ('online', 'at_store')", name=op.f('ck_orders_payment_method')),
    sa.CheckConstraint("payment_state IN ('unpaid', 'paid', 'refunding', 'refunded')", name=op.f('ck_orders_payment_state')),
    sa.CheckConstraint('amount_cents >= 0', name=op.f('ck_orders_amount_cents')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_orders_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_orders_store_id_stores'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reservation_id'], ['reservations.id'], name=op.f('fk_orders_reservation_id_reservations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('public_id', name=op.f('uq_orders_public_id')),
    sa.UniqueConstraint('reservation_id', name=op.f('uq_orders_reservation_id')),
    sa.UniqueConstraint('intent_id', name=op.f('uq_orders_intent_id')),
    )
    op.create_index('ix_orders_user_id_id', 'orders', ['user_id', 'id'])
    op.create_index('ix_orders_store_id_id', 'orders', ['store_id', 'id'])
    # The settle sweep's queue: orders whose end was not yet seen.
    op.create_index('ix_orders_open', 'orders', ['reservation_id'], postgresql_where=sa.text('ended_at IS NULL'))
    op.create_table('order_refunds',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=False),
    sa.Column('merchant_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('state', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('provider_refund_id', sa.String(length=255), nullable=True),
    sa.Column('attempts', sa.SmallInteger(), server_default='0', nullable=False),
    sa.Column('retry_after', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('order', 'return')", name=op.f('ck_order_refunds_kind')),
    sa.CheckConstraint("state IN ('pending', 'succeeded', 'failed')", name=op.f('ck_order_refunds_state')),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_order_refunds_amount_cents')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_refunds_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_refunds')),
    )
    # An order's money goes back whole at most once, whoever asks first.
    op.create_index('uq_order_refunds_whole_order', 'order_refunds', ['order_id'], unique=True, postgresql_where=sa.text("kind = 'order'"))
    op.create_index('ix_order_refunds_pending', 'order_refunds', ['retry_after'], postgresql_where=sa.text("state = 'pending'"))
    op.create_table('order_returns',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=False),
    sa.Column('merchant_id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.BigInteger(), nullable=False),
    sa.Column('staff_user_id', sa.BigInteger(), nullable=False),
    sa.Column('lines', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('refund_method', sa.String(length=16), nullable=False),
    sa.Column('refund_id', sa.BigInteger(), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("refund_method IN ('provider', 'till')", name=op.f('ck_order_returns_refund_method')),
    sa.CheckConstraint('amount_cents >= 0', name=op.f('ck_order_returns_amount_cents')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_returns_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_order_returns_store_id_stores'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['refund_id'], ['order_refunds.id'], name=op.f('fk_order_returns_refund_id_order_refunds'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_returns')),
    )
    op.create_index('ix_order_returns_order_id', 'order_returns', ['order_id'])
    op.create_table('payment_events',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('intent_id', sa.String(length=255), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_events')),
    )
    op.create_index('ix_payment_events_received_at', 'payment_events', ['received_at'])


def downgrade():
    op.drop_table('payment_events')
    op.drop_table('order_returns')
    op.drop_table('order_refunds')
    op.drop_table('orders')
    op.drop_column('reservations', 'awaiting_payment')
    op.drop_column('stores', 'pay_online')
    op.drop_column('stores', 'pay_at_store')
