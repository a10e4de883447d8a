"""The one clock: the current moment, which tests fix by setting app.config["CLOCK"]."""

from datetime import UTC, datetime

from flask import current_app


def now() -> datetime:
    """The current moment (UTC); app.config["CLOCK"], when set, is a function returning it."""
    clock = current_app.config.get("CLOCK")
    return clock() if clock else datetime.now(UTC)
