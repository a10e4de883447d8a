"""Request ids and one JSON log line per request."""

import logging
import re
import sys
import time
import uuid

import orjson
from flask import Flask, current_app, g, request

_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
access_log = logging.getLogger("shopnear.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per line; extra fields come from `record.fields`."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["trace"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(level: str) -> None:
    """JSON lines on stderr for every shopnear logger."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("shopnear")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def _start_request() -> None:
    client_id = request.headers.get("X-Request-ID", "")
    g.request_id = client_id if _SANE_ID.match(client_id) else uuid.uuid4().hex
    g.started = time.perf_counter()


def _finish_request(response):
    response.headers["X-Request-ID"] = g.get("request_id", "")
    if current_app.config["ACCESS_LOG"]:
        # The path only: query strings may hold coordinates (rule 6) and cursors.
        access_log.info(
            "request",
            extra={
                "fields": {
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round(
                        (time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2
                    ),
                    "request_id": g.get("request_id"),
                    "user_id": g.get("user_id"),
                }
            },
        )
    return response


def register_request_log(app: Flask) -> None:
    """Request id in and out, access log on the way out."""
    configure_logging(app.config["LOG_LEVEL"])
    app.before_request(_start_request)
    app.after_request(_finish_request)
