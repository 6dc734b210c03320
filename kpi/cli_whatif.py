"""The what-if commands of `python -m kpi`: views against each other and thresholds to try.

    python -m kpi compare --db PATH [params] --base QUERY [--format json|csv]
    python -m kpi sensitivity --db PATH [params] --vary NAME [--values V1,V2,...]
    python -m kpi suggest --db PATH [params] [--format csv|json]
    python -m kpi scenarios --db PATH
    python -m kpi scenarios save NAME --db PATH [thresholds]
    python -m kpi scenarios rename OLD NEW --db PATH
    python -m kpi scenarios delete NAME --db PATH
    python -m kpi scenarios policy NAME --db PATH

`compare` sets the view of [params] against a base view written as a link's query string
(`--base "as_of=2026-06-23"`, `--base "min_trainings=1&min_deals=1"`, `--base
"scenario=policy&as_of=2026-06-23"`: a saved scenario's thresholds, then the other values
named); what the base does not name is the view's. `sensitivity` is the program at each
value of one threshold (default values: kpi.compare.default_values). `suggest` is the
threshold the data suggests for each behaviour's criterion (kpi.correlation), from the
as-of date and window of [params]: CSV, every candidate's evidence with a first column
`behaviour`; JSON, a list of {"behaviour", "parameter", "threshold", "status",
"reasoning", "evidence": [rows]}.

`scenarios` prints the saved scenarios as a JSON list of {"name", "policy", "thresholds"},
by name; `save` stores the thresholds given as a new scenario (those not given: the
policy's), `policy` makes a scenario the policy (kpi.scenarios).
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from urllib.parse import parse_qs

import duckdb
import polars as pl

from kpi import compare, correlation, export, metrics, scenarios
from kpi.cli_common import EXIT_OK, Parser, UsageError, add_view_arguments, open_database, view_and_facts, view_of
from kpi.params import PARAMS, SPEC_BY_NAME, THRESHOLDS, View, format_param, parse_value

COMMANDS: tuple[str, ...] = ("compare", "sensitivity", "suggest", "scenarios")


def add_parsers(commands: argparse._SubParsersAction) -> None:
    """The what-if commands' parsers."""
    sub = commands.add_parser("compare", help="the view against a base view: tier moves and both summaries")
    add_view_arguments(sub)
    sub.add_argument("--base", required=True, metavar="QUERY", help="the base view as a link's query string")
    sub.add_argument("--format", choices=("json", "csv"), default="json")

    sub = commands.add_parser("sensitivity", help="the program at each value of one threshold, every other as given")
    add_view_arguments(sub)
    sub.add_argument("--vary", required=True, metavar="NAME", help=" | ".join(THRESHOLDS))
    sub.add_argument("--values", metavar="V1,V2,...", help="the values to try (default: the threshold's range)")

    sub = commands.add_parser(
        "suggest", help="the threshold the data suggests for each behaviour, with the evidence (a correlation)"
    )
    add_view_arguments(sub)
    sub.add_argument("--format", choices=("csv", "json"), default="csv")

    _add_scenarios_parser(commands)


def _add_scenarios_parser(commands: argparse._SubParsersAction) -> None:
    listing = commands.add_parser(
        "scenarios", help="list the saved scenarios as JSON (the policy marked), or change them"
    )
    listing.add_argument("--db", type=Path, metavar="PATH")
    actions = listing.add_subparsers(dest="action", parser_class=Parser)
    # --db may come before or after the action; SUPPRESS keeps a value given before it.
    save = actions.add_parser("save", help="save thresholds as a new scenario (those not given: the policy's)")
    save.add_argument("name", metavar="NAME")
    for name in THRESHOLDS:
        save.add_argument("--" + name.replace("_", "-"), dest=name, metavar="VALUE", help=SPEC_BY_NAME[name].help)
    rename = actions.add_parser("rename", help="give a scenario a new name")
    rename.add_argument("name", metavar="OLD")
    rename.add_argument("new_name", metavar="NEW")
    actions.add_parser("delete", help="delete a scenario (not the policy)").add_argument("name", metavar="NAME")
    actions.add_parser("policy", help="make a scenario the policy").add_argument("name", metavar="NAME")
    for action in actions.choices.values():
        action.add_argument("--db", type=Path, default=argparse.SUPPRESS, metavar="PATH")


def run(args: argparse.Namespace, out: io.TextIOBase) -> int:
    """Run one of COMMANDS."""
    if args.command == "compare":
        return _cmd_compare(args, out)
    if args.command == "sensitivity":
        return _cmd_sensitivity(args, out)
    if args.command == "suggest":
        return _cmd_suggest(args, out)
    return _cmd_scenarios(args, out)


