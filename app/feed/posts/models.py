"""Posts, poll options, poll votes, likes, and the merchant's feed rewards.

Counters (`posts.like_count`, `posts.voter_count`, `poll_options.votes`) move only in the
transaction that inserts or deletes the unique row they count, and only when that insert or
delete really happened.
"""

from datetime import datetime

from geoalchemy2 import Geography
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

POST_KINDS = ("article", "video", "poll", "product", "price_guess")
# Stored states; "scheduled" is not stored: it is a published post whose publish_at lies ahead,
# so it goes live at publish_at without a sweeper.
POST_STATES = ("draft", "published", "hidden")


class Post(db.Model):
    __tablename__ = "posts"
    __table_args__ = (
        CheckConstraint(f"kind IN {POST_KINDS!r}", name="kind"),
        CheckConstraint(f"state IN {POST_STATES!r}", name="state"),
        CheckConstraint("state = 'draft' OR publish_at IS NOT NULL", name="publish_at"),
        CheckConstraint("like_count >= 0 AND voter_count >= 0", name="counts"),
        CheckConstraint("poll_max_choices BETWEEN 1 AND 10", name="poll_max_choices"),
        CheckConstraint("guess_winners BETWEEN 1 AND 100", name="guess_winners"),
        CheckConstraint("guess_count >= 0", name="guess_count"),
        CheckConstraint("guess_price_cents > 0", name="guess_price_cents"),
        # The feed and the merchant page read live posts newest first.
        Index(
            "ix_posts_live",
            "merchant_id",
            text("publish_at DESC"),
            text("id DESC"),
            postgresql_where=text("state = 'published'"),
        ),
        Index(
            "ix_posts_live_publish_at",
            text("publish_at DESC"),
            text("id DESC"),
            postgresql_where=text("state = 'published'"),
        ),
        Index("ix_posts_cities", "cities", postgresql_using="gin"),
        Index("ix_posts_location", "location", postgresql_using="gist"),
        # The sweeper's queue: guess games past closing that have not been settled.
        Index(
            "ix_posts_guesses_due",
            "guess_closes_at",
            postgresql_where=text("kind = 'price_guess' AND guess_settled_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(10), server_default="draft")
    title: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)
    image_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), server_default="{}")
    video_url: Mapped[str | None] = mapped_column(String(2048))
    cover_id: Mapped[int | None] = mapped_column(ForeignKey("media.id", ondelete="SET NULL"))
    sku_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), server_default="{}")
    # Targeting: a store (shown to shoppers near it) and/or cities (shown to shoppers there).
    # An untargeted post goes to the merchant's followers.
    store_id: Mapped[int | None] = mapped_column(
        ForeignKey("stores.id", ondelete="SET NULL"), index=True
    )
    # A store-local post's store location, copied by the database (triggers of migration 0019,
    # never written here): the feed's nearby part finds posts within a radius by its GiST index.
    location = mapped_column(Geography("POINT", srid=4326, spatial_index=False), deferred=True)
    cities: Mapped[list[str]] = mapped_column(ARRAY(String(80)), server_default="{}")
    # ...and only to shoppers in one of these segments (empty: no segment restriction).
    segment_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), server_default="{}")
    poll_max_choices: Mapped[int] = mapped_column(SmallInteger, server_default="1")
    poll_closes_at: Mapped[datetime | None]
    poll_hide_results: Mapped[bool] = mapped_column(Boolean, server_default="false")
    publish_at: Mapped[datetime | None]
    hidden_reason: Mapped[str | None] = mapped_column(String(500))
    # Guess the price (app/feed/posts/guesses.py): the SKU, when guessing stops, how many of the
    # closest win, and the answer: a price the merchant set (hidden until settled) or, without
    # one, the SKU's price when the game is settled; `guess_answer_cents` is written then.
    guess_sku_id: Mapped[int | None] = mapped_column(ForeignKey("skus.id", ondelete="SET NULL"))
    guess_closes_at: Mapped[datetime | None]
    guess_winners: Mapped[int] = mapped_column(SmallInteger, server_default="1")
    guess_price_cents: Mapped[int | None] = mapped_column(BigInteger)
    guess_answer_cents: Mapped[int | None] = mapped_column(BigInteger)
    guess_settled_at: Mapped[datetime | None]
    guess_count: Mapped[int] = mapped_column(Integer, server_default="0")
    # A coupon for voting in this poll, or for winning this guess game (app/feed/posts/rewards.py).
    reward_campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("coupon_campaigns.id", ondelete="SET NULL")
    )
    like_count: Mapped[int] = mapped_column(Integer, server_default="0")
    voter_count: Mapped[int] = mapped_column(Integer, server_default="0")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    options: Mapped[list["PollOption"]] = relationship(
        back_populates="post",
        order_by="PollOption.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    def status(self, now: datetime) -> str:
        """draft, scheduled, published or hidden as a reader of the admin list sees it."""
        if self.state == "published" and self.publish_at > now:
            return "scheduled"
        return self.state

    def is_live(self, now: datetime) -> bool:
        """Readers see published posts whose publish_at has passed."""
        return self.state == "published" and self.publish_at <= now


class PollOption(db.Model):
    __tablename__ = "poll_options"
    __table_args__ = (
        Index("uq_poll_options_post_position", "post_id", "position", unique=True),
        CheckConstraint("votes >= 0", name="votes"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(SmallInteger)
    label: Mapped[str] = mapped_column(String(80))
    votes: Mapped[int] = mapped_column(Integer, server_default="0")

    post: Mapped[Post] = relationship(back_populates="options")


class PollVote(db.Model):
    """One ballot per user and poll (the primary key says so); a ballot may name several options."""

    __tablename__ = "poll_votes"

    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    option_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Like(db.Model):
    __tablename__ = "likes"

    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class PriceGuess(db.Model):
    """One guess per shopper and game; `rank` (1 = closest, ties: the earlier guess) and the
    winners' coupon or why none was issued are written once, when the game is settled."""

    __tablename__ = "price_guesses"
    __table_args__ = (
        Index("uq_price_guesses_post_id_user_id", "post_id", "user_id", unique=True),
        Index("ix_price_guesses_post_id_rank", "post_id", "rank"),
        CheckConstraint("price_cents > 0", name="price_cents"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    price_cents: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    rank: Mapped[int | None] = mapped_column(Integer)
    coupon_id: Mapped[int | None] = mapped_column(
        ForeignKey("coupons.id", ondelete="SET NULL"), index=True
    )
    reward_reason: Mapped[str | None] = mapped_column(String(64))


REWARD_TRIGGERS = ("follow", "buyer_show")


class FeedReward(db.Model):
    """The coupon campaign a merchant hands out for a follow or an approved buyer show (a poll's
    reward sits on the post)."""

    __tablename__ = "feed_rewards"
    __table_args__ = (CheckConstraint(f"trigger IN {REWARD_TRIGGERS!r}", name="trigger"),)

    merchant_id: Mapped[int] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True
    )
    trigger: Mapped[str] = mapped_column(String(16), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("coupon_campaigns.id", ondelete="CASCADE"), index=True
    )
