"""The weekly review commands of `python -m kpi`, for Monday morning without the app.

    python -m kpi export --db PATH [params] [--since DATE] --out FILE.xlsx
    python -m kpi brief --db PATH [params] [--since DATE] [--scenario NAME] --out FILE.pdf|FILE.html

`export` writes the review workbook (kpi.review, kpi.export): the sheets `summary` (number,
then, now, change, unit), `partners` (the `segment` columns now), `movers` (`compare`'s CSV
columns), `biggest_changes` and `watch_list`. `--since` is the date the view is compared
with (default: the as-of date minus 7 days), within the data. `brief` writes the one-page
brief (kpi.brief) as PDF or HTML by the file's extension, stamped with the dates, every
threshold, the load the data came from and `--scenario`, a saved scenario whose thresholds
it uses (flags given still override them).
"""

from __future__ import annotations

import argparse
import io
import os
from datetime import date
from pathlib import Path

from kpi import export, metrics, review, scenarios, store
from kpi.cli_common import EXIT_OK, UsageError, add_view_arguments, open_database, view_of
from kpi.params import SPEC_BY_NAME, View, format_param
from kpi.store import data_span

COMMANDS: tuple[str, ...] = ("export", "brief")


def add_parsers(commands: argparse._SubParsersAction) -> None:
    """The review commands' parsers."""
    sub = commands.add_parser(
        "export", help="the weekly review workbook (.xlsx): summary, partners, movers, watch list"
    )
    add_view_arguments(sub)
    sub.add_argument("--since", metavar="DATE", help="the date to compare with (default: the as-of date minus 7 days)")
    sub.add_argument("--out", type=Path, required=True, metavar="FILE.xlsx")

    sub = commands.add_parser("brief", help="the weekly review's one-page brief as PDF or HTML")
    add_view_arguments(sub)
    sub.add_argument("--since", metavar="DATE", help="the date to compare with (default: the as-of date minus 7 days)")
    sub.add_argument("--scenario", metavar="NAME", help="a saved scenario's thresholds (flags given override them)")
    sub.add_argument("--out", type=Path, required=True, metavar="FILE.pdf|FILE.html")


def run(args: argparse.Namespace, out: io.TextIOBase) -> int:
    """Run one of COMMANDS."""
    if args.command == "brief":
        return _cmd_brief(args, out)
    if args.out.suffix.lower() != ".xlsx":
        raise UsageError(f"--out {str(args.out)!r}: the workbook is written as .xlsx; name the file FILE.xlsx")
    result = _review(args)
    _write(args.out, export.workbook(result.sheets(), _currency()))
    out.write(
        f"wrote the review of {result.view.as_of.isoformat()} since {result.since.as_of.isoformat()} "
        f"({result.comparison.moved:,} partners moved) to {args.out}\n"
    )
    return EXIT_OK


def _cmd_brief(args: argparse.Namespace, out: io.TextIOBase) -> int:
    if args.out.suffix.lower() not in (".pdf", ".html", ".htm"):
        raise UsageError(f"--out {str(args.out)!r}: the brief is written as .pdf or .html; name the file so")
    if not args.out.parent.is_dir():
        raise UsageError(f"--out {str(args.out)!r}: the folder {str(args.out.parent)!r} does not exist")
    scenario = None
    if args.scenario is not None:
        con = open_database(args.db)
        try:
            scenario = scenarios.find(scenarios.connected(con), args.scenario)
        except scenarios.ScenarioError as exc:
            raise UsageError(f"--scenario: {exc}") from None
        finally:
            con.close()
        for name, value in scenario.thresholds.items():  # flags given still win
            if getattr(args, name) is None:
                setattr(args, name, format_param(SPEC_BY_NAME[name], value))
    result = _review(args)
    from kpi import brief  # Typst and vl-convert load only for the brief, not for every command

    stamp = brief.Stamp(store.describe(args.db), None if scenario is None else scenario.name, _currency())
    brief.write(args.out, result, stamp)
    out.write(
        f"wrote the brief of {result.view.as_of.isoformat()} since {result.since.as_of.isoformat()} to {args.out}\n"
    )
    return EXIT_OK


def _currency() -> str:
    return os.environ.get("KPI_CURRENCY_SYMBOL", "$")


def _since(text: str | None, view: View, span: tuple[date, date] | None) -> date:
    if text is None:
        return review.since_default(view)
    try:
        since = date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"--since {text!r}: not a date; write it as YYYY-MM-DD") from None
    if since >= view.as_of:
        raise UsageError(f"--since {text!r}: must be before the as-of date {view.as_of.isoformat()}")
    if span is not None and since < span[0]:
        raise UsageError(f"--since {text!r}: before the data, which starts on {span[0].isoformat()}")
    return since


def _review(args: argparse.Namespace) -> review.Review:
    con = open_database(args.db)
    try:
        view = view_of(args, con)
        since = _since(args.since, view, data_span(con))
        then = metrics.partner_facts(con, since, view.window_days)
        now = metrics.partner_facts(con, view.as_of, view.window_days)
    finally:
        con.close()
    return review.review(then, now, view, since)


def _write(path: Path, content: bytes) -> None:
    if not path.parent.is_dir():
        raise UsageError(f"--out {str(path)!r}: the folder {str(path.parent)!r} does not exist")
    export.write_whole(path, content)
