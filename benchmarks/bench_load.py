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
import contextlib
import csv
import hashlib
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

# `import polars` writes its own allocator setting into os.environ ("dirty_decay_ms:500,
# muzzy_decay_ms:1000", plus any value already there), should this process import it. A child
# inheriting that runs `python -m kpi load` with the CLI's setting all the same (kpi/__main__.py
# adds its own after Polars'), but the other children would not start as a user's shell
# does, so children get the variable as it was when this script started (usually unset).
MALLOC_VAR = "_RJEM_MALLOC_CONF"
MALLOC_CONF_AT_START = os.environ.get(MALLOC_VAR)
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_common import machine, md_table, write_report  # noqa: E402  (shared report helpers)

OUT_DIR = ROOT / "benchmarks" / "out"
MB = 1024 * 1024
# "Well under the size of the data as text": we read it as at most half of it.
WELL_UNDER = 0.5
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
# How often run_child reads /proc/PID/status of a running child.
POLL_S = 0.002
# The CLI's default file size cap (kpi.source.DEFAULT_MAX_UPLOAD_MB); a scaling run whose largest
# CSV is bigger gets KPI_MAX_UPLOAD_MB=SCALE_CAP_MB.
DEFAULT_CAP_MB = 200.0
SCALE_CAP_MB = "2000"

# The activities export as a CRM writes it: its own headers, US timestamps, its activity names.
CRM_FILE = "crm_activity_export.csv"
CRM_HEADERS = {
    "partner_id": "Account ID",
    "user_id": "Contact ID",
    "occurred_at": "Timestamp",
    "activity": "Activity Type",
    "item_id": "Item ID",
    "item_name": "Item Name",
}
CRM_ACTIVITY = {
    "login": "Portal Login",
    "training_completed": "Course Completed",
    "content_viewed": "Asset Viewed",
    "content_shared": "Asset Shared",
}
CRM_DATE_FORMAT = "%m/%d/%Y %H:%M:%S"
BAD_ACTIVITY = "log in"  # the one bad value of the refused load

SOURCES = {
    "csv": "CSV",
    "parquet": "Parquet",
    "crm": "CSV via mapping",
}


# --- memory ------------------------------------------------------------------------------------


STATUS_KEYS = ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem")


def read_status(pid: int | str) -> dict[str, float]:
    """VmRSS, VmHWM, RssAnon, RssFile, RssShmem of a process in MB (Linux); {} if it is gone."""
    found: dict[str, float] = {}
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key in STATUS_KEYS:
                    found[key] = int(value.split()[0]) / 1024.0
    except (OSError, ValueError):
        return {}
    return found


def proc_status() -> dict[str, float]:
    """VmRSS, VmHWM, RssAnon, RssFile of this process in MB (Linux), else ru_maxrss only."""
    return read_status("self") or {"VmHWM": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}


