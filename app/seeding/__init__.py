"""The generated world behind `flask seed`: cities, merchants and stores, then extra steps.

Other domains add data to the world (catalog, stock, ...) without touching this package's
code: put a module in app/seeding/ (e.g. catalog.py) that appends to EXTRA_STEPS:

    from app.seeding import EXTRA_STEPS

    def seed_catalog(conn, *, rng_seed: int, demo: bool, progress) -> None:
        ...  # read stores back with conn.cursor(); load with cursor.copy_expert(...)

    EXTRA_STEPS.append(seed_catalog)

Every module of this package is imported before the steps run (alphabetical order; within a
module, the order of appending). Each step gets the raw psycopg2 connection inside the seed's
one transaction (do not commit), the --seed number (derive its own numpy Generator from it),
whether this is the demo world, and `progress(length, label)`, a click progress bar to use as a
context manager (`bar.update(n)`).
"""

import importlib
import pkgutil
from collections.abc import Callable

EXTRA_STEPS: list[Callable[..., None]] = []


def load_steps() -> list[Callable[..., None]]:
    """Import every module of this package, so each can append its steps, and list them."""
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        importlib.import_module(f"{__name__}.{module}")
    return list(EXTRA_STEPS)
