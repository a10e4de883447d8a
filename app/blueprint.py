"""The flask-smorest Blueprint every domain uses: argument schemas are built once, not per call.

webargs instantiates a schema *class* on every request it parses; building a marshmallow schema
deep-copies its declared fields, which cost 0.2–0.35 ms of each nearby request (cProfile,
docs/PERFORMANCE.md). Reusing one instance per class is safe: loading keeps no state on it.
"""

from functools import cache

import flask_smorest
import marshmallow as ma
from flask import Response, current_app
from webargs.flaskparser import FlaskParser


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
    """flask-smorest's Blueprint with the schema-reusing argument parser."""

    ARGUMENTS_PARSER = SchemaReusingParser()


def prebuilt_json(body: dict) -> Response:
    """A hot read's body, built as plain dicts by its service, sent without a schema dump
    (the schema on @response still documents it): the dump cost ~0.4 ms of a 20-item page."""
    return current_app.json.response(body)
