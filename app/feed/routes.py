"""Shopper side of the feed: reading posts, likes, votes, follows; and image uploads."""

import hashlib

from flask import send_file
from flask.views import MethodView

from app import idempotency, rate_limits
from app.accounts.permissions import current_user_id, login_required, optional_login
from app.blueprint import Blueprint
from app.content_types import accepts, limit_body
from app.errors import NotFound
from app.extensions import db
from app.feed import media, reactions, reading, schemas
from app.pagination import PageArgsSchema

feed_blp = Blueprint(
    "feed", __name__, url_prefix="/v1", description="Posts, likes, polls and follows"
)
media_blp = Blueprint("media", __name__, url_prefix="/v1", description="Image uploads")
ONE_YEAR = 365 * 24 * 3600


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
        return {"items": items, "next_cursor": next_cursor}


@feed_blp.route("/merchants/<int:merchant_id>/posts")
class MerchantPosts(MethodView):
    @optional_login
    @feed_blp.arguments(PageArgsSchema, location="query")
    @feed_blp.response(200, schemas.PostPageSchema)
    def get(self, args, merchant_id):
        """A merchant's page: its published posts, newest first."""
        items, next_cursor = reading.merchant_posts(
            session=db.session, merchant_id=merchant_id, viewer_id=current_user_id(), **args
        )
        return {"items": items, "next_cursor": next_cursor}


@feed_blp.route("/posts/<int:post_id>")
class PostDetail(MethodView):
    @optional_login
    @feed_blp.response(200, schemas.PostSchema)
    def get(self, post_id):
        """One published post (drafts, scheduled and hidden posts are 404)."""
        return reading.post_view(session=db.session, post_id=post_id, viewer_id=current_user_id())


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
    @feed_blp.response(201, schemas.PostSchema)
    @feed_blp.alt_response(409, description="Already voted (votes are final) or poll closed")
    def post(self, data, post_id):
        """Vote in a poll, once; the answer is the post with its results."""
        result = reactions.vote(
            session=db.session, user_id=current_user_id(), post_id=post_id, **data
        )
        db.session.commit()
        return result


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


@media_blp.route("/media")
class MediaUpload(MethodView):
    decorators = [rate_limits.uploads]

    @accepts("multipart/form-data")
    @login_required
    @limit_body("MEDIA_MAX_BYTES")
    @media_blp.arguments(schemas.UploadSchema, location="files")
    @media_blp.arguments(idempotency.IdempotencyHeaderSchema, location="headers")
    @media_blp.response(201, schemas.MediaSchema)
    @media_blp.alt_response(413, description="Larger than 10 MB")
    @media_blp.alt_response(
        422, description="Not a JPEG, PNG or WebP image, corrupt, or too many pixels"
    )
    def post(self, files, headers):
        """Upload an image: verified, stripped of EXIF (GPS too), re-encoded, thumbnailed."""
        data = files["file"].read()
        outcome = idempotency.run_once(
            session=db.session,
            user_id=current_user_id(),
            scope="feed.media",
            key=headers["idempotency_key"],
            payload={"sha256": hashlib.sha256(data).hexdigest()},
            work=lambda: (201, _upload(data)),
        )
        db.session.commit()
        return outcome.body, outcome.status


def _upload(data: bytes) -> dict:
    item = media.upload_image(session=db.session, user_id=current_user_id(), data=data)
    return media.describe_media(item)


@media_blp.route("/media/files/<path:key>")
class MediaFile(MethodView):
    @media_blp.doc(responses={"200": {"description": "The image", "content": {"image/*": {}}}})
    def get(self, key):
        """An uploaded image; names never change, so caches keep it for a year."""
        path = media.storage().path(key)
        if path is None or not path.is_file():
            raise NotFound("Image not found.", type="media.not_found")
        response = send_file(
            path, mimetype=media.mimetype(key), max_age=ONE_YEAR, conditional=True, etag=True
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.cache_control.public = True
        response.cache_control.immutable = True
        return response
