"""Recurring revenue KPIs (kpi/recurring.py), hand-computed on small data made here."""

from __future__ import annotations

import polars as pl
import pytest

from kpi import metrics, recurring
from kpi.params import View
from tests.conftest import BOOK, d, deal, partner

# --- the MRR book month by month ----------------------------------------------------------------
#
# BOOK (tests/conftest.py): A stays in the program; L leaves in March; J joins in March.


def by_month(frame: pl.DataFrame) -> dict[str, dict]:
    return {r["month"].strftime("%Y-%m"): r for r in frame.iter_rows(named=True)}


def test_movement_of_the_mrr_book_month_by_month(make_db):
    con = make_db(BOOK)
    movement = recurring.mrr_movement(metrics.partner_months(con, d("2026-05-31")))
    rows = by_month(movement)
    assert list(rows) == ["2025-12", "2026-01", "2026-02", "2026-03", "2026-04", "2026-05"]
    parts = ("mrr_start", "new_mrr", "churned_mrr", "joined_mrr", "left_mrr", "net_new_mrr", "mrr")
    got = {month: tuple(row[p] for p in parts) for month, row in rows.items()}
    # December: only J has a deal, and J is not in the program yet: nothing in the book.
    assert got["2025-12"] == (0, 0, 0, 0, 0, 0, 0)
    # January: A1 + L1 are new.
    assert got["2026-01"] == (0, 300, 0, 0, 0, 300, 300)
    # February: A2 won and churned in the same month: new 50 and churned 50, net 0.
    assert got["2026-02"] == (300, 50, 50, 0, 0, 0, 300)
    # March: new A3 30 + J2 5; J brings J1 40 in; L takes the 200 it had at the end of February
    # (L2, won in the month it left, never was in the book): 300 + 35 + 40 - 200 = 175.
    assert got["2026-03"] == (300, 35, 0, 40, 200, -125, 175)
    # April: A3 churns.
    assert got["2026-04"] == (175, 0, 30, 0, 0, -30, 145)
    # May: no deals, nobody joins or leaves: zero movement.
    assert got["2026-05"] == (145, 0, 0, 0, 0, 0, 145)
    assert [rows[m]["partners"] for m in rows] == [0, 2, 2, 2, 2, 2]
    assert rows["2026-03"]["arr"] == 12 * 175


def test_every_month_adds_up_and_starts_where_the_last_one_ended(make_db):
    con = make_db(BOOK)
    movement = recurring.mrr_movement(metrics.partner_months(con, d("2026-05-31")))
    for row in movement.iter_rows(named=True):
        assert row["mrr"] == pytest.approx(
            row["mrr_start"] + row["new_mrr"] - row["churned_mrr"] + row["joined_mrr"] - row["left_mrr"]
        )
        assert row["net_new_mrr"] == pytest.approx(row["mrr"] - row["mrr_start"])
    assert movement["mrr_start"].to_list()[1:] == movement["mrr"].to_list()[:-1]


def test_mrr_over_time_ends_at_the_overview_mrr_also_mid_month(make_db):
    con = make_db(BOOK)
    for as_of, expected in ((d("2026-05-31"), 145.0), (d("2026-04-05"), 175.0), (d("2026-04-10"), 145.0)):
        over_time = recurring.mrr_over_time(metrics.partner_months(con, as_of))
        last = over_time.row(-1, named=True)
        view = View(as_of=as_of)
        summary = metrics.summarize(metrics.segment(metrics.partner_facts(con, as_of, 90), view), view)
        # A3 is live on 04-05 and churned on 04-10: a deal churned on the as-of date no longer counts.
        assert (last["month_end"], last["mrr"], last["arr"]) == (as_of, expected, 12 * expected)
        assert summary["mrr"] == last["mrr"]
    movement = recurring.mrr_movement(metrics.partner_months(con, d("2026-05-31")))
    assert movement.select("month", "partners", "mrr", "arr").equals(
        recurring.mrr_over_time(metrics.partner_months(con, d("2026-05-31"))).select("month", "partners", "mrr", "arr")
    )


def test_an_empty_book_has_no_months(make_db):
    con = make_db({"partners": [partner("LATE", joined="2027-01-01")]})
    months = metrics.partner_months(con, d("2026-05-31"))
    assert recurring.mrr_movement(months).is_empty()
    assert recurring.mrr_over_time(months).columns == ["month", "month_end", "partners", "mrr", "arr"]


# --- net and gross revenue retention ---------------------------------------------------------------
# As of 2026-04-30 with a 30-day window: S = 2026-03-31.
AS_OF, WINDOW = d("2026-04-30"), 30


def retention(con) -> dict:
    return recurring.net_revenue_retention(recurring.retention_cohort(con, AS_OF, WINDOW))


