"""bench_load's data: the demo tables as files (CSV, Parquet, a CRM-style export with its
mapping, and the CSV with one bad value for the refused load), and the file helpers.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
import time
from pathlib import Path
from typing import Any

from load_memory import MB

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
