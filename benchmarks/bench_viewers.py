"""Many viewers at once: N browser sessions on one app server, each moving the Overview's
"Trainings needed" slider while the others do, a move every second or so.

    python benchmarks/bench_viewers.py                           # 1, 5, 10 and 20 sessions at 20,000 partners
    python benchmarks/bench_viewers.py --sessions 1 5 --moves 10 # a quick check

Each session is a fresh browser context on the Overview. In every page, a loop of its own (so
the sessions move at the same time, not one after another in Playwright) waits a random
0.5-1.5 s, presses the arrow key on the slider (alternating right and left) and times the
press to the `script_finished` message of the rerun reaching the page's websocket (`rerun
end`). A move with no rerun end within 30 s, a page showing an exception or a rerun stopped
early count as errors. The server and Chromium share the machine's cores, as a meeting's
laptops do not: the figures are an upper bound. Target: no error at 20 sessions, and the p50 at
10 sessions within 3x the p50 of one session, measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import OUT_DIR, machine, md_table, write_report  # noqa: E402
from browser_page import CHROMIUM, CHROMIUM_ARGS, Tab, page_ready  # noqa: E402
from browser_server import running_server  # noqa: E402
from core_build import database  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WATCH = {"kind": "metric", "label": "Activation"}
TARGET_SESSIONS, TARGET_RATIO = 10, 3.0

LOOP_JS = r"""
([moves, label]) => {
  const B = window.__bench;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const thumb = () => {
    for (const s of document.querySelectorAll('[data-testid="stSidebar"] [data-testid="stSlider"]')) {
      if (s.textContent.includes(label)) return s.querySelector('input[type="range"], [role="slider"]');
    }
    return null;
  };
  B.loop = { done: false, times: [], errors: [] };
  (async () => {
    for (let i = 0; i < moves; i++) {
      await sleep(500 + Math.random() * 1000);
      const t = thumb();
      if (!t) { B.loop.errors.push("no slider"); continue; }
      const mark = B.ws.length, t0 = performance.now();
      t.focus();
      t.dispatchEvent(new KeyboardEvent("keydown", { key: i % 2 ? "ArrowLeft" : "ArrowRight", bubbles: true }));
      let end = null;
      while (end === null && performance.now() - t0 < 30000) {
        await sleep(5);
        const m = B.ws.slice(mark).find((x) => x.dir === "in" && x.finished !== null && x.t >= t0);
        if (m) end = m;
      }
      if (end === null) B.loop.errors.push(`move ${i}: no rerun end within 30 s`);
      else if (end.finished === 2) B.loop.errors.push(`move ${i}: rerun stopped early`);
      else B.loop.times.push(end.t - t0);
      if (document.querySelector('[data-testid="stException"]')) B.loop.errors.push(`move ${i}: exception shown`);
    }
    B.loop.done = true;
  })();
  return null;
}
"""


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run_sessions(browser: Any, base: str, sessions: int, moves: int) -> dict[str, Any]:
    tabs = [Tab(browser) for _ in range(sessions)]
    try:
        for tab in tabs:  # opened one after another: the fresh-link figure is bench_browser's
            tab.page.goto(base)
            page_ready(tab.page, WATCH, quiet_ms=300)
        started = time.monotonic()
        for tab in tabs:
            tab.page.evaluate(LOOP_JS, [moves, "Trainings needed"])
        while not all(tab.page.evaluate("window.__bench.loop.done") for tab in tabs):
            if time.monotonic() - started > 60 + moves * 35:
                raise RuntimeError("the sessions never finished their moves")
            time.sleep(0.5)
        times: list[float] = []
        errors: list[str] = []
        for tab in tabs:
            loop = tab.page.evaluate("window.__bench.loop")
            times += loop["times"]
            errors += loop["errors"]
        return {
            "sessions": sessions,
            "moves": len(times) + len(errors),
            "errors": errors,
            "p50_ms": percentile(times, 50),
            "p90_ms": percentile(times, 90),
            "p99_ms": percentile(times, 99),
            "mean_ms": statistics.fmean(times) if times else None,
            "samples_ms": times,
            "wall_s": time.monotonic() - started,
        }
    finally:
        for tab in tabs:
            tab.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20_000, help="partners (bench_core's database, built if missing)")
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 5, 10, 20])
    parser.add_argument("--moves", type=int, default=20, help="moves per session")
    parser.add_argument("--workdir", type=Path, default=OUT_DIR)
    parser.add_argument("--out", type=Path, default=OUT_DIR / "bench_viewers.json")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    db = database(args.size, 7, args.workdir)["db"]
    env = {**os.environ, "KPI_DB": str(db)}
    results = []
    with (
        running_server(ROOT / "app.py", ROOT, env, args.workdir, "viewers", []) as server,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        warm = Tab(browser)  # fills the caches for the view every session opens
        warm.page.goto(server.base)
        page_ready(warm.page, WATCH)
        warm.close()
        for n in args.sessions:
            print(f"[{n} session(s)] {args.moves} moves each", flush=True)
            results.append(run_sessions(browser, server.base, n, args.moves))
        browser.close()

    single = next((r["p50_ms"] for r in results if r["sessions"] == 1), None)
    rows = []
    for r in results:
        ratio = r["p50_ms"] / single if single and r["p50_ms"] else None
        r["p50_vs_one"] = ratio
        rows.append(
            [
                str(r["sessions"]),
                str(r["moves"]),
                str(len(r["errors"])),
                *(f"{r[k]:.0f}" if r[k] is not None else "-" for k in ("p50_ms", "p90_ms", "p99_ms")),
                f"{ratio:.1f}x" if ratio else "-",
            ]
        )
    text = (
        f"Many viewers: Overview at {args.size:,} partners, one server, slider moves in every session at once\n\n"
        + md_table(["sessions", "moves", "errors", "p50 ms", "p90 ms", "p99 ms", "p50 vs one session"], rows)
    )
    at_target = next((r for r in results if r["sessions"] == TARGET_SESSIONS), None)
    largest = max(results, key=lambda r: r["sessions"])
    verdicts = []
    if at_target and at_target["p50_vs_one"] is not None:
        met = at_target["p50_vs_one"] <= TARGET_RATIO
        verdicts.append(
            f"p50 at {TARGET_SESSIONS} sessions within {TARGET_RATIO:g}x one session: "
            f"{'met' if met else 'NOT MET'} ({at_target['p50_vs_one']:.1f}x)"
        )
    verdicts.append(
        f"no error at {largest['sessions']} sessions: {'met' if not largest['errors'] else 'NOT MET'} "
        f"({len(largest['errors'])} errors{': ' + largest['errors'][0] if largest['errors'] else ''})"
    )
    text += "\n\n" + "\n".join(verdicts) + "\n"
    report = {"machine": machine(), "size": args.size, "results": results}
    write_report(report, text, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
