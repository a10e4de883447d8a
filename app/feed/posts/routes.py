"""Merchant admin of posts (drafts, edits, scheduling, publishing, hiding) and feed rewards."""

from flask.views import MethodView

from app import idempotency
from app.accounts.permissions import staff_required
from app.blueprint import Blueprint
from app.extensions import db
from app.feed.posts import presentation, rewards, schemas, stats
from app.feed.posts import service as feed_service

admin_posts_blp = Blueprint(
    "admin: posts", __name__, url_prefix="/v1/admin", description="Posts of the merchant"
)
EDITORS = ("owner", "operator")
MODERATORS = ("owner", "operator", "service")


def _create(data: dict, staff):
    return feed_service.create_post(
        session=db.session, merchant_id=staff.merchant_id, user_id=staff.user_id, data=data
    )


def _admin_view(post) -> dict:
    return presentation.describe_posts(
        session=db.session, posts=[post], viewer_id=None, admin=True
    )[0]


@admin_posts_blp.route("/posts")
class AdminPosts(MethodView):
    @staff_required(*MODERATORS)
    @admin_posts_blp.arguments(schemas.AdminPostArgsSchema, location="query")
    @admin_posts_blp.response(200, schemas.AdminPostPageSchema)
    def get(self, args, staff):
        """The merchant's posts, newest first (any status)."""
        posts, next_cursor = feed_service.list_posts(
            session=db.session, merchant_id=staff.merchant_id, **args
        )
        items = presentation.describe_posts(
            session=db.session, posts=posts, viewer_id=None, admin=True
        )
        return {"items": items, "next_cursor": next_cursor}

    @staff_required(*EDITORS)
    @admin_posts_blp.arguments(schemas.PostCreateSchema)
    @admin_posts_blp.arguments(idempotency.IdempotencyHeaderSchema, location="headers")
    @admin_posts_blp.response(201, schemas.AdminPostSchema)
    def post(self, data, headers, staff):
        """Create a draft post (owners, operators)."""
        outcome = idempotency.run_once(
            session=db.session,
            user_id=staff.user_id,
            scope=f"feed.post:{staff.merchant_id}",
            key=headers["idempotency_key"],
            payload=data,
            work=lambda: (201, _admin_view(_create(data, staff))),
        )
        db.session.commit()
        return outcome.body, outcome.status


@admin_posts_blp.route("/posts/<int:post_id>")
class AdminPost(MethodView):
    @staff_required(*MODERATORS)
    @admin_posts_blp.response(200, schemas.AdminPostSchema)
    def get(self, post_id, staff):
        """One post of the merchant."""
        post = feed_service.get_post(
            session=db.session, merchant_id=staff.merchant_id, post_id=post_id
        )
        return _admin_view(post)

    @staff_required(*EDITORS)
    @admin_posts_blp.arguments(schemas.PostUpdateSchema)
    @admin_posts_blp.response(200, schemas.AdminPostSchema)
    @admin_posts_blp.alt_response(409, description="A live poll's options cannot change")
    def patch(self, changes, post_id, staff):
        """Change a post's content or targets (owners, operators)."""
        post = feed_service.update_post(
            session=db.session, merchant_id=staff.merchant_id, post_id=post_id, changes=changes
        )
        db.session.commit()
        return _admin_view(post)

    @staff_required(*EDITORS)
    @admin_posts_blp.response(204)
    def delete(self, post_id, staff):
        """Delete a post with its likes and votes (owners, operators)."""
        feed_service.delete_post(session=db.session, merchant_id=staff.merchant_id, post_id=post_id)
        db.session.commit()


@admin_posts_blp.route("/posts/<int:post_id>/stats")
class PostStats(MethodView):
    @staff_required(*EDITORS)
    @admin_posts_blp.response(200, schemas.PostStatsSchema)
    def get(self, post_id, staff):
        """Likes and voters of a post, in all and by segment."""
        return stats.post_stats(session=db.session, merchant_id=staff.merchant_id, post_id=post_id)


@admin_posts_blp.route("/posts/<int:post_id>/publish")
class PublishPost(MethodView):
    @staff_required(*EDITORS)
    @admin_posts_blp.arguments(schemas.PublishSchema)
    @admin_posts_blp.response(200, schemas.AdminPostSchema)
    @admin_posts_blp.alt_response(
        409, description="A post that has been live cannot be rescheduled"
    )
    def post(self, data, post_id, staff):
        """Publish now, or schedule with `publish_at`; also brings a hidden post back."""
        post = feed_service.publish_post(
            session=db.session, merchant_id=staff.merchant_id, post_id=post_id, **data
        )
        db.session.commit()
        return _admin_view(post)


@admin_posts_blp.route("/posts/<int:post_id>/hide")
class HidePost(MethodView):
    @staff_required(*MODERATORS)
    @admin_posts_blp.arguments(schemas.HideSchema)
    @admin_posts_blp.response(200, schemas.AdminPostSchema)
    @admin_posts_blp.alt_response(409, description="Drafts are not shown anyway")
    def post(self, data, post_id, staff):
        """Hide a post from readers (owners, operators, customer service)."""
        post = feed_service.hide_post(
            session=db.session, merchant_id=staff.merchant_id, post_id=post_id, **data
        )
        db.session.commit()
        return _admin_view(post)


@admin_posts_blp.route("/feed-rewards")
class FeedRewards(MethodView):
    @staff_required(*EDITORS)
    @admin_posts_blp.response(200, schemas.FeedRewardListSchema)
    def get(self, staff):
        """The coupon campaigns rewarding a follow or an approved buyer show."""
        return {"items": rewards.list_rewards(session=db.session, merchant_id=staff.merchant_id)}


@admin_posts_blp.route("/feed-rewards/<any(follow, buyer_show):trigger>")
class FeedReward(MethodView):
    @staff_required(*EDITORS)
    @admin_posts_blp.arguments(schemas.FeedRewardSetSchema)
    @admin_posts_blp.response(200, schemas.FeedRewardSchema)
    def put(self, data, trigger, staff):
        """Reward `follow` or an approved `buyer_show` with a coupon of this campaign."""
        reward = rewards.set_reward(
            session=db.session, merchant_id=staff.merchant_id, trigger=trigger, **data
        )
        db.session.commit()
        return reward

    @staff_required(*EDITORS)
    @admin_posts_blp.response(204)
    def delete(self, trigger, staff):
        """Stop rewarding a follow or an approved buyer show."""
        rewards.clear_reward(session=db.session, merchant_id=staff.merchant_id, trigger=trigger)
        db.session.commit()
