"""What every operation's contract says beyond its own decorators: the errors it can answer.

The errors below come from mechanisms every view shares, not from the view: argument parsing
(422), body handling (400 malformed JSON, 413 too large, 415 other media types), the path's ids
(404), and the server itself (500, and 503 while the database is unreachable). Declaring them
here, once, after every blueprint is registered, keeps each view's decorators about the view;
the permission decorators (401/403/404) and rate limits (429, with Retry-After) declare theirs
where they are applied. Every error body is application/problem+json (app/errors.py).

It also says how answers lead on (OpenAPI links): a created reservation's id is what its read,
cancel and extend take, and so on. Generated clients and schemathesis's stateful phase follow
them; a link to a path or parameter that does not exist fails at start-up.
"""

from http import HTTPStatus

from apispec import APISpec

from app.accounts.permissions import MERCHANT_HEADER_MARK, MERCHANT_HEADER_PARAMETER
from app.errors import PROBLEM

METHODS = ("get", "put", "post", "patch", "delete")
BODY_ERRORS = (400, 413, 415)
SERVER_ERRORS = (500, 503)
REPLAYED = {
    "description": "`true` when this is the stored answer to an earlier request with this"
    " Idempotency-Key (nothing was done again).",
    "schema": {"type": "string", "enum": ["true"]},
}
RETRY_AFTER = {
    "description": "Seconds to wait before trying again.",
    "schema": {"type": "integer", "minimum": 1},
}


def _parameters(path_item: dict, operation: dict) -> list[dict]:
    return [*path_item.get("parameters", []), *operation.get("parameters", [])]


def _codes(path_item: dict, method: str, operation: dict) -> list[int]:
    parameters = _parameters(path_item, operation)
    codes = list(SERVER_ERRORS)
    if "requestBody" in operation or any(p.get("in") != "path" for p in parameters):
        codes.append(422)
    if "requestBody" in operation:
        codes.extend(BODY_ERRORS)
    if "requestBody" in operation or any(p.get("in") == "path" for p in parameters):
        codes.append(404)  # the path's object, or one the body names by id, does not exist
    if method != "get":
        codes.append(409)  # a write can meet a state it cannot apply to (taken, already done)
    return codes


def _problem_content(spec: APISpec, response: dict) -> None:
    """An error response declared without a body (e.g. a bare alt_response) gets problem+json."""
    if "$ref" in response or "content" in response:
        return
    schema = spec.components.get_ref("schema", "Problem")
    response["content"] = {PROBLEM: {"schema": schema}}


def _optional_body(spec: APISpec, operation: dict) -> None:
    """A JSON body whose fields are all optional may be left out (webargs reads it as {})."""
    body = operation.get("requestBody")
    content = (body or {}).get("content", {}).get("application/json")
    if not content or len(body["content"]) > 1:
        return
    ref = content.get("schema", {}).get("$ref", "")
    schema = spec.components.schemas.get(ref.rsplit("/", 1)[-1], {})
    if ref and not schema.get("required"):
        body["required"] = False


def _replay_header(path_item: dict, operation: dict) -> None:
    """An operation that takes an Idempotency-Key may answer a retry with the stored answer."""
    if any(p.get("name") == "Idempotency-Key" for p in _parameters(path_item, operation)):
        for code, response in operation["responses"].items():
            if str(code).startswith("2") and "$ref" not in response:
                response.setdefault("headers", {})["Idempotent-Replayed"] = REPLAYED


def document_problems(spec: APISpec) -> None:
    """Declare on every operation the errors the shared mechanisms can answer."""
    for path_item in spec._paths.values():
        for method in METHODS:
            operation = path_item.get(method)
            if operation is None:
                continue
            if operation.pop(MERCHANT_HEADER_MARK, False):
                operation.setdefault("parameters", []).append(dict(MERCHANT_HEADER_PARAMETER))
            _optional_body(spec, operation)
            responses = operation.setdefault("responses", {})
            _replay_header(path_item, operation)
            declared = {str(code) for code in responses}
            for code in _codes(path_item, method, operation):
                if str(code) not in declared:
                    responses[str(code)] = spec.components.get_ref("response", _name(code))
            for code, response in responses.items():
                if str(code).isdigit() and int(code) >= 400 and "$ref" not in response:
                    _problem_content(spec, response)
                    if int(code) == 429:
                        response.setdefault("headers", {}).setdefault("Retry-After", RETRY_AFTER)


# (method, path, status) → links: name → (method, path, {parameter: runtime expression}).
BODY_ID = "$response.body#/id"
LINKS: dict[tuple[str, str, int], dict[str, tuple[str, str, dict[str, str]]]] = {
    ("post", "/v1/reservations", 201): {
        "ReadReservation": ("get", "/v1/reservations/{public_id}", {"public_id": BODY_ID}),
        "CancelReservation": (
            "post",
            "/v1/reservations/{public_id}/cancel",
            {"public_id": BODY_ID},
        ),
        "ExtendReservation": (
            "post",
            "/v1/reservations/{public_id}/extend",
            {"public_id": BODY_ID},
        ),
        "ReservationPass": ("get", "/v1/reservations/{public_id}/pass", {"public_id": BODY_ID}),
    },
    ("post", "/v1/coupon-campaigns/{campaign_id}/claim", 201): {
        "WalletCoupon": ("get", "/v1/wallet/coupons/{coupon_id}", {"coupon_id": BODY_ID}),
    },
    ("get", "/v1/posts/{post_id}", 200): {
        "LikePost": ("put", "/v1/posts/{post_id}/like", {"post_id": BODY_ID}),
        "UnlikePost": ("delete", "/v1/posts/{post_id}/like", {"post_id": BODY_ID}),
        "VoteOnPost": ("post", "/v1/posts/{post_id}/votes", {"post_id": BODY_ID}),
    },
    ("post", "/v1/admin/posts", 201): {
        "ReadPost": ("get", "/v1/posts/{post_id}", {"post_id": BODY_ID}),
        "PublishPost": ("post", "/v1/admin/posts/{post_id}/publish", {"post_id": BODY_ID}),
    },
    ("post", "/v1/admin/stores", 201): {
        "ReadStore": ("get", "/v1/admin/stores/{store_id}", {"store_id": BODY_ID}),
        "PutStock": ("put", "/v1/admin/stores/{store_id}/stock/{sku_id}", {"store_id": BODY_ID}),
        "StoreShelf": ("get", "/v1/stores/{store_id}/stock", {"store_id": BODY_ID}),
    },
    ("put", "/v1/admin/stores/{store_id}/stock/{sku_id}", 200): {
        "StockNearMe": ("get", "/v1/skus/{sku_id}/nearby", {"sku_id": "$request.path.sku_id"}),
    },
}


def _pointer(method: str, path: str) -> str:
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


def document_links(spec: APISpec) -> None:
    """Attach LINKS to the responses they start from (KeyError for an unknown path: at start-up)."""
    paths = spec._paths
    for (method, path, status), links in LINKS.items():
        response = paths[path][method]["responses"][str(status)]
        declared = response.setdefault("links", {})
        for name, (target_method, target, parameters) in links.items():
            operation = paths[target][target_method]
            names = {p["name"] for p in _parameters(paths[target], operation)}
            missing = set(parameters) - names
            if missing:
                raise KeyError(f"link {name}: {target} takes no {sorted(missing)}")
            declared[name] = {
                "operationRef": _pointer(target_method, target),
                "parameters": parameters,
            }


def _name(code: int) -> str:
    return HTTPStatus(code).name
