"""Atomic, reversible loads: the live database, the datasets before it, saved mappings.

Layout next to the live database `kpi.duckdb` (the file the app and the CLI read):

    kpi.duckdb                  the live dataset, only ever replaced whole (os.replace)
    kpi.duckdb.history/         earlier datasets, complete database files never changed
        000007-<load id>.duckdb   after they are written; the number orders them (higher is
        000006-<load id>.duckdb   newer). Each one is the file that was live, kept as a
                                  hard link when the file system allows (no copying).
    kpi.duckdb.mappings/        saved column mappings, one JSON file per name

Each database file describes its own load (time, source, files and row counts, mapping
name; see kpi/sql/schema.sql), so the history needs no other record. A dataset enters the
history at the moment it stops being live: just before a load or a restore replaces it.

Saved scenarios (kpi.scenarios) live in the live file's `scenarios` table: they are the
program's policy, not the data's, so a load or a restore carries the live file's scenarios
into the file it swaps in, and a change to the scenarios is itself a new file swapped in
(`replace_scenarios`), the data unchanged.

Every change is made under a temporary name (hidden: its name starts with ".") and
renamed into place last, so a failure or a crash at any point leaves the live database as
it was; hidden files are never listed and are cleared by the next change. Writers take an
exclusive lock on the database's folder, so two loads never interleave; readers take no
lock and see the old dataset or the new one, never a mix.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from kpi import retention, store
from kpi.store import SourceFileInfo

try:
    import fcntl
except ImportError:  # Windows: replacing a file other processes hold open fails there anyway
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DEFAULT_KEEP",
    "LoadNotFoundError",
    "LoadRecord",
    "SourceFileInfo",
    "delete_mapping",
    "history_dir",
    "kept_loads",
    "list_loads",
    "load_dataset",
    "load_streamed",
    "mappings_dir",
    "replace_scenarios",
    "restore",
    "save_mapping",
    "saved_mappings",
]

DEFAULT_KEEP = 10
MAPPING_NAME_MAX = 100

_ENTRY_RE = re.compile(r"^(\d+)-([A-Za-z0-9_-]+)\.duckdb$")
_SAFE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class LoadRecord:
    """One load as the Data page lists it; `current` marks the live dataset."""

    load_id: str
    loaded_at: datetime
    source: str  # the folder or upload, or "restore of <load_id>"
    files: tuple[SourceFileInfo, ...]  # empty for a generated dataset or an older database
    table_rows: dict[str, int]  # rows per contract table
    mapping_name: str | None
    current: bool


class LoadNotFoundError(LookupError):
    """A load id that is not among the kept loads."""


def history_dir(db_path: Path) -> Path:
    """The folder of earlier datasets: `<db_path>.history`."""
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + ".history")


def mappings_dir(db_path: Path) -> Path:
    """The folder of saved mappings: `<db_path>.mappings`."""
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + ".mappings")


# --- loads -------------------------------------------------------------------------------


def load_dataset(
    tables: Mapping[str, pl.DataFrame],
    db_path: Path,
    *,
    source: str,
    files: Sequence[SourceFileInfo],
    loaded_at: datetime,
    mapping_name: str | None = None,
    keep: int = DEFAULT_KEEP,
) -> LoadRecord:
    """Make these clean tables the live dataset at `db_path`, keeping the one it replaces.

    The tables must come from `kpi.validate.validate`. The load is atomic: readers see the
    old dataset or the new one, and an exception at any point changes nothing. The
    newest `keep` datasets, the live one included, are kept; older ones are deleted.
    """
    files = tuple(files)

    def fill(writer: store.DatasetWriter) -> Sequence[SourceFileInfo]:
        store.append_tables(writer, tables)
        return files

    record = load_streamed(db_path, fill, source=source, loaded_at=loaded_at, mapping_name=mapping_name, keep=keep)
    assert record is not None  # fill never abandons
    return record


def load_streamed(
    db_path: Path,
    fill: Callable[[store.DatasetWriter], Sequence[SourceFileInfo] | None],
    *,
    source: str,
    loaded_at: datetime,
    mapping_name: str | None = None,
    keep: int = DEFAULT_KEEP,
) -> LoadRecord | None:
    """Make the dataset `fill` writes the live one at `db_path`, keeping the one it replaces.

    `fill` gets a writer on a new database file and appends clean rows to it, a chunk at a
    time (kpi.ingest streams a folder so); it returns the source files to record, or None to
    abandon the load (refused data): then nothing has changed and None is returned. As
    `load_dataset`, the load is atomic and an exception at any point changes nothing. The
    folder's lock is held throughout, so loads never interleave.
    """
    _check_keep(keep)
    db_path = Path(db_path)
    loaded_at = _local_time(loaded_at)
    with _changing(db_path) as history, store.building(db_path, temp_dir=history.folder) as writer:
        files = fill(writer)
        if files is None:
            return None
        files = tuple(files)
        writer.finish(
            source=source,
            loaded_at=loaded_at,
            files=files,
            mapping_name=mapping_name,
            scenarios=_live_scenarios(db_path),
        )
        # Read only now (it raises for a file that is not one of ours): reading a database
        # costs memory, which is better not held while the rows stream through.
        preserved = _preserve_live(db_path, history.folder, loaded_at)
        try:
            os.replace(writer.path, db_path)
        except BaseException:
            _unlink(preserved)
            raise
        history.committed = True
        _prune(history.folder, keep, live_id=writer.dataset_id, live_source=source)
    return LoadRecord(
        load_id=writer.dataset_id,
        loaded_at=loaded_at,
        source=source,
        files=files,
        table_rows=dict(writer.rows),
        mapping_name=mapping_name,
        current=True,
    )


def list_loads(db_path: Path) -> list[LoadRecord]:
    """The live dataset (current=True) and the kept earlier ones, newest first.

    A database written before history was kept lists as the one current load. A live file
    that is not one of our databases (broken, or another program's) raises ValueError
    saying so; `kept_loads` still lists the rest.
    """
    db_path = Path(db_path)
    records: list[LoadRecord] = []
    seen: set[str] = set()
    if db_path.is_file():
        live = _described(db_path)
        records.append(_record(live, current=True))
        seen.add(live.dataset_id)
    return records + kept_loads(db_path, seen)


def kept_loads(db_path: Path, skip: set[str] | None = None) -> list[LoadRecord]:
    """The earlier datasets kept for `db_path`, newest first, without reading the live file
    (which may be the one that is broken)."""
    records: list[LoadRecord] = []
    seen = set(skip or ())
    for entry in _entries(history_dir(Path(db_path))):
        try:
            info = store.describe(entry)
        except (OSError, duckdb.Error, ValueError):
            continue  # deleted by a prune meanwhile, or not one of ours
        if info.dataset_id in seen:
            continue  # the live file, kept already: a crash came between keeping it and the swap
        seen.add(info.dataset_id)
        records.append(_record(info, current=False))
    return records


def restore(db_path: Path, load_id: str, *, restored_at: datetime, keep: int = DEFAULT_KEEP) -> LoadRecord:
    """Make a kept dataset live again, atomically, as a new load stamped `restored_at`.

    The dataset it replaces stays in the history. The new load has its own id, the
    source "restore of <load_id>" and the restored load's files, counts and mapping.
    An unknown `load_id` raises LoadNotFoundError and changes nothing.
    """
    _check_keep(keep)
    db_path = Path(db_path)
    restored_at = _local_time(restored_at)
    with _changing(db_path) as history:
        original = _find(db_path, history.folder, load_id)
        new_id = uuid.uuid4().hex
        work = history.folder / f".restore-{new_id}.tmp"
        preserved: Path | None = None
        try:
            shutil.copyfile(original, work)
            store.restamp(
                work,
                dataset_id=new_id,
                loaded_at=restored_at,
                source=f"{retention.RESTORE_PREFIX}{load_id}",
                scenarios=_live_scenarios(db_path),
            )
            restored = store.describe(work)
            preserved = _preserve_live(db_path, history.folder, restored_at)
            os.replace(work, db_path)
        except BaseException:
            _unlink(preserved)
            _unlink(work)
            raise
        history.committed = True
        _prune(history.folder, keep, live_id=new_id, live_source=restored.source)
    return _record(restored, current=True)


def replace_scenarios(db_path: Path, change: Callable[[pl.DataFrame], pl.DataFrame]) -> pl.DataFrame:
    """Replace the live file's saved scenarios with `change(the stored rows)`; return them.

    The rows are `store.SCENARIO_SCHEMA`. Like a load, atomic and never in place: the live
    file is copied under a temporary name, the copy's `scenarios` table rewritten and the
    copy renamed over the live file. So a reader holding the live file read-only (the app)
    keeps reading it undisturbed and sees the new scenarios on its next connection, kept
    history files (hard links of earlier live files) are never touched, and an exception
    from `change` or at any point changes nothing. The folder's lock is held from reading
    to renaming, so two changes (or a change and a load) never lose each other's work.
    The dataset keeps its id and no history entry is made: the data is the same.
    """
    db_path = Path(db_path)
    if not db_path.is_file():
        raise FileNotFoundError(f"no database at {db_path}")
    with _changing(db_path) as history:
        _described(db_path)  # refuse a file that is not one of ours
        rows = change(store.scenario_rows(db_path))
        work = history.folder / f".scenarios-{uuid.uuid4().hex}.tmp"
        try:
            shutil.copyfile(db_path, work)
            con = duckdb.connect(str(work))
            try:
                con.sql("begin transaction")
                store.write_scenario_rows(con, rows)
                con.sql("commit")
                con.sql("checkpoint")
            finally:
                con.close()
            os.replace(work, db_path)
        finally:
            _unlink(work)
        history.committed = True
    return rows


def _live_scenarios(db_path: Path) -> pl.DataFrame | None:
    """The live file's saved scenarios, to carry into the file replacing it (None: no live file,
    or not one of ours, which the swap then refuses with its own message)."""
    if not db_path.is_file():
        return None
    try:
        return store.scenario_rows(db_path)
    except duckdb.Error:
        return None


def _check_keep(keep: int) -> None:
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise ValueError(f"keep must be a whole number of at least 1 (the live dataset), not {keep!r}")


def _local_time(moment: datetime) -> datetime:
    """Load times are stored as naive local time, as the database reads them back."""
    return moment.astimezone().replace(tzinfo=None) if moment.tzinfo is not None else moment


def _record(info: store.DatasetInfo, *, current: bool) -> LoadRecord:
    return LoadRecord(
        load_id=info.dataset_id,
        loaded_at=info.loaded_at,
        source=info.source,
        files=info.files,
        table_rows=info.table_rows,
        mapping_name=info.mapping_name,
        current=current,
    )


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on `folder` (a lock on the folder itself: no lock file to clean up)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@dataclass
class _Change:
    folder: Path
    committed: bool = False


@contextmanager
def _changing(db_path: Path) -> Iterator[_Change]:
    """Lock the database's folder, make the history folder and clear stray work files.

    A history folder made for a change that then failed is removed again.
    """
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(db_path.parent):
        folder = history_dir(db_path)
        made = not folder.exists()
        folder.mkdir(exist_ok=True)
        change = _Change(folder)
        try:
            _clear_work_files(folder)
            yield change
        finally:
            if made and not change.committed:
                try:
                    folder.rmdir()
                except OSError:
                    pass  # not empty: it holds something worth keeping


def _clear_work_files(folder: Path) -> None:
    """Remove what a crashed change left: under the lock, no hidden file is in use."""
    for path in folder.iterdir():
        if path.name.startswith("."):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def _unlink(path: Path | None) -> None:
    if path is not None:
        path.unlink(missing_ok=True)
        Path(str(path) + ".wal").unlink(missing_ok=True)


def _entries(folder: Path) -> list[Path]:
    """The kept database files, newest first (hidden work files are not entries)."""
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if _ENTRY_RE.match(p.name)), key=retention.entry_number, reverse=True)


def _entry_key(path: Path) -> str:
    return path.name.split("-", 1)[1].removesuffix(".duckdb")


def _key(load_id: str) -> str:
    """The part of a kept file's name that names its load (ids are read from the file itself)."""
    if _SAFE_ID_RE.match(load_id):
        return load_id
    return hashlib.sha256(load_id.encode()).hexdigest()[:32]


