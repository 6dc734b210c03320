"""The DuckDB file: written atomically, read through named SQL files.

A load writes a complete new database next to the target and renames it over
the old one, so a reader sees either the old dataset or the new one, never a
mix, and a failed load leaves the old file untouched. The live file is never
changed in place: every change is a new file renamed over it (kpi.history
relies on this to keep earlier files as hard links).

Each database describes its own load: the `dataset` row (id, time, source,
mapping used) and `dataset_files` (the source files and their row counts).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from kpi.schema import TABLE_NAMES

SQL_DIR = Path(__file__).parent / "sql"

# The catalog name a database file is attached under when read (see `connect`).
_ATTACHED = "kpi_data"


@dataclass(frozen=True)
class SourceFileInfo:
    """One file a dataset was loaded from: its name, the table it filled, its data rows."""

    name: str
    table: str
    rows: int


@dataclass(frozen=True)
class DatasetInfo:
    """What a database file says about its own load."""

    dataset_id: str
    loaded_at: datetime
    source: str
    files: tuple[SourceFileInfo, ...]  # empty for a database written before files were recorded
    table_rows: dict[str, int]  # rows per contract table
    mapping_name: str | None


@cache
def sql_text(name: str) -> str:
    """The text of kpi/sql/<name>.sql."""
    return (SQL_DIR / f"{name}.sql").read_text()


def query(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> pl.DataFrame:
    """Run the named query with bound parameters and return a Polars frame."""
    return con.sql(sql_text(name), params=params or None).pl()


def _files_frame(files: Sequence[SourceFileInfo]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "file_no": list(range(1, len(files) + 1)),
            "file_name": [f.name for f in files],
            "table_name": [f.table for f in files],
            "row_count": [int(f.rows) for f in files],
        },
        schema={"file_no": pl.Int32, "file_name": pl.String, "table_name": pl.String, "row_count": pl.Int64},
    )


def build_database(
    tables: Mapping[str, pl.DataFrame],
    path: Path,
    *,
    dataset_id: str,
    source: str,
    loaded_at: datetime,
    files: Sequence[SourceFileInfo] = (),
    mapping_name: str | None = None,
) -> None:
    """Write a complete, checkpointed database file at `path` (which must not exist yet)."""
    con = duckdb.connect(str(path))
    try:
        con.sql(sql_text("schema"))
        for name in TABLE_NAMES:
            incoming = tables[name]  # noqa: F841 - read by DuckDB's replacement scan below
            # Table names come from the contract, never from user input.
            con.sql("insert into " + name + " by name select * from incoming")
        con.sql(
            "insert into dataset (dataset_id, loaded_at, source, mapping_name) values ($id, $at, $source, $mapping)",
            params={"id": dataset_id, "at": loaded_at, "source": source, "mapping": mapping_name},
        )
        incoming_files = _files_frame(files)  # noqa: F841 - read by DuckDB's replacement scan below
        con.sql("insert into dataset_files by name select * from incoming_files")
        con.sql("checkpoint")
    finally:
        con.close()


def write_dataset(
    tables: Mapping[str, pl.DataFrame],
    db_path: Path,
    *,
    source: str,
    loaded_at: datetime,
    files: Sequence[SourceFileInfo] = (),
    mapping_name: str | None = None,
    temp_dir: Path | None = None,
) -> str:
    """Replace the database at `db_path` with these clean tables; return the dataset id.

    The tables must come from `kpi.load.validate` (or `validate_frames`). `files`
    and `mapping_name` are recorded in the database as a description of the load.
    The new file is built under a temporary name in `temp_dir` (default: the
    database's folder; it must be on the same file system) and renamed over
    `db_path` only when complete.
    """
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    dataset_id = uuid.uuid4().hex
    tmp_path = Path(temp_dir or db_path.parent) / f".{db_path.name}.{dataset_id}.tmp"
    try:
        build_database(
            tables,
            tmp_path,
            dataset_id=dataset_id,
            source=source,
            loaded_at=loaded_at,
            files=files,
            mapping_name=mapping_name,
        )
        os.replace(tmp_path, db_path)
    finally:
        for leftover in (tmp_path, tmp_path.with_name(tmp_path.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return dataset_id


def restamp(path: Path, *, dataset_id: str, loaded_at: datetime, source: str) -> None:
    """Give a copy of a database file a new identity as a new load (its data unchanged).

    Only for a private copy that no reader has open: the file is changed in place.
    """
    con = duckdb.connect(str(path))
    try:
        con.sql(
            "update dataset set dataset_id = $id, loaded_at = $at, source = $source",
            params={"id": dataset_id, "at": loaded_at, "source": source},
        )
        con.sql("checkpoint")
    finally:
        con.close()
    Path(str(path) + ".wal").unlink(missing_ok=True)


def _attach(db_path: Path) -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB with the file attached read-only as `kpi_data`.

    DuckDB shares one database instance per path inside a process: a plain
    `duckdb.connect(path)` while an older connection is still open returns that
    older instance, which keeps reading the file that was replaced. Attaching to
    a fresh in-memory instance always opens the file as it is now.
    """
    if not Path(db_path).is_file():
        raise FileNotFoundError(
            f"no database at {db_path}; create one with 'python -m kpi load' or 'python -m kpi demo'"
        )
    # Spill files (large queries) go next to the database, as DuckDB does for a file database.
    con = duckdb.connect(":memory:", config={"temp_directory": str(db_path) + ".tmp"})
    try:
        con.sql("attach $path as " + _ATTACHED + " (read_only)", params={"path": str(db_path)})
    except BaseException:
        con.close()
        raise
    return con


def connect(db_path: Path) -> duckdb.DuckDBPyConnection:
    """Open the database read-only (many readers may share the file).

    The connection keeps reading the dataset that was live when it opened, also
    after a load replaced the file; a new connection reads the new dataset.
    """
    con = _attach(db_path)
    try:
        names = con.sql(
            "select table_name from duckdb_tables() where database_name = $db and schema_name = 'main'",
            params={"db": _ATTACHED},
        ).fetchall()
        # Views in the connection's own catalog make the file's tables readable unqualified,
        # also from `con.cursor()` (a cursor does not inherit `USE`).
        for (name,) in names:
            quoted = '"' + str(name).replace('"', '""') + '"'
            con.sql("create view main." + quoted + " as select * from " + _ATTACHED + ".main." + quoted)
    except BaseException:
        con.close()
        raise
    return con


def dataset_id(con: duckdb.DuckDBPyConnection) -> str:
    """The id of the loaded dataset: a new value after every load."""
    rows = con.sql("select dataset_id from dataset").fetchall()
    return str(rows[0][0]) if rows else ""


def describe(db_path: Path) -> DatasetInfo:
    """The load a database file records about itself (older files: no file list, no mapping)."""
    con = _attach(db_path)
    try:
        dataset = con.sql("select * from " + _ATTACHED + ".main.dataset").pl()
        if dataset.height != 1:
            raise ValueError(f"{db_path} records {dataset.height} loads in its dataset table, not one")
        row = dataset.row(0, named=True)
        try:
            listed = con.sql(
                "select file_name, table_name, row_count from " + _ATTACHED + ".main.dataset_files order by file_no"
            ).fetchall()
        except duckdb.CatalogException:  # written before source files were recorded
            listed = []
        # Table names come from the contract, never from user input.
        counts = con.sql(
            " union all ".join(
                f"select '{name}' as table_name, count(*) as row_count from {_ATTACHED}.main.{name}"
                for name in TABLE_NAMES
            )
        ).fetchall()
    finally:
        con.close()
    return DatasetInfo(
        dataset_id=str(row["dataset_id"]),
        loaded_at=row["loaded_at"],
        source=str(row["source"]),
        files=tuple(SourceFileInfo(str(name), str(table), int(rows)) for name, table, rows in listed),
        table_rows={str(name): int(rows) for name, rows in counts},
        mapping_name=row.get("mapping_name"),
    )


def data_span(con: duckdb.DuckDBPyConnection) -> tuple[date, date] | None:
    """(first date, default as-of date) of the data, or None for an empty dataset.

    SPEC: the default as-of date is the latest activity or deal date in the data.
    """
    row = query(con, "data_span").row(0, named=True)
    if row["default_as_of"] is None:
        return None
    return row["first_date"], row["default_as_of"]
