"""The real app in a real browser (Chromium driven by Playwright).

A fresh `streamlit run` serves a demo database; the tests open shared links the way
a colleague would and read what the page shows. CI installs Debian's chromium, so
these always run there; on a machine without it they are skipped with a loud reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from tests.conftest import ROOT, default_view, engine_summary, run_cli
from ui import format as fmt

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser

if not CHROMIUM.exists():
    message = (
        "BROWSER TESTS SKIPPED: /usr/bin/chromium is missing. Install it with "
        "'apt-get install -y chromium' (CI does) to run the real-browser tests."
    )
    if os.environ.get("CI"):
        raise RuntimeError(message)  # never silently skipped in CI
    print(f"\n{'!' * 80}\n{message}\n{'!' * 80}", file=sys.stderr)
    pytest.skip(message, allow_module_level=True)

from playwright.sync_api import Browser, Page, expect  # noqa: E402

# Generous waits: CI machines have 2 cores and a first run of a page fills its caches.
expect.set_options(timeout=20_000)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_app(db: Path, log: Path, *options: str, port: int | None = None) -> Iterator[str]:
    """A freshly started `streamlit run app.py` on `db` (more `--name value` options after
    the usual ones); yields its base URL."""
    port = port or _free_port()
    env = {**os.environ, "KPI_DB": str(db)}
    with log.open("w") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(ROOT / "app.py"),
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
                *options,
            ],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not start:\n{log.read_text()}")
                time.sleep(0.3)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:  # slow to stop on a loaded machine: not what these tests check
                process.kill()
                process.wait(timeout=20)
    assert "Traceback" not in log.read_text(), log.read_text()


@pytest.fixture(scope="module")
def server(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A freshly started app on the demo data."""
    with running_app(demo_db, tmp_path_factory.mktemp("streamlit") / "server.log") as base:
        yield base


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A browser tab that fails the test if the app requests anything beyond this machine."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            None
            if urlparse(request.url).scheme in ("data", "blob") or urlparse(request.url).hostname == "127.0.0.1"
            else outside.append(request.url)
        ),
    )
    yield page
    context.close()
    assert outside == [], f"the app fetched from outside this machine (it must work offline): {outside}"


def wait_for_controls(page: Page) -> None:
    """Wait until every shared control has rendered in the browser.

    Streamlit's frontend carries a bound parameter across a page switch only once its
    widget has mounted; the controls' code loads lazily, a few seconds after the page.
    """
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_test_id("stSlider")).to_have_count(5, timeout=60_000)
    expect(sidebar.get_by_test_id("stNumberInput")).to_have_count(3, timeout=60_000)
    expect(sidebar.get_by_test_id("stDateInput")).to_have_count(1, timeout=60_000)


def metric_value(page: Page, label: str):
    card = page.get_by_test_id("stMetric").filter(has=page.get_by_text(label, exact=True))
    return card.get_by_test_id("stMetricValue")


def url_params(page: Page) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(page.url).query).items()}


def expect_url_params(page: Page, params: dict[str, str]) -> None:
    """Wait until the address bar carries exactly these parameters (in any order)."""
    lookaheads = "".join(f"(?=.*[?&]{k}={re.escape(v)}(&|$))" for k, v in params.items())
    expect(page).to_have_url(re.compile(f"^{lookaheads}"), timeout=15_000)
    assert url_params(page) == params


HEADINGS_JS = "() => Array.from(document.querySelectorAll('h1')).map(h => h.innerText).join('|')"
NAVIGATION_JS = """() => ['stSidebarNav', 'stTopNav']
    .map(id => document.querySelector(`[data-testid=${id}]`))
    .filter(Boolean)
    .map(nav => Array.from(nav.querySelectorAll('a'))
        .map(a => a.innerText.trim().split(String.fromCharCode(10)).pop()).join('|'))
    .join('/')"""
APP_NAVIGATION = "Overview|Tiers|What-if|Weekly review|ROI|Recurring revenue|Engagement|Partner scorecard|Data"