def _reset_hwm() -> bool:
    """Reset this process's peak RSS to its current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


class Peaks:
    """Time and peak RSS of (nested) phases of this process.

    Every phase boundary folds the peak since the last boundary into all open phases and
    resets the kernel's high-water mark, so each phase's peak is its own. Without
    /proc/self/clear_refs the peaks are "peak so far" (`exact` is False).
    """

    def __init__(self) -> None:
        self.exact = _reset_hwm()
        self.open: list[dict[str, Any]] = []
        self.records: dict[str, dict[str, Any]] = {}
        self.overall = proc_status().get("VmHWM", 0.0)

    def mark(self) -> None:
        hwm = proc_status().get("VmHWM", 0.0)
        self.overall = max(self.overall, hwm)
        for record in self.open:
            record["peak_rss_mb"] = max(record["peak_rss_mb"], hwm)
        if self.exact:
            _reset_hwm()

    def record(self, name: str) -> dict[str, Any]:
        return self.records.setdefault(name, {"calls": 0, "seconds": 0.0, "peak_rss_mb": 0.0})

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[dict[str, Any]]:
        record = self.record(name)
        self.mark()
        self.open.append(record)
        start = time.perf_counter()
        try:
            yield record
        finally:
            record["seconds"] += time.perf_counter() - start
            record["calls"] += 1
            self.mark()
            self.open.remove(record)
            record["rss_after_mb"] = proc_status().get("VmRSS")


def wrap(peaks: Peaks, owner: Any, attr: str, label: Callable[..., str] | str) -> None:
    """Time every call of `owner.attr` (a module-level function, looked up at call time)."""
    original = getattr(owner, attr, None)
    if original is None:  # the loader changed: measure what still exists
        return

    def timed(*args: Any, **kwargs: Any) -> Any:
        name = label if isinstance(label, str) else label(*args, **kwargs)
        with peaks.phase(name):
            return original(*args, **kwargs)

    setattr(owner, attr, timed)


# --- children: one load in-process, table by table ------------------------------------------


def smaps_summary(top: int = 5) -> dict[str, Any]:
    """Resident MB of this process by mapping: the heap (anonymous) and each file (code, data)."""
    by_name: dict[str, float] = {}
    current = "[anon]"
    try:
        with open("/proc/self/smaps") as handle:
            for line in handle:
                parts = line.split()
                if parts and "-" in parts[0] and not parts[0].endswith(":"):
                    name = parts[5] if len(parts) > 5 else "[anon]"
                    current = "[anon]" if name in ("[heap]", "[anon]") or name.startswith("[anon") else name
                elif parts and parts[0] == "Rss:":
                    by_name[current] = by_name.get(current, 0.0) + int(parts[1]) / 1024.0
    except OSError:
        return {}
    files = {k: v for k, v in by_name.items() if k.startswith("/")}
    return {
        "anon_mb": sum(v for k, v in by_name.items() if not k.startswith("/")),
        "files_mb": sum(files.values()),
        "top_files": sorted(((Path(k).name, v) for k, v in files.items()), key=lambda kv: -kv[1])[:top],
    }


def child_stream(source: str, src: Path, db: Path, mapping_file: Path | None) -> dict[str, Any]:
    """A streamed load in this process, the peak RSS of each table's read + check + write."""
    peaks = Peaks()
    from kpi import ingest, mapping, store, validate

    start_status, start_maps = proc_status(), smaps_summary()
    original_table = validate._Checks.table

    def table(self: Any, contract: Any, parts: Any) -> Any:
        with peaks.phase(f"table {contract.name}"):
            return original_table(self, contract, parts)

    validate._Checks.table = table  # type: ignore[method-assign]
    wrap(peaks, store.DatasetWriter, "finish", "finish (commit, checkpoint)")
    with peaks.phase("load"):
        if source == "crm":
            assert mapping_file is not None
            recipe = mapping.Mapping.from_json(mapping_file.read_text(encoding="utf-8"))
            loaded = ingest.load_mapped(src, recipe, db, loaded_at=datetime.now())
        else:
            loaded = ingest.load_folder(src, db, loaded_at=datetime.now())
    peaks.mark()
    return {
        "ok": loaded.record is not None,
        "problem_lines": loaded.validation.problem_lines(5),
        "warnings": list(loaded.validation.warnings),
        "rows": loaded.table_rows,
        "db_mb": db.stat().st_size / MB if db.exists() else None,
        "phases": peaks.records,
        "peaks_exact": peaks.exact,
        "peak_rss_mb": peaks.overall,
        "rss_at_start_mb": start_status,
        "maps_at_start": start_maps,
        "rss_at_end_mb": proc_status(),
        "maps_at_end": smaps_summary(),
    }


def child_page(src: Path, db: Path, mapping_file: Path) -> dict[str, Any]:
    """The Data page's engine calls, in the app's order: a preview of each file, a check, the load.

    Streamlit's share (holding the uploaded bytes) is measured by bench_upload.py.
    """
    peaks = Peaks()
    from kpi import ingest, mapping, read

    recipe = mapping.Mapping.from_json(mapping_file.read_text(encoding="utf-8"))
    with peaks.phase("preview each file (preview_source)"):
        for path in sorted(src.iterdir()):
            read.preview_source(path.name, path)
    with peaks.phase("check (check_mapped)"):
        checked = ingest.check_mapped(src, recipe)
    with peaks.phase("load (load_mapped)"):
        loaded = ingest.load_mapped(src, recipe, db, loaded_at=datetime.now())
    peaks.mark()
    ok = checked.validation.ok and loaded.record is not None
    return {"ok": ok, "phases": peaks.records, "peak_rss_mb": peaks.overall}


