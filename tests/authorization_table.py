"""Who may call each operation that names an object in its path, and what they get.

One row per `"METHOD rule"` of the URL map (the rule exactly as Flask prints it). A new endpoint
with a path id needs a row here, else tests/test_authorization_matrix.py fails. A row is one line:

    "GET /v1/things/<int:thing_id>": staff(*READERS),                  # admin, some roles
    "POST /v1/things/<int:thing_id>/go": staff(*EDITORS, ok=201, body={"why": "x"}),
    "GET /v1/public/<int:thing_id>": public(),                          # anyone
    "PUT /v1/things/<int:thing_id>/like": signed_in(),                 # any signed-in user
    "GET /v1/me/things/<int:thing_id>": own(),                          # the shopper who owns it

Callers: anonymous; `shopper`, who owns the shopper-side objects (reservation, coupon, buyer
show); another shopper; staff (owner) of another merchant; and each role of the merchant that owns
the objects (the store manager manages the object's store). Path values come from the world the
test builds (tests/test_authorization_matrix.py: WORLD_PARAMS). Another tenant's object is a 404.
"""

from dataclasses import dataclass, field

ROLES = ("owner", "operator", "store_manager", "service")
CALLERS = ("anonymous", "shopper", "other_shopper", "other_staff", *ROLES)
ALL = ROLES
EDITORS = ("owner", "operator")
MODERATORS = ("owner", "operator", "service")
STOCKISTS = ("owner", "operator", "store_manager")
HANDLERS = ("owner", "store_manager")
READERS = ("owner", "store_manager", "service")


@dataclass(frozen=True)
class Row:
    expect: dict[str, int]
    body: dict | None = None
    query: str = ""
    params: dict = field(default_factory=dict)  # path values other than the world's ("{name}")


def _row(expect: dict, overrides: dict, **kw) -> Row:
    return Row({**expect, **overrides}, **kw)


def public(ok: int = 200, *, overrides=None, **kw) -> Row:
    """Anyone, signed in or not."""
    return _row(dict.fromkeys(CALLERS, ok), overrides or {}, **kw)


def signed_in(ok: int = 200, *, overrides=None, **kw) -> Row:
    """Any signed-in user (staff are users too)."""
    return _row({**dict.fromkeys(CALLERS, ok), "anonymous": 401}, overrides or {}, **kw)


def own(ok: int = 200, *, overrides=None, **kw) -> Row:
    """The shopper the object belongs to; to everyone else it does not exist."""
    expect = {**dict.fromkeys(CALLERS, 404), "anonymous": 401, "shopper": ok}
    return _row(expect, overrides or {}, **kw)


def staff(*roles: str, ok: int = 200, overrides=None, **kw) -> Row:
    """Staff of the owning merchant in `roles`; other roles 403; other merchants 404."""
    expect = {"anonymous": 401, "shopper": 403, "other_shopper": 403, "other_staff": 404}
    expect |= {role: ok if role in roles else 403 for role in ROLES}
    return _row(expect, overrides or {}, **kw)


HOURS = {"closed": False, "hours": [{"opens": "10:00", "closes": "18:00"}], "note": "Holiday"}
SKU = {"code": "NEW-SKU-1", "price_cents": 1500, "currency": "TWD"}

