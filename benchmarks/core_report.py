"""bench_core's report: the Markdown tables of a run and the verdict on its two targets."""

from __future__ import annotations

from typing import Any

from bench_common import md_table
from core_engine import THRESHOLD_VIEWS

TARGET_SIZE = 20_000
TARGET_RATIO = 2.0


def ms(fig: dict[str, Any]) -> str:
    return f"{fig['median_ms']:.1f} / {fig['max_ms']:.1f}"


def render(report: dict[str, Any]) -> str:
    sizes = report["sizes"]
    m = report["machine"]
    parts = [
        f"Machine: {m['cpus_usable']} usable CPUs (nproc {m['nproc']}), {m['memory_gb'] or 0:.1f} GB RAM, "
        f"{m['platform']}; "
        f"Python {m['python']}; "
        + ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
        + f"; commit {m['git'].get('commit', '?')}{' (dirty tree)' if m['git'].get('dirty') else ''}.",
        f"Figures are median / max over {report['args']['repeat']} runs, in ms unless marked s.",
        "",
        "Build (demo data, child process)",
        "",
        md_table(
            ["partners", "activities", "deals", "investments", "users", "generate s", "validate s", "write s", "DB MB"],
            [
                [
                    f"{s['build']['partners']:,}",
                    f"{s['build']['rows']['activities']:,}",
                    f"{s['build']['rows']['deals']:,}",
                    f"{s['build']['rows']['investments']:,}",
                    f"{s['build']['rows']['partner_users']:,}",
                    f"{s['build']['generate_s']:.2f}",
                    f"{s['build']['validate_s']:.2f}",
                    f"{s['build']['write_s']:.2f}",
                    f"{s['build']['db_mb']:.0f}",
                ]
                for s in sizes
            ],
        ),
        "",
        "Engine",
        "",
        md_table(
            [
                "partners",
                "population",
                "event scan cold",
                "event scan warm",
                "threshold change",
                "scan / threshold",
                "DuckDB statements in threshold changes",
            ],
            [
                [
                    f"{s['build']['partners']:,}",
                    f"{s['engine']['population']:,}",
                    ms(s["engine"]["facts_cold"]),
                    ms(s["engine"]["facts_warm"]),
                    ms(s["engine"]["threshold_change"]),
                    f"{s['engine']['scan_to_threshold_ratio']:.0f}x",
                    f"{s['engine']['proof_no_rescan']['statements']}"
                    f" ({'proof holds' if s['engine']['proof_no_rescan']['holds'] else 'PROOF FAILS'})",
                ]
                for s in sizes
            ],
        ),
        "",
        "Threshold change by view (median / max)",
        "",
        md_table(
            ["view", *[f"{s['build']['partners']:,} partners" for s in sizes]],
            [[name, *[ms(s["engine"]["threshold_change_by_view"][name]) for s in sizes]] for name in THRESHOLD_VIEWS],
        ),
        "",
        "Page rerun (AppTest, script run to last message)",
        "",
    ]
    base = report["baselines"]["one_slider"]
    rows = [
        ["-", "one-slider script (baseline)", "slider move", ms(base), "1.0x", "0"],
        ["-", "  measured before the pages", "slider move", ms(report["baselines"]["one_slider_before"]), "", ""],
        ["-", "  measured after the pages", "slider move", ms(report["baselines"]["one_slider_after"]), "", ""],
    ]

    def stmts(fig: dict[str, Any]) -> str:
        return "/".join(str(c) for c in sorted(set(fig["statements_per_run"])))

    def ratio(fig: dict[str, Any]) -> str:
        return f"{fig['median_ms'] / base['median_ms']:.1f}x"

    for s in sizes:
        p = s["pages"]
        n = f"{s['build']['partners']:,}"
        rows += [
            [
                n,
                "frame only (sidebar, no page)",
                "threshold slider",
                ms(p["frame_only"]),
                ratio(p["frame_only"]),
                stmts(p["frame_only"]),
            ],
            [
                n,
                "Overview",
                "first load",
                f"{1000 * p['first_load']['seconds']:.0f}",
                "",
                str(p["first_load"]["statements"]),
            ],
            [n, "Overview", "threshold slider", ms(p["overview"]), ratio(p["overview"]), stmts(p["overview"])],
            [
                n,
                "Overview",
                "window, new value",
                ms(p["overview_window"]["new_value"]),
                ratio(p["overview_window"]["new_value"]),
                stmts(p["overview_window"]["new_value"]),
            ],
            [
                n,
                "Overview",
                "window, visited value",
                ms(p["overview_window"]["visited_value"]),
                ratio(p["overview_window"]["visited_value"]),
                stmts(p["overview_window"]["visited_value"]),
            ],
            [
                n,
                "Tiers",
                "switch from Overview",
                f"{1000 * p['switch_to_tiers']['seconds']:.0f}",
                "",
                str(p["switch_to_tiers"]["statements"]),
            ],
            [n, "Tiers (list tab)", "threshold slider", ms(p["tiers"]), ratio(p["tiers"]), stmts(p["tiers"])],
            [
                n,
                "Tiers",
                "window, new value",
                ms(p["tiers_window"]["new_value"]),
                ratio(p["tiers_window"]["new_value"]),
                stmts(p["tiers_window"]["new_value"]),
            ],
            [
                n,
                "Tiers",
                "window, visited value",
                ms(p["tiers_window"]["visited_value"]),
                ratio(p["tiers_window"]["visited_value"]),
                stmts(p["tiers_window"]["visited_value"]),
            ],
            [
                n,
                "Tiers (chart tab)",
                "threshold slider",
                ms(p["tiers_chart"]),
                ratio(p["tiers_chart"]),
                stmts(p["tiers_chart"]),
            ],
        ]
    parts.append(
        md_table(["partners", "script / page", "rerun after", "ms median / max", "vs baseline", "DuckDB stmts"], rows)
    )
    t = report["target"]
    parts += [
        "",
        "Target",
        "",
        f"- A threshold change never rescans activities: {'MET' if t['no_rescan']['met'] else 'NOT MET'} "
        f"({t['no_rescan']['detail']}).",
        f"- Page rerun at {TARGET_SIZE:,} partners <= {TARGET_RATIO:g}x the one-slider rerun: "
        + (
            "not evaluated (size not run)"
            if t["rerun_ratio"]["met"] is None
            else ("MET" if t["rerun_ratio"]["met"] else "NOT MET")
        )
        + (f" ({t['rerun_ratio']['detail']})." if t["rerun_ratio"]["detail"] else "."),
        "",
        f"Peak RSS: benchmark process (engine + app) {report['peak_rss_mb']['self']:.0f} MB; "
        f"largest build child {report['peak_rss_mb']['children']:.0f} MB. "
        f"Total wall time {report['wall_s']:.0f} s.",
    ]
    return "\n".join(parts)


