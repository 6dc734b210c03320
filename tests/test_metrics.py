"""Every KPI definition of SPEC "KPI definitions" and "Activation and tiers", edges on purpose.

Dates: as-of A = 2026-03-31 and a 30-day window unless a test says otherwise, so the
window is 2026-03-02 .. 2026-03-31 (2026-03-01 = A - W is outside).
"""

from __future__ import annotations

import dataclasses

import polars as pl
import pytest

from kpi import metrics
from kpi.params import View
from tests.conftest import activity, d, deal, partner

A = "2026-03-31"
VIEW = View(as_of=d(A), window_days=30)


def facts_by_id(con, view: View = VIEW) -> dict[str, dict]:
    frame = metrics.partner_facts(con, view.as_of, view.window_days)
    return {row["partner_id"]: row for row in frame.iter_rows(named=True)}


def segment_by_id(con, view: View) -> dict[str, dict]:
    frame = metrics.segment(metrics.partner_facts(con, view.as_of, view.window_days), view)
    return {row["partner_id"]: row for row in frame.iter_rows(named=True)}


# --- population --------------------------------------------------------------------------


def test_population_includes_joined_on_the_as_of_date_and_excludes_left_on_it(make_db):
    con = make_db(
        {
            "partners": [
                partner("JOINED_ON_A", joined=A),
                partner("JOINED_AFTER_A", joined="2026-04-01"),
                partner("LEFT_ON_A", joined="2025-01-01", left=A),
                partner("LEFT_DAY_AFTER", joined="2025-01-01", left="2026-04-01"),
                partner("LEFT_BEFORE", joined="2025-01-01", left="2026-03-30"),
            ]
        }
    )
    assert sorted(facts_by_id(con)) == ["JOINED_ON_A", "LEFT_DAY_AFTER"]


# --- window counts --------------------------------------------------------------------------


def test_window_counts_the_as_of_date_and_excludes_a_minus_w(make_db):
    con = make_db(
        {
            "partners": [partner("P1")],
            "activities": [
                activity("P1", "2026-03-01", "training_completed"),  # A - W: outside
                activity("P1", "2026-03-02", "training_completed"),  # first day inside
                activity("P1", "2026-03-31T23:59:59", "training_completed"),  # A, late in the day
                activity("P1", "2026-04-01", "training_completed"),  # after A
            ],
        }
    )
    assert facts_by_id(con)["P1"]["trainings"] == 2


def test_each_behaviour_is_counted_by_its_kind(make_db):
    con = make_db(
        {
            "partners": [partner("P1")],
            "activities": [
                *[activity("P1", "2026-03-10", "training_completed")] * 2,
                *[activity("P1", "2026-03-10", "content_shared")] * 3,
                *[activity("P1", "2026-03-10", "content_viewed")] * 4,
                *[activity("P1", "2026-03-10", "login")] * 5,
            ],
        }
    )
    row = facts_by_id(con)["P1"]
    assert (row["trainings"], row["content_shares"], row["content_views"], row["logins"]) == (2, 3, 4, 5)


def test_active_users_are_distinct_named_users_with_any_activity_in_the_window(make_db):
    con = make_db(
        {
            "partners": [partner("P1")],
            "partner_users": [{"user_id": u, "partner_id": "P1"} for u in ("U1", "U2", "U3")],
            "activities": [
                activity("P1", "2026-03-10", "login", "U1"),  # a login counts for active users
                activity("P1", "2026-03-11", "content_viewed", "U1"),
                activity("P1", "2026-03-12", "training_completed", "U2"),
                activity("P1", "2026-03-12", "training_completed", None),  # no user: not counted
                activity("P1", "2026-02-01", "training_completed", "U3"),  # outside the window
            ],
        }
    )
    assert facts_by_id(con)["P1"]["active_users"] == 2


def test_deals_registered_won_and_lost_follow_their_own_dates(make_db):
    con = make_db(
        {
            "partners": [partner("P1")],
            "deals": [
                deal("D1", "P1", "2026-03-02"),  # registered in window, open
                deal("D2", "P1", "2026-03-01", "won", "2026-03-02", amount=100),  # registered outside, won inside
                deal("D3", "P1", "2026-03-05", "lost", "2026-03-20"),  # registered inside, lost
                deal("D4", "P1", "2026-01-05", "won", "2026-03-01", amount=100),  # won on A - W: outside
                deal("D5", "P1", "2026-01-05", "lost", A),  # registered outside, lost on A: inside
                deal("D6", "P1", "2026-01-05", "lost", "2026-03-01"),  # lost on A - W: outside
            ],
        }
    )
    row = facts_by_id(con)["P1"]
    assert row["deals_registered"] == 2
    assert row["deals_won"] == 1
    assert row["deals_lost"] == 2


