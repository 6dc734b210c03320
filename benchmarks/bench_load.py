"""Load-path benchmark of Channel KPI Explorer: 2 million activity rows, CSV and Parquet.

Run from the repository root:

    python benchmarks/bench_load.py [--partners 20000] [--out FILE.json]
    python benchmarks/bench_load.py --scale 5000,20000,80000 --out benchmarks/out/bench_load_scale.json

It writes the demo dataset (`kpi.demo.generate(N)`, about a hundred activities a partner) as five
CSV files and as five Parquet files under benchmarks/out/, and an activities export with
CRM-like headers, US dates and CRM activity names for a load through a mapping. Then, each
in a fresh child process so the peak RSS is that load's own:

- the idle process: `python -c "import kpi.cli"`, the start-up every load pays first;
- the whole CLI path, `python -m kpi load SRC --db NEW.duckdb [--mapping FILE]` (a streamed
  load: each file read, checked and written a chunk at a time), timed from the parent; its
  peak RSS from `os.wait4`, and, from /proc/PID/status read every 2 ms while it runs, the
  peak of its private memory (RssAnon: what the process allocated) and of its file-backed
  pages (RssFile: the libraries' code, shared, the same at any data size); each also above
  the idle process's;
- the same streamed load in-process (`kpi.ingest.load_folder` / `kpi.ingest.load_mapped`,
  with the CLI's allocator setting), table by table: the time and the peak RSS while each
  table was read, checked and written (Linux: /proc/self/clear_refs resets the peak between
  tables), and where the memory is at the end (the process's mappings: code and other files,
  and the heap);
- the Data page's engine calls (`preview_source` of each file, `check_mapped`,
  `load_mapped`: all streamed; the app's own share, the uploaded bytes Streamlit holds, is
  measured by bench_upload.py), and for comparison the in-memory path
  (`load_with_mapping` holds every table, then `history.load_dataset` writes them);
- a refused load: one bad value in the last row of the activities CSV, loaded over the
  live database; it must report that one problem and leave the database byte-identical;
- the CLI CSV load again with two other allocator settings, to show what the CLI's own
  (`_RJEM_MALLOC_CONF` handing freed pages back at once) saves: Polars' own (freed pages
  kept 0.5 s, then 1 s), and jemalloc's default (about 10 s).

With `--scale N1,N2,...` it runs instead the scaling series: for each partner count the five
CSV files only, the CLI CSV load in a fresh process, then the folder deleted (`--keep` keeps it).

Rows per second are rows of all five tables (and activity rows) over wall seconds; memory
is also given as a fraction of the size of the data as text (the CSV bytes). The bar:
"well under the size of the data as text", read as at most half of it (WELL_UNDER), is
judged on (a) the whole peak RSS and (b) the private memory above the idle process's; the
peak RSS above the idle process's (library code included) is given too. See
benchmarks/README.md, section "bench_load.py: the load path".
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench_common import OUT_DIR, ROOT, machine, write_report
from load_data import SOURCES, fresh_db, make_data
from load_memory import MB, child_in_memory, child_page, child_stream
from load_report import judge, render, render_scale
from load_run import MALLOC_VAR, child_cmd, child_env, cli_load, refused_load, run_child, run_phases

if str(ROOT) not in sys.path:  # the children import kpi
    sys.path.insert(0, str(ROOT))

PACKAGES = ("polars", "duckdb", "pyarrow", "numpy")
# Polars' jemalloc (prefixed symbols) reads _RJEM_MALLOC_CONF. `python -m kpi load` sets
# "dirty_decay_ms:0,muzzy_decay_ms:0" (freed pages go back to the OS at once) unless the user set a
# decay (Polars' own value, inherited from a parent that imported Polars, is not the user's).
# Compared with: what `import polars` sets (freed pages kept 0.5 s dirty, then 1 s muzzy), and
# jemalloc's own default (about 10 s).
CLI_ENV = {MALLOC_VAR: "dirty_decay_ms:0,muzzy_decay_ms:0"}  # what kpi/__main__.py sets for `load`
# Polars' setting in another order, so the CLI takes it for a user's own decay and keeps it.
POLARS_DEFAULT_ENV = {MALLOC_VAR: "muzzy_decay_ms:1000,dirty_decay_ms:500"}
KEEPS_FREED_ENV = {MALLOC_VAR: "dirty_decay_ms:10000,muzzy_decay_ms:10000"}
# The CLI's default file size cap (kpi.source.DEFAULT_MAX_UPLOAD_MB); a scaling run whose largest
# CSV is bigger gets KPI_MAX_UPLOAD_MB=SCALE_CAP_MB.
DEFAULT_CAP_MB = 200.0
SCALE_CAP_MB = "2000"


def report_head(name: str, args: dict[str, Any], load_before: float) -> dict[str, Any]:
    """What every report starts with: the benchmark, when, its arguments, the machine, the load."""
    return {
        "benchmark": name,
        "generated_at": datetime.now().isoformat(timespec="seconds"),
        "args": args,
        "machine": machine(
            PACKAGES,
            env={k: v for k, v in child_env().items() if k.startswith("KPI_MAX_") or k == MALLOC_VAR},
        ),
        "load_average": [load_before, os.getloadavg()[0]],
    }


def partner_counts(value: str) -> list[int]:
    try:
        counts = [int(part.replace("_", "")) for part in value.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"partner counts separated by commas, not {value!r}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"partner counts of at least 1, not {value!r}")
    return counts


def make_data_child(partners: int, seed: int, workdir: Path, csv_only: bool = False) -> dict[str, Any]:
    """make_data in a child of its own, so the parent never holds the data (see run_child)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--make-data", str(workdir)]
    cmd += ["--partners", str(partners), "--seed", str(seed)]
    return run_phases(cmd + (["--csv-only"] if csv_only else []))


