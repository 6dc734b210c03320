"""`python -m kpi`: the engine without the UI (SPEC "Headless interface").

    python -m kpi load SRC_DIR --db PATH [--mapping FILE] [--problems-csv FILE]
    python -m kpi suggest-mapping SRC_DIR --out FILE [--name NAME]
    python -m kpi demo --db PATH [--partners N] [--seed S]
    python -m kpi segment --db PATH [params] [--format csv|json]
    python -m kpi summary --db PATH [params]
    python -m kpi report --db PATH [params] --page PAGE [--partner ID] [--engagement-min-logins N] [--base QUERY]
    python -m kpi compare | sensitivity | suggest | scenarios ...   (kpi/cli_whatif.py)
    python -m kpi export ...   (kpi/cli_review.py)

`report` prints, as one JSON object, every headline number of one page of the app
(overview, tiers, roi, recurring, engagement or scorecard) for the view: the same
numbers the page shows, from the same functions (kpi.report). `--partner` picks the
scorecard's partner (default: the first by name); `--engagement-min-logins` is the
Engagement page's look-busy threshold (default 10). Overview's and Tiers' reports also
hold the what-if against `--base` (written as for `compare`; default `scenario=policy`, the
base the app compares with unless another is chosen).

Bad arguments and refused data exit with status 2 and a readable message on
stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import polars as pl

from kpi import cli_review, cli_whatif, engagement, export, history, metrics, report
from kpi.cli_common import (
    EXIT_OK,
    EXIT_REFUSED,
    Parser,
    UsageError,
    add_view_arguments,
    open_database,
    view_and_facts,
    view_of,
)
from kpi.ingest import load_folder, load_mapped
from kpi.mapping import FileMapping, Mapping, MappingError
from kpi.params import View, parse_value
from kpi.read import read_source, readable_files
from kpi.source import SourceError
from kpi.suggest import guess_table, suggest
from kpi.validate import validate_frames

PROBLEMS_SHOWN = 200


def _build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m kpi", description="Channel KPI Explorer engine, headless.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    load = commands.add_parser("load", help="validate the five tables in SRC_DIR and load them")
    load.add_argument("src_dir", type=Path, metavar="SRC_DIR")
    load.add_argument("--db", type=Path, required=True, metavar="PATH")
    load.add_argument(
        "--problems-csv",
        type=Path,
        metavar="FILE",
        help="also write every problem to this CSV",
    )
    load.add_argument(
        "--mapping",
        type=Path,
        metavar="FILE",
        help="read exports in their own column names through this mapping (see docs/mapping.md)",
    )

    starter = commands.add_parser(
        "suggest-mapping", help="write a starter mapping for the exports in SRC_DIR, to edit and use with load"
    )
    starter.add_argument("src_dir", type=Path, metavar="SRC_DIR")
    starter.add_argument("--out", type=Path, required=True, metavar="FILE")
    starter.add_argument("--name", metavar="NAME", help="the mapping's name (default: the folder's name)")

    loads = commands.add_parser("history", help="list the loads kept for a database, newest first (* = live)")
    loads.add_argument("--db", type=Path, required=True, metavar="PATH")
    restore = commands.add_parser("restore", help="make an earlier load the live data again")
    restore.add_argument("load_id", metavar="LOAD_ID")
    restore.add_argument("--db", type=Path, required=True, metavar="PATH")

    demo = commands.add_parser("demo", help="write the demo dataset")
    demo.add_argument("--db", type=Path, required=True, metavar="PATH")
    demo.add_argument("--partners", type=_int_at_least(1), default=300, metavar="N")
    demo.add_argument("--seed", type=_int_at_least(0), default=7, metavar="S")

    segment = commands.add_parser(
        "segment", help="one row per partner of the population: tier, activation, behaviours, money"
    )
    add_view_arguments(segment)
    segment.add_argument("--format", choices=("csv", "json"), default="csv")
    add_view_arguments(commands.add_parser("summary", help="the program summary as one JSON object"))
    page = commands.add_parser("report", help="every headline number of one page of the app as one JSON object")
    add_view_arguments(page)
    page.add_argument("--page", type=_page, required=True, metavar="PAGE", help=" | ".join(report.PAGES))
    page.add_argument("--partner", metavar="ID", help="the scorecard's partner (default: the first by name)")
    page.add_argument(
        "--engagement-min-logins",
        dest="engagement_min_logins",
        metavar="N",
        help=f"the Engagement page's look-busy logins (default {engagement.MIN_LOGINS_DEFAULT})",
    )
    page.add_argument(
        "--base",
        metavar="QUERY",
        help="overview and tiers: the what-if's base, as for compare (default scenario=policy)",
    )
    cli_whatif.add_parsers(commands)
    cli_review.add_parsers(commands)
    return parser


def _page(text: str) -> str:
    """An argparse type: one of the app's pages."""
    if text not in report.PAGES:
        raise argparse.ArgumentTypeError(f"no page {text!r}; choose one of {', '.join(report.PAGES)}")
    return text


