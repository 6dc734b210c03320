"""The history building blocks: facts at several as-of dates, and partners month by month.

Hand-computed on small data. Their answers must agree with `partner_facts` (one definition).
"""

from __future__ import annotations

from kpi import metrics
from kpi.params import View
from tests.conftest import activity, d, deal, partner


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
