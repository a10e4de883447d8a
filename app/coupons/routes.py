"""Coupon endpoints: shopper discovery, claims and wallet; merchant campaigns and redemption."""

from flask import current_app, make_response
from flask.views import MethodView

from app import cache, idempotency
from app.accounts.permissions import (
    current_user_id,
    login_required,
    optional_login,
    per_user_key,
    staff_required,
)
from app.blueprint import Blueprint, prebuilt_json
from app.coupons import claims, lookups, redemption, schemas, shake
from app.coupons import service as coupons_service
from app.extensions import db, limiter
from app.fields import changes

coupons_blp = Blueprint(
    "coupons", __name__, url_prefix="/v1", description="Coupons nearby, claims and the wallet"
)
admin_coupons_blp = Blueprint(
    "admin: coupons",
    __name__,
    url_prefix="/v1/admin",
    description="Coupon campaigns, their stats, and redemption at the store",
)
CAMPAIGN_MANAGERS = ("owner", "operator")
TILL_ROLES = ("owner", "operator", "store_manager")
COUPON_DETAIL = schemas.CouponDetailSchema()
CAMPAIGN = schemas.CampaignSchema()
PUBLIC_CAMPAIGN = schemas.CampaignPublicSchema()


def _claim_limit_per_user() -> str:
    return current_app.config.get("COUPON_CLAIM_RATE_LIMIT", "20/minute")


def _claim_limit_per_ip() -> str:
    return current_app.config.get("COUPON_CLAIM_IP_RATE_LIMIT", "120/minute")


def _answer(outcome: idempotency.Outcome):
    # The body was dumped once, when first made (a replay is the stored JSON): send it as is.
    return make_response(outcome.body, outcome.status)


# --- shopper -----------------------------------------------------------------------------------


@coupons_blp.route("/coupons/nearby")
class CouponsNearby(MethodView):
    @optional_login
    @coupons_blp.arguments(schemas.NearbyArgsSchema, location="query")
    @coupons_blp.response(200, schemas.NearbyPageSchema)
    def get(self, args):
        """Campaigns claimable here and now, nearest store first."""
        items, next_cursor = coupons_service.campaigns_near(
            session=db.session,
            lat=args["lat"],
            lng=args["lng"],
            radius_m=args["radius"],
            accuracy_m=args["accuracy_m"],
            user_id=current_user_id(),
            limit=args["limit"],
            cursor=args["cursor"],
        )
        return prebuilt_json({"items": items, "next_cursor": next_cursor})


@coupons_blp.route("/coupon-campaigns/<int:campaign_id>")
class PublicCampaign(MethodView):
    @optional_login
    @coupons_blp.response(200, schemas.CampaignPublicSchema)
    def get(self, campaign_id):
        """One campaign, with how many of it you hold when signed in."""
        body = cache.cached(
            "campaign",
            campaign_id,
            lambda: PUBLIC_CAMPAIGN.dump(
                coupons_service.get_public_campaign(session=db.session, campaign_id=campaign_id)
            ),
        )
        if current_user_id() is not None:
            claims_held = coupons_service.my_claims(
                session=db.session, campaign_id=campaign_id, user_id=current_user_id()
            )
            body = {**body, "my_claims": claims_held}
        return prebuilt_json(body)


@coupons_blp.route("/coupon-campaigns/<int:campaign_id>/claim")
class Claim(MethodView):
    decorators = [
        limiter.limit(_claim_limit_per_ip),
        limiter.limit(_claim_limit_per_user, key_func=per_user_key("claim")),
    ]

    @login_required
    @coupons_blp.arguments(schemas.ClaimSchema)
    @coupons_blp.arguments(idempotency.IdempotencyHeaderSchema, location="headers")
    @coupons_blp.response(201, schemas.CouponDetailSchema)
    @coupons_blp.alt_response(409, description="Sold out, limit reached, not open, or too far")
    @coupons_blp.alt_response(429, description="Too many claims (per user and per IP)")
    def post(self, data, headers, campaign_id):
        """Claim a coupon into your wallet (`lat`/`lng` required on geo-fenced campaigns)."""
        outcome = idempotency.run_once(
            session=db.session,
            user_id=current_user_id(),
            scope="coupons.claim",
            key=headers["idempotency_key"],
            payload={**data, "campaign_id": campaign_id},
            work=lambda: (
                201,
                COUPON_DETAIL.dump(
                    claims.claim_coupon(
                        session=db.session,
                        user_id=current_user_id(),
                        campaign_id=campaign_id,
                        **data,
                    )
                ),
            ),
        )
        db.session.commit()
        return _answer(outcome)


