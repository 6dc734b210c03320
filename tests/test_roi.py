"""The ROI page's engine (kpi.roi), hand-computed on small data made here.

Dates: as-of A = 2026-03-31 and a 30-day window unless a test says otherwise, so the
window is 2026-03-02 .. 2026-03-31. ROI = (revenue - cost) / cost, None without cost.
"""

from __future__ import annotations

import dataclasses

import polars as pl
import pytest

from kpi import metrics, roi
from kpi.params import View
from kpi.store import connect, data_span
from tests.conftest import activity, d, deal, partner, spend

A = "2026-03-31"
VIEW = View(as_of=d(A), window_days=30)


def segmented(con, view: View = VIEW) -> pl.DataFrame:
    return metrics.segment(metrics.partner_facts(con, view.as_of, view.window_days), view)


def rows_by(frame: pl.DataFrame, key: str) -> dict[str, dict]:
    return {row[key]: row for row in frame.iter_rows(named=True)}


def activated_in_window(pid: str, on: str = "2026-03-20") -> list[dict[str, object]]:
    """A training and a share in the window: with a deal registered, all three criteria are met."""
    return [activity(pid, on, "training_completed"), activity(pid, on, "content_shared")]


# --- by group --------------------------------------------------------------------------------


@pytest.fixture
def four_partners(make_db):
    """P1 (EMEA): revenue 300, cost 100, activated. P2 (EMEA): cost 100, nothing else.
    P3 (APAC): revenue 500, no cost. P4 (no region): cost 50 in the window, 70 before it."""
    return make_db(
        {
            "partners": [
                partner("P1", region="EMEA", partner_type="reseller", channel_manager="Ann"),
                partner("P2", region="EMEA", partner_type="msp", channel_manager="Ann"),
                partner("P3", region="APAC", partner_type="reseller", channel_manager="  "),
                partner("P4", partner_type="reseller", channel_manager="Bob"),
            ],
            "activities": activated_in_window("P1"),
            "deals": [
                deal("D1", "P1", "2026-03-05", "won", "2026-03-10", amount=300),
                deal("D3", "P3", "2026-01-05", "won", "2026-03-02", amount=200, mrr=25),  # 200 + 12 x 25
            ],
            "investments": [
                spend("P1", "2026-03-02", 100),
                spend("P2", "2026-03-31", 100, "incentive"),
                spend("P4", "2026-03-15", 50, "spiff"),
                spend("P4", "2026-03-01", 70),  # A - W: outside the window
            ],
        }
    )


def test_roi_by_region_adds_up_revenue_and_cost_and_leaves_a_group_without_cost_empty(four_partners):
    groups = roi.roi_by_group(segmented(four_partners), "region")
    assert groups["group"].to_list() == ["APAC", "EMEA", "(none)"]  # by name, (none) last
    by_group = rows_by(groups, "group")
    emea = by_group["EMEA"]
    assert (emea["partners"], emea["activated"], emea["revenue"], emea["cost"]) == (2, 1, 300.0, 200.0)
    assert emea["roi"] == pytest.approx((300 - 200) / 200)
    assert emea["cost_per_activated"] == pytest.approx(200.0)
    apac = by_group["APAC"]
    assert (apac["revenue"], apac["cost"], apac["roi"], apac["cost_per_activated"]) == (500.0, 0.0, None, None)
    none = by_group["(none)"]
    assert (none["partners"], none["cost"], none["roi"]) == (1, 50.0, -1.0)
    assert none["cost_per_activated"] is None  # nobody activated


def test_roi_by_channel_manager_puts_a_blank_manager_under_none(four_partners):
    groups = roi.roi_by_group(segmented(four_partners), "channel_manager")
    by_group = rows_by(groups, "group")
    assert groups["group"].to_list() == ["Ann", "Bob", "(none)"]
    assert (by_group["(none)"]["partners"], by_group["(none)"]["revenue"]) == (1, 500.0)
    assert by_group["Ann"]["roi"] == pytest.approx(0.5)
    types = rows_by(roi.roi_by_group(segmented(four_partners), "partner_type"), "group")
    # resellers: P1 (300 / 100), P3 (500 / 0), P4 (0 / 50): (800 - 150) / 150
    assert types["reseller"]["roi"] == pytest.approx(650 / 150)
    assert types["msp"]["roi"] == -1.0


