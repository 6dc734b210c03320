"""`python -m kpi`: the engine without the UI (SPEC "Headless interface").

    python -m kpi load SRC_DIR --db PATH
    python -m kpi demo --db PATH [--partners N] [--seed S]
    python -m kpi segment --db PATH [params] [--format csv|json]
    python -m kpi summary --db PATH [params]

Bad arguments and refused data exit with status 2 and a readable message on
stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import NoReturn

import duckdb
import polars as pl

from kpi import metrics
from kpi.load import read_dataset, validate_frames
from kpi.params import PARAMS, ParamError, View, parse_view_strict
from kpi.schema import TABLE_NAMES
from kpi.store import connect, data_span, write_dataset

EXIT_OK = 0
EXIT_REFUSED = 2
PROBLEMS_SHOWN = 200


class UsageError(Exception):
    """A bad command line: reported as one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m kpi", description="Channel KPI Explorer engine, headless.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    load = commands.add_parser("load", help="validate the five tables in SRC_DIR and load them")
    load.add_argument("src_dir", type=Path, metavar="SRC_DIR")
    load.add_argument("--db", type=Path, required=True, metavar="PATH")
    load.add_argument(
        "--problems-csv",
        type=Path,
        metavar="FILE",
        help="also write every problem to this CSV",
    )

    demo = commands.add_parser("demo", help="write the demo dataset")
    demo.add_argument("--db", type=Path, required=True, metavar="PATH")
    demo.add_argument("--partners", type=_positive_int, default=300, metavar="N")
    demo.add_argument("--seed", type=_non_negative_int, default=7, metavar="S")

    for name, help_text in (
        (
            "segment",
            "one row per partner of the population: tier, activation, behaviours, money",
        ),
        ("summary", "the program summary as one JSON object"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--db", type=Path, required=True, metavar="PATH")
        for spec in PARAMS:
            sub.add_argument(
                "--" + spec.name.replace("_", "-"),
                dest=spec.name,
                metavar="VALUE",
                help=spec.help,
            )
        if name == "segment":
            sub.add_argument("--format", choices=("csv", "json"), default="csv")
    return parser


def _non_negative_int(text: str) -> int:
    # The demo's random generator takes seeds of 0 and up only.
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def _open(db: Path) -> duckdb.DuckDBPyConnection:
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


def _view(args: argparse.Namespace, con: duckdb.DuckDBPyConnection) -> View:
    raw = {spec.name: getattr(args, spec.name) for spec in PARAMS}
    try:
        view = parse_view_strict(raw)
    except ParamError as exc:
        raise UsageError(
            "; ".join(f"--{p.name.replace('_', '-')} {p.value!r}: {p.message}" for p in exc.problems)
        ) from None
    if view.as_of is None:
        span = data_span(con)
        if span is None:
            raise UsageError("the database has no dates to take the as-of date from; pass --as-of")
        view = view.resolved(span[1])
    return view


def _segmented(args: argparse.Namespace) -> tuple[View, pl.DataFrame]:
    con = _open(args.db)
    try:
        view = _view(args, con)
        facts = metrics.partner_facts(con, view.require_as_of(), view.window_days)
    finally:
        con.close()
    return view, metrics.segment(facts, view)


def _cmd_segment(args: argparse.Namespace, out: io.TextIOBase) -> int:
    _, segmented = _segmented(args)
    table = segmented.select(metrics.SEGMENT_COLUMNS)
    if args.format == "json":
        out.write(json.dumps(table.to_dicts(), default=str, indent=None) + "\n")
    else:
        out.write(table.write_csv())
    return EXIT_OK


def _cmd_summary(args: argparse.Namespace, out: io.TextIOBase) -> int:
    view, segmented = _segmented(args)
    out.write(json.dumps(metrics.summarize(segmented, view), indent=2) + "\n")
    return EXIT_OK


def _report_problems(
    validation_problems: pl.DataFrame,
    lines: list[str],
    counts: pl.DataFrame,
    err: io.TextIOBase,
) -> None:
    total = validation_problems.height
    err.write(f"refused: {total} problem(s); the database was not changed\n")
    for line in lines:
        err.write(f"  {line}\n")
    if total > len(lines):
        err.write(f"  ... and {total - len(lines)} more (write them all with --problems-csv FILE)\n")
    err.write("problems by kind:\n")
    for row in counts.iter_rows(named=True):
        err.write(f"  {row['count']:>8}  {row['file']} / {row['column'] or '(file)'}: {row['problem']}\n")


def _cmd_load(args: argparse.Namespace, out: io.TextIOBase, err: io.TextIOBase) -> int:
    validation = read_dataset(args.src_dir)
    for warning in validation.warnings:
        err.write(f"warning: {warning}\n")
    if not validation.ok:
        if args.problems_csv:
            validation.problems.write_csv(args.problems_csv)
        _report_problems(
            validation.problems,
            validation.problem_lines(PROBLEMS_SHOWN),
            validation.problem_counts(),
            err,
        )
        return EXIT_REFUSED
    write_dataset(validation.tables, args.db, source=str(args.src_dir), loaded_at=datetime.now())
    counts = ", ".join(f"{name} {frame.height}" for name, frame in validation.tables.items())
    out.write(f"loaded {args.db}: {counts}\n")
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace, out: io.TextIOBase, err: io.TextIOBase) -> int:
    from kpi.demo import generate  # only the demo command needs numpy

    validation = validate_frames(generate(args.partners, args.seed))
    if not validation.ok:  # a bug in the generator, not a user error: say so plainly
        _report_problems(
            validation.problems,
            validation.problem_lines(20),
            validation.problem_counts(),
            err,
        )
        return EXIT_REFUSED
    write_dataset(
        validation.tables,
        args.db,
        source=f"demo partners={args.partners} seed={args.seed}",
        loaded_at=datetime.now(),
    )
    counts = ", ".join(f"{name} {frame.height}" for name, frame in validation.tables.items())
    out.write(f"wrote demo data to {args.db}: {counts}\n")
    return EXIT_OK


def main(
    argv: Sequence[str] | None = None,
    out: io.TextIOBase | None = None,
    err: io.TextIOBase | None = None,
) -> int:
    out = out or sys.stdout  # type: ignore[assignment]
    err = err or sys.stderr  # type: ignore[assignment]
    assert out is not None and err is not None
    try:
        args = _build_parser().parse_args(argv)
        if args.command == "load":
            return _cmd_load(args, out, err)
        if args.command == "demo":
            return _cmd_demo(args, out, err)
        if args.command == "segment":
            return _cmd_segment(args, out)
        return _cmd_summary(args, out)
    except UsageError as exc:
        err.write(f"error: {exc}\n")
        return EXIT_REFUSED
    except OSError as exc:
        err.write(f"error: {exc.strerror or exc}: {exc.filename or ''}\n".replace(": \n", "\n"))
        return EXIT_REFUSED
