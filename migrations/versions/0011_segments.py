"""segments, targeting, shake weights

Revision ID: 0011
Revises: 0007
Create Date: 2026-12-02 08:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# The segment rule language (app/segments/rules.py) evaluated in SQL, for one shopper at the
# request's point (NULL: no position, so position rules do not hold). plpgsql caches the plan
# of each leaf's statement per connection; every leaf is an index lookup by user.
FUNCTIONS = """
CREATE FUNCTION city_at(here geography) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT lower(city) FROM stores
    WHERE is_active AND ST_DWithin(location, here, 20000)
    ORDER BY location <-> here LIMIT 1
$$;

CREATE FUNCTION segment_rule_matches(rule jsonb, merchant bigint, uid bigint, here geography)
RETURNS boolean LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    kind text := rule->>'type';
    child jsonb;
BEGIN
    IF kind = 'and' THEN
        FOR child IN SELECT value FROM jsonb_array_elements(rule->'rules') LOOP
            IF NOT segment_rule_matches(child, merchant, uid, here) THEN RETURN false; END IF;
        END LOOP;
        RETURN true;
    ELSIF kind = 'or' THEN
        FOR child IN SELECT value FROM jsonb_array_elements(rule->'rules') LOOP
            IF segment_rule_matches(child, merchant, uid, here) THEN RETURN true; END IF;
        END LOOP;
        RETURN false;
    ELSIF kind = 'not' THEN
        RETURN NOT segment_rule_matches(rule->'rule', merchant, uid, here);
    ELSIF kind = 'follows' THEN
        RETURN EXISTS (SELECT 1 FROM follows f WHERE f.user_id = uid AND f.merchant_id = merchant);
    ELSIF kind = 'city' THEN
        RETURN here IS NOT NULL AND COALESCE(
            city_at(here) IN (SELECT jsonb_array_elements_text(rule->'cities')), false);
    ELSIF kind = 'pickups' THEN
        RETURN (SELECT count(*) FROM reservations r
                WHERE r.user_id = uid AND r.merchant_id = merchant AND r.state = 'picked_up'
                  AND r.picked_up_at >= statement_timestamp()
                                        - make_interval(days => (rule->>'days')::int)
                  AND (NOT rule ? 'sku_ids' OR EXISTS (
                      SELECT 1 FROM reservation_items i
                      WHERE i.reservation_id = r.id
                        AND i.sku_id IN (SELECT jsonb_array_elements_text(rule->'sku_ids')::bigint)))
               ) >= (rule->>'at_least')::int;
    ELSIF kind = 'coupon' THEN
        RETURN EXISTS (SELECT 1 FROM coupons c
                       WHERE c.user_id = uid AND c.merchant_id = merchant
                         AND c.campaign_id = (rule->>'campaign_id')::bigint
                         AND (NOT (rule->>'redeemed')::boolean OR c.state = 'used'));
    ELSIF kind = 'buyer_show' THEN
        RETURN EXISTS (SELECT 1 FROM buyer_shows b
                       WHERE b.user_id = uid AND b.merchant_id = merchant AND b.state = 'approved');
    ELSIF kind = 'near_store' THEN
        RETURN here IS NOT NULL AND EXISTS (
            SELECT 1 FROM stores s
            WHERE s.merchant_id = merchant AND s.is_active
              AND ST_DWithin(s.location, here, (rule->>'radius_m')::float8));
    END IF;
    RAISE EXCEPTION USING MESSAGE = 'unknown segment rule type: ' || coalesce(kind, 'null');
END
$$;
"""
DROP_FUNCTIONS = """
DROP FUNCTION IF EXISTS segment_rule_matches(jsonb, bigint, bigint, geography);
DROP FUNCTION IF EXISTS city_at(geography);
"""


def upgrade():
    op.create_table('segments',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('merchant_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('description', sa.String(length=2000), nullable=True),
    sa.Column('rule', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_segments_merchant_id_merchants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_segments'))
    )
    op.create_index('ix_segments_merchant_id_id', 'segments', ['merchant_id', 'id'], unique=False)

    op.add_column('coupon_campaigns', sa.Column('segment_ids', postgresql.ARRAY(sa.BigInteger()), server_default='{}', nullable=False))
    op.add_column('coupon_campaigns', sa.Column('shake_weight', sa.Integer(), server_default='1', nullable=False))
    op.create_check_constraint('shake_weight', 'coupon_campaigns', 'shake_weight BETWEEN 0 AND 1000')

    op.add_column('posts', sa.Column('segment_ids', postgresql.ARRAY(sa.BigInteger()), server_default='{}', nullable=False))
    op.execute(FUNCTIONS)


def downgrade():
    op.execute(DROP_FUNCTIONS)
    op.drop_column('posts', 'segment_ids')
    op.drop_constraint(op.f('ck_coupon_campaigns_shake_weight'), 'coupon_campaigns', type_='check')
    op.drop_column('coupon_campaigns', 'shake_weight')
    op.drop_column('coupon_campaigns', 'segment_ids')
    op.drop_index('ix_segments_merchant_id_id', table_name='segments')
    op.drop_table('segments')
