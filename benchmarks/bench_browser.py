"""What a person feels: a sidebar slider move timed in a real browser, key press to screen.

Run from the repository root:

    python benchmarks/bench_browser.py [--sizes 2000 20000] [--repeat 15] [--out FILE.json]

`bench_core.py` times the script run under AppTest (no server, no websocket, no browser).
This benchmark starts the real server (`streamlit run`, headless) and drives Chromium with
Playwright, for both sides of the target ("a page rerun at 20,000 partners stays within twice
the time Streamlit needs for a one-slider page"):

- the baseline: a one-slider script (`st.slider` + `st.write(f"value {v}")`), measured
  before and after the app;
- the app on the bench_core demo database of each size: the "Trainings needed" sidebar
  slider on the Overview page (watching the "Activation" metric) and on the Tiers page
  (watching the "N of N partners shown: reward X ..." line), on each of its two tabs: the
  partner list (the page as opened, read for the target) and the engagement chart;
- the same with the comparison against the policy shown at both values of the move (the
  what-if target, 1.5x): Overview and Tiers opened with `?min_deals=2` (each move also
  checks that the comparison is on the page), and the What-if page (watching the "Against
  the base" line, "... N partners change tier ...");
- the Weekly review page (the weekly review's target, 1.5x too), watching the story's first
  sentence ("Activation rose 1.0 points to 39.8%. ..."); each move also checks that the
  "Activated partners" card is on the page.

Every move is a real key press on the focused slider thumb: `--repeat` moves alternating
ArrowRight / ArrowLeft between two values (each a real change; the watched text is checked
against the value's text every time), then `--fresh` ArrowRight moves to values the session
has not shown yet (Streamlit's browser-side message cache cannot help there). Inside the
page, `performance.now()` is taken in a capturing keydown listener (the press as the page
sees it), then

- **text**: the animation frame after the watched text changed in the DOM (a
  MutationObserver sees the change; that frame is when it can be on screen);
- **idle**: the animation frame after the rerun's `script_finished` message arrived on the
  websocket and the app shows `data-test-script-state="notRunning"` (the status widget's
  running icon only appears after 500 ms, so it is not a usable signal);
- **settled**: the last DOM mutation before 300 ms without any (charts still being redrawn).

The server is `streamlit run` started through a small launcher (browser_server.py) that
timestamps, with the wall clock, the rerun request arriving, the script run, the garbage
collection Streamlit runs after every script run (`runner.postScriptGC`) and the
`script_finished` message handed to the websocket. The page's `performance.timeOrigin` puts
those on the key press's time line (same machine, same clock), which shows where the time
goes: browser before the request, server script, server after the script, websocket,
browser rendering (main-thread tasks over 50 ms, from the Long Tasks API).

It prints Markdown tables and writes every figure, raw samples included, to a JSON file.
See benchmarks/README.md, section "bench_browser.py: slider move to screen".
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import browser_server
from bench_common import machine, write_report
from browser_page import CHROMIUM, CHROMIUM_ARGS, Tab
from browser_pages import PAGES, TARGET_SIZE, measure_app, measure_baseline
from browser_report import add_ratios, evaluate_target, merge_baselines, render
from core_build import database

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "benchmarks" / "out"
PACKAGES = ("streamlit", "playwright", "polars", "duckdb", "altair", "pyarrow")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--serve"]:  # the server launcher (child process)
        return browser_server.main(argv)

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2_000, TARGET_SIZE], help="partners per dataset")
    parser.add_argument("--repeat", type=int, default=15, help="timed moves per figure (default 15)")
    parser.add_argument("--out", type=Path, default=OUT_DIR / "bench_browser.json", help="JSON report file")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=OUT_DIR, help="databases and server logs (git-ignored)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed moves before the timed ones (default 2)")
    parser.add_argument(
        "--fresh", type=int, default=4, help="moves to values the session has not shown yet, after the timed ones"
    )
    parser.add_argument(
        "--network-timing",
        action="store_true",
        help="also time websocket frames at the browser's network layer (DevTools protocol; adds load)",
    )
    parser.add_argument(
        "--pages", nargs="+", choices=list(PAGES), default=list(PAGES), help="pages to measure (default: all)"
    )
    parser.add_argument("--quiet-ms", type=int, default=300, help="DOM quiet time that ends a move (default 300)")
    parser.add_argument(
        "--streamlit-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra `streamlit run` option for every server, e.g. runner.postScriptGC=false (repeatable)",
    )
    parser.add_argument(
        "--skip-element",
        action="append",
        default=[],
        metavar="NAME",
        help="diagnosis: the app draws an empty placeholder instead of every st.NAME, e.g. vega_lite_chart "
        "or dataframe, to see what that element costs (repeatable; the baseline is not changed)",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install -y chromium")

    def on_sigterm(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)  # unwinds through the finally blocks that stop the servers

    signal.signal(signal.SIGTERM, on_sigterm)
    Tab.network_timing = args.network_timing

    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    args.workdir.mkdir(parents=True, exist_ok=True)
    logs = args.workdir / "bench_browser_logs"
    logs.mkdir(exist_ok=True)
    dbs = [database(n, args.seed, args.workdir) for n in args.sizes]

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            common = {"repeat": args.repeat, "warmup": args.warmup, "fresh": args.fresh, "quiet_ms": args.quiet_ms}
            options = args.streamlit_option
            print("[baseline] one-slider script", flush=True)
            before = measure_baseline(browser, logs, "baseline-before", options=options, **common)
            sizes = []
            for db in dbs:
                print(f"[{db['partners']:,} partners] app", flush=True)
                pages = measure_app(
                    browser, Path(db["db"]), logs, options=options, pages=args.pages, skip=args.skip_element, **common
                )
                sizes.append({**db, "pages": pages})
            print("[baseline] one-slider script, again", flush=True)
            after = measure_baseline(browser, logs, "baseline-after", options=options, **common)
            browser_version = browser.version
        finally:
            browser.close()

    baseline = merge_baselines(before, after)
    add_ratios(sizes, baseline)
    target = evaluate_target(sizes, baseline)
    report = {
        "benchmark": "bench_browser",
        "generated_at": datetime.now().isoformat(timespec="seconds"),
        "args": {
            "sizes": args.sizes,
            "repeat": args.repeat,
            "seed": args.seed,
            "warmup": args.warmup,
            "fresh": args.fresh,
            "quiet_ms": args.quiet_ms,
            "pages": args.pages,
            "network_timing": args.network_timing,
            "streamlit_options": args.streamlit_option,
            "skip_elements": args.skip_element,
        },
        "machine": machine(PACKAGES, chromium=browser_version),
        "load_average": [load_start, os.getloadavg()[0]],
        "baseline": baseline,
        "baseline_before": before,
        "baseline_after": after,
        "sizes": sizes,
        "target": target,
        "wall_s": time.perf_counter() - started,
    }
    write_report(report, render(report), args.out)
    print(f"\nJSON report: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
