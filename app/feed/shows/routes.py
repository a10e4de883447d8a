"""Buyer show endpoints: shoppers post and report, merchants moderate."""

from flask.views import MethodView

from app import idempotency
from app.accounts.permissions import current_user_id, login_required, optional_login, staff_required
from app.blueprint import Blueprint
from app.extensions import db
from app.feed.shows import schemas
from app.feed.shows import service as buyer_shows
from app.pagination import PageArgsSchema

shows_blp = Blueprint(
    "buyer shows", __name__, url_prefix="/v1", description="Shoppers' photos of what they bought"
)
admin_shows_blp = Blueprint(
    "admin: buyer shows", __name__, url_prefix="/v1/admin", description="Moderating buyer shows"
)
MODERATORS = ("owner", "operator", "service")


@shows_blp.route("/buyer-shows")
class BuyerShows(MethodView):
    @login_required
    @shows_blp.arguments(schemas.ShowCreateSchema)
    @shows_blp.arguments(idempotency.IdempotencyHeaderSchema, location="headers")
    @shows_blp.response(201, schemas.ShowSchema)
    @shows_blp.alt_response(409, description="Reservation not picked up, or it has a show")
    def post(self, data, headers):
        """Post a buyer show; verified when it names my picked-up reservation."""
        outcome = idempotency.run_once(
            session=db.session,
            user_id=current_user_id(),
            scope="feed.buyer_show",
            key=headers["idempotency_key"],
            payload=data,
            work=lambda: (
                201,
                buyer_shows.create_show(session=db.session, user_id=current_user_id(), data=data),
            ),
        )
        db.session.commit()
        return outcome.body, outcome.status


@shows_blp.route("/buyer-shows/<int:show_id>")
class BuyerShow(MethodView):
    @optional_login
    @shows_blp.response(200, schemas.ShowSchema)
    def get(self, show_id):
        """One show: approved ones to anyone, my own in any state."""
        return buyer_shows.get_show(
            session=db.session, show_id=show_id, viewer_id=current_user_id()
        )

    @login_required
    @shows_blp.response(204)
    def delete(self, show_id):
        """Delete my show."""
        buyer_shows.delete_show(session=db.session, user_id=current_user_id(), show_id=show_id)
        db.session.commit()


@shows_blp.route("/buyer-shows/<int:show_id>/reports")
class ShowReports(MethodView):
    @login_required
    @shows_blp.arguments(schemas.ReportSchema)
    @shows_blp.response(200, schemas.ReportedSchema)
    def post(self, data, show_id):
        """Report a show as abusive (once per reader)."""
        result = buyer_shows.report_show(
            session=db.session, user_id=current_user_id(), show_id=show_id, **data
        )
        db.session.commit()
        return result


@shows_blp.route("/me/buyer-shows")
class MyShows(MethodView):
    @login_required
    @shows_blp.arguments(PageArgsSchema, location="query")
    @shows_blp.response(200, schemas.ShowPageSchema)
    def get(self, args):
        """My shows in every state, newest first."""
        items, next_cursor = buyer_shows.my_shows(
            session=db.session, user_id=current_user_id(), **args
        )
        return {"items": items, "next_cursor": next_cursor}


@shows_blp.route("/skus/<int:sku_id>/buyer-shows")
class SkuShows(MethodView):
    @shows_blp.arguments(PageArgsSchema, location="query")
    @shows_blp.response(200, schemas.ShowPageSchema)
    def get(self, args, sku_id):
        """Approved shows about a SKU, newest first."""
        items, next_cursor = buyer_shows.sku_shows(session=db.session, sku_id=sku_id, **args)
        return {"items": items, "next_cursor": next_cursor}


@shows_blp.route("/merchants/<int:merchant_id>/buyer-shows")
class MerchantShows(MethodView):
    @shows_blp.arguments(PageArgsSchema, location="query")
    @shows_blp.response(200, schemas.ShowPageSchema)
    def get(self, args, merchant_id):
        """Approved shows about a merchant, for its page."""
        items, next_cursor = buyer_shows.merchant_shows(
            session=db.session, merchant_id=merchant_id, **args
        )
        return {"items": items, "next_cursor": next_cursor}


@admin_shows_blp.route("/buyer-shows")
class AdminShows(MethodView):
    @staff_required(*MODERATORS)
    @admin_shows_blp.arguments(schemas.AdminShowArgsSchema, location="query")
    @admin_shows_blp.response(200, schemas.AdminShowPageSchema)
    def get(self, args, staff):
        """Shows about the merchant, newest first; `state=pending` is the moderation queue."""
        items, next_cursor = buyer_shows.shows_to_moderate(
            session=db.session, merchant_id=staff.merchant_id, **args
        )
        return {"items": items, "next_cursor": next_cursor}


@admin_shows_blp.route("/buyer-shows/<int:show_id>/approve")
class ApproveShow(MethodView):
    @staff_required(*MODERATORS)
    @admin_shows_blp.response(200, schemas.AdminShowSchema)
    def post(self, show_id, staff):
        """Approve a show: it appears on the merchant's and the SKUs' pages."""
        result = buyer_shows.moderate_show(
            session=db.session,
            merchant_id=staff.merchant_id,
            moderator_id=staff.user_id,
            show_id=show_id,
            approve=True,
        )
        db.session.commit()
        return result


@admin_shows_blp.route("/buyer-shows/<int:show_id>/reject")
class RejectShow(MethodView):
    @staff_required(*MODERATORS)
    @admin_shows_blp.arguments(schemas.RejectSchema)
    @admin_shows_blp.response(200, schemas.AdminShowSchema)
    def post(self, data, show_id, staff):
        """Reject a show with a reason (also takes an approved one down)."""
        result = buyer_shows.moderate_show(
            session=db.session,
            merchant_id=staff.merchant_id,
            moderator_id=staff.user_id,
            show_id=show_id,
            approve=False,
            **data,
        )
        db.session.commit()
        return result