def test_a_shared_deep_link_opens_the_view_and_navigation_keeps_it(server, page, demo_db):
    # The first request to a fresh server is a deep link to the Tiers page.
    params = {"window_days": "60", "min_deals": "2", "min_criteria": "2", "grace_days": "30"}
    page.goto(f"{server}/tiers?" + "&".join(f"{k}={v}" for k, v in params.items()), wait_until="commit")
    # From the first frame on, the only navigation is the app's own: never Streamlit's
    # automatic list of the pages/ folder ("app, data, engagement, ...").
    navigations: set[str] = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "Partner tiers" not in page.evaluate(HEADINGS_JS):
        navigations.add(page.evaluate(NAVIGATION_JS))
        time.sleep(0.05)
    assert {text for text in navigations if text} <= {APP_NAVIGATION}, navigations
    view = default_view(demo_db, window_days=60, min_deals=2, min_criteria=2, grace_days=30)
    expected = engine_summary(demo_db, view)
    expect(page.get_by_role("heading", name="Partner tiers")).to_be_visible(timeout=60_000)
    shown = f"{expected['partners']:,} of {expected['partners']:,} partners shown"
    expect(page.get_by_text(re.compile(shown))).to_be_visible()
    expect(page.get_by_text(re.compile(f"reward {expected['tiers']['reward']}"))).to_be_visible()
    wait_for_controls(page)

    page.get_by_test_id("stTopNav").get_by_text("Overview").click()
    expect(page.get_by_role("heading", name="Program overview")).to_be_visible(timeout=30_000)
    expect(metric_value(page, "Activation")).to_have_text(fmt.pct(expected["activation_pct"]))
    expect_url_params(page, params)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_moving_a_control_updates_the_numbers_and_the_link(server, page, demo_db):
    page.goto(f"{server}/?min_trainings=2")
    base = default_view(demo_db, min_trainings=2)
    expect(metric_value(page, "Activation")).to_have_text(
        fmt.pct(engine_summary(demo_db, base)["activation_pct"]), timeout=60_000
    )
    wait_for_controls(page)
    shares = page.get_by_test_id("stSlider").filter(has_text="Content shares needed")
    thumb = shares.get_by_role("slider")
    thumb.focus()
    thumb.press("ArrowRight")
    moved = base.replace(min_shares=2)
    expect(metric_value(page, "Activation")).to_have_text(
        fmt.pct(engine_summary(demo_db, moved)["activation_pct"]), timeout=30_000
    )
    expect_url_params(page, {"min_trainings": "2", "min_shares": "2"})


def test_a_bad_value_in_a_link_shows_a_notice_and_the_default_view(server, page, demo_db):
    page.goto(f"{server}/?window_days=banana&min_deals=2")
    notice = page.get_by_test_id("stAlert").filter(has_text="could not be used")
    expect(notice).to_be_visible(timeout=60_000)
    expect(notice).to_contain_text("window_days=banana")
    expected = engine_summary(demo_db, default_view(demo_db, min_deals=2))
    expect(metric_value(page, "Activation")).to_have_text(fmt.pct(expected["activation_pct"]))
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_uploading_a_crm_export_for_real_loads_it_and_every_page_shows_it(demo_db, browser, tmp_path):
    """One app process loads through its Data page; a second process serving the same file
    (several processes behind a proxy, as README "Hosting" describes) shows the new data too."""
    db = tmp_path / "program.duckdb"
    db.write_bytes(demo_db.read_bytes())
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(
        "Account ID,Account Name,Partner Since,Region\n"
        "A-1,Northwind Traders,01/15/2024,EMEA\n"
        "A-2,Contoso Ltd,03/02/2025,North America\n"
        "A-3,Fabrikam Inc,11/30/2025,APAC\n"
    )
    opportunities = tmp_path / "opportunities.csv"
    opportunities.write_text(
        "Opportunity ID,Account ID,Created Date,Stage,Close Date,Amount\n"
        'O-1,A-1,02/01/2026,Closed Won,03/15/2026,"$12,500.00"\n'
        'O-2,A-1,03/01/2026,Closed Lost,03/20/2026,"$4,000.00"\n'
        'O-3,A-2,03/10/2026,Negotiation,,"$9,000.00"\n'
    )
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    other_page = context.new_page()
    demo_partners = fmt.count(engine_summary(db, default_view(db))["partners"])
    with running_app(db, tmp_path / "server.log") as base, running_app(db, tmp_path / "other.log") as other:
        other_page.goto(other)  # the second process, reading the file before the load
        expect(metric_value(other_page, "Partners in the program")).to_have_text(demo_partners, timeout=60_000)
        page.goto(f"{base}/data")  # a deep link as the first request of a fresh server
        expect(page.get_by_role("heading", name="Your data")).to_be_visible(timeout=60_000)
        page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files([accounts, opportunities])
        expect(page.get_by_text("Load this file as")).to_have_count(2, timeout=30_000)
        page.get_by_role("button", name="Check the data").click()
        expect(page.get_by_text("Every row passed")).to_be_visible(timeout=30_000)
        page.get_by_role("button", name="Load this data").click()
        expect(page.get_by_text("Loaded: 6 rows.")).to_be_visible(timeout=30_000)

        page.get_by_test_id("stTopNav").get_by_text("Overview").click()
        expect(metric_value(page, "Partners in the program")).to_have_text("3", timeout=30_000)
        expect(metric_value(page, "Revenue")).to_have_text(fmt.money(12_500))
        expect(page.get_by_test_id("stException")).to_have_count(0)

        other_page.reload()  # the next run of the second process reads the new file
        expect(metric_value(other_page, "Partners in the program")).to_have_text("3", timeout=60_000)
        expect(metric_value(other_page, "Revenue")).to_have_text(fmt.money(12_500))
        expect(other_page.get_by_test_id("stException")).to_have_count(0)
    context.close()