def test_roi_by_tier_lists_every_tier_in_tier_order(four_partners):
    view = dataclasses.replace(VIEW, reward_min_revenue=300.0)
    groups = roi.roi_by_group(segmented(four_partners, view), "tier")
    assert groups["group"].to_list() == ["reward", "nurture", "drop"]
    reward, nurture, drop = groups.iter_rows(named=True)
    # P1 is activated with 300 of revenue: reward. P3 sells without the behaviours: nurture.
    # P2 and P4: not activated, no revenue, no actions, joined long ago: drop.
    assert (reward["partners"], reward["roi"], reward["cost_per_activated"]) == (1, 2.0, 100.0)
    assert (nurture["partners"], nurture["cost"], nurture["roi"], nurture["cost_per_activated"]) == (1, 0, None, None)
    assert (drop["partners"], drop["revenue"], drop["cost"], drop["roi"]) == (2, 0.0, 150.0, -1.0)
    assert drop["cost_per_activated"] is None


def test_roi_by_tier_keeps_an_empty_tier(four_partners):
    view = dataclasses.replace(VIEW, reward_min_revenue=1_000.0)  # nobody earns the reward tier
    reward = roi.roi_by_group(segmented(four_partners, view), "tier").row(0, named=True)
    assert (reward["group"], reward["partners"], reward["revenue"], reward["cost"], reward["roi"]) == (
        "reward",
        0,
        0.0,
        0.0,
        None,
    )


def test_grouping_by_an_unknown_column_is_refused(four_partners):
    with pytest.raises(ValueError, match="cannot group by 'partner_name'"):
        roi.roi_by_group(segmented(four_partners), "partner_name")


# --- the window's headline and the Overview ------------------------------------------------------


def test_headline_is_the_overview_summary_with_cost_per_activated_partner(four_partners):
    seg = segmented(four_partners)
    headline = roi.window_headline(seg, VIEW)
    summary = metrics.summarize(seg, VIEW)
    assert (headline["revenue"], headline["cost"], headline["roi"]) == (
        summary["revenue"],
        summary["cost"],
        summary["roi"],
    )
    # Revenue 300 + 500, cost 100 + 100 + 50; one activated partner (P1).
    assert (headline["revenue"], headline["cost"], headline["activated"]) == (800.0, 250.0, 1)
    assert headline["roi"] == pytest.approx((800 - 250) / 250)
    assert headline["cost_per_activated"] == 250.0


def test_cost_per_activated_partner_is_empty_without_activated_partners():
    assert roi.cost_per_activated(250.0, 0) is None
    assert roi.cost_per_activated(0.0, 4) == 0.0
    assert roi.cost_per_activated(250.0, 4) == 62.5


# --- month by month ---------------------------------------------------------------------------------


@pytest.fixture
def five_months(make_db):
    """Nov 2025 to mid-March 2026 (as-of 2026-03-15). P1 joined 2025-11-15; P2 left 2026-01-10.

    Activation needs one training (shares and deals switched off); W = 30, so a training
    counts at the month ends within 30 days after it.
    """
    return make_db(
        {
            "partners": [partner("P1", joined="2025-11-15"), partner("P2", joined="2025-01-01", left="2026-01-10")],
            "activities": [
                activity("P1", "2025-11-20", "login"),  # the data starts in November
                activity("P1", "2025-12-20", "training_completed"),  # activated at 2025-12-31 only
                activity("P1", "2026-03-01", "training_completed"),  # activated at 2026-03-15 (window 02-14..)
            ],
            "deals": [
                deal("D1", "P1", "2026-01-05", "won", "2026-01-20", amount=400),
                deal("D2", "P2", "2026-01-02", "won", "2026-01-06", amount=999),  # P2 gone at January's end
                deal("D3", "P1", "2026-03-02", "won", "2026-03-20", amount=5_000),  # after the as-of date
            ],
            "investments": [
                spend("P1", "2025-12-05", 100),
                spend("P1", "2026-01-25", 200),
                spend("P2", "2026-01-05", 1_000),  # P2 not in the program at January's end
                spend("P1", "2026-03-10", 50),
            ],
        }
    )


MONTH_VIEW = View(as_of=d("2026-03-15"), window_days=30, min_trainings=1, min_shares=0, min_deals=0)


def monthly_for(con, view: View, last_n: int = roi.MONTHS_SHOWN) -> pl.DataFrame:
    months = roi.program_months(metrics.partner_months(con, view.as_of), last_n)
    return roi.monthly(roi.monthly_history(con, view.as_of, view.window_days, months=months), view)


