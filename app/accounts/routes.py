"""Auth, profile, merchant and staff endpoints."""

from flask import current_app, request
from flask.views import MethodView

from app.accounts import schemas
from app.accounts import service as accounts_service
from app.accounts.permissions import current_user_id, login_required, staff_required
from app.blueprint import Blueprint
from app.extensions import db, limiter

auth_blp = Blueprint("auth", __name__, url_prefix="/v1", description="Shopper accounts and tokens")
admin_blp = Blueprint(
    "admin: merchant",
    __name__,
    url_prefix="/v1/admin",
    description="The merchant's profile and staff",
)


def _login_email() -> str:
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    return f"login:{email.strip().lower()}" if isinstance(email, str) else "login:-"


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@auth_blp.route("/auth/register")
class Register(MethodView):
    @auth_blp.arguments(schemas.RegisterSchema)
    @auth_blp.response(201, schemas.UserSchema)
    @auth_blp.alt_response(409, description="Email already registered")
    def post(self, data):
        """Create a shopper account."""
        user = accounts_service.register_user(session=db.session, **data)
        db.session.commit()
        return user


@auth_blp.route("/auth/login")
class Login(MethodView):
    decorators = [limiter.limit(_login_limit), limiter.limit(_login_limit, key_func=_login_email)]

    @auth_blp.arguments(schemas.LoginSchema)
    @auth_blp.response(200, schemas.TokensSchema)
    @auth_blp.alt_response(401, description="Wrong email or password")
    @auth_blp.alt_response(429, description="Too many attempts (per IP and per account)")
    def post(self, data):
        """Sign in: an access token and a refresh token."""
        user = accounts_service.authenticate(session=db.session, **data)
        tokens = accounts_service.issue_tokens(session=db.session, user_id=user.id)
        db.session.commit()
        return tokens


@auth_blp.route("/auth/refresh")
class Refresh(MethodView):
    @auth_blp.arguments(schemas.RefreshSchema)
    @auth_blp.response(200, schemas.TokensSchema)
    @auth_blp.alt_response(401, description="Invalid, expired or reused refresh token")
    def post(self, data):
        """Rotate a refresh token; a reused one revokes the whole login."""
        try:
            tokens = accounts_service.rotate_refresh_token(
                session=db.session, token=data["refresh_token"]
            )
        except accounts_service.RefreshReused:
            db.session.commit()  # the revocation must stick although the request fails
            raise
        db.session.commit()
        return tokens


@auth_blp.route("/auth/logout")
class Logout(MethodView):
    @auth_blp.arguments(schemas.RefreshSchema)
    @auth_blp.response(204)
    @auth_blp.alt_response(401, description="Invalid or expired refresh token")
    def post(self, data):
        """Revoke the login this refresh token belongs to."""
        accounts_service.logout(session=db.session, token=data["refresh_token"])
        db.session.commit()


@auth_blp.route("/me")
class Me(MethodView):
    @login_required
    @auth_blp.response(200, schemas.UserSchema)
    def get(self):
        """The signed-in user's profile."""
        return accounts_service.get_user(session=db.session, user_id=current_user_id())

    @login_required
    @auth_blp.arguments(schemas.UserUpdateSchema)
    @auth_blp.response(200, schemas.UserSchema)
    def patch(self, changes):
        """Change the display name or phone."""
        user = accounts_service.update_user(
            session=db.session, user_id=current_user_id(), changes=changes
        )
        db.session.commit()
        return user


@admin_blp.route("/me")
class StaffMe(MethodView):
    @staff_required()
    @admin_blp.response(200, schemas.StaffSelfSchema)
    def get(self, staff):
        """Who the caller is at this merchant: role and (store managers) their stores."""
        return staff


@admin_blp.route("/merchant")
class MerchantProfile(MethodView):
    @staff_required()
    @admin_blp.response(200, schemas.MerchantSchema)
    def get(self, staff):
        """The merchant the caller works for."""
        return accounts_service.get_merchant(session=db.session, merchant_id=staff.merchant_id)

    @staff_required("owner")
    @admin_blp.arguments(schemas.MerchantUpdateSchema)
    @admin_blp.response(200, schemas.MerchantSchema)
    def patch(self, changes, staff):
        """Change the merchant's profile (owners)."""
        merchant = accounts_service.update_merchant(
            session=db.session, merchant_id=staff.merchant_id, changes=changes
        )
        db.session.commit()
        return merchant


@admin_blp.route("/staff")
class StaffCollection(MethodView):
    @staff_required("owner")
    @admin_blp.response(200, schemas.StaffListSchema)
    def get(self, staff):
        """The merchant's staff (owners)."""
        return {
            "items": accounts_service.list_staff(session=db.session, merchant_id=staff.merchant_id)
        }

    @staff_required("owner")
    @admin_blp.arguments(schemas.StaffCreateSchema)
    @admin_blp.response(201, schemas.StaffSchema)
    @admin_blp.alt_response(409, description="Already staff here")
    def post(self, data, staff):
        """Add an existing account as staff (owners)."""
        member = accounts_service.add_staff(
            session=db.session, merchant_id=staff.merchant_id, **data
        )
        db.session.commit()
        return member


@admin_blp.route("/staff/<int:user_id>")
class StaffMember(MethodView):
    @staff_required("owner")
    @admin_blp.response(200, schemas.StaffSchema)
    def get(self, user_id, staff):
        """One staff member (owners)."""
        return accounts_service.get_staff(
            session=db.session, merchant_id=staff.merchant_id, user_id=user_id
        )

    @staff_required("owner")
    @admin_blp.arguments(schemas.StaffUpdateSchema)
    @admin_blp.response(200, schemas.StaffSchema)
    @admin_blp.alt_response(409, description="Would leave the merchant without an owner")
    def patch(self, changes, user_id, staff):
        """Change a staff member's role or stores (owners)."""
        member = accounts_service.change_staff(
            session=db.session, merchant_id=staff.merchant_id, user_id=user_id, changes=changes
        )
        db.session.commit()
        return member

    @staff_required("owner")
    @admin_blp.response(204)
    @admin_blp.alt_response(409, description="Would leave the merchant without an owner")
    def delete(self, user_id, staff):
        """Remove a staff member (owners)."""
        accounts_service.remove_staff(
            session=db.session, merchant_id=staff.merchant_id, user_id=user_id
        )
        db.session.commit()