def test_revenue_is_deal_value_of_deals_won_in_the_window(make_db):
    con = make_db(
        {
            "partners": [partner("P1")],
            "deals": [
                deal("D1", "P1", "2026-02-01", "won", "2026-03-15", amount=1000, mrr=50),  # 1000 + 600
                deal("D2", "P1", "2026-02-01", "won", A, amount=250.5),  # on A
                deal("D3", "P1", "2026-02-01", "lost", "2026-03-15", amount=9999),  # lost
                deal("D4", "P1", "2026-02-01", "won", "2026-04-01", amount=9999),  # after A
                deal("D5", "P1", "2026-03-20", "open", amount=9999),  # open
            ],
        }
    )
    assert facts_by_id(con)["P1"]["revenue"] == pytest.approx(1850.5)


def test_cost_is_investment_spent_in_the_window(make_db):
    con = make_db(
        {
            "partners": [partner("P1")],
            "investments": [
                {"partner_id": "P1", "spent_on": "2026-03-01", "category": "mdf", "amount": 1000},  # A - W
                {"partner_id": "P1", "spent_on": "2026-03-02", "category": "mdf", "amount": 300},
                {"partner_id": "P1", "spent_on": A, "category": "spiff", "amount": 200},
                {"partner_id": "P1", "spent_on": "2026-04-01", "category": "mdf", "amount": 1000},
            ],
        }
    )
    assert facts_by_id(con)["P1"]["cost"] == pytest.approx(500)


def test_mrr_at_a_counts_won_deals_live_on_a_and_churn_on_a_stops_it(make_db):
    con = make_db(
        {
            "partners": [partner("P1")],
            "deals": [
                deal("D1", "P1", "2024-01-01", "won", "2024-02-01", amount=0, mrr=100),  # long ago, live
                deal("D2", "P1", "2026-01-01", "won", A, amount=0, mrr=10),  # closed on A: live
                deal("D3", "P1", "2025-01-01", "won", "2025-02-01", mrr=1000, churned_on=A),  # churned on A
                deal("D4", "P1", "2025-01-01", "won", "2025-02-01", mrr=1, churned_on="2026-04-01"),  # churns later
                deal("D5", "P1", "2026-03-01", "won", "2026-04-01", mrr=5000),  # closes after A
                deal("D6", "P1", "2026-03-01", "lost", "2026-03-05", mrr=7000),  # lost
                deal("D7", "P1", "2026-03-01", "open", mrr=9000),  # open
            ],
        }
    )
    assert facts_by_id(con)["P1"]["mrr"] == pytest.approx(111)


def test_partner_with_no_events_has_zero_counts_and_money(make_db):
    con = make_db({"partners": [partner("P1")]})
    row = facts_by_id(con)["P1"]
    counted = ("trainings", "logins", "active_users", "deals_won", "deals_lost", "revenue", "cost", "mrr")
    assert [row[c] for c in counted] == [0] * 8


# --- activation ---------------------------------------------------------------------------------


def behaviours(trainings: int = 0, shares: int = 0, deals: int = 0, views: int = 0, logins: int = 0, **extra):
    return {
        "trainings": trainings,
        "content_shares": shares,
        "deals_registered": deals,
        "content_views": views,
        "logins": logins,
        **extra,
    }


def facts_frame(*rows: dict) -> pl.DataFrame:
    """Synthetic partner facts (as partner_facts returns), for threshold logic alone."""
    base = {
        "partner_id": "P",
        "partner_name": "P",
        "joined_on": d("2025-01-01"),
        "trainings": 0,
        "content_shares": 0,
        "content_views": 0,
        "logins": 0,
        "active_users": 0,
        "deals_registered": 0,
        "deals_won": 0,
        "revenue": 0.0,
        "cost": 0.0,
        "mrr": 0.0,
    }
    return pl.DataFrame([{**base, "partner_id": f"P{i}", **row} for i, row in enumerate(rows)])


def activated_flags(view: View, *rows: dict) -> list[bool]:
    return metrics.segment(facts_frame(*rows), view)["activated"].to_list()


