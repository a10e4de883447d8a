"""Cities, merchants and stores of the generated world, loaded with COPY.

Deterministic from the seed: 330 city centres around real metros, Zipf-sized (the k-th city
has ~1/k of the largest one's stores), stores within 20 km of their centre and denser towards
it, merchants from global chains through regional chains to single shops.
"""

import csv
import io
from dataclasses import dataclass

import numpy as np

from app.seeding import keys_built_after
from app.seeding.hours import ALL_DAY, KINDS, PROFILES
from app.seeding.places import ANCHORS, STREETS, SYLLABLES

METRES_PER_DEGREE = 111_320.0
MAX_FROM_CENTRE_M = 19_800  # the flat-earth offset errs < 0.5 %: stay inside 20 km
CHUNK = 10_000
BRANDS = (
    "Corner Mart", "Leaf & Bean", "FreshWay", "Urban Threads", "Daily Dough", "MediPlus",
    "Night Owl", "GreenBasket", "Cuppa", "Quick Stop", "Style Loft", "Pharma One",
)  # fmt: skip
DEMO_MERCHANTS = (("Leaf & Bean", "cafe"), ("Corner Mart", "convenience"),
                  ("Night Owl", "bar"), ("Sunrise Bakery", "bakery"))  # fmt: skip
HOLIDAYS = ("2026-12-25", "2027-01-01")


@dataclass(frozen=True)
class City:
    name: str
    lat: float
    lng: float
    timezone: str
    region: int
    size: int


def zipf_sizes(total: int, count: int) -> np.ndarray:
    """`total` split over `count` cities with the k-th ~1/k of the first (at least 1 each)."""
    weights = 1.0 / np.arange(1, count + 1)
    raw = total * weights / weights.sum()
    sizes = np.maximum(np.floor(raw).astype(int), 1 if total >= count else 0)
    short = total - int(sizes.sum())
    order = np.argsort(-(raw - np.floor(raw)))
    sizes[order[: max(short, 0)]] += 1
    return sizes


def _wrap_lng(lng):
    return (np.asarray(lng) + 180.0) % 360.0 - 180.0


def _town(rng: np.random.Generator) -> str:
    parts = rng.choice(SYLLABLES, size=int(rng.integers(2, 4)))
    return "".join(parts).capitalize()


def plan_cities(rng: np.random.Generator, *, count: int, stores: int) -> list[City]:
    """The first centres are the real anchors; the rest are towns 40-300 km from one of them."""
    sizes = zipf_sizes(stores, count)
    cities = []
    for rank in range(count):
        if rank < len(ANCHORS):
            name, lat, lng, zone = ANCHORS[rank]
            region = rank
        else:
            region = int(rng.integers(len(ANCHORS)))
            _, a_lat, a_lng, zone = ANCHORS[region]
            dist, bearing = rng.uniform(40_000, 300_000), rng.uniform(0, 2 * np.pi)
            lat = float(np.clip(a_lat + dist * np.cos(bearing) / METRES_PER_DEGREE, -80, 80))
            lng = a_lng + dist * np.sin(bearing) / (METRES_PER_DEGREE * np.cos(np.radians(lat)))
            name, lng = _town(rng), float(_wrap_lng(lng))
        cities.append(City(name, lat, lng, zone, region, int(sizes[rank])))
    return cities


def _scatter(rng: np.random.Generator, city: City) -> tuple[np.ndarray, np.ndarray]:
    """Points within 20 km of the centre, denser towards it."""
    dist = MAX_FROM_CENTRE_M * rng.random(city.size) ** 0.75
    bearing = rng.uniform(0, 2 * np.pi, city.size)
    lat = city.lat + dist * np.cos(bearing) / METRES_PER_DEGREE
    lng = city.lng + dist * np.sin(bearing) / (METRES_PER_DEGREE * np.cos(np.radians(lat)))
    return np.clip(lat, -89.9, 89.9), _wrap_lng(lng)


@dataclass
class Merchants:
    names: list[str]
    kinds: list[str]
    of_store: np.ndarray  # merchant index per store


def _zipf_pick(rng, n_choices: int, size: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, n_choices + 1)
    return rng.choice(n_choices, size=size, p=weights / weights.sum())


