"""The Data page's load path, end to end: upload the five tables in Chromium, check, load.

Run from the repository root (Chromium at /usr/bin/chromium, Playwright installed):

    python benchmarks/bench_upload.py [--partners 20000] [--app-root DIR] [--out FILE.json]

It writes the demo dataset (`kpi.demo.generate(N)`, about a hundred activities a partner)
as the five contract CSV files, starts
`streamlit run app.py` on a new database, opens the Data page in Chromium and:

1. uploads the five files at once, until the page shows a mapping for each (the server stores
   the uploads, then reads each once for its preview);
2. presses **Check the data**, until "Every row passed";
3. presses **Load this data**, until "Loaded: N rows.".

A thread polls the server process's /proc status every 5 ms: the peak resident memory
(VmRSS) and private memory (RssAnon) in each step, and the idle server's (the Data page
drawn, nothing uploaded) to subtract. The uploaded files are held by Streamlit in memory
while they are on the page, so the bar here is not the CLI's: the peak above the idle server
is compared with the size of the files.

`--app-root DIR` runs the app of another checkout (`git worktree add /tmp/other REV`) on the
same data, to compare two versions of the app. The figures are in benchmarks/README.md,
section "bench_upload.py: the Data page upload".
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_common import machine, md_table, write_report  # noqa: E402
from browser_page import CHROMIUM, CHROMIUM_ARGS, VIEWPORT  # noqa: E402
from browser_server import running_server  # noqa: E402

MB = 1024 * 1024
STEP_TIMEOUT_MS = 600_000


class Sampler:
    """Peak VmRSS and RssAnon (MB) of one process, polled every 5 ms, per named step."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.step = "start"
        self.peaks: dict[str, dict[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def status(self) -> dict[str, float]:
        found: dict[str, float] = {}
        try:
            with open(f"/proc/{self.pid}/status") as handle:
                for line in handle:
                    key, _, value = line.partition(":")
                    if key in ("VmRSS", "RssAnon"):
                        found[key] = int(value.split()[0]) / 1024.0
        except OSError:
            pass
        return found

    def _run(self) -> None:
        while not self._stop.is_set():
            now = self.status()
            peak = self.peaks.setdefault(self.step, {"VmRSS": 0.0, "RssAnon": 0.0})
            for key, value in now.items():
                peak[key] = max(peak[key], value)
            time.sleep(0.005)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def make_csv(partners: int, seed: int, folder: Path) -> dict[str, Any]:
    from kpi import demo

    folder.mkdir(parents=True, exist_ok=True)
    tables = demo.generate(partners, seed=seed)
    for name, frame in tables.items():
        frame.write_csv(folder / f"{name}.csv")
    files = sorted(folder.glob("*.csv"))
    return {
        "files": [str(p) for p in files],
        "rows": {name: frame.height for name, frame in tables.items()},
        "text_mb": sum(p.stat().st_size for p in files) / MB,
        "largest_mb": max(p.stat().st_size for p in files) / MB,
    }


def run(app_root: Path, data: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """One app (a checkout) on the data: the steps' seconds and the server's peaks."""
    db = workdir / f"upload-{int(time.time())}.duckdb"
    max_mb = int(data["largest_mb"]) + 50
    env = {**os.environ, "KPI_DB": str(db), "KPI_MAX_UPLOAD_MB": str(max_mb)}
    steps: dict[str, float] = {}
    options = [f"server.maxUploadSize={max_mb}"]
    with running_server(app_root / "app.py", app_root, env, workdir, f"upload-{db.stem}", options) as server:
        sampler = Sampler(server.process.pid)
        try:
            steps = drive(server.base, data, sampler)
        finally:
            sampler.stop()
    for leftover in db.parent.glob(db.name + "*"):
        if leftover.is_file():
            leftover.unlink()
    return {"app_root": str(app_root), "seconds": steps, "peaks": sampler.peaks}


def drive(base: str, data: dict[str, Any], sampler: Sampler) -> dict[str, float]:
    """Upload, check and load in Chromium; each step's seconds (the sampler's step set as it goes)."""
    from playwright.sync_api import expect, sync_playwright

    steps: dict[str, float] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_context(viewport=VIEWPORT).new_page()
        page.goto(f"{base}/data")
        expect(page.get_by_role("heading", name="Your data")).to_be_visible(timeout=120_000)
        time.sleep(2.0)  # the idle server, the page drawn
        sampler.step = "idle"
        time.sleep(1.0)

        sampler.step = "upload and preview"
        start = time.perf_counter()
        page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(data["files"])
        expect(page.get_by_text("Load this file as")).to_have_count(len(data["files"]), timeout=STEP_TIMEOUT_MS)
        expect(page.get_by_role("button", name="Check the data")).to_be_visible(timeout=STEP_TIMEOUT_MS)
        steps["upload and preview"] = time.perf_counter() - start

        sampler.step = "check"
        start = time.perf_counter()
        page.get_by_role("button", name="Check the data").click()
        expect(page.get_by_text("Every row passed")).to_be_visible(timeout=STEP_TIMEOUT_MS)
        steps["check"] = time.perf_counter() - start

        sampler.step = "load"
        start = time.perf_counter()
        page.get_by_role("button", name="Load this data").click()
        total = sum(data["rows"].values())
        expect(page.get_by_text(f"Loaded: {total:,} rows.")).to_be_visible(timeout=STEP_TIMEOUT_MS)
        steps["load"] = time.perf_counter() - start
        sampler.step = "end"
        time.sleep(0.2)
        browser.close()
    return steps


def render(report: dict[str, Any]) -> str:
    data = report["data"]
    rows = []
    for result in report["runs"]:
        idle = result["peaks"]["idle"]
        for step in ("upload and preview", "check", "load"):
            peak = result["peaks"].get(step, {"VmRSS": 0.0, "RssAnon": 0.0})
            above = peak["VmRSS"] - idle["VmRSS"]
            rows.append(
                [
                    result["label"],
                    step,
                    f"{result['seconds'].get(step, float('nan')):.1f}",
                    f"{peak['VmRSS']:.0f}",
                    f"{above:.0f}",
                    f"{peak['RssAnon'] - idle['RssAnon']:.0f}",
                    f"{above / data['text_mb']:.2f}x",
                ]
            )
    m = report["machine"]
    head = (
        f"Machine: {m.get('cpus_usable', '?')} CPUs; commit {m.get('git', {}).get('commit', '?')}; load average "
        f"{report['load_average'][0]:.1f} at the start. Data: `kpi.demo.generate({data['partners']:,})`, "
        f"{sum(data['rows'].values()):,} rows ({data['rows']['activities']:,} activity rows), five CSV files of "
        f"{data['text_mb']:.1f} MB, uploaded at once. Idle server (the Data page drawn): "
        + ", ".join(f"{r['label']} {r['peaks']['idle']['VmRSS']:.0f} MB" for r in report["runs"])
        + "."
    )
    table = md_table(
        ["app", "step", "s", "server peak RSS MB", "above idle MB", "private above idle MB", "above idle / text"],
        rows,
    )
    return head + "\n\n" + table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--partners", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--app-root", type=Path, action="append", default=[], help="another checkout to run too")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "bench_upload.json")
    args = parser.parse_args(argv)
    if args.partners < 1:
        parser.error(f"--partners must be 1 or more, not {args.partners}")
    for root in args.app_root:
        if not (root / "app.py").is_file():
            parser.error(f"--app-root {root}: no app.py there")
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp:
        workdir = Path(tmp)
        data = {"partners": args.partners, **make_csv(args.partners, args.seed, workdir / "csv")}
        report: dict[str, Any] = {
            "benchmark": "bench_upload",
            "machine": machine(),
            "load_average": os.getloadavg(),
            "data": data,
            "runs": [],
        }
        for label, root in [("this checkout", ROOT), *((str(r), r.resolve()) for r in args.app_root)]:
            result = run(root, data, workdir)
            result["label"] = label
            report["runs"].append(result)
        write_report(report, render(report), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