def test_activated_needs_all_enabled_criteria_by_default():
    view = dataclasses.replace(VIEW, min_trainings=2, min_shares=1, min_deals=1)
    assert activated_flags(
        view,
        behaviours(trainings=2, shares=1, deals=1),  # all met, thresholds exactly
        behaviours(trainings=1, shares=5, deals=5),  # trainings one short
        behaviours(trainings=9, shares=9, deals=0),
    ) == [True, False, False]


def test_a_criterion_at_zero_is_disabled():
    view = dataclasses.replace(VIEW, min_trainings=0, min_shares=1, min_deals=1)
    assert activated_flags(view, behaviours(shares=1, deals=1), behaviours(trainings=5, shares=1)) == [True, False]


def test_min_criteria_counts_how_many_enabled_criteria_must_be_met():
    view = dataclasses.replace(VIEW, min_trainings=1, min_shares=1, min_deals=1, min_criteria=2)
    frame = metrics.segment(
        facts_frame(behaviours(trainings=1), behaviours(trainings=1, deals=1), behaviours(1, 1, 1)), view
    )
    assert frame["criteria_met"].to_list() == [1, 2, 3]
    assert frame["activated"].to_list() == [False, True, True]


def test_min_criteria_above_the_number_enabled_means_all_enabled():
    view = dataclasses.replace(VIEW, min_trainings=1, min_shares=0, min_deals=0, min_criteria=3)
    assert activated_flags(view, behaviours(trainings=1), behaviours()) == [True, False]


def test_with_no_criteria_enabled_every_partner_is_activated():
    view = dataclasses.replace(VIEW, min_trainings=0, min_shares=0, min_deals=0)
    frame = metrics.segment(facts_frame(behaviours(), behaviours(logins=3)), view)
    assert frame["activated"].to_list() == [True, True]
    assert frame["criteria_met"].to_list() == [0, 0]


def test_criteria_met_counts_only_enabled_criteria():
    view = dataclasses.replace(VIEW, min_trainings=1, min_shares=0, min_deals=1, min_criteria=1)
    frame = metrics.segment(facts_frame(behaviours(trainings=1, shares=7, deals=1)), view)
    assert frame["criteria_met"].to_list() == [2]


# --- tiers ------------------------------------------------------------------------------------------


def tiers(view: View, *rows: dict) -> list[str]:
    return metrics.segment(facts_frame(*rows), view)["tier"].to_list()


TIER_VIEW = dataclasses.replace(
    VIEW, min_trainings=1, min_shares=0, min_deals=0, reward_min_revenue=1000, drop_max_actions=2, grace_days=90
)


def test_reward_needs_activation_and_revenue_at_the_threshold():
    assert tiers(
        TIER_VIEW,
        behaviours(trainings=1, revenue=1000.0),  # exactly the threshold
        behaviours(trainings=1, revenue=999.99),
        behaviours(trainings=0, revenue=50_000.0),  # not activated: never reward
    ) == ["reward", "nurture", "nurture"]


def test_drop_needs_no_activation_no_revenue_few_actions_and_past_grace():
    # A = 2026-03-31, grace 90 days: joined_on <= 2025-12-31 may be dropped.
    assert tiers(
        TIER_VIEW,
        behaviours(views=2, joined_on=d("2025-12-31")),  # actions = threshold, joined on the grace edge
        behaviours(views=2, joined_on=d("2026-01-01")),  # one day inside the grace period
        behaviours(views=3, joined_on=d("2025-01-01")),  # too many actions
        behaviours(revenue=1.0, joined_on=d("2025-01-01")),  # some revenue
        behaviours(logins=500, joined_on=d("2025-01-01")),  # logins are not actions
        behaviours(trainings=1, joined_on=d("2025-01-01")),  # activated
    ) == ["drop", "nurture", "nurture", "nurture", "drop", "nurture"]


def test_actions_are_trainings_shares_views_and_deal_registrations_not_logins():
    frame = metrics.segment(facts_frame(behaviours(trainings=1, shares=2, deals=3, views=4, logins=100)), VIEW)
    assert frame["actions"].to_list() == [10]


def test_roi_is_empty_without_cost_and_relative_to_cost_otherwise():
    frame = metrics.segment(facts_frame(behaviours(revenue=300.0, cost=100.0), behaviours(revenue=300.0)), VIEW)
    assert frame["roi"].to_list() == [2.0, None]


