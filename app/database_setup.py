"""Connection arguments from a database URL, and a PostGIS database made when missing: what the
test suite and the benchmark need before the migrations run."""

import psycopg2
from sqlalchemy import make_url

from app.config import sqlalchemy_url


def libpq_args(url: str) -> dict:
    """psycopg2.connect() keywords for a URL (a unix socket may sit in ?host=&port=)."""
    u = make_url(sqlalchemy_url(url))
    args = {
        "dbname": u.database,
        "user": u.username,
        "password": u.password,
        "host": u.host or u.query.get("host"),
        "port": u.port or u.query.get("port"),
    }
    return {k: v for k, v in args.items() if v}


def ensure_database(url: str) -> dict:
    """Create the URL's database when it does not exist, with the postgis extension; returns
    its connection keywords."""
    args = libpq_args(url)
    try:
        psycopg2.connect(**args).close()
    except psycopg2.OperationalError:
        admin = psycopg2.connect(**{**args, "dbname": "postgres"})
        admin.autocommit = True
        admin.cursor().execute(f'CREATE DATABASE "{args["dbname"]}"')
        admin.close()
    conn = psycopg2.connect(**args)
    conn.autocommit = True
    conn.cursor().execute("CREATE EXTENSION IF NOT EXISTS postgis")
    conn.close()
    return args
