"""The ROI page under AppTest (numbers shown = the engine's for the same view) and its chart specs."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from kpi import metrics, roi
from kpi.params import View
from kpi.store import connect
from tests.conftest import (
    activity,
    d,
    deal,
    default_view,
    engine_summary,
    load_tables,
    metric,
    open_page,
    page_report,
    partner,
    spend,
)
from tests.test_ui_downloads import button_keys, pairs, recorded_downloads
from ui import charts, charts_roi
from ui import format as fmt


def open_roi(db: Path, monkeypatch: pytest.MonkeyPatch, **params: str) -> AppTest:
    """The app opened on the ROI page, as a shared link to /roi?... does."""
    return open_page(db, monkeypatch, "roi", **params)


def engine(db: Path, view: View) -> dict:
    """What the engine says for this view: segmented partners, the months, the window's numbers."""
    con = connect(db)
    try:
        segmented = metrics.segment(metrics.partner_facts(con, view.as_of, view.window_days), view)
        monthly = roi.monthly(roi.monthly_history(con, view.as_of, view.window_days), view)
    finally:
        con.close()
    return {"view": view, "segmented": segmented, "monthly": monthly, "headline": roi.window_headline(segmented, view)}


TABLE_FIRST_COLUMNS = {
    "months": ("month", 0),
    "groups": ("group", 0),
    "categories": ("category", 0),
    "overpaying": ("partner_id", 0),  # both partner lists start with the id; overpaying comes first
    "best": ("partner_id", 1),
}


TABS = ("Month by month", "By group", "By category", "Partner by partner")
TABLE_TAB = {
    "months": "Month by month",
    "groups": "By group",
    "categories": "By category",
    "overpaying": "Partner by partner",
    "best": "Partner by partner",
}


def open_tab(at: AppTest, tab: str) -> AppTest:
    """The page with this tab open, as a click on it does (only the open tab is built)."""
    at.session_state["roi_tab"] = tab
    at.run()
    assert not at.exception
    return at


def table(at: AppTest, name: str):
    """A table of the page, known by its first column (AppTest does not expose a dataframe's key),
    with its tab opened."""
    first_column, nth = TABLE_FIRST_COLUMNS[name]
    open_tab(at, TABLE_TAB[name])
    return [frame.value for frame in at.dataframe if frame.value.columns[0] == first_column][nth]


def same(shown: float, expected: float | None) -> bool:
    """A table cell against the engine: n/a (NaN in the table) only where the engine has no value."""
    if expected is None:
        return shown is None or math.isnan(shown)
    return shown == pytest.approx(expected)


# --- the numbers on the page ---------------------------------------------------------------------


def test_headline_numbers_are_the_overviews(demo_db, monkeypatch):
    at = open_roi(demo_db, monkeypatch)
    assert not at.exception
    assert at.title[0].value == "Return on investment"
    overview = engine_summary(demo_db, default_view(demo_db))
    assert metric(at, "Program ROI") == fmt.roi(overview["roi"])
    assert metric(at, "Revenue") == fmt.money(overview["revenue"])
    assert metric(at, "Cost") == fmt.money(overview["cost"])
    assert metric(at, "Cost per activated partner") == fmt.money(overview["cost"] / overview["activated"])
    open_tab(at, "Partner by partner")
    expected = engine(demo_db, default_view(demo_db))
    earners = roi.unfunded_earners(expected["segmented"])
    assert metric(at, "Partners with revenue but no cost") == fmt.count(earners["partners"])
    assert metric(at, "Revenue without cost") == fmt.money(earners["revenue"])


def test_months_table_shows_the_engines_last_24_months(demo_db, monkeypatch):
    at = open_roi(demo_db, monkeypatch)
    months = table(at, "months")
    monthly = engine(demo_db, default_view(demo_db))["monthly"].sort("month", descending=True)
    assert len(months) == roi.MONTHS_SHOWN == monthly.height
    assert list(months["cost"]) == monthly["cost"].to_list()
    assert list(months["activated"]) == monthly["activated"].to_list()
    for shown, expected in zip(months["roi"], monthly["roi"], strict=True):
        assert same(shown, None if expected is None else 100 * expected)
    for shown, expected in zip(months["cost_per_activated"], monthly["cost_per_activated"], strict=True):
        assert same(shown, expected)
    assert f"last {roi.MONTHS_SHOWN} months" in " ".join(c.value for c in at.caption)


