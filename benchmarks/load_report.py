"""bench_load's verdict and report: memory as a fraction of the data as text, judged on the
bar, and the Markdown tables of the whole benchmark and of the scaling series.
"""

from __future__ import annotations

from typing import Any

from bench_common import md_table
from load_data import BAD_ACTIVITY, SOURCES

# "Well under the size of the data as text": we read it as at most half of it.
WELL_UNDER = 0.5


def rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}" if seconds > 0 else "-"


def ratio(mb: float, text: float) -> str:
    return f"{mb / text:.2f}x"


IDLE_LABEL = "idle process (`import kpi.cli`)"
ALLOCATOR_LABELS = {
    "polars_default": "load, freed pages kept 0.5 s + 1 s (Polars' setting)",
    "keeps_10s": "load, freed pages kept 10 s (jemalloc's default)",
}
MEMORY_HEADER = [
    "source",
    "command",
    "peak RSS",
    "file-backed",
    "private",
    "private above idle",
    "RSS above idle",
    "peak RSS / text",
    "private / text",
    "private above idle / text",
    "RSS above idle / text",
]


def mb(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def frac(value: float | None, text: float) -> str:
    return "-" if value is None else ratio(value, text)


def above(run: dict[str, Any], idle: dict[str, Any], key: str) -> float | None:
    if run is idle or run.get(key) is None or idle.get(key) is None:
        return None
    return run[key] - idle[key]


def memory_row(name: str, command: str, run: dict[str, Any], idle: dict[str, Any], text: float) -> list[str]:
    private_above, rss_above = above(run, idle, "peak_private_mb"), above(run, idle, "peak_rss_mb")
    return [
        name,
        command,
        mb(run["peak_rss_mb"]),
        mb(run.get("peak_file_mb")),
        mb(run.get("peak_private_mb")),
        mb(private_above),
        mb(rss_above),
        frac(run["peak_rss_mb"], text),
        frac(run.get("peak_private_mb"), text),
        frac(private_above, text),
        frac(rss_above, text),
    ]


def judge(runs: dict[str, dict[str, Any]], idle: dict[str, Any], text: float) -> dict[str, Any]:
    """The bar (at most WELL_UNDER x the text) on the total peak RSS, on the private memory above
    the idle process's, and on the peak RSS above the idle process's (library code included)."""
    verdict: dict[str, Any] = {"well_under_factor": WELL_UNDER, "text_mb": text}
    for key, figure in (
        ("total", lambda run: run["peak_rss_mb"]),
        ("private_above_idle", lambda run: above(run, idle, "peak_private_mb")),
        ("above_idle", lambda run: above(run, idle, "peak_rss_mb")),
    ):
        values = {name: figure(run) for name, run in runs.items()}
        ratios = {name: v / text for name, v in values.items() if v is not None}
        met = all(r <= WELL_UNDER for r in ratios.values()) if len(ratios) == len(values) else None
        verdict[key] = {"met": met, "mb": values, "ratios": ratios}
    return verdict


VERDICT_KEYS = ("total", "private_above_idle", "above_idle")
VERDICT_LINES = (
    ("total", "(a) total peak RSS"),
    ("private_above_idle", "(b) private memory (RssAnon) above the idle process's"),
    ("above_idle", "for reference, peak RSS above the idle process's (file-backed pages included)"),
)


def verdict_lines(verdict: dict[str, Any], text: float, names: dict[str, str]) -> list[str]:
    lines = []
    for key, what in VERDICT_LINES:
        v = verdict[key]
        state = "NOT MEASURED (no /proc)" if v["met"] is None else "MET" if v["met"] else "NOT MET"
        lines.append(
            f"- {what} well under the size of the data as text (<= {WELL_UNDER:g} x {text:.0f} MB = "
            f"{WELL_UNDER * text:.0f} MB): **{state}** ("
            + ", ".join(f"{names.get(k, k)} {v['mb'][k]:.0f} MB = {r:.2f}x" for k, r in v["ratios"].items())
            + ")."
        )
    return lines


def machine_line(report: dict[str, Any]) -> str:
    m = report["machine"]
    return (
        f"Machine: {m['cpus_usable']} usable CPUs (nproc {m['nproc']}), {m['memory_gb'] or 0:.1f} GB RAM, "
        f"{m['platform']}; Python {m['python']}; "
        + ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
        + f"; commit {m['git'].get('commit', '?')}{' (dirty tree)' if m['git'].get('dirty') else ''}; "
        f"load average {report['load_average'][0]:.1f} at the start, {report['load_average'][1]:.1f} at the end."
    )


def render(report: dict[str, Any]) -> str:
    data = report["data"]
    text = data["text_mb"]
    total, acts = data["total_rows"], data["rows"]["activities"]
    parts = [
        machine_line(report),
        f"Data: `kpi.demo.generate({data['partners']:,}, seed={data['seed']})`: "
        + ", ".join(f"{name} {n:,}" for name, n in data["rows"].items())
        + f" ({total:,} rows in all). Size of the data as text (the CSV bytes): {text:.1f} MB.",
        "",
        md_table(
            ["files", "on disk MB", "vs text", "largest file"],
            [
                [
                    {
                        "csv": "5 CSV (contract headers)",
                        "parquet": "5 Parquet (zstd, typed)",
                        "crm": "4 CSV + CRM activities",
                    }[fmt],
                    f"{data['disk_mb'][fmt]:.1f}",
                    ratio(data["disk_mb"][fmt], text),
                    "{} {:.1f} MB".format(*max(data["file_mb"][fmt].items(), key=lambda kv: kv[1])),
                ]
                for fmt in ("csv", "parquet", "crm")
            ],
        ),
        "",
        "Whole CLI path (`python -m kpi load SRC --db NEW.duckdb`, one fresh process each; wall time "
        "includes Python start-up and imports)",
        "",
    ]
    startup = report["startup"]
    base = startup["peak_rss_mb"]
    runs = [
        (SOURCES[source], "load" + (" --mapping" if source == "crm" else ""), entry["cli"])
        for source, entry in report["loads"].items()
    ]
    runs.append(("CSV, 1 bad value", "load (refused)", report["refused"]))
    runs += [("CSV", label, report["allocator"][key]) for key, label in ALLOCATOR_LABELS.items()]
    rows = [["-", IDLE_LABEL, str(startup["exit"]), f"{startup['wall_s']:.2f}", "-", "-", f"{startup['user_s']:.2f}"]]
    for name, command, run in runs:
        rows.append(
            [
                name,
                command,
                str(run["exit"]),
                f"{run['wall_s']:.2f}",
                rate(total, run["wall_s"]),
                rate(acts, run["wall_s"]),
                f"{run['user_s'] + run['sys_s']:.2f}",
            ]
        )
    parts += [
        md_table(["source", "command", "exit", "wall s", "rows/s", "activity rows/s", "CPU s"], rows),
        "",
        "Memory of the same processes (MB; *private* = peak RssAnon, the memory the process allocated; "
        "*file-backed* = peak RssFile, the libraries' code and read-only data, shared and the same at any data "
        "size; *above idle* = minus the idle process's figure; / text = over the size of the data as text)",
        "",
    ]
    rows = [memory_row("-", IDLE_LABEL, startup, startup, text)]
    rows += [memory_row(name, command, run, startup, text) for name, command, run in runs]
    parts.append(md_table(MEMORY_HEADER, rows))
    parts += [
        "",
        "Streamed load in-process, table by table (one fresh process per source; each table read, checked and "
        "written a chunk at a time; peak RSS while that table ran)",
        "",
    ]
    rows = []
    for source, entry in report["loads"].items():
        stream = entry["stream"]
        phases = stream["phases"]
        for name in [f"table {t}" for t in data["rows"]] + ["finish (commit, checkpoint)", "load"]:
            phase = phases.get(name)
            if phase is None:
                continue
            table_rows = data["rows"].get(name.removeprefix("table "), total if name == "load" else None)
            rows.append(
                [
                    SOURCES[source],
                    "**whole load**" if name == "load" else name,
                    f"{phase['seconds']:.2f}",
                    rate(table_rows, phase["seconds"]) if table_rows else "-",
                    f"{phase['peak_rss_mb']:.0f}",
                    f"{phase['peak_rss_mb'] - base:.0f}",
                ]
            )
    parts.append(md_table(["source", "step", "s", "rows/s", "peak RSS MB", "above idle MB"], rows))
    csv_stream = report["loads"]["csv"]["stream"]
    start_maps, end_maps = csv_stream["maps_at_start"], csv_stream["maps_at_end"]
    parts += [
        "",
        "Where the memory is (CSV, streamed, in-process): resident MB by kind of mapping, after the imports and "
        "at the end of the load",
        "",
        md_table(
            ["", "after imports", "end of load", "grew by"],
            [
                [
                    "heap (anonymous)",
                    f"{start_maps['anon_mb']:.0f}",
                    f"{end_maps['anon_mb']:.0f}",
                    f"{end_maps['anon_mb'] - start_maps['anon_mb']:.0f}",
                ],
                [
                    "files mapped (libraries' code)",
                    f"{start_maps['files_mb']:.0f}",
                    f"{end_maps['files_mb']:.0f}",
                    f"{end_maps['files_mb'] - start_maps['files_mb']:.0f}",
                ],
            ]
            + [[f"  {name}", "", f"{mb:.0f}", ""] for name, mb in end_maps["top_files"]],
        ),  # fmt: skip
        "",
        f"Peak of that process {csv_stream['peak_rss_mb']:.0f} MB; "
        f"RSS at its end {csv_stream['rss_at_end_mb']['VmRSS']:.0f} MB.",
    ]
    for key, label in (
        ("page", "The Data page's engine calls (CSV via mapping, the app's allocator setting)"),
        ("in_memory", "For comparison, the in-memory path (`load_with_mapping` holds every table, then "
         "`history.load_dataset`)"),
    ):  # fmt: skip
        memory = report[key]
        phases = memory["phases"].items()
        each = "; ".join(f"{n} {f['seconds']:.2f} s, peak {f['peak_rss_mb']:.0f} MB" for n, f in phases)
        parts += ["", f"{label}: {each} ({ratio(memory['peak_rss_mb'], text)} the text)."]
    ref = report["refused"]
    problem = ref["problems"][0] if ref["problems"] else {}
    parts += [
        "",
        f"Refused load (`{BAD_ACTIVITY}` as the activity of the last of {acts:,} activity rows, CSV, over the CSV "
        f"load's live database): exit {ref['exit']} in {ref['wall_s']:.2f} s, peak {ref['peak_rss_mb']:.0f} MB; "
        f"{len(ref['problems'])} problem reported"
        + (
            f" ({problem.get('file')}, row {int(problem.get('row') or 0):,}, column {problem.get('column')}, "
            f"value {problem.get('value')!r}: {problem.get('problem')})"
            if problem
            else ""
        )
        + f", {'the right one' if ref['reported_one_right_problem'] else 'NOT the expected one'}; "
        f"database file {'byte-identical (same SHA-256), history unchanged' if ref['db_identical'] else 'CHANGED'}.",
        "",
    ]
    parts += verdict_lines(report["verdict"], text, {**SOURCES, "refused": "refused"})
    parts += ["", f"Total wall time of the benchmark {report['wall_s']:.0f} s."]
    return "\n".join(parts)


def render_scale(report: dict[str, Any]) -> str:
    idle = report["startup"]
    series = report["series"]
    rows = [
        [
            f"{entry['partners']:,}",
            f"{entry['rows']['activities']:,}",
            f"{entry['total_rows']:,}",
            f"{entry['text_mb']:.1f}",
            f"{entry['cli']['wall_s']:.2f}",
            rate(entry["total_rows"], entry["cli"]["wall_s"]),
            rate(entry["rows"]["activities"], entry["cli"]["wall_s"]),
            mb(entry["cli"]["peak_rss_mb"]),
            mb(entry["cli"].get("peak_private_mb")),
            mb(above(entry["cli"], idle, "peak_private_mb")),
            frac(entry["cli"]["peak_rss_mb"], entry["text_mb"]),
            frac(entry["cli"].get("peak_private_mb"), entry["text_mb"]),
            frac(above(entry["cli"], idle, "peak_private_mb"), entry["text_mb"]),
            ", ".join(f"{k}={v}" for k, v in entry["cli"]["env"].items()) or "-",
        ]
        for entry in series
    ]
    parts = [
        machine_line(report),
        "",
        f"Scaling: `python -m kpi load CSV_FOLDER --db NEW.duckdb` on `kpi.demo.generate(N, seed={report['seed']})`, "
        "one fresh process each (MB; private = peak RssAnon; the idle process `import kpi.cli`: "
        f"peak RSS {mb(idle['peak_rss_mb'])}, private {mb(idle.get('peak_private_mb'))})",
        "",
        md_table(
            [
                "partners",
                "activity rows",
                "rows",
                "text MB",
                "wall s",
                "rows/s",
                "activity rows/s",
                "peak RSS",
                "private",
                "private above idle",
                "peak RSS / text",
                "private / text",
                "private above idle / text",
                "env",
            ],
            rows,
        ),  # fmt: skip
    ]
    first, last = series[0], series[-1]
    if len(series) > 1 and first["cli"].get("peak_private_mb") is not None:
        parts += [
            "",
            f"From {first['text_mb']:.0f} to {last['text_mb']:.0f} MB of text "
            f"({last['text_mb'] / first['text_mb']:.1f}x): peak RSS {first['cli']['peak_rss_mb']:.0f} -> "
            f"{last['cli']['peak_rss_mb']:.0f} MB ({last['cli']['peak_rss_mb'] - first['cli']['peak_rss_mb']:+.0f}), "
            f"private {first['cli']['peak_private_mb']:.0f} -> {last['cli']['peak_private_mb']:.0f} MB "
            f"({last['cli']['peak_private_mb'] - first['cli']['peak_private_mb']:+.0f}).",
        ]

    def cell(v: dict[str, Any]) -> str:
        if v["met"] is None:
            return "not measured"
        return f"{'MET' if v['met'] else 'NOT MET'} ({v['ratios']['csv']:.2f}x)"

    verdicts = report["verdicts"]
    parts += [
        "",
        f"Verdict at each size: well under the size of the data as text, read as <= {WELL_UNDER:g} x the text",
        "",
        md_table(
            ["partners", "text MB", "bar MB", "(a) total peak RSS", "(b) private above idle", "RSS above idle (ref.)"],
            [
                [
                    f"{entry['partners']:,}",
                    f"{entry['text_mb']:.1f}",
                    f"{WELL_UNDER * entry['text_mb']:.0f}",
                    *(cell(verdicts[str(entry["partners"])][key]) for key in VERDICT_KEYS),
                ]
                for entry in series
            ],
        ),
    ]
    parts += ["", f"Total wall time of the benchmark {report['wall_s']:.0f} s."]
    return "\n".join(parts)
