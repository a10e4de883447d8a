"""Test data for the feed: stores, SKUs, posts, images, reservations and buyer shows."""

import io
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from app.catalog.models import Sku
from app.feed.posts.models import Like, PollOption, Post
from app.feed.shows.models import BuyerShow
from app.pickup.models import Reservation, ReservationItem
from tests import factories
from tests import factories_inventory as inventory_factory


def sku(session, *, merchant, price_cents: int = 1200) -> Sku:
    """One SKU of a new product (the inventory tests' factory)."""
    return inventory_factory.skus(session, merchant, price_cents=price_cents)[0]


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


def likes(session, *, post: Post, count: int) -> None:
    """`count` new users like the post, counted on it."""
    for _ in range(count):
        session.add(Like(post_id=post.id, user_id=factories.user(session).id))
    post.like_count += count
    session.flush()  # visible to the next statement


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


def reservation(
    session, *, user_id: int, store, skus, state: str = "picked_up", qty: int = 1
) -> Reservation:
    """A reservation of `skus` at `store` (`qty` of each), straight into its state (an active
    one holds what the caller reserved on the stock rows)."""
    r = Reservation(
        public_id=str(uuid.uuid4()),
        user_id=user_id,
        store_id=store.id,
        merchant_id=store.merchant_id,
        state=state,
        pickup_code_hash="0" * 64,
        expires_at=datetime.now(UTC) + timedelta(hours=2),
    )
    r.items = [ReservationItem(sku_id=s.id, qty=qty) for s in skus]
    session.add(r)
    session.flush()  # id for the caller
    return r


def show(
    session,
    *,
    user_id: int,
    merchant,
    state: str = "approved",
    sku_ids=(),
    approved_ago: timedelta = timedelta(minutes=5),
) -> BuyerShow:
    s = BuyerShow(
        user_id=user_id,
        merchant_id=merchant.id,
        body="Lovely.",
        sku_ids=list(sku_ids),
        state=state,
        reject_reason="Off topic" if state == "rejected" else None,
        moderated_at=None if state == "pending" else datetime.now(UTC) - approved_ago,
    )
    session.add(s)
    session.flush()  # id for the caller
    return s


@pytest.fixture(autouse=True)
def media_root(app, tmp_path, monkeypatch) -> Path:
    """Uploads of a test go to its own directory (import into a test module to use)."""
    monkeypatch.setitem(app.config, "MEDIA_ROOT", str(tmp_path))
    return tmp_path


def upload(client, caller, data: bytes | None = None, name: str = "photo.jpg", **headers):
    """POST /v1/media as `caller` (a small JPEG unless `data` is given)."""
    return client.post(
        "/v1/media",
        data={"file": (io.BytesIO(data if data is not None else image_bytes()), name)},
        headers={**caller.headers, **headers},
        content_type="multipart/form-data",
    )