def child_in_memory(src: Path, db: Path, mapping_file: Path) -> dict[str, Any]:
    """The in-memory path, for comparison: every table read and checked in memory, then written."""
    peaks = Peaks()
    from kpi import history, ingest, mapping, store

    recipe = mapping.Mapping.from_json(mapping_file.read_text(encoding="utf-8"))
    with peaks.phase("read + map + check (load_with_mapping)"):
        validation = ingest.load_with_mapping(src, recipe)
    files = [store.SourceFileInfo(fm.file, fm.mapping.table, validation.tables[fm.mapping.table].height)
             for fm in recipe.files]  # fmt: skip
    with peaks.phase("write (history.load_dataset)"):
        history.load_dataset(validation.tables, db, source=str(src), files=files, loaded_at=datetime.now())
    peaks.mark()
    return {"ok": validation.ok, "phases": peaks.records, "peak_rss_mb": peaks.overall}


# --- parent ------------------------------------------------------------------------------------


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


def child_env() -> dict[str, str]:
    """This process's environment with the allocator variable as it was at the start."""
    env = {k: v for k, v in os.environ.items() if k != MALLOC_VAR}
    if MALLOC_CONF_AT_START is not None:
        env[MALLOC_VAR] = MALLOC_CONF_AT_START
    return env


def run_child(cmd: list[str], env_extra: dict[str, str] | None = None, keep: int = 4000) -> dict[str, Any]:
    """Run one process; its wall time, exit code, output (the last `keep` characters), peak RSS
    (`os.wait4`: that process's own, Linux/macOS) and, on Linux, the peaks of its private and
    file-backed memory (`/proc/PID/status` read every POLL_S while it runs)."""
    env = {**child_env(), **(env_extra or {})}
    # Linux folds the high-water RSS of the process that execs into the new program's
    # ru_maxrss, so the parent resets its mark before each start (it stays far below a
    # load's peak: no data in it, the data made in a child); what it was is recorded.
    parent_hwm = proc_status().get("VmHWM")
    _reset_hwm()
    polled: dict[str, float] = {}
    samples = 0
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err, env=env)
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            found = read_status(process.pid)
            if found:  # empty once the process has exited and is waiting to be reaped
                samples += 1
                for key, value in found.items():
                    polled[key] = max(polled.get(key, 0.0), value)
            time.sleep(POLL_S)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    scale = 1024.0 if sys.platform != "darwin" else 1024.0 * 1024.0  # ru_maxrss: KiB on Linux, bytes on macOS
    return {
        "cmd": [str(c) for c in cmd],
        "env": env_extra or {},
        "exit": process.returncode,
        "wall_s": wall,
        "peak_rss_mb": usage.ru_maxrss / scale,
        # Peaks of the samples (each key on its own: they need not peak at the same moment).
        # RssAnon: private memory (heap, stacks), what the load allocates. RssFile: file-backed
        # pages (the libraries' code and read-only data), shared, the same at any data size.
        # VmHWM: the kernel's own high-water RSS of the new program (a check on ru_maxrss).
        "peak_private_mb": polled.get("RssAnon"),
        "peak_file_mb": polled.get("RssFile"),
        "peak_shmem_mb": polled.get("RssShmem"),
        "peak_rss_sampled_mb": polled.get("VmRSS"),
        "hwm_polled_mb": polled.get("VmHWM"),
        "samples": samples,
        "sample_every_ms": 1000 * wall / samples if samples else None,
        "user_s": usage.ru_utime,
        "sys_s": usage.ru_stime,
        "parent_hwm_mb_before": parent_hwm,
        "stdout": stdout[-keep:],
        "stderr": stderr[-keep:],
    }


def fresh_db(path: Path) -> Path:
    for extra in (path, path.with_name(path.name + ".wal")):
        extra.unlink(missing_ok=True)
    for folder in (path.with_name(path.name + ".history"), path.with_name(path.name + ".mappings")):
        shutil.rmtree(folder, ignore_errors=True)
    return path


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def link_or_copy(source: Path, target: Path) -> None:
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def spoil_last_row(path: Path, column: int, value: str) -> tuple[int, str]:
    """Set one field of the file's last record (in place); return its spreadsheet row and old value."""
    with path.open("rb") as handle:
        lines = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.seek(max(0, size - 65536))
        tail = handle.read()
        body = tail[:-1] if tail.endswith(b"\n") else tail
        start = body.rfind(b"\n") + 1
        fields = next(csv.reader([body[start:].decode("utf-8")]))
        old, fields[column] = fields[column], value
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerow(fields)
        handle.seek(max(0, size - 65536) + start)
        handle.write(text.getvalue().encode("utf-8"))
        handle.truncate()
    return lines, old  # the header is row 1, so the last of `lines` lines is row `lines`


