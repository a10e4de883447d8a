"""The texts of notifications in each language we speak, rendered from a notification's params.

A small message table rather than gettext catalogues (Babel/flask-babel): the server has about a
dozen sentences, each a title and a body with named fields, in two languages. Catalogues would add
an extract/compile step and a binary artefact to every build for what is a dictionary lookup here;
what a library would add beyond that (plural rules, locale-aware dates) we need only for English
item counts and for a local time, both below. Missing translations fail a test, not a reader: every
kind must exist in every language (tests/test_notifications.py checks).
"""

from datetime import datetime
from zoneinfo import ZoneInfo

DEFAULT_LOCALE = "en"
LOCALES = ("en", "zh-CN")

# kind -> locale -> (title, body); fields in braces come from params (plus the derived ones
# `items_text`, `expires_local`).
MESSAGES: dict[str, dict[str, tuple[str, str]]] = {
    "reservation_ready": {
        "en": (
            "Ready for pickup at {store_name}",
            "{items_text} are waiting at {store_name}, {store_address}. Bring your pickup pass "
            "(or the 6-digit code) before {expires_local}.",
        ),
        "zh-CN": (
            "{store_name}的订单已备好",
            "{items_text}已在{store_name}（{store_address}）备好。请在{expires_local}前"
            "出示取货二维码（或6位取货码）取货。",
        ),
    },
    "reservation_cancelled": {
        "en": ("{store_name} cancelled your pickup", "Reason given by the store: {reason}"),
        "zh-CN": ("{store_name}取消了您的预订", "门店说明：{reason}"),
    },
    "reservation_short": {
        "en": (
            "{store_name} is short of an item",
            "{store_name} could not find {short_qty} × {sku_title}; the rest stays held for "
            "you. You may cancel the reservation if you no longer want it.",
        ),
        "zh-CN": (
            "{store_name}缺货提醒",
            "{store_name}未能找到{sku_title} ×{short_qty}，其余商品仍为您保留。"
            "如不再需要，可以取消预订。",
        ),
    },
    "reservation_expiring": {
        "en": (
            "Your hold at {store_name} ends soon",
            "Pick it up before {expires_local}, or it goes back on sale.",
        ),
        "zh-CN": ("{store_name}的预订即将到期", "请在{expires_local}前取货，逾期商品将重新上架。"),
    },
    "reservation_expired": {
        "en": (
            "Your hold at {store_name} has ended",
            "The items were not picked up in time and are back on sale.",
        ),
        "zh-CN": ("{store_name}的预订已过期", "商品未在时限内取走，已重新上架。"),
    },
    "coupon_expiring": {
        "en": ("A coupon runs out soon", "“{title}” in your wallet expires at {expires_local}."),
        "zh-CN": ("优惠券即将过期", "您券包中的“{title}”将于{expires_local}过期。"),
    },
    "buyer_show_approved": {
        "en": ("Your buyer show is live", "{merchant_name} approved your buyer show."),
        "zh-CN": ("买家秀已发布", "{merchant_name}已通过您的买家秀。"),
    },
    "buyer_show_rejected": {
        "en": (
            "Your buyer show was not approved",
            "{merchant_name} did not approve your buyer show: {reason}",
        ),
        "zh-CN": ("买家秀未通过审核", "{merchant_name}未通过您的买家秀：{reason}"),
    },
    "reward_granted": {
        "en": ("A reward from {merchant_name}", "“{title}” is now in your coupon wallet."),
        "zh-CN": ("{merchant_name}送您一份奖励", "“{title}”已放入您的券包。"),
    },
}
KINDS = tuple(MESSAGES)


def resolve_locale(*candidates: str | None) -> str:
    """The first supported locale among the candidates (request, device, profile), else English."""
    for candidate in candidates:
        if candidate in LOCALES:
            return candidate
    return DEFAULT_LOCALE


def _items_text(items: list[dict], locale: str) -> str:
    if locale == "zh-CN":
        return "、".join(f"{i['title']} ×{i['qty']}" for i in items)
    return ", ".join(f"{i['qty']} × {i['title']}" for i in items)


def _local_time(iso: str, zone: str | None, locale: str) -> str:
    at = datetime.fromisoformat(iso).astimezone(ZoneInfo(zone or "UTC"))
    suffix = "" if zone else " UTC"
    if locale == "zh-CN":
        return f"{at.month}月{at.day}日 {at:%H:%M}{suffix}"
    return f"{at:%d %b %H:%M}{suffix}"


def render(kind: str, params: dict, locale: str) -> tuple[str, str]:
    """(title, body) of a notification in `locale`."""
    title, body = MESSAGES[kind][locale]
    fields = dict(params)
    if "items" in params:
        fields["items_text"] = _items_text(params["items"], locale)
    if "expires_at" in params:
        fields["expires_local"] = _local_time(params["expires_at"], params.get("timezone"), locale)
    return title.format_map(fields), body.format_map(fields)