def base_view(args: argparse.Namespace, con: duckdb.DuckDBPyConnection) -> View:
    """The base view: the current view's flags with the values `--base` names replaced
    (`scenario=NAME` first: a saved scenario's thresholds)."""
    given = parse_qs(args.base.lstrip("?"), keep_blank_values=True)
    raw = {spec.name: getattr(args, spec.name) for spec in PARAMS}
    if "scenario" in given:  # the scenario's thresholds; the other values named still override
        try:
            chosen = scenarios.find(scenarios.connected(con), given.pop("scenario")[-1])
        except scenarios.ScenarioError as exc:
            raise UsageError(f"--base: {exc}") from None
        raw |= {name: format_param(SPEC_BY_NAME[name], value) for name, value in chosen.thresholds.items()}
    unknown = [name for name in given if name not in {spec.name for spec in PARAMS}]
    if unknown:
        raise UsageError(f"--base: {', '.join(unknown)} is not a view parameter")
    raw |= {k: v[-1] for k, v in given.items()}
    base = argparse.Namespace(**raw)
    try:
        return view_of(base, con)
    except UsageError as exc:
        raise UsageError(f"--base: {exc}") from None


def _cmd_compare(args: argparse.Namespace, out: io.TextIOBase) -> int:
    con = open_database(args.db)
    try:
        view, base_of = view_of(args, con), base_view(args, con)
        current = metrics.segment(metrics.partner_facts(con, view.as_of, view.window_days), view)
        base = metrics.segment(metrics.partner_facts(con, base_of.as_of, base_of.window_days), base_of)
    finally:
        con.close()
    comparison = compare.compare(base, base_of, current, view)
    if args.format == "csv":
        out.write(export.csv_text(comparison.explained()))
    else:
        out.write(json.dumps(comparison.as_json(), indent=2) + "\n")
    return EXIT_OK


def _cmd_sensitivity(args: argparse.Namespace, out: io.TextIOBase) -> int:
    name = args.vary.replace("-", "_")
    if name not in THRESHOLDS:
        raise UsageError(f"--vary {args.vary!r}: not a threshold; vary one of {', '.join(THRESHOLDS)}")
    values = None
    if args.values is not None:
        try:
            values = [parse_value(SPEC_BY_NAME[name], text) for text in args.values.split(",")]
        except ValueError as exc:
            raise UsageError(f"--values {args.values!r}: {exc}") from None
    view, facts = view_and_facts(args)
    out.write(compare.sensitivity(facts, view, name, values).write_csv())  # type: ignore[arg-type]
    return EXIT_OK


def _cmd_suggest(args: argparse.Namespace, out: io.TextIOBase) -> int:
    _, facts = view_and_facts(args)
    found = [(s, correlation.evidence(facts, s.behaviour)) for s in correlation.suggestions(facts)]
    if args.format == "json":
        listed = [
            {
                "behaviour": s.behaviour,
                "parameter": s.parameter,
                "threshold": s.threshold,
                "status": s.status,
                "reasoning": s.reasoning,
                "evidence": rows.to_dicts(),
            }
            for s, rows in found
        ]
        out.write(json.dumps(listed, indent=2) + "\n")
    else:
        tables = [rows.select(pl.lit(s.behaviour).alias("behaviour"), pl.all()) for s, rows in found]
        out.write(export.csv_text(pl.concat(tables)))
    return EXIT_OK


def _cmd_scenarios(args: argparse.Namespace, out: io.TextIOBase) -> int:
    if args.db is None:
        raise UsageError("the following arguments are required: --db")
    try:
        if args.action == "save":
            given = {name: getattr(args, name) for name in THRESHOLDS if getattr(args, name) is not None}
            values = scenarios.thresholds(given, base=scenarios.policy(args.db).thresholds)
            out.write(f"saved scenario {scenarios.save(args.db, args.name, values).name!r}\n")
        elif args.action == "rename":
            renamed = scenarios.rename(args.db, args.name, args.new_name)
            out.write(f"renamed scenario {args.name.strip()!r} to {renamed.name!r}\n")
        elif args.action == "delete":
            scenarios.delete(args.db, args.name)
            out.write(f"deleted scenario {args.name.strip()!r}\n")
        elif args.action == "policy":
            out.write(f"the policy is now {scenarios.set_policy(args.db, args.name).name!r}\n")
        else:
            out.write(json.dumps(scenarios.as_json(scenarios.list_scenarios(args.db)), indent=2) + "\n")
    except ValueError as exc:  # ScenarioError, or a file that is not one of our databases
        raise UsageError(str(exc)) from None
    except duckdb.Error as exc:
        raise UsageError(f"{args.db} is not a Channel KPI Explorer database: {str(exc).splitlines()[0]}") from None
    return EXIT_OK