def plan_merchants(rng: np.random.Generator, regions: np.ndarray, *, demo: bool) -> Merchants:
    """~30 % of stores in global chains, ~30 % in regional chains, the rest single shops."""
    n = len(regions)
    if demo:
        names, kinds = [m[0] for m in DEMO_MERCHANTS], [m[1] for m in DEMO_MERCHANTS]
        return Merchants(names, kinds, _zipf_pick(rng, len(names), n))
    n_global = max(1, min(len(BRANDS), n // 18_000))
    per_region = 5
    names = list(BRANDS[:n_global])
    kinds = [KINDS[i % len(KINDS)] for i in range(n_global)]
    for _ in range(len(ANCHORS) * per_region):
        names.append(f"{_town(rng)} {rng.choice(['Market', 'Goods', 'Corner', 'Co.'])}")
        kinds.append(str(rng.choice(KINDS)))
    tier = rng.choice(3, size=n, p=[0.3, 0.3, 0.4])
    of_store = np.empty(n, dtype=np.int64)
    of_store[tier == 0] = _zipf_pick(rng, n_global, int((tier == 0).sum()))
    regional = tier == 1
    picks = _zipf_pick(rng, per_region, int(regional.sum()))
    of_store[regional] = n_global + regions[regional] * per_region + picks
    single = np.flatnonzero(tier == 2)
    # Single shops: runs of 1-3 neighbouring stores share an owner.
    group = np.cumsum(rng.random(len(single)) < 0.75)
    of_store[single] = len(names) + group - 1
    for _ in range(int(group[-1]) if len(group) else 0):
        names.append(f"{_town(rng)}'s {rng.choice(['Shop', 'Store', 'Deli', 'Kiosk'])}")
        kinds.append(str(rng.choice(KINDS)))
    return Merchants(names, kinds, of_store)


def _copy(cursor, table: str, columns: str, rows) -> None:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)", buffer)


def _next_id(cursor, table: str) -> int:
    cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")
    return cursor.fetchone()[0]


def load_merchants(cursor, merchants: Merchants, rng_seed: int) -> np.ndarray:
    """COPY the merchants that own stores; their database ids by merchant index."""
    used = np.unique(merchants.of_store)
    first = _next_id(cursor, "merchants")
    ids = np.zeros(len(merchants.names), dtype=np.int64)
    ids[used] = np.arange(first, first + len(used))
    rows = (
        (ids[i], merchants.names[i], f"w{rng_seed}-{ids[i]}", f"A {merchants.kinds[i]} business")
        for i in used
    )
    _copy(cursor, "merchants", "id, name, slug, description", rows)
    cursor.execute("SELECT setval('merchants_id_seq', (SELECT max(id) FROM merchants))")
    return ids


def store_rows(rng: np.random.Generator, cities: list[City], merchants: Merchants, ids, first):
    """One CSV row per store, city by city (ids from `first`)."""
    store_id = first
    offset = 0
    for city in cities:
        lat, lng = _scatter(rng, city)
        owners = merchants.of_store[offset : offset + city.size]
        numbers = rng.integers(1, 400, city.size)
        streets = rng.integers(len(STREETS), size=city.size)
        variant = rng.random(city.size)
        pickup = rng.random(city.size) < 0.8
        active = rng.random(city.size) < 0.99
        for i in range(city.size):
            owner = owners[i]
            profiles = PROFILES[merchants.kinds[owner]]
            yield (
                store_id, ids[owner], f"S{store_id}", f"{merchants.names[owner]} {city.name}"[:120],
                f"{numbers[i]} {STREETS[streets[i]]}", city.name,
                f"SRID=4326;POINT({lng[i]:.6f} {lat[i]:.6f})", city.timezone,
                f"+1 555 {store_id % 10_000_000:07d}", pickup[i], 120, active[i],
                profiles[int(variant[i] * len(profiles))],
            )  # fmt: skip
            store_id += 1
        offset += city.size


def load_world(conn, *, rng_seed: int, stores: int, cities: int, demo: bool, progress) -> dict:
    """Generate and COPY merchants, stores and a few holiday closures; a summary back."""
    rng = np.random.default_rng(rng_seed)
    plan = plan_cities(rng, count=cities, stores=stores)
    regions = np.repeat([c.region for c in plan], [c.size for c in plan])
    merchants = plan_merchants(rng, regions, demo=demo)
    cursor = conn.cursor()
    ids = load_merchants(cursor, merchants, rng_seed)
    first = _next_id(cursor, "stores")
    columns = (
        "id, merchant_id, code, name, address, city, location, timezone, phone, pickup_enabled,"
        " pickup_hold_minutes, is_active, hours"
    )
    rows = store_rows(rng, plan, merchants, ids, first)
    closures = []
    # Into an empty table (a new world) without its keys and indexes, built once at the end.
    bare = ("stores",) if first == 1 else ()
    with progress(stores, "stores") as bar, keys_built_after(cursor, bare):
        while chunk := [row for _, row in zip(range(CHUNK), rows, strict=False)]:
            _copy(cursor, "stores", columns, chunk)
            closures += [row for row in chunk if row[0] % 20 == 0 and row[-1] != ALL_DAY]
            bar.update(len(chunk))
    cursor.execute("SELECT setval('stores_id_seq', (SELECT max(id) FROM stores))")
    _copy(
        cursor,
        "store_hours_exceptions",
        "store_id, merchant_id, date, closed, hours, note",
        ((r[0], r[1], day, True, "[]", "Holiday") for r in closures for day in HOLIDAYS),
    )
    largest = max(c.size for c in plan)
    return {"stores": stores, "cities": cities, "merchants": int(ids.astype(bool).sum()),
            "largest_city": largest, "first_store_id": first}  # fmt: skip
