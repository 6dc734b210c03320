"""bench_browser's report: the baseline's two halves pooled, each page's ratio to it, the
target's verdict, and the Markdown tables printed at the end of a run.
"""

from __future__ import annotations

from typing import Any

from bench_common import md_table
from browser_moves import COUNTS, FIGURES, count_stats, stats
from browser_pages import (
    LABELS,
    TARGET_PAGES,
    TARGET_RATIO,
    TARGET_SIZE,
    WEEKLY_PAGES,
    WEEKLY_RATIO,
    WHATIF_PAGES,
    WHATIF_RATIO,
)


def mm(fig: dict[str, Any]) -> str:
    return "-" if fig["median_ms"] is None else f"{fig['median_ms']:.0f} / {fig['max_ms']:.0f}"


def med(fig: dict[str, Any]) -> str:
    return "-" if fig["median_ms"] is None else f"{fig['median_ms']:.0f}"


def pooled(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, Any] | None:
    """Two baseline runs pooled figure by figure (the raw moves stay in the runs)."""
    if a is None or b is None:
        return None
    return {
        **{name: stats(a[name]["samples_ms"] + b[name]["samples_ms"]) for name in FIGURES},
        **{name: count_stats([m[name] for m in a["moves"] + b["moves"]]) for name in COUNTS},
    }


