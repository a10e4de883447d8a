"""`flask seed` and `flask demo-logins`."""

import time

import click
from flask.cli import with_appcontext
from sqlalchemy import text

from app.extensions import db
from app.seeding import analyze_written, load_steps, world
from app.seeding import demo as demo_world


def _progress(length: int, label: str):
    return click.progressbar(length=length, label=f"{label:<10}", show_pos=True, width=30)


def _reset(conn) -> None:
    # The world is every merchant (with their stores, staff and all that hangs off them) and
    # the seeded logins; shoppers' accounts stay.
    with conn.cursor() as cursor:
        cursor.execute("TRUNCATE merchants RESTART IDENTITY CASCADE")
        cursor.execute("DELETE FROM users WHERE email LIKE %s", (f"%@{demo_world.EMAIL_DOMAIN}",))


@click.command("seed")
@click.option("--seed", "rng_seed", default=42, show_default=True, help="Same seed, same world.")
@click.option("--demo", is_flag=True, help="One city, a few merchants, ~50 stores, demo logins.")
@click.option("--stores", default=180_000, show_default=True, type=click.IntRange(1, 2_000_000))
@click.option("--cities", default=330, show_default=True, type=click.IntRange(1, 5_000))
@click.option(
    "--reset", is_flag=True, help="First drop every merchant (and all of theirs) and demo logins."
)
@click.option("--stores-only", is_flag=True, help="Skip what other domains add (catalog, ...).")
@with_appcontext
def seed(rng_seed: int, demo: bool, stores: int, cities: int, reset: bool, stores_only: bool):
    """Generate the world: cities, merchants, stores (and what other domains add)."""
    started = time.monotonic()
    conn = db.session.connection().connection.dbapi_connection
    if reset:
        _reset(conn)
    elif db.session.scalar(text("SELECT EXISTS (SELECT 1 FROM stores)")):
        click.echo("a world is already loaded; pass --reset to build a new one")
        return
    if demo:
        stores, cities = 50, 1
    summary = world.load_world(
        conn, rng_seed=rng_seed, stores=stores, cities=cities, demo=demo, progress=_progress
    )
    if demo:
        first_merchant = db.session.scalar(text("SELECT min(merchant_id) FROM stores"))
        demo_world.create_demo_staff(session=db.session, merchant_id=first_merchant)
    analyze_written(conn)
    click.echo(f"stores loaded after {time.monotonic() - started:.1f} s")
    for step in [] if stores_only else load_steps():
        step(conn, rng_seed=rng_seed, demo=demo, progress=_progress)
        analyze_written(conn)  # the next step's plans see these rows (and so do the first reads)
        click.echo(f"{step.__name__} done after {time.monotonic() - started:.1f} s")
    db.session.commit()
    click.echo(
        f"world {rng_seed}: {summary['stores']} stores in {summary['cities']} cities"
        f" (largest {summary['largest_city']}), {summary['merchants']} merchants"
        f" in {time.monotonic() - started:.1f} s"
    )


@click.command("demo-logins")
@with_appcontext
def demo_logins() -> None:
    """Print the demo world's staff logins."""
    for line in demo_world.demo_logins(session=db.session) or ["no demo logins: flask seed --demo"]:
        click.echo(line)