def _preserve_live(db_path: Path, folder: Path, when: datetime) -> Path | None:
    """Keep the live file in the history before it is replaced; return the entry made, if any.

    A hard link costs nothing and shares the file, which is safe because the live file
    is never changed in place. The id is read from the kept file itself, so a file
    swapped in meanwhile is still named after what it holds. A broken live file is set
    aside (`kpi.retention`), stamped `when`.
    """
    if not db_path.is_file():
        return None
    try:
        live_id = _described(db_path).dataset_id
    except ValueError:
        if not retention.unreadable(db_path):
            raise  # not ours: never replaced
        retention.set_aside(db_path, folder, when)
        return None
    entries = _entries(folder)
    if any(_entry_key(e) == _key(live_id) for e in entries):
        return None
    work = folder / f".keep-{uuid.uuid4().hex}.tmp"
    try:
        _link_or_copy(db_path, work)
        kept_id = _described(work).dataset_id
        if any(_entry_key(e) == _key(kept_id) for e in entries):
            return None
        number = max((retention.entry_number(e) for e in entries), default=0) + 1
        entry = folder / f"{number:06d}-{_key(kept_id)}.duckdb"
        try:
            os.link(work, entry)  # fails rather than replaces if the name were taken
        except FileExistsError:
            raise
        except OSError:  # no hard links here: the work copy takes the name (under the lock: still free)
            os.replace(work, entry)
        return entry
    finally:
        work.unlink(missing_ok=True)


