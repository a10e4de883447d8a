"""Membership endpoints: the merchant's program, the shopper's memberships and code, the till."""

from flask import current_app, request
from flask.views import MethodView

from app.accounts.permissions import current_user_id, login_required, staff_required
from app.blueprint import Blueprint
from app.extensions import db, limiter
from app.members import schemas, till
from app.members import service as members_service
from app.pagination import PageArgsSchema

members_blp = Blueprint(
    "members", __name__, url_prefix="/v1", description="Memberships, points and the member code"
)
admin_members_blp = Blueprint(
    "admin: members",
    __name__,
    url_prefix="/v1/admin",
    description="The membership program; members at the till",
)
PROGRAM_MANAGERS = ("owner", "operator")
TILL_ROLES = ("owner", "operator", "store_manager")


def _resolve_limit() -> str:
    return current_app.config.get("MEMBER_RESOLVE_RATE_LIMIT", "60/minute")


def _per_store() -> str:
    return f"members.resolve:store:{request.view_args.get('store_id')}"


def _till(staff, store_id: int) -> dict:
    return {
        "session": db.session,
        "merchant_id": staff.merchant_id,
        "store_scope": staff.store_scope,
        "store_id": store_id,
    }


@admin_members_blp.route("/membership")
class Program(MethodView):
    @staff_required(*PROGRAM_MANAGERS)
    @admin_members_blp.response(200, schemas.ProgramSchema)
    def get(self, staff):
        """The merchant's membership program and tiers."""
        return members_service.get_program(session=db.session, merchant_id=staff.merchant_id)

    @staff_required(*PROGRAM_MANAGERS)
    @admin_members_blp.arguments(schemas.ProgramSchema)
    @admin_members_blp.response(200, schemas.ProgramSchema)
    def put(self, data, staff):
        """Set up or replace the program (owners, operators); tiers are matched by name."""
        program = members_service.put_program(
            session=db.session, merchant_id=staff.merchant_id, data=data
        )
        db.session.commit()
        return program


@members_blp.route("/merchants/<int:merchant_id>/membership")
class Join(MethodView):
    @login_required
    @members_blp.arguments(schemas.JoinSchema)
    @members_blp.response(201, schemas.MembershipSchema)
    @members_blp.alt_response(200, schema=schemas.MembershipSchema, description="Already a member")
    def post(self, data, merchant_id):
        """Join the merchant's program with explicit consent; a member number."""
        created, body = members_service.join(
            session=db.session, user_id=current_user_id(), merchant_id=merchant_id, **data
        )
        db.session.commit()
        return body, 201 if created else 200


@members_blp.route("/me/memberships")
class MyMemberships(MethodView):
    @login_required
    @members_blp.arguments(PageArgsSchema, location="query")
    @members_blp.response(200, schemas.MembershipPageSchema)
    def get(self, args):
        """Your memberships, newest first."""
        items, next_cursor = members_service.list_own(
            session=db.session, user_id=current_user_id(), **args
        )
        return {"items": items, "next_cursor": next_cursor}


@members_blp.route("/me/memberships/<int:member_id>")
class MyMembership(MethodView):
    @login_required
    @members_blp.response(200, schemas.MembershipSchema)
    def get(self, member_id):
        """One membership: points available and pending, tier, progress to the next."""
        return members_service.get_own(
            session=db.session, user_id=current_user_id(), member_id=member_id
        )

    @login_required
    @members_blp.response(204)
    def delete(self, member_id):
        """Leave: no more earning; the ledger stays for the merchant's records."""
        members_service.leave(session=db.session, user_id=current_user_id(), member_id=member_id)
        db.session.commit()


@members_blp.route("/me/memberships/<int:member_id>/ledger")
class MyLedger(MethodView):
    @login_required
    @members_blp.arguments(PageArgsSchema, location="query")
    @members_blp.response(200, schemas.LedgerPageSchema)
    def get(self, args, member_id):
        """The points ledger of a membership, newest first."""
        items, next_cursor = members_service.ledger_page(
            session=db.session, user_id=current_user_id(), member_id=member_id, **args
        )
        return {"items": items, "next_cursor": next_cursor}


@members_blp.route("/me/memberships/<int:member_id>/code")
class MyCode(MethodView):
    @login_required
    @members_blp.response(200, schemas.CodeSchema)
    def get(self, member_id):
        """A member code for the till (valid about a minute) and its QR as SVG."""
        return members_service.member_code(
            session=db.session, user_id=current_user_id(), member_id=member_id
        )


@admin_members_blp.route("/stores/<int:store_id>/members:resolve")
class Resolve(MethodView):
    decorators = [limiter.limit(_resolve_limit, key_func=_per_store)]

    @staff_required(*TILL_ROLES)
    @admin_members_blp.arguments(schemas.ResolveSchema)
    @admin_members_blp.response(200, schemas.ResolvedSchema)
    @admin_members_blp.alt_response(422, description="Not a member code, or expired")
    @admin_members_blp.alt_response(429, description="Too many resolves at this store")
    def post(self, data, store_id, staff):
        """Who a scanned member code names: name, tier, points, coupons and pickups here."""
        return till.resolve(code=data["code"], **_till(staff, store_id))


@admin_members_blp.route("/stores/<int:store_id>/members/<int:member_id>/receipts")
class Receipts(MethodView):
    @staff_required(*TILL_ROLES)
    @admin_members_blp.arguments(schemas.ReceiptSchema)
    @admin_members_blp.response(201, schemas.ReceiptOutSchema)
    @admin_members_blp.alt_response(200, schema=schemas.ReceiptOutSchema, description="Replayed")
    @admin_members_blp.alt_response(409, description="The reference was used with other details")
    def post(self, data, store_id, member_id, staff):
        """A till receipt earns points (pending first); once per receipt, however often sent."""
        created, body = till.record_receipt(
            member_id=member_id, data=data, **_till(staff, store_id)
        )
        db.session.commit()
        return body, 201 if created else 200


@admin_members_blp.route("/stores/<int:store_id>/members/<int:member_id>/receipts/<ref>:refund")
class Refund(MethodView):
    @staff_required(*TILL_ROLES)
    @admin_members_blp.response(200, schemas.ReceiptOutSchema)
    @admin_members_blp.alt_response(409, description="Refunded already")
    def post(self, store_id, member_id, ref, staff):
        """Refund a receipt: what is left of its points goes back (spent points stay spent)."""
        body = till.refund_receipt(member_id=member_id, ref=ref, **_till(staff, store_id))
        db.session.commit()
        return body


@admin_members_blp.route("/stores/<int:store_id>/members/<int:member_id>/points:redeem")
class Redeem(MethodView):
    @staff_required(*TILL_ROLES)
    @admin_members_blp.arguments(schemas.PointsRedeemSchema)
    @admin_members_blp.response(201, schemas.PointsRedeemedSchema)
    @admin_members_blp.alt_response(
        200, schema=schemas.PointsRedeemedSchema, description="Replayed"
    )
    @admin_members_blp.alt_response(409, description="Not enough points, or the receipt differs")
    def post(self, data, store_id, member_id, staff):
        """Spend available points on a receipt, atomically (never below zero)."""
        created, body = till.redeem(
            member_id=member_id, staff_user_id=staff.user_id, **data, **_till(staff, store_id)
        )
        db.session.commit()
        return body, 201 if created else 200
