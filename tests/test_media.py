"""Image uploads: only real JPEG/PNG/WebP, no bombs, nothing oversize, no EXIF left behind."""

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.feed.media.models import Media
from tests.factories_feed import image_bytes, media_root, upload  # noqa: F401  (autouse fixture)


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge size: the bomb costs nothing to make."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 1024, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def stored(app, url: str) -> Path:
    return Path(app.config["MEDIA_ROOT"]) / url.removeprefix("/v1/media/files/")


@pytest.mark.parametrize(
    "fmt,ctype", [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")]
)
def test_an_image_is_stored_reencoded_with_a_thumbnail(app, client, shopper, session, fmt, ctype):
    resp = upload(client, shopper, image_bytes(fmt, size=(1200, 900)))
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert (body["content_type"], body["width"], body["height"]) == (ctype, 1200, 900)
    thumb = Image.open(stored(app, body["thumb_url"]))
    assert max(thumb.size) == 480
    assert session.get(Media, body["id"]).user_id == shopper.id


def test_exif_and_gps_are_gone_from_the_stored_files(app, client, shopper):
    original = image_bytes("JPEG", gps=True)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the upload has GPS
    body = upload(client, shopper, original).get_json()
    for url in (body["url"], body["thumb_url"]):
        image = Image.open(stored(app, url))
        assert dict(image.getexif()) == {}
        assert "exif" not in image.info


def test_the_exif_orientation_is_applied_before_it_is_dropped(client, shopper):
    image = Image.new("RGB", (60, 20))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° when shown
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    body = upload(client, shopper, out.getvalue()).get_json()
    assert (body["width"], body["height"]) == (20, 60)


def test_files_are_served_with_long_cache_headers(client, shopper):
    body = upload(client, shopper, image_bytes("PNG")).get_json()
    resp = client.get(body["url"])
    assert resp.status_code == 200
    assert resp.mimetype == "image/png"
    assert "max-age=31536000" in resp.headers["Cache-Control"]
    assert "immutable" in resp.headers["Cache-Control"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    again = client.get(body["url"], headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("key", ["../../etc/passwd", "ab/nothere.jpg", "ab/" + "0" * 32 + ".jpg"])
def test_unknown_or_crafted_file_names_are_404(client, key):
    resp = client.get(f"/v1/media/files/{key}")
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"


def test_non_image_bytes_named_jpg_are_refused(client, shopper, session):
    resp = upload(client, shopper, b"MZ\x90\x00 definitely not a picture" * 50, "cat.jpg")
    assert resp.status_code == 422
    assert resp.get_json()["errors"] == {"file": ["Not a JPEG, PNG or WebP image."]}
    assert session.scalar(select(func.count()).select_from(Media)) == 0


def test_other_image_formats_are_refused(client, shopper):
    resp = upload(client, shopper, image_bytes("GIF"), "anim.gif")
    assert resp.status_code == 422


def test_a_truncated_file_is_refused(client, shopper):
    noise = Image.effect_noise((256, 256), 80).convert("RGB")
    out = io.BytesIO()
    noise.save(out, "JPEG", quality=95)
    data = out.getvalue()
    resp = upload(client, shopper, data[: len(data) // 2])
    assert resp.status_code == 422
    assert resp.get_json()["type"] == "media.corrupt"


@pytest.mark.parametrize("side", [20_000, 7_000])
def test_decompression_bombs_are_refused_before_decoding(client, shopper, side):
    # 20 000² is past Pillow's hard limit; 7 000² (49 MP) only past the warning, also refused.
    resp = upload(client, shopper, png_claiming(side, side), "bomb.png")
    assert resp.status_code == 422
    assert resp.get_json()["type"] == "media.too_many_pixels"


def test_more_than_10_mb_is_refused(client, shopper, session):
    resp = upload(client, shopper, b"\xff" * (10 * 1024 * 1024 + 1))
    assert resp.status_code == 413
    assert resp.mimetype == "application/problem+json"
    assert session.scalar(select(func.count()).select_from(Media)) == 0


def test_a_large_upload_under_the_limit_is_taken(client, shopper):
    # A 2 MB PNG: past the app-wide 1 MiB JSON limit, inside the upload limit.
    noisy = Image.effect_noise((1000, 1000), 100).convert("RGB")
    out = io.BytesIO()
    noisy.save(out, "PNG")
    assert out.tell() > 1024 * 1024
    assert upload(client, shopper, out.getvalue(), "big.png").status_code == 201


def test_json_bodies_keep_the_1_mib_limit(client, shopper):
    resp = client.post(
        "/v1/posts/1/votes",
        json={"option_ids": [1], "pad": "x" * (1024 * 1024)},
        headers=shopper.headers,
    )
    assert resp.status_code == 413


def test_uploads_need_a_signed_in_user(client):
    resp = client.post(
        "/v1/media",
        data={"file": (io.BytesIO(image_bytes()), "a.jpg")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 401


def test_a_missing_file_field_is_422(client, shopper):
    resp = client.post(
        "/v1/media",
        data={"other": "x"},
        headers=shopper.headers,
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422
    assert "file" in resp.get_json()["errors"]


def test_an_idempotency_key_replays_the_first_upload(client, shopper, session):
    key = {"Idempotency-Key": "up-1"}
    first = upload(client, shopper, image_bytes("PNG"), **key)
    again = upload(client, shopper, image_bytes("PNG"), **key)
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert session.scalar(select(func.count()).select_from(Media)) == 1
    other = upload(client, shopper, image_bytes("PNG", size=(10, 10)), **key)
    assert other.status_code == 422
