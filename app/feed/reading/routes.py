"""Shopper side of the feed: reading posts, likes, votes, follows."""

from flask.views import MethodView

from app import idempotency, rate_limits, replicas
from app.accounts.permissions import current_user_id, login_required, optional_login
from app.blueprint import Blueprint, prebuilt_json
from app.extensions import db
from app.feed.posts import guesses
from app.feed.posts.schemas import PostPageSchema, PostSchema
from app.feed.reading import reactions, schemas
from app.feed.reading import service as reading
from app.pagination import PageArgsSchema

feed_blp = Blueprint(
    "feed", __name__, url_prefix="/v1", description="Posts, likes, polls and follows"
)


@feed_blp.route("/feed")
class Feed(MethodView):
    decorators = [rate_limits.shopper_reads]

    @optional_login
    @feed_blp.arguments(schemas.FeedArgsSchema, location="query")
    @feed_blp.response(200, schemas.FeedPageSchema)
    def get(self, args):
        """Followed merchants' posts, store-local posts near me and my city's; `sort=hot` ranks."""
        items, next_cursor = reading.feed(
            session=db.session, viewer_id=current_user_id(), radius_m=args.pop("radius"), **args
        )
        # Sent as built (the schema documents it): its dump was ~1.3 of a page's ~18 ms.
        return prebuilt_json({"items": items, "next_cursor": next_cursor})


@feed_blp.route("/merchants/<int:merchant_id>/posts")
class MerchantPosts(MethodView):
    @optional_login
    @feed_blp.arguments(PageArgsSchema, location="query")
    @feed_blp.response(200, PostPageSchema)
    def get(self, args, merchant_id):
        """A merchant's page: its published posts, newest first."""
        items, next_cursor = reading.merchant_posts(
            session=db.session, merchant_id=merchant_id, viewer_id=current_user_id(), **args
        )
        return {"items": items, "next_cursor": next_cursor}


@feed_blp.route("/posts/<int:post_id>")
class PostDetail(MethodView):
    @optional_login
    @feed_blp.response(200, PostSchema)
    def get(self, post_id):
        """One published post (drafts, scheduled and hidden posts are 404)."""
        view = reading.post_view(session=db.session, post_id=post_id, viewer_id=current_user_id())
        game = view["guess"]
        if game is None or game["settled"] or not game["closed"]:
            return view
        with replicas.on_primary():  # the first reader after closing settles the game
            guesses.settle(session=db.session, post_id=post_id)
            db.session.commit()
            return reading.post_view(
                session=db.session, post_id=post_id, viewer_id=current_user_id()
            )


@feed_blp.route("/posts/<int:post_id>/like")
class PostLike(MethodView):
    @login_required
    @feed_blp.response(200, schemas.LikeSchema)
    def put(self, post_id):
        """Like a post (idempotent)."""
        result = reactions.like_post(session=db.session, user_id=current_user_id(), post_id=post_id)
        db.session.commit()
        return result

    @login_required
    @feed_blp.response(200, schemas.LikeSchema)
    def delete(self, post_id):
        """Take my like back (idempotent)."""
        result = reactions.unlike_post(
            session=db.session, user_id=current_user_id(), post_id=post_id
        )
        db.session.commit()
        return result


@feed_blp.route("/posts/<int:post_id>/votes")
class PollVotes(MethodView):
    @login_required
    @feed_blp.arguments(schemas.VoteSchema)
    @feed_blp.response(201, PostSchema)
    @feed_blp.alt_response(409, description="Already voted (votes are final) or poll closed")
    def post(self, data, post_id):
        """Vote in a poll, once; the answer is the post with its results."""
        result = reactions.vote(
            session=db.session, user_id=current_user_id(), post_id=post_id, **data
        )
        db.session.commit()
        return result


@feed_blp.route("/posts/<int:post_id>/guesses")
class PriceGuesses(MethodView):
    @login_required
    @feed_blp.arguments(schemas.GuessSchema)
    @feed_blp.arguments(idempotency.IdempotencyHeaderSchema, location="headers")
    @feed_blp.response(201, schemas.GuessResultSchema)
    @feed_blp.alt_response(409, description="Already guessed (guesses are final) or game closed")
    def post(self, data, headers, post_id):
        """Guess the price, once; after close the post shows the answer and my rank."""
        user_id = current_user_id()
        outcome = idempotency.run_once(
            session=db.session,
            user_id=user_id,
            scope=f"feed.guess:{post_id}",
            key=headers["idempotency_key"],
            payload=data,
            work=lambda: (
                201,
                guesses.make_guess(session=db.session, user_id=user_id, post_id=post_id, **data),
            ),
        )
        db.session.commit()
        return outcome.body, outcome.status


@feed_blp.route("/merchants/<int:merchant_id>/follow")
class MerchantFollow(MethodView):
    @optional_login
    @feed_blp.response(200, schemas.FollowSchema)
    def get(self, merchant_id):
        """A merchant's follower count and whether I follow it."""
        return reactions.follow_status(
            session=db.session, user_id=current_user_id(), merchant_id=merchant_id
        )

    @login_required
    @feed_blp.response(200, schemas.FollowSchema)
    def put(self, merchant_id):
        """Follow a merchant (idempotent)."""
        result = reactions.follow(
            session=db.session, user_id=current_user_id(), merchant_id=merchant_id
        )
        db.session.commit()
        return result

    @login_required
    @feed_blp.response(200, schemas.FollowSchema)
    def delete(self, merchant_id):
        """Unfollow a merchant (idempotent)."""
        result = reactions.unfollow(
            session=db.session, user_id=current_user_id(), merchant_id=merchant_id
        )
        db.session.commit()
        return result


@feed_blp.route("/me/follows")
class MyFollows(MethodView):
    @login_required
    @feed_blp.arguments(PageArgsSchema, location="query")
    @feed_blp.response(200, schemas.FollowPageSchema)
    def get(self, args):
        """The merchants I follow, latest first."""
        items, next_cursor = reactions.list_follows(
            session=db.session, user_id=current_user_id(), **args
        )
        return {"items": items, "next_cursor": next_cursor}