def _int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more: {text!r}")
        return value

    return parse


def _segmented(args: argparse.Namespace) -> tuple[View, pl.DataFrame]:
    view, facts = view_and_facts(args)
    return view, metrics.segment(facts, view)


def _cmd_segment(args: argparse.Namespace, out: io.TextIOBase) -> int:
    _, segmented = _segmented(args)
    table = segmented.select(metrics.SEGMENT_COLUMNS)
    if args.format == "json":
        out.write(json.dumps(table.to_dicts(), default=str, indent=None) + "\n")
    else:
        out.write(export.csv_text(table))  # a name like "=1+1" must not run in a spreadsheet
    return EXIT_OK


def _cmd_summary(args: argparse.Namespace, out: io.TextIOBase) -> int:
    view, segmented = _segmented(args)
    out.write(json.dumps(metrics.summarize(segmented, view), indent=2) + "\n")
    return EXIT_OK


def _cmd_report(args: argparse.Namespace, out: io.TextIOBase) -> int:
    if args.partner is not None and args.page != "scorecard":
        raise UsageError("--partner is for --page scorecard only")
    min_logins = engagement.MIN_LOGINS_DEFAULT
    if args.engagement_min_logins is not None:
        if args.page != "engagement":
            raise UsageError("--engagement-min-logins is for --page engagement only")
        try:
            min_logins = int(parse_value(engagement.MIN_LOGINS, args.engagement_min_logins))  # type: ignore[arg-type]
        except ValueError as exc:
            raise UsageError(f"--engagement-min-logins {args.engagement_min_logins!r}: {exc}") from None
    if args.base is not None and args.page not in ("overview", "tiers"):
        raise UsageError("--base is for --page overview or tiers only")
    con = open_database(args.db)
    try:
        view = view_of(args, con)
        base = None
        if args.page in ("overview", "tiers"):
            args.base = "scenario=policy" if args.base is None else args.base
            base = cli_whatif.base_view(args, con)
        numbers = report.page_report(
            con, view, args.page, partner_id=args.partner, min_logins=min_logins, base_view=base
        )
    except report.UnknownPartnerError as exc:
        raise UsageError(f"--partner: {exc}") from None
    finally:
        con.close()
    out.write(json.dumps(numbers, indent=2) + "\n")
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


def _read_mapping(path: Path) -> Mapping:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not a UTF-8 text file") from None
    try:
        return Mapping.from_json(text)
    except MappingError as exc:
        raise UsageError(f"{path}: {exc}") from None


def _cmd_load(args: argparse.Namespace, out: io.TextIOBase, err: io.TextIOBase) -> int:
    # Streamed: each file is read, checked and written a chunk at a time (kpi.ingest.load_folder).
    try:
        if args.mapping is not None:
            loaded = load_mapped(args.src_dir, _read_mapping(args.mapping), args.db, loaded_at=args.started_at)
        else:
            loaded = load_folder(args.src_dir, args.db, loaded_at=args.started_at)
    except ValueError as exc:  # e.g. db is a file that is not one of our databases
        raise UsageError(str(exc)) from None
    validation = loaded.validation
    for warning in validation.warnings:
        err.write(f"warning: {warning}\n")
    if loaded.record is None:
        if args.problems_csv:
            export.safe_for_spreadsheets(validation.problems).write_csv(args.problems_csv)
        _report_problems(
            validation.problems,
            validation.problem_lines(PROBLEMS_SHOWN),
            validation.problem_counts(),
            err,
        )
        return EXIT_REFUSED
    counts = ", ".join(f"{name} {rows}" for name, rows in loaded.record.table_rows.items())
    out.write(f"loaded {args.db}: {counts} (the previous data is kept: python -m kpi history --db {args.db})\n")
    return EXIT_OK


def _load(tables: dict[str, pl.DataFrame], db: Path, loaded_at: datetime, **kwargs: object) -> None:
    """Load through the history, so the dataset replaced stays restorable."""
    try:
        history.load_dataset(tables, db, loaded_at=loaded_at, **kwargs)  # type: ignore[arg-type]
    except ValueError as exc:  # e.g. db is a file that is not one of our databases
        raise UsageError(str(exc)) from None


def _cmd_history(args: argparse.Namespace, out: io.TextIOBase) -> int:
    if not args.db.is_file():
        raise UsageError(f"no database at {args.db}" + (" (it is a folder)" if args.db.is_dir() else ""))
    try:
        loads, broken = history.list_loads(args.db), None
    except ValueError as exc:  # the live file is not readable: the kept loads still are
        loads, broken = history.kept_loads(args.db), str(exc)
    for load in loads:
        rows = ", ".join(f"{table} {count}" for table, count in load.table_rows.items())
        mark = "*" if load.current else " "
        out.write(f"{mark} {load.load_id}  {load.loaded_at:%Y-%m-%d %H:%M:%S}  {load.source}  ({rows})\n")
    if broken is not None:
        raise UsageError(broken + ("; the loads above can be restored" if loads else ""))
    return EXIT_OK


