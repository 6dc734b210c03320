"""The DuckDB file: written atomically, read through named SQL files.

A load writes a complete new database next to the target and renames it over
the old one, so a reader sees either the old dataset or the new one, never a
mix, and a failed load leaves the old file untouched.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from kpi.schema import TABLE_NAMES

SQL_DIR = Path(__file__).parent / "sql"


@cache
def sql_text(name: str) -> str:
    """The text of kpi/sql/<name>.sql."""
    return (SQL_DIR / f"{name}.sql").read_text()


def query(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> pl.DataFrame:
    """Run the named query with bound parameters and return a Polars frame."""
    return con.sql(sql_text(name), params=params or None).pl()


def write_dataset(
    tables: Mapping[str, pl.DataFrame],
    db_path: Path,
    *,
    source: str,
    loaded_at: datetime,
) -> str:
    """Replace the database at `db_path` with these clean tables; return the dataset id.

    The tables must come from `kpi.load.validate` (or `validate_frames`).
    """
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    dataset_id = uuid.uuid4().hex
    tmp_path = db_path.with_name(f".{db_path.name}.{dataset_id}.tmp")
    try:
        con = duckdb.connect(str(tmp_path))
        try:
            con.sql(sql_text("schema"))
            for name in TABLE_NAMES:
                incoming = tables[name]  # noqa: F841 - read by DuckDB's replacement scan below
                # Table names come from the contract, never from user input.
                con.sql("insert into " + name + " by name select * from incoming")
            con.sql(
                "insert into dataset values ($id, $at, $source)",
                params={"id": dataset_id, "at": loaded_at, "source": source},
            )
            con.sql("checkpoint")
        finally:
            con.close()
        os.replace(tmp_path, db_path)
    finally:
        for leftover in (tmp_path, tmp_path.with_name(tmp_path.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return dataset_id


def connect(db_path: Path) -> duckdb.DuckDBPyConnection:
    """Open the database read-only (many readers may share the file)."""
    if not Path(db_path).is_file():
        raise FileNotFoundError(
            f"no database at {db_path}; create one with 'python -m kpi load' or 'python -m kpi demo'"
        )
    return duckdb.connect(str(db_path), read_only=True)


def dataset_id(con: duckdb.DuckDBPyConnection) -> str:
    """The id of the loaded dataset: a new value after every load."""
    row = con.sql("select dataset_id from dataset").fetchone()
    return str(row[0]) if row else ""


def data_span(con: duckdb.DuckDBPyConnection) -> tuple[date, date] | None:
    """(first date, default as-of date) of the data, or None for an empty dataset.

    SPEC: the default as-of date is the latest activity or deal date in the data.
    """
    row = query(con, "data_span").row(0, named=True)
    if row["default_as_of"] is None:
        return None
    return row["first_date"], row["default_as_of"]