# Every page of the navigation, with the heading it opens on.
def test_a_saved_scenario_opens_from_its_link_in_a_fresh_browser(demo_db, browser, tmp_path):
    """Save the controls as a scenario on the What-if page, then open the scenario's link in
    a new browser: the same thresholds, the same numbers, the same movers against the policy."""
    db = tmp_path / "scenarios.duckdb"
    db.write_bytes(demo_db.read_bytes())
    view = default_view(demo_db, min_trainings=2, min_deals=2)
    expected = engine_summary(demo_db, view)
    code, out, err = run_cli(
        "compare", "--db", db, "--min-trainings", "2", "--min-deals", "2", "--base", "scenario=policy"
    )
    assert code == 0, err
    moved = json.loads(out)["moved"]
    with running_app(db, tmp_path / "server.log") as base:
        first = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = first.new_page()
        page.goto(f"{base}/whatif?min_trainings=2&min_deals=2")
        expect(page.get_by_role("heading", name="What-if", exact=True)).to_be_visible(timeout=60_000)
        wait_for_controls(page)
        page.get_by_role("textbox", name="Name", exact=True).fill("two and two")
        page.get_by_role("button", name=re.compile("Save the controls as a scenario")).click()
        expect(page.get_by_test_id("stAlert").filter(has_text="Saved the controls as the scenario")).to_be_visible(
            timeout=30_000
        )
        expect(page).to_have_url(re.compile("scenario=two(\\+|%20)and(\\+|%20)two"), timeout=15_000)
        first.close()

        fresh = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = fresh.new_page()
        page.goto(f"{base}/tiers?scenario=two%20and%20two")
        expect(page.get_by_role("heading", name="Partner tiers")).to_be_visible(timeout=60_000)
        shown = f"{expected['partners']:,} of {expected['partners']:,} partners shown"
        expect(page.get_by_text(re.compile(shown))).to_be_visible(timeout=30_000)
        expect(page.get_by_text(re.compile(f"reward {expected['tiers']['reward']:,} ·"))).to_be_visible()
        expect(page.get_by_text(re.compile(f"{moved:,} partners change tier against the policy"))).to_be_visible()
        wait_for_controls(page)
        trainings = page.get_by_test_id("stSidebar").get_by_test_id("stSlider").filter(has_text="Trainings needed")
        expect(trainings.get_by_role("slider")).to_have_value("2")
        expect(page.get_by_test_id("stException")).to_have_count(0)
        fresh.close()


def test_the_weekly_review_opens_from_a_link_with_the_movers_of_compare(server, page, demo_db):
    view = default_view(demo_db)
    since = "2026-10-01"
    code, out, err = run_cli("compare", "--db", demo_db, "--base", f"as_of={since}")
    assert code == 0, err
    moved = json.loads(out)["moved"]
    page.goto(f"{server}/weekly?since={since}")
    expect(page.get_by_role("heading", name="Weekly review", exact=True)).to_be_visible(timeout=60_000)
    expect(page.get_by_text(re.compile(f"^{moved:,} partners moved, joined or left"))).to_be_visible(timeout=30_000)
    expect(page.get_by_text(re.compile(f"{view.as_of.isoformat()} against {since}"))).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect_url_params(page, {"since": since})


PAGES = {
    "Overview": "Program overview",
    "Tiers": "Partner tiers",
    "What-if": "What-if",
    "Weekly review": "Weekly review",
    "ROI": "Return on investment",
    "Recurring revenue": "Recurring revenue",
    "Engagement": "Engagement",
    "Partner scorecard": "Partner scorecard",
    "Data": "Your data",
}


