"""Test data for the feed: stores, SKUs, posts and images, inserted through the models."""

import io
import itertools
from datetime import UTC, datetime, timedelta

from PIL import Image

from app.catalog.models import Product, Sku
from app.feed.models import PollOption, Post
from app.geo import point_ewkt
from app.stores.models import Store

TAIPEI = (25.0330, 121.5654)
_seq = itertools.count(1)


def store(session, *, merchant, at=TAIPEI, city: str = "Taipei", active: bool = True) -> Store:
    n = next(_seq)
    s = Store(
        merchant_id=merchant.id,
        name=f"Store {n}",
        address=f"{n} Test Road",
        city=city,
        location=point_ewkt(*at),
        timezone="Asia/Taipei",
        is_active=active,
    )
    session.add(s)
    session.flush()  # id for the caller
    return s


def sku(session, *, merchant, price_cents: int = 1200) -> Sku:
    n = next(_seq)
    product = Product(merchant_id=merchant.id, title=f"Tea {n}")
    item = Sku(
        merchant_id=merchant.id,
        product=product,
        code=f"T-{n}",
        price_cents=price_cents,
        currency="TWD",
    )
    session.add(item)
    session.flush()  # id for the caller
    return item


def post(
    session,
    *,
    merchant,
    kind: str = "article",
    state: str = "published",
    ago: timedelta | None = timedelta(hours=1),
    title: str = "Spring teas",
    store_id: int | None = None,
    cities=(),
    options=(),
    max_choices: int = 1,
    closes_in: timedelta | None = None,
    hide_results: bool = False,
) -> Post:
    """A post; `ago` says how long ago it was published (negative: scheduled ahead)."""
    now = datetime.now(UTC)
    p = Post(
        merchant_id=merchant.id,
        kind=kind,
        state=state,
        title=title,
        body="Fresh in store.",
        store_id=store_id,
        cities=[c.lower() for c in cities],
        publish_at=None if state == "draft" else now - ago,
        poll_max_choices=max_choices,
        poll_closes_at=now + closes_in if closes_in is not None else None,
        poll_hide_results=hide_results,
    )
    p.options = [PollOption(position=i, label=label) for i, label in enumerate(options)]
    session.add(p)
    session.flush()  # id for the caller
    return p


def image_bytes(fmt: str = "JPEG", size=(64, 48), *, gps: bool = False, mode: str = "RGB") -> bytes:
    """A small image; with `gps`, EXIF that says where it was taken."""
    image = Image.new(mode, size, (200, 120, 40) if mode == "RGB" else None)
    out = io.BytesIO()
    extra = {}
    if gps:
        exif = Image.Exif()
        exif[0x010F] = "TestCam"  # Make
        gps_ifd = {1: "N", 2: (25.0, 2.0, 0.0), 3: "E", 4: (121.0, 33.0, 0.0)}
        exif[0x8825] = gps_ifd
        extra["exif"] = exif
    image.save(out, fmt, **extra)
    return out.getvalue()
