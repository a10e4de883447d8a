"""CSV bodies for the store import: each line becomes the JSON row it stands for."""

import csv
import io
import json
from contextlib import suppress

from webargs.flaskparser import FlaskParser

CSV = "text/csv"
# Columns besides the store fields themselves: lat/lng make `location`, hours is a JSON cell.
LOCATION = ("lat", "lng")
# CSV cells are text; the JSON schema takes only true/false, so the usual spellings become those.
FLAGS = ("pickup_enabled", "is_active")
SPELLINGS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
# ... and the integer columns become JSON integers when they are written as one.
INTEGERS = ("pickup_hold_minutes",)


def _row(line: dict[str, str]) -> dict:
    row = {key: value for key, value in line.items() if key and value not in (None, "")}
    if any(key in row for key in LOCATION):
        row["location"] = {key: row.pop(key) for key in LOCATION if key in row}
    for key in FLAGS:
        if key in row:
            row[key] = SPELLINGS.get(row[key].strip().lower(), row[key])
    for key in INTEGERS:
        if key in row and row[key].strip().lstrip("-").isdigit():
            row[key] = int(row[key])
    if "hours" in row:
        with suppress(ValueError):  # bad JSON stays text: the schema then names the field
            row["hours"] = json.loads(row["hours"])
    return row


def import_from_csv(body: str) -> dict:
    """`code,name,address,city,lat,lng,timezone[,phone,pickup_enabled,...,hours]` → {"stores"}."""
    return {"stores": [_row(line) for line in csv.DictReader(io.StringIO(body))]}


class StoreImportParser(FlaskParser):
    """Reads a text/csv body as the {"stores": [...]} it stands for; JSON as usual."""

    def _raw_load_json(self, req):
        if req.mimetype == CSV:
            return import_from_csv(req.get_data(as_text=True))
        return super()._raw_load_json(req)