def test_one_shared_link_opens_every_page_with_the_same_view_and_no_error(server, page, demo_db):
    params = {"window_days": "120", "min_trainings": "2", "min_criteria": "2", "reward_min_revenue": "20000"}
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    page.goto(f"{server}/?" + "&".join(f"{k}={v}" for k, v in params.items()))
    view = default_view(demo_db, window_days=120, min_trainings=2, min_criteria=2, reward_min_revenue=20_000.0)
    expected = engine_summary(demo_db, view)
    expect(metric_value(page, "Activation")).to_have_text(fmt.pct(expected["activation_pct"]), timeout=60_000)
    wait_for_controls(page)
    # A number on each page that must follow the shared link's view.
    numbers = {
        "Overview": {"Activation": fmt.pct(expected["activation_pct"])},
        "ROI": {"Program ROI": fmt.roi(expected["roi"]), "Cost": fmt.money(expected["cost"])},
        "Recurring revenue": {"MRR": fmt.money(expected["mrr"]), "ARR": fmt.money(expected["arr"])},
    }
    nav = page.get_by_test_id("stTopNav")
    for label, heading in PAGES.items():
        nav.get_by_text(label, exact=True).click()
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible(timeout=30_000)
        page.wait_for_load_state("networkidle")
        expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=60_000)  # the run has finished
        expect(page.get_by_test_id("stException"), f"an exception on {label}").to_have_count(0)
        errors = page.get_by_test_id("stAlertContentError")
        assert errors.count() == 0, f"{label} shows an error: {errors.all_inner_texts()}"
        expect_url_params(page, params)
        for shown, value in numbers.get(label, {}).items():
            expect(metric_value(page, shown), f"{shown} on {label}").to_have_text(value)
    assert script_errors == [], f"the browser reported script errors: {script_errors}"


SCREENSHOTS = ROOT / "tests" / "screenshots"  # git-ignored: for people to look at
FULL_HEIGHT_JS = "() => Math.max(...Array.from(document.querySelectorAll('*')).map(e => e.scrollHeight))"


@pytest.mark.parametrize("width", [1280, 1440])
def test_every_page_fits_the_window_and_is_saved_as_a_full_page_screenshot(server, browser, width):
    """Each page opened from a link at a laptop's and a desktop's width: no sideways scrolling
    of the page, no error; a full-page screenshot of each is saved for a person to judge."""
    SCREENSHOTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        # The What-if page as a leader uses it: a threshold moved, the curves beside the sliders.
        whatif = "whatif?min_trainings=2&curves=true"
        paths = ("", "tiers", whatif, "weekly", "roi", "recurring", "engagement", "scorecard", "data")
        for path, heading in zip(paths, PAGES.values(), strict=True):
            page.goto(f"{server}/{path}")
            expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible(timeout=60_000)
            page.wait_for_load_state("networkidle")
            expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=60_000)
            # Each kind of element's code loads lazily: wait until none is a placeholder.
            expect(page.locator("[data-testid=stSkeleton], [data-testid=stSkeletonElement]")).to_have_count(
                0, timeout=60_000
            )
            page.wait_for_timeout(500)  # charts lay out after the run ends
            expect(page.get_by_test_id("stException")).to_have_count(0)
            overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{heading} at {width} px scrolls sideways by {overflow} px"
            # Streamlit scrolls inside its main section, not the document: grow the window to the
            # content's height so the screenshot holds the whole page.
            height = page.evaluate(FULL_HEIGHT_JS)
            page.set_viewport_size({"width": width, "height": max(900, height)})
            page.wait_for_timeout(300)
            name = path.split("?")[0] or "overview"
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
            page.set_viewport_size({"width": width, "height": 900})
    finally:
        context.close()


def test_a_hostile_dataset_shows_no_image_link_or_request_from_its_names(browser, tmp_path):
    """Partner names, regions, managers, people and content items written as markdown images,
    links and HTML: in a real browser, no page shows an image or a link from them, and nothing
    is requested from the addresses they name."""
    from tests.test_hostile import write_hostile_db

    db = write_hostile_db(tmp_path / "hostile.duckdb")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    paths = ("", "tiers", "roi?roi_group=Region", "engagement", "weekly", "scorecard?scorecard_partner=P00001")
    with running_app(db, tmp_path / "server.log") as base:
        for path in paths:
            page.goto(f"{base}/{path}")
            expect(page.get_by_test_id("stSidebar").get_by_test_id("stSlider")).to_have_count(5, timeout=60_000)
            expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=60_000)
            page.wait_for_timeout(500)
            expect(page.get_by_test_id("stException")).to_have_count(0)
            assert page.locator("a[href*='evil.example'], img[src*='127.0.0.1:9']").count() == 0, path
            assert page.locator("[data-testid=stMarkdownContainer] b").count() == 0, path  # <b>html</b>
    context.close()
    assert [url for url in requested if ":9/" in url or "evil.example" in url] == []
