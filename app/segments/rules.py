"""The rule language of segments, and its bounds.

A rule is a JSON tree; inner nodes combine, leaves test one thing we know of a shopper:

    {"type": "and", "rules": [rule, ...]}        every one holds
    {"type": "or", "rules": [rule, ...]}         at least one holds
    {"type": "not", "rule": rule}                it does not hold
    {"type": "follows"}                          follows the merchant
    {"type": "city", "cities": ["Taipei"]}       the request's position is in one of the cities
    {"type": "pickups", "at_least": 2, "days": 30, "sku_ids": [7]}
                                                 picked up >= N reservations of the merchant in
                                                 the last D days (optionally holding given SKUs)
    {"type": "coupon", "campaign_id": 5, "redeemed": false}
                                                 claimed (redeemed: used) a coupon of the campaign
    {"type": "buyer_show"}                       wrote an approved buyer show about the merchant
    {"type": "near_store", "radius_m": 500}      within R metres of one of its active stores now
    {"type": "member_tier", "at_least_cents": 500000}
                                                 an active member of its program whose current
                                                 tier's threshold is at least X (a tier "at
                                                 least Gold" names Gold's threshold); left out:
                                                 any active member, with a tier or not

Rules are evaluated only in SQL, by `segment_rule_matches(rule, merchant_id, user_id, point)`
(migration 0011), inside the queries that list, show or claim what a segment targets. A new leaf
is one entry in LEAVES plus one branch of that function (member_tier: migration 0017).
"""

from collections.abc import Callable

from geoalchemy2 import Geography
from sqlalchemy import func, null, type_coerce
from sqlalchemy.dialects.postgresql import JSONB

from app.errors import Invalid

MAX_DEPTH = 5  # nesting of and/or/not
MAX_NODES = 32  # every node of the tree
MAX_LIST = 50  # cities, SKUs
CITY_CHARS = 80
COMBINERS = ("and", "or")
MAX_THRESHOLD_CENTS = 10**12


def _int(node: dict, key: str, path: str, low: int, high: int, *, required: bool = True):
    value = node.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid(f"{path}.{key}", f"An integer between {low} and {high}.")
    return value


def _ids(node: dict, key: str, path: str) -> list[int] | None:
    values = node.get(key)
    if values is None:
        return None
    if not isinstance(values, list) or not 1 <= len(values) <= MAX_LIST:
        raise Invalid(f"{path}.{key}", f"A list of 1 to {MAX_LIST} ids.")
    for i, value in enumerate(values):
        _int({"id": value}, "id", f"{path}.{key}.{i}", 1, 2**62)
    return sorted(set(values))


def _cities(node: dict, path: str) -> dict:
    cities = node.get("cities")
    if not isinstance(cities, list) or not 1 <= len(cities) <= MAX_LIST:
        raise Invalid(f"{path}.cities", f"A list of 1 to {MAX_LIST} city names.")
    for i, city in enumerate(cities):
        if not isinstance(city, str) or not 1 <= len(city.strip()) <= CITY_CHARS:
            raise Invalid(f"{path}.cities.{i}", f"A city name of 1 to {CITY_CHARS} characters.")
    # Stored lowercased, as post targeting stores cities: matching ignores case.
    return {"cities": sorted({c.strip().lower() for c in cities})}


def _pickups(node: dict, path: str) -> dict:
    leaf = {
        "at_least": _int(node, "at_least", path, 1, 1000),
        "days": _int(node, "days", path, 1, 3650),
    }
    if (sku_ids := _ids(node, "sku_ids", path)) is not None:
        leaf["sku_ids"] = sku_ids
    return leaf


def _coupon(node: dict, path: str) -> dict:
    redeemed = node.get("redeemed", False)
    if not isinstance(redeemed, bool):
        raise Invalid(f"{path}.redeemed", "true or false.")
    return {"campaign_id": _int(node, "campaign_id", path, 1, 2**62), "redeemed": redeemed}


def _member_tier(node: dict, path: str) -> dict:
    at_least = _int(node, "at_least_cents", path, 0, MAX_THRESHOLD_CENTS, required=False)
    return {} if at_least is None else {"at_least_cents": at_least}


LEAVES: dict[str, Callable[[dict, str], dict]] = {
    "follows": lambda node, path: {},
    "city": _cities,
    "pickups": _pickups,
    "coupon": _coupon,
    "buyer_show": lambda node, path: {},
    "near_store": lambda node, path: {"radius_m": _int(node, "radius_m", path, 1, 50_000)},
    "member_tier": _member_tier,
}
TYPES = (*COMBINERS, "not", *LEAVES)


class _Walk:
    """One pass over the tree: bounds, and the references the service must check."""

    def __init__(self):
        self.nodes = 0
        self.sku_ids: dict[str, list[int]] = {}
        self.campaign_ids: dict[str, int] = {}

    def node(self, node, path: str, depth: int) -> dict:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise Invalid(path, f"A rule has at most {MAX_NODES} parts.")
        if not isinstance(node, dict):
            raise Invalid(path, "A rule object.")
        kind = node.get("type")
        if kind not in TYPES:
            raise Invalid(f"{path}.type", f"One of: {', '.join(TYPES)}.")
        if kind in COMBINERS or kind == "not":
            if depth >= MAX_DEPTH:
                raise Invalid(path, f"Rules nest at most {MAX_DEPTH} deep.")
            return self._inner(node, kind, path, depth)
        leaf = {"type": kind, **LEAVES[kind](node, path)}
        if "sku_ids" in leaf:
            self.sku_ids[f"{path}.sku_ids"] = leaf["sku_ids"]
        if "campaign_id" in leaf:
            self.campaign_ids[f"{path}.campaign_id"] = leaf["campaign_id"]
        return leaf

    def _inner(self, node: dict, kind: str, path: str, depth: int) -> dict:
        if kind == "not":
            return {"type": "not", "rule": self.node(node.get("rule"), f"{path}.rule", depth + 1)}
        children = node.get("rules")
        if not isinstance(children, list) or not children:
            raise Invalid(f"{path}.rules", "A non-empty list of rules.")
        return {
            "type": kind,
            "rules": [
                self.node(child, f"{path}.rules.{i}", depth + 1) for i, child in enumerate(children)
            ],
        }


def parse_rule(rule, field: str = "rule") -> tuple[dict, dict[str, list[int]], dict[str, int]]:
    """The rule in its stored form, with the SKU and campaign ids it names (by field path);
    out of bounds or malformed → 422 naming the field."""
    walk = _Walk()
    parsed = walk.node(rule, field, 0)
    return parsed, walk.sku_ids, walk.campaign_ids


def point_or_null(point):
    """The request's point as a geography argument (NULL without a position)."""
    return point if point is not None else type_coerce(null(), Geography)


def rule_matches(rule, merchant_id, user_id, point):
    """SQL: the shopper `user_id` (a value or a column) matches the rule, at `point`."""
    return func.segment_rule_matches(
        type_coerce(rule, JSONB), merchant_id, user_id, point_or_null(point)
    )
