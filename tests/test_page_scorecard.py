"""The Partner scorecard page under AppTest, and its chart and table builders.

The numbers shown are checked against the engine for the same view and partner; the small
datasets are written in the tests with the answers worked out by hand.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from kpi import metrics, scorecard
from kpi.params import View
from kpi.store import connect, data_span
from tests.conftest import activity, d, default_view, load_tables, metric, open_page, page_report, partner
from tests.test_ui_downloads import button_keys, pairs, recorded_downloads
from ui import charts, charts_scorecard
from ui import format as fmt


def open_scorecard(db: Path, monkeypatch: pytest.MonkeyPatch, **params: str) -> AppTest:
    """The app opened on a link to the scorecard page with these query parameters."""
    return open_page(db, monkeypatch, "scorecard", **params)


def engine_segment(db: Path, view: View) -> tuple[View, pl.DataFrame]:
    """The engine's segment rows for this view (as-of defaulting to the data's latest date)."""
    con = connect(db)
    try:
        return view, metrics.segment(metrics.partner_facts(con, view.as_of, view.window_days), view)
    finally:
        con.close()


def markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def tab_tables(at: AppTest, *tabs: str) -> list:
    """The tables of these tabs of the page, each opened in turn as a click on it does."""
    tables = []
    for tab in tabs:
        at.session_state["scorecard_tab"] = tab
        at.run()
        assert not at.exception
        tables += [frame.value for frame in at.dataframe]
    return tables


def picked(at: AppTest) -> str | None:
    """The partner the page's one picker holds."""
    return at.selectbox(key="scorecard_partner").value


# --- on the demo data ---------------------------------------------------------------------


def test_a_link_opens_that_partner_with_the_engines_numbers(demo_db, monkeypatch):
    _, segmented = engine_segment(demo_db, default_view(demo_db))
    # A reward partner that was spent on, so its ROI is a number.
    row = segmented.filter((pl.col("tier") == "reward") & (pl.col("cost") > 0)).sort("partner_id").row(0, named=True)
    at = open_scorecard(demo_db, monkeypatch, scorecard_partner=row["partner_id"])
    assert not at.exception and not at.warning
    assert at.header[0].value == row["partner_name"]
    assert picked(at) == row["partner_id"]
    assert metric(at, "Tier") == "Reward"
    assert metric(at, "Criteria met") == f"{row['criteria_met']} of 3"
    assert metric(at, "Revenue") == fmt.money(row["revenue"])
    assert metric(at, "Cost") == fmt.money(row["cost"])
    assert metric(at, "ROI") == fmt.roi(row["roi"])
    assert metric(at, "MRR") == fmt.money(row["mrr"])
    for label, column in [
        ("Trainings", "trainings"),
        ("Content shares", "content_shares"),
        ("Deals registered", "deals_registered"),
        ("Content views", "content_views"),
        ("Logins", "logins"),
        ("Deals won", "deals_won"),
        ("Active staff", "active_users"),
    ]:
        assert metric(at, label) == fmt.count(row[column]), label
    assert "**Reward**: activated" in markdown(at)  # the first tab: why this tier
    assert not at.dataframe  # only the open tab is built
    months, staff, weeks = tab_tables(at, "Month by month", "Staff", "Tier history")
    assert months["mrr"].iloc[0] == row["mrr"]  # the as-of month ends on the as-of date
    assert weeks["tier"].iloc[0] == "reward"  # the newest week is the as-of date
    assert (staff["user_name"] != "(no user)").sum() >= row["active_users"]


def test_moving_min_trainings_changes_the_reasons_shown(demo_db, monkeypatch):
    view, segmented = engine_segment(demo_db, default_view(demo_db))
    row = segmented.filter(pl.col("trainings") == 2).sort("partner_id").row(0, named=True)
    at = open_scorecard(demo_db, monkeypatch, scorecard_partner=row["partner_id"])
    assert "**Trainings**: 2 (needs 1): met" in markdown(at)
    at.sidebar.slider(key="min_trainings").set_value(3).run()
    assert not at.exception
    assert "**Trainings**: 2 of 3 needed: **1 short**" in markdown(at)
    _, after = engine_segment(demo_db, dataclasses.replace(view, min_trainings=3))
    expected = after.filter(pl.col("partner_id") == row["partner_id"]).row(0, named=True)
    assert expected["criteria_met"] == row["criteria_met"] - 1
    assert metric(at, "Criteria met") == f"{expected['criteria_met']} of 3"
    assert metric(at, "Tier") == expected["tier"].capitalize()
    assert "**not activated**" in markdown(at)


