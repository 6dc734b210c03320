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

from kpi import scorecard
from kpi.store import connect
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

from playwright.sync_api import Browser, ConsoleMessage, Page, expect  # noqa: E402

# Generous waits: CI machines have 2 cores and a first run of a page fills its caches.
expect.set_options(timeout=20_000)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_app(db: Path, log: Path, *options: str, port: int | None = None) -> Iterator[str]:
    """A freshly started `streamlit run app.py` on `db` (more `--name value` options after
    the usual ones), watched by `tests.watch_network`; yields its base URL."""
    port = port or _free_port()
    env = {**os.environ, "KPI_DB": str(db)}
    outside = log.with_name(log.name + ".outside")  # every outside connection the server attempts
    with log.open("w") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.watch_network",
                str(outside),
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
    # Offline at run time too: nothing the pages did made the server reach outside this machine.
    assert not outside.exists(), f"the server reached outside this machine: {outside.read_text()}"


@pytest.fixture(scope="module")
def server(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A freshly started app on the demo data."""
    with running_app(demo_db, tmp_path_factory.mktemp("streamlit") / "server.log") as base:
        yield base


def watch_outside(page: Page, outside: list[str]) -> None:
    """Write down in `outside` every request the page makes beyond this machine."""
    page.on(
        "request",
        lambda request: (
            None
            if urlparse(request.url).scheme in ("data", "blob") or urlparse(request.url).hostname == "127.0.0.1"
            else outside.append(request.url)
        ),
    )


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A browser tab that fails the test if the app requests anything beyond this machine."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    outside: list[str] = []
    watch_outside(page, outside)
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
MAIN_HEIGHT_JS = "() => document.querySelector('[data-testid=stMain]').scrollHeight"
# Elements of the main area that stick out past its right edge (unless a scrolling or clipping
# box around them, itself inside the main area, holds them), and texts cut with an ellipsis.
LAYOUT_JS = """() => {
    const main = document.querySelector('[data-testid=stMain]');
    const right = main.getBoundingClientRect().right + 1;
    const name = e => (e.getAttribute('data-testid') || e.tagName.toLowerCase())
        + ': ' + (e.innerText || e.getAttribute('aria-label') || '').trim().slice(0, 60);
    const clipped = e => {
        for (let box = e.parentElement; box && box !== main; box = box.parentElement) {
            const style = getComputedStyle(box);
            if (style.overflowX !== 'visible' && box.getBoundingClientRect().right <= right) return true;
        }
        return false;
    };
    const wide = [], cut = [];
    for (const e of main.querySelectorAll('*')) {
        const box = e.getBoundingClientRect();
        if (box.width === 0 || box.height === 0) continue;
        if (box.right > right && !clipped(e)) wide.push(name(e) + ' (' + Math.round(box.right - right) + ' px)');
        if (getComputedStyle(e).textOverflow === 'ellipsis' && e.scrollWidth > e.clientWidth) cut.push(name(e));
    }
    return {sideways: main.scrollWidth - main.clientWidth, wide: wide.slice(0, 10), cut: cut};
}"""
# What a bare navigation app's deep link probes too (they answer 404): not the app's requests.
STREAMLIT_PROBES = re.compile(r"^/[^/]+/_stcore/(health|host-config)$")


def expect_page_drawn(page: Page) -> None:
    """Wait until the run has finished and every element has drawn."""
    page.wait_for_load_state("networkidle")
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=60_000)
    # Each kind of element's code loads lazily: wait until none is a placeholder.
    expect(page.locator("[data-testid=stSkeleton], [data-testid=stSkeletonElement]")).to_have_count(0, timeout=60_000)
    page.wait_for_timeout(500)  # charts lay out after the run ends
    expect(page.get_by_test_id("stException")).to_have_count(0)


WINDOWS = [(1280, 800), (1440, 900)]  # a laptop's and a desktop's


@pytest.mark.parametrize(("width", "height"), WINDOWS)
def test_every_page_fits_the_window_and_is_saved_as_a_full_page_screenshot(server, browser, demo_db, width, height):
    """Each page, and each of its tabs, opened from a link at a laptop's and a desktop's size:
    nothing sticks out of the main area or is cut with an ellipsis, the browser logs no error or
    warning, every request succeeds and stays on this machine; a full-page screenshot of each is
    saved for a person to judge, and each one's height is printed."""
    SCREENSHOTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    logged: list[str] = []
    failed: list[str] = []
    outside: list[str] = []

    def console(message: ConsoleMessage) -> None:
        probe = STREAMLIT_PROBES.match(urlparse(message.location.get("url", "")).path)
        if message.type in ("error", "warning") and not (probe and message.text.startswith("Failed to load resource")):
            logged.append(f"{message.type}: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda error: logged.append(f"script error: {error}"))
    page.on("requestfailed", lambda r: failed.append(f"{r.url} ({r.failure})"))
    page.on(
        "response",
        lambda r: (
            failed.append(f"{r.url} ({r.status})")
            if r.status >= 400 and not (r.status == 404 and STREAMLIT_PROBES.match(urlparse(r.url).path))
            else None
        ),
    )
    watch_outside(page, outside)
    con = connect(demo_db)
    try:
        partner_id = scorecard.partner_list(con)["partner_id"][0]
    finally:
        con.close()
    problems: list[str] = []
    heights: list[str] = []

    def check(name: str) -> None:
        """Check the page as drawn now, save its screenshot and note its height."""
        layout = page.evaluate(LAYOUT_JS)
        if layout["sideways"] > 0:
            problems.append(f"{name}: the main area scrolls sideways by {layout['sideways']} px")
        problems.extend(f"{name}: wider than the main area: {e}" for e in layout["wide"])
        problems.extend(f"{name}: cut with an ellipsis: {e}" for e in layout["cut"])
        problems.extend(f"{name}: {line}" for line in logged + failed + outside)
        for seen in (logged, failed, outside):
            seen.clear()
        full = page.evaluate(MAIN_HEIGHT_JS)
        heights.append(f"{name} at {width} px: {full:,} px")
        # Streamlit scrolls inside its main section, not the document: grow the window to the
        # content's height so the screenshot holds the whole page.
        page.set_viewport_size({"width": width, "height": max(height, full)})
        page.wait_for_timeout(300)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
        page.set_viewport_size({"width": width, "height": height})

    try:
        # The What-if page as a leader uses it: a threshold moved, the curves beside the sliders.
        whatif = "whatif?min_trainings=2&curves=true"
        scorecard_link = f"scorecard?scorecard_partner={partner_id}"
        paths = ("", "tiers", whatif, "weekly", "roi", "recurring", "engagement", scorecard_link, "data")
        for path, heading in zip(paths, PAGES.values(), strict=True):
            page.goto(f"{server}/{path}")
            expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible(timeout=60_000)
            expect_page_drawn(page)
            name = path.split("?")[0] or "overview"
            check(name)
            # Every other tab of the page, as a click on it draws it: at the laptop's width, where
            # a label is cut first (each tab costs seconds of the suite's time budget).
            tabs = page.get_by_test_id("stMain").get_by_role("tablist").first.get_by_role("tab")
            others = [text.strip() for text in tabs.all_inner_texts()][1:] if width == min(WINDOWS)[0] else []
            for label in others:
                tab = tabs.filter(has_text=label)
                tab.click()
                expect(tab).to_have_attribute("aria-selected", "true")
                expect_page_drawn(page)
                check(f"{name}-{re.sub('[^a-z]+', '-', label.lower()).strip('-')}")
    finally:
        context.close()
    print("\n".join(["", *heights]))
    (SCREENSHOTS / f"heights-{width}.txt").write_text("\n".join(heights) + "\n")
    assert problems == [], "\n".join(problems)


def test_typing_part_of_a_name_in_the_scorecard_picker_opens_the_first_match(server, page, demo_db):
    con = connect(demo_db)
    try:
        partners = scorecard.partner_list(con)  # by name, then id
    finally:
        con.close()
    word = partners["partner_name"][0].split()[0]  # the first word of the first name, e.g. "Apex"
    matches = partners.filter(partners["partner_name"].str.to_lowercase().str.contains(word.lower(), literal=True))
    first = matches.row(0, named=True)
    page.goto(f"{server}/scorecard")
    expect(page.get_by_text("Type a partner's name or ID above to open its scorecard")).to_be_visible(timeout=60_000)
    picker = page.get_by_test_id("stSelectbox").filter(has_text="Partner").get_by_role("combobox")
    picker.click()
    picker.fill(word)
    picker.press("Enter")
    expect(page.get_by_role("heading", name=first["partner_name"], exact=True)).to_be_visible(timeout=30_000)
    if matches.height > 1:
        expect(page.get_by_text(f"{matches.height:,} partners match")).to_be_visible()
    # The link now holds the partner: opening it elsewhere shows the same scorecard.
    expect(page).to_have_url(re.compile(re.escape(f"%28{first['partner_id']}%29")), timeout=15_000)
    page.goto(page.url)
    expect(page.get_by_role("heading", name=first["partner_name"], exact=True)).to_be_visible(timeout=60_000)


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