def _shake_limit_per_user() -> str:
    return current_app.config.get("SHAKE_RATE_LIMIT", "1 per 5 seconds;100 per day")


def _shake_limit_per_ip() -> str:
    return current_app.config.get("SHAKE_IP_RATE_LIMIT", "120/minute")


@coupons_blp.route("/shake")
class Shake(MethodView):
    decorators = [
        limiter.limit(_shake_limit_per_ip),
        # Only a signed-in shopper's shakes count against their limit: a request without a valid
        # token answers 401 (login_required), not 429 from a per-address bucket.
        limiter.limit(
            _shake_limit_per_user,
            key_func=per_user_key("shake"),
            exempt_when=lambda: ":user:" not in per_user_key("shake")(),
        ),
    ]

    @login_required
    @coupons_blp.arguments(schemas.ShakeSchema)
    @coupons_blp.response(200, schemas.ShakeResultSchema)
    @coupons_blp.alt_response(429, description="Shaken too often: Retry-After and try_again_at")
    def post(self, data):
        """Shake near stores: one coupon claimable here, drawn by weight, or nothing this time."""
        result = shake.shake(session=db.session, user_id=current_user_id(), **data)
        db.session.commit()
        return result


@coupons_blp.route("/wallet/coupons")
class Wallet(MethodView):
    @login_required
    @coupons_blp.arguments(schemas.WalletArgsSchema, location="query")
    @coupons_blp.response(200, schemas.WalletPageSchema)
    def get(self, args):
        """Your coupons, newest first; `state` is exact at read time."""
        items, next_cursor = claims.list_wallet(
            session=db.session, user_id=current_user_id(), **args
        )
        return {"items": items, "next_cursor": next_cursor}


@coupons_blp.route("/wallet/coupons/<int:coupon_id>")
class WalletCoupon(MethodView):
    @login_required
    @coupons_blp.response(200, schemas.CouponDetailSchema)
    def get(self, coupon_id):
        """One of your coupons, with the code to show at the till."""
        return lookups.wallet_coupon(
            session=db.session, user_id=current_user_id(), coupon_id=coupon_id
        )


# --- merchant ----------------------------------------------------------------------------------


@admin_coupons_blp.route("/coupon-campaigns")
class Campaigns(MethodView):
    @staff_required(*CAMPAIGN_MANAGERS)
    @admin_coupons_blp.arguments(schemas.CampaignListArgsSchema, location="query")
    @admin_coupons_blp.response(200, schemas.CampaignPageSchema)
    def get(self, args, staff):
        """The merchant's campaigns, newest first."""
        items, next_cursor = coupons_service.list_campaigns(
            session=db.session, merchant_id=staff.merchant_id, **args
        )
        return {"items": items, "next_cursor": next_cursor}

    @staff_required(*CAMPAIGN_MANAGERS)
    @admin_coupons_blp.arguments(schemas.CampaignCreateSchema)
    @admin_coupons_blp.arguments(idempotency.IdempotencyHeaderSchema, location="headers")
    @admin_coupons_blp.response(201, schemas.CampaignSchema)
    def post(self, data, headers, staff):
        """Create a campaign (owners, operators)."""
        outcome = idempotency.run_once(
            session=db.session,
            user_id=staff.user_id,
            scope=f"coupons.campaign:{staff.merchant_id}",
            key=headers["idempotency_key"],
            payload=data,
            work=lambda: (
                201,
                CAMPAIGN.dump(
                    coupons_service.create_campaign(
                        session=db.session, merchant_id=staff.merchant_id, data=data
                    )
                ),
            ),
        )
        db.session.commit()
        return _answer(outcome)