def test_a_bad_id_in_the_link_gives_a_notice_and_the_prompt(demo_db, monkeypatch):
    at = open_scorecard(demo_db, monkeypatch, scorecard_partner="NO-SUCH-ID")
    assert not at.exception
    assert f"No partner with the name or ID {fmt.plain('NO-SUCH-ID')}." in at.warning[0].value
    assert not at.header and not at.metric  # no partner shown instead of the one asked for
    assert at.info[0].value.startswith("Type a partner's name or ID above to open its scorecard")


def test_without_a_partner_in_the_link_the_page_asks_for_one(demo_db, monkeypatch):
    at = open_scorecard(demo_db, monkeypatch)
    assert not at.exception and not at.warning
    con = connect(demo_db)
    partners = scorecard.partner_list(con)
    con.close()
    assert picked(at) is None
    assert at.info[0].value == (
        f"Type a partner's name or ID above to open its scorecard ({partners.height:,} partners in the data)."
    )
    assert not at.header and not at.metric and not at.dataframe
    # The picker lists every partner by name, each as "name (id)", to search as one types.
    first = partners.sort("partner_name", "partner_id").row(0, named=True)
    assert at.selectbox(key="scorecard_partner").options[0] == f"{first['partner_name']} ({first['partner_id']})"
    assert len(at.selectbox(key="scorecard_partner").options) == partners.height


# --- on small data made here --------------------------------------------------------------

# A = 2026-03-31 (the latest activity), W = 90: the window is 2026-01-01 .. 2026-03-31.
SMALL = {
    "partners": [
        partner("P1", joined="2025-01-01"),  # in the program, no staff on record
        partner("P2", joined="2025-01-01", left="2026-02-01"),  # left before A
        partner("P3", joined="2026-06-01"),  # joins after A
    ],
    "partner_users": [{"user_id": "U2", "partner_id": "P2", "user_name": "Una", "role": "sales"}],
    "activities": [
        activity("P1", "2026-01-15", "training_completed"),  # no user
        activity("P1", "2026-03-31", "login"),  # no user; sets A
        activity("P2", "2026-01-20", "login", "U2"),
        activity("P2", "2025-11-20", "login", "U2"),  # the data's first month: November 2025
    ],
    "investments": [{"partner_id": "P1", "spent_on": "2026-02-10", "amount": 500, "category": "mdf"}],
}


@pytest.fixture
def small_db(tmp_path: Path) -> Path:
    return load_tables(tmp_path / "small.duckdb", SMALL)


def test_a_partner_with_no_staff_and_a_quiet_month(small_db, monkeypatch):
    at = open_scorecard(small_db, monkeypatch, scorecard_partner="P1")
    assert not at.exception
    # 1 training of 1, no share, no deal: 1 of 3 criteria; no revenue, 1 action, joined long ago: drop.
    assert metric(at, "Tier") == "Drop"
    assert metric(at, "Criteria met") == "1 of 3"
    assert metric(at, "ROI") == "-100.0%"  # (0 - 500) / 500
    text = markdown(at)
    assert "**Content shares**: 0 of 1 needed: **1 short**" in text
    assert "did 1 action (at most 2 allowed)" in text
    (months,) = tab_tables(at, "Month by month")
    (staff,) = tab_tables(at, "Staff")
    assert "no staff on record" in at.info[0].value
    (weeks,) = tab_tables(at, "Tier history")
    # Newest month first: March (a login), February (500 spent, nothing won), January (a training).
    assert months["month"].tolist()[:3] == ["Mar 2026", "Feb 2026", "Jan 2026"]
    assert (months["logins"].iloc[0], months["cost"].iloc[0]) == (1, 0)
    assert math.isnan(months["roi"].iloc[0])  # no cost in March: no ROI
    assert (months["cost"].iloc[1], months["roi"].iloc[1]) == (500, -100.0)
    # Months run from the data's first month (November 2025) to March 2026; December was quiet.
    assert months["month"].tolist() == ["Mar 2026", "Feb 2026", "Jan 2026", "Dec 2025", "Nov 2025"]
    assert months["trainings"].tolist() == [0, 0, 1, 0, 0]
    december = months.iloc[3]
    assert december[["trainings", "content_shares", "content_views", "logins", "deals_registered"]].sum() == 0
    assert (december["revenue"], december["cost"], december["mrr"]) == (0, 0, 0)
    assert math.isnan(december["roi"])
    # The two activities without a person: one row.
    assert staff["user_name"].tolist() == ["(no user)"]
    assert (staff["trainings"].iloc[0], staff["logins"].iloc[0]) == (1, 1)
    assert set(weeks["tier"]) == {"drop"}


