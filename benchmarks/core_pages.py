"""bench_core's page reruns under AppTest: a session whose every run is timed and whose
DuckDB statements are counted, the threshold slider and the window on Overview and Tiers, the
one-slider baseline, and cProfile of threshold reruns.
"""

from __future__ import annotations

import contextlib
import cProfile
import os
import pstats
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench_common import OUT_DIR, ROOT, peak_rss_mb, summary_ms, timed
from core_engine import CountingConnection, QueryLog

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kpi import store  # noqa: E402

APP = ROOT / "app.py"
APP_TIMEOUT_S = 180.0
# Lookback windows visited by the window-change measurement, a different set per page so
# that each page's "new value" really is new to the app's cache.
NEW_WINDOWS = {"overview": (60, 120, 30, 180, 45, 150), "tiers": (61, 121, 31, 181, 46, 151)}


@contextlib.contextmanager
def app_harness(log: QueryLog) -> Iterator[None]:
    """Every query the app sends to DuckDB counted in `log`.

    `kpi.store.connect` returns a `CountingConnection` meanwhile, whichever code path
    of the app opens the connection.
    """
    original_connect = store.connect

    def connect(db_path: Path) -> Any:
        return CountingConnection(original_connect(db_path), log)

    store.connect = connect  # type: ignore[assignment]
    try:
        yield
    finally:
        store.connect = original_connect  # type: ignore[assignment]


def clear_streamlit_caches() -> None:
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


class Session:
    """One AppTest session; every run is timed and its DuckDB statements counted."""

    def __init__(self, script: Path, log: QueryLog, sidebar: bool) -> None:
        from streamlit.testing.v1 import AppTest

        self.at = AppTest.from_file(str(script), default_timeout=APP_TIMEOUT_S)
        self.log = log
        self.sidebar = sidebar

    def run(self, expect_title: str | None = None) -> dict[str, Any]:
        mark = len(self.log)
        seconds, _ = timed(self.at.run)
        if self.at.exception:
            raise RuntimeError(f"the app raised: {[e.value for e in self.at.exception]}")
        if expect_title is not None:
            titles = [t.value for t in self.at.title]
            if expect_title not in titles:
                raise RuntimeError(f"expected page {expect_title!r}, got titles {titles}")
        return {"seconds": seconds, **self.log.since(mark)}

    def slider(self, key: str) -> Any:
        # Looking the slider up in the sidebar after each run also checks that app.py ran
        # (a run of the page file alone would have no sidebar).
        return (self.at.sidebar if self.sidebar else self.at).slider(key=key)

    def move(self, key: str, value: int, expect_title: str | None = None) -> dict[str, Any]:
        self.slider(key).set_value(value)
        result = self.run(expect_title)
        if self.slider(key).value != value:
            raise RuntimeError(f"slider {key} shows {self.slider(key).value}, expected {value}")
        return result

    def alternate(self, key: str, a: int, b: int, n: int, expect_title: str | None = None) -> dict[str, Any]:
        """One untimed warm-up move, then n timed moves alternating a and b (each a real change)."""
        value = a if self.slider(key).value != a else b
        self.move(key, value, expect_title)
        runs = []
        for _ in range(n):
            value = b if value == a else a
            runs.append(self.move(key, value, expect_title))
        return runs_summary(runs)

    def window_changes(self, new_values: tuple[int, ...], expect_title: str) -> dict[str, Any]:
        """Move the lookback window to values never seen (rescan), then back to visited ones (cached)."""
        visited = [self.slider("window_days").value]
        new_runs = []
        for value in new_values:
            new_runs.append(self.move("window_days", value, expect_title))
            visited.append(value)
        cached_runs = []
        for i in range(len(new_values)):
            value = visited[i % len(visited)]
            if value == self.slider("window_days").value:
                value = visited[(i + 1) % len(visited)]
            cached_runs.append(self.move("window_days", value, expect_title))
        self.move("window_days", visited[0], expect_title)  # back to the starting window
        return {"new_value": runs_summary(new_runs), "visited_value": runs_summary(cached_runs)}


def runs_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        **summary_ms([r["seconds"] for r in runs]),
        "statements_per_run": [r["statements"] for r in runs],
        "statements_reading_activities_per_run": [r["statements_reading_activities"] for r in runs],
    }


def warm_process(db: Path) -> None:
    """One untimed app session on the smallest database, then the caches emptied.

    The first chart a process draws pays one-time costs (Altair loads and compiles its
    JSON schema, Streamlit sets up its runtime); without this the first size's
    "first load" would carry them and no later size's would.
    """
    log = QueryLog()
    os.environ["KPI_DB"] = str(db)
    with app_harness(log):
        session = Session(APP, log, sidebar=True)
        session.run("Program overview")
        session.at.switch_page("pages/tiers.py")
        session.run("Partner tiers")
    clear_streamlit_caches()


def bench_baseline(script: Path, repeat: int) -> dict[str, Any]:
    """The one-slider script: the same kind of rerun, with nothing else on the page."""
    log = QueryLog()
    with app_harness(log):
        session = Session(script, log, sidebar=False)
        session.run()
        # More moves than for the pages: a few milliseconds each, so the median needs them.
        return session.alternate("x", 2, 3, max(3 * repeat, 30))