TABLE: dict[str, Row] = {
    # accounts
    "GET /v1/admin/staff/<int:user_id>": staff("owner"),
    "PATCH /v1/admin/staff/<int:user_id>": staff("owner", body={"role": "service"}),
    "DELETE /v1/admin/staff/<int:user_id>": staff("owner", ok=204),
    # stores
    "GET /v1/stores/<int:store_id>": public(),
    "GET /v1/stores/<int:store_id>/stock": public(),
    "GET /v1/admin/stores/<int:store_id>": staff(*ALL),
    "PATCH /v1/admin/stores/<int:store_id>": staff(  # store managers change hours only
        *STOCKISTS, body={"name": "Renamed"}, overrides={"store_manager": 403}
    ),
    "DELETE /v1/admin/stores/<int:store_id>": staff(*EDITORS, ok=204),
    "GET /v1/admin/stores/<int:store_id>/hours-exceptions": staff(*ALL),
    "PUT /v1/admin/stores/<int:store_id>/hours-exceptions/<date:day>": staff(
        *STOCKISTS, body=HOURS
    ),
    "DELETE /v1/admin/stores/<int:store_id>/hours-exceptions/<date:day>": staff(*STOCKISTS, ok=204),
    # catalog and stock
    "GET /v1/products/<int:product_id>": public(),
    "GET /v1/skus/<int:sku_id>": public(),
    "GET /v1/skus/<int:sku_id>/nearby": public(query="lat=25.0330&lng=121.5654"),
    "GET /v1/admin/products/<int:product_id>": staff(*ALL),
    "PATCH /v1/admin/products/<int:product_id>": staff(*EDITORS, body={"title": "Renamed"}),
    "DELETE /v1/admin/products/<int:product_id>": staff(*EDITORS, ok=204),
    "POST /v1/admin/products/<int:product_id>/skus": staff(*EDITORS, ok=201, body=SKU),
    "PATCH /v1/admin/skus/<int:sku_id>": staff(*EDITORS, body={"price_cents": 1300}),
    "GET /v1/admin/stores/<int:store_id>/stock/<int:sku_id>": staff(*ALL),
    "PUT /v1/admin/stores/<int:store_id>/stock/<int:sku_id>": staff(
        *STOCKISTS, body={"channel": "shared", "on_hand": 12}
    ),
    # reservations (the world's reservation is ready for pickup)
    "GET /v1/reservations/<uuid:public_id>": own(),
    "POST /v1/reservations/<uuid:public_id>/cancel": own(),
    "POST /v1/reservations/<uuid:public_id>/extend": own(409),  # only a `reserved` one extends
    "GET /v1/admin/stores/<int:store_id>/reservations": staff(*READERS),
    "GET /v1/admin/stores/<int:store_id>/reservations/<uuid:public_id>": staff(*READERS),
    "POST /v1/admin/stores/<int:store_id>/reservations/<uuid:public_id>/ready": staff(
        *HANDLERS,
        ok=409,  # ready already
    ),
    "POST /v1/admin/stores/<int:store_id>/reservations/<uuid:public_id>/pickup": staff(
        *HANDLERS, body={"code": "{pickup_code}"}
    ),
    "POST /v1/admin/stores/<int:store_id>/reservations/<uuid:public_id>/cancel": staff(
        *READERS, body={"reason": "Damaged"}
    ),
    # orders (the world's order is the shopper's, placed to pay at the till)
    "GET /v1/orders/<uuid:order_id>": own(),
    "POST /v1/orders/<uuid:order_id>/pay": own(409, body={"payment_method": "pm_card_visa"}),
    "POST /v1/orders/<uuid:order_id>/cancel": own(),
    "GET /v1/admin/stores/<int:store_id>/orders": staff(*READERS),
    "GET /v1/admin/stores/<int:store_id>/orders/<uuid:order_id>": staff(*READERS),
    "POST /v1/admin/stores/<int:store_id>/orders/<uuid:order_id>/preparing": staff(*HANDLERS),
    "POST /v1/admin/stores/<int:store_id>/orders/<uuid:order_id>/ready": staff(*HANDLERS),
    "POST /v1/admin/stores/<int:store_id>/orders/<uuid:order_id>/pickup": staff(
        *HANDLERS,
        ok=409,
        body={"code": "123456"},  # not ready yet
    ),
    "POST /v1/admin/stores/<int:store_id>/orders/<uuid:order_id>:accept": staff(*HANDLERS, ok=409),
    "POST /v1/admin/stores/<int:store_id>/orders/<uuid:order_id>:reject": staff(
        *HANDLERS,
        ok=409,
        body={"reason": "Sold out"},  # a pickup order is offered to no store
    ),
    "POST /v1/admin/stores/<int:store_id>/orders/<uuid:order_id>:ship": staff(
        *HANDLERS,
        ok=409,
        body={"tracking_ref": "TW1234"},  # not accepted
    ),
    "GET /v1/admin/stores/<int:store_id>/aisle": staff(*ALL, query="sku_id={sku_id}"),
    "POST /v1/admin/stores/<int:store_id>/aisle/orders": staff(
        *STOCKISTS,
        ok=409,  # the world has one store: the units must come from another
        body={
            "shopper_email": "mei@example.com",
            "source_store_id": "{store_id}",
            "items": [{"sku_id": "{sku_id}", "qty": 1}],
        },
    ),
    "POST /v1/admin/stores/<int:store_id>/orders/<uuid:order_id>:send": staff(
        *STOCKISTS,
        ok=409,  # the world's order is no transfer
    ),
    "POST /v1/admin/stores/<int:store_id>/orders/<uuid:order_id>:receive": staff(
        *STOCKISTS, ok=409
    ),
    "POST /v1/admin/stores/<int:store_id>/returns": staff(
        *HANDLERS,
        ok=409,  # the world's order is not collected yet
        body={
            "order_id": "{order_id}",
            "lines": [{"sku_id": "{sku_id}", "qty": 1}],
            "reason": "Torn",
        },
    ),
    "POST /v1/admin/stores/<int:store_id>/orders/<uuid:order_id>/cancel": staff(
        *READERS, body={"reason": "Damaged"}
    ),
    # coupons
    "GET /v1/coupon-campaigns/<int:campaign_id>": public(),
    "POST /v1/coupon-campaigns/<int:campaign_id>/claim": signed_in(
        201,
        overrides={"shopper": 409},
        body={},  # the shopper holds the one allowed
    ),
    "GET /v1/wallet/coupons/<int:coupon_id>": own(),
    "GET /v1/admin/coupon-campaigns/<int:campaign_id>": staff(*EDITORS),
    "PATCH /v1/admin/coupon-campaigns/<int:campaign_id>": staff(*EDITORS, body={"title": "New"}),
    "POST /v1/admin/coupon-campaigns/<int:campaign_id>:<any(pause,resume,end):action>": staff(
        *EDITORS, params={"action": "pause"}
    ),
    "GET /v1/admin/coupon-campaigns/<int:campaign_id>/stats": staff(*EDITORS),
    "POST /v1/admin/stores/<int:store_id>/coupons:redeem": staff(
        *STOCKISTS, body={"code": "{coupon_code}", "basket_cents": 90000}
    ),
    "POST /v1/admin/stores/<int:store_id>/coupons/<int:coupon_id>:void": staff(
        *STOCKISTS,
        ok=409,
        body={"reason": "Till error"},  # only a redeemed coupon is voided
    ),
    # feed
    "GET /v1/merchants/<int:merchant_id>/posts": public(),
    "GET /v1/posts/<int:post_id>": public(),
    "PUT /v1/posts/<int:post_id>/like": signed_in(),
    "DELETE /v1/posts/<int:post_id>/like": signed_in(),
    "POST /v1/posts/<int:post_id>/votes": signed_in(201, body={"option_ids": ["{option_id}"]}),
    "POST /v1/posts/<int:post_id>/guesses": signed_in(
        201, body={"price_cents": 1000}, params={"post_id": "{guess_post_id}"}
    ),
    "GET /v1/merchants/<int:merchant_id>/follow": public(),
    "PUT /v1/merchants/<int:merchant_id>/follow": signed_in(),
    "DELETE /v1/merchants/<int:merchant_id>/follow": signed_in(),
    "GET /v1/media/files/<path:key>": public(),
    "GET /v1/admin/posts/<int:post_id>": staff(*MODERATORS),
    "PATCH /v1/admin/posts/<int:post_id>": staff(*EDITORS, body={"title": "Renamed"}),
    "DELETE /v1/admin/posts/<int:post_id>": staff(*EDITORS, ok=204),
    "POST /v1/admin/posts/<int:post_id>/publish": staff(*EDITORS, body={}),
    "POST /v1/admin/posts/<int:post_id>/hide": staff(*MODERATORS, body={"reason": "Outdated"}),
    # the reward is the caller's own merchant's: staff of another merchant name A's campaign
    "PUT /v1/admin/feed-rewards/<any(follow, buyer_show):trigger>": staff(
        *EDITORS, body={"campaign_id": "{campaign_id}"}, params={"trigger": "follow"}
    ),
    "DELETE /v1/admin/feed-rewards/<any(follow, buyer_show):trigger>": staff(
        *EDITORS, ok=204, overrides={"other_staff": 204}, params={"trigger": "follow"}
    ),
    # buyer shows (the world's show is the shopper's, approved)
    "GET /v1/buyer-shows/<int:show_id>": public(),
    "DELETE /v1/buyer-shows/<int:show_id>": own(204),
    "POST /v1/buyer-shows/<int:show_id>/reports": signed_in(body={"reason": "Spam"}),
    "GET /v1/skus/<int:sku_id>/buyer-shows": public(),
    "GET /v1/merchants/<int:merchant_id>/buyer-shows": public(),
    "POST /v1/admin/buyer-shows/<int:show_id>/approve": staff(*MODERATORS),
    "POST /v1/admin/buyer-shows/<int:show_id>/reject": staff(
        *MODERATORS, body={"reason": "Off topic"}
    ),
    # members and service cards (the shopper is a member; the till receipt T-1 issued a card)
    "POST /v1/merchants/<int:merchant_id>/membership": signed_in(
        201, overrides={"shopper": 200}, body={"consent": True}
    ),
    "GET /v1/me/memberships/<int:member_id>": own(),
    "DELETE /v1/me/memberships/<int:member_id>": own(204),
    "GET /v1/me/memberships/<int:member_id>/code": own(),
    "GET /v1/me/memberships/<int:member_id>/ledger": own(),
    "GET /v1/wallet/service-cards/<int:card_id>": own(),
    "GET /v1/admin/service-card-templates/<int:template_id>": staff(*EDITORS),
    "PATCH /v1/admin/service-card-templates/<int:template_id>": staff(
        *EDITORS, body={"title": "Renamed"}
    ),
    "POST /v1/admin/stores/<int:store_id>/members:resolve": staff(
        *STOCKISTS, ok=422, body={"code": "not-a-member-code"}
    ),
    "POST /v1/admin/stores/<int:store_id>/members/<int:member_id>/receipts": staff(
        *STOCKISTS, ok=201, body={"receipt_ref": "T-2", "total_cents": 500, "currency": "TWD"}
    ),
    "POST /v1/admin/stores/<int:store_id>/members/<int:member_id>/points:redeem": staff(
        *STOCKISTS, ok=409, body={"points": 5000, "receipt_ref": "R-1"}
    ),
    "POST /v1/admin/stores/<int:store_id>/members/<int:member_id>/receipts/<ref>:refund": staff(
        *STOCKISTS
    ),
    "POST /v1/admin/stores/<int:store_id>/service-cards:use": staff(
        *STOCKISTS, body={"code": "{card_code}", "service": "cleaning"}
    ),
    # segments
    "GET /v1/admin/segments/<int:segment_id>": staff(*EDITORS),
    "PATCH /v1/admin/segments/<int:segment_id>": staff(*EDITORS, body={"name": "Renamed"}),
    "DELETE /v1/admin/segments/<int:segment_id>": staff(*EDITORS, ok=204),
    "GET /v1/admin/segments/<int:segment_id>/size": staff(*EDITORS),
    "GET /v1/admin/posts/<int:post_id>/stats": staff(*EDITORS),
    # the data bus (the merchant has one webhook endpoint and one delivery to it)
    "GET /v1/admin/webhooks/<int:endpoint_id>": staff(*EDITORS),
    "PATCH /v1/admin/webhooks/<int:endpoint_id>": staff(*EDITORS, body={"description": "ERP"}),
    "DELETE /v1/admin/webhooks/<int:endpoint_id>": staff(*EDITORS, ok=204),
    "GET /v1/admin/webhooks/<int:endpoint_id>/deliveries": staff(*EDITORS),
    "POST /v1/admin/webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>:redeliver": staff(
        *EDITORS, ok=202
    ),
    "POST /v1/admin/webhooks/<int:endpoint_id>:<any(enable,disable):action>": staff(
        *EDITORS, params={"action": "disable"}
    ),
    "POST /v1/admin/webhooks/<int:endpoint_id>:rotate-secret": staff(
        *EDITORS, body={"overlap_hours": 1}
    ),
    # pickup that talks back (the world's reservation is ready)
    "GET /v1/reservations/<uuid:public_id>/pass": own(),
    "GET /v1/admin/stores/<int:store_id>/picklist": staff(*HANDLERS),
    "POST /v1/admin/stores/<int:store_id>/reservations/<uuid:public_id>/preparing": staff(
        *HANDLERS, ok=409
    ),
    "POST /v1/admin/stores/<int:store_id>/reservations/<uuid:public_id>/items/<int:sku_id>:short": (
        staff(*HANDLERS, ok=409, body={"missing": 1})
    ),
    "POST /v1/admin/stores/<int:store_id>/reservations:collect": staff(
        *HANDLERS, ok=422, body={"pass": "not-a-pass"}
    ),
    "PUT /v1/me/devices/<installation:installation_id>": signed_in(
        body={"platform": "android", "provider": "fcm", "token": "fcm-token-2"}
    ),
    "DELETE /v1/me/devices/<installation:installation_id>": own(204),
}