def test_the_scorecards_tables_and_charts_download(small_db, monkeypatch):
    downloads = recorded_downloads(monkeypatch)
    at = open_scorecard(small_db, monkeypatch, scorecard_partner="P1")
    assert not at.exception
    assert button_keys(at) == set()  # why this tier: words only
    at.session_state["scorecard_tab"] = "Month by month"
    assert button_keys(at.run()) == pairs("scorecard_months_download") | pairs(
        "scorecard_months_chart_download", chart=True
    )
    at.session_state["scorecard_tab"] = "Staff"
    assert button_keys(at.run()) == pairs("scorecard_staff_download")
    at.session_state["scorecard_tab"] = "Tier history"
    assert button_keys(at.run()) == pairs("scorecard_history_download") | pairs(
        "scorecard_history_chart_download", chart=True
    )
    months = downloads["scorecard_months_download_csv"]
    assert months.file_name == "scorecard-P1-months-2026-03-31.csv"
    rows = months.csv()
    assert rows["month"].to_list() == ["2026-03-01", "2026-02-01", "2026-01-01", "2025-12-01", "2025-11-01"]
    assert rows.row(1, named=True)["cost"] == 500.0 and rows.row(1, named=True)["roi"] == -1.0  # a ratio: -100%
    weeks = downloads["scorecard_history_download_xlsx"].sheet("tier history")
    assert weeks.height == scorecard.HISTORY_WEEKS and set(weeks["tier"]) == {"drop"}
    assert downloads["scorecard_staff_download_csv"].csv()["user_name"].to_list() == ["(no user)"]
    svg = downloads["scorecard_history_chart_download_svg"].text()
    assert "Tier week by week" in svg and "not in program" in svg


def test_a_partner_that_left_is_shown_without_a_tier(small_db, monkeypatch):
    at = open_scorecard(small_db, monkeypatch, scorecard_partner="P2")
    assert not at.exception
    assert "not in the program on 2026-03-31: it left on 2026-02-01" in at.info[0].value
    assert "Tier" not in [m.label for m in at.metric]
    assert any(c.value.startswith("No tier on the as-of date") for c in at.caption)
    staff, weeks = tab_tables(at, "Staff", "Tier history")
    assert staff["user_name"].tolist() == ["Una"]
    # In the program at 01-13, 01-20 and 01-27 (left 02-01): dropped, then out of the program.
    assert weeks["tier"].tolist() == ["not in program"] * 9 + ["drop"] * 3


def test_a_partner_that_has_not_joined_yet(small_db, monkeypatch):
    at = open_scorecard(small_db, monkeypatch, scorecard_partner="P3")
    assert not at.exception
    assert "it joins on 2026-06-01, after the as-of date" in at.info[0].value
    # Nothing happened up to the as-of date: no months, no staff, no week in the program.
    assert tab_tables(at, "Month by month") == []
    assert "Nothing to show month by month" in at.info[1].value
    assert tab_tables(at, "Staff") == []
    assert "no staff on record" in at.info[1].value
    (weeks,) = tab_tables(at, "Tier history")
    assert weeks["tier"].tolist() == ["not in program"] * 12


def test_picking_a_partner_opens_it(small_db, monkeypatch):
    at = open_scorecard(small_db, monkeypatch)
    at.selectbox(key="scorecard_partner").set_value("P2").run()
    assert not at.exception
    assert at.header[0].value == "Partner P2"
    at.selectbox(key="scorecard_partner").set_value("P1").run()
    assert at.header[0].value == "Partner P1" and metric(at, "Tier") == "Drop"


@pytest.mark.parametrize(
    ("link", "shown"),
    [
        ("P3", "Partner P3"),  # the id, as a link written by hand or by another page
        ("Partner P2 (P2)", "Partner P2"),  # what the picker writes
        ("partner p", "Partner P1"),  # part of a name: the first match by name opens
        ("p3", "Partner P3"),
    ],
)
def test_a_link_names_the_partner_by_id_label_or_part_of_its_name(small_db, monkeypatch, link, shown):
    at = open_scorecard(small_db, monkeypatch, scorecard_partner=link)
    assert not at.exception and not at.warning
    assert at.header[0].value == shown


