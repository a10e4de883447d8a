"""Capture the exact SQL our code sends for some requests, for pgbench to replay."""

from sqlalchemy import event

from app import create_app
from app.config import Config, sqlalchemy_url
from app.extensions import db
from bench.world import SECRET_KEY


def capture(world, requests) -> list[str]:
    """Run the requests through the app in-process; one pgbench script per request."""
    app = create_app(
        Config(
            SQLALCHEMY_DATABASE_URI=sqlalchemy_url(world.url),
            SECRET_KEY=SECRET_KEY,  # the server's: the scenarios' tokens are good here too
            MEMBER_RESOLVE_RATE_LIMIT="100000/minute",
            ACCESS_LOG=False,
            # The plain statements: pgbench prepares them itself (-M prepared), as our app does.
            DB_PREPARED_STATEMENTS=False,
        )
    )
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "after_cursor_execute")
    def keep(conn, cursor, statement, parameters, context, executemany):
        statements.append(cursor.query.decode())

    client = app.test_client()
    scripts = []
    for req in requests:
        statements.clear()
        headers = {}
        if req.header:
            name, value = req.header.split(":", 1)
            headers[name] = value.strip()
        if req.token:
            headers["Authorization"] = f"Bearer {req.token}"
        client.open(req.path, method=req.method, json=req.body, headers=headers)
        if len(statements) == 1:
            scripts.append(statements[0] + ";\n")
        elif statements:
            scripts.append("BEGIN;\n" + ";\n".join(statements) + ";\nCOMMIT;\n")
    return scripts