def test_moving_min_trainings_changes_cost_per_activated_partner(demo_db, monkeypatch):
    at = open_roi(demo_db, monkeypatch)
    before = metric(at, "Cost per activated partner")
    at.sidebar.slider(key="min_trainings").set_value(3).run()
    assert not at.exception
    view = default_view(demo_db, min_trainings=3)
    summary = engine_summary(demo_db, view)
    assert metric(at, "Cost per activated partner") == fmt.money(summary["cost"] / summary["activated"])
    assert metric(at, "Cost per activated partner") != before
    assert metric(at, "Program ROI") == fmt.roi(summary["roi"])  # thresholds do not move ROI
    monthly = engine(demo_db, view)["monthly"].sort("month", descending=True)
    months = table(at, "months")
    assert list(months["activated"]) == monthly["activated"].to_list()
    assert months["activated"].iloc[0] == summary["activated"]
    for shown, expected in zip(months["cost_per_activated"], monthly["cost_per_activated"], strict=True):
        assert same(shown, expected)


def test_grouping_by_region_from_a_link_shows_the_engines_groups(demo_db, monkeypatch):
    at = open_roi(demo_db, monkeypatch, roi_group="Region", roi_tab="By group")
    assert not at.exception and not at.warning
    assert at.selectbox(key="roi_group").value == "region"
    assert at.selectbox(key="roi_group").format_func("region") == "Region"
    groups = table(at, "groups")
    expected = roi.roi_by_group(engine(demo_db, default_view(demo_db))["segmented"], "region")
    assert list(groups["group"]) == expected["group"].to_list()
    assert list(groups["cost"]) == expected["cost"].to_list()
    for shown, value in zip(groups["roi"], expected["roi"], strict=True):
        assert same(shown, None if value is None else 100 * value)


def test_a_link_opens_a_tab_and_only_that_tab_is_built(demo_db, monkeypatch):
    at = open_roi(demo_db, monkeypatch, roi_tab="By category")
    assert not at.exception and not at.warning
    assert [s.value for s in at.main.subheader] == ["Investment by category"]
    assert [frame.value.columns[0] for frame in at.dataframe] == ["category"]
    bad = open_roi(demo_db, monkeypatch, roi_tab="Everything")
    notice = " ".join(w.value for w in bad.warning)
    assert "roi_tab=Everything" in notice and "using Month by month instead" in notice
    assert [s.value for s in bad.main.subheader] == ["Month by month"]


def test_a_bad_roi_group_link_value_falls_back_to_tier_with_a_notice(demo_db, monkeypatch):
    at = open_roi(demo_db, monkeypatch, roi_group="banana", roi_tab="By group")
    assert not at.exception
    notice = at.warning[0].value
    assert "roi_group=banana" in notice and "using Tier" in notice
    assert at.selectbox(key="roi_group").value == "tier"
    assert list(table(at, "groups")["group"]) == ["reward", "nurture", "drop"]
    at.selectbox(key="roi_group").set_value("partner_type").run()  # picking a group clears the notice
    assert not at.warning
    assert "reseller" in set(table(at, "groups")["group"])