# --- chart and table builders -------------------------------------------------------------


def test_monthly_chart_shows_revenue_and_cost_bars_and_the_mrr_line():
    months = pl.DataFrame(
        {
            "month": [d("2026-01-01"), d("2026-02-01")],
            "revenue": [1200.0, 0.0],
            "cost": [300.0, 50.0],
            "mrr": [100.0, 100.0],
        }
    )
    chart = charts_scorecard.monthly_money(months, "€")
    spec = chart.to_dict()  # validates against the Vega-Lite schema
    (values,) = spec["datasets"].values()
    assert values == [
        {"month": "2026-01", "Revenue won": 1200.0, "Cost": 300.0, "mrr": 100.0},
        {"month": "2026-02", "Revenue won": 0.0, "Cost": 50.0, "mrr": 100.0},
    ]
    bars, line = spec["layer"]
    assert bars["encoding"]["y"]["title"] == "Revenue won and cost in the month (€)"
    assert line["encoding"]["y"]["title"] == "MRR at month end (€)"
    assert bars["encoding"]["color"]["scale"]["range"] == [charts.REVENUE_COLOR, charts_scorecard.COST_COLOR]
    assert spec["title"] and spec["layer"][0]["encoding"]["x"]["title"] == "Month"
    # Each axis starts at 0 and reaches the largest value (at least 1: all zeros must not make "NaN" ticks).
    assert bars["encoding"]["y"]["scale"]["domain"] == [0, 1200.0]
    assert line["encoding"]["y"]["scale"]["domain"] == [0, 100.0]
    quiet = charts_scorecard.monthly_money(months.with_columns(pl.lit(0.0).alias("mrr")), "€").to_dict()
    assert quiet["layer"][1]["encoding"]["y"]["scale"]["domain"] == [0, 1.0]


def test_tier_history_chart_uses_the_one_tier_palette():
    history = pl.DataFrame(
        {
            "as_of": [d("2026-03-24"), d("2026-03-31")],
            "in_program": [False, True],
            "tier": ["not in program", "reward"],
            "activated": [None, True],
            "criteria_met": [None, 3],
            "revenue": [None, 60_000.0],
            "actions": [None, 9],
        }
    )
    spec = charts_scorecard.tier_history_chart(history, "$").to_dict()
    (values,) = spec["datasets"].values()
    assert [(v["week"], v["tier"], v["criteria_met"]) for v in values] == [
        ("2026-03-24", "not in program", None),
        ("2026-03-31", "reward", 3),
    ]
    color = spec["layer"][1]["encoding"]["color"]
    assert color["scale"]["domain"] == ["reward", "nurture", "drop", "not in program"]
    assert color["scale"]["range"] == [
        charts.TIER_COLORS["reward"],
        charts.TIER_COLORS["nurture"],
        charts.TIER_COLORS["drop"],
        charts_scorecard.NOT_IN_PROGRAM_COLOR,
    ]
    assert spec["layer"][1]["encoding"]["x"]["title"] == "Week (as-of date)"
    # The page's template is the same chart without data: the page sends the week rows.
    template = charts_scorecard.tier_history_template("$")
    assert "data" not in template and "datasets" not in template
    assert all("data" not in layer for layer in template["layer"])
    assert template["layer"][1]["encoding"] == spec["layer"][1]["encoding"]


def test_tables_put_the_newest_first_and_name_unattributed_activity():
    months = scorecard.monthly(
        pl.DataFrame(
            {
                "month": [d("2026-01-01"), d("2026-02-01")],
                "in_program": [True, True],
                **{c: [0, 0] for c in ("trainings", "content_shares", "content_views", "logins")},
                **{c: [0, 0] for c in ("deals_registered", "deals_won", "deals_lost")},
                "revenue": [500.0, 0.0],
                "mrr": [0.0, 0.0],
                "cost": [200.0, 0.0],
            }
        )
    )
    table = charts_scorecard.months_table(months)
    assert table["month"].to_list() == ["Feb 2026", "Jan 2026"]
    assert table["roi"].to_list() == [None, 150.0]  # (500 - 200) / 200 in percent; none without cost
    staff = pl.DataFrame(
        {
            "user_name": ["Ana", None],
            "role": ["sales", None],
            "no_user": [False, True],
            **{c: [1, 2] for c in ("trainings", "content_shares", "content_views", "logins", "activities")},
            "last_active_on": [d("2026-03-01"), d("2026-03-02")],
        }
    )
    assert charts_scorecard.staff_table(staff)["user_name"].to_list() == ["Ana", "(no user)"]


