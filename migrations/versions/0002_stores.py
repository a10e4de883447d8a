"""stores, weekly hours, date exceptions and the open-state SQL functions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 15:48:42.935859

"""
from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geography
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# Hours live in SQL so "open now" is decided inside the one nearby statement, for the filter and
# for the rows shown alike. Week minutes count from Monday 00:00 in the store's own zone.
FUNCTIONS = r"""
CREATE FUNCTION store_hhmm_minutes(t text) RETURNS int
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN split_part(t, ':', 1)::int * 60 + split_part(t, ':', 2)::int;

-- {"opens": "18:00", "closes": "02:00"} -> [1080, 1560): minutes since that day's midnight.
-- Not STRICT, so PL/pgSQL callers get it inlined rather than called.
CREATE FUNCTION store_range_minutes(r jsonb) RETURNS int4range
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN int4range(
  store_hhmm_minutes(r ->> 'opens'),
  store_hhmm_minutes(r ->> 'closes') + CASE
    WHEN store_hhmm_minutes(r ->> 'closes') > store_hhmm_minutes(r ->> 'opens') THEN 0 ELSE 1440 END);

-- Loops of simple expressions (no queries), ranges gathered in an array and merged once: these
-- run for every row written, 180 000 of them in the seeded world.
CREATE FUNCTION store_day_minutes(ranges jsonb) RETURNS int4multirange
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  v_ranges int4range[] := '{}';
BEGIN
  FOR i IN 0 .. coalesce(jsonb_array_length(ranges), 0) - 1 LOOP
    v_ranges := v_ranges || store_range_minutes(ranges -> i);
  END LOOP;
  RETURN int4multirange(VARIADIC v_ranges);
END
$$;

-- {"mon": [...], ..., "sun": [...]} -> minutes since Monday 00:00, wrapping Sunday night to Monday.
CREATE FUNCTION store_week_minutes(hours jsonb) RETURNS int4multirange
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  v_ranges int4range[] := '{}';
  v_day jsonb;
  v_range int4range;
  v_start int := 0;
BEGIN
  FOREACH v_day IN ARRAY ARRAY[hours -> 'mon', hours -> 'tue', hours -> 'wed', hours -> 'thu',
                               hours -> 'fri', hours -> 'sat', hours -> 'sun'] LOOP
    FOR i IN 0 .. coalesce(jsonb_array_length(v_day), 0) - 1 LOOP
      v_range := store_range_minutes(v_day -> i);
      v_ranges := v_ranges
        || int4range(v_start + lower(v_range), least(v_start + upper(v_range), 10080));
      IF v_start + upper(v_range) > 10080 THEN
        v_ranges := v_ranges || int4range(0, v_start + upper(v_range) - 10080);
      END IF;
    END LOOP;
    v_start := v_start + 1440;
  END LOOP;
  RETURN int4multirange(VARIADIC v_ranges);
END
$$;
"""

# After the tables: SQL function bodies are checked against them when created.
OPEN_STATE_FUNCTIONS = r"""
-- The full rule, for a store with exceptions near p_at: regular hours laid out as local
-- timestamps over [day - 1, day + 8), minus the exception days, plus their own ranges.
CREATE FUNCTION store_open_state_full(
  p_store_id bigint, p_week int4multirange, p_tz text, p_at timestamptz,
  OUT open_now boolean, OUT next_change timestamptz
) LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
  v_local timestamp := p_at AT TIME ZONE p_tz;
  v_day date := v_local::date;
  v_week_start timestamp := date_trunc('week', v_local);
  v_hours tsmultirange;
  v_days tsmultirange;
  v_special tsmultirange;
  v_hit tsrange;
BEGIN
  SELECT coalesce(range_agg(tsrange(v_week_start + make_interval(days => 7 * k, mins => lower(r)),
                                    v_week_start + make_interval(days => 7 * k, mins => upper(r)))),
                  '{}')
    INTO v_hours FROM unnest(p_week) AS r, generate_series(-1, 1) AS k;
  SELECT coalesce(range_agg(tsrange(e.date::timestamp, (e.date + 1)::timestamp)), '{}'),
         coalesce(range_agg(tsrange(e.date + make_interval(mins => lower(r)),
                                    e.date + make_interval(mins => upper(r))))
                    FILTER (WHERE r IS NOT NULL), '{}')
    INTO v_days, v_special
    FROM store_hours_exceptions AS e LEFT JOIN LATERAL unnest(e.open_minutes) AS r ON true
    WHERE e.store_id = p_store_id AND e.date BETWEEN v_day - 1 AND v_day + 8;
  v_hours := (v_hours - v_days + v_special)
             * tsmultirange(tsrange((v_day - 1)::timestamp, (v_day + 8)::timestamp));
  SELECT r INTO v_hit FROM unnest(v_hours) AS r WHERE upper(r) > v_local ORDER BY lower(r) LIMIT 1;
  open_now := v_hit IS NOT NULL AND lower(v_hit) <= v_local;
  next_change := CASE
    WHEN v_hit IS NULL THEN NULL
    WHEN NOT open_now THEN lower(v_hit) AT TIME ZONE p_tz
    WHEN upper(v_hit) < (v_day + 8)::timestamp THEN upper(v_hit) AT TIME ZONE p_tz
  END;
END
$$;

-- Open at p_at? And when does that change (null: not within the next 7 days)? A date exception
-- replaces its whole calendar day (its own last range may run past midnight). One SELECT in
-- SQL, so PostgreSQL inlines it into the calling query: the common case (no exception near)
-- is multirange arithmetic on the weekly minutes with no function call per row.
CREATE FUNCTION store_open_state(p_store_id bigint, p_week int4multirange, p_tz text, p_at timestamptz)
RETURNS TABLE (open_now boolean, next_change timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT w.open_now,
         (w.week_start + make_interval(mins => CASE
            WHEN w.open_now THEN coalesce(
              lower(w.closed * int4multirange(int4range(w.minute, NULL))), lower(w.closed) + 10080)
            ELSE coalesce(
              lower(p_week * int4multirange(int4range(w.minute, NULL))), lower(p_week) + 10080)
          END)) AT TIME ZONE p_tz
  FROM (
    SELECT t.week_start, t.minute, p_week @> t.minute AS open_now,
           int4multirange(int4range(0, 10080)) - p_week AS closed
    FROM (
      SELECT date_trunc('week', p_at AT TIME ZONE p_tz) AS week_start,
             floor(extract(epoch FROM (p_at AT TIME ZONE p_tz)
                                      - date_trunc('week', p_at AT TIME ZONE p_tz)) / 60)::int
               AS minute
    ) AS t
  ) AS w
  WHERE NOT EXISTS (
    SELECT 1 FROM store_hours_exceptions AS e
    WHERE e.store_id = p_store_id
      AND e.date BETWEEN (p_at AT TIME ZONE p_tz)::date - 1 AND (p_at AT TIME ZONE p_tz)::date + 8)
  UNION ALL
  SELECT f.open_now, f.next_change FROM store_open_state_full(p_store_id, p_week, p_tz, p_at) AS f
  WHERE EXISTS (
    SELECT 1 FROM store_hours_exceptions AS e
    WHERE e.store_id = p_store_id
      AND e.date BETWEEN (p_at AT TIME ZONE p_tz)::date - 1 AND (p_at AT TIME ZONE p_tz)::date + 8)
$$;
"""

