"""The weekly brief and the review workbook as a person makes them on Monday morning: whole
processes, and where their time goes.

Run from the repository root:

    python benchmarks/bench_brief.py [--partners 20000] [--repeat 5] [--out FILE.json]

The target: *the brief is written in under 3 s* at 20,000 partners, read on the median of
whole processes (`python -m kpi brief --db DB --out X.pdf`, and `X.html`), from the start of
the interpreter to its exit. `python -m kpi export --out X.xlsx` (the workbook) and
`python -c pass` (the interpreter alone) are timed beside them. Each command runs once
untimed (the files in the OS cache), then `--repeat` times, the three commands taking turns;
every output is checked (a PDF, an HTML page, an .xlsx zip).

Then the same work in a child process of its own (`--repeat` children, so every import is a
first import), step by step as the commands do it: the imports (each library, then the
project's modules), opening the database and its view, the two facts queries (the since date
and the as-of date, `kpi.metrics.partner_facts`), `kpi.review.review`, the stamp
(`kpi.store.describe`), `kpi.brief.chart_svgs` a first and a second time (the first starts
vl-convert's engine), `kpi.brief.content`, `kpi.brief.to_pdf` and `to_html` (each makes its
charts again), `Review.sheets` and `kpi.export.workbook` sheet by sheet, then whole. Inside
each step the time spent in `vl_convert.vegalite_to_svg` (drawing the charts) and in
`typst.compile` (the PDF) is measured too.

It prints Markdown tables and writes every figure, raw samples included, to a JSON file.
See benchmarks/README.md, section "Weekly review and brief".
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench_common import OUT_DIR, ROOT, machine, md_table, write_report
from core_build import database

TARGET_S = 3.0
TARGET_SIZE = 20_000
VERDICT = {True: "MET", False: "NOT MET", None: "n/a (read at 20,000 partners)"}
PACKAGES = ("polars", "duckdb", "altair", "vl-convert-python", "typst", "xlsxwriter")
# label -> (python -m kpi arguments, output suffix, what the file starts with)
COMMANDS: dict[str, tuple[tuple[str, ...], str, bytes]] = {
    "brief, PDF": (("brief",), ".pdf", b"%PDF"),
    "brief, HTML": (("brief",), ".html", b"<!"),
    "workbook": (("export",), ".xlsx", b"PK"),
}
# Imported in this order in the child, each timed on its own: what is left for a module is
# what it adds to the ones before it. `kpi.cli` is what `python -m kpi` imports.
IMPORTS = (
    "polars",
    "duckdb",
    "altair",
    "vl_convert",
    "typst",
    "xlsxwriter",
    "kpi.review",
    "kpi.brief",
    "kpi.export",
    "kpi.cli",
)


# --- whole processes -------------------------------------------------------------------------


def run_process(cmd: list[str], out: Path | None, magic: bytes | None) -> dict[str, float]:
    """One command from start to exit: wall time, and the CPU time of the child."""
    if out is not None:
        out.unlink(missing_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    if out is not None:
        head = out.read_bytes()[: len(magic or b"")]
        if not out.stat().st_size or head != magic:
            raise SystemExit(f"{' '.join(cmd)} wrote no such file: {out} starts with {head!r}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu}


def summary_s(values: list[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "samples": [round(v, 4) for v in values],
    }


def processes(db: Path, repeat: int, tmp: Path) -> dict[str, Any]:
    """`python -c pass` and each of COMMANDS, once untimed, then `repeat` times in turn."""
    runs: dict[str, list[dict[str, float]]] = {"interpreter": [], **{label: [] for label in COMMANDS}}

    def one_round(record: bool) -> None:
        timing = run_process([sys.executable, "-c", "pass"], None, None)
        if record:
            runs["interpreter"].append(timing)
        for label, (args, suffix, magic) in COMMANDS.items():
            out = tmp / f"bench{suffix}"
            cmd = [sys.executable, "-m", "kpi", *args, "--db", str(db), "--out", str(out)]
            timing = run_process(cmd, out, magic)
            if record:
                runs[label].append(timing)

    one_round(record=False)
    for i in range(repeat):
        one_round(record=True)
        print(f"  round {i + 1}: " + ", ".join(f"{k} {v[-1]['wall_s']:.2f} s" for k, v in runs.items()), flush=True)
    return {
        label: {"wall_s": summary_s([t["wall_s"] for t in ts]), "cpu_s": summary_s([t["cpu_s"] for t in ts])}
        for label, ts in runs.items()
    }


# --- in-process breakdown (a child process each time) ------------------------------------------


class Spy:
    """Time spent inside one function of a module while the steps run (wrapped in place)."""

    def __init__(self, module: Any, name: str) -> None:
        self.total = 0.0
        inner = getattr(module, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.total += time.perf_counter() - start

        setattr(module, name, wrapper)


def child(db: Path) -> dict[str, Any]:
    """Every step once, as the commands do them; seconds per step, in order."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    steps: dict[str, dict[str, float]] = {}
    imports_start = time.perf_counter()
    for module in IMPORTS:
        start = time.perf_counter()
        importlib.import_module(module)
        steps[f"import {module}"] = {"s": time.perf_counter() - start}
    steps["imports, total"] = {"s": time.perf_counter() - imports_start}

    import typst
    import vl_convert

    from kpi import brief, export, metrics, review, store
    from kpi.cli_common import open_database, view_of
    from kpi.params import PARAMS
    from kpi.store import data_span

    spies = {"vl_convert": Spy(vl_convert, "vegalite_to_svg"), "typst": Spy(typst, "compile")}
    found: dict[str, Any] = {}

    def step(name: str, fn: Any) -> Any:
        inside = {k: s.total for k, s in spies.items()}
        start = time.perf_counter()
        value = fn()
        steps[name] = {"s": time.perf_counter() - start, **{k: s.total - inside[k] for k, s in spies.items()}}
        return value

    args = argparse.Namespace(db=db, **{spec.name: None for spec in PARAMS})
    con = step("open the database (cli_common.open_database)", lambda: open_database(db))
    view = step("the view (cli_common.view_of, with store.data_span)", lambda: view_of(args, con))
    # `cli_review._review` asks for the span again, for `--since`, given or not.
    step("store.data_span again (cli_review._since)", lambda: data_span(con))
    since = review.since_default(view)
    try:
        then = step(
            "facts of the since date (partner_facts)", lambda: metrics.partner_facts(con, since, view.window_days)
        )
        now = step(
            "facts of the as-of date (partner_facts)", lambda: metrics.partner_facts(con, view.as_of, view.window_days)
        )
    finally:
        con.close()
    result = step("kpi.review.review", lambda: review.review(then, now, view, since))
    stamp = step("the stamp (kpi.store.describe)", lambda: brief.Stamp(store.describe(db), None, "$"))
    step("kpi.brief.chart_svgs, first call", lambda: brief.chart_svgs(result, stamp.currency))
    step("kpi.brief.chart_svgs, second call", lambda: brief.chart_svgs(result, stamp.currency))
    step("kpi.brief.content", lambda: brief.content(result, stamp))
    found["pdf_bytes"] = len(step("kpi.brief.to_pdf", lambda: brief.to_pdf(result, stamp)))
    found["html_bytes"] = len(step("kpi.brief.to_html", lambda: brief.to_html(result, stamp)))
    sheets = step("Review.sheets", result.sheets)
    for name, table in sheets.items():
        step(
            f"kpi.export.workbook, sheet {name} ({table.height:,} rows)",
            lambda t=table, n=name: export.workbook({n: t}),
        )
    found["xlsx_bytes"] = len(step("kpi.export.workbook, all sheets", lambda: export.workbook(sheets)))
    found.update(
        as_of=view.as_of.isoformat(),
        since=since.isoformat(),
        partners_now=now.height,
        moved=result.comparison.moved,
        sheet_rows={name: table.height for name, table in sheets.items()},
    )
    return {"steps": steps, "found": found, "last_step_done": time.time()}


