"""What every `python -m kpi` command shares: the one-line usage error and the parser that
raises it, the view's flags, opening a database, and the view of the flags with its facts."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NoReturn

import duckdb
import polars as pl

from kpi import metrics
from kpi.params import PARAMS, ParamError, View, parse_view_strict
from kpi.schema import TABLE_NAMES
from kpi.store import connect, data_span

EXIT_OK = 0
EXIT_REFUSED = 2


class UsageError(Exception):
    """A bad command line: reported as one line, exit 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def add_view_arguments(sub: argparse.ArgumentParser) -> None:
    """`--db PATH` and one flag per view parameter (`--as-of`, `--window-days`, ...)."""
    sub.add_argument("--db", type=Path, required=True, metavar="PATH")
    for spec in PARAMS:
        sub.add_argument("--" + spec.name.replace("_", "-"), dest=spec.name, metavar="VALUE", help=spec.help)


def open_database(db: Path) -> duckdb.DuckDBPyConnection:
    """A connection to one of our databases, or a UsageError saying what the file is not."""
    try:
        con = connect(db)
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    except duckdb.Error as exc:
        raise UsageError(f"{db} is not a Channel KPI Explorer database: {str(exc).splitlines()[0]}") from None
    # A DuckDB file of another program opens fine but lacks our tables: say so, not a traceback.
    present = {row[0] for row in con.sql("select table_name from duckdb_tables()").fetchall()}
    missing = [name for name in (*TABLE_NAMES, "dataset") if name not in present]
    if missing:
        con.close()
        raise UsageError(f"{db} is not a Channel KPI Explorer database: no table {', '.join(missing)}")
    return con


def view_of(args: argparse.Namespace, con: duckdb.DuckDBPyConnection) -> View:
    """The view the flags describe; the as-of date defaults to the data's latest date."""
    raw = {spec.name: getattr(args, spec.name) for spec in PARAMS}
    span = data_span(con)
    if span is None and args.as_of is None:
        raise UsageError("the database has no dates to take the as-of date from; pass --as-of")
    try:
        return parse_view_strict(raw, None if span is None else span[1])
    except ParamError as exc:
        raise UsageError(
            "; ".join(f"--{p.name.replace('_', '-')} {p.value!r}: {p.message}" for p in exc.problems)
        ) from None


def view_and_facts(args: argparse.Namespace) -> tuple[View, pl.DataFrame]:
    """The view of the flags and the per-partner facts of its as-of date and window."""
    con = open_database(args.db)
    try:
        view = view_of(args, con)
        return view, metrics.partner_facts(con, view.as_of, view.window_days)
    finally:
        con.close()
