"""The partner scorecard's engine (kpi/scorecard.py), hand-computed on small data.

Tier reasons are checked on facts written in the test, one case per tier and per boundary:
exactly at a threshold, one short, a switched-off criterion, the last day of the grace period.
A = 2026-03-31 unless a test says otherwise.
"""

from __future__ import annotations

import dataclasses
from datetime import date

import polars as pl
import pytest

from kpi import metrics, scorecard
from kpi.params import View
from tests.conftest import activity, d, deal, partner

A = d("2026-03-31")
# Grace 90 days: joined on or before 2025-12-31 can be dropped at A.
VIEW = View(as_of=A, window_days=30, min_trainings=2, min_shares=1, min_deals=1, min_criteria=3)


def facts(**values: object) -> dict[str, object]:
    """One partner's facts as `partner_facts` gives them; every count 0 unless given."""
    row: dict[str, object] = {
        "partner_id": "P1",
        "partner_name": "Partner P1",
        "region": None,
        "partner_type": None,
        "channel_manager": None,
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
    row.update(values)
    return row


def conditions(conds: tuple[scorecard.Condition, ...]) -> dict[str, tuple[bool, object]]:
    return {c.name: (c.holds, c.gap) for c in conds}


def segment_tier(row: dict[str, object], view: View) -> str:
    return metrics.segment(pl.DataFrame([row]), view).row(0, named=True)["tier"]


# --- tier reasons -------------------------------------------------------------------------


def test_reward_exactly_at_every_threshold():
    row = facts(trainings=2, content_shares=1, deals_registered=1, revenue=50_000.0)
    reasons = scorecard.explain_tier(row, VIEW)
    assert reasons.tier == "reward"
    assert [(c.column, c.value, c.threshold, c.met, c.short) for c in reasons.criteria] == [
        ("trainings", 2, 2, True, 0),
        ("content_shares", 1, 1, True, 0),
        ("deals_registered", 1, 1, True, 0),
    ]
    assert (reasons.criteria_met, reasons.needed, reasons.activated) == (3, 3, True)
    assert conditions(reasons.reward) == {"activated": (True, 0), "reward_revenue": (True, 0.0)}
    assert reasons.deciding == reasons.reward


def test_one_training_short_is_not_activated_and_says_by_how_much():
    # 1 of 2 trainings: 1 short; revenue and 3 actions keep it out of drop.
    row = facts(trainings=1, content_shares=1, deals_registered=1, revenue=50_000.0)
    reasons = scorecard.explain_tier(row, VIEW)
    assert reasons.tier == "nurture"
    training = reasons.criteria[0]
    assert (training.value, training.threshold, training.met, training.short) == (1, 2, False, 1)
    assert (reasons.criteria_met, reasons.activated) == (2, False)
    assert conditions(reasons.reward) == {"activated": (False, 1), "reward_revenue": (True, 0.0)}
    # Drop fails on revenue (50,000 of it) and on actions (1 + 1 + 1 = 3, one over the limit of 2).
    assert conditions(reasons.drop) == {
        "not_activated": (True, 0),
        "no_revenue": (False, 50_000.0),
        "few_actions": (False, 1),
        "past_grace": (True, 0),
    }
    assert [c.name for c in reasons.deciding] == ["activated", "no_revenue", "few_actions"]


def test_revenue_one_cent_short_of_reward_is_nurture():
    row = facts(trainings=5, content_shares=1, deals_registered=1, revenue=49_999.99)
    reasons = scorecard.explain_tier(row, VIEW)
    assert reasons.tier == "nurture"
    ((name, holds, gap),) = [(c.name, c.holds, c.gap) for c in reasons.reward if not c.holds]
    assert (name, holds, round(gap, 2)) == ("reward_revenue", False, 0.01)
    # Activated partners are never dropped: that is the drop condition it misses.
    assert [c.name for c in reasons.deciding] == ["reward_revenue", "not_activated", "no_revenue", "few_actions"]


def test_a_switched_off_criterion_is_neither_met_nor_needed():
    view = dataclasses.replace(VIEW, min_deals=0)  # 2 criteria left; min_criteria 3 means both
    row = facts(trainings=2, content_shares=1, revenue=60_000.0)
    reasons = scorecard.explain_tier(row, view)
    deals = reasons.criteria[2]
    assert (deals.enabled, deals.met, deals.short) == (False, False, 0)
    assert (reasons.criteria_met, reasons.needed, reasons.activated, reasons.tier) == (2, 2, True, "reward")


def test_min_criteria_below_the_enabled_count_activates_on_fewer():
    view = dataclasses.replace(VIEW, min_criteria=2)
    row = facts(trainings=0, content_shares=1, deals_registered=1, revenue=50_000.0)
    reasons = scorecard.explain_tier(row, view)
    assert (reasons.criteria_met, reasons.needed, reasons.activated, reasons.tier) == (2, 2, True, "reward")
    assert reasons.criteria[0].short == 2


def test_with_every_criterion_off_everyone_is_activated_and_never_dropped():
    view = dataclasses.replace(VIEW, min_trainings=0, min_shares=0, min_deals=0)
    reasons = scorecard.explain_tier(facts(), view)
    assert (reasons.needed, reasons.criteria_met, reasons.activated, reasons.tier) == (0, 0, True, "nurture")
    assert conditions(reasons.reward)["reward_revenue"] == (False, 50_000.0)
    # It would have to stop meeting 0 - 0 + 1 = 1 criterion to be not activated: impossible, but the gap says so.
    assert conditions(reasons.drop)["not_activated"] == (False, 1)


def test_drop_exactly_at_the_actions_limit_and_nurture_one_over():
    at_limit = facts(content_views=1, logins=40, deals_registered=1)  # actions 2; logins never count
    reasons = scorecard.explain_tier(at_limit, VIEW)
    assert (reasons.tier, reasons.actions) == ("drop", 2)
    assert conditions(reasons.drop) == {
        "not_activated": (True, 0),
        "no_revenue": (True, 0.0),
        "few_actions": (True, 0),
        "past_grace": (True, 0),
    }
    # Drop names the reward conditions it misses first, then the four drop conditions.
    assert [c.name for c in reasons.deciding] == [
        "activated",
        "reward_revenue",
        "not_activated",
        "no_revenue",
        "few_actions",
        "past_grace",
    ]
    over = scorecard.explain_tier(facts(content_views=3), VIEW)
    assert over.tier == "nurture"
    assert conditions(over.drop)["few_actions"] == (False, 1)
    assert [c.name for c in over.deciding] == ["activated", "reward_revenue", "few_actions"]


def test_grace_period_edge():
    # A - 90 days = 2025-12-31: joined that day it can be dropped; a day later it cannot, for one more day.
    last_day = scorecard.explain_tier(facts(joined_on=d("2025-12-31")), VIEW)
    assert (last_day.tier, last_day.grace_cutoff) == ("drop", d("2025-12-31"))
    protected = scorecard.explain_tier(facts(joined_on=d("2026-01-01")), VIEW)
    assert protected.tier == "nurture"
    assert conditions(protected.drop)["past_grace"] == (False, 1)
    assert protected.droppable_from == d("2026-04-01")
    assert [c.name for c in protected.deciding] == ["activated", "reward_revenue", "past_grace"]


@pytest.mark.parametrize(
    "values",
    [
        {"trainings": 2, "content_shares": 1, "deals_registered": 1, "revenue": 50_000.0},
        {"trainings": 1, "content_shares": 1, "deals_registered": 1, "revenue": 50_000.0},
        {"content_views": 2},
        {"content_views": 3},
        {"joined_on": date(2026, 1, 1)},
        {"trainings": 9, "content_shares": 9, "deals_registered": 9},
    ],
)
def test_the_explained_tier_is_segments_tier(values):
    row = facts(**values)
    assert scorecard.explain_tier(row, VIEW).tier == segment_tier(row, VIEW)


def test_membership_at_the_as_of_date():
    assert scorecard.membership(A, None, A) == "in program"  # joined on A: in
    assert scorecard.membership(d("2026-04-01"), None, A) == "not yet joined"
    assert scorecard.membership(d("2025-01-01"), A, A) == "left"  # left on A: out
    assert scorecard.membership(d("2025-01-01"), d("2026-04-01"), A) == "in program"


# --- tier history -------------------------------------------------------------------------


def test_history_dates_are_twelve_weeks_ending_on_the_as_of_date():
    dates = scorecard.history_dates(A)
    assert len(dates) == 12
    assert (dates[0], dates[-2], dates[-1]) == (d("2026-01-13"), d("2026-03-24"), d("2026-03-31"))


def test_tier_history_changes_week_by_week(make_db):
    # 7-day windows, so each week counts only its own 7 days: (A - 7, A].
    # Joined 2026-02-24 with 7 grace days: not in the program before, protected on 02-24, droppable from 03-03.
    con = make_db(
        {
            "partners": [partner("P1", joined="2026-02-24"), partner("OTHER", joined="2025-01-01")],
            "activities": [
                activity("P1", "2026-03-04", "content_shared"),  # week ending 03-10 (03-03 is the week before)
                activity("P1", "2026-03-10", "training_completed"),  # week ending 03-10
                activity("P1", "2026-03-24", "training_completed"),  # week ending 03-24
                activity("P1", "2026-03-25", "training_completed"),  # week ending 03-31
                activity("P1", "2026-03-31", "content_shared"),  # week ending 03-31
                activity("OTHER", "2026-03-17", "training_completed"),  # someone else's
            ],
            "deals": [deal("D1", "P1", "2026-02-20", "won", "2026-03-30", amount=1000)],
        }
    )
    view = View(
        as_of=A,
        window_days=7,
        min_trainings=1,
        min_shares=1,
        min_deals=0,
        min_criteria=3,
        reward_min_revenue=1000.0,
        drop_max_actions=0,
        grace_days=7,
    )
    dates = scorecard.history_dates(A)
    history = scorecard.tier_history(metrics.facts_at(con, dates, 7, "P1"), view, dates)
    assert history["as_of"].to_list() == dates
    assert history["tier"].to_list() == [
        *["not in program"] * 6,  # 01-13 .. 02-17: not joined yet
        "nurture",  # 02-24: joined that day, inside its grace period (the deal registered 02-20 is before it)
        "drop",  # 03-03: grace over (joined 02-24 <= 03-03 - 7), nothing done
        "nurture",  # 03-10: a share and a training: activated, but no revenue
        "drop",  # 03-17: nothing done
        "nurture",  # 03-24: one training, 1 action > 0
        "reward",  # 03-31: training + share, and 1,000 won on 03-30: exactly the reward threshold
    ]
    assert history["in_program"].to_list() == [False] * 6 + [True] * 6
    assert history["criteria_met"].to_list()[6:] == [0, 0, 2, 0, 1, 2]
    assert history["actions"].to_list()[6:] == [1, 0, 2, 0, 1, 2]  # 02-24: the deal registered on 02-20
    assert history["revenue"].to_list()[6:] == [0.0, 0.0, 0.0, 0.0, 0.0, 1000.0]
    assert history["criteria_met"].null_count() == 6

    # The thresholds are applied in memory: one cent more for reward and the last week is nurture.
    stricter = scorecard.tier_history(
        metrics.facts_at(con, dates, 7, "P1"), dataclasses.replace(view, reward_min_revenue=1000.01), dates
    )
    assert stricter["tier"].to_list()[-1] == "nurture"


@pytest.mark.parametrize("grace_days", [0, 6, 7, 8, 20, 21, 60])
@pytest.mark.parametrize("drop_max_actions", [0, 1])
def test_tier_history_agrees_with_segment_at_week_by_week(make_db, grace_days, drop_max_actions):
    # tier_history judges all weeks in one pass; segment_at (the definition) one week at a time.
    # Joined 2026-03-03: the grace period ends in a different week for each grace length.
    con = make_db(
        {
            "partners": [partner("P1", joined="2026-03-03")],
            "activities": [activity("P1", "2026-03-20", "content_viewed")],
        }
    )
    view = dataclasses.replace(VIEW, window_days=14, grace_days=grace_days, drop_max_actions=drop_max_actions)
    dates = scorecard.history_dates(A)
    facts = metrics.facts_at(con, dates, 14, "P1")
    expected = metrics.segment_at(facts, view).select("as_of", "tier", "criteria_met", "actions")
    got = scorecard.tier_history(facts, view, dates).filter(pl.col("in_program"))
    assert got.select("as_of", "tier", "criteria_met", "actions").equals(expected)
    assert got.height == 5  # in the program from 03-03: five weeks


def test_tier_history_of_a_partner_never_in_the_program(make_db):
    con = make_db({"partners": [partner("LATE", joined="2026-06-01")]})
    dates = scorecard.history_dates(A)
    history = scorecard.tier_history(metrics.facts_at(con, dates, 30, "LATE"), VIEW, dates)
    assert history["tier"].to_list() == ["not in program"] * 12
    assert history["in_program"].to_list() == [False] * 12


# --- month by month -----------------------------------------------------------------------


def test_monthly_has_quiet_months_with_zeros_and_roi_only_where_money_was_spent(make_db):
    con = make_db(
        {
            "partners": [partner("P1", joined="2026-01-10")],
            "activities": [activity("P1", "2026-01-15", "training_completed")],
            "deals": [deal("W1", "P1", "2026-01-20", "won", "2026-03-05", amount=300, mrr=10)],
            "investments": [
                {"partner_id": "P1", "spent_on": "2026-01-31", "amount": 200, "category": "mdf"},
                {"partner_id": "P1", "spent_on": "2026-03-01", "amount": 100, "category": "spiff"},
            ],
        }
    )
    months = scorecard.monthly(metrics.partner_months(con, A, "P1"))
    rows = {r["month"].isoformat(): r for r in months.iter_rows(named=True)}
    assert list(rows) == ["2026-01-01", "2026-02-01", "2026-03-01"]
    jan, feb, mar = rows.values()
    # February: nothing happened, yet the month is there, with zeros and no ROI.
    assert (feb["trainings"], feb["deals_registered"], feb["revenue"], feb["cost"], feb["roi"]) == (
        0,
        0,
        0.0,
        0.0,
        None,
    )
    # January: 200 spent, nothing won: (0 - 200) / 200 = -1. March: 300 + 12 x 10 = 420 won on 100 spent: 3.2.
    assert (jan["revenue"], jan["cost"], jan["roi"]) == (0.0, 200.0, -1.0)
    assert (mar["revenue"], mar["cost"], mar["roi"], mar["mrr"]) == (420.0, 100.0, 3.2, 10.0)
    assert feb["mrr"] == 0.0


# --- staff --------------------------------------------------------------------------------


def test_staff_activity_counts_the_window_and_lists_quiet_staff_and_unnamed_activity(make_db):
    # Window W = 30 at A: 2026-03-02 .. 2026-03-31 (03-01 is outside).
    con = make_db(
        {
            "partners": [partner("P1"), partner("P2")],
            "partner_users": [
                {"user_id": "U1", "partner_id": "P1", "user_name": "Ana", "role": "sales"},
                {"user_id": "U2", "partner_id": "P1", "user_name": "Ben", "role": "admin"},
                {"user_id": "U3", "partner_id": "P1", "user_name": "Cy", "role": "sales"},
                {"user_id": "U9", "partner_id": "P2", "user_name": "Other"},
            ],
            "activities": [
                activity("P1", "2026-03-02", "training_completed", "U1"),  # first day of the window
                activity("P1", "2026-03-31", "content_shared", "U1"),  # the as-of date
                activity("P1", "2026-03-10", "login", "U1"),
                activity("P1", "2026-03-01", "content_viewed", "U2"),  # the day before the window
                activity("P1", "2026-04-02", "login", "U2"),  # after A: neither counted nor last active
                activity("P1", "2026-03-20", "content_viewed"),  # no user, in the window
                activity("P1", "2026-03-21", "login"),  # no user, in the window
                activity("P2", "2026-03-20", "login", "U9"),  # another partner's
            ],
        }
    )
    staff = scorecard.staff_activity(con, "P1", A, 30)
    rows = [
        (
            r["user_name"],
            r["no_user"],
            r["trainings"],
            r["content_shares"],
            r["content_views"],
            r["logins"],
            r["activities"],
            r["last_active_on"],
        )
        for r in staff.iter_rows(named=True)
    ]
    assert rows == [
        ("Ana", False, 1, 1, 0, 1, 3, d("2026-03-31")),
        ("Ben", False, 0, 0, 0, 0, 0, d("2026-03-01")),  # active only before the window
        ("Cy", False, 0, 0, 0, 0, 0, None),  # never active
        (None, True, 0, 0, 1, 1, 2, d("2026-03-21")),  # activities without a person
    ]
    # The named staff active in the window are the partner's active_users.
    assert metrics.partner_facts(con, A, 30).filter(pl.col("partner_id") == "P1")["active_users"].item() == 1


def test_a_partner_with_no_staff_has_no_staff_rows(make_db):
    con = make_db(
        {
            "partners": [partner("P1"), partner("P2")],
            "partner_users": [{"user_id": "U9", "partner_id": "P2"}],
            "activities": [activity("P1", "2026-02-01", "login")],  # unnamed, before the window: no row
        }
    )
    assert scorecard.staff_activity(con, "P1", A, 30).is_empty()


def test_partner_list_holds_everyone_by_name(make_db):
    con = make_db(
        {
            "partners": [
                {**partner("B2"), "partner_name": "Beta"},
                {**partner("A1", left="2026-01-01"), "partner_name": "Alpha"},
                {**partner("B1", joined="2027-01-01"), "partner_name": "Beta"},
            ]
        }
    )
    listed = scorecard.partner_list(con)
    assert listed["partner_id"].to_list() == ["A1", "B1", "B2"]  # by name, then id; in the program or not
    assert listed.row(0, named=True)["left_on"] == d("2026-01-01")


# --- the partner's record -----------------------------------------------------------------


def test_partner_record_reads_its_weeks_months_and_staff(make_db):
    # W = 30. P1 joined 2026-02-20: in the program for the weeks from 02-24. Ana trained on 03-25.
    con = make_db(
        {
            "partners": [partner("P1", joined="2026-02-20"), partner("P2")],
            "partner_users": [
                {"user_id": "U1", "partner_id": "P1", "user_name": "Ana"},
                {"user_id": "U2", "partner_id": "P1", "user_name": "Bo"},
            ],
            "activities": [activity("P1", "2026-03-25", "training_completed", "U1"), activity("P2", A, "login")],
            "deals": [deal("D1", "P1", "2026-03-05", "won", "2026-03-10", amount=500)],
        }
    )
    record = scorecard.partner_record(con, "P1", A, 30)
    assert record.dates == scorecard.history_dates(A)
    assert record.weeks.equals(metrics.facts_at(con, record.dates, 30, "P1"))
    assert record.months.equals(scorecard.monthly(metrics.partner_months(con, A, "P1")))
    assert record.staff.equals(scorecard.staff_activity(con, "P1", A, 30))
    today = record.today
    assert (today["trainings"], today["deals_registered"], today["revenue"]) == (1, 1, 500.0)
    history = record.history(VIEW)
    assert history.equals(scorecard.tier_history(record.weeks, VIEW, record.dates))
    # Six weeks before it joined; then six in its grace period, never activated (two trainings needed).
    assert scorecard.weeks_in_tier(history) == {"reward": 0, "nurture": 6, "drop": 0, "not in program": 6}
    assert scorecard.staff_counts(record.staff) == {"on_record": 2, "active": 1}
    assert scorecard.partner_record(con, "P2", d("2024-12-31"), 30).today is None  # not joined yet


def test_staff_counts_leave_out_activity_without_a_person():
    staff = pl.DataFrame({"no_user": [False, False, True], "activities": [0, 4, 9]})
    assert scorecard.staff_counts(staff) == {"on_record": 2, "active": 1}