def scale_series(counts: list[int], seed: int, workdir: Path, keep: bool) -> list[dict[str, Any]]:
    """The CLI CSV load of the demo data at each partner count, each in a fresh process; a size
    whose largest CSV is over the CLI's file cap gets KPI_MAX_UPLOAD_MB=SCALE_CAP_MB."""
    cap = float(os.environ.get("KPI_MAX_UPLOAD_MB") or DEFAULT_CAP_MB)
    series = []
    for partners in counts:
        folder = workdir / f"scale-{partners}"
        shutil.rmtree(folder, ignore_errors=True)
        print(f"[scale {partners:,}] generate, write CSV", flush=True)
        data = make_data_child(partners, seed, folder, csv_only=True)
        largest = max(data["file_mb"]["csv"].values())
        env = {"KPI_MAX_UPLOAD_MB": SCALE_CAP_MB} if largest > cap else {}
        print(f"[scale {partners:,}] CLI CSV load of {data['text_mb']:.0f} MB {env or ''}", flush=True)
        db = fresh_db(folder / "load.duckdb")
        run = run_child(cli_load(data["folders"]["csv"], db), env)
        if run["exit"] != 0:
            raise RuntimeError(f"the CSV load at {partners:,} partners failed:\n{run['stderr']}")
        series.append({**data, "largest_file_mb": largest, "db_mb": db.stat().st_size / MB, "cli": run})
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    return series


