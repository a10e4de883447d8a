"""Request and response shapes of image uploads."""

import marshmallow as ma

from app.fields import Int, Text


class UploadSchema(ma.Schema):
    file = ma.fields.Raw(
        required=True,
        metadata={"type": "string", "format": "binary", "description": "JPEG, PNG or WebP"},
    )


class MediaSchema(ma.Schema):
    id = Int(metadata={"example": 41})
    url = Text(metadata={"example": "/v1/media/files/3f/3fa2….jpg"})
    thumb_url = Text(metadata={"example": "/v1/media/files/3f/3fa2…-thumb.webp"})
    content_type = Text(metadata={"example": "image/jpeg"})
    width = Int(metadata={"example": 1600})
    height = Int(metadata={"example": 1200})
