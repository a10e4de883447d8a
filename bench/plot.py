"""PNG plots of a bench run, beside its JSON: the ratios per scenario, and latency against the
size of the world (--growth). Drawn with matplotlib's file-only backend (no screen needed)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend is chosen first)


def ratios(rows: list[dict], path: Path) -> Path:
    """Bars of API/reference and API/SQL per scenario, with the 1.0 line."""
    names, to_ref, to_sql = [], [], []
    for row in rows:
        api = row["api"].rps
        per_script = 2 if row.get("chain") else 1
        names.append(row["scenario"])
        to_ref.append(api / row["reference"].rps if row.get("reference") else 0)
        to_sql.append(api / per_script / row["sql"].rps if row.get("sql") else 0)
    fig, ax = plt.subplots(figsize=(max(6, len(names) * 0.9), 4))
    xs = range(len(names))
    ax.bar([x - 0.2 for x in xs], to_ref, width=0.4, label="API / reference app")
    ax.bar([x + 0.2 for x in xs], to_sql, width=0.4, label="API / its raw SQL")
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set_xticks(list(xs), names, rotation=35, ha="right")
    ax.set_ylabel("throughput ratio")
    ax.set_title("shopnear bench: our API against its twins (higher is better)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def growth(points: list[tuple[int, float, float]], path: Path) -> Path:
    """p50 and p99 of nearby (ms) against the number of stores (log scale)."""
    stores = [p[0] for p in points]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(stores, [p[1] for p in points], marker="o", label="p50")
    ax.plot(stores, [p[2] for p in points], marker="o", label="p99")
    ax.set_xscale("log")
    ax.set_xlabel("stores in the world")
    ax.set_ylabel("nearby latency (ms)")
    ax.set_title("nearby latency as the world grows")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
