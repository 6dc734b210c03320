"""The input data contract (SPEC "Input data contract"): every rule, every format, atomic loads.

Each test writes a few rows into a folder, reads it the way `python -m kpi load` does and
checks the problems a user would see: the file, the row as a spreadsheet counts it (header
row 1, first record row 2), the column and what is wrong.
"""

from __future__ import annotations

import io
import json
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
import xlsxwriter
from polars.testing import assert_frame_equal

from kpi.cli import main
from kpi.load import read_dataset, validate
from kpi.schema import TABLE_NAMES
from kpi.store import write_dataset
from tests.conftest import Rows, partner, text_frame, write_csv_folder

# --- helpers -------------------------------------------------------------------------------


def base_tables() -> dict[str, Rows]:
    """A small valid dataset: two partners, one user each, one row in every other table."""
    return {
        "partners": [partner("P1"), partner("P2")],
        "partner_users": [
            {"user_id": "U1", "partner_id": "P1"},
            {"user_id": "U2", "partner_id": "P2"},
        ],
        "activities": [{"partner_id": "P1", "user_id": "U1", "occurred_at": "2026-03-01", "activity": "login"}],
        "deals": [
            {
                "deal_id": "D1",
                "partner_id": "P1",
                "registered_on": "2026-01-10",
                "status": "won",
                "closed_on": "2026-02-01",
                "amount": "1000",
                "mrr": "10",
            }
        ],
        "investments": [{"partner_id": "P1", "spent_on": "2026-02-01", "category": "mdf", "amount": "100"}],
    }


def with_rows(table: str, rows: Rows) -> dict[str, Rows]:
    tables = base_tables()
    tables[table] = rows
    return tables


def problems_in(folder: Path) -> list[dict[str, object]]:
    return read_dataset(folder).problems.to_dicts()


def where(problems: list[dict[str, object]]) -> set[tuple[object, object, object]]:
    """The (file, row, column) of each problem."""
    return {(p["file"], p["row"], p["column"]) for p in problems}


