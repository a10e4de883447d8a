"""guess-the-price posts, their guesses, and the membership-tier segment rule

Revision ID: 0017_price_guess
Revises: 0016_orders
Create Date: 2026-12-02 12:40:00

"""
import importlib.util
from pathlib import Path

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017_price_guess'
down_revision = '0016_orders'
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('article', 'video', 'poll', 'product')"
NEW_KINDS = "kind IN ('article', 'video', 'poll', 'product', 'price_guess')"

# The membership leaf: an active member of the merchant's program whose current tier's threshold
# is at least `at_least_cents` (left out: any active member, with a tier or not).
MEMBER_TIER = """    ELSIF kind = 'member_tier' THEN
        RETURN EXISTS (SELECT 1 FROM members m
                       LEFT JOIN membership_tiers t ON t.id = m.tier_id
                       WHERE m.user_id = uid AND m.merchant_id = merchant AND m.state = 'active'
                         AND (NOT rule ? 'at_least_cents'
                              OR t.threshold_cents >= (rule->>'at_least_cents')::bigint));
"""
NEAR_STORE = "    ELSIF kind = 'near_store' THEN\n"


def _rule_function() -> str:
    """segment_rule_matches as migration 0011 created it (CREATE OR REPLACE)."""
    path = Path(__file__).with_name("0011_segments.py")
    spec = importlib.util.spec_from_file_location("segments_0011", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    start = module.FUNCTIONS.index("CREATE FUNCTION segment_rule_matches")
    body = module.FUNCTIONS[start:]
    assert NEAR_STORE in body
    return body.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def upgrade():
    op.alter_column('posts', 'kind', type_=sa.String(length=16), existing_nullable=False)
    op.drop_constraint(op.f('ck_posts_kind'), 'posts', type_='check')
    op.create_check_constraint('kind', 'posts', NEW_KINDS)
    op.add_column('posts', sa.Column('guess_sku_id', sa.BigInteger(), nullable=True))
    op.create_foreign_key(op.f('fk_posts_guess_sku_id_skus'), 'posts', 'skus', ['guess_sku_id'], ['id'], ondelete='SET NULL')
    op.add_column('posts', sa.Column('guess_closes_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('posts', sa.Column('guess_winners', sa.SmallInteger(), server_default='1', nullable=False))
    op.add_column('posts', sa.Column('guess_price_cents', sa.BigInteger(), nullable=True))
    op.add_column('posts', sa.Column('guess_answer_cents', sa.BigInteger(), nullable=True))
    op.add_column('posts', sa.Column('guess_settled_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('posts', sa.Column('guess_count', sa.Integer(), server_default='0', nullable=False))
    op.create_check_constraint('guess_winners', 'posts', 'guess_winners BETWEEN 1 AND 100')
    op.create_check_constraint('guess_count', 'posts', 'guess_count >= 0')
    op.create_check_constraint('guess_price_cents', 'posts', 'guess_price_cents > 0')
    op.create_index('ix_posts_guesses_due', 'posts', ['guess_closes_at'], unique=False, postgresql_where=sa.text("kind = 'price_guess' AND guess_settled_at IS NULL"))

    op.create_table('price_guesses',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('merchant_id', sa.BigInteger(), nullable=False),
    sa.Column('post_id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('price_cents', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('coupon_id', sa.BigInteger(), nullable=True),
    sa.Column('reward_reason', sa.String(length=64), nullable=True),
    sa.CheckConstraint('price_cents > 0', name=op.f('ck_price_guesses_price_cents')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_price_guesses_merchant_id_merchants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_price_guesses_post_id_posts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_price_guesses_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['coupon_id'], ['coupons.id'], name=op.f('fk_price_guesses_coupon_id_coupons'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price_guesses'))
    )
    op.create_index('uq_price_guesses_post_id_user_id', 'price_guesses', ['post_id', 'user_id'], unique=True)
    op.create_index('ix_price_guesses_post_id_rank', 'price_guesses', ['post_id', 'rank'], unique=False)
    op.create_index('ix_price_guesses_user_id', 'price_guesses', ['user_id'], unique=False)
    op.create_index('ix_price_guesses_coupon_id', 'price_guesses', ['coupon_id'], unique=False)

    op.execute(_rule_function().replace(NEAR_STORE, MEMBER_TIER + NEAR_STORE, 1))


def downgrade():
    op.execute(_rule_function())
    op.drop_table('price_guesses')
    op.execute("DELETE FROM posts WHERE kind = 'price_guess'")
    op.drop_index('ix_posts_guesses_due', table_name='posts')
    for name in ('guess_price_cents', 'guess_count', 'guess_winners'):
        op.drop_constraint(op.f(f'ck_posts_{name}'), 'posts', type_='check')
    op.drop_constraint(op.f('fk_posts_guess_sku_id_skus'), 'posts', type_='foreignkey')
    for column in ('guess_sku_id', 'guess_closes_at', 'guess_winners', 'guess_price_cents',
                   'guess_answer_cents', 'guess_settled_at', 'guess_count'):
        op.drop_column('posts', column)
    op.drop_constraint(op.f('ck_posts_kind'), 'posts', type_='check')
    op.create_check_constraint('kind', 'posts', OLD_KINDS)
    op.alter_column('posts', 'kind', type_=sa.String(length=10), existing_nullable=False)
