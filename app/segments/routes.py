"""Admin endpoints of segments (owners, operators)."""

from flask.views import MethodView

from app.accounts.permissions import staff_required
from app.blueprint import Blueprint
from app.extensions import db
from app.fields import changes
from app.pagination import PageArgsSchema
from app.segments import schemas
from app.segments import service as segments_service

admin_segments_blp = Blueprint(
    "admin: segments",
    __name__,
    url_prefix="/v1/admin",
    description="Audience segments that posts and coupon campaigns target",
)
MANAGERS = ("owner", "operator")


@admin_segments_blp.route("/segments")
class Segments(MethodView):
    @staff_required(*MANAGERS)
    @admin_segments_blp.arguments(PageArgsSchema, location="query")
    @admin_segments_blp.response(200, schemas.SegmentPageSchema)
    def get(self, args, staff):
        """The merchant's segments, newest first."""
        items, next_cursor = segments_service.list_segments(
            session=db.session, merchant_id=staff.merchant_id, **args
        )
        return {"items": items, "next_cursor": next_cursor}

    @staff_required(*MANAGERS)
    @admin_segments_blp.arguments(schemas.SegmentCreateSchema)
    @admin_segments_blp.response(201, schemas.SegmentSchema)
    @admin_segments_blp.alt_response(409, description="The merchant has 100 segments")
    def post(self, data, staff):
        """Save a segment: a rule over what we know of shoppers."""
        segment = segments_service.create_segment(
            session=db.session, merchant_id=staff.merchant_id, data=data
        )
        db.session.commit()
        return segment


@admin_segments_blp.route("/segments/<int:segment_id>")
class Segment(MethodView):
    @staff_required(*MANAGERS)
    @admin_segments_blp.response(200, schemas.SegmentSchema)
    def get(self, segment_id, staff):
        """One segment."""
        return segments_service.get_segment(
            session=db.session, merchant_id=staff.merchant_id, segment_id=segment_id
        )

    @staff_required(*MANAGERS)
    @admin_segments_blp.arguments(changes(schemas.SegmentUpdateSchema))
    @admin_segments_blp.response(200, schemas.SegmentSchema)
    def patch(self, changes, segment_id, staff):
        """Rename a segment or change its rule."""
        segment = segments_service.update_segment(
            session=db.session,
            merchant_id=staff.merchant_id,
            segment_id=segment_id,
            changes=changes,
        )
        db.session.commit()
        return segment

    @staff_required(*MANAGERS)
    @admin_segments_blp.response(204)
    @admin_segments_blp.alt_response(409, description="Posts or campaigns still target it")
    def delete(self, segment_id, staff):
        """Delete a segment nothing targets."""
        segments_service.delete_segment(
            session=db.session, merchant_id=staff.merchant_id, segment_id=segment_id
        )
        db.session.commit()


@admin_segments_blp.route("/segments/<int:segment_id>/size")
class SegmentSize(MethodView):
    @staff_required(*MANAGERS)
    @admin_segments_blp.arguments(schemas.SizeArgsSchema, location="query")
    @admin_segments_blp.response(200, schemas.SizeSchema)
    def get(self, args, segment_id, staff):
        """How many shoppers match now (position rules at `lat`/`lng` when given)."""
        return segments_service.segment_size(
            session=db.session, merchant_id=staff.merchant_id, segment_id=segment_id, **args
        )