def test_monthly_roi_and_cost_per_activated_partner_with_quiet_months(five_months):
    monthly = monthly_for(five_months, MONTH_VIEW)
    assert [m.isoformat() for m in monthly["month"]] == [
        "2025-11-01",
        "2025-12-01",
        "2026-01-01",
        "2026-02-01",
        "2026-03-01",
    ]
    assert monthly["month_end"][-1] == d("2026-03-15")  # the last month stops at the as-of date
    assert monthly["partners"].to_list() == [2, 2, 1, 1, 1]
    assert monthly["revenue"].to_list() == [0.0, 0.0, 400.0, 0.0, 0.0]
    assert monthly["cost"].to_list() == [0.0, 100.0, 200.0, 0.0, 50.0]
    # November and February: nothing spent, so no ROI (not 0, not infinite).
    assert monthly["roi"].to_list() == [None, -1.0, 1.0, None, -1.0]
    assert monthly["activated"].to_list() == [0, 1, 0, 0, 1]
    # November: no cost and nobody activated; January: cost but nobody activated.
    assert monthly["cost_per_activated"].to_list() == [None, 100.0, None, None, 50.0]


def test_monthly_view_keeps_the_last_months_only(five_months):
    monthly = monthly_for(five_months, MONTH_VIEW, last_n=3)
    assert [m.isoformat() for m in monthly["month"]] == ["2026-01-01", "2026-02-01", "2026-03-01"]
    assert monthly["cost"].to_list() == [200.0, 0.0, 50.0]


def test_a_threshold_change_moves_only_the_activated_counts(five_months):
    strict = dataclasses.replace(MONTH_VIEW, min_trainings=2)  # one training is no longer enough
    monthly = monthly_for(five_months, strict)
    assert monthly["activated"].to_list() == [0, 0, 0, 0, 0]
    assert monthly["cost_per_activated"].to_list() == [None] * 5
    assert monthly["roi"].to_list() == [None, -1.0, 1.0, None, -1.0]


def test_monthly_history_reads_its_months_and_takes_thresholds_in_memory(five_months, monkeypatch):
    history = roi.monthly_history(five_months, MONTH_VIEW.as_of, 30)
    assert history.months.equals(roi.program_months(metrics.partner_months(five_months, MONTH_VIEW.as_of)))
    assert history.counts["as_of"].unique().sort().to_list() == history.months["month_end"].to_list()

    def no_query(*args, **kwargs):
        raise AssertionError("applying thresholds must not read the database")

    monkeypatch.setattr(metrics, "facts_at", no_query)
    monkeypatch.setattr(metrics, "partner_months", no_query)
    assert roi.monthly(history, MONTH_VIEW)["activated"].to_list() == [0, 1, 0, 0, 1]
    strict = roi.monthly(history, dataclasses.replace(MONTH_VIEW, min_trainings=2))
    assert strict["activated"].to_list() == [0, 0, 0, 0, 0]
    assert strict["cost_per_activated"].to_list() == [None] * 5


def test_the_as_of_month_matches_the_window_numbers_on_the_demo(demo_db):
    con = connect(demo_db)
    try:
        view = View(as_of=data_span(con)[1])
        monthly = monthly_for(con, view)
        seg = segmented(con, view)
        facts = metrics.facts_at(con, monthly["month_end"].to_list(), view.window_days)
    finally:
        con.close()
    assert monthly.height == roi.MONTHS_SHOWN
    assert monthly["month_end"][-1] == view.as_of
    # Activated at the last month end is the Overview's activated partners at the as-of date.
    assert monthly["activated"][-1] == metrics.summarize(seg, view)["activated"]
    # The grouped counts give what segment_at gives partner by partner, for any thresholds.
    for thresholds in ({}, {"min_trainings": 3, "min_criteria": 2}, {"min_deals": 0, "min_shares": 4}):
        v = dataclasses.replace(view, **thresholds)
        expected = metrics.segment_at(facts, v).group_by("as_of").agg(pl.col("activated").sum())
        got = roi.activated_at(roi.activation_counts(facts), v)
        assert dict(got.iter_rows()) == dict(expected.iter_rows())


