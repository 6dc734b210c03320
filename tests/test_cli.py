"""`python -m kpi` (SPEC "Headless interface (CLI)"): commands, numbers, and bad arguments.

The numbers are checked on a hand-built program of six partners whose every fact is worked
out by hand below, for the as-of date A = 2026-03-31 and window W = 30 days, so the window
is 2026-03-02 .. 2026-03-31 (A - W < d <= A).
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from kpi.cli import main
from kpi.params import SPEC_BY_NAME
from tests.conftest import ROOT, Rows, deal, load_tables, partner, write_csv_folder

SPEC_COLUMNS = [
    "partner_id",
    "partner_name",
    "tier",
    "activated",
    "criteria_met",
    "trainings",
    "content_shares",
    "content_views",
    "logins",
    "active_users",
    "deals_registered",
    "deals_won",
    "revenue",
    "cost",
    "roi",
    "mrr",
]
SUMMARY_KEYS = {
    "as_of",
    "window_days",
    "partners",
    "activated",
    "activation_pct",
    "tiers",
    "revenue",
    "cost",
    "roi",
    "mrr",
    "arr",
}
WINDOW = ["--as-of", "2026-03-31", "--window-days", "30"]


def run(*argv: str | Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def act(pid: str, user: str | None, when: str, kind: str) -> dict[str, object]:
    return {"partner_id": pid, "user_id": user, "occurred_at": when, "activity": kind}


def program() -> dict[str, Rows]:
    return {
        "partners": [
            partner("P1", joined="2025-01-01"),
            partner("P2", joined="2025-06-01"),
            partner("P3", joined="2025-01-01"),
            partner("P4", joined="2026-03-15"),  # new: inside the default 90-day grace period
            partner("P5", joined="2025-01-01", left="2026-03-31"),  # left on A: not in the population
            partner("P6", joined="2026-04-01"),  # joins after A: not in the population
        ],
        "partner_users": [
            {"user_id": "U1", "partner_id": "P1"},
            {"user_id": "U2", "partner_id": "P1"},
            {"user_id": "U3", "partner_id": "P2"},
            {"user_id": "U5", "partner_id": "P5"},
        ],
        "activities": [
            # P1: 2 trainings, 1 share, 1 view, 2 logins in the window; 2 active users (U1, U2).
            act("P1", "U1", "2026-03-05T09:00:00", "training_completed"),
            act("P1", "U2", "2026-03-10", "training_completed"),
            act("P1", "U1", "2026-03-20T12:00:00Z", "content_shared"),
            act("P1", "U1", "2026-03-31T23:30:00-05:00", "content_viewed"),  # dated as written: in
            act("P1", "U1", "2026-03-02", "login"),
            act("P1", None, "2026-03-03", "login"),  # no user: not an active user
            act("P1", "U1", "2026-03-01", "training_completed"),  # = A - W: outside
            act("P1", "U1", "2026-04-01T00:30:00+02:00", "login"),  # after A as written: outside
            # P2: 1 training, 3 views; 1 active user.
            act("P2", "U3", "2026-03-15", "training_completed"),
            act("P2", "U3", "2026-03-16", "content_viewed"),
            act("P2", "U3", "2026-03-17", "content_viewed"),
            act("P2", "U3", "2026-03-18", "content_viewed"),
            # P3: one login only.
            act("P3", None, "2026-03-10", "login"),
            # P5 and P6 are outside the population whatever they do.
            act("P5", "U5", "2026-03-10", "training_completed"),
            act("P6", None, "2026-03-10", "content_shared"),
        ],
        "deals": [
            # P1: registered in window D1, D3; won in window D1 (50000 + 12 x 1000), D2 (8000).
            deal("D1", "P1", "2026-03-02", "won", "2026-03-15", amount=50000, mrr=1000),
            deal("D2", "P1", "2026-02-01", "won", "2026-03-31", amount=8000),
            deal("D3", "P1", "2026-03-10", "open", amount=99999),
            deal("D4", "P1", "2026-01-05", "won", "2026-01-20", amount=1000, mrr=500),  # mrr still running
            deal("D5", "P1", "2025-11-01", "won", "2025-12-01", mrr=300, churned_on="2026-02-01"),  # churned
            # P2: one deal registered in the window and lost.
            deal("D6", "P2", "2026-03-20", "lost", "2026-03-25", amount=0),
            # P5 (left) won a deal in the window: not counted.
            deal("D7", "P5", "2026-03-02", "won", "2026-03-10", amount=70000),
        ],
        "investments": [
            {"partner_id": "P1", "spent_on": "2026-03-10", "category": "mdf", "amount": 20000},
            {"partner_id": "P1", "spent_on": "2026-03-01", "category": "mdf", "amount": 5000},  # outside
            {"partner_id": "P3", "spent_on": "2026-03-05", "category": "spiff", "amount": 1000},
            {"partner_id": "P5", "spent_on": "2026-03-10", "category": "mdf", "amount": 500},  # not counted
        ],
    }


# The facts worked out by hand from `program()` at A = 2026-03-31, W = 30, default thresholds.
# P1: 3 criteria met, revenue 62000 + 8000 = 70000 >= 50000 -> reward; ROI (70000-20000)/20000;
#     mrr at A: D1 1000 + D4 500 (D5 churned before A).
# P2: trainings and deals met, shares not -> 2 of 3, not activated; actions 1+0+3+1 = 5 > 2 -> nurture.
# P3: nothing met, no revenue, 0 actions, joined long ago -> drop; ROI (0-1000)/1000.
# P4: nothing met, 0 actions, but joined 2026-03-15, after A - 90 days -> nurture (grace).
EXPECTED = {
    "P1": {
        "tier": "reward",
        "activated": True,
        "criteria_met": 3,
        "trainings": 2,
        "content_shares": 1,
        "content_views": 1,
        "logins": 2,
        "active_users": 2,
        "deals_registered": 2,
        "deals_won": 2,
        "revenue": 70000.0,
        "cost": 20000.0,
        "roi": 2.5,
        "mrr": 1500.0,
    },
    "P2": {
        "tier": "nurture",
        "activated": False,
        "criteria_met": 2,
        "trainings": 1,
        "content_shares": 0,
        "content_views": 3,
        "logins": 0,
        "active_users": 1,
        "deals_registered": 1,
        "deals_won": 0,
        "revenue": 0.0,
        "cost": 0.0,
        "roi": None,
        "mrr": 0.0,
    },
    "P3": {
        "tier": "drop",
        "activated": False,
        "criteria_met": 0,
        "trainings": 0,
        "content_shares": 0,
        "content_views": 0,
        "logins": 1,
        "active_users": 0,
        "deals_registered": 0,
        "deals_won": 0,
        "revenue": 0.0,
        "cost": 1000.0,
        "roi": -1.0,
        "mrr": 0.0,
    },
    "P4": {
        "tier": "nurture",
        "activated": False,
        "criteria_met": 0,
        "trainings": 0,
        "content_shares": 0,
        "content_views": 0,
        "logins": 0,
        "active_users": 0,
        "deals_registered": 0,
        "deals_won": 0,
        "revenue": 0.0,
        "cost": 0.0,
        "roi": None,
        "mrr": 0.0,
    },
}


@pytest.fixture(scope="module")
def program_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return load_tables(tmp_path_factory.mktemp("program") / "kpi.duckdb", program())


def segment_json(db: Path, *flags: str) -> dict[str, dict[str, object]]:
    code, out, err = run("segment", "--db", db, *WINDOW, *flags, "--format", "json")
    assert (code, err) == (0, "")
    return {row["partner_id"]: row for row in json.loads(out)}


def summary(db: Path, *flags: str) -> dict[str, object]:
    code, out, err = run("summary", "--db", db, *flags)
    assert (code, err) == (0, "")
    return json.loads(out)


# --- segment ------------------------------------------------------------------------------------


def test_segment_json_has_the_spec_columns_and_the_hand_computed_numbers(program_db: Path) -> None:
    code, out, err = run("segment", "--db", program_db, *WINDOW, "--format", "json")
    assert (code, err) == (0, "")
    rows = json.loads(out)
    assert all(list(row) == SPEC_COLUMNS for row in rows)
    assert [row["partner_id"] for row in rows] == ["P1", "P2", "P3", "P4"]  # the population only
    for row in rows:
        assert row["partner_name"] == f"Partner {row['partner_id']}"
        got = {k: v for k, v in row.items() if k not in ("partner_id", "partner_name")}
        assert got == pytest.approx(EXPECTED[str(row["partner_id"])]), row["partner_id"]


def test_segment_csv_has_the_spec_columns_and_an_empty_roi_without_cost(program_db: Path) -> None:
    code, out, err = run("segment", "--db", program_db, *WINDOW)
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == ",".join(SPEC_COLUMNS)
    rows = {row["partner_id"]: row for row in csv.DictReader(io.StringIO(out))}
    assert list(rows) == ["P1", "P2", "P3", "P4"]
    # No cost: ROI is empty, never 0 or inf.
    assert rows["P2"]["roi"] == "" and rows["P4"]["roi"] == ""
    assert float(rows["P1"]["roi"]) == pytest.approx(2.5)
    assert float(rows["P3"]["roi"]) == pytest.approx(-1.0)
    assert [rows[p]["tier"] for p in rows] == ["reward", "nurture", "drop", "nurture"]
    assert [rows[p]["activated"] for p in rows] == ["true", "false", "false", "false"]
    for pid, expected in EXPECTED.items():
        for column in ("trainings", "content_shares", "content_views", "logins", "active_users"):
            assert int(rows[pid][column]) == expected[column], (pid, column)
        for column in ("revenue", "cost", "mrr"):
            assert float(rows[pid][column]) == pytest.approx(expected[column]), (pid, column)


@pytest.mark.parametrize(
    ("flags", "pid", "changed"),
    [
        # P2 meets 2 of 3 criteria: enough when 2 are asked for; no revenue, so still nurture.
        (["--min-criteria", "2"], "P2", {"activated": True, "tier": "nurture"}),
        # P1 has 2 trainings, 1 share, 2 deals registered: raising any bar drops one criterion,
        # and a not-activated partner with revenue is nurture.
        (["--min-trainings", "3"], "P1", {"activated": False, "criteria_met": 2, "tier": "nurture"}),
        (["--min-shares", "2"], "P1", {"activated": False, "criteria_met": 2, "tier": "nurture"}),
        (["--min-deals", "3"], "P1", {"activated": False, "criteria_met": 2, "tier": "nurture"}),
        # 70000 of revenue is below a reward bar of 80000.
        (["--reward-min-revenue", "80000"], "P1", {"activated": True, "tier": "nurture"}),
        # P2 has 5 actions: at most 5 allowed makes it a drop candidate.
        (["--drop-max-actions", "5"], "P2", {"tier": "drop"}),
        # P4 joined on 2026-03-15, before A - 10 days = 2026-03-21: the grace period is over.
        (["--grace-days", "10"], "P4", {"tier": "drop"}),
        # Shares switched off: 2 criteria enabled, min_criteria 3 means all of them, which P2 meets.
        (["--min-shares", "0"], "P2", {"activated": True, "criteria_met": 2, "tier": "nurture"}),
        # Every criterion off: everyone is activated, so P3 can no longer be dropped.
        (
            ["--min-trainings", "0", "--min-shares", "0", "--min-deals", "0"],
            "P3",
            {"activated": True, "criteria_met": 0, "tier": "nurture"},
        ),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_each_threshold_flag_moves_a_partner_as_the_spec_says(
    program_db: Path, flags: list[str], pid: str, changed: dict[str, object]
) -> None:
    before = segment_json(program_db)
    after = segment_json(program_db, *flags)
    expected = {**before[pid], **changed}
    assert after[pid] == expected
    # The other partners' facts do not depend on the thresholds.
    for other in ("P1", "P2", "P3", "P4"):
        assert after[other]["revenue"] == before[other]["revenue"]
        assert after[other]["trainings"] == before[other]["trainings"]


def test_window_days_changes_what_is_counted(program_db: Path) -> None:
    # With W = 31 the window starts on 2026-03-01: P1's training that day and the
    # investment of 5000 that day now count.
    rows = segment_json(program_db, "--window-days", "31")
    assert rows["P1"]["trainings"] == 3
    assert rows["P1"]["cost"] == pytest.approx(25000.0)
    assert rows["P1"]["roi"] == pytest.approx((70000 - 25000) / 25000)


# --- summary ------------------------------------------------------------------------------------


def test_summary_has_the_spec_keys_and_the_hand_computed_totals(program_db: Path) -> None:
    result = summary(program_db, *WINDOW)
    assert set(result) == SUMMARY_KEYS
    # Population P1..P4: 1 activated; revenue 70000; cost 20000 + 1000; mrr 1500.
    assert result == {
        "as_of": "2026-03-31",
        "window_days": 30,
        "partners": 4,
        "activated": 1,
        "activation_pct": pytest.approx(25.0),
        "tiers": {"reward": 1, "nurture": 2, "drop": 1},
        "revenue": pytest.approx(70000.0),
        "cost": pytest.approx(21000.0),
        "roi": pytest.approx((70000 - 21000) / 21000),
        "mrr": pytest.approx(1500.0),
        "arr": pytest.approx(18000.0),
    }


def test_summary_defaults_to_the_latest_activity_or_deal_date(program_db: Path, tmp_path: Path) -> None:
    # The latest date in program(): P1's login written as 2026-04-01T00:30:00+02:00.
    result = summary(program_db)
    assert result["as_of"] == "2026-04-01"
    assert result["window_days"] == SPEC_BY_NAME["window_days"].default
    # Here the latest is a deal's close date (after the registration and the only activity).
    db = load_tables(
        tmp_path / "deal.duckdb",
        {
            "partners": [partner("P1")],
            "activities": [act("P1", None, "2026-02-01", "login")],
            "deals": [deal("D1", "P1", "2026-02-10", "won", "2026-05-20", amount=10)],
            "investments": [{"partner_id": "P1", "spent_on": "2026-12-01", "amount": 1}],  # not a deal date
        },
    )
    assert summary(db)["as_of"] == "2026-05-20"


def test_summary_of_an_empty_population_has_no_activation_pct(program_db: Path) -> None:
    result = summary(program_db, "--as-of", "2024-12-31")  # before anyone joined
    assert result["partners"] == 0
    assert result["activation_pct"] is None
    assert result["roi"] is None
    assert result["tiers"] == {"reward": 0, "nurture": 0, "drop": 0}
    code, out, err = run("segment", "--db", program_db, "--as-of", "2024-12-31")
    assert (code, out) == (0, ",".join(SPEC_COLUMNS) + "\n")


# --- load and demo ------------------------------------------------------------------------------


def test_load_confirms_the_row_counts(tmp_path: Path) -> None:
    folder = write_csv_folder(tmp_path / "src", program())
    code, out, err = run("load", folder, "--db", tmp_path / "kpi.duckdb")
    assert (code, err) == (0, "")
    assert out.startswith(
        f"loaded {tmp_path / 'kpi.duckdb'}: partners 6, partner_users 4, activities 15, deals 7, investments 4 "
    )
    assert summary(tmp_path / "kpi.duckdb", *WINDOW)["partners"] == 4


def test_history_lists_loads_and_restore_brings_an_earlier_one_back(tmp_path: Path) -> None:
    db = tmp_path / "kpi.duckdb"
    first = program()
    assert run("load", write_csv_folder(tmp_path / "week1", first), "--db", db)[0] == 0
    second = {**first, "partners": first["partners"][:2]}
    second = {name: rows for name, rows in second.items() if name == "partners"}
    assert run("load", write_csv_folder(tmp_path / "week2", second), "--db", db)[0] == 0
    assert summary(db, "--as-of", "2026-12-31")["partners"] == 2

    code, out, err = run("history", "--db", db)
    lines = out.splitlines()
    assert (code, err, len(lines)) == (0, "", 2)
    assert lines[0].startswith("* ") and "week2" in lines[0] and "partners 2" in lines[0]
    assert lines[1].startswith("  ") and "week1" in lines[1] and "partners 6" in lines[1]

    week1_id = lines[1].split()[0]
    code, out, err = run("restore", week1_id, "--db", db)
    assert (code, err) == (0, "")
    assert summary(db, *WINDOW)["partners"] == 4
    assert run("history", "--db", db)[1].splitlines()[0].startswith("* ")  # the restore is the live load


def test_restore_of_an_unknown_load_is_one_line_and_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "kpi.duckdb"
    run("load", write_csv_folder(tmp_path / "src", program()), "--db", db)
    before = db.read_bytes()
    code, out, err = run("restore", "nope", "--db", db)
    assert code == 2 and out == ""
    assert err.startswith("error: no load 'nope'") and err.count("\n") == 1
    assert db.read_bytes() == before


def test_load_of_bad_data_lists_every_problem_and_writes_the_problems_csv(tmp_path: Path) -> None:
    tables = program()
    tables["deals"][0]["amount"] = "1,000"  # deals.csv row 2
    tables["deals"][1]["amount"] = "$8000"  # deals.csv row 3
    tables["deals"][2]["status"] = "pending"  # deals.csv row 4
    tables["partners"][1]["joined_on"] = "2025-06-31"  # partners.csv row 3
    folder = write_csv_folder(tmp_path / "src", tables)
    db = tmp_path / "kpi.duckdb"
    problems_csv = tmp_path / "problems.csv"
    code, out, err = run("load", folder, "--db", db, "--problems-csv", problems_csv)
    assert code == 2
    assert out == ""
    assert not db.exists()
    lines = err.splitlines()
    assert lines[0] == "refused: 4 problem(s); the database was not changed"
    assert (
        "  partners.csv, row 3, column joined_on: is not a day in the calendar: check the month (01-12) and the day"
        " of that month (value '2025-06-31')" in lines
    )
    assert any(line.startswith("  deals.csv, row 2, column amount: is not a plain number") for line in lines)
    assert any(line.startswith("  deals.csv, row 3, column amount: is not a plain number") for line in lines)
    assert any(line.startswith("  deals.csv, row 4, column status: must be one of open, won, lost") for line in lines)
    # Counts per kind of problem: the two amounts are one kind.
    kinds = lines[lines.index("problems by kind:") + 1 :]
    assert len(kinds) == 3
    assert kinds[0].split()[:4] == ["2", "deals.csv", "/", "amount:"]
    assert "is not a plain number" in kinds[0]
    written = pl.read_csv(problems_csv, infer_schema=False)
    assert written.columns == ["file", "row", "column", "value", "problem"]
    assert sorted(written.select("file", "row", "column", "value").rows()) == [
        ("deals.csv", "2", "amount", "1,000"),
        ("deals.csv", "3", "amount", "$8000"),
        ("deals.csv", "4", "status", "pending"),
        ("partners.csv", "3", "joined_on", "2025-06-31"),
    ]


def test_demo_writes_the_partners_asked_for_and_is_repeatable(tmp_path: Path) -> None:
    first, second = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    code, out, err = run("demo", "--db", first, "--partners", "40", "--seed", "3")
    assert (code, err) == (0, "")
    assert "partners 40," in out
    assert run("demo", "--db", second, "--partners", "40", "--seed", "3")[0] == 0
    result = summary(first)
    assert summary(second) == result
    # The population is the partners of those 40 in the program on the as-of date.
    con = duckdb.connect(str(first), read_only=True)
    try:
        total, in_program = con.execute(
            "select count(*), count(*) filter (where joined_on <= $1 and (left_on is null or left_on > $1))"
            " from partners",
            [result["as_of"]],
        ).fetchone()
    finally:
        con.close()
    assert total == 40
    assert result["partners"] == in_program
    assert 0 < result["partners"] <= 40


# --- bad arguments ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def not_a_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bad") / "notes.duckdb"
    path.write_text("these are my notes, not a database\n")
    return path


@pytest.fixture(scope="module")
def foreign_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real DuckDB file of another program: none of our tables."""
    path = tmp_path_factory.mktemp("foreign") / "other.duckdb"
    con = duckdb.connect(str(path))
    con.sql("create table invoices (id integer)")
    con.close()
    return path