def evaluate_target(sizes: list[dict[str, Any]], baseline: dict[str, Any]) -> dict[str, Any]:
    engine_ok = all(s["engine"]["proof_no_rescan"]["holds"] for s in sizes)
    moves = [s["pages"][page] for s in sizes for page in ("overview", "tiers", "tiers_chart")]
    app_stmts = sum(sum(f["statements_per_run"]) for f in moves)
    no_rescan = {
        "met": engine_ok and app_stmts == 0,
        "detail": f"engine: {'0 statements with the connection closed' if engine_ok else 'statements seen'}; "
        f"app: {app_stmts} DuckDB statements over {sum(f['n'] for f in moves)} timed slider reruns",
    }
    at_target = [s for s in sizes if s["build"]["partners"] == TARGET_SIZE]
    if not at_target:
        return {"no_rescan": no_rescan, "rerun_ratio": {"met": None, "detail": ""}}
    pages = at_target[0]["pages"]
    ratios = {page: pages[page]["median_ms"] / baseline["median_ms"] for page in ("overview", "tiers")}
    return {
        "no_rescan": no_rescan,
        "rerun_ratio": {
            "met": all(r <= TARGET_RATIO for r in ratios.values()),
            "ratios": ratios,
            "baseline_median_ms": baseline["median_ms"],
            "detail": ", ".join(
                f"{page} {pages[page]['median_ms']:.0f} ms = {r:.1f}x of {baseline['median_ms']:.1f} ms"
                for page, r in ratios.items()
            ),
        },
    }
