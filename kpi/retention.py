"""What the load history keeps (`kpi.history` applies it), and how a broken live file is
set aside instead of deleted when a load or a restore replaces it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import duckdb

from kpi import store

RESTORE_PREFIX = "restore of "  # the source of a load made by `kpi.history.restore`


def entry_number(path: Path) -> int:
    """The order of a kept file: its name starts with a number, higher is newer."""
    return int(path.name.split("-", 1)[0])


def prune_plan(entries: Sequence[tuple[Path, str, str]], keep: int, *, live_id: str, live_source: str) -> list[Path]:
    """Which kept files to delete, given (file, dataset id, source) newest first.

    The history keeps datasets, not files: a restore's copy holds the same data as the load
    it brought back, so it never counts as one more load and never pushes a load out. A
    copy is deleted while another file (the live one or the load's own entry) holds its
    data; it is kept, and counts, only once it is the only copy. The load the live file was
    restored from stays listed (it is the live dataset, so it is not counted); of the other
    datasets, the `keep` - 1 live most recently are kept, each under its own load's entry
    where that is still there."""
    sources = {live_id: live_source, **{dataset_id: source for _, dataset_id, source in entries}}

    def origin(dataset_id: str) -> str:
        seen: set[str] = set()
        while dataset_id not in seen and sources.get(dataset_id, "").startswith(RESTORE_PREFIX):
            seen.add(dataset_id)
            dataset_id = sources[dataset_id].removeprefix(RESTORE_PREFIX)
        return dataset_id

    live_origin = origin(live_id)
    by_origin: dict[str, list[tuple[Path, str]]] = {}
    for entry, dataset_id, _ in entries:
        if dataset_id != live_id:
            by_origin.setdefault(origin(dataset_id), []).append((entry, dataset_id))
    delete: list[Path] = []
    kept: list[tuple[int, Path]] = []  # (when its data was last live: its newest file's number, the file kept)
    for data, files in by_origin.items():
        originals = [entry for entry, dataset_id in files if dataset_id == data]
        if originals:
            keep_one: Path | None = originals[0]
        else:  # only copies: the live file holds the data, or the newest copy is the only one
            keep_one = None if data == live_origin else files[0][0]
        delete.extend(entry for entry, _ in files if entry != keep_one)
        if keep_one is not None and data != live_origin:  # the live dataset's own load is not one more
            kept.append((max(entry_number(entry) for entry, _ in files), keep_one))
    kept.sort(key=lambda pair: pair[0], reverse=True)
    return delete + [entry for _, entry in kept[keep - 1 :]]


UNREADABLE_PREFIX = "unreadable-"  # a broken live file set aside in the history folder


DUCKDB_MAGIC = (8, b"DUCK")  # where a DuckDB file says what it is, and what it says


def unreadable(path: Path) -> bool:
    """Whether `path` is a broken database file: empty, or a DuckDB file (by its header) that
    DuckDB cannot open (truncated, damaged). Another program's database opens fine, and any
    other file is not a database at all: neither is broken, and neither is ever replaced."""
    with path.open("rb") as fh:
        head = fh.read(16)
    if not head:
        return True
    offset, magic = DUCKDB_MAGIC
    if head[offset : offset + len(magic)] != magic:
        return False
    try:
        store.describe(path)
    except (duckdb.CatalogException, duckdb.BinderException, ValueError):
        return False  # opens: a database of another program, refused by `_described`
    except duckdb.Error:
        return True
    return False


def set_aside(db_path: Path, folder: Path, when: datetime) -> Path:
    """Move a broken live file into the history folder under a name of its own, stamped with
    `when` (the load or restore replacing it; never an entry, never cleared), so replacing it
    loses nothing someone may want to recover."""
    target = folder / f"{UNREADABLE_PREFIX}{when:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}-{db_path.name}"
    os.replace(db_path, target)
    return target
