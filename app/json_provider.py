"""orjson-backed JSON for Flask responses (datetimes as RFC 3339)."""

from typing import Any

import orjson
from flask.json.provider import DefaultJSONProvider


class OrjsonProvider(DefaultJSONProvider):
    """Faster encoding of response bodies; decoding stays with the standard library."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return orjson.dumps(obj, default=self.default, option=orjson.OPT_NON_STR_KEYS).decode()

    def response(self, *args: Any, **kwargs: Any):
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(
            orjson.dumps(obj, default=self.default, option=orjson.OPT_NON_STR_KEYS),
            mimetype=self.mimetype,
        )