def test_a_small_program_shows_n_a_where_nothing_was_spent(tmp_path, monkeypatch):
    """P1 (EMEA): revenue 300, cost 100, activated. P2 (EMEA): cost 400. P3 (APAC): revenue 500, no cost."""
    db = load_tables(
        tmp_path / "small.duckdb",
        {
            "partners": [partner("P1", region="EMEA"), partner("P2", region="EMEA"), partner("P3", region="APAC")],
            "activities": [
                activity("P1", "2026-03-20", "training_completed"),
                activity("P1", "2026-03-20", "content_shared"),
            ],
            "deals": [
                deal("D1", "P1", "2026-03-05", "won", "2026-03-10", amount=300),
                deal("D3", "P3", "2026-03-05", "won", "2026-03-31", amount=500),
            ],
            "investments": [spend("P1", "2026-03-02", 100, "mdf"), spend("P2", "2026-03-03", 400, "spiff")],
        },
    )
    at = open_roi(db, monkeypatch, roi_group="Region", as_of="2026-03-31", window_days="30")
    assert not at.exception
    # Revenue 800, cost 500: ROI +60.0%; one activated partner.
    assert (metric(at, "Program ROI"), metric(at, "Cost"), metric(at, "Cost per activated partner")) == (
        "+60.0%",
        "$500",
        "$500",
    )
    groups = table(at, "groups").set_index("group")
    assert list(groups.index) == ["APAC", "EMEA"]
    assert math.isnan(groups.loc["APAC", "roi"]) and math.isnan(groups.loc["APAC", "cost_per_activated"])
    assert groups.loc["EMEA", "roi"] == pytest.approx(100 * (300 - 500) / 500)
    overpaid = table(at, "overpaying")
    assert list(overpaid["partner_id"]) == ["P2"] and overpaid["roi"].iloc[0] == -100.0
    assert list(table(at, "best")["partner_id"]) == ["P1", "P2"]
    categories = table(at, "categories").set_index("category")
    assert list(categories.index) == ["MDF", "Incentive", "Enablement", "SPIFF", "Other"]
    assert (categories.loc["MDF", "recipients"], categories.loc["MDF", "revenue_per_invested"]) == (1, 3.0)
    assert math.isnan(categories.loc["Enablement", "revenue_per_invested"])
    open_tab(at, "Partner by partner")
    assert metric(at, "Partners with revenue but no cost") == "1"
    assert metric(at, "Revenue without cost") == "$500"
    for tab in TABS:
        assert all(frame.proto.placeholder == "n/a" for frame in open_tab(at, tab).dataframe)


# --- chart specs --------------------------------------------------------------------------------------


def chart_rows(chart) -> list[dict]:
    """The rows of the chart's main dataset (the largest one; a rule may carry its own)."""
    datasets = chart.to_dict()["datasets"].values()
    return max(datasets, key=len)


def months_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "month": [d("2026-01-01"), d("2026-02-01"), d("2026-03-01")],
            "month_end": [d("2026-01-31"), d("2026-02-28"), d("2026-03-15")],
            "partners": [3, 3, 4],
            "revenue": [400.0, 0.0, 0.0],
            "cost": [200.0, 0.0, 50.0],
            "roi": [1.0, None, -1.0],
            "activated": [0, 0, 2],
            "cost_per_activated": [None, None, 25.0],
        }
    )


def test_monthly_roi_chart_plots_roi_as_a_percent_of_cost_with_a_break_even_line():
    chart = charts_roi.monthly_roi_chart(months_frame())
    spec = chart.to_dict()  # validates against the Vega-Lite schema
    assert chart_rows(chart) == [
        {"month": "2026-01-01", "roi": 1.0},
        {"month": "2026-02-01", "roi": None},  # no spend: no point
        {"month": "2026-03-01", "roi": -1.0},
    ]
    rule, line = spec["layer"]
    assert rule["mark"]["type"] == "rule" and rule["encoding"]["y"] == {"datum": 0}
    assert line["encoding"]["y"]["title"] == "Program ROI in the month (% of cost)"
    assert line["encoding"]["y"]["axis"]["format"] == "+.0%"
    assert spec["title"] == "Program ROI, month by month"


def test_cost_per_activated_chart_has_money_on_its_axis():
    chart = charts_roi.cost_per_activated_chart(months_frame(), "€")
    spec = chart.to_dict()
    assert [row["cost_per_activated"] for row in chart_rows(chart)] == [None, None, 25.0]
    assert spec["encoding"]["y"]["title"] == "Cost per activated partner (€)"
    assert spec["encoding"]["x"]["title"] == "Month"


def groups_frame(groups: list[str], rois: list[float | None], costs: list[float]) -> pl.DataFrame:
    n = len(groups)
    return pl.DataFrame(
        {
            "group": groups,
            "partners": [1] * n,
            "activated": [0] * n,
            "revenue": [0.0] * n,
            "cost": costs,
            "roi": rois,
            "cost_per_activated": [None] * n,
        },
        schema_overrides={"roi": pl.Float64, "cost_per_activated": pl.Float64},
    )