def test_moving_a_threshold_moves_partners_between_tiers():
    rows = (behaviours(trainings=2, revenue=5000.0), behaviours(trainings=1, revenue=5000.0))
    assert tiers(dataclasses.replace(TIER_VIEW, min_trainings=1), *rows) == ["reward", "reward"]
    assert tiers(dataclasses.replace(TIER_VIEW, min_trainings=2), *rows) == ["reward", "nurture"]


# --- summary ----------------------------------------------------------------------------------------


def test_summary_totals_the_population(make_db):
    con = make_db(
        {
            "partners": [partner("P1"), partner("P2"), partner("P3", joined="2026-03-30")],
            "activities": [activity("P1", "2026-03-10", "training_completed")],
            "deals": [
                deal("D1", "P1", "2026-02-01", "won", "2026-03-15", amount=4000, mrr=100),
                deal("D2", "P2", "2025-02-01", "won", "2025-03-15", amount=4000, mrr=50),  # old: mrr only
            ],
            "investments": [
                {"partner_id": "P1", "spent_on": "2026-03-20", "amount": 1000},
                {"partner_id": "P2", "spent_on": "2026-03-20", "amount": 600},
            ],
        }
    )
    view = dataclasses.replace(TIER_VIEW, reward_min_revenue=5000)
    segmented = metrics.segment(metrics.partner_facts(con, d(A), 30), view)
    summary = metrics.summarize(segmented, view)
    assert summary == {
        "as_of": A,
        "window_days": 30,
        "partners": 3,
        "activated": 1,
        "activation_pct": pytest.approx(100 / 3),
        # P1 activated with 5200 revenue; P2 no actions but past grace; P3 inside its grace period.
        "tiers": {"reward": 1, "nurture": 1, "drop": 1},
        "revenue": pytest.approx(5200),
        "cost": pytest.approx(1600),
        "roi": pytest.approx((5200 - 1600) / 1600),
        "mrr": pytest.approx(150),
        "arr": pytest.approx(1800),
    }


def test_activation_pct_and_roi_are_empty_for_an_empty_population(make_db):
    con = make_db({"partners": [partner("P1", joined="2026-06-01")]})
    summary = metrics.summarize(metrics.segment(metrics.partner_facts(con, d(A), 30), VIEW), VIEW)
    assert summary["partners"] == 0
    assert summary["activation_pct"] is None
    assert summary["roi"] is None
    assert summary["tiers"] == {"reward": 0, "nurture": 0, "drop": 0}


def test_tier_breakdown_gives_each_tiers_share_of_partners_revenue_and_cost():
    segmented = metrics.segment(
        facts_frame(
            behaviours(trainings=1, revenue=3000.0, cost=100.0),  # reward
            behaviours(trainings=1, revenue=1000.0, cost=300.0),  # reward
            behaviours(revenue=0.0, cost=0.0, views=9),  # nurture (too many actions to drop)
            behaviours(revenue=0.0, cost=600.0),  # drop
        ),
        TIER_VIEW,
    )
    rows = {r["tier"]: r for r in metrics.tier_breakdown(segmented).iter_rows(named=True)}
    assert [rows[t]["partners"] for t in ("reward", "nurture", "drop")] == [2, 1, 1]
    assert rows["reward"]["revenue_pct"] == pytest.approx(100.0)
    assert rows["drop"]["cost_pct"] == pytest.approx(60.0)
    assert rows["nurture"]["partners_pct"] == pytest.approx(25.0)


def test_tier_breakdown_shares_are_empty_when_the_total_is_zero():
    rows = metrics.tier_breakdown(metrics.segment(facts_frame(behaviours()), TIER_VIEW)).to_dicts()
    assert {r["tier"] for r in rows} == {"reward", "nurture", "drop"}
    assert all(r["revenue_pct"] is None and r["cost_pct"] is None for r in rows)


def test_previous_window_ends_one_window_earlier():
    assert VIEW.previous_window().as_of == d("2026-03-01")


# --- the program month by month ------------------------------------------------------------------------


