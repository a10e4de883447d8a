"""flask commands: create-merchant (and, as domains land, seed and sweep-expired)."""

import click
from flask import Flask
from flask.cli import with_appcontext

from app.accounts import service as accounts_service
from app.extensions import db


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


def register(app: Flask) -> None:
    """Attach the commands to the app's CLI."""
    app.cli.add_command(create_merchant)