def test_roi_by_tier_chart_uses_the_one_tier_palette_and_labels_n_a():
    chart = charts_roi.roi_by_group_chart(
        groups_frame(["reward", "nurture", "drop"], [2.0, None, -1.0], [1, 0, 2]), "tier"
    )
    spec = chart.to_dict()
    color = spec["encoding"]["color"]
    assert color["scale"] == charts.TIER_SCALE.to_dict()
    assert color["scale"]["range"] == [charts.TIER_COLORS[t] for t in metrics.TIERS]
    rows = chart_rows(chart)
    assert [row["label"] for row in rows] == ["reward: +200.0%", "nurture: n/a", "drop: -100.0%"]
    assert [row["order"] for row in rows] == [0, 1, 2]
    assert spec["encoding"]["y"]["sort"] == {"field": "order", "op": "min"}  # tier order, not alphabetical
    assert spec["encoding"]["x"]["title"] == "ROI over the window (% of cost)"


def test_roi_by_region_chart_is_one_colour_and_keeps_the_groups_with_the_largest_cost():
    n = charts_roi.MAX_GROUP_BARS + 5
    names = [f"R{i:02d}" for i in range(n)]
    chart = charts_roi.roi_by_group_chart(groups_frame(names, [0.5] * n, [float(i) for i in range(n)]), "region")
    spec = chart.to_dict()
    assert "color" not in spec["encoding"] and spec["mark"]["color"] == charts_roi.ROI_COLOR
    shown = [row["group"] for row in chart_rows(chart)]
    assert shown == names[5:]  # the five cheapest groups are left out, the order kept
    assert spec["title"] == "ROI by region"


def test_category_chart_puts_spend_next_to_the_recipients_revenue():
    categories = pl.DataFrame(
        {
            "category": ["mdf", "enablement", "Co-marketing"],
            "spend": [130.0, 0.0, 40.0],
            "recipients": [2, 0, 1],
            "revenue": [300.0, 0.0, 100.0],
            "revenue_per_invested": [300 / 130, None, 2.5],
        }
    )
    chart = charts_roi.category_chart(categories, "$")
    spec = chart.to_dict()
    rows = chart_rows(chart)
    assert len(rows) == 6  # two bars per category, no more
    by_bar = {(row["category"], row["measure"]): row["amount"] for row in rows}
    assert by_bar[("MDF", "Spent in the window")] == 130.0
    assert by_bar[("MDF", "Revenue of the partners who received it")] == 300.0
    assert by_bar[("Enablement", "Spent in the window")] == 0.0
    assert by_bar[("Co-marketing", "Revenue of the partners who received it")] == 100.0
    assert spec["encoding"]["x"]["sort"] == ["MDF", "Enablement", "Co-marketing"]
    assert spec["encoding"]["y"]["title"] == "Amount in the window ($)"
    assert spec["encoding"]["color"]["scale"]["range"] == [charts.PARTNER_COLOR, charts.REVENUE_COLOR]


def test_the_page_sends_the_same_chart_as_a_template_and_its_rows():
    """The page draws `st.vega_lite_chart(rows, template)`: together they are the chart the builders make."""
    import altair as alt

    months = months_frame()
    spec, rows = charts_roi.spec_and_data(charts_roi.cost_per_activated_chart(months, "€"))
    assert charts_roi.cost_per_activated_template("€") == spec
    assert rows.equals(charts_roi.cost_per_activated_data(months))
    groups = groups_frame(["reward", "nurture", "drop"], [2.0, None, -1.0], [1, 0, 2])
    spec, rows = charts_roi.spec_and_data(charts_roi.roi_by_group_chart(groups, "tier"))
    assert charts_roi.roi_by_group_template("tier", 3) == spec
    assert rows.equals(charts_roi.roi_by_group_data(groups))
    # A template with its rows is a valid Vega-Lite chart (from_dict validates against the schema).
    alt.Chart.from_dict({**spec, "data": {"values": rows.to_dicts()}})
    spec, rows = charts_roi.spec_and_data(charts_roi.monthly_roi_chart(months))
    assert "datasets" not in spec and rows["roi"].to_list() == [1.0, None, -1.0]
    alt.LayerChart.from_dict({**spec, "data": {"values": rows.to_dicts()}})