def test_monthly_program_counts_partners_at_month_end_and_revenue_won_in_the_month(make_db):
    con = make_db(
        {
            "partners": [
                partner("P1", joined="2026-01-15"),
                partner("P2", joined="2026-02-28", left="2026-03-31"),  # in at Feb end, out on Mar 31
                partner("P3", joined="2026-03-01"),
            ],
            "deals": [
                deal("D1", "P1", "2026-01-02", "won", "2026-01-31", amount=100, mrr=10),
                deal("D2", "P1", "2026-02-02", "won", "2026-03-01", amount=50),
                deal("D3", "P1", "2026-02-02", "lost", "2026-03-02", amount=999),
            ],
        }
    )
    monthly = metrics.monthly_program(con, d("2026-03-31"))
    assert monthly["month"].to_list() == [d("2026-01-01"), d("2026-02-01"), d("2026-03-01")]
    assert monthly["partners"].to_list() == [1, 2, 2]
    assert monthly["revenue"].to_list() == [220.0, 0.0, 50.0]


def test_monthly_program_stops_at_the_given_day(make_db):
    con = make_db(
        {
            "partners": [partner("P1", joined="2026-01-15"), partner("P2", joined="2026-03-20")],
            "deals": [deal("D1", "P1", "2026-01-02", "won", "2026-03-25", amount=100)],
        }
    )
    monthly = metrics.monthly_program(con, d("2026-03-10"))
    assert monthly["partners"].to_list()[-1] == 1  # P2 joins after the day
    assert monthly["revenue"].sum() == 0.0


# --- facts at several as-of dates, and partners month by month ---------------------------------


def test_facts_at_counts_each_as_of_date_over_its_own_window(make_db):
    con = make_db(
        {
            "partners": [partner("P1", joined="2026-01-01"), partner("LATE", joined="2026-02-15")],
            "activities": [
                activity("P1", "2026-01-31", "training_completed"),  # in the window ending 01-31 only
                activity("P1", "2026-02-01", "content_shared"),  # in the window ending 02-28 only
                activity("P1", "2026-02-28", "training_completed"),  # on the as-of date: counts
            ],
            "deals": [deal("D1", "P1", "2026-01-10", "won", "2026-02-28", amount=100, mrr=10)],
        }
    )
    facts = metrics.facts_at(con, [d("2026-01-31"), d("2026-02-28")], 28)
    rows = {(r["as_of"].isoformat(), r["partner_id"]): r for r in facts.iter_rows(named=True)}
    # LATE joined after 2026-01-31: only in the second population.
    assert sorted(rows) == [("2026-01-31", "P1"), ("2026-02-28", "LATE"), ("2026-02-28", "P1")]
    jan, feb = rows[("2026-01-31", "P1")], rows[("2026-02-28", "P1")]
    assert (jan["trainings"], jan["content_shares"], jan["deals_registered"], jan["revenue"]) == (1, 0, 1, 0.0)
    # The window ending 02-28 with W = 28 is 02-01 .. 02-28.
    assert (feb["trainings"], feb["content_shares"], feb["deals_registered"], feb["revenue"]) == (1, 1, 0, 220.0)
    assert (jan["mrr"], feb["mrr"]) == (0.0, 10.0)


def test_facts_at_one_date_is_partner_facts(make_db):
    con = make_db(
        {
            "partners": [partner("P1"), partner("P2", left="2026-03-15")],
            "activities": [activity("P1", "2026-03-20", "login", "U1")],
            "partner_users": [{"user_id": "U1", "partner_id": "P1"}],
            "investments": [{"partner_id": "P1", "spent_on": "2026-03-05", "amount": 50, "category": "mdf"}],
        }
    )
    as_of = d("2026-03-31")
    at = metrics.facts_at(con, [as_of], 30).drop("as_of")
    assert at.equals(metrics.partner_facts(con, as_of, 30))
    assert at.row(0, named=True)["cost"] == 50.0


def test_facts_at_narrows_to_one_partner(make_db):
    con = make_db({"partners": [partner("P1"), partner("P2")]})
    facts = metrics.facts_at(con, [d("2026-03-31"), d("2026-03-24")], 30, partner_id="P2")
    assert facts["partner_id"].to_list() == ["P2", "P2"]


def test_segment_at_applies_the_grace_period_per_as_of_date(make_db):
    # Joined 2026-01-01 with 30 grace days: droppable from 2026-01-31 on, not on 2026-01-30.
    con = make_db({"partners": [partner("NEW", joined="2026-01-01")]})
    view = View(as_of=d("2026-01-31"), window_days=30, grace_days=30)
    facts = metrics.facts_at(con, [d("2026-01-30"), d("2026-01-31")], 30)
    tiers = metrics.segment_at(facts, view)["tier"].to_list()
    assert tiers == ["nurture", "drop"]


