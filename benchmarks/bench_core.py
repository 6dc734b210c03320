"""Speed benchmark of Channel KPI Explorer: engine and page reruns on demo data.

Run from the repository root:

    python benchmarks/bench_core.py [--sizes 2000 20000] [--repeat N] [--out FILE.json] [--profile]

For each size it builds a demo database (`kpi.demo.generate` -> `kpi.validate.validate_frames`
-> `kpi.store.write_dataset`, in a child process so the build's memory peak stays apart
from the app's), then measures

- the engine: the event scan (`metrics.partner_facts`, cold and warm DuckDB) and a threshold
  change (`segment` + `summarize` + `tier_breakdown` on computed facts) for several views,
  with the proof that a threshold change sends no statement to DuckDB;
- the app under `streamlit.testing.v1.AppTest`: the rerun after a threshold slider move on
  the Overview and Tiers pages, a lookback-window change (new value: rescans; visited value:
  cached), against the same rerun of a one-slider Streamlit script.

It prints Markdown tables and writes every figure, raw samples included, to a JSON file.
See benchmarks/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench_common import OUT_DIR, PACKAGES, machine, peak_rss_mb, write_report
from core_build import build, build_one
from core_engine import bench_engine
from core_pages import bench_baseline, bench_pages, merge_runs, profile_reruns, warm_process
from core_report import TARGET_SIZE, evaluate_target, render

ONE_SLIDER = 'import streamlit as st\nv = st.slider("x", 0, 10, 1, key="x")\nst.write(v)\n'
FRAME_ONLY = "from ui import frame\nfrom ui.data import open_dataset\n\nframe.build(open_dataset())\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2_000, TARGET_SIZE], help="partners per dataset")
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per figure (default 15)")
    parser.add_argument("--out", type=Path, default=OUT_DIR / "bench_core.json", help="JSON report file")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=OUT_DIR, help="where the databases go (git-ignored)")
    parser.add_argument(
        "--profile", action="store_true", help="also cProfile threshold reruns of both pages at the largest size"
    )
    parser.add_argument("--build-one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.build_one is not None:  # child process of `build`
        print(json.dumps(build_one(args.build_one, args.seed, args.db)))
        return 0
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    started = time.perf_counter()
    args.workdir.mkdir(parents=True, exist_ok=True)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    # Import the app's modules now, so the first page measured does not pay for them.
    import streamlit.logger
    import streamlit.testing.v1  # noqa: F401
    from streamlit import config as st_config

    # AppTest runs without a server, and Streamlit warns about that on every session.
    st_config.set_option("logger.level", "error")
    streamlit.logger.set_log_level("error")

    import ui.charts  # noqa: F401
    import ui.data  # noqa: F401
    import ui.frame  # noqa: F401

    sizes: list[dict[str, Any]] = []
    for n in args.sizes:
        print(f"[{n:,} partners] build", flush=True)
        built = build(n, args.seed, args.workdir / f"bench-{n}.duckdb")
        print(f"[{n:,} partners] engine", flush=True)
        engine = bench_engine(Path(built["db"]), args.repeat)
        sizes.append({"build": built, "engine": engine, "peak_rss_mb_after_engine": peak_rss_mb()})

    with tempfile.TemporaryDirectory(prefix="bench-scripts-") as tmp:
        scripts = {"one_slider": Path(tmp) / "one_slider.py", "frame_only": Path(tmp) / "frame_only.py"}
        scripts["one_slider"].write_text(ONE_SLIDER)
        scripts["frame_only"].write_text(FRAME_ONLY)
        print("[warm-up] one untimed app session", flush=True)
        warm_process(Path(min(sizes, key=lambda s: s["build"]["partners"])["build"]["db"]))
        # The baseline is measured before and after the pages, and the two merged, so a
        # drift of the machine during the run shows (and is averaged out of the ratio).
        print("[baseline] one-slider script", flush=True)
        before = bench_baseline(scripts["one_slider"], args.repeat)
        for entry in sizes:
            n = entry["build"]["partners"]
            print(f"[{n:,} partners] pages", flush=True)
            entry["pages"] = bench_pages(Path(entry["build"]["db"]), scripts, args.repeat)
        print("[baseline] one-slider script, again", flush=True)
        after = bench_baseline(scripts["one_slider"], args.repeat)
        baselines = {"one_slider": merge_runs(before, after), "one_slider_before": before, "one_slider_after": after}

    profile = None
    if args.profile:
        largest = max(sizes, key=lambda s: s["build"]["partners"])
        print(f"[{largest['build']['partners']:,} partners] profile", flush=True)
        profile = profile_reruns(Path(largest["build"]["db"]), moves=5, top=25)

    report = {
        "benchmark": "bench_core",
        "generated_at": datetime.now().isoformat(timespec="seconds"),
        "args": {"sizes": args.sizes, "repeat": args.repeat, "seed": args.seed},
        "machine": machine(PACKAGES),
        "sizes": sizes,
        "baselines": baselines,
        "target": evaluate_target(sizes, baselines["one_slider"]),
        "profile": profile,
        "peak_rss_mb": {"self": peak_rss_mb(), "children": peak_rss_mb(resource.RUSAGE_CHILDREN)},
        "wall_s": time.perf_counter() - started,
    }
    write_report(report, render(report), args.out)
    if profile:
        for page, p in profile.items():
            print(
                f"\nProfile of a {page} threshold rerun (script thread, under cProfile "
                f"{p['profiled_rerun_median_ms']:.0f} ms a rerun): {p['file']}"
            )
            print("  project code, cumulative ms a rerun:")
            for row in p["project_cumulative_ms_per_rerun"][:12]:
                print(f"  {row['cum_ms']:8.1f}  {row['function']}")
            print("  Streamlit element calls, cumulative ms a rerun:")
            for row in p["streamlit_elements_cumulative_ms_per_rerun"][:8]:
                print(f"  {row['cum_ms']:8.1f}  {row['function']}")
            print("  hottest functions, own ms a rerun:")
            for row in p["top_own_ms_per_rerun"][:10]:
                print(f"  {row['tot_ms']:8.1f}  {row['function']}")
    print(f"\nJSON report: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