def make_data(partners: int, seed: int, workdir: Path, csv_only: bool = False) -> dict[str, Any]:
    """The demo data as files under `workdir` (every format, or the five CSV files only)."""
    import polars as pl

    from kpi.demo import generate
    from kpi.mapping import FileMapping, Mapping, TableMapping
    from kpi.schema import TABLE_BY_NAME

    folders = {name: workdir / name for name in (("csv",) if csv_only else ("csv", "parquet", "crm", "refused"))}
    for folder in folders.values():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    started = time.perf_counter()
    tables = generate(partners, seed)
    timings = {"generate_s": time.perf_counter() - started}
    rows = {name: frame.height for name, frame in tables.items()}
    start = time.perf_counter()
    for name, frame in tables.items():
        frame.write_csv(folders["csv"] / f"{name}.csv")
    timings["write_csv_s"] = time.perf_counter() - start
    if csv_only:  # the scaling series: the CSV load only
        return {
            "partners": partners,
            "seed": seed,
            "rows": rows,
            "total_rows": sum(rows.values()),
            "folders": {"csv": str(folders["csv"])},
            "file_mb": {"csv": {p.name: p.stat().st_size / MB for p in sorted(folders["csv"].iterdir())}},
            "text_mb": folder_bytes(folders["csv"]) / MB,
            "timings": timings,
        }
    start = time.perf_counter()
    for name, frame in tables.items():
        frame.write_parquet(folders["parquet"] / f"{name}.parquet")
    timings["write_parquet_s"] = time.perf_counter() - start

    # The CRM export of activities, and the other four tables as they are.
    start = time.perf_counter()
    tables["activities"].with_columns(
        pl.col("occurred_at").dt.strftime(CRM_DATE_FORMAT),
        pl.col("activity").replace_strict(CRM_ACTIVITY),
    ).rename(CRM_HEADERS).write_csv(folders["crm"] / CRM_FILE)
    timings["write_crm_csv_s"] = time.perf_counter() - start
    files = []
    for name, frame in tables.items():
        if name == "activities":
            files.append(
                FileMapping(
                    CRM_FILE,
                    tuple(CRM_HEADERS[c] for c in frame.columns),
                    1,
                    ",",
                    TableMapping(
                        "activities",
                        columns={c: (CRM_HEADERS[c],) for c in frame.columns},
                        values={"activity": {crm: ours for ours, crm in CRM_ACTIVITY.items()}},
                        date_format=CRM_DATE_FORMAT,
                    ),
                )
            )
            continue
        link_or_copy(folders["csv"] / f"{name}.csv", folders["crm"] / f"{name}.csv")
        contract = TABLE_BY_NAME[name].column_names
        files.append(
            FileMapping(
                f"{name}.csv",
                tuple(frame.columns),
                1,
                ",",
                TableMapping(name, columns={c: (c,) for c in frame.columns if c in contract}),
            )
        )
    mapping_file = workdir / "crm-mapping.json"
    mapping_file.write_text(Mapping("benchmark CRM export", tuple(files)).to_json(), encoding="utf-8")
    activity_columns = tables["activities"].columns
    del tables

    # The refused load: the same CSV files, one bad activity in the very last row.
    for path in folders["csv"].iterdir():
        if path.name != "activities.csv":
            link_or_copy(path, folders["refused"] / path.name)
    shutil.copyfile(folders["csv"] / "activities.csv", folders["refused"] / "activities.csv")
    bad_row, old_value = spoil_last_row(
        folders["refused"] / "activities.csv", activity_columns.index("activity"), BAD_ACTIVITY
    )

    disk = {name: folder_bytes(folders[name]) / MB for name in ("csv", "parquet", "crm")}
    return {
        "partners": partners,
        "seed": seed,
        "rows": rows,
        "total_rows": sum(rows.values()),
        "folders": {name: str(folder) for name, folder in folders.items()},
        "mapping_file": str(mapping_file),
        "disk_mb": disk,
        "file_mb": {
            fmt: {p.name: p.stat().st_size / MB for p in sorted(folders[fmt].iterdir())}
            for fmt in ("csv", "parquet", "crm")
        },
        "text_mb": disk["csv"],
        "refused": {"row": bad_row, "column": "activity", "old_value": old_value, "bad_value": BAD_ACTIVITY},
        "timings": timings,
    }