def _cmd_restore(args: argparse.Namespace, out: io.TextIOBase) -> int:
    if not args.db.exists():
        raise UsageError(f"no database at {args.db}")
    try:
        record = history.restore(args.db, args.load_id, restored_at=args.started_at)
    except history.LoadNotFoundError:
        raise UsageError(f"no load {args.load_id!r} in the history of {args.db}; see python -m kpi history") from None
    out.write(f"restored {args.load_id} as the live data of {args.db} (new load {record.load_id})\n")
    return EXIT_OK


def _cmd_suggest_mapping(args: argparse.Namespace, out: io.TextIOBase, err: io.TextIOBase) -> int:
    if not args.src_dir.is_dir():
        raise UsageError(f"{args.src_dir} is not a folder")
    if args.out.exists():
        raise UsageError(f"{args.out} exists; choose another --out or remove it (a mapping may hold your edits)")
    files: list[FileMapping] = []
    for path in readable_files(args.src_dir):
        try:
            source = read_source(path.name, path)
        except SourceError as exc:
            err.write(f"skipped {exc}\n")
            continue
        table = guess_table(source)
        if table is None:
            err.write(f"skipped {path.name}: its headers do not look like any of the five tables\n")
            continue
        table_mapping = suggest(source, table)
        files.append(FileMapping(path.name, source.headers, source.header_row, source.delimiter, table_mapping))
        mapped = ", ".join(f"{c} <- {' + '.join(s)}" for c, s in table_mapping.columns.items())
        fixed = "".join(f", {c} = {v!r}" for c, v in table_mapping.constants.items())
        out.write(f"{path.name} -> {table}: {mapped}{fixed}\n")
        for column in table_mapping.unmapped_required():
            out.write(
                f"  {column} is required and not mapped: map a column to it or set a constant for it in the mapping\n"
            )
    if not files:
        raise UsageError(f"no file in {args.src_dir} looks like one of the five tables")
    name = args.name or args.src_dir.resolve().name or "my exports"
    args.out.write_text(Mapping(name, tuple(files)).to_json(), encoding="utf-8")
    out.write(
        f"wrote {args.out}: check it, then run python -m kpi load {args.src_dir} --db PATH --mapping {args.out}\n"
    )
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace, out: io.TextIOBase, err: io.TextIOBase) -> int:
    from kpi.demo import generate, source_text  # only the demo command needs numpy

    validation = validate_frames(generate(args.partners, args.seed))
    if not validation.ok:  # a bug in the generator, not a user error: say so plainly
        _report_problems(
            validation.problems,
            validation.problem_lines(20),
            validation.problem_counts(),
            err,
        )
        return EXIT_REFUSED
    _load(
        validation.tables,
        args.db,
        args.started_at,
        source=source_text(args.partners, args.seed),
        files=[],
    )
    counts = ", ".join(f"{name} {frame.height}" for name, frame in validation.tables.items())
    out.write(f"wrote demo data to {args.db}: {counts}\n")
    return EXIT_OK


def main(
    argv: Sequence[str] | None = None,
    out: io.TextIOBase | None = None,
    err: io.TextIOBase | None = None,
    now: Callable[[], datetime] = datetime.now,
) -> int:
    """Run one command. `now` is read once, at the start: it stamps when a load or
    restore happened (calculations never read the clock; they take --as-of)."""
    out = out or sys.stdout  # type: ignore[assignment]
    err = err or sys.stderr  # type: ignore[assignment]
    assert out is not None and err is not None
    try:
        args = _build_parser().parse_args(argv)
        args.started_at = now()
        if args.command == "load":
            return _cmd_load(args, out, err)
        if args.command == "suggest-mapping":
            return _cmd_suggest_mapping(args, out, err)
        if args.command == "history":
            return _cmd_history(args, out)
        if args.command == "restore":
            return _cmd_restore(args, out)
        if args.command == "demo":
            return _cmd_demo(args, out, err)
        if args.command == "segment":
            return _cmd_segment(args, out)
        if args.command == "report":
            return _cmd_report(args, out)
        if args.command in cli_whatif.COMMANDS:
            return cli_whatif.run(args, out)
        if args.command in cli_review.COMMANDS:
            return cli_review.run(args, out)
        return _cmd_summary(args, out)
    except UsageError as exc:
        err.write(f"error: {exc}\n")
        return EXIT_REFUSED
    except OSError as exc:
        err.write(f"error: {exc.strerror or exc}: {exc.filename or ''}\n".replace(": \n", "\n"))
        return EXIT_REFUSED
