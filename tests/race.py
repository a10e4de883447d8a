"""The one race helper of the concurrency tests (they need the `committed` fixture): calls
released together by a barrier, each in a thread of its own with its own test client, so each
request (or app context) holds its own pooled connection while they overlap."""

import threading
from concurrent.futures import ThreadPoolExecutor

from werkzeug.test import TestResponse

from app.extensions import limiter


def race(app, calls) -> list:
    """Run every `call(client)` at once; their results in order (a response as
    `(status, json)`), the first error raised again once all have finished."""
    calls = list(calls)
    barrier = threading.Barrier(len(calls))

    def run(call):
        client = app.test_client()
        barrier.wait()
        result = call(client)
        if isinstance(result, TestResponse):
            return result.status_code, result.get_json()
        return result

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def in_app_context(app, work):
    """A call for `race` that runs `work()` below HTTP (a sweeper, a worker) in an app context
    of its own, and so on a `db.session` and connection of its own."""

    def call(_client):
        with app.app_context():
            return work()

    return call


def signed_in(make_shopper, n: int) -> list:
    """n shoppers signed in for a race; the login limit (per IP, and every test client shares
    one) is reset between them."""
    shoppers = []
    for _ in range(n):
        limiter.reset()
        shoppers.append(make_shopper())
    return shoppers
