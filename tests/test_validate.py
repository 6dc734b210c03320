"""The input data contract's rules (kpi.validate, SPEC "Input data contract"): every rule, every problem at once.

Each test writes a few rows into a folder, reads it the way `python -m kpi load` does and
checks the problems a user would see: the file, the row as a spreadsheet counts it (header
row 1, first record row 2), the column and what is wrong.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from kpi.ingest import read_dataset
from kpi.validate import IMPOSSIBLE_DATE, KIND_MESSAGES, validate
from tests.conftest import (
    Rows,
    base_tables,
    partner,
    places,
    problems_in,
    run_cli,
    text_frame,
    with_rows,
    write_csv_folder,
    write_text,
)

# --- one rule, one case ----------------------------------------------------------------------


DEAL = {"deal_id": "D1", "partner_id": "P1", "registered_on": "2026-01-10", "amount": "10"}


WON = {**DEAL, "status": "won", "closed_on": "2026-02-01"}


ACT = {"partner_id": "P1", "user_id": "U1", "occurred_at": "2026-03-01", "activity": "login"}


INV = {"partner_id": "P1", "spent_on": "2026-02-01", "amount": "100"}


# (id, table, rows, file, spreadsheet row, column, words of the problem); the faulty record
# is always the second one, so spreadsheet row 3.
RULES = [
    (
        "partners.partner_name required",
        "partners",
        [partner("P1"), partner("P2", partner_name=None)],
        "partners.csv",
        3,
        "partner_name",
        "is empty",
    ),
    (
        "partners.joined_on required",
        "partners",
        [partner("P1"), {"partner_id": "P2", "partner_name": "Beta"}],
        "partners.csv",
        3,
        "joined_on",
        "is empty",
    ),
    (
        "partners.partner_id required",
        "partners",
        [partner("P1"), {"partner_name": "Beta", "joined_on": "2025-01-01"}, partner("P2")],
        "partners.csv",
        3,
        "partner_id",
        "is empty",
    ),
    (
        "partner_users.partner_id required",
        "partner_users",
        [{"user_id": "U1", "partner_id": "P1"}, {"user_id": "U2"}],
        "partner_users.csv",
        3,
        "partner_id",
        "is empty",
    ),
    (
        "activities.occurred_at required",
        "activities",
        [ACT, {**ACT, "occurred_at": None}],
        "activities.csv",
        3,
        "occurred_at",
        "is empty",
    ),
    (
        "deals.registered_on required",
        "deals",
        [WON, {**WON, "deal_id": "D2", "registered_on": None}],
        "deals.csv",
        3,
        "registered_on",
        "is empty",
    ),
    (
        "investments.amount required",
        "investments",
        [INV, {**INV, "amount": None}],
        "investments.csv",
        3,
        "amount",
        "is empty",
    ),
    (
        "left_on before joined_on",
        "partners",
        [partner("P1"), partner("P2", joined="2025-06-01", left="2025-05-31")],
        "partners.csv",
        3,
        "left_on",
        "before joined_on",
    ),
    (
        "partner_users.partner_id unknown",
        "partner_users",
        [{"user_id": "U1", "partner_id": "P1"}, {"user_id": "U2", "partner_id": "P9"}],
        "partner_users.csv",
        3,
        "partner_id",
        "not a partner_id in partners",
    ),
    (
        "activities.partner_id unknown",
        "activities",
        [ACT, {**ACT, "partner_id": "P9", "user_id": None}],
        "activities.csv",
        3,
        "partner_id",
        "not a partner_id in partners",
    ),
    (
        "deals.partner_id unknown",
        "deals",
        [WON, {**WON, "deal_id": "D2", "partner_id": "P9"}],
        "deals.csv",
        3,
        "partner_id",
        "not a partner_id in partners",
    ),
    (
        "investments.partner_id unknown",
        "investments",
        [INV, {**INV, "partner_id": "P9"}],
        "investments.csv",
        3,
        "partner_id",
        "not a partner_id in partners",
    ),
    (
        "activities.user_id of another partner",
        "activities",
        [ACT, {**ACT, "user_id": "U2"}],  # U2 is a user of P2, the activity is P1's
        "activities.csv",
        3,
        "user_id",
        "not a user_id of this partner",
    ),
    (
        "activities.user_id unknown",
        "activities",
        [ACT, {**ACT, "user_id": "U9"}],
        "activities.csv",
        3,
        "user_id",
        "not a user_id of this partner",
    ),
    (
        "activity kind",
        "activities",
        [ACT, {**ACT, "activity": "webinar"}],
        "activities.csv",
        3,
        "activity",
        "must be one of login, training_completed, content_viewed, content_shared",
    ),
    (
        "deal status",
        "deals",
        [WON, {**DEAL, "deal_id": "D2", "status": "pending"}],
        "deals.csv",
        3,
        "status",
        "must be one of open, won, lost",
    ),
    (
        "won deal without closed_on",
        "deals",
        [WON, {**DEAL, "deal_id": "D2", "status": "won"}],
        "deals.csv",
        3,
        "closed_on",
        "won and lost deals need a close date",
    ),
    (
        "lost deal without closed_on",
        "deals",
        [WON, {**DEAL, "deal_id": "D2", "status": "lost"}],
        "deals.csv",
        3,
        "closed_on",
        "won and lost deals need a close date",
    ),
    (
        "open deal with closed_on",
        "deals",
        [WON, {**DEAL, "deal_id": "D2", "status": "open", "closed_on": "2026-02-01"}],
        "deals.csv",
        3,
        "closed_on",
        "must be empty for an open deal",
    ),
    (
        "closed_on before registered_on",
        "deals",
        [WON, {**WON, "deal_id": "D2", "closed_on": "2026-01-09"}],
        "deals.csv",
        3,
        "closed_on",
        "before registered_on",
    ),
    (
        "negative deal amount",
        "deals",
        [WON, {**WON, "deal_id": "D2", "amount": "-5"}],
        "deals.csv",
        3,
        "amount",
        "must not be negative",
    ),
    (
        "deal amount with currency symbol",
        "deals",
        [WON, {**WON, "deal_id": "D2", "amount": "$1,000"}],
        "deals.csv",
        3,
        "amount",
        "not a plain number",
    ),
    (
        "deal amount with thousands separator",
        "deals",
        [WON, {**WON, "deal_id": "D2", "amount": "1,000"}],
        "deals.csv",
        3,
        "amount",
        "not a plain number",
    ),
    (
        "investment amount not a number",
        "investments",
        [INV, {**INV, "amount": "100 EUR"}],
        "investments.csv",
        3,
        "amount",
        "not a plain number",
    ),
    (
        "negative investment amount",
        "investments",
        [INV, {**INV, "amount": "-1"}],
        "investments.csv",
        3,
        "amount",
        "must not be negative",
    ),
    (
        "negative mrr",
        "deals",
        [WON, {**WON, "deal_id": "D2", "mrr": "-10"}],
        "deals.csv",
        3,
        "mrr",
        "must not be negative",
    ),
    (
        "mrr not a number",
        "deals",
        [WON, {**WON, "deal_id": "D2", "mrr": "ten"}],
        "deals.csv",
        3,
        "mrr",
        "not a plain number",
    ),
    (
        "churned_on on an open deal",
        "deals",
        [WON, {**DEAL, "deal_id": "D2", "status": "open", "churned_on": "2026-05-01"}],
        "deals.csv",
        3,
        "churned_on",
        "not won",
    ),
    (
        "churned_on on a lost deal",
        "deals",
        [WON, {**WON, "deal_id": "D2", "status": "lost", "churned_on": "2026-05-01"}],
        "deals.csv",
        3,
        "churned_on",
        "not won",
    ),
    (
        "churned_on before closed_on",
        "deals",
        [WON, {**WON, "deal_id": "D2", "churned_on": "2026-01-31"}],
        "deals.csv",
        3,
        "churned_on",
        "before closed_on",
    ),
    (
        "date with slashes",
        "partners",
        [partner("P1"), partner("P2", joined="2026/02/01")],
        "partners.csv",
        3,
        "joined_on",
        "YYYY-MM-DD",
    ),
    (
        "date that does not exist",
        "partners",
        [partner("P1"), partner("P2", joined="2026-02-30")],
        "partners.csv",
        3,
        "joined_on",
        "is not a day in the calendar",
    ),
    (
        "day-first date",
        "investments",
        [INV, {**INV, "spent_on": "01/02/2026"}],
        "investments.csv",
        3,
        "spent_on",
        "YYYY-MM-DD",
    ),
    (
        "timestamp on a day that does not exist",
        "activities",
        [ACT, {**ACT, "occurred_at": "2026-02-30T10:00:00"}],
        "activities.csv",
        3,
        "occurred_at",
        "is not a day in the calendar",
    ),
    (
        "timestamp with slashes",
        "activities",
        [ACT, {**ACT, "occurred_at": "2026/03/01 10:00"}],
        "activities.csv",
        3,
        "occurred_at",
        "not a date or timestamp",
    ),
]


@pytest.mark.parametrize(
    ("table", "rows", "file", "row", "column", "words"),
    [pytest.param(*case[1:], id=case[0]) for case in RULES],
)
def test_each_rule_names_file_row_column_and_problem(
    tmp_path: Path, table: str, rows: Rows, file: str, row: int, column: str, words: str
) -> None:
    folder = write_csv_folder(tmp_path / "src", with_rows(table, rows))
    validation = read_dataset(folder)
    assert not validation.ok
    assert validation.tables == {}  # nothing to write
    found = validation.problems.to_dicts()
    assert [(p["file"], p["row"], p["column"]) for p in found] == [(file, row, column)], found
    assert words in str(found[0]["problem"])
    # The readable line a user sees names all of it.
    line = validation.problem_lines()[0]
    assert line.startswith(f"{file}, row {row}, column {column}: ")


@pytest.mark.parametrize(
    ("table", "column", "first", "second"),
    [
        ("partners", "partner_id", partner("P1"), partner("P1", partner_name="Other")),
        ("partner_users", "user_id", {"user_id": "U1", "partner_id": "P1"}, {"user_id": "U1", "partner_id": "P2"}),
        ("deals", "deal_id", WON, {**WON, "amount": "20"}),
    ],
)
def test_ids_must_be_unique_and_both_rows_are_named(
    tmp_path: Path, table: str, column: str, first: dict[str, object], second: dict[str, object]
) -> None:
    rows: Rows = [first, second]
    if table == "partners":
        rows.append(partner("P2"))  # partner_users and activities refer to P2
    folder = write_csv_folder(tmp_path / "src", with_rows(table, rows))
    found = problems_in(folder)
    assert places(found) == {(f"{table}.csv", 2, column), (f"{table}.csv", 3, column)}
    assert all("not unique" in str(p["problem"]) for p in found)
    assert {p["value"] for p in found} == {first[column]}


def test_a_well_written_date_that_does_not_exist_is_called_impossible(tmp_path: Path) -> None:
    partners = [
        partner("P1", joined="2025-02-30"),  # February has no 30th
        partner("P2", joined="2025-13-01"),  # no 13th month
        partner("P3", joined="2025/02/01"),  # a real day, written the wrong way
        partner("P4", joined="2024-02-29"),  # a leap day: fine
    ]
    found = problems_in(write_csv_folder(tmp_path / "src", with_rows("partners", partners)))
    assert [(p["row"], p["value"], p["problem"]) for p in found] == [
        (2, "2025-02-30", IMPOSSIBLE_DATE),
        (3, "2025-13-01", IMPOSSIBLE_DATE),
        (4, "2025/02/01", KIND_MESSAGES["date"]),
    ]


def test_timestamps_in_iso_8601_count_by_the_calendar_date_as_written(tmp_path: Path) -> None:
    written = {
        "2026-03-01": date(2026, 3, 1),
        "2026-03-02T10:30": date(2026, 3, 2),
        "2026-03-03T10:30:15": date(2026, 3, 3),
        "2026-03-04T10:30:15.250": date(2026, 3, 4),
        "2026-03-05T10:30:15Z": date(2026, 3, 5),
        "2026-03-06T10:30:15+02:00": date(2026, 3, 6),
        "2026-03-07 08:00:00": date(2026, 3, 7),
        # 04:30 UTC on 1 April, but the date as written is what counts.
        "2026-03-31T23:30:00-05:00": date(2026, 3, 31),
    }
    activities = [{**ACT, "occurred_at": text, "item_id": text} for text in written]
    validation = read_dataset(write_csv_folder(tmp_path / "src", with_rows("activities", activities)))
    assert validation.ok, validation.problem_lines()
    loaded = validation.tables["activities"]
    assert dict(zip(loaded["item_id"], loaded["occurred_on"], strict=True)) == written


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    tables = base_tables()
    tables["partners"] = [
        partner("P1"),
        partner("P2"),
        {"partner_id": "P3", "joined_on": "2025-01-01"},  # row 4: no name
        partner("P4", joined="2025/01/01"),  # row 5: bad date
        partner("P5", joined="2025-06-01", left="2025-01-01"),  # row 6: left before joining
        partner("P2"),  # row 7: duplicate of row 3
    ]
    tables["deals"] = [
        {**WON, "status": "pending"},  # row 2: bad status
        {**WON, "deal_id": "D2", "amount": "1,000", "mrr": "-1"},  # row 3: two faults
    ]
    found = problems_in(write_csv_folder(tmp_path / "src", tables))
    assert places(found) == {
        ("partners.csv", 3, "partner_id"),
        ("partners.csv", 4, "partner_name"),
        ("partners.csv", 5, "joined_on"),
        ("partners.csv", 6, "left_on"),
        ("partners.csv", 7, "partner_id"),
        ("deals.csv", 2, "status"),
        ("deals.csv", 3, "amount"),
        ("deals.csv", 3, "mrr"),
    }
    assert len(found) == 8


# --- columns and tables ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("partners", "joined_on"),
        ("partners", "partner_name"),
        ("partner_users", "user_id"),
        ("activities", "occurred_at"),
        ("activities", "activity"),
        ("deals", "registered_on"),
        ("deals", "status"),
        ("investments", "amount"),
    ],
)
def test_missing_required_column_is_one_problem_at_row_1(tmp_path: Path, table: str, column: str) -> None:
    folder = write_csv_folder(tmp_path / "src", base_tables())
    frame = pl.read_csv(folder / f"{table}.csv", infer_schema=False).drop(column)
    frame.write_csv(folder / f"{table}.csv")
    code, out, err = run_cli("load", folder, "--db", tmp_path / "kpi.duckdb")
    assert code == 2
    assert "Traceback" not in err
    assert f"  {table}.csv, row 1, column {column}: required column is missing from the header row\n" in err
    in_file = [p for p in problems_in(folder) if p["file"] == f"{table}.csv"]
    assert [(p["row"], p["column"]) for p in in_file] == [(1, column)]


def test_extra_columns_warn_and_missing_optional_columns_read_as_empty(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    write_text(folder, "partners.csv", "partner_id,partner_name,joined_on,notes\nP1,Alpha,2025-01-01,vip\n")
    validation = read_dataset(folder)
    assert validation.ok, validation.problem_lines()
    assert len(validation.warnings) == 1
    assert "partners.csv" in validation.warnings[0] and "notes" in validation.warnings[0]
    partners = validation.tables["partners"]
    assert "notes" not in partners.columns
    assert partners.row(0, named=True) == {
        "partner_id": "P1",
        "partner_name": "Alpha",
        "joined_on": date(2025, 1, 1),
        "left_on": None,
        "region": None,
        "partner_type": None,
        "channel_manager": None,
    }


def test_tables_other_than_partners_may_be_missing(tmp_path: Path) -> None:
    folder = write_csv_folder(tmp_path / "src", {"partners": [partner("P1")]})
    validation = read_dataset(folder)
    assert validation.ok, validation.problem_lines()
    assert {name: frame.height for name, frame in validation.tables.items()} == {
        "partners": 1,
        "partner_users": 0,
        "activities": 0,
        "deals": 0,
        "investments": 0,
    }


def test_missing_partners_table_is_a_problem(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    validation = read_dataset(folder)
    assert not validation.ok
    assert [(p["file"], p["problem"]) for p in validation.problems.to_dicts()] == [
        ("partners", "the partners table is required: add partners.csv, .parquet or .xlsx")
    ]


def test_empty_amount_and_mrr_read_as_zero(tmp_path: Path) -> None:
    deals = [
        {**WON, "amount": None, "mrr": None},
        {**DEAL, "deal_id": "D2", "status": "open", "amount": None, "mrr": "15.5"},
    ]
    validation = read_dataset(write_csv_folder(tmp_path / "src", with_rows("deals", deals)))
    assert validation.ok, validation.problem_lines()
    loaded = validation.tables["deals"].sort("deal_id")
    assert loaded["amount"].to_list() == [0.0, 0.0]
    assert loaded["mrr"].to_list() == [0.0, 15.5]


def test_validating_without_a_partners_table_is_refused_once_not_per_row():
    deals = text_frame(
        "deals",
        [
            {"deal_id": "D1", "partner_id": "P1", "registered_on": "2026-01-01", "status": "open"},
            {"deal_id": "D2", "partner_id": "P2", "registered_on": "2026-01-01", "status": "open"},
        ],
    )
    result = validate({"deals": deals})
    assert not result.ok
    assert result.problem_lines() == ["partners: the partners table is required: add partners.csv, .parquet or .xlsx"]