@pytest.mark.parametrize("window_days", [1, 30, 90, 365])
def test_criteria_history_counts_what_the_partner_facts_count_at_each_month_end(demo_db, window_days):
    # The ROI page's history reads only the three criteria counts: the same groups, the same
    # partners in each, as grouping the full facts at those dates.
    con = connect(demo_db)
    try:
        ends = roi.program_months(metrics.partner_months(con, data_span(con)[1]))["month_end"].to_list()
        expected = roi.activation_counts(metrics.facts_at(con, ends, window_days))
        got = roi.criteria_history(con, ends, window_days)
    finally:
        con.close()
    key = ["as_of", *roi.CRITERIA_COLUMNS]
    assert got.sort(key).equals(expected.sort(key).select(got.columns))
    assert got["partners"].sum() == expected["partners"].sum() > 0


# --- by investment category --------------------------------------------------------------------------


def test_categories_of_the_window_against_the_recipients_revenue(four_partners):
    # In the window: P1 100 of MDF (revenue 300), P2 100 of incentive, P4 50 of SPIFF; P4's 70 of
    # MDF on 03-01 (A - W) is outside it. P3's 500 came without any investment.
    facts = metrics.partner_facts(four_partners, d(A), 30)
    got = rows_by(roi.categories(four_partners, d(A), 30, facts), "category")
    assert list(got) == list(roi.KNOWN_CATEGORIES)
    assert (got["mdf"]["spend"], got["mdf"]["recipients"], got["mdf"]["revenue"]) == (100.0, 1, 300.0)
    assert got["mdf"]["revenue_per_invested"] == pytest.approx(3.0)
    assert (got["incentive"]["spend"], got["incentive"]["revenue_per_invested"]) == (100.0, 0.0)
    assert (got["spiff"]["spend"], got["enablement"]["spend"], got["enablement"]["revenue_per_invested"]) == (
        50.0,
        0.0,
        None,
    )


def test_investment_by_category_against_the_recipients_revenue(make_db):
    con = make_db(
        {
            "partners": [
                partner("P1"),
                partner("P2"),
                partner("P3"),
                partner("P4"),
                partner("P5"),
                partner("GONE", left="2026-03-20"),
            ],
            "deals": [
                deal("D1", "P1", "2026-03-03", "won", "2026-03-04", amount=300),
                deal("D3", "P3", "2026-03-03", "won", "2026-03-04", amount=500),
                deal("D5", "P5", "2026-03-03", "won", "2026-03-04", amount=100),
                deal("DG", "GONE", "2026-03-03", "won", "2026-03-04", amount=7_000),
            ],
            "investments": [
                spend("P1", "2026-03-05", 100, "mdf"),
                spend("P1", "2026-03-06", 50, "incentive"),
                spend("P2", "2026-03-07", 30, "MDF"),  # any letter case
                spend("P2", "2026-02-01", 999, "mdf"),  # before the window
                spend("P3", "2026-03-08", 20, " spiff "),
                spend("P4", "2026-03-09", 10, None),  # no category: other
                spend("P5", "2026-03-10", 40, "Co-marketing"),  # an unknown label, as written
                spend("GONE", "2026-03-11", 1_000, "mdf"),  # left before the as-of date: not counted
            ],
        }
    )
    facts = metrics.partner_facts(con, d(A), 30)
    table = roi.investment_by_category(roi.investments_by_category(con, d(A), 30), facts)
    assert table["category"].to_list() == ["mdf", "incentive", "enablement", "spiff", "other", "Co-marketing"]
    rows = rows_by(table, "category")
    assert (rows["mdf"]["spend"], rows["mdf"]["recipients"], rows["mdf"]["revenue"]) == (130.0, 2, 300.0)
    assert rows["mdf"]["revenue_per_invested"] == pytest.approx(300 / 130)
    assert (rows["incentive"]["spend"], rows["incentive"]["recipients"], rows["incentive"]["revenue"]) == (50, 1, 300)
    assert rows["incentive"]["revenue_per_invested"] == 6.0
    # Nobody received enablement: listed, nothing spent, no revenue per unit.
    enablement = rows["enablement"]
    assert (enablement["spend"], enablement["recipients"], enablement["revenue"]) == (0.0, 0, 0.0)
    assert enablement["revenue_per_invested"] is None
    assert (rows["spiff"]["spend"], rows["spiff"]["revenue_per_invested"]) == (20.0, 25.0)
    assert (rows["other"]["spend"], rows["other"]["recipients"], rows["other"]["revenue_per_invested"]) == (10, 1, 0)
    assert (rows["Co-marketing"]["spend"], rows["Co-marketing"]["revenue_per_invested"]) == (40.0, 2.5)
    # Spend adds up to the program's cost; revenue counts P1 twice (mdf and incentive).
    summary = metrics.summarize(metrics.segment(facts, VIEW), VIEW)
    assert table["spend"].sum() == summary["cost"] == 250.0
    assert table["revenue"].sum() == 1_200.0 != summary["revenue"]


