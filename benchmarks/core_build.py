"""The demo databases the benchmarks share (`bench-N.duckdb`): built in a child process, so
the build's memory peak stays apart from the benchmark's, and reused when the file's
recorded source says it holds the same partners and seed.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from bench_common import ROOT, peak_rss_mb, timed

# The child that builds: `bench_core.py --build-one` (also what a build by hand runs).
BUILD_SCRIPT = Path(__file__).resolve().with_name("bench_core.py")


def _kpi_importable() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def build_one(n_partners: int, seed: int, db: Path) -> dict[str, Any]:
    """Generate, validate and write one demo database (runs in a child process)."""
    _kpi_importable()
    from kpi import store
    from kpi.demo import generate
    from kpi.validate import validate_frames

    generate_s, frames = timed(lambda: generate(n_partners, seed))
    validate_s, validation = timed(lambda: validate_frames(frames))
    if not validation.ok:
        raise SystemExit("demo data failed validation:\n" + "\n".join(validation.problem_lines(10)))
    write_s, _ = timed(
        lambda: store.write_dataset(
            validation.tables,
            db,
            source=f"benchmark partners={n_partners} seed={seed}",
            loaded_at=datetime(2026, 1, 1),
        )
    )
    return {
        "partners": n_partners,
        "seed": seed,
        "db": str(db),
        "db_mb": db.stat().st_size / 2**20,
        "rows": {name: frame.height for name, frame in validation.tables.items()},
        "generate_s": generate_s,
        "validate_s": validate_s,
        "write_s": write_s,
        "peak_rss_mb": peak_rss_mb(),
    }


def build(n_partners: int, seed: int, db: Path) -> dict[str, Any]:
    cmd = [sys.executable, str(BUILD_SCRIPT), "--build-one", str(n_partners)]
    cmd += ["--seed", str(seed), "--db", str(db)]
    wall_s, done = timed(lambda: subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True))
    if done.returncode != 0:
        raise SystemExit(f"building the {n_partners}-partner database failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_s"] = wall_s
    rows = result["rows"]
    result["activities_per_partner"] = rows["activities"] / n_partners
    print(
        f"  built {n_partners:,} partners in {wall_s:.1f} s: "
        + ", ".join(f"{name} {count:,}" for name, count in rows.items())
        + f" ({result['activities_per_partner']:.0f} activities per partner, {result['db_mb']:.0f} MB)",
        flush=True,
    )
    return result


def database(n: int, seed: int, workdir: Path) -> dict[str, Any]:
    """The bench_core database of this size: reused when it is there, built otherwise."""
    _kpi_importable()
    from kpi import store

    db = workdir.resolve() / f"bench-{n}.duckdb"
    shown = db.relative_to(ROOT) if db.is_relative_to(ROOT) else db
    source = f"benchmark partners={n} seed={seed}"
    info = None
    if db.exists():
        with contextlib.suppress(Exception):  # an unreadable file is built again
            info = store.describe(db)
    if info is not None and info.source == source and info.table_rows.get("partners") == n:
        print(f"[{n:,} partners] reusing {shown}", flush=True)
        return {"partners": n, "seed": seed, "db": str(db), "built": False, "rows": info.table_rows}
    print(f"[{n:,} partners] building {shown}", flush=True)
    built = build(n, seed, db)
    return {"partners": n, "seed": seed, "db": str(db), "built": True, "rows": built["rows"]}