def test_partner_months_counts_inside_each_calendar_month_and_mrr_at_month_end(make_db):
    con = make_db(
        {
            "partners": [partner("P1", joined="2026-01-15")],
            "activities": [
                activity("P1", "2026-01-31", "content_shared"),
                activity("P1", "2026-02-01", "content_shared"),
                activity("P1", "2026-02-10", "login"),
            ],
            "deals": [
                deal("W1", "P1", "2026-01-20", "won", "2026-01-31", amount=1000, mrr=100, churned_on="2026-03-01"),
                deal("W2", "P1", "2026-02-01", "won", "2026-03-15", amount=0, mrr=40),
                deal("L1", "P1", "2026-02-02", "lost", "2026-02-20", amount=500),
                # Won and churned in the same month: new and churned both, no MRR at the end.
                deal("W3", "P1", "2026-03-02", "won", "2026-03-03", amount=0, mrr=7, churned_on="2026-03-20"),
            ],
            "investments": [{"partner_id": "P1", "spent_on": "2026-02-28", "amount": 300, "category": "mdf"}],
        }
    )
    months = metrics.partner_months(con, d("2026-03-20"))
    rows = {r["month"].isoformat(): r for r in months.iter_rows(named=True)}
    assert list(rows) == ["2026-01-01", "2026-02-01", "2026-03-01"]
    jan, feb, mar = rows["2026-01-01"], rows["2026-02-01"], rows["2026-03-01"]
    assert mar["month_end"] == d("2026-03-20")  # the last month is cut at `until`
    assert (jan["content_shares"], feb["content_shares"], feb["logins"]) == (1, 1, 1)
    assert (jan["deals_registered"], feb["deals_registered"], mar["deals_registered"]) == (1, 2, 1)
    assert (jan["deals_won"], feb["deals_lost"], mar["deals_won"]) == (1, 1, 2)
    assert (jan["revenue"], feb["revenue"], mar["revenue"]) == (2200.0, 0.0, 480.0 + 84.0)
    assert (jan["cost"], feb["cost"], mar["cost"]) == (0.0, 300.0, 0.0)
    assert (jan["new_mrr"], mar["new_mrr"], mar["churned_mrr"]) == (100.0, 47.0, 107.0)
    assert (jan["mrr"], feb["mrr"], mar["mrr"]) == (100.0, 100.0, 40.0)
    # SPEC's mrr at the as-of date agrees with the month-end value.
    assert metrics.partner_facts(con, d("2026-03-20"), 30).row(0, named=True)["mrr"] == 40.0
    # Joined mid-January: in the program at every month end.
    assert [r["in_program"] for r in rows.values()] == [True, True, True]


def test_partner_months_marks_months_outside_the_program(make_db):
    con = make_db(
        {
            "partners": [partner("P1", joined="2026-01-10", left="2026-02-28"), partner("P2", joined="2026-02-01")],
            "activities": [activity("P2", "2026-01-05", "login")],  # active before it joined
        }
    )
    months = metrics.partner_months(con, d("2026-03-31"))
    got = {(r["partner_id"], r["month"].isoformat()): r["in_program"] for r in months.iter_rows(named=True)}
    # P1 left on 02-28, the end of February: out of the program at that month end already.
    assert got == {
        ("P1", "2026-01-01"): True,
        ("P1", "2026-02-01"): False,
        ("P1", "2026-03-01"): False,
        ("P2", "2026-01-01"): False,
        ("P2", "2026-02-01"): True,
        ("P2", "2026-03-01"): True,
    }
    assert metrics.partner_months(con, d("2026-03-31"), partner_id="P2")["logins"].to_list() == [1, 0, 0]


def test_partner_months_starts_with_money_spent_before_any_activity_or_deal(make_db):
    con = make_db(
        {
            "partners": [partner("P1", joined="2026-03-01")],
            "investments": [{"partner_id": "P1", "spent_on": "2026-01-20", "amount": 75, "category": "mdf"}],
            "activities": [activity("P1", "2026-03-05", "login")],
        }
    )
    months = metrics.partner_months(con, d("2026-03-31"))
    assert months["month"].cast(str).to_list() == ["2026-01-01", "2026-02-01", "2026-03-01"]
    assert months["cost"].to_list() == [75.0, 0.0, 0.0]
    assert months["in_program"].to_list() == [False, False, True]