def test_nrr_above_100_with_expansion_and_grr_without_it(make_db):
    con = make_db(
        {
            "partners": [partner("E")],
            "deals": [
                deal("E1", "E", "2026-01-01", "won", "2026-01-15", mrr=100),
                deal("E2", "E", "2026-04-01", "won", "2026-04-15", mrr=50),  # expansion inside the window
            ],
        }
    )
    got = retention(con)
    assert (got["partners"], got["start_mrr"], got["end_mrr"], got["retained_mrr"]) == (1, 100.0, 150.0, 100.0)
    assert (got["nrr"], got["grr"]) == (150.0, 100.0)


def test_full_churn_is_zero_retention(make_db):
    con = make_db(
        {
            "partners": [partner("C")],
            "deals": [deal("C1", "C", "2026-01-01", "won", "2026-01-15", mrr=100, churned_on="2026-04-10")],
        }
    )
    got = retention(con)
    assert (got["partners"], got["start_mrr"], got["end_mrr"], got["nrr"], got["grr"]) == (1, 100.0, 0.0, 0.0, 0.0)


def test_retention_is_n_a_when_nobody_had_mrr_at_the_window_start(make_db):
    con = make_db(
        {
            "partners": [partner("N")],
            # Won on S + 1: new in the window, not part of any starting book.
            "deals": [deal("N1", "N", "2026-03-01", "won", "2026-04-01", mrr=100)],
        }
    )
    got = retention(con)
    assert (got["partners"], got["start_mrr"], got["nrr"], got["grr"]) == (0, 0.0, None, None)


def test_retention_cohort_boundaries_and_partners_that_left(make_db):
    con = make_db(
        {
            "partners": [
                partner("E"),
                partner("G", left="2026-04-20"),  # leaves the program in the window: counts 0 at the end
                partner("D"),
                partner("H", joined="2026-03-31"),  # joined on S: in the cohort
                partner("P", joined="2026-04-01"),  # joined on S + 1: not in the cohort
                partner("B"),
                partner("X", left="2026-03-31"),  # left on S: not in the program at S
            ],
            "deals": [
                deal("E1", "E", "2026-01-01", "won", "2026-01-15", mrr=100),
                deal("E2", "E", "2026-04-01", "won", "2026-04-30", mrr=50),  # won on A: live at A
                deal("G1", "G", "2026-01-01", "won", "2026-01-15", mrr=60),
                deal("D1", "D", "2026-01-01", "won", "2026-01-15", mrr=40, churned_on="2026-04-30"),  # churned on A
                deal("H1", "H", "2026-01-01", "won", "2026-03-31", mrr=10),  # won on S: live at S
                deal("P1", "P", "2026-01-01", "won", "2026-01-15", mrr=70),
                deal("B1", "B", "2026-01-01", "won", "2026-01-15", mrr=80, churned_on="2026-03-31"),  # churned on S
                deal("X1", "X", "2026-01-01", "won", "2026-01-15", mrr=90),
            ],
        }
    )
    cohort = recurring.retention_cohort(con, AS_OF, WINDOW)
    assert cohort["partner_id"].to_list() == ["D", "E", "G", "H"]
    got = retention(con)
    # start 100 + 60 + 40 + 10 = 210; now E 150, G 0 (left), D 0 (churned on A), H 10 = 160;
    # from deals live at S: E 100 + H 10 = 110.
    assert (got["partners"], got["left"], got["start_mrr"], got["end_mrr"], got["retained_mrr"]) == (
        4,
        1,
        210.0,
        160.0,
        110.0,
    )
    assert got["nrr"] == pytest.approx(100 * 160 / 210)
    assert got["grr"] == pytest.approx(100 * 110 / 210)


# --- MRR by tier and by partner ----------------------------------------------------------------------


