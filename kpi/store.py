"""The DuckDB file: written atomically, read through named SQL files.

A load writes a complete new database next to the target and renames it over
the old one, so a reader sees either the old dataset or the new one, never a
mix, and a failed load leaves the old file untouched. The live file is never
changed in place: every change is a new file renamed over it (kpi.history
relies on this to keep earlier files as hard links).

A load streams its rows into the new file a chunk at a time (`building`, `DatasetWriter`),
with DuckDB's memory kept small, so writing does not hold the dataset in memory.

Each database describes its own load: the `dataset` row (id, time, source,
mapping used) and `dataset_files` (the source files and their row counts). It also holds
the saved scenarios (`scenarios`), which are not the data's: a load or a restore carries
the live file's over (kpi.history, kpi.scenarios).
"""

from __future__ import annotations

import os
import queue
import shutil
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
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


# DuckDB while a load writes: the rows stream through it to the file a chunk at a time, so
# it needs little memory of its own (it spills to a work folder beside the new file when
# it needs more); one thread, the other core reads and checks the next chunk.
_WRITER_MEMORY_MB = 16
# Except the primary keys of partners, partner_users and deals: DuckDB holds the keys a
# transaction adds in memory until they are committed and checkpointed (an index entry
# plus the key itself, twice that while committing). So those tables are committed and
# checkpointed every _KEYS_PER_COMMIT keys, with room for them.
_PRIMARY_KEYS = {"partners": "partner_id", "partner_users": "user_id", "deals": "deal_id"}
_KEYS_PER_COMMIT = 100_000
_KEY_BYTES = 48  # a key's index entry besides the key itself
_MB = 1024 * 1024
_SLICE_ROWS = 100_000  # rows of an in-memory table handed to DuckDB at a time


