"""data bus: the outbox, webhooks and deliveries, the stock ledger and its triggers

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 07:49:02.516247

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0011'
branch_labels = None
depends_on = None

class _Xid8(sa.types.UserDefinedType):
    cache_ok = True

    def get_col_spec(self, **kw):
        return "xid8"


XID8 = _Xid8()

# One sequence per (merchant, ordering key): the upsert's row lock is held until commit, so the
# events of one key commit in sequence order.
FUNCTIONS = """
CREATE FUNCTION next_event_sequence(p_merchant bigint, p_key text) RETURNS bigint
LANGUAGE sql AS $$
  INSERT INTO event_sequences AS s (merchant_id, ordering_key, last_sequence)
  VALUES (p_merchant, p_key, 1)
  ON CONFLICT (merchant_id, ordering_key) DO UPDATE SET last_sequence = s.last_sequence + 1
  RETURNING last_sequence
$$;

-- Fan-out when the event is written: one pending delivery per enabled endpoint of the merchant
-- that wants the type ('*', the type itself, or '<domain>.*').
CREATE FUNCTION events_fan_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO webhook_deliveries (merchant_id, endpoint_id, event_id, ordering_key, sequence)
  SELECT n.merchant_id, e.id, n.id, n.ordering_key, n.sequence
  FROM new_events n
  JOIN webhook_endpoints e ON e.merchant_id = n.merchant_id AND e.enabled
  WHERE e.event_types && ARRAY['*', n.type, split_part(n.type, '.', 1) || '.*']::varchar[]
  ORDER BY n.id, e.id;
  RETURN NULL;
END $$;
CREATE TRIGGER events_fan_out AFTER INSERT ON events REFERENCING NEW TABLE AS new_events
  FOR EACH STATEMENT EXECUTE FUNCTION events_fan_out();

CREATE TYPE stock_level_change AS (
  merchant_id bigint, store_id bigint, sku_id bigint, channel text, on_hand int, reserved int,
  old_channel text, old_on_hand int, old_reserved int
);

