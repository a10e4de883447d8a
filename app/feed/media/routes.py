"""Image uploads, and the files they are served from."""

import hashlib

from flask import request, send_file
from flask.views import MethodView

from app import idempotency, rate_limits
from app.accounts.permissions import current_user_id, login_required
from app.blueprint import Blueprint
from app.content_types import accepts, limit_body
from app.errors import Invalid, NotFound
from app.extensions import db
from app.feed.media import schemas
from app.feed.media import service as media

media_blp = Blueprint("media", __name__, url_prefix="/v1", description="Image uploads")
ONE_YEAR = 365 * 24 * 3600


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
        if request.form:  # the upload is its one `file` part: any other part is a mistake
            raise Invalid(next(iter(request.form)), "Unknown field.")
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
