"""functions behind generated columns find their helpers whatever the search_path

pg_restore runs with an empty search_path: store_week_minutes() (behind stores.open_minutes) and
store_day_minutes() then could not find store_range_minutes(), and a restore failed on COPY.
Both are PL/pgSQL (never inlined), so pinning their search_path costs nothing.

Revision ID: 0015
Revises: 0007
Create Date: 2026-12-02 08:15:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0007'
branch_labels = None
depends_on = None

FUNCTIONS = ("store_day_minutes(jsonb)", "store_week_minutes(jsonb)")


def upgrade():
    for function in FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} SET search_path = public, pg_temp")


def downgrade():
    for function in FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} RESET search_path")