-- Every change of on_hand or reserved, whichever code path made it, becomes a ledger row and an
-- inventory.level.updated event. The reason and reference come from transaction-local settings
-- (set_config(..., true): safe behind PgBouncer in transaction mode). A seed writes the opening
-- balance to the ledger without events; `shopnear.outbox = off` (the bench's "without" run)
-- writes no events.
CREATE FUNCTION stock_record_changes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_reason text := coalesce(nullif(current_setting('shopnear.stock_reason', true), ''),
                            'unspecified');
  v_ref text := nullif(current_setting('shopnear.stock_ref', true), '');
  v_events boolean := v_reason <> 'seed'
                      AND coalesce(current_setting('shopnear.outbox', true), '') <> 'off';
  v_rows stock_level_change[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(ROW(n.merchant_id, n.store_id, n.sku_id, n.channel, n.on_hand, n.reserved,
                         NULL, 0, 0)::stock_level_change ORDER BY n.store_id, n.sku_id)
      INTO v_rows FROM new_rows n;
  ELSIF TG_OP = 'UPDATE' THEN
    SELECT array_agg(ROW(n.merchant_id, n.store_id, n.sku_id, n.channel, n.on_hand, n.reserved,
                         o.channel, o.on_hand, o.reserved)::stock_level_change
                     ORDER BY n.store_id, n.sku_id)
      INTO v_rows FROM new_rows n JOIN old_rows o USING (store_id, sku_id)
      WHERE (n.on_hand, n.reserved, n.channel) IS DISTINCT FROM (o.on_hand, o.reserved, o.channel);
  ELSE
    SELECT array_agg(ROW(o.merchant_id, o.store_id, o.sku_id, o.channel, 0, 0,
                         o.channel, o.on_hand, o.reserved)::stock_level_change
                     ORDER BY o.store_id, o.sku_id)
      INTO v_rows FROM old_rows o;
  END IF;
  IF v_rows IS NULL THEN
    RETURN NULL;
  END IF;
  INSERT INTO stock_changes (merchant_id, store_id, sku_id, on_hand_delta, reserved_delta,
                             on_hand, reserved, reason, ref)
  SELECT c.merchant_id, c.store_id, c.sku_id, c.on_hand - c.old_on_hand,
         c.reserved - c.old_reserved, c.on_hand, c.reserved, v_reason, v_ref
  FROM unnest(v_rows) c
  WHERE c.on_hand <> c.old_on_hand OR c.reserved <> c.old_reserved;
  IF v_events THEN
    INSERT INTO events (merchant_id, type, ordering_key, sequence, data)
    SELECT c.merchant_id, 'inventory.level.updated', k.key,
           next_event_sequence(c.merchant_id, k.key),
           jsonb_build_object(
             'store_id', c.store_id, 'sku_id', c.sku_id, 'channel', c.channel,
             'on_hand', c.on_hand, 'reserved', c.reserved, 'available', c.on_hand - c.reserved,
             'deleted', TG_OP = 'DELETE', 'reason', v_reason, 'ref', v_ref,
             'before', jsonb_build_object('channel', c.old_channel, 'on_hand', c.old_on_hand,
                                          'reserved', c.old_reserved,
                                          'available', c.old_on_hand - c.old_reserved))
    FROM unnest(v_rows) c, LATERAL (SELECT 'stock:' || c.store_id || ':' || c.sku_id AS key) k;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER stock_inserted AFTER INSERT ON stock REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION stock_record_changes();
CREATE TRIGGER stock_updated AFTER UPDATE ON stock
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION stock_record_changes();
CREATE TRIGGER stock_deleted AFTER DELETE ON stock REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION stock_record_changes();

-- Stock that existed before the ledger: its opening balance.
INSERT INTO stock_changes (merchant_id, store_id, sku_id, on_hand_delta, reserved_delta,
                           on_hand, reserved, reason)
SELECT merchant_id, store_id, sku_id, on_hand, reserved, on_hand, reserved, 'opening_balance'
FROM stock WHERE on_hand <> 0 OR reserved <> 0 ORDER BY store_id, sku_id;
"""
DROP_FUNCTIONS = """
DROP TRIGGER stock_inserted ON stock;
DROP TRIGGER stock_updated ON stock;
DROP TRIGGER stock_deleted ON stock;
DROP FUNCTION stock_record_changes();
DROP TYPE stock_level_change;
DROP TRIGGER events_fan_out ON events;
DROP FUNCTION events_fan_out();
DROP FUNCTION next_event_sequence(bigint, text);
"""


def upgrade():
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table('event_sequences',
    sa.Column('merchant_id', sa.BigInteger(), nullable=False),
    sa.Column('ordering_key', sa.String(length=128), nullable=False),
    sa.Column('last_sequence', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('merchant_id', 'ordering_key', name=op.f('pk_event_sequences'))
    )
    op.create_table('events',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('public_id', sa.UUID(as_uuid=False), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('merchant_id', sa.BigInteger(), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('ordering_key', sa.String(length=128), nullable=False),
    sa.Column('sequence', sa.BigInteger(), nullable=False),
    sa.Column('schema_version', sa.SmallInteger(), server_default='1', nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('xact_id', XID8, server_default=sa.text('pg_current_xact_id()'), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events')),
    sa.UniqueConstraint('public_id', name=op.f('uq_events_public_id'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_merchant_id_xact_id_id', ['merchant_id', 'xact_id', 'id'], unique=False)
        batch_op.create_index('ix_events_occurred_at', ['occurred_at'], unique=False)

    op.create_table('stock_changes',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('merchant_id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.BigInteger(), nullable=False),
    sa.Column('sku_id', sa.BigInteger(), nullable=False),
    sa.Column('on_hand_delta', sa.Integer(), nullable=False),
    sa.Column('reserved_delta', sa.Integer(), nullable=False),
    sa.Column('on_hand', sa.Integer(), nullable=False),
    sa.Column('reserved', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('ref', sa.String(length=200), nullable=True),
    sa.Column('xact_id', XID8, server_default=sa.text('pg_current_xact_id()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_changes'))
    )
    with op.batch_alter_table('stock_changes', schema=None) as batch_op:
        batch_op.create_index('ix_stock_changes_merchant_id_xact_id_id', ['merchant_id', 'xact_id', 'id'], unique=False)
        batch_op.create_index('ix_stock_changes_store_id_sku_id_id', ['store_id', 'sku_id', 'id'], unique=False)

    op.create_table('stock_sync_documents',
    sa.Column('merchant_id', sa.BigInteger(), nullable=False),
    sa.Column('source_doc', sa.String(length=100), nullable=False),
    sa.Column('store_id', sa.BigInteger(), nullable=False),
    sa.Column('sku_id', sa.BigInteger(), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('merchant_id', 'source_doc', 'store_id', 'sku_id', name=op.f('pk_stock_sync_documents'))
    )
    op.create_table('webhook_endpoints',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('merchant_id', sa.BigInteger(), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=True),
    sa.Column('event_types', postgresql.ARRAY(sa.String(length=64)), nullable=False),
    sa.Column('enabled', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('disabled_reason', sa.String(length=200), nullable=True),
    sa.Column('secret', sa.String(length=100), nullable=False),
    sa.Column('previous_secret', sa.String(length=100), nullable=True),
    sa.Column('previous_secret_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('consecutive_failures', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_webhook_endpoints_merchant_id_merchants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints'))
    )
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_endpoints_merchant_id_id', ['merchant_id', 'id'], unique=False)

    op.create_table('webhook_deliveries',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('merchant_id', sa.BigInteger(), nullable=False),
    sa.Column('endpoint_id', sa.BigInteger(), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('ordering_key', sa.String(length=128), nullable=False),
    sa.Column('sequence', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')", name=op.f('ck_webhook_deliveries_status')),
    sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoints.id'], name=op.f('fk_webhook_deliveries_endpoint_id_webhook_endpoints'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_webhook_deliveries_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries'))
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_deliveries_due', ['next_attempt_at'], unique=False, postgresql_where=sa.text("status = 'pending'"))
        batch_op.create_index('ix_webhook_deliveries_endpoint_id_id', ['endpoint_id', 'id'], unique=False)
        batch_op.create_index('ix_webhook_deliveries_event_id', ['event_id'], unique=False)
        batch_op.create_index('ix_webhook_deliveries_pending_key', ['endpoint_id', 'ordering_key', 'sequence'], unique=False, postgresql_where=sa.text("status = 'pending'"))

    op.create_table('webhook_attempts',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('merchant_id', sa.BigInteger(), nullable=False),
    sa.Column('delivery_id', sa.BigInteger(), nullable=False),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('response_excerpt', sa.String(length=500), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['delivery_id'], ['webhook_deliveries.id'], name=op.f('fk_webhook_attempts_delivery_id_webhook_deliveries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_attempts'))
    )
    with op.batch_alter_table('webhook_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_attempts_delivery_id_id', ['delivery_id', 'id'], unique=False)

    with op.batch_alter_table('stock', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_set_at', sa.DateTime(timezone=True), nullable=True))

    # ### end Alembic commands ###
    op.execute(FUNCTIONS)


def downgrade():
    op.execute(DROP_FUNCTIONS)
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table('stock', schema=None) as batch_op:
        batch_op.drop_column('last_set_at')

    with op.batch_alter_table('webhook_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_attempts_delivery_id_id')

    op.drop_table('webhook_attempts')
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_deliveries_pending_key', postgresql_where=sa.text("status = 'pending'"))
        batch_op.drop_index('ix_webhook_deliveries_event_id')
        batch_op.drop_index('ix_webhook_deliveries_endpoint_id_id')
        batch_op.drop_index('ix_webhook_deliveries_due', postgresql_where=sa.text("status = 'pending'"))

    op.drop_table('webhook_deliveries')
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_endpoints_merchant_id_id')

    op.drop_table('webhook_endpoints')
    op.drop_table('stock_sync_documents')
    with op.batch_alter_table('stock_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_changes_store_id_sku_id_id')
        batch_op.drop_index('ix_stock_changes_merchant_id_xact_id_id')

    op.drop_table('stock_changes')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_occurred_at')
        batch_op.drop_index('ix_events_merchant_id_xact_id_id')

    op.drop_table('events')
    op.drop_table('event_sequences')
    # ### end Alembic commands ###
