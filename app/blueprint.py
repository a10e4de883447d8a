"""The flask-smorest Blueprint every domain uses: argument schemas are built once, not per call.

webargs instantiates a schema *class* on every request it parses; building a marshmallow schema
deep-copies its declared fields, which cost 0.2–0.35 ms of each nearby request (cProfile,
docs/PERFORMANCE.md). Reusing one instance per class is safe: loading keeps no state on it.
"""

import datetime as dt
from functools import cache

import flask_smorest
import marshmallow as ma
from flask import Response, current_app
from webargs.flaskparser import FlaskParser
from werkzeug.routing import BaseConverter, IntegerConverter, ValidationError


@cache
def _instance(schema_class: type[ma.Schema]) -> ma.Schema:
    return schema_class()


class SchemaReusingParser(FlaskParser):
    """A FlaskParser that keeps one instance of each argument schema class."""

    def _get_schema(self, argmap, req):
        if isinstance(argmap, type) and issubclass(argmap, ma.Schema):
            return _instance(argmap)
        return super()._get_schema(argmap, req)


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint with the schema-reusing argument parser.

    A MethodView whose class-level `decorators` include a rate limit marked with `TOO_MANY`
    (app/rate_limits.py) gets that limit's 429 documented on each of its methods, so a limit is
    declared where it is applied (app/contract.py adds problem+json and Retry-After to it)."""

    ARGUMENTS_PARSER = SchemaReusingParser()

    def add_url_rule(self, rule, endpoint=None, view_func=None, **options):
        for limit in getattr(view_func, "decorators", ()):
            description = getattr(limit, "TOO_MANY", None)
            if description is None:
                continue
            for method in getattr(view_func, "methods", None) or ():
                name = method.lower()
                setattr(
                    view_func,
                    name,
                    self.alt_response(429, description=description)(getattr(view_func, name)),
                )
        return super().add_url_rule(rule, endpoint, view_func, **options)


def prebuilt_json(body: dict) -> Response:
    """A hot read's body, built as plain dicts by its service, sent without a schema dump
    (the schema on @response still documents it): the dump cost ~0.4 ms of a 20-item page."""
    return current_app.json.response(body)


class DateConverter(BaseConverter):
    """`<date:day>`: a YYYY-MM-DD calendar date in the years 2000..2100, else the path is a 404
    (so the contract can say exactly which paths exist)."""

    regex = r"(?:20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    # The pattern alone (no `format` beside it): generators then draw dates without filtering
    # most of what they make; a day that does not exist (02-31) is a 404 like any other path.
    SCHEMA = {"type": "string", "pattern": f"^{regex}$", "example": "2026-12-24"}

    def to_python(self, value: str) -> dt.date:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValidationError from None

    def to_url(self, value: dt.date) -> str:
        return value.isoformat()


class IdConverter(IntegerConverter):
    """`<int:…>` ids are bigints: a larger number names nothing, so its path is a 404 (not a
    database error on an out-of-range value)."""

    MAX = 2**63 - 1
    SCHEMA = {"type": "integer", "minimum": 0, "maximum": MAX}

    def __init__(self, map, fixed_digits=0, min=None, max=MAX, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class InstallationIdConverter(BaseConverter):
    """`<installation:…>`: an app installation's id, 8–128 of A–Z, a–z, 0–9 and ._:- (any other
    path names nothing: 404)."""

    regex = r"[A-Za-z0-9._:-]{8,128}"
    SCHEMA = {"type": "string", "pattern": f"^{regex}$", "example": "6f1c2a8e-9a51-4c3b"}


def register_converters(app, api) -> None:
    """Path converters of ours, routed and documented."""
    app.url_map.converters["installation"] = InstallationIdConverter
    api.register_converter(InstallationIdConverter, lambda c: InstallationIdConverter.SCHEMA)
    app.url_map.converters["int"] = IdConverter
    api.register_converter(IdConverter, lambda converter: IdConverter.SCHEMA)
    app.url_map.converters["date"] = DateConverter
    api.register_converter(DateConverter, lambda converter: DateConverter.SCHEMA)
