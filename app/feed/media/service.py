"""Image uploads: decode to verify, strip metadata, re-encode, thumbnail, store.

Storage sits behind `MediaStorage`; `LocalStorage` writes under `MEDIA_ROOT` and the API serves
the files. An S3-compatible store would implement the same three methods (`put` with boto3's
`put_object`, `url` pointing at the bucket or its CDN, `path` returning None so nothing is served
locally) and be picked in `storage()` by a setting; it is not built yet.
"""

import io
import re
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from flask import current_app, url_for
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import ApiError, Invalid
from app.feed.media.models import Media

# Pillow refuses to open anything larger (DecompressionBombError past twice this, a warning
# past it that we turn into an error): the pixel count is read from the header, before decoding.
MAX_PIXELS = 40_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
THUMB_SIZE = (480, 480)
FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
KEY = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{32}(-thumb)?\.(jpg|png|webp)$")


class TooLarge(ApiError):
    status, type, title = 413, "media.too_large", "Payload too large"


class MediaStorage(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def url(self, key: str) -> str: ...

    def path(self, key: str) -> Path | None: ...


class LocalStorage:
    """Files under a directory, served by GET /v1/media/files/<key>."""

    def __init__(self, root: Path):
        self.root = root

    def put(self, key: str, data: bytes) -> None:
        target = self.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(target)  # readers never see half a file

    def url(self, key: str) -> str:
        return url_for("media.MediaFile", key=key)

    def path(self, key: str) -> Path | None:
        return self.root / key if KEY.match(key) else None


def storage() -> MediaStorage:
    """The configured media store."""
    root = Path(current_app.config["MEDIA_ROOT"])
    if not root.is_absolute():
        root = Path(current_app.root_path).parent / root
    return LocalStorage(root)


@dataclass(frozen=True)
class CleanImage:
    content_type: str
    width: int
    height: int
    original: bytes
    extension: str
    thumbnail: bytes


def _decode(data: bytes) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))
            image.load()
        except UnidentifiedImageError:
            raise Invalid("file", "Not a JPEG, PNG or WebP image.") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise Invalid(
                "file", f"Too many pixels: at most {MAX_PIXELS:,}.", type="media.too_many_pixels"
            ) from None
        except (OSError, SyntaxError, ValueError, EOFError):
            raise Invalid("file", "Corrupt or truncated image.", type="media.corrupt") from None
    return image


def _encode(image: Image.Image, fmt: str, icc: bytes | None) -> bytes:
    if fmt == "JPEG" and image.mode not in ("RGB", "L", "CMYK"):
        image = image.convert("RGB")
    elif image.mode not in ("RGB", "RGBA", "L", "LA", "P", "1"):
        image = image.convert("RGBA")
    out = io.BytesIO()
    extra = {"icc_profile": icc} if icc else {}
    image.save(out, fmt, quality=88, optimize=True, **extra)
    return out.getvalue()


def clean_image(data: bytes) -> CleanImage:
    """Verify by decoding, drop EXIF (GPS included) and other metadata, re-encode, thumbnail."""
    image = _decode(data)
    fmt = image.format
    icc = image.info.get("icc_profile")
    # Apply the EXIF orientation to the pixels: the re-encoded file carries no EXIF to say it.
    upright = ImageOps.exif_transpose(image)
    upright.info.clear()
    thumb = upright.copy()
    thumb.thumbnail(THUMB_SIZE)
    content_type, extension = FORMATS[fmt]
    return CleanImage(
        content_type=content_type,
        width=upright.width,
        height=upright.height,
        original=_encode(upright, fmt, icc),
        extension=extension,
        thumbnail=_encode(thumb, "WEBP", icc),
    )


def upload_image(*, session: Session, user_id: int, data: bytes) -> Media:
    """Store an uploaded image (cleaned) and its thumbnail; the row says where they are."""
    if len(data) > current_app.config["MEDIA_MAX_BYTES"]:
        raise TooLarge(f"At most {current_app.config['MEDIA_MAX_BYTES']:,} bytes.")
    image = clean_image(data)
    name = secrets.token_hex(16)
    original_key = f"{name[:2]}/{name}.{image.extension}"
    thumb_key = f"{name[:2]}/{name}-thumb.webp"
    store = storage()
    store.put(original_key, image.original)
    store.put(thumb_key, image.thumbnail)
    media = Media(
        user_id=user_id,
        content_type=image.content_type,
        width=image.width,
        height=image.height,
        size_bytes=len(image.original),
        original_key=original_key,
        thumb_key=thumb_key,
    )
    session.add(media)
    session.flush()  # the id goes back to the uploader
    return media


def media_by_ids(*, session: Session, media_ids: list[int]) -> dict[int, Media]:
    """Media rows by id (missing ids are absent)."""
    if not media_ids:
        return {}
    rows = session.scalars(select(Media).where(Media.id.in_(set(media_ids))))
    return {m.id: m for m in rows}


def require_media(*, session: Session, media_ids: list[int], uploader_ids: set[int], field: str):
    """Every id names media one of `uploader_ids` uploaded; others' media count as missing."""
    found = media_by_ids(session=session, media_ids=media_ids)
    missing = [i for i in media_ids if i not in found or found[i].user_id not in uploader_ids]
    if missing:
        raise Invalid(field, f"Unknown media: {missing}.")


def mimetype(key: str) -> str:
    """The content type of a stored file, by its extension."""
    extension = key.rsplit(".", 1)[-1]
    return next(t for t, ext in FORMATS.values() if ext == extension)


def describe_media(media: Media | None) -> dict | None:
    """The public view of one image: id, URLs and size."""
    if media is None:
        return None
    store = storage()
    return {
        "id": media.id,
        "url": store.url(media.original_key),
        "thumb_url": store.url(media.thumb_key),
        "content_type": media.content_type,
        "width": media.width,
        "height": media.height,
    }
