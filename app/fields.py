"""The one string field every schema uses: text PostgreSQL and UTF-8 can hold.

PostgreSQL refuses NUL in text, and a lone surrogate (which JSON's `\\ud800` escapes can carry)
cannot be encoded as UTF-8: either one used to reach the database and come back as a 500.
`Text` refuses both with a 422 naming the field, and declares the NUL rule in the contract
(a `pattern`) so that clients and generated tests know it too.
"""

import marshmallow as ma

# ECMA-262 and Python read this alike: any text without U+0000.
NO_NUL = "^[^\\u0000]*$"
MESSAGE = "Must not contain NUL characters or unpaired surrogates."


def clean_text(value: str) -> bool:
    """True when `value` holds no NUL and no lone surrogate."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# A phone number as people type it, at most 32 characters in all (the columns are String(32)).
PHONE = r"^(\+[0-9 ()-]{4,31}|[0-9 ()-]{5,32})$"


class Text(ma.fields.String):
    """A string without NUL or lone surrogates (422 naming the field otherwise)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not any(isinstance(v, ma.validate.Regexp | ma.validate.OneOf) for v in self.validators):
            # A pattern or a choice of its own already states which characters it takes.
            self.metadata = {"pattern": NO_NUL, **self.metadata}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not clean_text(text):
            raise ma.ValidationError(MESSAGE)
        return text


class Bool(ma.fields.Boolean):
    """JSON's true or false, nothing else: 0, 1 or "yes" are not booleans in the contract."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):  # 0 == False and 1 == True: sets alone would take them
            raise self.make_error("invalid", input=value)
        return value


class Int(ma.fields.Integer):
    """A JSON integer in a body: 7 or 7.0 (one number to JSON Schema), never "7", 7.5 or true."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, strict=True, **kwargs)

    def _validated(self, value):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return super()._validated(value)


class QueryBool(ma.fields.Boolean):
    """A boolean query parameter: `true` or `false`, as the contract serialises it."""

    truthy = {"true"}
    falsy = {"false"}


def changes(schema: type[ma.Schema]) -> ma.Schema:
    """A PATCH body of `schema`: each top-level field may be left out, but an object given inside
    it (a tier, a service, a window) is whole. `partial=True` would reach into nested objects too
    and let `{"services": [{"count": 2}]}` through without the service's name."""
    return schema(partial=tuple(schema._declared_fields))