@admin_coupons_blp.route("/coupon-campaigns/<int:campaign_id>")
class Campaign(MethodView):
    @staff_required(*CAMPAIGN_MANAGERS)
    @admin_coupons_blp.response(200, schemas.CampaignSchema)
    def get(self, campaign_id, staff):
        """One campaign."""
        return lookups.merchant_campaign(
            session=db.session, merchant_id=staff.merchant_id, campaign_id=campaign_id
        )

    @staff_required(*CAMPAIGN_MANAGERS)
    @admin_coupons_blp.arguments(changes(schemas.CampaignUpdateSchema))
    @admin_coupons_blp.response(200, schemas.CampaignSchema)
    @admin_coupons_blp.alt_response(409, description="Unsafe once coupons are claimed, or ended")
    def patch(self, changes, campaign_id, staff):
        """Change a campaign; once claimed only raise totals and extend windows."""
        campaign = coupons_service.update_campaign(
            session=db.session,
            merchant_id=staff.merchant_id,
            campaign_id=campaign_id,
            changes=changes,
        )
        db.session.commit()
        return campaign


@admin_coupons_blp.route("/coupon-campaigns/<int:campaign_id>:<any(pause,resume,end):action>")
class CampaignState(MethodView):
    @staff_required(*CAMPAIGN_MANAGERS)
    @admin_coupons_blp.response(200, schemas.CampaignSchema)
    @admin_coupons_blp.alt_response(409, description="Not possible from the current state")
    def post(self, campaign_id, action, staff):
        """Pause, resume or end (for good) a campaign."""
        campaign = coupons_service.change_campaign_state(
            session=db.session,
            merchant_id=staff.merchant_id,
            campaign_id=campaign_id,
            action=action,
        )
        db.session.commit()
        return campaign


@admin_coupons_blp.route("/coupon-campaigns/<int:campaign_id>/stats")
class CampaignStats(MethodView):
    @staff_required(*CAMPAIGN_MANAGERS)
    @admin_coupons_blp.response(200, schemas.CampaignStatsSchema)
    def get(self, campaign_id, staff):
        """Claimed, redeemed, expired, remaining and redemption rate, per store too."""
        return coupons_service.campaign_stats(
            session=db.session, merchant_id=staff.merchant_id, campaign_id=campaign_id
        )


@admin_coupons_blp.route("/stores/<int:store_id>/coupons:redeem")
class Redeem(MethodView):
    @staff_required(*TILL_ROLES)
    @admin_coupons_blp.arguments(schemas.RedeemSchema)
    @admin_coupons_blp.response(200, schemas.RedemptionSchema)
    @admin_coupons_blp.alt_response(409, description="Used, expired, or not valid for this basket")
    def post(self, data, store_id, staff):
        """Redeem a shopper's coupon at the till (store managers: their stores)."""
        staff.require_store(store_id)
        coupon = redemption.redeem_coupon(
            session=db.session,
            merchant_id=staff.merchant_id,
            store_id=store_id,
            staff_user_id=staff.user_id,
            **data,
        )
        db.session.commit()
        return coupon


@admin_coupons_blp.route("/stores/<int:store_id>/coupons/<int:coupon_id>:void")
class Void(MethodView):
    @staff_required(*TILL_ROLES)
    @admin_coupons_blp.arguments(schemas.VoidSchema)
    @admin_coupons_blp.response(200, schemas.RedemptionSchema)
    @admin_coupons_blp.alt_response(409, description="Not redeemed here in the last 24 h")
    def post(self, data, store_id, coupon_id, staff):
        """Void a redemption made at this store within 24 hours, with a reason."""
        staff.require_store(store_id)
        coupon = redemption.void_redemption(
            session=db.session,
            merchant_id=staff.merchant_id,
            store_id=store_id,
            coupon_id=coupon_id,
            reason=data["reason"],
        )
        db.session.commit()
        return coupon