def merge_runs(*figures: dict[str, Any]) -> dict[str, Any]:
    samples = [x / 1000.0 for f in figures for x in f["samples_ms"]]
    return {
        **summary_ms(samples),
        "statements_per_run": [c for f in figures for c in f["statements_per_run"]],
        "statements_reading_activities_per_run": [
            c for f in figures for c in f["statements_reading_activities_per_run"]
        ],
    }


def bench_pages(db: Path, scripts: dict[str, Path], repeat: int) -> dict[str, Any]:
    log = QueryLog()
    os.environ["KPI_DB"] = str(db)
    clear_streamlit_caches()
    n_windows = min(repeat, len(NEW_WINDOWS["overview"]))
    out: dict[str, Any] = {}
    with app_harness(log):
        session = Session(APP, log, sidebar=True)
        out["first_load"] = session.run("Program overview")
        out["overview"] = session.alternate("min_trainings", 2, 3, repeat, "Program overview")
        out["overview_window"] = session.window_changes(NEW_WINDOWS["overview"][:n_windows], "Program overview")

        session.at.switch_page("pages/tiers.py")
        out["switch_to_tiers"] = session.run("Partner tiers")
        out["tiers"] = session.alternate("min_trainings", 2, 3, repeat, "Partner tiers")
        out["tiers_window"] = session.window_changes(NEW_WINDOWS["tiers"][:n_windows], "Partner tiers")
        # Tiers builds only its open tab: the list above (as opened), the engagement chart here.
        session.at.session_state["tiers_tab"] = "Engagement chart"
        session.run("Partner tiers")
        out["tiers_chart"] = session.alternate("min_trainings", 2, 3, repeat, "Partner tiers")

        # Reference: the app's shared sidebar (the frame) alone, without a page.
        frame_only = Session(scripts["frame_only"], log, sidebar=True)
        frame_only.run()
        out["frame_only"] = frame_only.alternate("min_trainings", 2, 3, repeat)
    out["peak_rss_mb_after"] = peak_rss_mb()
    clear_streamlit_caches()
    return out


def per_rerun(rows: list[dict[str, Any]], moves: int) -> list[dict[str, Any]]:
    return [
        {"function": r["function"], "cum_ms": 1000 * r["cum"] / moves, "tot_ms": 1000 * r["tot"] / moves} for r in rows
    ]


def profile_reruns(db: Path, moves: int, top: int) -> dict[str, Any]:
    """cProfile the script thread during threshold-slider reruns of each page."""
    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

    log = QueryLog()
    os.environ["KPI_DB"] = str(db)
    clear_streamlit_caches()
    original = ScriptRunner._run_script
    profiler: list[cProfile.Profile | None] = [None]

    def run_script(self: ScriptRunner, rerun_data: Any) -> None:
        prof = profiler[0]
        if prof is None:
            return original(self, rerun_data)
        prof.enable()
        try:
            return original(self, rerun_data)
        finally:
            prof.disable()

    results: dict[str, Any] = {}
    ScriptRunner._run_script = run_script  # type: ignore[method-assign]
    try:
        with app_harness(log):
            session = Session(APP, log, sidebar=True)
            session.run("Program overview")
            for page, title in (("overview", "Program overview"), ("tiers", "Partner tiers")):
                if page == "tiers":
                    session.at.switch_page("pages/tiers.py")
                    session.run(title)
                session.alternate("min_trainings", 2, 3, 2, title)  # warm
                value = session.slider("min_trainings").value
                prof = profiler[0] = cProfile.Profile()
                runs = []
                for _ in range(moves):
                    value = 2 if value == 3 else 3
                    runs.append(session.move("min_trainings", value, title))
                profiler[0] = None
                runs = runs_summary(runs)
                path = OUT_DIR / f"profile_{page}_{db.stem}.txt"
                with path.open("w") as fh:
                    stats = pstats.Stats(prof, stream=fh)
                    fh.write(f"# {moves} threshold-slider reruns of the {page} page, script thread, {db.name}\n")
                    stats.sort_stats("cumulative").print_stats(60)
                    stats.sort_stats("tottime").print_stats(30)
                stats = pstats.Stats(prof)
                rows = []
                for (file, line, func), (_cc, _nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
                    where = Path(file)
                    where = where.relative_to(ROOT) if where.is_relative_to(ROOT) else Path(*where.parts[-2:])
                    rows.append({"function": f"{where}:{line}({func})", "file": file, "cum": ct, "tot": tt})
                rows.sort(key=lambda r: -r["cum"])
                project = [r for r in rows if r["file"].startswith(str(ROOT)) and "/benchmarks/" not in r["file"]]
                # cProfile undercounts the page modules (run by exec inside st.navigation):
                # the Streamlit element calls show where the rest of the page time goes.
                elements = [r for r in rows if "/streamlit/elements/" in r["file"]]
                results[page] = {
                    "profiled_rerun_median_ms": runs["median_ms"],
                    "file": str(path),
                    "top_cumulative_ms_per_rerun": per_rerun(rows[:top], moves),
                    "project_cumulative_ms_per_rerun": per_rerun(project[:top], moves),
                    "streamlit_elements_cumulative_ms_per_rerun": per_rerun(elements[:top], moves),
                    "top_own_ms_per_rerun": per_rerun(sorted(rows, key=lambda r: -r["tot"])[:top], moves),
                }
    finally:
        ScriptRunner._run_script = original  # type: ignore[method-assign]
        clear_streamlit_caches()
    return results
