"""The one clock: the current moment, which tests fix by setting app.config["CLOCK"].

Python code asks `app.clock.now()` (no module keeps a `now()` of its own), so a test that sets
the clock moves every rule written in Python with it; the sweepers take `at` from it. The
database's `now()` stays where the database itself stamps rows (server defaults such as
created_at) and where one statement compares stored times with its own moment (the admin
events window, the idempotency purge): there the server's clock is the one all rows agree on.
"""

from datetime import UTC, datetime

from flask import current_app, has_app_context


def now() -> datetime:
    """The current moment (UTC); app.config["CLOCK"], when set, is a function returning it."""
    clock = current_app.config.get("CLOCK") if has_app_context() else None
    return clock() if clock else datetime.now(UTC)
