"""Comparing two views and varying one threshold (kpi.compare, `python -m kpi compare` and
`python -m kpi sensitivity`), on a program where each rule flips exactly one partner."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from kpi import metrics
from kpi.compare import default_values, revenue_grid, sensitivity_all
from kpi.compare import sensitivity as sensitivity_of
from kpi.params import THRESHOLDS, View
from kpi.store import connect
from tests.conftest import activity, d, deal, default_view, load_tables, partner, run_cli

# As of 2026-03-31, 30-day window (2026-03-02 .. 2026-03-31); every event on 2026-03-10, so it
# is also inside the window ending 2026-03-15. Default thresholds otherwise.
# - P1: 1 training, 1 share, 1 deal won for 60,000: reward. Needs 2 trainings -> nurture.
# - P2: 2 trainings, 1 share, 1 deal won for 40,000: activated, nurture. Reward from 40,000 -> reward.
# - P3: nothing since joining 2025-01-01: drop. 500 days' grace (to 2026-05-16) -> nurture.
# - P4: 3 content views only (3 actions > 2): nurture. Drop at 3 actions -> drop.
# - P5: joined 2026-03-20: in its grace period, nurture; not yet in the program on 2026-03-15.
# - P6: nothing, left 2026-03-25: a drop on 2026-03-15, out of the program on 2026-03-31.
A, W = "2026-03-31", "30"
DEFAULTS = {"--min-trainings": "1", "--reward-min-revenue": "50000", "--grace-days": "90", "--drop-max-actions": "2"}


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    events = [
        activity("P1", "2026-03-10", "training_completed"),
        activity("P1", "2026-03-10", "content_shared"),
        activity("P2", "2026-03-10", "training_completed"),
        activity("P2", "2026-03-10", "training_completed"),
        activity("P2", "2026-03-10", "content_shared"),
        *[activity("P4", "2026-03-10", "content_viewed") for _ in range(3)],
    ]
    return load_tables(
        tmp_path_factory.mktemp("compare") / "program.duckdb",
        {
            "partners": [
                partner("P1"),
                partner("P2"),
                partner("P3"),
                partner("P4"),
                partner("P5", joined="2026-03-20"),
                partner("P6", left="2026-03-25"),
            ],
            "activities": events,
            "deals": [
                deal("D1", "P1", "2026-03-10", "won", "2026-03-10", amount=60_000),
                deal("D2", "P2", "2026-03-10", "won", "2026-03-10", amount=40_000),
            ],
        },
    )


def compare(db: Path, base: str, *flags: str, fmt: str = "json"):
    code, out, err = run_cli(
        "compare", "--db", db, "--as-of", A, "--window-days", W, *flags, "--base", base, "--format", fmt
    )
    assert code == 0, err
    return json.loads(out) if fmt == "json" else pl.read_csv(io.StringIO(out))


def summary(db: Path, *flags: str) -> dict:
    code, out, err = run_cli("summary", "--db", db, "--as-of", A, "--window-days", W, *flags)
    assert code == 0, err
    return json.loads(out)


def moves(result: dict) -> dict[tuple[str, str], int]:
    return {(f, t): n for f, row in result["matrix"].items() for t, n in row.items() if n}


@pytest.mark.parametrize(
    ("flag", "value", "partner_id", "from_tier", "to_tier", "reason"),
    [
        (
            "--min-trainings",
            "2",
            "P1",
            "reward",
            "nurture",
            "not activated: meets 2 of the 3 criteria needed; needs 2 trainings, has 1; "
            "kept from drop by revenue 60,000",
        ),
        (
            "--reward-min-revenue",
            "40000",
            "P2",
            "nurture",
            "reward",
            "activated (3 criteria met) and revenue 40,000 >= reward threshold 40,000",
        ),
        (
            "--grace-days",
            "500",
            "P3",
            "drop",
            "nurture",
            "not activated: meets 0 of the 3 criteria needed; needs 1 training, has 0; needs 1 content share, "
            "has 0; needs 1 deal registration, has 0; kept from drop by in the grace period until 2026-05-16",
        ),
        (
            "--drop-max-actions",
            "3",
            "P4",
            "nurture",
            "drop",
            "not activated (meets 0 of the 3 criteria needed; needs 1 training, has 0; needs 1 content share, "
            "has 0; needs 1 deal registration, has 0), no revenue, 3 actions <= drop limit 3, "
            "past the 90-day grace period",
        ),
    ],
)
def test_each_rule_moves_exactly_one_partner_and_says_why(program, flag, value, partner_id, from_tier, to_tier, reason):
    # The base names the threshold at its default; what it does not name is the current view's.
    base = flag.removeprefix("--").replace("-", "_") + "=" + DEFAULTS[flag]
    result = compare(program, base, flag, value)
    assert result["moved"] == 1
    assert moves(result)[(from_tier, to_tier)] == 1
    assert sum(moves(result).values()) == 5  # the five partners in the program on 2026-03-31
    movers = compare(program, base, flag, value, fmt="csv")
    assert movers.columns[:5] == ["partner_id", "partner_name", "from_tier", "to_tier", "reason"]
    assert movers.select("partner_id", "from_tier", "to_tier", "reason").rows() == [
        (partner_id, from_tier, to_tier, reason)
    ]
    assert result["base"] == summary(program)
    assert result["current"] == summary(program, flag, value)


def test_a_base_naming_a_threshold_keeps_the_views_other_values(program):
    result = compare(program, "min_trainings=2", "--reward-min-revenue", "40000")
    # Base: trainings 2, reward 40,000 -> P2 reward, P1 nurture. Current: trainings 1 -> P1 reward too.
    assert result["base"]["tiers"] == {"reward": 1, "nurture": 3, "drop": 1}
    assert result["current"]["tiers"] == {"reward": 2, "nurture": 2, "drop": 1}
    assert moves(result) == {
        ("reward", "reward"): 1,
        ("nurture", "reward"): 1,
        ("nurture", "nurture"): 2,
        ("drop", "drop"): 1,
    }


def test_a_week_earlier_partners_enter_and_leave_the_program(program):
    result = compare(program, "as_of=2026-03-15")
    assert result["base"]["as_of"] == "2026-03-15" and result["current"]["as_of"] == A
    assert result["moved"] == 2
    assert result["matrix"]["out"] == {"reward": 0, "nurture": 1, "drop": 0, "out": 0}  # P5 joined
    assert result["matrix"]["drop"] == {"reward": 0, "nurture": 0, "drop": 1, "out": 1}  # P6 left, P3 stays
    assert set(result["matrix"]) == {"reward", "nurture", "drop", "out"}
    movers = compare(program, "as_of=2026-03-15", fmt="csv")
    assert movers.select("partner_id", "from_tier", "to_tier").rows() == [
        ("P5", "out", "nurture"),
        ("P6", "drop", "out"),
    ]
    assert movers["reason"][1] == "not in the program on 2026-03-31"


def test_equal_views_move_nobody(program):
    result = compare(program, "window_days=30")
    assert result["moved"] == 0 and result["base"] == result["current"]
    assert compare(program, "min_trainings=1", fmt="csv").height == 0


@pytest.mark.parametrize(
    ("base", "message"),
    [
        ("min_trainings=x", "error: --base: --min-trainings 'x': not a whole number\n"),
        ("colour=red", "error: --base: colour is not a view parameter\n"),
        ("scenario=nope", "error: --base: no scenario named 'nope'; the scenarios are: policy\n"),
        ("scenario=policy&colour=red", "error: --base: colour is not a view parameter\n"),
    ],
)
def test_a_bad_base_is_one_error_line(program, base, message):
    assert run_cli("compare", "--db", program, "--base", base) == (2, "", message)


def test_a_base_scenario_takes_its_stored_thresholds(program, tmp_path):
    db = tmp_path / "program.duckdb"  # the module's database stays without scenarios
    shutil.copyfile(program, db)
    # Nothing saved: scenario=policy is the defaults, the current view's thresholds here.
    assert compare(db, "scenario=policy")["moved"] == 0
    assert run_cli("scenarios", "save", "two trainings", "--db", db, "--min-trainings", "2")[0] == 0
    saved = compare(db, "scenario=two trainings")
    assert saved == compare(db, "min_trainings=2")
    assert moves(saved)[("nurture", "reward")] == 1  # P1: nurture with 2 trainings needed, reward now
    # Other values named in the same query still override the scenario's.
    assert compare(db, "scenario=Two Trainings&as_of=2026-03-15") == compare(db, "min_trainings=2&as_of=2026-03-15")
    assert compare(db, "scenario=two trainings&min_trainings=1")["moved"] == 0
    # The policy moved to the saved scenario: scenario=policy still names the scenario called so.
    assert run_cli("scenarios", "policy", "two trainings", "--db", db)[0] == 0
    assert compare(db, "scenario=policy")["moved"] == 0
    assert run_cli("scenarios", "rename", "policy", "defaults", "--db", db)[0] == 0
    assert compare(db, "scenario=policy") == saved  # no scenario is called so: the policy
    code, out, err = run_cli("compare", "--db", db, "--base", "scenario=strict")
    assert (code, out, err) == (
        2,
        "",
        "error: --base: no scenario named 'strict'; the scenarios are: defaults, two trainings\n",
    )


def sensitivity(db: Path, name: str, values: str) -> list[tuple]:
    code, out, err = run_cli(
        "sensitivity", "--db", db, "--as-of", A, "--window-days", W, "--vary", name, "--values", values
    )
    assert code == 0, err
    table = pl.read_csv(io.StringIO(out))
    assert table.columns == ["value", "partners", "activated", "activation_pct", "reward", "nurture", "drop"]
    return table.drop("activation_pct").rows()


def test_sensitivity_around_each_boundary(program):
    # 0 switches trainings off: shares and deals, both needed (min_criteria 3 > 2 enabled): P1 and P2.
    assert sensitivity(program, "min_trainings", "0,1,2,3") == [
        (0, 5, 2, 1, 3, 1),
        (1, 5, 2, 1, 3, 1),
        (2, 5, 1, 0, 4, 1),  # P1 has 1 training: no longer activated, no longer reward
        (3, 5, 0, 0, 4, 1),
    ]
    # 0 criteria: everyone is activated, so nobody is dropped; views never count as a criterion.
    assert sensitivity(program, "min_criteria", "0,1,3") == [(0, 5, 5, 1, 4, 0), (1, 5, 2, 1, 3, 1), (3, 5, 2, 1, 3, 1)]
    assert sensitivity(program, "reward_min_revenue", "40000,40001,60000,60001") == [
        (40_000.0, 5, 2, 2, 2, 1),
        (40_001.0, 5, 2, 1, 3, 1),
        (60_000.0, 5, 2, 1, 3, 1),
        (60_001.0, 5, 2, 0, 4, 1),
    ]
    assert sensitivity(program, "drop_max_actions", "2,3")[1] == (3, 5, 2, 1, 2, 2)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--vary", "window_days"], "--vary 'window_days': not a threshold"),
        (["--vary", "min_trainings", "--values", "1,x"], "--values '1,x': not a whole number"),
        (["--vary", "min_criteria", "--values", "4"], "--values '4': must be between 0 and 3"),
    ],
)
def test_a_bad_sensitivity_flag_is_one_error_line(program, argv, message):
    code, out, err = run_cli("sensitivity", "--db", program, *argv)
    assert (code, out) == (2, "")
    assert err.startswith("error: " + message) and err.count("\n") == 1


def test_sensitivity_without_values_tries_a_reward_grid_up_to_the_earners_revenue(program):
    # Earners: P1 60,000 and P2 40,000; their 95th percentile (nearest rank) is 60,000, above the
    # view's 50,000: steps of 5,000 (60,000 / 20 = 3,000, rounded up to a round step) up to 60,000.
    code, out, err = run_cli(
        "sensitivity", "--db", program, "--as-of", A, "--window-days", W, "--vary", "reward_min_revenue"
    )
    assert code == 0, err
    table = pl.read_csv(io.StringIO(out))
    assert table["value"].to_list() == [5_000.0 * i for i in range(13)]
    assert table.filter(pl.col("value").is_in([40_000.0, 45_000.0, 60_000.0]))["reward"].to_list() == [2, 1, 1]


# --- the vectorised pass against one segment per value ------------------------------------------


def revenue_facts(revenues: list[float]) -> pl.DataFrame:
    return pl.DataFrame({"revenue": revenues}, schema={"revenue": pl.Float64})


def test_the_reward_grid_reaches_the_95th_percentile_of_the_partners_with_revenue():
    # 100 earners with 1,000 .. 100,000 (95th percentile: 95,000) and 100 partners with none,
    # who do not pull the percentile down: 95,000 / 20 = 4,750, so steps of 5,000.
    facts = revenue_facts([1_000.0 * k for k in range(1, 101)] + [0.0] * 100)
    assert revenue_grid(facts, 50_000.0) == tuple(5_000.0 * i for i in range(20))
    # A view above the data: the grid reaches it (1,000,000 / 20 = 50,000 a step).
    assert revenue_grid(facts, 1_000_000.0) == tuple(50_000.0 * i for i in range(21))
    # No revenue and a reward threshold of 0: the parameter's default, 50,000, in steps of 2,500.
    assert revenue_grid(revenue_facts([0.0, 0.0]), 0.0) == tuple(2_500.0 * i for i in range(21))


def test_every_default_grid_holds_the_views_own_value():
    facts = revenue_facts([1_000.0 * k for k in range(1, 101)])
    view = View(as_of=d(A), min_trainings=27, reward_min_revenue=12_345.0, drop_max_actions=2, grace_days=100)
    assert default_values(facts, view, "min_trainings") == (*range(21), 27)
    assert default_values(facts, view, "drop_max_actions") == tuple(range(21))  # 2 is on the grid already
    assert default_values(facts, view, "grace_days") == (0, 15, 30, 45, 60, 75, 90, 100, *range(105, 366, 15))
    rewards = default_values(facts, view, "reward_min_revenue")
    assert 12_345.0 in rewards and rewards[:3] == (0.0, 5_000.0, 10_000.0) and rewards[-1] == 95_000.0


@pytest.fixture(scope="module")
def demo_facts(demo_db: Path) -> pl.DataFrame:
    con = connect(demo_db)
    try:
        return metrics.partner_facts(con, default_view(demo_db).as_of, 90)
    finally:
        con.close()


@pytest.mark.parametrize(
    "changes",
    [{}, {"min_shares": 3, "min_criteria": 2, "grace_days": 30}, {"min_deals": 0, "reward_min_revenue": 20_000.0}],
)
def test_sensitivity_equals_one_segment_per_value_for_every_threshold(demo_db, demo_facts, changes):
    view = default_view(demo_db, **changes)
    curves = sensitivity_all(demo_facts, view)
    assert list(curves) == list(THRESHOLDS)
    for name, curve in curves.items():
        assert curve["value"].to_list() == list(default_values(demo_facts, view, name))
        expected = []
        for value in curve["value"]:
            summary = metrics.summarize(metrics.segment(demo_facts, view.replace(**{name: value})), view)
            counts = (summary["partners"], summary["activated"], summary["activation_pct"])
            expected.append((value, *counts, *summary["tiers"].values()))
        assert curve.rows() == expected, name
    # The curves move: the demo program is not flat in any of the criteria.
    assert len(set(curves["min_trainings"]["activated"])) > 3


def test_sensitivity_keeps_repeated_values_in_the_order_given_and_an_empty_program():
    facts = pl.DataFrame(
        {
            "partner_id": ["P1"],
            "joined_on": [d("2025-01-01")],
            **{c: [1] for c in ("trainings", "content_shares", "content_views", "deals_registered")},
            "revenue": [60_000.0],
            "cost": [0.0],
        }
    )
    view = View(as_of=d(A))
    table = sensitivity_of(facts, view, "min_trainings", [2, 1, 2])
    assert table.select("value", "activated", "reward").rows() == [(2, 0, 0), (1, 1, 1), (2, 0, 0)]
    empty = sensitivity_of(facts.head(0), view, "min_trainings", [0, 1])
    assert empty.rows() == [(0, 0, 0, None, 0, 0, 0), (1, 0, 0, None, 0, 0, 0)]
