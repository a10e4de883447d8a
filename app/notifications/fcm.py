"""Firebase Cloud Messaging, HTTP v1 API: one message per device token.

Credentials are a Google service account's JSON key; google-auth signs the OAuth assertion, fetches
the access token from the key's `token_uri` and refreshes it before it runs out (and on a 401).
The endpoint is configurable so a stand-in server can answer in tests and staging.
"""

import json
import logging

import requests
from google.auth.transport.requests import AuthorizedSession
from google.oauth2 import service_account

log = logging.getLogger("shopnear.push")
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
# What FCM's answer means for us: sent; the token is dead (delete the device); worth trying
# again later; or refused for good (a malformed message: logged, not retried).
SENT, UNREGISTERED, RETRY, REFUSED = "sent", "unregistered", "retry", "refused"
_RETRY_STATUSES = {429, 500, 502, 503, 504}


class FcmClient:
    """Sends through one Firebase project; thread-unsafe like requests.Session, one per worker."""

    def __init__(self, *, credentials_file: str, endpoint: str, project_id: str | None, timeout):
        with open(credentials_file, encoding="utf-8") as f:
            info = json.load(f)
        credentials = service_account.Credentials.from_service_account_info(info, scopes=[SCOPE])
        self.session = AuthorizedSession(credentials)
        project = project_id or info["project_id"]
        self.url = f"{endpoint.rstrip('/')}/v1/projects/{project}/messages:send"
        self.timeout = timeout

    def send(self, *, token: str, title: str, body: str, data: dict[str, str]) -> str:
        """Deliver one message to one token; returns SENT, UNREGISTERED, RETRY or REFUSED."""
        message = {
            "message": {
                "token": token,
                "notification": {"title": title, "body": body},
                "data": data,
            }
        }
        try:
            resp = self.session.post(self.url, json=message, timeout=self.timeout)
        except (requests.RequestException, OSError) as error:
            log.warning("push: FCM unreachable: %s", type(error).__name__)
            return RETRY
        return outcome(resp.status_code, _json(resp))


def _json(resp) -> dict:
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def outcome(status: int, body: dict) -> str:
    """Classify FCM's answer (https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode)."""
    if status == 200:
        return SENT
    error = body.get("error") or {}
    codes = {d.get("errorCode") for d in error.get("details") or [] if isinstance(d, dict)}
    if "UNREGISTERED" in codes:
        return UNREGISTERED
    if status in _RETRY_STATUSES or codes & {"QUOTA_EXCEEDED", "UNAVAILABLE", "INTERNAL"}:
        return RETRY
    log.warning("push: FCM refused a message: %s %s", status, error.get("status"))
    return REFUSED