def run(*argv: str | Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def write_csv_text(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def db_tables(db: Path) -> dict[str, pl.DataFrame]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {name: con.sql(f"select * from {name} order by all").pl() for name in TABLE_NAMES}
    finally:
        con.close()


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
        "YYYY-MM-DD",
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
        "not a date or timestamp",
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
    assert where(found) == {(f"{table}.csv", 2, column), (f"{table}.csv", 3, column)}
    assert all("not unique" in str(p["problem"]) for p in found)
    assert {p["value"] for p in found} == {first[column]}


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
    assert where(found) == {
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


# --- columns and tables -------------------------------------------------------------------------


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
    code, out, err = run("load", folder, "--db", tmp_path / "kpi.duckdb")
    assert code == 2
    assert "Traceback" not in err
    assert f"  {table}.csv, row 1, column {column}: required column is missing from the header row\n" in err
    in_file = [p for p in problems_in(folder) if p["file"] == f"{table}.csv"]
    assert [(p["row"], p["column"]) for p in in_file] == [(1, column)]


def test_extra_columns_warn_and_missing_optional_columns_read_as_empty(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    write_csv_text(folder, "partners.csv", "partner_id,partner_name,joined_on,notes\nP1,Alpha,2025-01-01,vip\n")
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


def test_blank_rows_are_skipped_but_still_counted(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    # Record rows 2 and 4, a blank row 3, a bad date on row 5, a trailing blank line.
    write_csv_text(
        folder,
        "partners.csv",
        "partner_id,partner_name,joined_on\nP1,Alpha,2025-01-01\n\nP2,Beta,2025-01-02\nP3,Gamma,someday\n\n",
    )
    found = problems_in(folder)
    assert where(found) == {("partners.csv", 5, "joined_on")}


# --- formats ------------------------------------------------------------------------------------

FORMAT_PARTNERS = [
    ("P1", "Alpha", date(2025, 1, 5), None, "EMEA"),
    ("P2", "Beta", date(2025, 2, 1), date(2026, 1, 31), None),
]
FORMAT_ACTIVITIES = [
    ("P1", "U1", datetime(2026, 3, 1, 10, 30), "training_completed"),
    ("P2", None, datetime(2026, 1, 15, 0, 0), "login"),
]
# deal_id, partner_id, registered_on, status, closed_on, amount, mrr
FORMAT_DEALS = [
    ("D1", "P1", date(2026, 1, 10), "won", date(2026, 2, 1), 1500.5, 20.0),
    ("D2", "P2", date(2026, 2, 15), "open", None, None, None),
]


def write_format_csv(folder: Path) -> None:
    write_csv_folder(
        folder,
        {
            "partners": [
                partner(pid, joined=j.isoformat(), left=left.isoformat() if left else None, partner_name=n, region=r)
                for pid, n, j, left, r in FORMAT_PARTNERS
            ],
            "partner_users": [{"user_id": "U1", "partner_id": "P1"}],
            "activities": [
                {"partner_id": p, "user_id": u, "occurred_at": t.isoformat(), "activity": a}
                for p, u, t, a in FORMAT_ACTIVITIES
            ],
            "deals": [
                {
                    "deal_id": i,
                    "partner_id": p,
                    "registered_on": r.isoformat(),
                    "status": s,
                    "closed_on": c.isoformat() if c else None,
                    "amount": a,
                    "mrr": m,
                }
                for i, p, r, s, c, a, m in FORMAT_DEALS
            ],
            "investments": [{"partner_id": "P1", "spent_on": "2026-02-01", "category": "mdf", "amount": "250"}],
        },
    )


def write_format_parquet(folder: Path) -> None:
    folder.mkdir(parents=True)
    pl.DataFrame(
        FORMAT_PARTNERS,
        schema={
            "partner_id": pl.String,
            "partner_name": pl.String,
            "joined_on": pl.Date,
            "left_on": pl.Date,
            "region": pl.String,
        },
        orient="row",
    ).write_parquet(folder / "partners.parquet")
    pl.DataFrame({"user_id": ["U1"], "partner_id": ["P1"]}).write_parquet(folder / "partner_users.parquet")
    pl.DataFrame(
        FORMAT_ACTIVITIES,
        schema={"partner_id": pl.String, "user_id": pl.String, "occurred_at": pl.Datetime, "activity": pl.String},
        orient="row",
    ).write_parquet(folder / "activities.parquet")
    pl.DataFrame(
        FORMAT_DEALS,
        schema={
            "deal_id": pl.String,
            "partner_id": pl.String,
            "registered_on": pl.Date,
            "status": pl.String,
            "closed_on": pl.Date,
            "amount": pl.Float64,
            "mrr": pl.Float64,
        },
        orient="row",
    ).write_parquet(folder / "deals.parquet")
    # A date column stored as a datetime at midnight, as pandas writes dates.
    pl.DataFrame(
        {"partner_id": ["P1"], "spent_on": [datetime(2026, 2, 1)], "category": ["mdf"], "amount": [250.0]}
    ).write_parquet(folder / "investments.parquet")


def write_xlsx(path: Path, header: list[str], rows: list[tuple[object, ...]]) -> None:
    """One sheet: dates and datetimes as real Excel date cells, numbers as number cells."""
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("data")
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    time_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    sheet.write_row(0, 0, header)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, datetime):
                sheet.write_datetime(r, c, value, time_format)
            elif isinstance(value, date):
                sheet.write_datetime(r, c, datetime(value.year, value.month, value.day), date_format)
            elif isinstance(value, float | int):
                sheet.write_number(r, c, value)
            else:
                sheet.write_string(r, c, str(value))
    workbook.add_worksheet("ignored").write_row(0, 0, ["not", "read"])  # only the first sheet counts
    workbook.close()


def write_format_xlsx(folder: Path) -> None:
    folder.mkdir(parents=True)
    write_xlsx(
        folder / "partners.xlsx", ["partner_id", "partner_name", "joined_on", "left_on", "region"], FORMAT_PARTNERS
    )
    write_xlsx(folder / "partner_users.xlsx", ["user_id", "partner_id"], [("U1", "P1")])
    write_xlsx(folder / "activities.xlsx", ["partner_id", "user_id", "occurred_at", "activity"], FORMAT_ACTIVITIES)
    write_xlsx(
        folder / "deals.xlsx",
        ["deal_id", "partner_id", "registered_on", "status", "closed_on", "amount", "mrr"],
        FORMAT_DEALS,
    )
    write_xlsx(
        folder / "investments.xlsx",
        ["partner_id", "spent_on", "category", "amount"],
        [("P1", date(2026, 2, 1), "mdf", 250)],
    )


def test_csv_parquet_and_xlsx_load_to_identical_tables(tmp_path: Path) -> None:
    loaded: dict[str, dict[str, pl.DataFrame]] = {}
    for fmt, write in (("csv", write_format_csv), ("parquet", write_format_parquet), ("xlsx", write_format_xlsx)):
        folder = tmp_path / fmt
        write(folder)
        assert {p.suffix for p in folder.iterdir()} == {"." + fmt}
        code, out, err = run("load", folder, "--db", tmp_path / f"{fmt}.duckdb")
        assert code == 0, err
        loaded[fmt] = db_tables(tmp_path / f"{fmt}.duckdb")
    for name in TABLE_NAMES:
        assert_frame_equal(loaded["parquet"][name], loaded["csv"][name])
        assert_frame_equal(loaded["xlsx"][name], loaded["csv"][name])
    # And the CSV load itself holds the values written.
    deals = loaded["csv"]["deals"]
    assert deals.select("deal_id", "amount", "mrr").rows() == [("D1", 1500.5, 20.0), ("D2", 0.0, 0.0)]
    assert loaded["csv"]["activities"]["occurred_on"].to_list() == [date(2026, 3, 1), date(2026, 1, 15)]
    assert loaded["csv"]["partners"]["left_on"].to_list() == [None, date(2026, 1, 31)]


def test_parquet_datetime_with_a_time_is_not_a_date(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    pl.DataFrame(
        {
            "partner_id": ["P1", "P2"],
            "partner_name": ["A", "B"],
            "joined_on": [datetime(2025, 1, 1), datetime(2025, 1, 1, 9)],
        }
    ).write_parquet(folder / "partners.parquet")
    found = problems_in(folder)
    assert where(found) == {("partners.parquet", 3, "joined_on")}


def test_xlsx_formula_is_read_as_its_cached_value(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    write_xlsx(folder / "partners.xlsx", ["partner_id", "partner_name", "joined_on"], [("P1", "x", date(2025, 1, 1))])
    workbook = xlsxwriter.Workbook(str(folder / "deals.xlsx"))
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, ["deal_id", "partner_id", "registered_on", "status", "closed_on", "amount"])
    sheet.write_row(1, 0, ["D1", "P1", "2026-01-10", "won", "2026-02-01"])
    # The cached result (700) differs from what the formula computes (2): the cache is the data.
    sheet.write_formula(1, 5, "=1+1", None, 700)
    sheet.write_formula(2, 0, '="D"&"2"', None, "D2")
    sheet.write_row(2, 1, ["P1", "2026-01-11", "open"])
    workbook.close()
    validation = read_dataset(folder)
    assert validation.ok, validation.problem_lines()
    deals = validation.tables["deals"].sort("deal_id")
    assert deals.select("deal_id", "amount").rows() == [("D1", 700.0), ("D2", 0.0)]


def test_xlsx_row_numbers_count_blank_rows(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    workbook = xlsxwriter.Workbook(str(folder / "partners.xlsx"))
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, ["partner_id", "partner_name", "joined_on"])
    sheet.write_row(1, 0, ["P1", "Alpha", "2025-01-01"])
    # Row 3 is left blank; the faulty record is on spreadsheet row 4.
    sheet.write_row(3, 0, ["P2", "Beta", "2025-13-01"])
    workbook.close()
    found = problems_in(folder)
    assert where(found) == {("partners.xlsx", 4, "joined_on")}


def test_two_files_for_one_table_is_a_problem(tmp_path: Path) -> None:
    folder = write_csv_folder(tmp_path / "src", base_tables())
    write_xlsx(folder / "partners.xlsx", ["partner_id", "partner_name", "joined_on"], [("P1", "x", date(2025, 1, 1))])
    validation = read_dataset(folder)
    assert not validation.ok
    messages = [p["problem"] for p in validation.problems.to_dicts() if p["file"] == "partners.csv"]
    assert len(messages) == 1
    assert "partners.csv" in messages[0] and "partners.xlsx" in messages[0]


@pytest.mark.parametrize(
    "text",
    [
        'deal_id,partner_id,registered_on,status\n"D1,P1,2026-01-10,open\n',  # unclosed quote
        "deal_id,partner_id,registered_on,status\nD1,P1,2026-01-10,open,extra,fields\n",  # ragged
    ],
    ids=["unclosed quote", "ragged"],
)
def test_unreadable_csv_is_a_problem_naming_the_file(tmp_path: Path, text: str) -> None:
    folder = write_csv_folder(tmp_path / "src", {"partners": [partner("P1")]})
    write_csv_text(folder, "deals.csv", text)
    code, _, err = run("load", folder, "--db", tmp_path / "kpi.duckdb")
    assert code == 2
    assert "Traceback" not in err
    assert "  deals.csv: cannot be read as CSV" in err
    assert not (tmp_path / "kpi.duckdb").exists()


def test_bom_does_not_break_the_first_column_name(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "partners.csv").write_bytes("\ufeffpartner_id,partner_name,joined_on\nP1,Alpha,2025-01-01\n".encode())
    validation = read_dataset(folder)
    assert validation.ok, validation.problem_lines()
    assert validation.warnings == []
    assert validation.tables["partners"]["partner_id"].to_list() == ["P1"]


def test_a_quoted_line_break_is_one_spreadsheet_row(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    # Row 2 holds a name written over two lines; the bad date is on spreadsheet row 3, line 4 of the file.
    write_csv_text(
        folder,
        "partners.csv",
        'partner_id,partner_name,joined_on\nP1,"Alpha\nand Sons",2025-01-01\nP2,Beta,2025-01-32\n',
    )
    assert where(problems_in(folder)) == {("partners.csv", 3, "joined_on")}


def test_semicolons_crlf_and_windows_1252_are_read_with_a_warning(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    text = "partner_id;partner_name;joined_on\r\nP1;Müller & Söhne;2025-01-01\r\nP2;Café Brûlé;2025-02-01\r\n"
    (folder / "partners.csv").write_bytes(text.encode("cp1252"))
    validation = read_dataset(folder)
    assert validation.ok, validation.problem_lines()
    assert validation.tables["partners"]["partner_name"].to_list() == ["Müller & Söhne", "Café Brûlé"]
    assert len(validation.warnings) == 1 and "partners.csv: not UTF-8 text" in validation.warnings[0]


def test_too_many_rows_is_a_problem_naming_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_csv_folder(tmp_path / "src", base_tables())
    monkeypatch.setenv("KPI_MAX_ROWS", "1")
    found = problems_in(folder)
    assert {(p["file"], p["problem"]) for p in found} == {
        ("partners.csv", "has more than 1 rows, the limit (set KPI_MAX_ROWS to change it)"),
        ("partner_users.csv", "has more than 1 rows, the limit (set KPI_MAX_ROWS to change it)"),
    }


# --- atomic loads -------------------------------------------------------------------------------


def summary_of(db: Path) -> dict[str, object]:
    code, out, err = run("summary", "--db", db, "--as-of", "2026-03-31", "--window-days", "90")
    assert code == 0, err
    return json.loads(out)


def test_refused_load_changes_nothing_and_good_load_replaces_everything(tmp_path: Path) -> None:
    db = tmp_path / "db" / "kpi.duckdb"
    good = write_csv_folder(tmp_path / "good", base_tables())
    assert run("load", good, "--db", db)[0] == 0
    assert sorted(p.name for p in db.parent.iterdir()) == ["kpi.duckdb", "kpi.duckdb.history"]
    before_bytes = db.read_bytes()
    before = summary_of(db)
    # P1: deal D1 won on 2026-02-01 worth 1000 + 12 x 10; investment 100 on 2026-02-01.
    assert (before["partners"], before["revenue"], before["cost"], before["mrr"]) == (2, 1120.0, 100.0, 10.0)

    bad_tables = base_tables()
    bad_tables["deals"][0]["amount"] = "$5"
    bad = write_csv_folder(tmp_path / "bad", bad_tables)
    code, out, err = run("load", bad, "--db", db)
    assert code == 2
    assert out == ""
    assert "deals.csv, row 2, column amount" in err
    assert db.read_bytes() == before_bytes
    assert summary_of(db) == before
    assert sorted(p.name for p in db.parent.iterdir()) == ["kpi.duckdb", "kpi.duckdb.history"]

    # A new good dataset without P2 and without deals: everything old is gone.
    new_tables = base_tables()
    new_tables["partners"] = [partner("P1")]
    new_tables["partner_users"] = [{"user_id": "U1", "partner_id": "P1"}]
    del new_tables["deals"]
    new = write_csv_folder(tmp_path / "new", new_tables)
    assert run("load", new, "--db", db)[0] == 0
    after = summary_of(db)
    assert (after["partners"], after["revenue"], after["cost"], after["mrr"]) == (1, 0.0, 100.0, 0.0)
    assert db_tables(db)["partners"]["partner_id"].to_list() == ["P1"]
    assert db_tables(db)["deals"].height == 0
    assert sorted(p.name for p in db.parent.iterdir()) == ["kpi.duckdb", "kpi.duckdb.history"]


def test_dataset_id_changes_with_every_load(tmp_path: Path) -> None:
    validation = read_dataset(write_csv_folder(tmp_path / "src", base_tables()))
    db = tmp_path / "kpi.duckdb"
    first = write_dataset(validation.tables, db, source="a", loaded_at=datetime(2026, 1, 1))
    second = write_dataset(validation.tables, db, source="b", loaded_at=datetime(2026, 1, 2))
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.sql("select dataset_id, source from dataset").fetchall() == [(second, "b")]
    finally:
        con.close()
    assert first != second


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
