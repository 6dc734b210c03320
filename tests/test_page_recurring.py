"""The Recurring revenue page under AppTest (the numbers shown are the engine's) and its chart specs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from kpi import metrics, recurring
from kpi.params import View
from kpi.store import connect
from tests.conftest import (
    BOOK,
    activity,
    d,
    default_view,
    load_tables,
    open_page,
    page_report,
    partner,
)
from tests.test_ui_downloads import button_keys, pairs, png_size, recorded_downloads
from ui import charts, charts_recurring
from ui import data as ui_data
from ui import format as fmt

PAGE = "pages/recurring.py"


def open_recurring(db: Path, monkeypatch: pytest.MonkeyPatch, **params: str):
    at = open_page(db, monkeypatch, "recurring", **params)
    assert not at.exception
    assert at.title[0].value == "Recurring revenue"
    return at


def engine(db: Path, view: View) -> dict:
    """The engine's numbers for this view, straight from kpi/ (as-of defaulting to the data's)."""
    con = connect(db)
    try:
        as_of, window = view.as_of, view.window_days
        facts = metrics.partner_facts(con, as_of, window)
        segmented = metrics.segment(facts, view)
        return {
            "summary": metrics.summarize(segmented, view),
            "movement": recurring.mrr_movement(metrics.partner_months(con, as_of)),
            "retention": recurring.net_revenue_retention(recurring.retention_cohort(con, as_of, window)),
            "revenue": recurring.concentration(facts, "revenue"),
            "mrr": recurring.concentration(facts, "mrr"),
            "by_tier": recurring.mrr_by_tier(segmented),
            "top": recurring.top_partners_by_mrr(segmented, 10),
        }
    finally:
        con.close()


TABS = ("Month by month", "Retention", "By tier and partner", "Concentration")


def open_tab(at, tab: str):
    """The page with this tab open, as a click on it does (only the open tab is built)."""
    at.session_state["recurring_tab"] = tab
    at.run()
    assert not at.exception
    return at


def somewhere(at, look):
    """What `look` finds on the page: on the open tab, or else on the first tab that shows it."""
    found = look(at)
    for tab in TABS:
        if found is not None:
            break
        found = look(open_tab(at, tab))
    assert found is not None
    return found


def metric(at, label: str) -> str:
    """The value of the card with this label, on whichever tab shows it (the headline on all)."""
    return somewhere(at, lambda shown: next((m.value for m in shown.metric if m.label == label), None))


def caption_with(at, text: str) -> str:
    return somewhere(at, lambda shown: next((c.value for c in shown.caption if text in c.value), None))


def movement_table(at):
    return open_tab(at, "Month by month").dataframe[0].value


def top_table(at):
    """The partners with the most MRR."""
    return open_tab(at, "By tier and partner").dataframe[0].value


def tier_caption(by_tier: pl.DataFrame) -> str:
    return " · ".join(f"{r['tier']} {fmt.pct(r['mrr_pct'])}" for r in by_tier.iter_rows(named=True))


def test_the_page_shows_the_engine_numbers_on_the_demo(demo_db, monkeypatch):
    at = open_recurring(demo_db, monkeypatch)
    expected = engine(demo_db, default_view(demo_db))
    this_month = expected["movement"].row(-1, named=True)
    # MRR at the as-of date is the Overview's MRR.
    assert metric(at, "MRR") == fmt.money(expected["summary"]["mrr"]) == fmt.money(this_month["mrr"])
    assert metric(at, "ARR") == fmt.money(expected["summary"]["arr"])
    assert metric(at, "Net new MRR this month") == fmt.money(this_month["net_new_mrr"])
    assert metric(at, "New MRR") == fmt.money(this_month["new_mrr"])
    assert metric(at, "Churned MRR") == fmt.money(this_month["churned_mrr"])
    assert metric(at, "MRR out with partners leaving") == fmt.money(this_month["left_mrr"])
    retention = expected["retention"]
    assert retention["nrr"] is not None
    assert metric(at, "Net revenue retention") == fmt.pct(retention["nrr"])
    assert metric(at, "Gross revenue retention") == fmt.pct(retention["grr"])
    assert metric(at, "Partners with MRR at the window start") == fmt.count(retention["partners"])
    assert metric(at, "Their MRR at the window start") == fmt.money(retention["start_mrr"])
    assert metric(at, "Their MRR now") == fmt.money(retention["end_mrr"])
    revenue, mrr = expected["revenue"], expected["mrr"]
    assert metric(at, "Top 10% share of revenue") == fmt.pct(revenue["top10_share"])
    assert metric(at, "Top 20% share of revenue") == fmt.pct(revenue["top20_share"])
    assert metric(at, "Partners bringing 80% of revenue") == fmt.count(revenue["partners_for_80"])
    assert metric(at, "Top 10% share of MRR") == fmt.pct(mrr["top10_share"])
    assert metric(at, "Partners bringing 80% of MRR") == fmt.count(mrr["partners_for_80"])
    assert f"of {fmt.count(revenue['partners'])} in the program" in caption_with(at, "Top 10% = the")
    # MRR by tier and the top partners by MRR.
    assert tier_caption(expected["by_tier"]) in caption_with(at, "split by today's tiers")
    top, with_mrr = expected["top"]
    shown = top_table(at)
    assert shown["partner_name"].tolist() == top["partner_name"].to_list()
    assert shown["mrr"].tolist() == top["mrr"].to_list()
    assert shown["tier"].tolist() == top["tier"].to_list()
    assert f"of {with_mrr:,} partners with any recurring revenue" in caption_with(at, "partners with the most MRR")


def test_a_link_opens_a_tab_and_the_headline_stays(demo_db, monkeypatch):
    at = open_recurring(demo_db, monkeypatch, recurring_tab="Concentration")
    expected = engine(demo_db, default_view(demo_db))
    assert [s.value for s in at.main.subheader] == ["Revenue concentration"]
    assert {m.label for m in at.metric} >= {"MRR", "ARR", "Net new MRR this month", "Top 10% share of revenue"}
    assert "Net revenue retention" not in {m.label for m in at.metric}  # another tab: not built
    assert next(m.value for m in at.metric if m.label == "MRR") == fmt.money(expected["summary"]["mrr"])


def test_a_threshold_move_changes_mrr_by_tier_but_not_program_mrr(demo_db, monkeypatch):
    at = open_recurring(demo_db, monkeypatch)
    before_mrr, before_tiers = metric(at, "MRR"), caption_with(at, "split by today's tiers")
    at.sidebar.slider(key="min_trainings").set_value(3).run()
    assert not at.exception
    expected = engine(demo_db, default_view(demo_db, min_trainings=3))
    assert metric(at, "MRR") == before_mrr == fmt.money(expected["summary"]["mrr"])
    after_tiers = caption_with(at, "split by today's tiers")
    assert tier_caption(expected["by_tier"]) in after_tiers
    assert after_tiers != before_tiers
    assert top_table(at)["tier"].tolist() == expected["top"][0]["tier"].to_list()


def test_a_shorter_window_in_the_link_changes_retention_not_mrr(demo_db, monkeypatch):
    at = open_recurring(demo_db, monkeypatch, window_days="30", as_of="2026-08-15")
    expected = engine(demo_db, View(as_of=d("2026-08-15"), window_days=30))
    assert metric(at, "MRR") == fmt.money(expected["summary"]["mrr"])
    assert metric(at, "Net revenue retention") == fmt.pct(expected["retention"]["nrr"])
    assert metric(at, "Top 10% share of revenue") == fmt.pct(expected["revenue"]["top10_share"])
    assert "2026-07-16" in caption_with(at, "had recurring revenue on")  # S = A - 30 days


@pytest.fixture
def book_db(tmp_path: Path) -> Path:
    """The hand-computed book of tests/test_recurring.py, with data up to 2026-05-31."""
    tables = {**BOOK, "activities": [activity("A", "2026-05-31", "login")]}
    return load_tables(tmp_path / "book.duckdb", tables)


def test_hand_computed_book_on_the_page(book_db, monkeypatch):
    downloads = recorded_downloads(monkeypatch)
    at = open_recurring(book_db, monkeypatch)  # as of 2026-05-31, 90 days
    # A 100 (A1) + J 45 (J1 + J2); L left in March; May has no movement at all.
    assert metric(at, "MRR") == "$145"
    assert metric(at, "ARR") == "$1,740"
    assert metric(at, "Net new MRR this month") == "$0"
    table = movement_table(at)
    assert table["month"].tolist() == ["May 2026", "Apr 2026", "Mar 2026", "Feb 2026", "Jan 2026", "Dec 2025"]
    march = table.iloc[2]
    assert (march["mrr_start"], march["new_mrr"], march["churned_mrr"]) == (300, 35, 0)
    assert (march["joined_mrr"], march["left_mrr"], march["net_new_mrr"], march["mrr"]) == (40, 200, -125, 175)
    february = table.iloc[3]
    assert (february["new_mrr"], february["churned_mrr"], february["net_new_mrr"]) == (50, 50, 0)
    # Window start S = 2026-03-02: A (100) and L (200) had MRR; L left (0 now), A keeps A1: 100 of 300.
    assert metric(at, "Partners with MRR at the window start") == "2"
    assert metric(at, "Their MRR at the window start") == "$300"
    assert metric(at, "Their MRR now") == "$100"
    assert metric(at, "Net revenue retention") == "33.3%"
    assert metric(at, "Gross revenue retention") == "33.3%"
    assert "1 of them left the program" in caption_with(at, "had recurring revenue on 2026-03-02")
    # Revenue in the window: A 360 (A3: 12 x 30), J 60 (J2); N = 2, so the top 10% and 20% are A alone.
    assert metric(at, "Top 10% share of revenue") == "85.7%"
    assert metric(at, "Top 20% share of revenue") == "85.7%"
    assert metric(at, "Partners bringing 80% of revenue") == "1"
    # MRR: A 100 of 145; 80% needs both.
    assert metric(at, "Top 10% share of MRR") == "69.0%"
    assert metric(at, "Partners bringing 80% of MRR") == "2"
    top = top_table(at)
    assert top["partner_name"].tolist() == ["Partner A", "Partner J"]
    # Both tables download as CSV and Excel, the four charts as PNG and SVG.
    keys = set()
    for tab in TABS:
        keys |= button_keys(open_tab(at, tab))
    assert keys == pairs("recurring_movement_download", "recurring_partners_download") | pairs(
        *(f"recurring_{c}_chart_download" for c in ("history", "movement", "tier", "pareto")), chart=True
    )
    movement = downloads["recurring_movement_download_csv"]
    assert movement.file_name == "recurring-mrr-movement-2026-05-31.csv"
    book = movement.csv()
    assert book["month"].to_list() == [
        f"{month}-01" for month in ("2026-05", "2026-04", "2026-03", "2026-02", "2026-01", "2025-12")
    ]
    assert book.row(2, named=True) == {
        "month": "2026-03-01",
        "partners": 2,  # A and J at the month end: L left on the 15th
        "mrr_start": 300.0,
        "new_mrr": 35.0,
        "churned_mrr": 0.0,
        "joined_mrr": 40.0,
        "left_mrr": 200.0,
        "net_new_mrr": -125.0,
        "mrr": 175.0,
        "arr": 2100.0,
    }
    partners = downloads["recurring_partners_download_xlsx"].sheet("partners by MRR")
    assert partners["partner_id"].to_list() == ["A", "J"] and partners["mrr"].to_list() == [100, 45]
    history = downloads["recurring_history_chart_download_png"]  # a chart whose rows are Arrow bytes
    assert history.file_name == "recurring-mrr-history-2026-05-31.png" and png_size(history.data())[0] > 1800


def test_no_starting_book_and_no_revenue_show_n_a(tmp_path, monkeypatch):
    db = load_tables(
        tmp_path / "quiet.duckdb",
        {
            "partners": [partner("Q", joined="2025-01-01")],
            "activities": [activity("Q", "2026-03-31", "login")],
        },
    )
    at = open_recurring(db, monkeypatch)
    assert metric(at, "MRR") == "$0"
    assert metric(at, "Net revenue retention") == "n/a"
    assert metric(at, "Gross revenue retention") == "n/a"
    assert "retention is n/a" in caption_with(at, "No partner in the program had recurring revenue")
    assert metric(at, "Top 10% share of revenue") == "n/a"
    assert metric(at, "Partners bringing 80% of revenue") == "n/a"
    assert "No revenue in the window" in somewhere(
        at, lambda shown: next((i.value for i in shown.info if "No revenue" in i.value), None)
    )
    assert top_table(at).empty  # nobody has MRR


# --- chart specs ----------------------------------------------------------------------------------


def movement_of(months: int) -> pl.DataFrame:
    month_starts = pl.Series([date(2024 + (i // 12), i % 12 + 1, 1) for i in range(months)])
    n = months
    return pl.DataFrame(
        {
            "month": month_starts,
            "month_end": month_starts.dt.month_end(),
            "partners": [2] * n,
            "mrr_start": [100.0] * n,
            "new_mrr": [30.0] * n,
            "churned_mrr": [10.0] * n,
            "joined_mrr": [5.0] * n,
            "left_mrr": [15.0] * n,
            "net_new_mrr": [10.0] * n,
            "mrr": [110.0] * n,
            "arr": [1320.0] * n,
        }
    )


def test_movement_chart_stacks_gains_above_and_losses_below_zero():
    movement = movement_of(30)
    rows = charts_recurring.movement_frame(movement)
    # Only the last 24 months, four components each, losses negative.
    assert rows["month"].n_unique() == charts_recurring.MOVEMENT_MONTHS == 24
    assert rows["month"].min() == "2024-07-01"
    first = {r["component"]: r["value"] for r in rows.filter(pl.col("month") == "2026-06-01").iter_rows(named=True)}
    assert first == {"New deals": 30.0, "Partners joined": 5.0, "Churned deals": -10.0, "Partners left": -15.0}
    spec = charts_recurring.mrr_movement(movement, "€").to_dict()
    assert spec["title"].startswith("How the MRR book moved each month")
    bars = spec["layer"][0]
    assert bars["encoding"]["y"]["title"] == "MRR added or lost in the month (€ a month)"
    assert bars["encoding"]["color"]["scale"]["domain"] == [
        "New deals",
        "Partners joined",
        "Churned deals",
        "Partners left",
    ]
    assert len(spec["datasets"]) == 1  # one dataset shared by every layer


def test_history_chart_has_one_money_axis_and_gives_arr_in_the_tooltip():
    spec = charts_recurring.mrr_history(movement_of(3), "$").to_dict()
    assert "layer" not in spec  # no second axis repeating MRR x 12
    assert spec["encoding"]["y"]["title"] == "MRR ($ a month)"
    tooltip = {t["field"]: t["title"] for t in spec["encoding"]["tooltip"]}
    assert tooltip["arr"] == "ARR (12 x MRR)"
    (values,) = spec["datasets"].values()
    assert [v["mrr"] for v in values] == [110.0, 110.0, 110.0]
    assert [v["arr"] for v in values] == [1320.0, 1320.0, 1320.0]


def test_mrr_by_tier_chart_uses_the_one_tier_palette():
    by_tier = recurring.mrr_by_tier(
        pl.DataFrame(
            {"partner_id": ["P1", "P2"], "partner_name": ["a", "b"], "tier": ["reward", "drop"], "mrr": [3.0, 1.0]}
        )
    )
    spec = charts_recurring.mrr_by_tier(by_tier, "$").to_dict()
    scale = spec["encoding"]["color"]["scale"]
    assert scale == charts.TIER_SCALE.to_dict()
    assert dict(zip(scale["domain"], scale["range"], strict=True)) == charts.TIER_COLORS
    (values,) = spec["datasets"].values()
    assert {v["tier"]: v["mrr_pct"] for v in values} == {"reward": 75.0, "nurture": 0.0, "drop": 25.0}
    assert spec["encoding"]["y"]["title"] == "MRR ($ a month)"


def test_pareto_chart_marks_the_top_10_and_20_percent():
    facts = pl.DataFrame(
        {
            "partner_id": [f"P{i:03d}" for i in range(500)],
            "partner_name": ["x"] * 500,
            "revenue": [float(i) for i in range(500)],
        }
    )
    spec = charts_recurring.pareto(recurring.pareto_curve(facts)).to_dict()
    (values,) = spec["datasets"].values()
    assert len(values) <= 201 and values[0]["share_pct"] == 0.0 and values[-1]["partners_pct"] == 100.0
    # The dashed rules sit at x = 10 and x = 20 (computed in the chart from the same dataset).
    rules = next(
        layer
        for layer in spec["layer"]
        if layer["mark"]["type"] == "rule" and layer["encoding"]["x"].get("field") == "at"
    )
    assert {"calculate": "10", "as": "top10"} in rules["transform"]
    assert {"calculate": "20", "as": "top20"} in rules["transform"]
    line = spec["layer"][-1]
    assert line["encoding"]["x"]["title"] == "Share of partners, highest first (%)"
    assert line["encoding"]["y"]["title"] == "Cumulative share of program revenue (%)"


def test_a_page_chart_ships_its_rows_as_arrow_once_built():
    import pyarrow as pa

    spec = ui_data.arrow_spec(charts_recurring.mrr_history(movement_of(3), "$"))
    ((name, payload),) = spec["datasets"].items()
    assert spec["data"] == {"name": name} and isinstance(payload, bytes)
    rows = pa.ipc.open_stream(payload).read_all()
    assert rows.column("mrr").to_pylist() == [110.0, 110.0, 110.0]
    assert rows.column("month").to_pylist() == ["2024-01-01", "2024-02-01", "2024-03-01"]


# --- the page and python -m kpi report ------------------------------------------------------------


def assert_shows(at, numbers: dict) -> None:
    """Every card of the page is the report's number, as the page writes it."""
    month, retention = numbers["this_month"], numbers["retention"]
    revenue, mrr = numbers["revenue_concentration"], numbers["mrr_concentration"]
    expected = {
        "MRR": fmt.money(numbers["mrr"]),
        "ARR": fmt.money(numbers["arr"]),
        "Net new MRR this month": fmt.money(month["net_new_mrr"]),
        "New MRR": fmt.money(month["new_mrr"]),
        "Churned MRR": fmt.money(month["churned_mrr"]),
        "MRR in with partners joining": fmt.money(month["joined_mrr"]),
        "MRR out with partners leaving": fmt.money(month["left_mrr"]),
        "Net revenue retention": fmt.pct(retention["nrr"]),
        "Gross revenue retention": fmt.pct(retention["grr"]),
        "Partners with MRR at the window start": fmt.count(retention["partners"]),
        "Their MRR at the window start": fmt.money(retention["start_mrr"]),
        "Their MRR now": fmt.money(retention["end_mrr"]),
        "Of it, from deals live at the start": fmt.money(retention["retained_mrr"]),
        "Top 10% share of revenue": fmt.pct(revenue["top10_share"]),
        "Top 20% share of revenue": fmt.pct(revenue["top20_share"]),
        "Partners bringing 80% of revenue": fmt.count(revenue["partners_for_80"]),
        "Top 10% share of MRR": fmt.pct(mrr["top10_share"]),
        "Top 20% share of MRR": fmt.pct(mrr["top20_share"]),
        "Partners bringing 80% of MRR": fmt.count(mrr["partners_for_80"]),
    }
    assert {label: metric(at, label) for label in expected} == expected
    by_tier = " · ".join(f"{tier} {fmt.pct(row['mrr_pct'])}" for tier, row in numbers["mrr_by_tier"].items())
    assert by_tier in caption_with(at, "split by today's tiers")
    assert f"of {numbers['partners_with_mrr']:,} partners with any" in caption_with(at, "partners with the most MRR")
    assert f"of {fmt.count(revenue['partners'])} in the program" in caption_with(at, "Top 10% = the")
    start_card = "Partners with MRR at the window start"
    assert f"In the program on {retention['start_day']}" in somewhere(
        at, lambda shown: next((m.help for m in shown.metric if m.label == start_card), None)
    )


def test_the_page_shows_the_numbers_of_python_m_kpi_report(report_db, monkeypatch):
    at = open_recurring(report_db, monkeypatch)
    assert_shows(at, page_report(report_db, "recurring"))
    at.sidebar.slider(key="min_trainings").set_value(0).run()
    assert_shows(at, page_report(report_db, "recurring", "--min-trainings", "0"))


def test_the_partners_by_mrr_download_has_every_partner_with_mrr(demo_db, monkeypatch):
    downloads = recorded_downloads(monkeypatch)
    at = open_recurring(demo_db, monkeypatch)
    expected = engine(demo_db, default_view(demo_db))
    top, with_mrr = expected["top"]
    shown = top_table(at)  # its tab drawn, with its download
    every = downloads["recurring_partners_download_csv"].csv()
    assert every.height == with_mrr > len(shown) == top.height
    assert every["partner_id"].head(top.height).to_list() == top["partner_id"].to_list()
    assert every["share_pct"].sum() == pytest.approx(100.0)