BAD_ARGUMENTS = [
    ("unknown command", ["frobnicate", "--db", "{db}"], "frobnicate"),
    ("missing --db", ["summary"], "--db"),
    ("no such database", ["summary", "--db", "{missing}"], "{missing}"),
    ("not a database", ["segment", "--db", "{notdb}"], "{notdb}"),
    ("a database of another program", ["summary", "--db", "{foreign}"], "{foreign}"),
    ("window 0", ["summary", "--db", "{db}", "--window-days", "0"], "--window-days"),
    ("window not a number", ["segment", "--db", "{db}", "--window-days", "abc"], "--window-days"),
    ("as-of not a day", ["summary", "--db", "{db}", "--as-of", "2026-02-30"], "--as-of"),
    ("min-criteria out of range", ["segment", "--db", "{db}", "--min-criteria", "9"], "--min-criteria"),
    ("format xml", ["segment", "--db", "{db}", "--format", "xml"], "--format"),
    ("zero demo partners", ["demo", "--db", "{new}", "--partners", "0"], "--partners"),
    ("negative demo seed", ["demo", "--db", "{new}", "--seed", "-1"], "--seed"),
    ("load without a folder", ["load", "--db", "{new}"], "SRC_DIR"),
    ("mapping file missing", ["load", "{folder}", "--db", "{new}", "--mapping", "{nomapping}"], "{nomapping}"),
    ("mapping file not a mapping", ["load", "{folder}", "--db", "{new}", "--mapping", "{notdb}"], "not valid JSON"),
    ("suggest-mapping without --out", ["suggest-mapping", "{folder}"], "--out"),
    ("suggest-mapping of no folder", ["suggest-mapping", "{nofolder}", "--out", "{newjson}"], "is not a folder"),
]