def breakdown(db: Path, repeat: int) -> dict[str, Any]:
    """`repeat` children, each running `child` once; median and range of every step."""
    runs = []
    for i in range(repeat):
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(db)]
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        exited = time.time()  # the wall clock, as the child's own timestamp
        if done.returncode != 0:
            raise SystemExit(f"the in-process child failed:\n{done.stderr}")
        run = json.loads(done.stdout.strip().splitlines()[-1])
        # The interpreter's shutdown (modules torn down), which every command pays too.
        run["steps"]["interpreter exit, after the last step"] = {"s": exited - run.pop("last_step_done")}
        runs.append(run)
        print(f"  child {i + 1}: imports {runs[-1]['steps']['imports, total']['s']:.2f} s", flush=True)
    steps = {}
    for name in runs[0]["steps"]:
        steps[name] = {key: summary_s([r["steps"][name][key] for r in runs]) for key in runs[0]["steps"][name]}
    return {"steps": steps, "found": runs[0]["found"], "runs": runs}


# --- report ----------------------------------------------------------------------------------


def s_range(fig: dict[str, Any]) -> str:
    return f"{fig['min']:.2f}-{fig['max']:.2f}"


def ms(value: float) -> str:
    return f"{1000 * value:,.1f}"


def render(report: dict[str, Any]) -> str:
    m = report["machine"]
    procs = report["processes"]
    rows = []
    for label, fig in procs.items():
        command = (
            "python -c pass"
            if label == "interpreter"
            else f"python -m kpi {COMMANDS[label][0][0]} ... {COMMANDS[label][1]}"
        )
        is_brief = label.startswith("brief")
        verdict = ("met" if fig["wall_s"]["median"] < TARGET_S else "not met") if is_brief else ""
        rows.append(
            [
                label,
                f"`{command}`",
                f"{fig['wall_s']['median']:.2f}",
                s_range(fig["wall_s"]),
                f"{fig['cpu_s']['median']:.2f}",
                verdict,
            ]
        )
    process_table = md_table(["what", "command", "median s", "range s", "CPU s (median)", f"< {TARGET_S:.0f} s"], rows)
    steps = report["breakdown"]["steps"]
    step_rows = []
    for name, fig in steps.items():
        inner = [
            "-" if key not in fig or fig[key]["median"] < 0.0005 else ms(fig[key]["median"])
            for key in ("vl_convert", "typst")
        ]
        step_rows.append([name, ms(fig["s"]["median"]), f"{ms(fig['s']['min'])}-{ms(fig['s']['max'])}", *inner])
    step_table = md_table(["step (in order)", "median ms", "range ms", "in vl_convert ms", "in typst ms"], step_rows)
    found = report["breakdown"]["found"]
    met = report["target"]
    return "\n".join(
        [
            f"Machine: {m['cpus_usable']} usable CPUs (nproc {m['nproc']}), {m['platform']}; Python {m['python']}; "
            + ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
            + f"; commit {m['git'].get('commit', '?')}{' (dirty tree)' if m['git'].get('dirty') else ''}; "
            f"load average {report['load_average'][0]:.1f} at the start, {report['load_average'][1]:.1f} at the end.",
            f"Database: {report['partners']:,} partners ({Path(report['db']).name}); the review of {found['as_of']} "
            f"since {found['since']}: {found['partners_now']:,} partners now, {found['moved']:,} moved; "
            f"PDF {found['pdf_bytes'] / 1024:.0f} KB, HTML {found['html_bytes'] / 1024:.0f} KB, "
            f"workbook {found['xlsx_bytes'] / 1024:.0f} KB.",
            "",
            f"Whole processes, start to exit ({report['args']['repeat']} runs each after one untimed, in turn)",
            "",
            process_table,
            "",
            f"In-process breakdown ({report['args']['repeat']} child processes, each step once, in this order)",
            "",
            step_table,
            "",
            f"Target (the brief written in under {TARGET_S:.0f} s at {TARGET_SIZE:,} partners, median of whole "
            f"processes): {VERDICT[met['met']]} ({met['detail']})",
            f"Total wall time {report['wall_s']:.0f} s.",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        print(json.dumps(child(Path(argv[1]))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--partners", type=int, default=TARGET_SIZE)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=5, help="runs of each command, and children (default 5)")
    parser.add_argument("--workdir", type=Path, default=OUT_DIR, help="the databases (git-ignored)")
    parser.add_argument("--out", type=Path, default=OUT_DIR / "bench_brief.json", help="JSON report file")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    args.workdir.mkdir(parents=True, exist_ok=True)
    db = Path(database(args.partners, args.seed, args.workdir)["db"])
    print("[processes]", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-brief-") as tmp:
        procs = processes(db, args.repeat, Path(tmp))
    print("[in-process breakdown]", flush=True)
    parts = breakdown(db, args.repeat)
    briefs = {label: procs[label]["wall_s"]["median"] for label in COMMANDS if label.startswith("brief")}
    report = {
        "benchmark": "bench_brief",
        "generated_at": datetime.now().isoformat(timespec="seconds"),
        "args": {"partners": args.partners, "seed": args.seed, "repeat": args.repeat},
        "machine": machine(PACKAGES),
        "partners": args.partners,
        "db": str(db),
        "load_average": [load_start, os.getloadavg()[0]],
        "processes": procs,
        "breakdown": parts,
        "target": {
            "met": all(v < TARGET_S for v in briefs.values()) if args.partners == TARGET_SIZE else None,
            "detail": ", ".join(f"{label} {v:.2f} s" for label, v in briefs.items()),
        },
        "wall_s": time.perf_counter() - started,
    }
    write_report(report, render(report), args.out)
    print(f"\nJSON report: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