# --- the page and python -m kpi report ------------------------------------------------------------

HEADLINE_CARDS = (
    "Program ROI",
    "Revenue",
    "Cost",
    "Cost per activated partner",
    "Partners with revenue but no cost",
    "Revenue without cost",
)


def assert_shows(at: AppTest, numbers: dict) -> None:
    """The page's headline is the report's numbers, as the page writes them."""
    open_tab(at, "Partner by partner")  # the partner lists and the unfunded earners, under the headline
    earners = numbers["unfunded_earners"]
    assert {label: metric(at, label) for label in HEADLINE_CARDS} == {
        "Program ROI": fmt.roi(numbers["roi"]),
        "Revenue": fmt.money(numbers["revenue"]),
        "Cost": fmt.money(numbers["cost"]),
        "Cost per activated partner": fmt.money(numbers["cost_per_activated"]),
        "Partners with revenue but no cost": fmt.count(earners["partners"]),
        "Revenue without cost": fmt.money(earners["revenue"]),
    }
    help_text = next(m for m in at.metric if m.label == "Cost per activated partner").help
    assert f"the {numbers['activated']:,} partners activated" in help_text
    captions = [c.value for c in at.caption]
    assert any(c.startswith(f"**{numbers['overpaying']:,}** partners cost more") for c in captions)
    assert any(c.startswith(f"Of the **{numbers['funded']:,}** partners the program spent") for c in captions)


def test_the_page_shows_the_numbers_of_python_m_kpi_report(report_db, monkeypatch):
    at = open_roi(report_db, monkeypatch)
    assert not at.exception
    assert_shows(at, page_report(report_db, "roi"))
    at.sidebar.slider(key="min_shares").set_value(0).run()
    assert_shows(at, page_report(report_db, "roi", "--min-shares", "0"))


# --- downloads -----------------------------------------------------------------------------------

ROI_TABLES = ("months", "groups", "categories", "overpaying", "best")
ROI_CHARTS = ("monthly_chart", "cost_chart", "group_chart", "category_chart")


def test_every_table_and_chart_downloads_and_the_partner_lists_in_full(demo_db, monkeypatch):
    downloads = recorded_downloads(monkeypatch)
    at = open_roi(demo_db, monkeypatch, roi_group="Region")
    assert not at.exception
    keys = set()
    for tab in TABS:
        keys |= button_keys(open_tab(at, tab))
    assert keys == pairs(*(f"roi_{t}_download" for t in ROI_TABLES)) | pairs(
        *(f"roi_{c}_download" for c in ROI_CHARTS), chart=True
    )
    view = default_view(demo_db)
    expected = engine(demo_db, view)
    numbers = page_report(demo_db, "roi")
    # The lists show ten partners; their downloads have every one, in the same order, ROI as a ratio.
    losing = downloads["roi_overpaying_download_csv"].csv()
    assert losing.height == numbers["overpaying"] > len(table(at, "overpaying"))
    assert losing["partner_id"].head(10).to_list() == list(table(at, "overpaying")["partner_id"])
    assert (losing["roi"] < 0).all()
    best = downloads["roi_best_download_xlsx"].sheet("best return")
    assert best.height == numbers["funded"] and best["roi"].to_list() == sorted(best["roi"].to_list(), reverse=True)
    groups = downloads["roi_groups_download_csv"]
    assert groups.file_name == f"roi-by-region-{view.as_of.isoformat()}.csv"
    assert groups.csv()["region"].to_list() == list(table(at, "groups")["group"])
    months = downloads["roi_months_download_csv"].csv()
    assert months["cost"].to_list() == expected["monthly"].sort("month", descending=True)["cost"].to_list()
    assert months["roi"].to_list()[0] == pytest.approx(table(at, "months")["roi"].iloc[0] / 100)
    assert downloads["roi_categories_download_csv"].csv()["category"].to_list() == list(
        table(at, "categories")["category"]
    )
    svg = downloads["roi_category_chart_download_svg"].text()
    assert "Amount in the window ($)" in svg and "MDF" in svg
