"""Speed of the "all curves" section: `kpi.compare.sensitivity_all` against one `metrics.segment`.

Run from the repository root:

    python benchmarks/bench_sensitivity.py [--partners 20000] [--repeat 7] [--out FILE.json]

It uses the bench_core demo database of that size (`benchmarks/out/bench-N.duckdb`, reused
when it is there, built otherwise), computes the per-partner facts once (latest date, 90-day
window, default thresholds) and times, `--repeat` times each, median and max:

- `compare.sensitivity_all`: every threshold at its default values, one vectorised pass each;
- one `metrics.segment` (a slider move's tier rules), the unit the curves are compared with;
- the same curves as one `segment` + `summarize` per value, and checks they equal the pass;
- what the app adds around them, for a move with the what-if shown (trainings 2 and deals 2
  against the policy, the base's tiers computed once as the app caches them): the comparison
  (`compare.compare`, `report.against_base`), and on the What-if page the chart made from the
  curves (`ui.charts_whatif.sensitivity_chart`) and its Vega-Lite dict (`ui.charts.vega_spec`),
  which the page computes again for every value it has not shown yet.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT), str(ROOT / "benchmarks")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import polars as pl  # noqa: E402
from bench_common import OUT_DIR, machine, md_table, summary_ms, timed, write_report  # noqa: E402
from core_build import database  # noqa: E402

from kpi import compare, metrics, report, store  # noqa: E402
from kpi.params import THRESHOLDS, View  # noqa: E402
from ui import charts, charts_whatif  # noqa: E402


def curves_per_value(facts: pl.DataFrame, view: View, grids: dict[str, tuple[float, ...]]) -> dict[str, list[tuple]]:
    """The curves the way they were computed before the vectorised pass: a segment per value."""
    curves: dict[str, list[tuple]] = {}
    for name, values in grids.items():
        rows = []
        for value in values:
            summary = metrics.summarize(metrics.segment(facts, view.replace(**{name: value})), view)
            counts = (summary["partners"], summary["activated"], summary["activation_pct"])
            rows.append((value, *counts, *summary["tiers"].values()))
        curves[name] = rows
    return curves


WHATIF_ROWS = (  # figure, label, passes over the facts
    ("sensitivity_all_moved", "`sensitivity_all` at trainings 2, deals 2 (the What-if page's move)", "7"),
    ("segment_moved", "against the policy: `metrics.segment` of the move", "1"),
    ("compare", "against the policy: `compare.compare` (who moves)", "-"),
    ("against_base", "against the policy: `report.against_base` (the numbers)", "-"),
    ("chart", "What-if chart from the curves: `charts_whatif.sensitivity_chart` (Altair)", "-"),
    ("spec", "What-if chart: `charts.vega_spec` (its Vega-Lite dict)", "-"),
)


def what_if_figures(facts: pl.DataFrame, policy: View, repeat: int) -> dict[str, Any]:
    """The app's work around the curves on a move with the what-if shown, part by part."""
    moved = policy.replace(min_trainings=2, min_deals=2)
    base = metrics.segment(facts, policy)  # cached by the app while the thresholds move
    current = metrics.segment(facts, moved)
    figures: dict[str, Any] = {}
    figures["sensitivity_all_moved"], curves = repeated(lambda: compare.sensitivity_all(facts, moved), repeat)
    figures["segment_moved"], _ = repeated(lambda: metrics.segment(facts, moved), repeat)
    figures["compare"], _ = repeated(lambda: compare.compare(base, policy, current, moved), repeat)
    figures["against_base"], _ = repeated(lambda: report.against_base(base, policy, current, moved), repeat)
    chart_fn = lambda: charts_whatif.sensitivity_chart(curves, moved, policy, "policy")  # noqa: E731
    chart_fn()  # untimed: the first chart pays for Altair's imports
    figures["chart"], chart = repeated(chart_fn, repeat)
    figures["spec"], _ = repeated(lambda: charts.vega_spec(chart), repeat)
    return figures