@pytest.mark.parametrize(("argv", "named"), [pytest.param(*c[1:], id=c[0]) for c in BAD_ARGUMENTS])
def test_bad_arguments_exit_2_with_one_line(
    program_db: Path,
    not_a_database: Path,
    foreign_database: Path,
    tmp_path: Path,
    argv: list[str],
    named: str,
) -> None:
    paths = {
        "db": str(program_db),
        "missing": str(tmp_path / "missing.duckdb"),
        "notdb": str(not_a_database),
        "foreign": str(foreign_database),
        "new": str(tmp_path / "new.duckdb"),
        "folder": str(tmp_path),
        "nofolder": str(tmp_path / "no-such-folder"),
        "nomapping": str(tmp_path / "mapping.json"),
        "newjson": str(tmp_path / "new.json"),
    }
    code, out, err = run(*(a.format(**paths) for a in argv))
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith("error: ")
    assert named.format(**paths) in err
    assert "Traceback" not in err
    assert not (tmp_path / "new.duckdb").exists()
    assert not (tmp_path / "new.json").exists()


def test_python_m_kpi_runs_and_refuses_a_bad_flag_in_one_line(program_db: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kpi", "summary", "--db", str(program_db), "--window-days", "abc"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == "error: --window-days 'abc': not a whole number\n"


def test_a_load_is_stamped_with_the_time_the_command_started(tmp_path: Path) -> None:
    db = tmp_path / "kpi.duckdb"
    folder = write_csv_folder(tmp_path / "src", program())
    code = main(
        ["load", str(folder), "--db", str(db)], io.StringIO(), io.StringIO(), now=lambda: datetime(2026, 5, 4, 3, 2, 1)
    )
    assert code == 0
    out = io.StringIO()
    assert main(["history", "--db", str(db)], out, io.StringIO()) == 0
    assert "2026-05-04 03:02:01" in out.getvalue()


@pytest.mark.parametrize(
    ("inherited", "used"),
    [
        # Nothing set: freed memory goes back to the system at once.
        ("", "dirty_decay_ms:0,muzzy_decay_ms:0"),
        # What `import polars` in a parent process (a scheduler, the app) passes on: ours wins (later wins).
        (
            "dirty_decay_ms:500,muzzy_decay_ms:1000",
            "dirty_decay_ms:500,muzzy_decay_ms:1000,dirty_decay_ms:0,muzzy_decay_ms:0",
        ),
        # A user's own decay setting is kept; their other options keep ours alongside.
        ("dirty_decay_ms:2000", "dirty_decay_ms:2000"),
        ("narenas:2", "narenas:2,dirty_decay_ms:0,muzzy_decay_ms:0"),
    ],
)
def test_a_load_hands_freed_memory_back_unless_the_user_set_the_allocator(inherited: str, used: str) -> None:
    from kpi.__main__ import _allocator_setting

    assert _allocator_setting(inherited) == used
