"""What every operation's contract says beyond its own decorators: the errors it can answer.

The errors below come from mechanisms every view shares, not from the view: argument parsing
(422), body handling (400 malformed JSON, 413 too large, 415 other media types), the path's ids
(404), and the server itself (500, and 503 while the database is unreachable). Declaring them
here, once, after every blueprint is registered, keeps each view's decorators about the view;
the permission decorators (401/403/404) and rate limits (429, with Retry-After) declare theirs
where they are applied. Every error body is application/problem+json (app/errors.py).
"""

from http import HTTPStatus

from apispec import APISpec

from app.errors import PROBLEM

METHODS = ("get", "put", "post", "patch", "delete")
BODY_ERRORS = (400, 413, 415)
SERVER_ERRORS = (500, 503)
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


def document_problems(spec: APISpec) -> None:
    """Declare on every operation the errors the shared mechanisms can answer."""
    for path_item in spec._paths.values():
        for method in METHODS:
            operation = path_item.get(method)
            if operation is None:
                continue
            _optional_body(spec, operation)
            responses = operation.setdefault("responses", {})
            declared = {str(code) for code in responses}
            for code in _codes(path_item, method, operation):
                if str(code) not in declared:
                    responses[str(code)] = spec.components.get_ref("response", _name(code))
            for code, response in responses.items():
                if str(code).isdigit() and int(code) >= 400 and "$ref" not in response:
                    _problem_content(spec, response)
                    if int(code) == 429:
                        response.setdefault("headers", {}).setdefault("Retry-After", RETRY_AFTER)


def _name(code: int) -> str:
    return HTTPStatus(code).name
