"""Load-path benchmark of Channel KPI Explorer: 2 million activity rows, CSV and Parquet.

Run from the repository root:

    python benchmarks/bench_load.py [--partners 20000] [--out FILE.json]

It writes the demo dataset (`kpi.demo.generate(N)`, about 102 activities a partner) as five
CSV files and as five Parquet files under benchmarks/out/, and an activities export with
CRM-like headers, US dates and CRM activity names for a load through a mapping. Then, each
in a fresh child process so the peak RSS is that load's own:

- the whole CLI path, `python -m kpi load SRC --db NEW.duckdb [--mapping FILE]` (read,
  validate, write, history), timed from the parent; its peak RSS from `os.wait4`;
- the same load in-process, phase by phase: read (`read_source`, as `read_dataset` /
  `load_with_mapping` call it), validate (`kpi.load.validate`; for the mapping also
  applying it), write (`kpi.history.load_dataset` into a fresh path), each with its time
  and the peak RSS while it ran (Linux: /proc/self/clear_refs resets the peak between phases);
- a refused load: one bad value in the last row of the activities CSV, loaded over the
  live database; it must report that one problem and leave the database byte-identical.

Rows per second are rows of all five tables (and activity rows) over wall seconds; peak
RSS is also given as a fraction of the size of the data as text (the CSV bytes). When a
load does not stay well under the text size (peak <= WELL_UNDER x text), two more child
processes load the CSV with finer steps (the loader's own functions, frame sizes), with
the default allocator settings and with jemalloc returning freed pages at once, to show
where the memory goes. See benchmarks/README.md, section "Load path".
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

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_core import machine, md_table  # noqa: E402  (shared report helpers)

OUT_DIR = ROOT / "benchmarks" / "out"
MB = 1024 * 1024
# "Well under the size of the data as text": we read it as at most half of it.
WELL_UNDER = 0.5
PACKAGES = ("polars", "duckdb", "pyarrow", "numpy")
# Polars' jemalloc (prefixed symbols) reads this variable: freed pages go back to the OS at once
# instead of after ~10 s, so the peak shows the memory really in use.
NO_RETENTION_ENV = {"_RJEM_MALLOC_CONF": "dirty_decay_ms:0,muzzy_decay_ms:0"}

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


def proc_status() -> dict[str, float]:
    """VmRSS, VmHWM, RssAnon, RssFile of this process in MB (Linux), else ru_maxrss only."""
    found: dict[str, float] = {}
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                    found[key] = int(value.split()[0]) / 1024.0
    except OSError:
        found["VmHWM"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return found


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


def frame_sizes(frame: Any) -> dict[str, float]:
    """MB of a Polars frame: `estimated_size()` and the size with String views counted.

    Polars stores each String value as a 16-byte view (strings of up to 12 bytes inline, longer
    ones in a data buffer); `estimated_size()` counts the string bytes only.
    """
    import polars as pl

    with_views = 0
    for name, dtype in frame.schema.items():
        column = frame.get_column(name)
        if dtype == pl.String:
            lengths = column.str.len_bytes()
            with_views += 16 * column.len() + int(lengths.filter(lengths > 12).sum() or 0)
        else:
            with_views += column.estimated_size()
    return {"estimated_size_mb": frame.estimated_size() / MB, "with_views_mb": with_views / MB}


# --- child: one load in-process, phase by phase ---------------------------------------------------


def child_phases(source: str, src: Path, db: Path, mapping_file: Path | None, diagnose: bool) -> dict[str, Any]:
    peaks = Peaks()
    from kpi import history, load, mapping, store

    start_status = proc_status()
    sizes: dict[str, Any] = {"text_frames": {}, "typed_frames": {}}
    reader = mapping if source == "crm" else load
    validator = mapping if source == "crm" else load

    def read_label(name: str, *args: Any, **kwargs: Any) -> str:
        return "read"

    wrap(peaks, reader, "read_source", read_label)
    wrap(peaks, validator, "validate", "validate")
    if source == "crm":
        wrap(peaks, mapping, "validate_mapped", "map + validate")
    if diagnose:
        wrap(peaks, load, "_read_delimited", "read: _read_delimited (pl.read_csv, all columns String)")
        wrap(peaks, load, "_finish", "read: _finish (trim, rename, _row, blank rows)")
        wrap(peaks, load, "_as_text", "read: _finish > _as_text (trim, empty -> null)")
        wrap(peaks, load, "_check_table", lambda table, *a, **k: f"validate: _check_table {table.name}")
        wrap(peaks, load, "_flag_orders", "validate: _flag_orders")
        wrap(
            peaks,
            load,
            "_flag_reference",
            lambda checker, column, *a, **k: f"validate: _flag_reference {Path(checker.file).stem}.{column}",
        )
        wrap(peaks, load, "_clean", "validate: _clean")
        wrap(peaks, store, "build_database", "write: store.build_database (DuckDB)")
        # Frame sizes, measured after each read (outside the timed read itself).
        timed_read = reader.read_source

        def sized_read(name: str, *args: Any, **kwargs: Any) -> Any:
            result = timed_read(name, *args, **kwargs)
            sizes["text_frames"][name] = frame_sizes(result.frame)
            return result

        reader.read_source = sized_read

    if source == "crm":
        assert mapping_file is not None
        recipe = mapping.Mapping.from_json(mapping_file.read_text(encoding="utf-8"))
        with peaks.phase("load_with_mapping (read + map + validate)"):
            validation = mapping.load_with_mapping(src, recipe)
        names = {fm.mapping.table: fm.file for fm in recipe.files}
        source_text, mapping_name = f"{src} (mapping {recipe.name})", recipe.name
    else:
        with peaks.phase("read_dataset (read + validate)"):
            validation = load.read_dataset(src)
        names = {table: path.name for table, path in load.find_table_files(src)[0].items()}
        source_text, mapping_name = str(src), None
    result: dict[str, Any] = {
        "ok": validation.ok,
        "problems": validation.problems.height,
        "problem_lines": validation.problem_lines(5),
        "warnings": list(validation.warnings),
        "rows": {name: frame.height for name, frame in validation.tables.items()},
    }
    if diagnose:
        sizes["typed_frames"] = {name: frame_sizes(frame) for name, frame in validation.tables.items()}
        sizes["rss_after_validation_mb"] = proc_status()
    if validation.ok:
        files = [
            store.SourceFileInfo(names[table], table, frame.height)
            for table, frame in validation.tables.items()
            if table in names
        ]
        with peaks.phase("write"):
            history.load_dataset(
                validation.tables,
                db,
                source=source_text,
                files=files,
                loaded_at=datetime.now(),
                mapping_name=mapping_name,
            )
        result["db_mb"] = db.stat().st_size / MB
    peaks.mark()
    result.update(
        {
            "phases": peaks.records,
            "peaks_exact": peaks.exact,
            "peak_rss_mb": peaks.overall,
            "rss_at_start_mb": start_status,
            "sizes": sizes if diagnose else None,
        }
    )
    return result


# --- parent ------------------------------------------------------------------------------------


def run_child(cmd: list[str], env_extra: dict[str, str] | None = None, keep: int = 4000) -> dict[str, Any]:
    """Run one process; its wall time, exit code, output (the last `keep` characters) and
    peak RSS (`os.wait4`: that process's own, Linux/macOS)."""
    env = {**os.environ, **(env_extra or {})}
    # Linux folds the high-water RSS of the process that execs into the new program's
    # ru_maxrss, so the parent keeps its own small (no Polars, the data made in a child)
    # and resets its mark before each start; what it was is recorded.
    parent_hwm = proc_status().get("VmHWM")
    _reset_hwm()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    scale = 1024.0 if sys.platform != "darwin" else 1024.0 * 1024.0  # ru_maxrss: KiB on Linux, bytes on macOS
    return {
        "cmd": [str(c) for c in cmd],
        "exit": process.returncode,
        "wall_s": wall,
        "peak_rss_mb": usage.ru_maxrss / scale,
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


def make_data(partners: int, seed: int, workdir: Path) -> dict[str, Any]:
    import polars as pl

    from kpi.demo import generate
    from kpi.mapping import FileMapping, Mapping, TableMapping
    from kpi.schema import TABLE_BY_NAME

    folders = {name: workdir / name for name in ("csv", "parquet", "crm", "refused")}
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


def phases_cmd(source: str, src: str, db: Path, mapping_file: str | None, diagnose: bool = False) -> list[str]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", source, "--src", src, "--db", str(db)]
    if mapping_file:
        cmd += ["--mapping", mapping_file]
    return cmd + (["--diagnose"] if diagnose else [])


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


def render(report: dict[str, Any]) -> str:
    data = report["data"]
    text = data["text_mb"]
    total, acts = data["total_rows"], data["rows"]["activities"]
    m = report["machine"]
    parts = [
        f"Machine: {m['cpus_usable']} usable CPUs (nproc {m['nproc']}), {m['memory_gb'] or 0:.1f} GB RAM, "
        f"{m['platform']}; Python {m['python']}; "
        + ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
        + f"; commit {m['git'].get('commit', '?')}{' (dirty tree)' if m['git'].get('dirty') else ''}.",
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
                    f"{data['disk_mb'][fmt] / text:.2f}x",
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
    rows = [
        [
            "-",
            "start-up only (`import kpi.cli`)",
            str(startup["exit"]),
            f"{startup['wall_s']:.2f}",
            "-",
            "-",
            f"{base:.0f}",
            f"{base / text:.2f}x",
            "-",
        ]
    ]
    runs = [
        (SOURCES[source], "load" + (" --mapping" if source == "crm" else ""), entry["cli"])
        for source, entry in report["loads"].items()
    ]
    runs.append(("CSV, 1 bad value", "load (refused)", report["refused"]))
    for name, command, run in runs:
        rows.append(
            [
                name,
                command,
                str(run["exit"]),
                f"{run['wall_s']:.2f}",
                rate(total, run["wall_s"]),
                rate(acts, run["wall_s"]),
                f"{run['peak_rss_mb']:.0f}",
                f"{run['peak_rss_mb'] / text:.2f}x",
                f"{(run['peak_rss_mb'] - base) / text:.2f}x",
            ]
        )
    parts.append(
        md_table(
            [
                "source",
                "command",
                "exit",
                "wall s",
                "rows/s",
                "activity rows/s",
                "peak RSS MB",
                "peak / text",
                "(peak - start-up) / text",
            ],
            rows,
        )
    )
    ref = report["refused"]
    parts += [
        "",
        "Phases (in-process, one fresh process per source; peak RSS while the phase ran)",
        "",
    ]
    rows = []
    for source, entry in report["loads"].items():
        ph = entry["phases"]["phases"]
        outer = ph.get("read_dataset (read + validate)") or ph.get("load_with_mapping (read + map + validate)")
        read, validate, write = ph.get("read"), ph.get("validate"), ph.get("write")
        steps: list[tuple[str, float, float]] = [("read", read["seconds"], read["peak_rss_mb"])]
        if "map + validate" in ph:
            mapped = ph["map + validate"]
            steps.append(("apply mapping", mapped["seconds"] - validate["seconds"], mapped["peak_rss_mb"]))
        steps.append(("validate", validate["seconds"], validate["peak_rss_mb"]))
        rest = outer["seconds"] - sum(s for _, s, _ in steps)
        steps.append(("write (history.load_dataset)", write["seconds"], write["peak_rss_mb"]))
        for name, seconds, peak in steps:
            rows.append(
                [
                    SOURCES[source],
                    name,
                    f"{seconds:.2f}",
                    rate(total, seconds),
                    rate(acts, seconds),
                    f"{peak:.0f}" if name != "apply mapping" else f"({peak:.0f})",
                    f"{peak / text:.2f}x" if name != "apply mapping" else "",
                ]
            )
        all_s = outer["seconds"] + write["seconds"]
        rows.append(
            [
                SOURCES[source],
                f"**total** (other {rest:.2f} s)",
                f"{all_s:.2f}",
                rate(total, all_s),
                rate(acts, all_s),
                f"{entry['phases']['peak_rss_mb']:.0f}",
                f"{entry['phases']['peak_rss_mb'] / text:.2f}x",
            ]
        )
    parts.append(md_table(["source", "phase", "s", "rows/s", "activity rows/s", "peak RSS MB", "peak / text"], rows))
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
    verdict = report["verdict"]
    parts.append(
        f"Peak memory well under the size of the data as text (peak <= {WELL_UNDER:g} x {text:.0f} MB = "
        f"{WELL_UNDER * text:.0f} MB): {'MET' if verdict['met'] else 'NOT MET'} ("
        + ", ".join(f"{SOURCES.get(k, k)} {v:.2f}x" for k, v in verdict["ratios"].items())
        + ")."
    )
    diag = report.get("diagnosis")
    if diag:
        parts += [
            "",
            "Where the memory goes: CSV load, steps of `kpi.load` / `kpi.store` (peak RSS MB while each ran)",
            "",
        ]
        default, no_ret = diag["default"]["phases"], diag["no_retention"]["phases"]
        rows = []
        for name, rec in default.items():
            if name in ("read", "validate", "write", "read_dataset (read + validate)"):
                continue
            other = no_ret.get(name, {})
            rows.append(
                [
                    name,
                    str(rec["calls"]),
                    f"{rec['seconds']:.2f}",
                    f"{rec['peak_rss_mb']:.0f}",
                    f"{other.get('peak_rss_mb', 0):.0f}",
                ]
            )
        rows.append(
            [
                "whole process",
                "",
                "",
                f"{diag['default']['peak_rss_mb']:.0f}",
                f"{diag['no_retention']['peak_rss_mb']:.0f}",
            ]
        )
        parts.append(md_table(["step", "calls", "s", "peak MB (default)", "peak MB (jemalloc no retention)"], rows))
        sizes = diag["no_retention"]["sizes"]
        text_est = sum(s["estimated_size_mb"] for s in sizes["text_frames"].values())
        text_views = sum(s["with_views_mb"] for s in sizes["text_frames"].values())
        typed_est = sum(s["estimated_size_mb"] for s in sizes["typed_frames"].values())
        typed_views = sum(s["with_views_mb"] for s in sizes["typed_frames"].values())
        acts_text = sizes["text_frames"].get("activities.csv", {})
        cli_free = diag["cli_csv_no_retention"]
        parts += [
            "",
            f"CLI CSV load with jemalloc returning freed pages at once ({', '.join(diag['env'])}): peak "
            f"{cli_free['peak_rss_mb']:.0f} MB ({cli_free['peak_rss_mb'] / text:.2f}x), against "
            f"{report['loads']['csv']['cli']['peak_rss_mb']:.0f} MB with the defaults.",
            "",
            f"Frames: the five text frames `read_source` returns hold {text_est:.0f} MB of string bytes "
            f"(`estimated_size()`) but {text_views:.0f} MB with Polars' 16-byte String views "
            f"({text_views / text:.2f}x the text; activities {acts_text.get('with_views_mb', 0):.0f} MB); "
            f"the typed frames `validate` returns {typed_est:.0f} MB ({typed_views:.0f} MB with views). "
            f"RSS of the process at start (imports) {diag['no_retention']['rss_at_start_mb'].get('VmRSS', 0):.0f} MB.",
        ]
    parts += ["", f"Total wall time of the benchmark {report['wall_s']:.0f} s."]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--partners", type=int, default=20_000, help="partners in the demo data (default 20000)")
    parser.add_argument("--out", type=Path, default=OUT_DIR / "bench_load.json", help="JSON report file")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, help="data and databases (default benchmarks/out/load-N/)")
    parser.add_argument("--no-diagnose", action="store_true", help="skip the memory diagnosis runs")
    parser.add_argument("--child", choices=tuple(SOURCES), help=argparse.SUPPRESS)
    parser.add_argument("--src", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--mapping", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--diagnose", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--make-data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.make_data:  # child: the data, so the parent never holds it (see run_child)
        print(json.dumps(make_data(args.partners, args.seed, args.make_data)))
        return 0
    if args.child:
        print(json.dumps(child_phases(args.child, args.src, fresh_db(args.db), args.mapping, args.diagnose)))
        return 0
    if args.partners < 1:
        parser.error("--partners must be at least 1")

    started = time.perf_counter()
    workdir = args.workdir or OUT_DIR / f"load-{args.partners}"
    dbs = workdir / "db"
    shutil.rmtree(dbs, ignore_errors=True)
    dbs.mkdir(parents=True)
    print(f"[data] generate {args.partners:,} partners, write CSV, Parquet, CRM CSV", flush=True)
    data = run_phases(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--make-data",
            str(workdir),
            "--partners",
            str(args.partners),
            "--seed",
            str(args.seed),
        ]
    )
    mapping_file = data["mapping_file"]

    print("[start-up] python -c 'import kpi.cli'", flush=True)
    startup = run_child([sys.executable, "-c", "import kpi.cli"])
    loads: dict[str, Any] = {}
    for source in SOURCES:
        src = data["folders"][source]
        mapping = mapping_file if source == "crm" else None
        print(f"[{source}] CLI load", flush=True)
        cli = run_child(cli_load(src, fresh_db(dbs / f"cli-{source}.duckdb"), mapping))
        if cli["exit"] != 0:
            raise RuntimeError(f"the {source} load failed:\n{cli['stderr']}")
        print(f"[{source}] phases", flush=True)
        phases = run_phases(phases_cmd(source, src, dbs / f"phases-{source}.duckdb", mapping))
        if not phases["ok"]:
            raise RuntimeError(f"the {source} load was refused in-process: {phases['problem_lines']}")
        loads[source] = {"cli": cli, "phases": phases}

    print("[refused] CSV with one bad value in the last row, over the live CSV database", flush=True)
    refused = refused_load(data, dbs / "cli-csv.duckdb", workdir)

    text = data["text_mb"]
    ratios = {source: entry["cli"]["peak_rss_mb"] / text for source, entry in loads.items()}
    ratios["refused"] = refused["peak_rss_mb"] / text
    verdict = {"well_under_factor": WELL_UNDER, "met": all(r <= WELL_UNDER for r in ratios.values()), "ratios": ratios}

    diagnosis = None
    if not verdict["met"] and not args.no_diagnose:
        print("[diagnose] CSV load, loader steps, default allocator", flush=True)
        default = run_phases(phases_cmd("csv", data["folders"]["csv"], dbs / "diag-default.duckdb", None, True))
        print("[diagnose] CSV load, loader steps, jemalloc without retention", flush=True)
        no_retention = run_phases(
            phases_cmd("csv", data["folders"]["csv"], dbs / "diag-noretention.duckdb", None, True), NO_RETENTION_ENV
        )
        print("[diagnose] CLI CSV load, jemalloc without retention", flush=True)
        cli_no_retention = run_child(
            cli_load(data["folders"]["csv"], fresh_db(dbs / "cli-csv-noretention.duckdb")), NO_RETENTION_ENV
        )
        diagnosis = {
            "env": NO_RETENTION_ENV,
            "default": default,
            "no_retention": no_retention,
            "cli_csv_no_retention": cli_no_retention,
        }

    report = {
        "benchmark": "bench_load",
        "generated_at": datetime.now().isoformat(timespec="seconds"),
        "args": {"partners": args.partners, "seed": args.seed},
        "machine": machine(
            PACKAGES,
            env={k: v for k, v in os.environ.items() if k.startswith("KPI_MAX_") or k.endswith("MALLOC_CONF")},
        ),
        "data": data,
        "startup": startup,
        "loads": loads,
        "refused": refused,
        "verdict": verdict,
        "diagnosis": diagnosis,
        "wall_s": time.perf_counter() - started,
    }
    table = render(report)
    report["table"] = table
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str))
    print()
    print(table)
    print(f"\nJSON report: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
