"""Suggested thresholds (kpi.correlation and `python -m kpi suggest`): the two sides of each
candidate, the sample-size rule, the rule for a large difference, and the wording.

The facts are built here as `metrics.partner_facts` returns them, groups of identical partners,
so every number below is worked out by hand from the group sizes.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
import pytest

from kpi import correlation, metrics
from kpi.correlation import evidence, suggest, suggestions
from kpi.store import connect
from tests.conftest import activity, d, deal, default_view, load_tables, partner, run_cli

FACT_COLUMNS = {
    "partner_id": pl.String,
    "partner_name": pl.String,
    "region": pl.String,
    "partner_type": pl.String,
    "channel_manager": pl.String,
    "joined_on": pl.Date,
    "trainings": pl.Int64,
    "content_shares": pl.Int64,
    "content_views": pl.Int64,
    "logins": pl.Int64,
    "active_users": pl.Int64,
    "deals_registered": pl.Int64,
    "deals_won": pl.Int64,
    "deals_lost": pl.Int64,
    "revenue": pl.Float64,
    "cost": pl.Float64,
    "mrr": pl.Float64,
}


def group(count: int, **values: object) -> list[dict[str, object]]:
    """`count` partners with these facts (every other count and money 0)."""
    return [dict(values) for _ in range(count)]


def facts(*groups: list[dict[str, object]]) -> pl.DataFrame:
    rows = [row for g in groups for row in g]
    base = {c: (0.0 if t == pl.Float64 else 0) for c, t in FACT_COLUMNS.items() if t in (pl.Int64, pl.Float64)}
    filled = [
        {"partner_id": f"P{i:04}", "partner_name": f"Partner {i}", "joined_on": d("2025-01-01"), **base, **row}
        for i, row in enumerate(rows)
    ]
    return pl.DataFrame(filled, schema=FACT_COLUMNS)


def rows_of(frame: pl.DataFrame, *columns: str) -> list[tuple]:
    return frame.select(columns).rows()


# --- the sample-size rule --------------------------------------------------------------------------


def test_each_side_needs_30_partners_29_is_not_enough():
    trained = group(30, trainings=2, revenue=10_000.0)
    untrained = group(30, revenue=1_000.0)
    # Candidates: 1 up to the value 1 in 20 partners reach (the 3rd largest of 60: 2).
    assert rows_of(evidence(facts(trained, untrained), "trainings"), "threshold", "above_partners", "enough") == [
        (1, 30, True),
        (2, 30, True),
    ]
    assert suggest(facts(trained, untrained), "trainings").threshold == 1
    for short in (facts(trained[:29], untrained), facts(trained, untrained[:29])):
        assert evidence(short, "trainings")["enough"].to_list() == [False, False]
        assert suggest(short, "trainings").status == "not enough data"
    fewer = suggest(facts(trained, untrained[:29]), "trainings")
    assert fewer == correlation.Suggestion(
        "trainings",
        "min_trainings",
        None,
        "not enough data",
        "Not enough data: none of the values tried (1, 2) leaves at least 30 partners both at or above it and "
        "below it. The most even split, at 1 training, has 30 partners at or above and 29 below.",
    )


# --- the suggested threshold -----------------------------------------------------------------------

# 40 partners each with 0, 1, 2 and 3 trainings, bringing 3,000, 1,000, 5,000 and 6,000 each.
# At 1: 12,000 / 3 = 4,000 per partner against 3,000 below: 1.3x, not large.
# At 2: 5,500 against (3,000 + 1,000) / 2 = 2,000: 2.75x, large. At 3: 6,000 against 3,000: exactly 2x, large.
STEPS = facts(
    group(40, revenue=3_000.0),
    group(40, trainings=1, revenue=1_000.0),
    group(40, trainings=2, revenue=5_000.0),
    group(40, trainings=3, revenue=6_000.0),
)


def test_the_suggestion_is_the_smallest_value_with_a_large_difference():
    rows = evidence(STEPS, "trainings").with_columns(large=correlation.large_difference())
    assert rows_of(rows, "threshold", "above_partners", "below_partners") == [(1, 120, 40), (2, 80, 80), (3, 40, 120)]
    assert rows_of(rows, "above_revenue_per_partner", "below_revenue_per_partner", "revenue_ratio", "large") == [
        (4_000.0, 3_000.0, pytest.approx(4 / 3), False),
        (5_500.0, 2_000.0, 2.75, True),
        (6_000.0, 3_000.0, 2.0, True),
    ]
    assert suggest(STEPS, "trainings") == correlation.Suggestion(
        "trainings",
        "min_trainings",
        2,
        "suggested",
        "Partners with 2 or more trainings (80) brought 5,500 per partner and closed no deal; the 80 below "
        "brought 2,000 per partner and closed no deal. This is the smallest value with at least 30 partners on "
        "each side where the difference is large: 2.8 times the revenue per partner. A suggestion from the data: "
        "it shows the two go together, not that training causes revenue.",
    )


def test_a_win_rate_10_points_higher_is_large_only_on_30_closed_deals_each_side():
    # Same revenue on both sides; at or above: 30 won of 30 closed (100%); below: 30 of 60 (50%).
    sharers = group(30, content_shares=1, deals_won=1, revenue=1_000.0)
    others = group(30, deals_won=1, deals_lost=1, revenue=1_000.0)
    [row] = evidence(facts(sharers, others), "content_shares").rows(named=True)
    assert (row["above_closed"], row["above_win_rate"], row["below_closed"], row["below_win_rate"]) == (30, 100, 60, 50)
    assert (row["revenue_ratio"], row["win_rate_gap"]) == (1.0, 50.0)
    found = suggest(facts(sharers, others), "content_shares")
    assert (found.threshold, found.status) == (1, "suggested")
    assert found.reasoning.startswith(
        "Partners with 1 or more content shares (30) brought 1,000 per partner and won 100.0% of 30 closed deals; "
        "the 30 below brought 1,000 per partner and won 50.0% of 60 closed deals. "
    )
    assert "large: a win rate 50.0 points higher. " in found.reasoning
    assert found.reasoning.endswith("not that sharing content causes revenue.")
    # One sharer closed nothing: 29 closed deals at or above, so the 50-point gap does not count.
    fewer_deals = facts(sharers[:29], group(1, content_shares=1, revenue=1_000.0), others)
    assert suggest(fewer_deals, "content_shares") == correlation.Suggestion(
        "content_shares",
        "min_shares",
        None,
        "no clear step",
        "None of the values tried (1) with at least 30 partners on each side shows a large difference (revenue "
        "per partner at least 2 times that below, or a win rate at least 10 points higher with at least 30 closed "
        "deals on each side). The largest revenue step is at 1 content share: revenue per partner 1.0 times that "
        "below, a win rate +50.0 points against those below. The data does not point to a threshold for content "
        "shares.",
    )


def test_revenue_where_the_partners_below_brought_none_is_large():
    registered = group(30, deals_registered=1, revenue=500.0)
    [row] = evidence(facts(registered, group(30)), "deals_registered").rows(named=True)
    assert (row["above_revenue_per_partner"], row["below_revenue_per_partner"], row["revenue_ratio"]) == (500, 0, None)
    found = suggest(facts(registered, group(30)), "deals_registered")
    assert (found.threshold, found.status) == (1, "suggested")
    assert "large: revenue where the partners below brought none. " in found.reasoning
    # Nobody brought anything: no step at all.
    assert suggest(facts(group(30, deals_registered=1), group(30)), "deals_registered").status == "no clear step"


# --- empty sides and missing win rates -------------------------------------------------------------


def test_an_empty_side_has_no_revenue_per_partner_and_no_ratio():
    program = facts(group(3, trainings=1, revenue=900.0, deals_won=1), group(1, revenue=100.0))
    rows = evidence(program, "trainings", [1, 5])
    assert rows_of(rows, "threshold", "above_partners", "below_partners") == [(1, 3, 1), (5, 0, 4)]
    assert rows_of(rows, "above_revenue_per_partner", "below_revenue_per_partner", "revenue_ratio") == [
        (900.0, 100.0, 9.0),
        (None, 700.0, None),  # nobody has 5 trainings: (3 x 900 + 100) / 4 below
    ]
    everyone = evidence(facts(group(2, trainings=3, revenue=50.0)), "trainings", [1])
    assert rows_of(everyone, "below_partners", "below_revenue_per_partner", "revenue_ratio") == [(0, None, None)]


def test_a_side_that_closed_no_deal_has_no_win_rate_and_no_gap():
    program = facts(group(2, trainings=1, deals_won=1, deals_lost=3), group(2))
    [row] = evidence(program, "trainings", [1]).rows(named=True)
    assert (row["above_closed"], row["above_win_rate"]) == (8, 25.0)
    assert (row["below_closed"], row["below_win_rate"], row["win_rate_gap"]) == (0, None, None)


def test_default_candidates_stop_where_fewer_than_1_in_20_partners_reach():
    # 40 partners: two with 7 trainings (the 2nd largest: 1 in 20 of 40 is 2 partners), the rest none.
    assert correlation.default_candidates(facts(group(2, trainings=7), group(38)), "trainings") == list(range(1, 8))
    assert correlation.default_candidates(facts(group(3, trainings=50), group(10)), "trainings") == list(range(1, 21))
    assert correlation.default_candidates(facts(group(10)), "trainings") == [1]
    empty = suggest(facts(), "trainings")
    assert (empty.status, empty.reasoning) == (
        "not enough data",
        "Not enough data: none of the values tried (1) leaves at least 30 partners both at or above it and below "
        "it. The program has no partners on this date.",
    )


def test_a_bad_behaviour_or_candidate_is_refused():
    with pytest.raises(ValueError, match="'logins' is not a behaviour"):
        evidence(STEPS, "logins", [1])
    with pytest.raises(ValueError, match="at least 1"):
        evidence(STEPS, "trainings", [0, 1])


# --- on the demo program: the one pass against the sides counted one candidate at a time ---------


def test_evidence_equals_the_sides_counted_one_candidate_at_a_time(demo_db: Path):
    con = connect(demo_db)
    try:
        program = metrics.partner_facts(con, default_view(demo_db).as_of, 90)
    finally:
        con.close()
    found = suggestions(program)
    assert [(s.behaviour, s.parameter) for s in found] == list(correlation.BEHAVIOURS.items())
    for behaviour in correlation.BEHAVIOURS:
        rows = evidence(program, behaviour)
        assert rows["threshold"].to_list() == correlation.default_candidates(program, behaviour)
        for row in rows.iter_rows(named=True):
            above = program.filter(pl.col(behaviour) >= row["threshold"])
            below = program.filter(pl.col(behaviour) < row["threshold"])
            closed = int(above["deals_won"].sum() + above["deals_lost"].sum())
            assert (row["above_partners"], row["below_partners"], row["above_closed"]) == (
                above.height,
                below.height,
                closed,
            )
            assert row["above_revenue_per_partner"] == pytest.approx(above["revenue"].sum() / above.height)
            assert row["below_win_rate"] == pytest.approx(
                100 * below["deals_won"].sum() / (below["deals_won"].sum() + below["deals_lost"].sum())
            )


# --- python -m kpi suggest --------------------------------------------------------------------------

# 60 partners as of 2026-03-31, 30-day window. T01..T30 each completed a training, registered a
# deal and won it for 10,000; N01..N30 each registered a deal and won it for 1,000. Nobody shared.
A, W = "2026-03-31", "30"


@pytest.fixture(scope="module")
def suggest_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    trained = [f"T{i:02}" for i in range(1, 31)]
    others = [f"N{i:02}" for i in range(1, 31)]
    return load_tables(
        tmp_path_factory.mktemp("suggest") / "program.duckdb",
        {
            "partners": [partner(pid) for pid in trained + others],
            "activities": [activity(pid, "2026-03-10", "training_completed") for pid in trained],
            "deals": [
                deal(f"D-{pid}", pid, "2026-03-05", "won", "2026-03-20", amount=10_000 if pid[0] == "T" else 1_000)
                for pid in trained + others
            ],
        },
    )


def test_suggest_csv_lists_every_candidate_of_the_three_behaviours(suggest_db: Path):
    code, out, err = run_cli("suggest", "--db", suggest_db, "--as-of", A, "--window-days", W)
    assert code == 0, err
    table = pl.read_csv(io.StringIO(out))
    assert table.columns == ["behaviour", *correlation.EVIDENCE_COLUMNS]
    assert rows_of(table, "behaviour", "threshold", "above_partners", "below_partners", "revenue_ratio", "enough") == [
        ("trainings", 1, 30, 30, 10.0, True),
        ("content_shares", 1, 0, 60, None, False),
        ("deals_registered", 1, 60, 0, None, False),
    ]


def test_suggest_json_gives_each_suggestion_with_its_evidence(suggest_db: Path):
    code, out, err = run_cli("suggest", "--db", suggest_db, "--as-of", A, "--window-days", W, "--format", "json")
    assert code == 0, err
    listed = json.loads(out)
    assert [(s["behaviour"], s["parameter"], s["threshold"], s["status"]) for s in listed] == [
        ("trainings", "min_trainings", 1, "suggested"),
        ("content_shares", "min_shares", None, "not enough data"),
        ("deals_registered", "min_deals", None, "not enough data"),
    ]
    assert listed[0]["reasoning"].startswith(
        "Partners with 1 or more trainings (30) brought 10,000 per partner and won 100.0% of 30 closed deals; "
        "the 30 below brought 1,000 per partner and won 100.0% of 30 closed deals."
    )
    assert listed[0]["evidence"] == [
        {
            "threshold": 1,
            "above_partners": 30,
            "below_partners": 30,
            "above_revenue_per_partner": 10_000.0,
            "below_revenue_per_partner": 1_000.0,
            "revenue_ratio": 10.0,
            "above_closed": 30,
            "below_closed": 30,
            "above_win_rate": 100.0,
            "below_win_rate": 100.0,
            "win_rate_gap": 0.0,
            "enough": True,
        }
    ]
    # A window before any deal: nobody trained or won, so no step anywhere.
    code, out, _ = run_cli("suggest", "--db", suggest_db, "--as-of", "2026-03-01", "--format", "json")
    assert [s["status"] for s in json.loads(out)] == ["not enough data"] * 3


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--format", "xml"], "error: argument --format: invalid choice: 'xml' (choose from 'csv', 'json')\n"),
        (["--window-days", "0"], "error: --window-days '0': must be between 1 and 730\n"),
        (["--as-of", "31/03/2026"], "error: --as-of '31/03/2026': not a date; write it as YYYY-MM-DD\n"),
    ],
)
def test_a_bad_suggest_flag_is_one_error_line(suggest_db: Path, argv: list[str], message: str):
    assert run_cli("suggest", "--db", suggest_db, *argv) == (2, "", message)