def cli_load(src: str, db: Path, mapping_file: str | None = None, extra: list[str] | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "kpi", "load", src, "--db", str(db)]
    if mapping_file:
        cmd += ["--mapping", mapping_file]
    return cmd + (extra or [])


def child_cmd(kind: str, source: str, src: str, db: Path, mapping_file: str | None) -> list[str]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--source", source, "--src", src]
    cmd += ["--db", str(db)]
    return cmd + (["--mapping", mapping_file] if mapping_file else [])


def run_phases(cmd: list[str], env_extra: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a child of this script; its JSON report (the last line of its output)."""
    run = run_child(cmd, env_extra, keep=1 << 30)
    if run["exit"] != 0:
        raise RuntimeError(f"child failed ({run['exit']}): {' '.join(run['cmd'])}\n{run['stderr']}")
    return json.loads(run["stdout"].strip().splitlines()[-1])


def refused_load(data: dict[str, Any], db: Path, workdir: Path) -> dict[str, Any]:
    """Load the spoiled CSV over the live database `db`: one problem, nothing changed."""

    def state() -> dict[str, Any]:
        history = db.with_name(db.name + ".history")
        listing = sorted((p.name, p.stat().st_size) for p in history.iterdir()) if history.is_dir() else []
        folder = sorted(p.name for p in db.parent.iterdir())
        return {"sha256": sha256(db), "size": db.stat().st_size, "history": listing, "folder": folder}

    before = state()
    problems_csv = workdir / "refused-problems.csv"
    problems_csv.unlink(missing_ok=True)
    run = run_child(cli_load(data["folders"]["refused"], db, extra=["--problems-csv", str(problems_csv)]))
    after = state()
    with problems_csv.open(newline="", encoding="utf-8") as handle:
        problems = list(csv.DictReader(handle))
    expected = data["refused"]
    one_right = (
        len(problems) == 1
        and problems[0]["file"] == "activities.csv"
        and problems[0]["row"] == str(expected["row"])
        and problems[0]["column"] == "activity"
        and problems[0]["value"] == BAD_ACTIVITY
    )
    lines = [line.strip() for line in run["stderr"].splitlines() if line.strip()]
    return {
        **run,
        "problems": problems,
        "reported_one_right_problem": one_right,
        "stderr_lines": lines[:4],
        "db_identical": before == after,
        "before": before,
        "after": after,
    }


def rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}" if seconds > 0 else "-"


def ratio(mb: float, text: float) -> str:
    return f"{mb / text:.2f}x"


IDLE_LABEL = "idle process (`import kpi.cli`)"
ALLOCATOR_LABELS = {
    "polars_default": "load, freed pages kept 0.5 s + 1 s (Polars' setting)",
    "keeps_10s": "load, freed pages kept 10 s (jemalloc's default)",
}
MEMORY_HEADER = [
    "source",
    "command",
    "peak RSS",
    "file-backed",
    "private",
    "private above idle",
    "RSS above idle",
    "peak RSS / text",
    "private / text",
    "private above idle / text",
    "RSS above idle / text",
]


def mb(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def frac(value: float | None, text: float) -> str:
    return "-" if value is None else ratio(value, text)


def above(run: dict[str, Any], idle: dict[str, Any], key: str) -> float | None:
    if run is idle or run.get(key) is None or idle.get(key) is None:
        return None
    return run[key] - idle[key]


def memory_row(name: str, command: str, run: dict[str, Any], idle: dict[str, Any], text: float) -> list[str]:
    private_above, rss_above = above(run, idle, "peak_private_mb"), above(run, idle, "peak_rss_mb")
    return [
        name,
        command,
        mb(run["peak_rss_mb"]),
        mb(run.get("peak_file_mb")),
        mb(run.get("peak_private_mb")),
        mb(private_above),
        mb(rss_above),
        frac(run["peak_rss_mb"], text),
        frac(run.get("peak_private_mb"), text),
        frac(private_above, text),
        frac(rss_above, text),
    ]


def judge(runs: dict[str, dict[str, Any]], idle: dict[str, Any], text: float) -> dict[str, Any]:
    """The bar (at most WELL_UNDER x the text) on the total peak RSS, on the private memory above
    the idle process's, and on the peak RSS above the idle process's (library code included)."""
    verdict: dict[str, Any] = {"well_under_factor": WELL_UNDER, "text_mb": text}
    for key, figure in (
        ("total", lambda run: run["peak_rss_mb"]),
        ("private_above_idle", lambda run: above(run, idle, "peak_private_mb")),
        ("above_idle", lambda run: above(run, idle, "peak_rss_mb")),
    ):
        values = {name: figure(run) for name, run in runs.items()}
        ratios = {name: v / text for name, v in values.items() if v is not None}
        met = all(r <= WELL_UNDER for r in ratios.values()) if len(ratios) == len(values) else None
        verdict[key] = {"met": met, "mb": values, "ratios": ratios}
    return verdict


VERDICT_KEYS = ("total", "private_above_idle", "above_idle")
VERDICT_LINES = (
    ("total", "(a) total peak RSS"),
    ("private_above_idle", "(b) private memory (RssAnon) above the idle process's"),
    ("above_idle", "for reference, peak RSS above the idle process's (file-backed pages included)"),
)


def verdict_lines(verdict: dict[str, Any], text: float, names: dict[str, str]) -> list[str]:
    lines = []
    for key, what in VERDICT_LINES:
        v = verdict[key]
        state = "NOT MEASURED (no /proc)" if v["met"] is None else "MET" if v["met"] else "NOT MET"
        lines.append(
            f"- {what} well under the size of the data as text (<= {WELL_UNDER:g} x {text:.0f} MB = "
            f"{WELL_UNDER * text:.0f} MB): **{state}** ("
            + ", ".join(f"{names.get(k, k)} {v['mb'][k]:.0f} MB = {r:.2f}x" for k, r in v["ratios"].items())
            + ")."
        )
    return lines


def machine_line(report: dict[str, Any]) -> str:
    m = report["machine"]
    return (
        f"Machine: {m['cpus_usable']} usable CPUs (nproc {m['nproc']}), {m['memory_gb'] or 0:.1f} GB RAM, "
        f"{m['platform']}; Python {m['python']}; "
        + ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
        + f"; commit {m['git'].get('commit', '?')}{' (dirty tree)' if m['git'].get('dirty') else ''}; "
        f"load average {report['load_average'][0]:.1f} at the start, {report['load_average'][1]:.1f} at the end."
    )


def render(report: dict[str, Any]) -> str:
    data = report["data"]
    text = data["text_mb"]
    total, acts = data["total_rows"], data["rows"]["activities"]
    parts = [
        machine_line(report),
        f"Data: `kpi.demo.generate({data['partners']:,}, seed={data['seed']})`: "
        + ", ".join(f"{name} {n:,}" for name, n in data["rows"].items())
        + f" ({total:,} rows in all). Size of the data as text (the CSV bytes): {text:.1f} MB.",
        "",
        md_table(
            ["files", "on disk MB", "vs text", "largest file"],
            [
                [
                    {
                        "csv": "5 CSV (contract headers)",
                        "parquet": "5 Parquet (zstd, typed)",
                        "crm": "4 CSV + CRM activities",
                    }[fmt],
                    f"{data['disk_mb'][fmt]:.1f}",
                    ratio(data["disk_mb"][fmt], text),
                    "{} {:.1f} MB".format(*max(data["file_mb"][fmt].items(), key=lambda kv: kv[1])),
                ]
                for fmt in ("csv", "parquet", "crm")
            ],
        ),
        "",
        "Whole CLI path (`python -m kpi load SRC --db NEW.duckdb`, one fresh process each; wall time "
        "includes Python start-up and imports)",
        "",
    ]
    startup = report["startup"]
    base = startup["peak_rss_mb"]
    runs = [
        (SOURCES[source], "load" + (" --mapping" if source == "crm" else ""), entry["cli"])
        for source, entry in report["loads"].items()
    ]
    runs.append(("CSV, 1 bad value", "load (refused)", report["refused"]))
    runs += [("CSV", label, report["allocator"][key]) for key, label in ALLOCATOR_LABELS.items()]
    rows = [["-", IDLE_LABEL, str(startup["exit"]), f"{startup['wall_s']:.2f}", "-", "-", f"{startup['user_s']:.2f}"]]
    for name, command, run in runs:
        rows.append(
            [
                name,
                command,
                str(run["exit"]),
                f"{run['wall_s']:.2f}",
                rate(total, run["wall_s"]),
                rate(acts, run["wall_s"]),
                f"{run['user_s'] + run['sys_s']:.2f}",
            ]
        )
    parts += [
        md_table(["source", "command", "exit", "wall s", "rows/s", "activity rows/s", "CPU s"], rows),
        "",
        "Memory of the same processes (MB; *private* = peak RssAnon, the memory the process allocated; "
        "*file-backed* = peak RssFile, the libraries' code and read-only data, shared and the same at any data "
        "size; *above idle* = minus the idle process's figure; / text = over the size of the data as text)",
        "",
    ]
    rows = [memory_row("-", IDLE_LABEL, startup, startup, text)]
    rows += [memory_row(name, command, run, startup, text) for name, command, run in runs]
    parts.append(md_table(MEMORY_HEADER, rows))
    parts += [
        "",
        "Streamed load in-process, table by table (one fresh process per source; each table read, checked and "
        "written a chunk at a time; peak RSS while that table ran)",
        "",
    ]
    rows = []
    for source, entry in report["loads"].items():
        stream = entry["stream"]
        phases = stream["phases"]
        for name in [f"table {t}" for t in data["rows"]] + ["finish (commit, checkpoint)", "load"]:
            phase = phases.get(name)
            if phase is None:
                continue
            table_rows = data["rows"].get(name.removeprefix("table "), total if name == "load" else None)
            rows.append(
                [
                    SOURCES[source],
                    "**whole load**" if name == "load" else name,
                    f"{phase['seconds']:.2f}",
                    rate(table_rows, phase["seconds"]) if table_rows else "-",
                    f"{phase['peak_rss_mb']:.0f}",
                    f"{phase['peak_rss_mb'] - base:.0f}",
                ]
            )
    parts.append(md_table(["source", "step", "s", "rows/s", "peak RSS MB", "above idle MB"], rows))
    csv_stream = report["loads"]["csv"]["stream"]
    start_maps, end_maps = csv_stream["maps_at_start"], csv_stream["maps_at_end"]
    parts += [
        "",
        "Where the memory is (CSV, streamed, in-process): resident MB by kind of mapping, after the imports and "
        "at the end of the load",
        "",
        md_table(
            ["", "after imports", "end of load", "grew by"],
            [
                [
                    "heap (anonymous)",
                    f"{start_maps['anon_mb']:.0f}",
                    f"{end_maps['anon_mb']:.0f}",
                    f"{end_maps['anon_mb'] - start_maps['anon_mb']:.0f}",
                ],
                [
                    "files mapped (libraries' code)",
                    f"{start_maps['files_mb']:.0f}",
                    f"{end_maps['files_mb']:.0f}",
                    f"{end_maps['files_mb'] - start_maps['files_mb']:.0f}",
                ],
            ]
            + [[f"  {name}", "", f"{mb:.0f}", ""] for name, mb in end_maps["top_files"]],
        ),  # fmt: skip
        "",
        f"Peak of that process {csv_stream['peak_rss_mb']:.0f} MB; "
        f"RSS at its end {csv_stream['rss_at_end_mb']['VmRSS']:.0f} MB.",
    ]
    for key, label in (
        ("page", "The Data page's engine calls (CSV via mapping, the app's allocator setting)"),
        ("in_memory", "For comparison, the in-memory path (`load_with_mapping` holds every table, then "
         "`history.load_dataset`)"),
    ):  # fmt: skip
        memory = report[key]
        phases = memory["phases"].items()
        each = "; ".join(f"{n} {f['seconds']:.2f} s, peak {f['peak_rss_mb']:.0f} MB" for n, f in phases)
        parts += ["", f"{label}: {each} ({ratio(memory['peak_rss_mb'], text)} the text)."]
    ref = report["refused"]
    problem = ref["problems"][0] if ref["problems"] else {}
    parts += [
        "",
        f"Refused load (`{BAD_ACTIVITY}` as the activity of the last of {acts:,} activity rows, CSV, over the CSV "
        f"load's live database): exit {ref['exit']} in {ref['wall_s']:.2f} s, peak {ref['peak_rss_mb']:.0f} MB; "
        f"{len(ref['problems'])} problem reported"
        + (
            f" ({problem.get('file')}, row {int(problem.get('row') or 0):,}, column {problem.get('column')}, "
            f"value {problem.get('value')!r}: {problem.get('problem')})"
            if problem
            else ""
        )
        + f", {'the right one' if ref['reported_one_right_problem'] else 'NOT the expected one'}; "
        f"database file {'byte-identical (same SHA-256), history unchanged' if ref['db_identical'] else 'CHANGED'}.",
        "",
    ]
    parts += verdict_lines(report["verdict"], text, {**SOURCES, "refused": "refused"})
    parts += ["", f"Total wall time of the benchmark {report['wall_s']:.0f} s."]
    return "\n".join(parts)


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


def render_scale(report: dict[str, Any]) -> str:
    idle = report["startup"]
    series = report["series"]
    rows = [
        [
            f"{entry['partners']:,}",
            f"{entry['rows']['activities']:,}",
            f"{entry['total_rows']:,}",
            f"{entry['text_mb']:.1f}",
            f"{entry['cli']['wall_s']:.2f}",
            rate(entry["total_rows"], entry["cli"]["wall_s"]),
            rate(entry["rows"]["activities"], entry["cli"]["wall_s"]),
            mb(entry["cli"]["peak_rss_mb"]),
            mb(entry["cli"].get("peak_private_mb")),
            mb(above(entry["cli"], idle, "peak_private_mb")),
            frac(entry["cli"]["peak_rss_mb"], entry["text_mb"]),
            frac(entry["cli"].get("peak_private_mb"), entry["text_mb"]),
            frac(above(entry["cli"], idle, "peak_private_mb"), entry["text_mb"]),
            ", ".join(f"{k}={v}" for k, v in entry["cli"]["env"].items()) or "-",
        ]
        for entry in series
    ]
    parts = [
        machine_line(report),
        "",
        f"Scaling: `python -m kpi load CSV_FOLDER --db NEW.duckdb` on `kpi.demo.generate(N, seed={report['seed']})`, "
        "one fresh process each (MB; private = peak RssAnon; the idle process `import kpi.cli`: "
        f"peak RSS {mb(idle['peak_rss_mb'])}, private {mb(idle.get('peak_private_mb'))})",
        "",
        md_table(
            [
                "partners",
                "activity rows",
                "rows",
                "text MB",
                "wall s",
                "rows/s",
                "activity rows/s",
                "peak RSS",
                "private",
                "private above idle",
                "peak RSS / text",
                "private / text",
                "private above idle / text",
                "env",
            ],
            rows,
        ),  # fmt: skip
    ]
    first, last = series[0], series[-1]
    if len(series) > 1 and first["cli"].get("peak_private_mb") is not None:
        parts += [
            "",
            f"From {first['text_mb']:.0f} to {last['text_mb']:.0f} MB of text "
            f"({last['text_mb'] / first['text_mb']:.1f}x): peak RSS {first['cli']['peak_rss_mb']:.0f} -> "
            f"{last['cli']['peak_rss_mb']:.0f} MB ({last['cli']['peak_rss_mb'] - first['cli']['peak_rss_mb']:+.0f}), "
            f"private {first['cli']['peak_private_mb']:.0f} -> {last['cli']['peak_private_mb']:.0f} MB "
            f"({last['cli']['peak_private_mb'] - first['cli']['peak_private_mb']:+.0f}).",
        ]

    def cell(v: dict[str, Any]) -> str:
        if v["met"] is None:
            return "not measured"
        return f"{'MET' if v['met'] else 'NOT MET'} ({v['ratios']['csv']:.2f}x)"

    verdicts = report["verdicts"]
    parts += [
        "",
        f"Verdict at each size: well under the size of the data as text, read as <= {WELL_UNDER:g} x the text",
        "",
        md_table(
            ["partners", "text MB", "bar MB", "(a) total peak RSS", "(b) private above idle", "RSS above idle (ref.)"],
            [
                [
                    f"{entry['partners']:,}",
                    f"{entry['text_mb']:.1f}",
                    f"{WELL_UNDER * entry['text_mb']:.0f}",
                    *(cell(verdicts[str(entry["partners"])][key]) for key in VERDICT_KEYS),
                ]
                for entry in series
            ],
        ),
    ]
    parts += ["", f"Total wall time of the benchmark {report['wall_s']:.0f} s."]
    return "\n".join(parts)


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