def scale_main(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    workdir = args.workdir or OUT_DIR / "load-scale"
    workdir.mkdir(parents=True, exist_ok=True)
    print("[idle] python -c 'import kpi.cli'", flush=True)
    startup = run_child([sys.executable, "-c", "import kpi.cli"])
    series = scale_series(args.scale, args.seed, workdir, args.keep)
    report = {
        **report_head("bench_load_scale", {"scale": args.scale, "seed": args.seed, "keep": args.keep}, load_before),
        "seed": args.seed,
        "startup": startup,
        "series": series,
        "verdicts": {
            str(entry["partners"]): judge({"csv": entry["cli"]}, startup, entry["text_mb"]) for entry in series
        },
        "wall_s": time.perf_counter() - started,
    }
    write_report(report, render_scale(report), args.out)
    print(f"\nJSON report: {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--partners", type=int, default=20_000, help="partners in the demo data (default 20000)")
    parser.add_argument("--out", type=Path, default=OUT_DIR / "bench_load.json", help="JSON report file")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--workdir",
        type=Path,
        help="data and databases (default benchmarks/out/load-N/, with --scale benchmarks/out/load-scale/)",
    )
    parser.add_argument(
        "--scale",
        type=partner_counts,
        help="instead of the whole benchmark, the scaling series: the CLI CSV load at each of these partner "
        "counts (comma-separated, e.g. 5000,20000,80000)",
    )
    parser.add_argument("--keep", action="store_true", help="--scale: keep each size's data folder (default: delete)")
    parser.add_argument("--child", choices=("stream", "in-memory", "page"), help=argparse.SUPPRESS)
    parser.add_argument("--csv-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--source", choices=tuple(SOURCES), help=argparse.SUPPRESS)
    parser.add_argument("--src", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--mapping", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--make-data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.make_data:  # child: the data, so the parent never holds it (see run_child)
        print(json.dumps(make_data(args.partners, args.seed, args.make_data, csv_only=args.csv_only)))
        return 0
    if args.child == "stream":
        print(json.dumps(child_stream(args.source, args.src, fresh_db(args.db), args.mapping)))
        return 0
    if args.child == "page":
        print(json.dumps(child_page(args.src, fresh_db(args.db), args.mapping)))
        return 0
    if args.child == "in-memory":
        print(json.dumps(child_in_memory(args.src, fresh_db(args.db), args.mapping)))
        return 0
    if args.partners < 1:
        parser.error("--partners must be at least 1")
    if args.scale:
        return scale_main(args)

    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    workdir = args.workdir or OUT_DIR / f"load-{args.partners}"
    dbs = workdir / "db"
    shutil.rmtree(dbs, ignore_errors=True)
    dbs.mkdir(parents=True)
    print(f"[data] generate {args.partners:,} partners, write CSV, Parquet, CRM CSV", flush=True)
    data = make_data_child(args.partners, args.seed, workdir)
    mapping_file = data["mapping_file"]

    print("[idle] python -c 'import kpi.cli'", flush=True)
    startup = run_child([sys.executable, "-c", "import kpi.cli"])
    loads: dict[str, Any] = {}
    for source in SOURCES:
        src = data["folders"][source]
        mapping = mapping_file if source == "crm" else None
        print(f"[{source}] CLI load", flush=True)
        cli = run_child(cli_load(src, fresh_db(dbs / f"cli-{source}.duckdb"), mapping))
        if cli["exit"] != 0:
            raise RuntimeError(f"the {source} load failed:\n{cli['stderr']}")
        print(f"[{source}] streamed load, table by table", flush=True)
        stream = run_phases(child_cmd("stream", source, src, dbs / f"stream-{source}.duckdb", mapping), CLI_ENV)
        if not stream["ok"]:
            raise RuntimeError(f"the {source} load was refused in-process: {stream['problem_lines']}")
        loads[source] = {"cli": cli, "stream": stream}

    print("[page] the Data page's engine calls, CSV via mapping", flush=True)
    page = run_phases(child_cmd("page", "crm", data["folders"]["crm"], dbs / "page.duckdb", mapping_file))
    print("[in-memory] the in-memory path, for comparison, CSV via mapping", flush=True)
    in_memory = run_phases(
        child_cmd("in-memory", "crm", data["folders"]["crm"], dbs / "in-memory.duckdb", mapping_file)
    )

    print("[refused] CSV with one bad value in the last row, over the live CSV database", flush=True)
    refused = refused_load(data, dbs / "cli-csv.duckdb", workdir)

    allocator = {}
    for key, env in (("polars_default", POLARS_DEFAULT_ENV), ("keeps_10s", KEEPS_FREED_ENV)):
        print(f"[allocator {key}] CLI CSV load with {env}", flush=True)
        allocator[key] = run_child(cli_load(data["folders"]["csv"], fresh_db(dbs / f"cli-csv-{key}.duckdb")), env)
        if allocator[key]["exit"] != 0:
            raise RuntimeError(f"the CSV load with {env} failed:\n{allocator[key]['stderr']}")

    judged = {source: entry["cli"] for source, entry in loads.items()}
    judged["refused"] = refused
    verdict = judge(judged, startup, data["text_mb"])

    report = {
        **report_head("bench_load", {"partners": args.partners, "seed": args.seed}, load_before),
        "data": data,
        "startup": startup,
        "loads": loads,
        "page": page,
        "in_memory": in_memory,
        "refused": refused,
        "allocator": allocator,
        "verdict": verdict,
        "wall_s": time.perf_counter() - started,
    }
    write_report(report, render(report), args.out)
    print(f"\nJSON report: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
