"""What bench_browser measures in the app: the pages, the text each one shows that a
threshold move changes, and the runs of the one-slider page and of the app.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from browser_moves import bench_slider
from browser_page import LOAD_TIMEOUT_MS, Tab, page_ready
from browser_server import SKIP_ENV, running_server

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"
TARGET_SIZE = 20_000
TARGET_RATIO = 2.0
ONE_SLIDER = 'import streamlit as st\n\nv = st.slider("x", 0, 10, 1, key="x")\nst.write(f"value {v}")\n'
SLIDER_LABEL = "Trainings needed"
WHATIF_LINK = "min_deals=2"  # the policy needs 1 deal: every value of the moved slider differs from it

# What each page shows that a threshold move changes (read by `__bench.text`, browser_page.py).
WATCH = {
    "baseline": {"kind": "markdown", "contains": "value "},
    "overview": {"kind": "metric", "label": "Activation"},
    "tiers": {"kind": "markdown", "contains": "partners shown"},
    "tiers_chart": {"kind": "markdown", "contains": "partners shown"},
    "roi": {"kind": "metric", "label": "Cost per activated partner"},
    "recurring": {"kind": "markdown", "contains": "split by today"},
    "engagement": {"kind": "metric", "label": "Look-busy partners"},
    "scorecard": {"kind": "markdown", "contains": "(needs "},  # the trainings criterion names its threshold
    # Opened with a link that differs from the policy, so both values of the move show the
    # comparison; "shown" is the comparison's own text, checked after every move.
    "overview_whatif": {
        "kind": "metric",
        "label": "Activation",
        "shown": {"kind": "markdown", "contains": "partners change tier"},
    },
    "tiers_whatif": {
        "kind": "markdown",
        "contains": "partners shown",
        "shown": {"kind": "markdown", "contains": "partners change tier against"},
    },
    "whatif": {"kind": "markdown", "contains": "partners change tier"},  # the "Against the base" line
    "whatif_curves": {"kind": "markdown", "contains": "partners change tier"},
    # The story's first sentence, "Activation rose 1.0 points to 39.8%. ..." (the sidebar's
    # "Activation criteria" contains the word too); the card of activated partners must be on
    # the page after every move.
    "weekly": {
        "kind": "markdown",
        "pattern": "^Activation (rose|fell|held) ",
        "shown": {"kind": "metric", "label": "Activated partners"},
    },
}
# page -> (URL path, heading, what it draws). Tiers builds only its open tab: the partner list
# (the default, read for the target) or the engagement chart (measured too, reported beside it).
PAGES = {
    "overview": ("/", "Program overview", ("chart",)),
    "tiers": ("/tiers", "Partner tiers", ("table",)),
    "tiers_chart": ("/tiers?tiers_tab=Engagement+chart", "Partner tiers", ("chart",)),
    "roi": ("/roi", "Return on investment", ("chart",)),
    # The long pages build only their open tab: each is opened on the tab a threshold changes.
    "recurring": ("/recurring?recurring_tab=By+tier+and+partner", "Recurring revenue", ("chart",)),
    "engagement": ("/engagement?engagement_tab=Look+busy", "Engagement", ("chart",)),
    "scorecard": ("/scorecard?scorecard_partner=P00042", "Partner scorecard", ()),  # "Why this tier": text
    "overview_whatif": (f"/?{WHATIF_LINK}", "Program overview", ("chart",)),
    "tiers_whatif": (f"/tiers?{WHATIF_LINK}", "Partner tiers", ("table",)),
    "whatif": (f"/whatif?{WHATIF_LINK}", "What-if", ("table",)),  # the Scenarios tab, as it opens
    "whatif_curves": (f"/whatif?{WHATIF_LINK}&whatif_tab=Where+each+threshold+matters", "What-if", ("chart",)),
    "weekly": ("/weekly", "Weekly review", ("table",)),
}
TARGET_PAGES = ("overview", "tiers")
SKIPPED_BY = {"chart": "vega_lite_chart", "table": "dataframe"}  # --skip-element: what a page then lacks
# The what-if target: a slider move with the comparison shown, on these pages.
WHATIF_PAGES = ("overview_whatif", "tiers_whatif", "whatif", "whatif_curves")
WHATIF_RATIO = 1.5
# The weekly review's target: a slider move on the Weekly review page within 1.5x too.
WEEKLY_PAGES = ("weekly",)
WEEKLY_RATIO = 1.5
LABELS = {
    "overview": "Overview",
    "tiers": "Tiers (list tab)",
    "tiers_chart": "Tiers (chart tab)",
    "roi": "ROI",
    "recurring": "Recurring revenue",
    "engagement": "Engagement",
    "scorecard": "Partner scorecard",
    "overview_whatif": "Overview, against the policy",
    "tiers_whatif": "Tiers (list tab), against the policy",
    "whatif": "What-if (Scenarios tab)",
    "whatif_curves": "What-if (curves tab)",
    "weekly": "Weekly review",
}


def measure_baseline(
    browser: Any, workdir: Path, name: str, repeat: int, warmup: int, fresh: int, quiet_ms: int, options: list[str]
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-browser-") as tmp:
        script = Path(tmp) / "one_slider.py"
        script.write_text(ONE_SLIDER)
        env = {k: v for k, v in os.environ.items() if k != "KPI_DB"}
        with running_server(script, Path(tmp), env, workdir, name, options) as server:
            tab = Tab(browser)
            page = tab.page
            try:
                page.goto(server.base, timeout=LOAD_TIMEOUT_MS)
                spec = WATCH["baseline"]
                if page_ready(page, spec) != "value 1":
                    raise RuntimeError("the one-slider page does not show 'value 1'")
                thumb = page.get_by_test_id("stSlider").get_by_role("slider")
                thumb.focus()
                return bench_slider(tab, server, thumb, spec, repeat, warmup, fresh, quiet_ms)
            finally:
                tab.close()


def wait_for_frame(page: Any, page_name: str, skip: list[str]) -> None:
    """The page heading, every shared control, and the page's chart or table rendered
    (unless `--skip-element` left it out)."""
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", name=PAGES[page_name][1])).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_test_id("stSlider")).to_have_count(5, timeout=LOAD_TIMEOUT_MS)
    expect(sidebar.get_by_test_id("stNumberInput")).to_have_count(3, timeout=LOAD_TIMEOUT_MS)
    expect(sidebar.get_by_test_id("stDateInput")).to_have_count(1, timeout=LOAD_TIMEOUT_MS)
    draws = [d for d in PAGES[page_name][2] if SKIPPED_BY[d] not in skip]
    if "chart" in draws:
        chart = page.get_by_test_id("stVegaLiteChart").locator("canvas, svg").first
        expect(chart).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    if "table" in draws:
        expect(page.get_by_test_id("stDataFrame").locator("canvas").first).to_be_visible(timeout=LOAD_TIMEOUT_MS)


def measure_app(
    browser: Any,
    db: Path,
    workdir: Path,
    repeat: int,
    warmup: int,
    fresh: int,
    quiet_ms: int,
    options: list[str],
    pages: list[str],
    skip: list[str],
) -> dict[str, Any]:
    env = {**os.environ, "KPI_DB": str(db)}
    if skip:
        env[SKIP_ENV] = ",".join(skip)
    results: dict[str, Any] = {}
    with running_server(APP, ROOT, env, workdir, f"app-{db.stem}", options) as server:
        for page_name in pages:
            path = PAGES[page_name][0]
            tab = Tab(browser)
            page = tab.page
            try:
                started = time.perf_counter()
                page.goto(server.base + path, timeout=LOAD_TIMEOUT_MS)
                wait_for_frame(page, page_name, skip)
                spec = WATCH[page_name]
                if spec.get("shown", {}).get("kind") in skip:  # --skip-element metric: no card to check
                    spec = {k: v for k, v in spec.items() if k != "shown"}
                page_ready(page, spec)
                load_s = time.perf_counter() - started
                thumb = (
                    page.get_by_test_id("stSidebar")
                    .get_by_test_id("stSlider")
                    .filter(has_text=SLIDER_LABEL)
                    .get_by_role("slider")
                )
                thumb.focus()
                figures = bench_slider(tab, server, thumb, spec, repeat, warmup, fresh, quiet_ms)
                if page.get_by_test_id("stException").count():
                    raise RuntimeError(f"the {page_name} page shows an exception")
                results[page_name] = {"load_to_quiet_s": load_s, **figures}
                print(
                    f"    {page_name}: text {figures['text_ms']['median_ms']:.0f} ms, "
                    f"idle {figures['idle_ms']['median_ms']:.0f} ms (median)",
                    flush=True,
                )
            finally:
                tab.close()
    return results