def tiered(rows: list[tuple[str, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "partner_id": [r[0] for r in rows],
            "partner_name": [f"Partner {r[0]}" for r in rows],
            "tier": [r[1] for r in rows],
            "mrr": [r[2] for r in rows],
        }
    )


def test_mrr_by_tier_adds_up_to_the_program_and_keeps_empty_tiers():
    segmented = tiered(
        [("P1", "reward", 300.0), ("P2", "reward", 100.0), ("P3", "nurture", 100.0), ("P4", "nurture", 0.0)]
    )
    rows = {r["tier"]: r for r in recurring.mrr_by_tier(segmented).iter_rows(named=True)}
    assert list(rows) == ["reward", "nurture", "drop"]
    assert (rows["reward"]["mrr"], rows["reward"]["arr"], rows["reward"]["mrr_pct"]) == (400.0, 4800.0, 80.0)
    assert (rows["nurture"]["partners"], rows["nurture"]["partners_with_mrr"], rows["nurture"]["mrr_pct"]) == (
        2,
        1,
        20.0,
    )
    assert (rows["drop"]["partners"], rows["drop"]["mrr"], rows["drop"]["mrr_pct"]) == (0, 0.0, 0.0)


def test_mrr_by_tier_share_is_n_a_without_mrr():
    rows = recurring.mrr_by_tier(tiered([("P1", "drop", 0.0)]))
    assert rows["mrr_pct"].to_list() == [None, None, None]


def test_top_partners_by_mrr_ties_by_id_and_counts_everyone_with_mrr():
    segmented = tiered(
        [("P5", "nurture", 50.0), ("P2", "reward", 200.0), ("P9", "drop", 50.0), ("P1", "nurture", 0.0)]
        + [("P3", "reward", 100.0)]
    )
    top, with_mrr = recurring.top_partners_by_mrr(segmented, n=3)
    assert with_mrr == 4  # P1 has none
    assert top["partner_id"].to_list() == ["P2", "P3", "P5"]  # P5 before P9: same MRR, lower id
    assert top["tier"].to_list() == ["reward", "reward", "nurture"]
    assert top["share_pct"].to_list() == [50.0, 25.0, 12.5]  # of 400
    assert top["arr"].to_list() == [2400.0, 1200.0, 600.0]
    # Fewer partners with MRR than asked for: only those are listed.
    top, with_mrr = recurring.top_partners_by_mrr(segmented, n=10)
    assert (top.height, with_mrr) == (4, 4)


# --- concentration -----------------------------------------------------------------------------------


def revenues(values: list[float], ids: list[str] | None = None) -> pl.DataFrame:
    ids = ids or [f"P{i + 1:02d}" for i in range(len(values))]
    return pl.DataFrame(
        {"partner_id": ids, "partner_name": [f"Partner {i}" for i in ids], "revenue": values, "mrr": values},
        schema={"partner_id": pl.String, "partner_name": pl.String, "revenue": pl.Float64, "mrr": pl.Float64},
    )


def test_concentration_of_seven_partners_rounds_the_top_shares_up():
    # ceil(0.7) = 1 partner for the top 10%, ceil(1.4) = 2 for the top 20%; shuffled on purpose.
    got = recurring.concentration(revenues([5, 70, 1, 8, 10, 2, 4]))
    assert (got["partners"], got["total"], got["top10_partners"], got["top20_partners"]) == (7, 100.0, 1, 2)
    assert (got["top10_share"], got["top20_share"]) == (70.0, 80.0)
    # 70 then 80: exactly 80% is reached with two partners.
    assert (got["partners_for_80"], got["partners_for_80_pct"]) == (2, pytest.approx(100 * 2 / 7))


def test_concentration_of_one_partner_is_all_of_it():
    got = recurring.concentration(revenues([250.0]))
    assert (got["top10_partners"], got["top10_share"], got["top20_share"]) == (1, 100.0, 100.0)
    assert (got["partners_for_80"], got["partners_for_80_pct"]) == (1, 100.0)


def test_concentration_ties_rank_by_partner_id():
    ids = [f"P{i:02d}" for i in range(10, 0, -1)]  # listed P10 .. P01
    values = [0.0] * 10
    values[ids.index("P07")] = 10.0
    values[ids.index("P03")] = 10.0
    facts = revenues(values, ids)
    ranked = recurring.ranked(facts)
    assert ranked["partner_id"].to_list()[:4] == ["P03", "P07", "P01", "P02"]
    got = recurring.concentration(facts)
    # N = 10: the top 10% is one partner (P03, half the revenue), the top 20% two.
    assert (got["top10_partners"], got["top10_share"]) == (1, 50.0)
    assert (got["top20_share"], got["partners_for_80"]) == (100.0, 2)


def test_concentration_is_n_a_without_revenue_or_partners():
    for facts in (revenues([0.0, 0.0, 0.0]), revenues([])):
        got = recurring.concentration(facts)
        assert (got["top10_share"], got["top20_share"], got["partners_for_80"], got["partners_for_80_pct"]) == (
            None,
            None,
            None,
            None,
        )
        assert recurring.pareto_curve(facts).is_empty()
    assert recurring.concentration(revenues([]))["top10_partners"] == 0


def test_concentration_of_mrr_ranks_by_mrr():
    facts = revenues([1.0, 2.0, 3.0, 4.0, 90.0]).with_columns(mrr=pl.Series([60.0, 10.0, 10.0, 10.0, 10.0]))
    got = recurring.concentration(facts, "mrr")
    assert (got["top10_share"], got["partners_for_80"]) == (60.0, 3)  # 60, 70, 80


def test_pareto_curve_one_point_per_partner_when_few():
    curve = recurring.pareto_curve(revenues([5, 70, 1, 8, 10, 2, 4]))
    assert curve["partners"].to_list() == [0, 1, 2, 3, 4, 5, 6, 7]
    assert curve["share_pct"].to_list() == [0.0, 70.0, 80.0, 88.0, 93.0, 97.0, 99.0, 100.0]
    assert curve["partners_pct"][1] == pytest.approx(100 / 7)


def test_pareto_curve_is_thinned_to_at_most_200_points_ending_at_everyone():
    facts = revenues([float(i % 13) for i in range(450)])
    curve = recurring.pareto_curve(facts, max_points=200)
    assert curve.height <= 201
    assert curve.row(0) == (0, 0.0, 0.0)
    assert curve.row(-1) == (450, 100.0, pytest.approx(100.0))
    # Points at ceil(i x 450 / 200): 3, 5, 7, 9, 12, ...
    assert curve["partners"].to_list()[1:6] == [3, 5, 7, 9, 12]
    assert curve["share_pct"].is_sorted()


def test_top_count_is_a_whole_number_ceiling():
    assert [recurring.top_count(n, 10) for n in (0, 1, 7, 10, 11, 70)] == [0, 1, 1, 1, 2, 7]
    assert [recurring.top_count(n, 20) for n in (0, 1, 7, 10, 11, 70)] == [0, 1, 2, 2, 3, 14]


# --- the page's book ---------------------------------------------------------------------------


def test_the_book_at_the_end_of_may(make_db):
    con = make_db(BOOK)
    as_of = d("2026-05-31")
    facts = metrics.partner_facts(con, as_of, 90)
    book = recurring.book(con, as_of, 90, facts)
    assert book.movement.equals(recurring.mrr_movement(metrics.partner_months(con, as_of)))
    # May: A 100 (A1) + J 45 (J1 + J2), nothing moved.
    this_month = book.this_month
    assert (this_month["month"], this_month["mrr"], this_month["net_new_mrr"]) == (d("2026-05-01"), 145.0, 0.0)
    # S = 2026-03-02: A (100) and L (200) had MRR; L left (0 now); A keeps A1.
    assert recurring.window_start(as_of, 90) == d("2026-03-02")
    assert book.retention == {
        "partners": 2,
        "left": 1,
        "start_mrr": 300.0,
        "end_mrr": 100.0,
        "retained_mrr": 100.0,
        "nrr": pytest.approx(100 / 3),
        "grr": pytest.approx(100 / 3),
    }
    # Revenue in the window: A 360 (A3: 12 x 30), J 60 (J2); MRR at A: A 100, J 45.
    assert book.revenue_concentration["top10_share"] == pytest.approx(100 * 360 / 420)
    assert (book.revenue_concentration["partners_for_80"], book.mrr_concentration["partners_for_80"]) == (1, 2)
    assert book.pareto.equals(recurring.pareto_curve(facts, "revenue"))


def test_the_book_takes_a_movement_already_made(make_db):
    con = make_db(BOOK)
    as_of = d("2026-05-31")
    movement = recurring.mrr_movement(metrics.partner_months(con, as_of))
    book = recurring.book(con, as_of, 90, metrics.partner_facts(con, as_of, 90), movement=movement)
    assert book.movement is movement


def test_a_book_without_months_has_no_month_and_no_curve(make_db):
    con = make_db({"partners": [partner("Q", joined="2027-01-01")], "deals": []})
    as_of = d("2026-03-31")
    book = recurring.book(con, as_of, 30, metrics.partner_facts(con, as_of, 30))
    assert book.this_month is None
    assert book.pareto.is_empty() and book.retention["nrr"] is None


def test_on_the_demo_partners_join_with_no_mrr_so_the_movement_chart_leaves_that_series_out(demo_db):
    """The demo's partners win their first deal after joining: the MRR they bring in is truly 0
    every month, while partners leaving take MRR with them. The chart draws only what moved."""
    from kpi.store import connect
    from tests.conftest import default_view
    from ui import charts_recurring

    with connect(demo_db) as con:
        earlier = con.sql(
            "select count(*) from deals join partners using (partner_id) where closed_on < joined_on"
        ).fetchall()
        movement = recurring.mrr_movement(metrics.partner_months(con, default_view(demo_db).as_of))
    assert earlier == [(0,)]
    assert movement["joined_mrr"].sum() == 0
    assert movement["left_mrr"].sum() > 0
    shown = charts_recurring.movement_frame(movement)["component"].unique(maintain_order=True).to_list()
    assert shown == ["New deals", "Churned deals", "Partners left"]