def _described(path: Path) -> store.DatasetInfo:
    try:
        return store.describe(path)
    except (duckdb.Error, ValueError) as exc:
        raise ValueError(
            f"{path} is not a Channel KPI Explorer database ({str(exc).splitlines()[0]}); "
            "it is left as it is: move it away or choose another database path"
        ) from None


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except FileExistsError:
        raise
    except OSError:  # no hard links on this file system, or not allowed: a copy it is
        shutil.copyfile(source, target)


def _prune(folder: Path, keep: int, *, live_id: str, live_source: str) -> None:
    """Delete the kept datasets beyond the newest `keep` - 1, never the only copy of one a
    restore made live again (`kpi.retention.prune_plan`)."""
    described: list[tuple[Path, str, str]] = []
    for entry in _entries(folder):
        try:
            info = store.describe(entry)
        except (OSError, duckdb.Error, ValueError):
            continue  # not one of ours: left alone
        described.append((entry, info.dataset_id, info.source))
    for entry in retention.prune_plan(described, keep, live_id=live_id, live_source=live_source):
        entry.unlink(missing_ok=True)


def _find(db_path: Path, folder: Path, load_id: str) -> Path:
    for entry in _entries(folder):
        if _entry_key(entry) == _key(load_id):
            try:
                if store.describe(entry).dataset_id == load_id:
                    return entry
            except (OSError, duckdb.Error, ValueError):
                continue
    if db_path.is_file() and _described(db_path).dataset_id == load_id:
        return db_path
    raise LoadNotFoundError(
        f"no load {load_id!r} is kept for {db_path}; the loads that can be restored are those list_loads shows"
    )


