"""flask commands: create-merchant, seed, sweep-expired, deliver-webhooks."""

import time

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from app import invariants
from app.accounts import service as accounts_service
from app.extensions import db
from app.seeding import commands as seeding_commands


@click.command("create-merchant")
@click.option("--name", required=True, help="The merchant's display name.")
@click.option("--owner-email", required=True, help="Its first owner; created when new.")
@with_appcontext
def create_merchant(name: str, owner_email: str) -> None:
    """Create a merchant and its first owner (prints a one-time password for a new account)."""
    merchant, password = accounts_service.create_merchant(
        session=db.session, name=name, owner_email=owner_email
    )
    db.session.commit()
    click.echo(f"merchant {merchant.id} ({merchant.slug}) created; owner {owner_email}")
    if password:
        click.echo(f"one-time password for {owner_email}: {password}")


@click.command("sweep-expired")
@click.option("--batch", default=500, show_default=True, help="Holds expired per transaction.")
@click.option("--loop", is_flag=True, help="Keep running, sweeping every --interval seconds.")
@click.option("--interval", default=30.0, show_default=True, help="Seconds between sweeps.")
@with_appcontext
def sweep_expired(batch: int, loop: bool, interval: float) -> None:
    """Expire overdue pickup holds and give their units back; safe to run several at once."""
    from app import clock, idempotency
    from app.coupons import reminders
    from app.events import service as events_service
    from app.feed.posts import guesses
    from app.members import sweeper as members_sweeper
    from app.orders import lifecycle
    from app.pickup import expiry

    while True:
        expired = 0
        while count := expiry.sweep_batch(session=db.session, batch_size=batch):
            db.session.commit()  # one batch per transaction: short row locks
            expired += count
        while lifecycle.settle_batch(session=db.session, batch_size=batch):
            db.session.commit()  # orders whose hold ended: their events, refunds owed
        lead = current_app.config["PICKUP_EXPIRY_WARNING_MINUTES"]
        while expiry.warn_batch(session=db.session, lead_minutes=lead, batch_size=batch):
            db.session.commit()
        hours = current_app.config["COUPON_EXPIRY_WARNING_HOURS"]
        while reminders.warn_batch(
            session=db.session, within_hours=hours, at=expiry.now(), batch_size=batch
        ):
            db.session.commit()
        hours = current_app.config["IDEMPOTENCY_KEY_HOURS"]
        purged = idempotency.purge_older_than(session=db.session, hours=hours)
        days = current_app.config["EVENTS_RETENTION_DAYS"]
        old_events = events_service.purge_events(session=db.session, days=days)
        db.session.commit()
        click.echo(
            f"expired {expired} reservations; forgot {purged} idempotency keys"
            f" and {old_events} events"
        )
        points = members_sweeper.sweep(session=db.session, at=clock.now())
        db.session.commit()
        click.echo(f"member points: {points}")
        settled = 0
        while count := guesses.settle_due(session=db.session, batch_size=batch):
            db.session.commit()  # one batch of games per transaction
            settled += count
        click.echo(f"settled {settled} guess games")
        if not loop:
            return
        time.sleep(interval)


@click.command("send-push")
@click.option("--batch", default=50, show_default=True, help="Notifications per transaction.")
@click.option("--loop", is_flag=True, help="Keep running, looking again every --interval seconds.")
@click.option("--interval", default=2.0, show_default=True, help="Seconds to wait when idle.")
@with_appcontext
def send_push(batch: int, loop: bool, interval: float) -> None:
    """Push committed notifications to shoppers' devices (FCM); safe to run several at once."""
    from app.notifications import devices, push

    client = push.client_from_config()
    if client is None:
        click.echo("PUSH_FCM_CREDENTIALS_FILE is not set: pushes are skipped, the inbox works")
    while True:
        claimed = 0
        while count := push.send_batch(session=db.session, client=client, batch_size=batch):
            db.session.commit()  # one batch per transaction: its rows stay locked only that long
            claimed += count
        days = current_app.config["PUSH_DEVICE_MAX_AGE_DAYS"]
        pruned = devices.prune_devices(session=db.session, max_age_days=days)
        db.session.commit()
        if claimed or pruned or not loop:
            click.echo(f"pushed {claimed} notifications; forgot {pruned} stale devices")
        if not loop:
            return
        time.sleep(interval)


@click.command("deliver-webhooks")
@click.option("--batch", default=500, show_default=True, help="Deliveries before looking again.")
@click.option("--loop", is_flag=True, help="Keep running, polling every --interval seconds.")
@click.option("--interval", default=1.0, show_default=True, help="Seconds between polls.")
@with_appcontext
def deliver_webhooks(batch: int, loop: bool, interval: float) -> None:
    """Send due webhook deliveries (signed, retried); safe to run several at once."""
    from app.events import worker

    with worker.http_client() as client:
        while True:
            sent = worker.deliver_due(session=db.session, client=client, limit=batch)
            db.session.commit()
            if not loop:
                click.echo(f"tried {sent} deliveries")
                return
            if sent < batch:
                time.sleep(interval)


@click.command("send-refunds")
@click.option("--batch", default=50, show_default=True, help="Refunds per transaction.")
@click.option("--loop", is_flag=True, help="Keep running, looking again every --interval seconds.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds to wait when idle.")
@with_appcontext
def send_refunds(batch: int, loop: bool, interval: float) -> None:
    """Ask the payment provider for the refunds orders owe; safe to run several at once."""
    from app.orders import refunds
    from app.payments import provider

    payments = provider.from_config()
    while True:
        tried = 0
        while count := refunds.send_batch(session=db.session, provider=payments, batch_size=batch):
            db.session.commit()
            tried += count
        if tried or not loop:
            click.echo(f"tried {tried} refunds")
        if not loop:
            return
        time.sleep(interval)


@click.command("check-invariants")
@with_appcontext
def check_invariants() -> None:
    """Check stock, coupon and counter rules against the database; exit 1 if any is broken."""
    with db.engine.connect() as conn:
        broken = invariants.violations(conn)
    for rule, rows in broken.items():
        click.echo(f"BROKEN {rule}: {rows}", err=True)
    if broken:
        raise SystemExit(1)
    click.echo(f"all {len(invariants.CHECKS)} invariants hold")


def register(app: Flask) -> None:
    """Attach the commands to the app's CLI."""
    app.cli.add_command(create_merchant)
    app.cli.add_command(seeding_commands.seed)
    app.cli.add_command(seeding_commands.demo_logins)
    app.cli.add_command(sweep_expired)
    app.cli.add_command(send_push)
    app.cli.add_command(deliver_webhooks)
    app.cli.add_command(send_refunds)
    app.cli.add_command(check_invariants)