def test_a_zero_amount_investment_does_not_make_a_recipient(make_db):
    con = make_db(
        {
            "partners": [partner("P1")],
            "deals": [deal("D1", "P1", "2026-03-03", "won", "2026-03-04", amount=300)],
            "investments": [spend("P1", "2026-03-05", 0, "spiff")],
        }
    )
    table = roi.investment_by_category(roi.investments_by_category(con, d(A), 30), metrics.partner_facts(con, d(A), 30))
    spiff = rows_by(table, "category")["spiff"]
    assert (spiff["spend"], spiff["recipients"], spiff["revenue"], spiff["revenue_per_invested"]) == (0, 0, 0, None)


# --- partner lists -------------------------------------------------------------------------------------


@pytest.fixture
def funded_partners(make_db):
    """Cost and revenue in the window per partner (ROI by hand):
    A 100 / 0 (-1), B 100 / 50 (-0.5), C 100 / 0 (-1), D 300 / 150 (-0.5), E 50 / 500 (9),
    F 0 / 1000 (n/a), G 50 / 50 (0), H 200 / 800 (3), I nothing at all."""
    money = {"A": (100, 0), "B": (100, 50), "C": (100, 0), "D": (300, 150), "E": (50, 500)}
    money |= {"F": (0, 1000), "G": (50, 50), "H": (200, 800), "I": (0, 0)}
    return make_db(
        {
            "partners": [partner(pid) for pid in money],
            "deals": [
                deal(f"D{pid}", pid, "2026-03-03", "won", "2026-03-04", amount=revenue)
                for pid, (_, revenue) in money.items()
                if revenue
            ],
            "investments": [spend(pid, "2026-03-05", cost) for pid, (cost, _) in money.items() if cost],
        }
    )


def test_overpaying_lists_the_largest_spend_first_and_breaks_ties_by_lower_roi_then_name(funded_partners):
    losing, total = roi.overpaying(segmented(funded_partners))
    # D spent most; A, B, C spent 100 each: A and C (-100%) before B (-50%), A before C by name.
    assert losing["partner_id"].to_list() == ["D", "A", "C", "B"]
    assert total == 4  # G (ROI exactly 0) is not overpaid
    assert losing.columns == ["partner_id", "partner_name", "tier", "cost", "revenue", "roi"]
    assert losing.row(0, named=True) == {
        "partner_id": "D",
        "partner_name": "Partner D",
        "tier": "nurture",  # not activated, but it has revenue
        "cost": 300.0,
        "revenue": 150.0,
        "roi": -0.5,
    }
    top_two, total = roi.overpaying(segmented(funded_partners), top=2)
    assert (top_two["partner_id"].to_list(), total) == (["D", "A"], 4)


def test_best_return_ranks_by_roi_then_larger_spend_and_never_lists_a_partner_without_cost(funded_partners):
    best, total = roi.best_return(segmented(funded_partners))
    # E 9.0, H 3.0, G 0.0, then D and B at -0.5 (D spent more), then A and C at -1.
    assert best["partner_id"].to_list() == ["E", "H", "G", "D", "B", "A", "C"]
    assert best["roi"].to_list() == [9.0, 3.0, 0.0, -0.5, -0.5, -1.0, -1.0]
    assert total == 7  # F and I cost nothing
    top_three, _ = roi.best_return(segmented(funded_partners), top=3)
    assert top_three["partner_id"].to_list() == ["E", "H", "G"]


def test_unfunded_earners_are_counted_not_hidden(funded_partners):
    seg = segmented(funded_partners)
    assert roi.unfunded_earners(seg) == {"partners": 1, "revenue": 1_000.0}  # F; I has no revenue
    assert rows_by(seg, "partner_id")["F"]["roi"] is None


def test_no_partner_lists_for_a_program_without_spend(make_db):
    con = make_db({"partners": [partner("P1")]})
    seg = segmented(con)
    assert roi.overpaying(seg)[1] == 0 and roi.best_return(seg)[1] == 0
    assert roi.unfunded_earners(seg) == {"partners": 0, "revenue": 0.0}