# --- saved mappings ----------------------------------------------------------------------


def save_mapping(db_path: Path, name: str, mapping_json: str) -> None:
    """Save a named mapping next to the data (replacing one of the same name).

    It survives new loads and restores. The name is trimmed; an empty or path-like
    name, or text that is not JSON, raises ValueError.
    """
    name = _mapping_name(name)
    try:
        json.loads(mapping_json)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the mapping {name!r} is not valid JSON: {exc}") from None
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(db_path.parent):
        folder = mappings_dir(db_path)
        folder.mkdir(exist_ok=True)
        _clear_work_files(folder)
        work = folder / f".{uuid.uuid4().hex}.tmp"
        try:
            with open(work, "w", encoding="utf-8") as out:
                json.dump({"name": name, "mapping": mapping_json}, out, ensure_ascii=False)
                out.flush()
                os.fsync(out.fileno())
            os.replace(work, _mapping_path(folder, name))
        finally:
            work.unlink(missing_ok=True)


def saved_mappings(db_path: Path) -> dict[str, str]:
    """Saved mappings, name -> the JSON text as saved, ordered by name."""
    folder = mappings_dir(Path(db_path))
    if not folder.is_dir():
        return {}
    found: dict[str, str] = {}
    for path in folder.glob("*.json"):
        if path.name.startswith("."):
            continue
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            name, text = saved["name"], saved["mapping"]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not a file this module wrote
        if isinstance(name, str) and isinstance(text, str):
            found[name] = text
    return dict(sorted(found.items(), key=lambda item: (item[0].casefold(), item[0])))


def delete_mapping(db_path: Path, name: str) -> None:
    """Delete a saved mapping; deleting a name that is not saved does nothing."""
    name = _mapping_name(name)
    db_path = Path(db_path)
    folder = mappings_dir(db_path)
    if not folder.is_dir():
        return
    with _locked(db_path.parent):
        _mapping_path(folder, name).unlink(missing_ok=True)


def _mapping_name(name: str) -> str:
    """The name as stored: trimmed, Unicode-normalised; refused when empty or path-like."""
    if not isinstance(name, str):
        raise ValueError(f"a mapping name is text, not {type(name).__name__}")
    cleaned = unicodedata.normalize("NFC", name).strip()
    if not cleaned:
        raise ValueError("a mapping needs a name")
    if cleaned in (".", "..") or "/" in cleaned or "\\" in cleaned:
        raise ValueError(f"mapping name {name!r} looks like a path: use a plain name without / or \\")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in cleaned):
        raise ValueError(f"mapping name {name!r} contains control characters or line breaks")
    if len(cleaned) > MAPPING_NAME_MAX:
        raise ValueError(f"a mapping name has at most {MAPPING_NAME_MAX} characters, not {len(cleaned)}")
    return cleaned


def _mapping_path(folder: Path, name: str) -> Path:
    """A file name safe on any file system: a readable part plus a hash of the exact name.

    The hash keeps names apart that differ only in case or in characters the readable
    part drops; the name itself is stored inside the file.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")[:40].strip("-") or "mapping"
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]
    return folder / f"{slug}-{digest}.json"