DROP_FUNCTIONS = """
DROP FUNCTION IF EXISTS store_open_state(bigint, int4multirange, text, timestamptz);
DROP FUNCTION IF EXISTS store_open_state_full(bigint, int4multirange, text, timestamptz);
DROP FUNCTION IF EXISTS store_week_minutes(jsonb);
DROP FUNCTION IF EXISTS store_day_minutes(jsonb);
DROP FUNCTION IF EXISTS store_range_minutes(jsonb);
DROP FUNCTION IF EXISTS store_hhmm_minutes(text);
"""


def upgrade():
    op.execute(FUNCTIONS)
    op.create_geospatial_table('stores',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('merchant_id', sa.BigInteger(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('address', sa.String(length=255), nullable=False),
    sa.Column('city', sa.String(length=80), nullable=False),
    sa.Column('location', Geography(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeogFromText', name='geography', nullable=False), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('pickup_enabled', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('pickup_hold_minutes', sa.Integer(), server_default='120', nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('hours', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('open_minutes', postgresql.INT4MULTIRANGE(), sa.Computed('store_week_minutes(hours)', persisted=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('pickup_hold_minutes BETWEEN 5 AND 10080', name=op.f('ck_stores_pickup_hold_minutes')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_stores_merchant_id_merchants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stores'))
    )
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.create_geospatial_index('idx_stores_location', ['location'], unique=False, postgresql_using='gist', postgresql_ops={})
        batch_op.create_index('ix_stores_location_geometry', [sa.literal_column('(location::geometry)')], unique=False, postgresql_using='gist')
        batch_op.create_index(batch_op.f('ix_stores_merchant_id'), ['merchant_id'], unique=False)
        batch_op.create_index('uq_stores_merchant_code', ['merchant_id', 'code'], unique=True)

    op.create_table('store_hours_exceptions',
    sa.Column('store_id', sa.BigInteger(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('merchant_id', sa.BigInteger(), nullable=False),
    sa.Column('closed', sa.Boolean(), nullable=False),
    sa.Column('hours', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('open_minutes', postgresql.INT4MULTIRANGE(), sa.Computed('store_day_minutes(hours)', persisted=True), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.CheckConstraint('closed = (jsonb_array_length(hours) = 0)', name=op.f('ck_store_hours_exceptions_closed_means_no_hours')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_store_hours_exceptions_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('store_id', 'date', name=op.f('pk_store_hours_exceptions'))
    )
    op.execute(OPEN_STATE_FUNCTIONS)


def downgrade():
    op.drop_table('store_hours_exceptions')
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.drop_index('uq_stores_merchant_code')
        batch_op.drop_index(batch_op.f('ix_stores_merchant_id'))
        batch_op.drop_index('ix_stores_location_geometry', postgresql_using='gist')
        batch_op.drop_geospatial_index('idx_stores_location', postgresql_using='gist', column_name='location')

    op.drop_geospatial_table('stores')
    op.execute(DROP_FUNCTIONS)
