"""The weekly review (kpi.review) on a week where each kind of change happens once, and on an
empty week. Every expected number is worked out by hand in the comments."""

from __future__ import annotations

from pathlib import Path

import pytest

from kpi import metrics, review
from kpi.params import View
from kpi.store import connect
from tests.conftest import activity, d, deal, load_tables, partner

A, S, W = "2026-03-31", "2026-03-24", 30  # as-of, since, window: now (03-01, 03-31], then (02-22, 03-24]


def week_tables() -> dict[str, list[dict]]:
    work = ("training_completed", "content_shared")
    return {
        "partners": [
            partner("PJ", joined="2026-03-28"),  # joins: out then, in its grace period now (nurture)
            partner("PL", left="2026-03-27"),  # leaves: did nothing, drop then, out now
            partner("PU"),  # up: activated both weeks, wins 52,000 on 03-28: nurture -> reward
            partner("PD"),  # down: worked and won 70,000 before 03-01 only: reward -> nurture
            partner("PA"),  # loses activation: worked on 02-25, three views on 03-20: nurture both
            partner("PG", joined="2026-01-05"),  # grace ends 04-05 (within two weeks), not activated
        ],
        "activities": [
            *(activity("PU", "2026-03-10", kind) for kind in work),
            *(activity("PD", "2026-02-25", kind) for kind in work),
            *(activity("PA", "2026-02-25", kind) for kind in work),
            *(activity("PA", "2026-03-20", "content_viewed") for _ in range(3)),
            activity("PJ", "2026-03-30", "login"),
            activity("PG", "2026-03-31", "login"),  # the latest date: the default as-of date
        ],
        "deals": [
            deal("DU", "PU", "2026-03-10", "won", "2026-03-28", amount=52_000),
            deal("DD", "PD", "2026-02-25", "won", "2026-03-02", amount=70_000),
            deal("DA", "PA", "2026-02-25"),
        ],
    }


@pytest.fixture(scope="module")
def week_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return load_tables(tmp_path_factory.mktemp("review") / "week.duckdb", week_tables())


def make_review(db: Path, view: View, since: str) -> review.Review:
    con = connect(db)
    try:
        then = metrics.partner_facts(con, d(since), view.window_days)
        now = metrics.partner_facts(con, view.as_of, view.window_days)
    finally:
        con.close()
    return review.review(then, now, view, d(since))


def test_each_kind_of_change_shows_once(week_db):
    result = make_review(week_db, View(as_of=d(A), window_days=W), S)
    numbers = {row["key"]: (row["then"], row["now"], row["change"]) for row in result.headline.iter_rows(named=True)}
    # Then: PL, PU, PD, PA, PG in the program; PU, PD, PA activated (3 of 5). Now: PJ, PU, PD, PA,
    # PG; only PU activated (1 of 5).
    assert numbers["partners"] == (5.0, 5.0, 0.0)
    assert numbers["activated"] == (3.0, 1.0, -2.0)
    assert numbers["activation_pct"] == (60.0, 20.0, -40.0)
    assert numbers["reward"] == (1.0, 1.0, 0.0)  # PD then, PU now
    assert numbers["nurture"] == (3.0, 4.0, 1.0)
    assert numbers["drop"] == (1.0, 0.0, -1.0)
    assert numbers["revenue"] == (70_000.0, 122_000.0, 52_000.0)
    assert numbers["mrr"] == (0.0, 0.0, 0.0)
    assert numbers["roi"] == (None, None, None)  # nothing spent either week

    movers = result.movers()
    assert [(r["partner_id"], r["from_tier"], r["to_tier"]) for r in movers.iter_rows(named=True)] == [
        ("PD", "reward", "nurture"),  # 70,000
        ("PU", "nurture", "reward"),  # 52,000
        ("PJ", "out", "nurture"),
        ("PL", "drop", "out"),
    ]
    reasons = dict(zip(movers["partner_id"], movers["reason"], strict=True))
    assert reasons["PU"] == "activated (3 criteria met) and revenue 52,000 >= reward threshold 50,000"
    assert reasons["PL"] == "not in the program on 2026-03-31"
    assert result.comparison.matrix["out"]["nurture"] == 1 and result.comparison.matrix["drop"]["out"] == 1

    biggest = [
        (r["measure"], r["direction"], r["partner_id"], r["change"]) for r in result.biggest.iter_rows(named=True)
    ]
    assert biggest == [
        ("revenue in the window", "up", "PU", 52_000.0),
        ("actions in the window", "down", "PA", -3.0),  # 6 then (3 + 3 views), 3 views now
        ("actions in the window", "down", "PD", -3.0),  # tie: by partner_id
    ]

    watch = [(r["partner_id"], r["watch"]) for r in result.watch.iter_rows(named=True)]
    assert watch == [
        ("PD", "lost activation"),  # revenue 70,000 first
        ("PU", "reward, close to the reward threshold"),  # 52,000 < 55,000
        ("PA", "lost activation"),
        ("PG", "grace period ends soon, not activated"),
    ]
    details = dict(zip(result.watch["watch"], result.watch["detail"], strict=False))
    assert details["grace period ends soon, not activated"] == "grace period ends 2026-04-05"
    assert details["reward, close to the reward threshold"] == "revenue 52,000 against a threshold of 50,000"

    assert result.summary == [
        "Activation fell 40.0 points to 20.0%.",
        "1 partner moved to reward, 1 to nurture.",  # PU and PD; PJ joined, PL left
        "1 joined the program and 1 left it.",
        "MRR held at $0.",
    ]


