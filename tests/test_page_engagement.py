"""The Engagement page under AppTest (numbers shown = the engine's), and its chart specs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from kpi import engagement, metrics
from kpi.params import View
from kpi.store import connect, data_span
from tests.conftest import ENGAGEMENT_A as A
from tests.conftest import ENGAGEMENT_PROGRAM as PROGRAM
from tests.conftest import ENGAGEMENT_W as W
from tests.conftest import default_view, load_tables, metric, open_page, page_report
from tests.test_ui_downloads import button_keys, pairs, recorded_downloads
from ui import charts_engagement
from ui import format as fmt
from ui.charts import TIER_COLORS

PAGE = "pages/engagement.py"


def open_engagement(db: Path, monkeypatch: pytest.MonkeyPatch, **params: str):
    at = open_page(db, monkeypatch, "engagement", **params)
    assert not at.exception
    assert at.title[0].value == "Engagement"
    return at


def table(at, column: str) -> pd.DataFrame:
    """The first table on the page with this column."""
    return next(df.value for df in at.dataframe if column in df.value.columns)


TABS = ("Content and courses", "Staff", "Look busy")


def open_tab(at, tab: str):
    """The page with this tab open, as a click on it does (only the open tab is built)."""
    at.session_state["engagement_tab"] = tab
    at.run()
    assert not at.exception
    return at


def every_tab(at) -> dict:
    """What the page shows across its tabs: metric values by label, captions, markdown."""
    shown = {"metrics": {}, "captions": "", "markdown": ""}
    for tab in TABS:
        open_tab(at, tab)
        shown["metrics"].update({m.label: m.value for m in at.metric})
        shown["captions"] += " ".join(c.value for c in at.caption)
        shown["markdown"] += "\n".join(m.value for m in at.markdown)
    return shown


@dataclasses.dataclass
class Engine:
    segmented: pl.DataFrame
    items: pl.DataFrame
    staff: pl.DataFrame

    def look_busy(self, min_logins: int) -> pl.DataFrame:
        return engagement.look_busy(self.segmented, min_logins)


def engine(db: Path, view: View | None = None) -> Engine:
    """What the engine says for this view (the default view when none is given)."""
    con = connect(db)
    try:
        view = view or View(as_of=data_span(con)[1])
        as_of = view.as_of
        return Engine(
            segmented=metrics.segment(metrics.partner_facts(con, as_of, view.window_days), view),
            items=engagement.item_lift(engagement.item_facts(con, as_of, view.window_days)),
            staff=engagement.staff_facts(con, as_of, view.window_days),
        )
    finally:
        con.close()


def win_rate_text(won: int, closed: int) -> str:
    return f"{100 * won / closed:.1f}% of {closed:,} deals" if closed else f"n/a ({closed} deals)"


@pytest.fixture(scope="module")
def program_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return load_tables(tmp_path_factory.mktemp("engagement") / "program.duckdb", PROGRAM)


# --- the demo program -------------------------------------------------------------------------


def test_page_shows_the_engine_numbers_for_the_default_view(demo_db, monkeypatch):
    at = open_engagement(demo_db, monkeypatch)
    expected = engine(demo_db)
    used = expected.items.filter(pl.col("partners") > 0).height
    assert metric(at, "Content and courses used") == f"{used:,} of {expected.items.height:,}"
    active = expected.staff.filter(pl.col("actions") + pl.col("logins") > 0).height
    assert metric(at, "Active staff") == f"{active:,} of {expected.staff.height:,}"
    assert active == expected.segmented["active_users"].sum()  # the Overview's partners count the same people
    idle = expected.staff.filter(pl.col("actions") == 0).height
    assert metric(at, "Staff doing no work") == f"{idle:,}"

    shown = table(at, "adopters_win_rate")  # the first tab: content and courses
    ranked = engagement.rank_items(expected.items, "adopters")
    assert len(shown) == min(20, expected.items.height)
    assert list(shown["item"]) == ranked["item_name"].head(20).to_list()
    assert list(shown["adopters"]) == ranked["adopters"].head(20).to_list()
    first = ranked.row(0, named=True)
    assert shown["adopters_win_rate"].iloc[0] == win_rate_text(first["adopters_won"], first["adopters_closed"])
    others_closed = first["population_closed"] - first["adopters_closed"]
    others_won = first["population_won"] - first["adopters_won"]
    assert shown["others_win_rate"].iloc[0] == win_rate_text(others_won, others_closed)
    assert any(f"Top {len(shown)} of {expected.items.height} items" in c.value for c in at.caption)
    assert not any("look-busy" in c.value for c in at.caption)  # only the open tab is built

    open_tab(at, "Look busy")
    busy = expected.look_busy(10)
    assert metric(at, "Look-busy partners") == f"{busy.height:,}"
    assert metric(at, "Share of the program") == f"{100 * busy.height / expected.segmented.height:.1f}%"
    assert metric(at, "Staff doing no work") == f"{idle:,}"  # the headline stays on every tab


def test_a_link_opens_a_tab(demo_db, monkeypatch):
    at = open_engagement(demo_db, monkeypatch, engagement_tab="Staff")
    assert at.tabs[0].label == "Content and courses" and at.session_state["engagement_tab"] == "Staff"
    assert any(m.value.startswith("**Most engaged staff**") for m in at.markdown)
    assert not any(df.value.columns.tolist()[:1] == ["item"] for df in at.dataframe)
    bad = open_engagement(demo_db, monkeypatch, engagement_tab="Nowhere")
    notice = " ".join(w.value for w in bad.warning)
    assert "engagement_tab=Nowhere" in notice and "using Content and courses instead" in notice


def test_moving_a_threshold_changes_the_look_busy_partners_as_the_engine_says(demo_db, monkeypatch):
    at = open_engagement(demo_db, monkeypatch, engagement_tab="Look busy")
    before = metric(at, "Look-busy partners")
    at.sidebar.slider(key="min_trainings").set_value(3).run()
    assert not at.exception
    expected = engine(demo_db, default_view(demo_db, min_trainings=3)).look_busy(10)
    assert metric(at, "Look-busy partners") == f"{expected.height:,}"
    assert metric(at, "Look-busy partners") != before  # harder to activate: more partners only look busy
    shown = table(at, "criteria_met")
    assert list(shown["partner_name"]) == expected["partner_name"].head(20).to_list()


def test_the_login_threshold_comes_from_the_link_and_the_control(demo_db, monkeypatch):
    at = open_engagement(demo_db, monkeypatch, engagement_min_logins="5", engagement_tab="Look busy")
    expected = engine(demo_db)
    assert at.number_input(key="engagement_min_logins").value == 5
    assert metric(at, "Look-busy partners") == f"{expected.look_busy(5).height:,}"
    at.number_input(key="engagement_min_logins").set_value(20).run()
    assert metric(at, "Look-busy partners") == f"{expected.look_busy(20).height:,}"


@pytest.mark.parametrize(("value", "why"), [("0", "between 1 and 10,000"), ("banana", "not a whole number")])
def test_a_bad_login_threshold_in_the_link_falls_back_with_a_notice(demo_db, monkeypatch, value, why):
    at = open_engagement(demo_db, monkeypatch, engagement_min_logins=value, engagement_tab="Look busy")
    notice = " ".join(w.value for w in at.warning)
    assert f"engagement_min_logins={value}" in notice and why in notice and "using 10" in notice
    assert at.number_input(key="engagement_min_logins").value == 10
    assert metric(at, "Look-busy partners") == f"{engine(demo_db).look_busy(10).height:,}"


def test_ranking_the_items_by_lift_and_a_bad_ranking_in_the_link(demo_db, monkeypatch):
    at = open_engagement(demo_db, monkeypatch, engagement_rank="nonsense")
    assert any("engagement_rank=nonsense" in w.value for w in at.warning)
    expected = engine(demo_db).items
    assert table(at, "adopters_win_rate")["item"].iloc[0] == engagement.rank_items(expected)["item_name"][0]
    at.selectbox(key="engagement_rank").set_value("win_rate_lift").run()
    shown = table(at, "adopters_win_rate")
    by_lift = expected.sort("win_rate_lift", descending=True, nulls_last=True)
    assert shown["item"].iloc[0] == by_lift["item_name"][0]
    assert shown["win_rate_lift"].iloc[0] == f"{by_lift['win_rate_lift'][0]:+.1f} pts"


# --- a program small enough to check by hand (tests/test_engagement.py) -----------------------


def test_small_program_shows_the_hand_computed_numbers(program_db, monkeypatch):
    at = open_engagement(program_db, monkeypatch, as_of=A.isoformat(), window_days=str(W), engagement_min_logins="1")
    assert metric(at, "Content and courses used") == "2 of 4"  # K1 and C1; C2 and K3 unused in the window
    assert metric(at, "Active staff") == "8 of 10"
    assert metric(at, "Partners without staff") == "1"
    assert metric(at, "Staff doing no work") == "7"

    unused = next(w.value for w in at.warning if "Used by nobody" in w.value)
    assert "(2)" in unused and "K3" in unused and "Old course" in unused

    items = table(at, "adopters_win_rate").set_index("item")
    deck = items.loc["Deck v2"]
    assert (deck["adopters"], deck["partners"], deck["staff"], deck["shares"], deck["views"]) == (1, 3, 3, 1, 3)
    assert deck["adopters_win_rate"] == "50.0% of 2 deals"
    assert deck["others_win_rate"] == "50.0% of 2 deals"
    assert deck["win_rate_lift"] == "+0.0 pts"
    assert deck["adopters_revenue_per_partner"] == "$1,120 (1 partner)"
    assert deck["others_revenue_per_partner"] == "$100 (5 partners)"
    assert deck["revenue_ratio"] == "11.20x"
    assert deck["sample"] == "small sample"
    old = items.loc["Old course"]  # completed by nobody in the window
    assert old["adopters_win_rate"] == "n/a (0 deals)"
    assert old["adopters_revenue_per_partner"] == "n/a (0 partners)"
    assert old["win_rate_lift"] == "n/a" and old["revenue_ratio"] == "n/a"
    assert old["others_win_rate"] == "50.0% of 4 deals"

    open_tab(at, "Staff")
    assert list(table(at, "region")["partner_name"]) == ["Partner P4"]  # no staff on record
    most = table(at, "user_name")
    assert list(most["user_name"]) == ["Cy Park", "Ana Lee", "Ben Ode"]
    assert any("7 did none of the work in the window, 2 of them not even a login" in m.value for m in at.markdown)
    open_tab(at, "Look busy")
    assert metric(at, "Look-busy partners") == "4"  # P5, P3, P4, P1 logged in at least once, none activated
    assert metric(at, "Share of the program") == "66.7%"  # 4 of 6
    busy = table(at, "criteria_met")
    assert list(busy["partner_name"]) == ["Partner P5", "Partner P3", "Partner P4", "Partner P1"]
    assert list(busy["logins"]) == [7, 1, 1, 1]


def test_staff_search_narrows_the_staff_list(program_db, monkeypatch):
    at = open_engagement(program_db, monkeypatch, as_of=A.isoformat(), window_days=str(W), engagement_tab="Staff")
    at.text_input(key="engagement_staff_search").input("partner p5").run()
    staff = [df.value for df in at.dataframe if "last_active_on" in df.value.columns][-1]
    assert sorted(staff["user_name"]) == ["Fay A", "Fay B", "Fay C", "Fay D"]
    assert any("4 of 4 staff shown" in c.value and "of 10 in the program" in c.value for c in at.caption)


ENGAGEMENT_TABLES = ("items", "without_staff", "most_engaged", "least_engaged", "staff", "busy")
ENGAGEMENT_CHARTS = ("lift", "users", "busy")


def test_every_table_downloads_in_full_with_its_numbers_as_numbers(program_db, monkeypatch):
    downloads = recorded_downloads(monkeypatch)
    at = open_engagement(program_db, monkeypatch, as_of=A.isoformat(), window_days=str(W), engagement_min_logins="1")
    keys = set()
    for tab in TABS:
        keys |= button_keys(open_tab(at, tab))
    assert keys == pairs(*(f"engagement_{t}_download" for t in ENGAGEMENT_TABLES)) | pairs(
        *(f"engagement_{c}_chart_download" for c in ENGAGEMENT_CHARTS), chart=True
    )
    open_tab(at, "Staff")
    # The items table shows rates as words with their samples; the files have the numbers behind them.
    items = downloads["engagement_items_download_csv"]
    assert items.file_name == f"engagement-items-{A.isoformat()}.csv"
    deck = items.csv().filter(pl.col("item_name") == "Deck v2").row(0, named=True)
    assert (deck["adopters_closed"], deck["adopters_win_rate"], deck["win_rate_lift"]) == (2, 50.0, 0.0)
    assert (deck["adopters_revenue_per_partner"], deck["others_revenue_per_partner"]) == (1120.0, 100.0)
    assert deck["revenue_ratio"] == pytest.approx(11.2) and deck["small_sample"] is True
    sheet = downloads["engagement_items_download_xlsx"].sheet("items")
    assert sheet.schema["adopters_win_rate"].is_numeric()  # a number in Excel (formatted as a percentage)
    least = downloads["engagement_least_engaged_download_csv"].csv()
    assert least.height == 7  # everyone who did none of the work, though the table shows ten at most
    assert downloads["engagement_without_staff_download_csv"].csv()["partner_id"].to_list() == ["P4"]
    busy = downloads["engagement_busy_download_csv"].csv()
    assert busy["partner_id"].to_list() == ["P5", "P3", "P4", "P1"]
    # The staff downloads follow the search: every person it finds.
    assert downloads["engagement_staff_download_csv"].csv().height == 10
    at.text_input(key="engagement_staff_search").input("partner p5").run()
    found = downloads["engagement_staff_download_csv"].csv()
    assert sorted(found["user_name"]) == ["Fay A", "Fay B", "Fay C", "Fay D"]
    svg = downloads["engagement_users_chart_download_svg"].text()
    assert "no staff on record" in svg


# --- charts and display text ------------------------------------------------------------------


@pytest.fixture(scope="module")
def program_engine(program_db) -> Engine:
    return engine(program_db, View(as_of=A, window_days=W))


def test_lift_chart_puts_both_groups_side_by_side_with_their_sample_sizes(program_engine):
    ranked = engagement.rank_items(program_engine.items)
    chart = charts_engagement.lift_chart(ranked)
    spec = chart.to_dict()  # validates against the Vega-Lite schema
    rows = chart.data
    assert rows.height == 2 * 4  # four items, adopters and others
    deck = {r["group"]: r for r in rows.filter(pl.col("item") == "Deck v2").iter_rows(named=True)}
    assert (deck[charts_engagement.ADOPTERS]["won"], deck[charts_engagement.ADOPTERS]["closed"]) == (1, 2)
    assert (deck[charts_engagement.OTHERS]["partners"], deck[charts_engagement.OTHERS]["closed"]) == (5, 2)
    assert rows.filter(pl.col("item") == "Old course", pl.col("group") == charts_engagement.ADOPTERS)[
        "win_rate"
    ].to_list() == [None]  # no bar, not a zero
    tooltip_fields = {t["field"] for t in spec["encoding"]["tooltip"]}
    assert {"closed", "won", "partners", "small_sample"} <= tooltip_fields
    assert "%" in spec["encoding"]["x"]["title"] and spec["title"]
    assert spec["encoding"]["y"]["sort"] == ranked["item_name"].to_list()
    assert charts_engagement.lift_chart(ranked, items=2).data.height == 4


def test_active_users_chart_has_every_bucket_in_order(program_db):
    con = connect(program_db)
    try:
        facts = metrics.partner_facts(con, A, W)
        distribution = engagement.active_users_distribution(facts, engagement.staff_facts(con, A, W))
    finally:
        con.close()
    chart = charts_engagement.active_users_chart(distribution)
    spec = chart.to_dict()
    assert spec["encoding"]["x"]["sort"] == list(engagement.ACTIVE_USER_BUCKETS)
    assert spec["encoding"]["y"]["title"] and spec["encoding"]["x"]["title"] and spec["title"]
    assert dict(chart.data.select("bucket", "partners").iter_rows()) == {
        "no staff on record": 1,
        "0": 1,
        "1": 2,
        "2": 1,
        "3": 0,
        "4+": 1,
    }
    spec_only, data = charts_engagement.split_spec(chart)
    assert "data" not in spec_only and "datasets" not in spec_only and data.equals(chart.data)


def test_look_busy_chart_uses_the_tier_palette(program_engine):
    groups = engagement.logins_actions_groups(program_engine.look_busy(1))
    spec = charts_engagement.look_busy_chart(groups).to_dict()
    assert spec["encoding"]["color"]["scale"]["range"] == [TIER_COLORS[t] for t in metrics.TIERS]
    assert spec["encoding"]["x"]["title"] == "Logins in the window"
    assert "Actions" in spec["encoding"]["y"]["title"] and spec["title"]
    template = charts_engagement.look_busy_template()
    assert "data" not in template and "datasets" not in template
    assert template["encoding"] == spec["encoding"] and template["mark"] == spec["mark"]


@pytest.mark.parametrize(
    ("rate", "sample", "text"),
    [(42.0, 50, "42.0% of 50 deals"), (100.0, 1, "100.0% of 1 deal"), (None, 0, "n/a (0 deals)")],
)
def test_rates_read_with_their_sample_size(rate, sample, text):
    assert charts_engagement.rate_with_sample(rate, sample) == text


# --- the page and python -m kpi report ------------------------------------------------------------


def assert_shows(at, numbers: dict) -> None:
    """The page's numbers are the report's, as the page writes them."""
    items, staff, busy = numbers["items"], numbers["staff"], numbers["look_busy"]
    expected = {
        "Content and courses used": f"{items['used']:,} of {items['total']:,}",
        "Active staff": f"{staff['active']:,} of {staff['total']:,}",
        "Partners without staff": fmt.count(numbers["partners_without_staff"]),
        "Staff doing no work": fmt.count(staff["did_none_of_the_work"]),
        "Look-busy partners": fmt.count(busy["partners"]),
        "Share of the program": fmt.pct(busy["share_pct"]),
    }
    shown = every_tab(at)
    assert {label: shown["metrics"][label] for label in expected} == expected
    assert (
        f"{staff['did_none_of_the_work']:,} did none of the work in the window, {staff['silent']:,} of them not even"
        in shown["markdown"]
    )
    captions = shown["captions"]
    assert f"over the {numbers['partners']:,} partners in the program" in captions
    small = items["small_sample"]
    assert (f"{small:,} item is" if small == 1 else f"{small:,} items are") + " flagged **small sample**" in captions
    per_partner = numbers["active_staff_per_partner"]
    assert f"{per_partner['0']:,} partners have staff on record but nobody active" in captions
    assert f"{per_partner['no staff on record']:,} have no staff on record at all" in captions


def test_the_page_shows_the_numbers_of_python_m_kpi_report(report_db, monkeypatch):
    at = open_engagement(report_db, monkeypatch, engagement_min_logins="5")
    assert_shows(at, page_report(report_db, "engagement", "--engagement-min-logins", "5"))
    at.sidebar.slider(key="min_deals").set_value(0).run()
    assert_shows(at, page_report(report_db, "engagement", "--engagement-min-logins", "5", "--min-deals", "0"))