def repeated(fn: Any, repeat: int) -> tuple[dict[str, Any], Any]:
    samples, result = [], None
    for _ in range(repeat):
        seconds, result = timed(fn)
        samples.append(seconds)
    return summary_ms(samples), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--partners", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per figure (default 7)")
    parser.add_argument("--workdir", type=Path, default=OUT_DIR, help="where the database goes (git-ignored)")
    parser.add_argument("--out", type=Path, default=OUT_DIR / "bench_sensitivity.json", help="JSON report file")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    args.workdir.mkdir(parents=True, exist_ok=True)
    built = database(args.partners, args.seed, args.workdir)
    con = store.connect(Path(built["db"]))
    try:
        span = store.data_span(con)
        assert span is not None, "the benchmark database is empty"
        view = View(as_of=span[1])
        facts = metrics.partner_facts(con, view.as_of, view.window_days)
    finally:
        con.close()
    grids = {name: compare.default_values(facts, view, name) for name in THRESHOLDS}

    compare.sensitivity_all(facts, view)  # untimed: the first run pays for Polars' thread pool
    all_curves, curves = repeated(lambda: compare.sensitivity_all(facts, view), args.repeat)
    segment, _ = repeated(lambda: metrics.segment(facts, view), args.repeat)
    per_value, reference = repeated(lambda: curves_per_value(facts, view, grids), args.repeat)
    identical = all(curves[name].rows() == reference[name] for name in THRESHOLDS)

    whatif = what_if_figures(facts, view, args.repeat)

    values = sum(len(grid) for grid in grids.values())
    figures = {
        "sensitivity_all": all_curves,
        "segment": segment,
        "segment_and_summarize_per_value": per_value,
        **whatif,
    }
    rows = [
        [
            f"`compare.sensitivity_all` ({len(THRESHOLDS)} curves)",
            f"{all_curves['median_ms']:.1f} / {all_curves['max_ms']:.1f}",
            f"{len(THRESHOLDS)} (one a threshold)",
        ],
        ["one `metrics.segment`", f"{segment['median_ms']:.1f} / {segment['max_ms']:.1f}", "1"],
        [
            f"`segment` + `summarize` per value ({values} values)",
            f"{per_value['median_ms']:.1f} / {per_value['max_ms']:.1f}",
            str(values),
        ],
        *[
            [label, f"{whatif[key]['median_ms']:.1f} / {whatif[key]['max_ms']:.1f}", passes]
            for key, label, passes in WHATIF_ROWS
        ],
    ]
    new_value = (
        whatif["sensitivity_all_moved"]["median_ms"] + whatif["chart"]["median_ms"] + whatif["spec"]["median_ms"]
    )
    text = "\n".join(
        [
            f"{facts.height:,} partners in the program ({args.partners:,} generated), as of {view.as_of}, "
            f"90-day window; {values} values over {len(THRESHOLDS)} thresholds "
            f"({', '.join(f'{name} {len(grid)}' for name, grid in grids.items())}); median of {args.repeat}.",
            "",
            md_table(["what", "median / max ms", "passes over the facts"], rows),
            "",
            f"sensitivity_all = {all_curves['median_ms'] / segment['median_ms']:.0f}x one segment; "
            f"{per_value['median_ms'] / all_curves['median_ms']:.1f}x faster than a segment per value; "
            f"results identical: {identical}",
            f"A value the What-if page has not shown yet: curves + chart + Vega-Lite dict = {new_value:.0f} ms "
            f"(the curves {whatif['sensitivity_all_moved']['median_ms']:.0f} ms of it).",
        ]
    )
    report = {
        "partners": args.partners,
        "population": facts.height,
        "as_of": view.as_of.isoformat(),
        "values": {name: list(grid) for name, grid in grids.items()},
        "figures": figures,
        "identical": identical,
        "machine": machine(("polars", "duckdb")),
    }
    write_report(report, text, args.out)
    return 0 if identical else 1


if __name__ == "__main__":
    raise SystemExit(main())