def test_an_empty_week_says_nothing_moved(week_db):
    # Between 03-29 and 03-31 nobody joins, leaves or changes tier, and no deal closes.
    result = make_review(week_db, View(as_of=d(A), window_days=W), "2026-03-29")
    assert result.comparison.moved == 0
    assert result.summary == [
        "Activation held at 20.0%.",
        "No partner changed tier, joined or left.",
        "MRR held at $0.",
    ]
    assert result.movers().height == 0


def test_the_since_date_defaults_to_a_week_before_the_as_of_date():
    assert review.since_default(View(as_of=d(A))) == d("2026-03-24")


def test_the_export_command_writes_the_review_workbook(week_db, tmp_path):
    import polars as pl

    from tests.conftest import run_cli

    out = tmp_path / "review.xlsx"
    code, printed, err = run_cli("export", "--db", week_db, "--as-of", A, "--window-days", str(W), "--out", out)
    assert code == 0, err
    assert printed == f"wrote the review of {A} since {S} (4 partners moved) to {out}\n"
    summary = pl.read_excel(out, sheet_name="summary")
    assert summary.filter(number="Activated partners").row(0) == ("Activated partners", 3, 1, -2, "partners")
    code, segment_csv, _ = run_cli("segment", "--db", week_db, "--as-of", A, "--window-days", str(W))
    assert code == 0
    partners = pl.read_excel(out, sheet_name="partners")
    assert partners["partner_id"].to_list() == ["PA", "PD", "PG", "PJ", "PU"]
    assert partners.columns == segment_csv.splitlines()[0].split(",")
    movers = pl.read_excel(out, sheet_name="movers")
    assert movers.columns[:5] == ["partner_id", "partner_name", "from_tier", "to_tier", "reason"]
    assert movers["partner_id"].to_list() == ["PD", "PJ", "PL", "PU"]


def test_a_bad_export_flag_is_one_error_line(week_db, tmp_path):
    from tests.conftest import run_cli

    code, _, err = run_cli("export", "--db", week_db, "--since", "last week", "--out", tmp_path / "r.xlsx")
    assert (code, err) == (2, "error: --since 'last week': not a date; write it as YYYY-MM-DD\n")
    code, _, err = run_cli("export", "--db", week_db, "--out", tmp_path / "r.pdf")
    assert code == 2 and "name the file FILE.xlsx" in err
    assert not (tmp_path / "r.xlsx").exists()