def merge_baselines(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {**pooled(before, after), "fresh": pooled(before["fresh"], after["fresh"])}  # type: ignore[dict-item]


def ratios(fig: dict[str, Any], baseline: dict[str, Any]) -> dict[str, float | None]:
    def ratio(name: str) -> float | None:
        a, b = fig[name]["median_ms"], baseline[name]["median_ms"]
        return None if a is None or not b else a / b

    return {"text": ratio("text_ms"), "idle": ratio("idle_ms")}


def add_ratios(sizes: list[dict[str, Any]], baseline: dict[str, Any]) -> None:
    for size in sizes:
        for fig in size["pages"].values():
            fig["ratio_to_baseline"] = ratios(fig, baseline)
            if fig["fresh"] and baseline["fresh"]:
                fig["fresh"]["ratio_to_baseline"] = ratios(fig["fresh"], baseline["fresh"])


def evaluate_target(sizes: list[dict[str, Any]], baseline: dict[str, Any]) -> dict[str, Any]:
    at_target = [s for s in sizes if s["partners"] == TARGET_SIZE]
    if not at_target:
        return {"met": None, "detail": "", "whatif": {"met": None, "detail": ""}, "weekly": {"met": None, "detail": ""}}
    pages = at_target[0]["pages"]
    idle = {p: pages[p]["ratio_to_baseline"]["idle"] for p in pages}
    text = {p: pages[p]["ratio_to_baseline"]["text"] for p in pages}
    verdict_on = [idle[p] for p in TARGET_PAGES if p in idle]
    return {
        # Overview and Tiers as opened (its list tab) give the verdict; a run without both gives none
        "met": all(r is not None and r <= TARGET_RATIO for r in verdict_on)
        if len(verdict_on) == len(TARGET_PAGES)
        else None,
        "idle_ratios": idle,
        "text_ratios": text,
        "detail": ", ".join(
            f"{LABELS[p]} {pages[p]['idle_ms']['median_ms']:.0f} ms = {idle[p]:.1f}x "
            f"of {baseline['idle_ms']['median_ms']:.0f} ms"
            for p in pages
        ),
        "whatif": evaluate_ratio(idle, WHATIF_PAGES, WHATIF_RATIO),
        "weekly": evaluate_ratio(idle, WEEKLY_PAGES, WEEKLY_RATIO),
    }


def evaluate_ratio(idle: dict[str, float | None], targets: tuple[str, ...], limit: float) -> dict[str, Any]:
    """A target of some pages (the what-if pages, the Weekly review): each page measured within
    `limit` times the one-slider page; None when the run measured none of them."""
    measured = [p for p in targets if p in idle]
    return {
        "met": all(idle[p] is not None and idle[p] <= limit for p in measured) if measured else None,
        "pages": {p: idle[p] is not None and idle[p] <= limit for p in measured},
        "detail": ", ".join(
            f"{LABELS[p]} {x(idle[p])} ({'met' if idle[p] <= limit else 'not met'})"
            for p in measured
            if idle[p] is not None
        ),
    }


def x(r: float | None) -> str:
    return "-" if r is None else f"{r:.1f}x"


def render(report: dict[str, Any]) -> str:
    m = report["machine"]
    base = report["baseline"]
    main_rows = [
        ["-", "one-slider (baseline)", "alternating", mm(base["text_ms"]), mm(base["idle_ms"]), "1.0x", "1.0x"]
    ]
    for label, key in (
        ("  measured before the app", "baseline_before"),
        ("  measured after the app", "baseline_after"),
    ):
        b = report[key]
        main_rows.append(["-", label, "alternating", mm(b["text_ms"]), mm(b["idle_ms"]), "", ""])
    if base["fresh"]:
        main_rows.append(
            [
                "-",
                "one-slider (baseline)",
                "new value",
                mm(base["fresh"]["text_ms"]),
                mm(base["fresh"]["idle_ms"]),
                "1.0x",
                "1.0x",
            ]
        )
    breakdown_rows = [breakdown_row("-", "baseline", "alternating", base)]
    if base["fresh"]:
        breakdown_rows.append(breakdown_row("-", "baseline", "new value", base["fresh"]))
    for size in report["sizes"]:
        n = f"{size['partners']:,}"
        for page_name in size["pages"]:
            fig = size["pages"][page_name]
            for kind, f in (("alternating", fig), ("new value", fig["fresh"])):
                if f is None:
                    continue
                r = f["ratio_to_baseline"]
                main_rows.append(
                    [n, LABELS[page_name], kind, mm(f["text_ms"]), mm(f["idle_ms"]), x(r["text"]), x(r["idle"])]
                )
                breakdown_rows.append(breakdown_row(n, LABELS[page_name], kind, f))
    main_table = md_table(
        ["partners", "page", "move", "key to text ms", "key to idle ms", "text vs baseline", "idle vs baseline"],
        main_rows,
    )
    breakdown_table = md_table(
        [
            "partners",
            "page",
            "move",
            "request sent",
            "script start",
            "script ms",
            "GC ms",
            "GC end",
            "finished sent",
            "finished in page",
            "long tasks ms",
            "text",
            "idle",
            "settled",
            "KB in",
        ],
        breakdown_rows,
    )
    target = report["target"]
    verdict = (
        "n/a (needs the 20,000-partner size, Overview and Tiers)"
        if target["met"] is None
        else ("MET" if target["met"] else "NOT MET") + f" ({target['detail']})"
    )
    checks = []
    for size in report["sizes"]:
        for page_name in size["pages"]:
            fig = size["pages"][page_name]
            lo, hi = (str(v) for v in fig["values"])
            checks.append(
                f"{size['partners']:,} {page_name}, Trainings needed {lo} <-> {hi}: "
                f"{fig['texts'][lo]!r} <-> {fig['texts'][hi]!r}"
            )
            if fig.get("shown_texts"):
                shown = fig["shown_texts"]
                checks.append(
                    f"{size['partners']:,} {page_name}, the comparison at both values: {shown[lo]!r} <-> {shown[hi]!r}"
                )
    fresh_n = report["args"]["fresh"]
    return "\n".join(
        [
            f"Machine: {m['cpus_usable']} usable CPUs (nproc {m['nproc']}), {m['platform']}; Python {m['python']}; "
            f"Chromium {m['chromium']}; "
            + ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
            + f"; commit {m['git'].get('commit', '?')}{' (dirty tree)' if m['git'].get('dirty') else ''}; "
            f"load average {report['load_average'][0]:.1f} at the start, {report['load_average'][1]:.1f} at the end.",
            f"Figures are median / max in ms after the key press: *alternating* over {report['args']['repeat']} moves "
            f"(baseline: {2 * report['args']['repeat']}, before and after the app), *new value* over {fresh_n} moves "
            f"(baseline: {2 * fresh_n}).",
            *(
                [
                    "Diagnosis run (--skip-element): the app drew an empty placeholder instead of "
                    + ", ".join(f"st.{name}" for name in report["args"]["skip_elements"])
                    + "; not the app as it is."
                ]
                if report["args"].get("skip_elements")
                else []
            ),
            "",
            "Slider move, key press to screen (Chromium, real `streamlit run`)",
            "",
            main_table,
            "",
            "Where the time goes (medians; times in ms after the key press, script / GC / browser busy are durations)",
            "",
            breakdown_table,
            "",
            "Watched text (checked on every alternating move):",
            *[f"- {c}" for c in checks],
            "",
            f"Target (idle at 20,000 partners <= {TARGET_RATIO:.0f}x the one-slider page, alternating moves, "
            f"Overview and Tiers as opened, on its list tab): {verdict}",
            *whatif_lines(target),
            f"Total wall time {report['wall_s']:.0f} s.",
        ]
    )


def whatif_lines(target: dict[str, Any]) -> list[str]:
    """The what-if and the Weekly review verdicts, in a run that measured such a page at 20,000 partners."""
    lines = []
    for key, name, limit, what in (
        ("whatif", "What-if", WHATIF_RATIO, "the comparison shown at both values"),
        ("weekly", "Weekly review", WEEKLY_RATIO, "the review of both values cached after the warm-up"),
    ):
        verdict = target.get(key) or {}
        if verdict.get("met") is None:
            continue
        lines.append(
            f"{name} target (idle at 20,000 partners <= {limit}x the one-slider page, alternating moves, "
            f"{what}): {'MET' if verdict['met'] else 'NOT MET'} ({verdict['detail']})"
        )
    return lines


def breakdown_row(partners: str, page_name: str, kind: str, fig: dict[str, Any]) -> list[str]:
    return [
        partners,
        page_name,
        kind,
        med(fig["request_sent_ms"]),
        med(fig["server_run_start_ms"]),
        med(fig["server_script_ms"]),
        med(fig["server_gc_ms"]),
        med(fig["server_gc_end_ms"]),
        med(fig["server_finished_sent_ms"]),
        med(fig["finished_in_ms"]),
        med(fig["browser_long_tasks_ms"]),
        med(fig["text_ms"]),
        med(fig["idle_ms"]),
        med(fig["settled_ms"]),
        f"{fig['bytes_in']['median'] / 1024:.0f}",
    ]
