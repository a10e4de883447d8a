"""Realistic weekly hours per kind of shop, as the JSON the stores table keeps."""

import json

WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAYS = WEEK[:5]


def _week(*groups: tuple[tuple[str, ...], tuple[tuple[str, str], ...]]) -> str:
    hours: dict[str, list[dict[str, str]]] = {}
    for days, ranges in groups:
        for day in days:
            hours[day] = [{"opens": o, "closes": c} for o, c in ranges]
    return json.dumps({day: hours[day] for day in WEEK if day in hours}, separators=(",", ":"))


ALL_DAY = _week((WEEK, (("00:00", "24:00"),)))

# kind -> hours variants (a store draws one); late ones run past midnight, some close a day.
PROFILES: dict[str, tuple[str, ...]] = {
    "convenience": (
        ALL_DAY,
        _week((WEEK, (("07:00", "23:00"),))),
        _week((WEEK, (("06:00", "02:00"),))),
    ),
    "cafe": (
        _week((WEEKDAYS, (("07:00", "19:00"),)), (("sat", "sun"), (("08:00", "18:00"),))),
        _week((WEEK, (("08:00", "20:00"),))),
    ),
    "grocery": (
        _week((WEEK, (("08:00", "22:00"),))),
        _week((WEEK[:6], (("08:00", "21:00"),)), (("sun",), (("09:00", "18:00"),))),
    ),
    "bar": (
        _week((WEEK[:4], (("17:00", "01:00"),)), (("fri", "sat"), (("17:00", "03:00"),))),
        _week((WEEK[1:], (("18:00", "02:00"),))),
    ),
    "fashion": (
        _week((WEEK[:6], (("10:00", "21:00"),)), (("sun",), (("11:00", "18:00"),))),
        _week((WEEK[:6], (("10:00", "20:00"),))),
    ),
    "bakery": (_week((WEEK[1:], (("06:30", "14:00"),))),),
    "pharmacy": (
        _week(
            (WEEKDAYS, (("08:30", "12:30"), ("14:00", "19:00"))),
            (("sat",), (("09:00", "13:00"),)),
        ),
    ),
}
KINDS = tuple(PROFILES)