# --- the page and python -m kpi report ------------------------------------------------------------

BEHAVIOUR_CARDS = {
    "Trainings": "trainings",
    "Content shares": "content_shares",
    "Deals registered": "deals_registered",
    "Content views": "content_views",
    "Logins": "logins",
    "Deals won": "deals_won",
    "Active staff": "active_users",
}


def assert_shows(at: AppTest, numbers: dict) -> None:
    """The partner's numbers on the page are the report's, as the page writes them."""
    assert at.header[0].value == numbers["partner_name"]
    shown = {m.label: m.value for m in at.metric}
    if numbers["tier"] is None:
        assert "Tier" not in shown and numbers["membership"] != "in program"
    else:
        assert {label: shown[label] for label in ("Tier", "Criteria met", "Revenue", "Cost", "ROI", "MRR")} == {
            "Tier": numbers["tier"].capitalize(),
            "Criteria met": f"{numbers['criteria_met']} of {numbers['criteria_enabled']}",
            "Revenue": fmt.money(numbers["revenue"]),
            "Cost": fmt.money(numbers["cost"]),
            "ROI": fmt.roi(numbers["roi"]),
            "MRR": fmt.money(numbers["mrr"]),
        }
        assert {label: shown[label] for label in BEHAVIOUR_CARDS} == {
            label: fmt.count(numbers[key]) for label, key in BEHAVIOUR_CARDS.items()
        }
        help_text = next(m.help for m in at.metric if m.label == "Criteria met")
        assert f"activation needs {numbers['criteria_needed']}" in help_text
    captions = ""
    for tab in ("Month by month", "Staff", "Tier history"):
        tab_tables(at, tab)
        captions += " ".join(c.value for c in at.caption)
    staff = numbers["staff"]
    if staff["on_record"]:
        assert f"{staff['on_record']:,} staff on record, {staff['active']:,} active in the window" in captions
    weeks = " · ".join(f"{tier} {n}" for tier, n in numbers["weeks_in_tier"].items() if n)
    assert f"Weeks in each tier: {weeks}." in captions
    if numbers["months"]:
        assert f"of {numbers['months']} months, up to {numbers['as_of']}" in captions


@pytest.mark.parametrize("which", ["first by name", "one that left"])
def test_the_page_shows_the_numbers_of_python_m_kpi_report(report_db, monkeypatch, which):
    # The report's default partner is the first by name; the page asks for one.
    partner = first_by_name(report_db) if which == "first by name" else first_that_left(report_db)
    flags = () if which == "first by name" else ("--partner", partner)
    link = {"scorecard_partner": partner}
    at = open_scorecard(report_db, monkeypatch, **link)
    assert not at.exception
    assert_shows(at, page_report(report_db, "scorecard", *flags))
    at.sidebar.slider(key="min_trainings").set_value(3).run()
    assert_shows(at, page_report(report_db, "scorecard", *flags, "--min-trainings", "3"))


def first_that_left(db: Path) -> str:
    """The first partner by id that left the program by the data's latest date (P5 in SMALL_PROGRAM)."""
    con = connect(db)
    try:
        as_of = data_span(con)[1]
        partners = scorecard.partner_list(con).filter(pl.col("left_on") <= as_of).sort("partner_id")
    finally:
        con.close()
    return partners["partner_id"][0]


def first_by_name(db: Path) -> str:
    con = connect(db)
    try:
        return scorecard.partner_list(con)["partner_id"][0]
    finally:
        con.close()


def test_the_header_writes_the_partner_type_in_words(demo_db, monkeypatch):
    # The demo writes types as codes ("system_integrator", "msp"); the header reads as the Tiers list does.
    con = connect(demo_db)
    try:
        [(pid, raw_type)] = con.sql(
            "select partner_id, partner_type from partners where partner_type = 'system_integrator' limit 1"
        ).fetchall()
    finally:
        con.close()
    at = open_page(demo_db, monkeypatch, "scorecard", scorecard_partner=pid)
    header = next(c.value for c in at.main.caption if c.value.startswith(f"ID {pid}"))
    assert " · System integrator · " in header and raw_type not in header