class _ArrowStream:
    """A Polars frame as an Arrow C stream, which DuckDB reads without converting the
    whole frame first (a replacement scan of a Polars frame copies it to pyarrow)."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self._frame = frame

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        return self._frame.__arrow_c_stream__(requested_schema)


class DatasetWriter:
    """A new database file, filled a table at a time and a chunk at a time (see `building`).

    A table is written in one transaction (tables with a primary key: one every
    `_KEYS_PER_COMMIT` keys), so DuckDB writes its rows straight to the file instead of logging them
    first. Chunks of a table must come together; the tables may come in any order.
    `rows` counts the rows written per table.
    """

    def __init__(self, path: Path, dataset_id: str, spill_dir: Path) -> None:
        self.path = path
        self.dataset_id = dataset_id
        self.rows = dict.fromkeys(TABLE_NAMES, 0)
        self._table: str | None = None  # the table whose transaction is open
        self._keys = 0  # primary keys added in that transaction
        self._key_bytes = 0  # the memory their index may take
        self._limit_mb = _WRITER_MEMORY_MB
        self._con: duckdb.DuckDBPyConnection | None = duckdb.connect(
            str(path),
            config={
                "memory_limit": f"{_WRITER_MEMORY_MB}MB",
                "threads": 1,
                "preserve_insertion_order": False,
                # Flush each row group to the file as it fills (the default buffers five),
                # and hand memory back to the system after each statement.
                "write_buffer_row_group_count": 1,
                "allocator_flush_threshold": "4MB",
                "temp_directory": str(spill_dir),
            },
        )
        self._con.sql(sql_text("schema"))
        self._con.sql(sql_text("scenarios_table"))

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise RuntimeError(f"the database {self.path} is closed")
        return self._con

    def append(self, table: str, frame: pl.DataFrame) -> None:
        """Add these clean rows (kpi.validate's shape for `table`) to the table."""
        if table not in self.rows:
            raise ValueError(f"{table!r} is not one of the tables {', '.join(TABLE_NAMES)}")
        con = self._connection()
        if table != self._table or self._keys >= _KEYS_PER_COMMIT:
            self._commit()
            con.sql("begin transaction")
            self._table = table
        if table in _PRIMARY_KEYS and frame.height:
            key_lengths = frame.get_column(_PRIMARY_KEYS[table]).str.len_bytes()
            self._keys += frame.height
            self._key_bytes += 2 * (frame.height * _KEY_BYTES + int(key_lengths.sum() or 0))
            self._memory_limit(_WRITER_MEMORY_MB + -(-self._key_bytes // _MB))
        rows = _ArrowStream(frame)  # noqa: F841 - read by DuckDB's replacement scan below
        # Table names come from the contract, never from user input.
        con.sql("insert into " + table + " by name select * from rows")
        self.rows[table] += frame.height

    def _memory_limit(self, megabytes: int) -> None:
        if megabytes != self._limit_mb:
            # SET takes no bound parameters; the value is our own integer, never user text.
            self._connection().sql(f"set memory_limit = '{int(megabytes)}MB'")
            self._limit_mb = megabytes

    def _commit(self) -> None:
        if self._table is None:
            return
        con = self._connection()
        con.sql("commit")
        if self._keys:
            # Checkpointed, the index is on disk and DuckDB may let it go from memory.
            con.sql("checkpoint")
            self._keys = self._key_bytes = 0
            self._memory_limit(_WRITER_MEMORY_MB)
        self._table = None

    def finish(
        self,
        *,
        source: str,
        loaded_at: datetime,
        files: Sequence[SourceFileInfo] = (),
        mapping_name: str | None = None,
        scenarios: pl.DataFrame | None = None,
    ) -> None:
        """Record the load (the `dataset` row, its files) and the saved scenarios carried
        over (`scenario_rows` of the live file), checkpoint and close: the file is complete."""
        con = self._connection()
        self._commit()
        if scenarios is not None:
            write_scenario_rows(con, scenarios)
        con.sql(
            "insert into dataset (dataset_id, loaded_at, source, mapping_name) values ($id, $at, $source, $mapping)",
            params={"id": self.dataset_id, "at": loaded_at, "source": source, "mapping": mapping_name},
        )
        incoming_files = _ArrowStream(_files_frame(files))  # noqa: F841 - read by DuckDB's replacement scan below
        con.sql("insert into dataset_files by name select * from incoming_files")
        con.sql("checkpoint")
        self.close()

    def close(self) -> None:
        """Close the file (a transaction still open is abandoned); closing twice does nothing."""
        if self._con is not None:
            self._con.close()
            self._con = None


class BackgroundAppender:
    """Appends to a `DatasetWriter` made by a thread of their own, one chunk behind.

    DuckDB writes a chunk while the caller reads and checks the next one (both release
    Python's lock), so a streamed load takes about as long as the slower of the two, not
    their sum. At most one chunk waits. An error of the writer (a duplicate primary key,
    say) is raised by the next `append` or by `flush`; after it nothing more is written.
    `stop` must be called before the writer is finished or closed.
    """

    def __init__(self, writer: DatasetWriter) -> None:
        self.writer = writer
        self._queue: queue.Queue[tuple[str, pl.DataFrame] | None] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._abandoned = False
        self._thread = threading.Thread(target=self._run, name="kpi-dataset-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                if self._error is None and not self._abandoned:
                    self.writer.append(*item)
            except BaseException as exc:  # handed to the caller's thread
                self._error = exc
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            self._abandoned = True
            raise error

    def append(self, table: str, frame: pl.DataFrame) -> None:
        self._raise()
        self._queue.put((table, frame))

    def flush(self) -> None:
        """Wait until every chunk handed over is written; raise the writer's error, if any."""
        self._queue.join()
        self._raise()

    def stop(self) -> None:
        """End the thread: chunks still waiting are dropped (call `flush` first to write them)."""
        if self._thread.is_alive():
            self._abandoned = True
            self._queue.put(None)
            self._thread.join()


@contextmanager
def building(db_path: Path, *, temp_dir: Path | None = None) -> Iterator[DatasetWriter]:
    """A writer on a new database file under a temporary name beside `db_path`.

    The file is in `temp_dir` (default: the database's folder; it must be on the same
    file system), hidden, named after the new dataset id. Whatever happens inside, the
    work files are removed on the way out, so the caller must move a finished file
    (`os.replace(writer.path, db_path)`) before leaving.
    """
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    dataset_id = uuid.uuid4().hex
    tmp_path = Path(temp_dir or db_path.parent) / f".{db_path.name}.{dataset_id}.tmp"
    spill_dir = tmp_path.with_name(tmp_path.name + ".spill")
    writer: DatasetWriter | None = None
    try:
        writer = DatasetWriter(tmp_path, dataset_id, spill_dir)
        yield writer
    finally:
        if writer is not None:
            writer.close()
        for leftover in (tmp_path, tmp_path.with_name(tmp_path.name + ".wal")):
            leftover.unlink(missing_ok=True)
        shutil.rmtree(spill_dir, ignore_errors=True)


def append_tables(writer: DatasetWriter, tables: Mapping[str, pl.DataFrame]) -> None:
    """Write whole clean tables, a slice at a time (DuckDB converts one slice at a time)."""
    for name in TABLE_NAMES:
        frame = tables[name]
        for part in frame.iter_slices(_SLICE_ROWS) if frame.height else [frame]:
            writer.append(name, part)


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

    The tables must come from `kpi.validate.validate` (or `validate_frames`). `files`
    and `mapping_name` are recorded in the database as a description of the load.
    The new file is built under a temporary name in `temp_dir` (default: the
    database's folder; it must be on the same file system) and renamed over
    `db_path` only when complete.
    """
    db_path = Path(db_path)
    with building(db_path, temp_dir=temp_dir) as writer:
        append_tables(writer, tables)
        writer.finish(source=source, loaded_at=loaded_at, files=files, mapping_name=mapping_name)
        os.replace(writer.path, db_path)
    return writer.dataset_id


def restamp(
    path: Path, *, dataset_id: str, loaded_at: datetime, source: str, scenarios: pl.DataFrame | None = None
) -> None:
    """Give a copy of a database file a new identity as a new load (its data unchanged),
    with these saved scenarios (`scenario_rows`) instead of its own when given.

    Only for a private copy that no reader has open: the file is changed in place.
    """
    con = duckdb.connect(str(path))
    try:
        con.sql("begin transaction")
        con.sql(
            "update dataset set dataset_id = $id, loaded_at = $at, source = $source",
            params={"id": dataset_id, "at": loaded_at, "source": source},
        )
        if scenarios is not None:
            write_scenario_rows(con, scenarios)
        con.sql("commit")
        con.sql("checkpoint")
    finally:
        con.close()
    Path(str(path) + ".wal").unlink(missing_ok=True)


SCENARIO_SCHEMA: dict[str, pl.DataType] = {
    "name": pl.String(),
    "is_policy": pl.Boolean(),
    "min_trainings": pl.Int32(),
    "min_shares": pl.Int32(),
    "min_deals": pl.Int32(),
    "min_criteria": pl.Int32(),
    "reward_min_revenue": pl.Float64(),
    "drop_max_actions": pl.Int32(),
    "grace_days": pl.Int32(),
}
"""The columns of the `scenarios` table (kpi/sql/scenarios_table.sql)."""


def scenario_rows(db_path: Path) -> pl.DataFrame:
    """The saved scenarios of a database file as stored (`SCENARIO_SCHEMA`, by name).

    Read as the file is now (a fresh read-only attach). A file written before scenarios
    were stored has none: an empty frame, as has a missing file.
    """
    if not Path(db_path).is_file():
        return pl.DataFrame(schema=SCENARIO_SCHEMA)
    con = _attach(db_path, {"threads": 1, "memory_limit": "16MB", "allocator_flush_threshold": "4MB"})
    try:
        return _scenario_rows(con, _ATTACHED + ".main.scenarios")
    finally:
        con.close()


def connected_scenario_rows(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """`scenario_rows` read through a connection of `connect` (the dataset it opened)."""
    return _scenario_rows(con, "scenarios")


def _scenario_rows(con: duckdb.DuckDBPyConnection, table: str) -> pl.DataFrame:
    columns = ", ".join(SCENARIO_SCHEMA)
    try:
        # The table name is ours (a constant above), never user input.
        rows = con.sql(f"select {columns} from {table} order by name").pl()
    except duckdb.CatalogException:  # an older file: no scenarios stored
        return pl.DataFrame(schema=SCENARIO_SCHEMA)
    return rows.cast(SCENARIO_SCHEMA)  # type: ignore[arg-type]


def write_scenario_rows(con: duckdb.DuckDBPyConnection, rows: pl.DataFrame) -> None:
    """Make `rows` (`SCENARIO_SCHEMA`) the whole `scenarios` table of a file open read-write
    (creating the table in an older file). Inside the caller's transaction, if any."""
    con.sql(sql_text("scenarios_table"))
    con.sql("delete from scenarios")
    incoming_scenarios = _ArrowStream(rows.select(list(SCENARIO_SCHEMA)).cast(SCENARIO_SCHEMA))  # noqa: F841 - read by DuckDB below
    con.sql("insert into scenarios by name select * from incoming_scenarios")


def _attach(db_path: Path, config: Mapping[str, object] | None = None) -> duckdb.DuckDBPyConnection:
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
    con = duckdb.connect(":memory:", config={"temp_directory": str(db_path) + ".tmp", **(config or {})})
    try:
        con.sql("attach $path as " + _ATTACHED + " (read_only)", params={"path": str(db_path)})
    except BaseException:
        con.close()
        raise
    return con


def connect(db_path: Path) -> duckdb.DuckDBPyConnection:
    """Open the database read-only (many readers may share the file).

    The connection keeps reading the dataset that was live when it opened, also
    after a load replaced the file; a new connection reads the new dataset. It has
    the shared rules of kpi/sql/macros.sql (`in_program`, `deal_value`, ...), also
    in its cursors, which every query in kpi/sql uses.
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
        con.sql(sql_text("macros"))
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
    # A few small reads: a lean instance, so a load that checks the live file stays small.
    con = _attach(db_path, {"threads": 1, "memory_limit": "16MB", "allocator_flush_threshold": "4MB"})
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
