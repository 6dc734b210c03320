"""bench_load's memory readers (/proc/PID/status, the peak of nested phases) and the children
that run one load in-process, table by table: the streamed load, the Data page's engine calls,
and the in-memory path.
"""

from __future__ import annotations

import contextlib
import resource
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

MB = 1024 * 1024


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
