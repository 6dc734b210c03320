"""Streamed loads (kpi.ingest): a folder is read, checked and written a chunk at a time, all or nothing.

`python -m kpi load` reads each file `chunk_rows` rows at a time. These tests use tiny
chunks (one to a few rows) on small files written here, so every rule meets chunk
boundaries, and check what a user sees: the right spreadsheet row for a problem in a
later chunk, both rows of a duplicate that chunks split, a refused load that leaves the
database byte for byte as it was, and the same data loaded whatever the chunk size.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
from polars.testing import assert_frame_equal

from kpi import history
from kpi.ingest import check_mapped, load_folder, load_mapped, load_with_mapping, read_dataset
from kpi.mapping import FileMapping, Mapping, TableMapping
from kpi.read import open_source
from tests.conftest import (
    Rows,
    base_tables,
    db_tables,
    partner,
    run_cli,
    write_csv_folder,
    write_text,
)

LOADED_AT = datetime(2026, 4, 1, 9, 0)


# --- helpers ---------------------------------------------------------------------------------


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def where(problems: pl.DataFrame) -> list[tuple[object, ...]]:
    return [(p["file"], p["row"], p["column"], p["value"]) for p in problems.to_dicts()]


def chunk_count(path: Path, chunk_rows: int) -> int:
    return sum(1 for _ in open_source(path.name, path, header_row=1, chunk_rows=chunk_rows).chunks())


def small_program() -> dict[str, Rows]:
    """Three partners, two users, eight activities, five deals, two investments: all valid."""
    return {
        "partners": [partner("P1"), partner("P2"), partner("P3", joined="2025-06-01")],
        "partner_users": [
            {"user_id": "U1", "partner_id": "P1", "user_name": "Ann"},
            {"user_id": "U2", "partner_id": "P2", "user_name": "Bob"},
        ],
        "activities": [
            {"partner_id": pid, "user_id": user, "occurred_at": when, "activity": kind, "item_name": item}
            for pid, user, when, kind, item in [
                ("P1", "U1", "2026-03-01", "training_completed", "Intro"),
                ("P1", "U1", "2026-03-02T10:00:00", "content_shared", "Deck, v2"),
                ("P2", "U2", "2026-03-03", "login", None),
                ("P2", None, "2026-03-04", "content_viewed", "Case study"),
                ("P3", None, "2026-03-05", "login", None),
                ("P1", None, "2026-03-06", "content_shared", "Deck"),
                ("P2", "U2", "2026-03-07", "training_completed", "Advanced"),
                ("P3", None, "2026-03-08", "content_viewed", "Video"),
            ]
        ],
        "deals": [
            {"deal_id": "D1", "partner_id": "P1", "registered_on": "2026-01-05", "status": "won",
             "closed_on": "2026-02-01", "amount": "1000", "mrr": "10"},
            {"deal_id": "D2", "partner_id": "P2", "registered_on": "2026-01-06", "status": "open", "amount": "500"},
            {"deal_id": "D3", "partner_id": "P1", "registered_on": "2026-01-07", "status": "lost",
             "closed_on": "2026-01-20", "amount": "0"},
            {"deal_id": "D4", "partner_id": "P3", "registered_on": "2026-02-01", "status": "won",
             "closed_on": "2026-03-01", "amount": "250.5"},
            {"deal_id": "D5", "partner_id": "P2", "registered_on": "2026-02-02", "status": "open"},
        ],
        "investments": [
            {"partner_id": "P1", "spent_on": "2026-02-01", "category": "mdf", "amount": "100"},
            {"partner_id": "P2", "spent_on": "2026-02-15", "category": "spiff", "amount": "40"},
        ],
    }  # fmt: skip


def write_parquet_folder(folder: Path, tables: dict[str, Rows]) -> Path:
    """The same rows as Parquet, typed the way exports type them (dates, numbers)."""
    folder.mkdir(parents=True, exist_ok=True)
    csv_folder = write_csv_folder(folder.with_name(folder.name + "-csv"), tables)
    for name in tables:
        frame = pl.read_csv(csv_folder / f"{name}.csv", infer_schema=False)
        typed = frame.with_columns(
            [pl.col(c).str.to_date() for c in frame.columns if c.endswith("_on")]
            + [pl.col(c).cast(pl.Float64) for c in frame.columns if c in ("amount", "mrr")]
        )
        typed.write_parquet(folder / f"{name}.parquet")
    return folder


def write_xlsx_folder(folder: Path, tables: dict[str, Rows]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    csv_folder = write_csv_folder(folder.with_name(folder.name + "-csv"), tables)
    for name in tables:
        frame = pl.read_csv(csv_folder / f"{name}.csv", infer_schema=False)
        workbook = xlsxwriter.Workbook(str(folder / f"{name}.xlsx"))
        sheet = workbook.add_worksheet()
        sheet.write_row(0, 0, frame.columns)
        for i, row in enumerate(frame.rows(), start=1):
            sheet.write_row(i, 0, ["" if v is None else v for v in row])
        workbook.close()
    return folder


# --- a problem in a later chunk --------------------------------------------------------------


# Spreadsheet rows: 1 header; 2, 3 records; 4 one record over two lines (a quoted line
# break); 5 blank; 6, 7, 8 records; 9 bad activity; 10 bad date.
ACTIVITIES_CSV = (
    "partner_id,user_id,occurred_at,activity,item_id,item_name\n"
    "P1,U1,2026-03-01,login,,\n"
    "P2,U2,2026-03-02,login,,\n"
    'P1,,2026-03-03,content_shared,C1,"Deck\nsecond line"\n'
    "\n"
    "P2,,2026-03-04,content_viewed,C1,Deck\n"
    "P3,,2026-03-05,login,,\n"
    "P1,U1,2026-03-06,training_completed,T1,Intro\n"
    "P2,U2,2026-03-07,log in,,\n"
    "P3,,07/03/2026,login,,\n"
)


@pytest.mark.parametrize("chunk_rows", [1, 2, 3])
def test_a_problem_in_a_later_chunk_names_its_spreadsheet_row(tmp_path: Path, chunk_rows: int) -> None:
    tables = small_program()
    del tables["activities"]
    folder = write_csv_folder(tmp_path / "src", tables)
    write_text(folder, "activities.csv", ACTIVITIES_CSV)
    assert chunk_count(folder / "activities.csv", chunk_rows) >= 3  # the bad rows are chunks away from the top

    loaded = load_folder(folder, tmp_path / "kpi.duckdb", loaded_at=LOADED_AT, chunk_rows=chunk_rows)

    assert loaded.record is None
    assert where(loaded.validation.problems) == [
        ("activities.csv", 9, "activity", "log in"),
        ("activities.csv", 10, "occurred_at", "07/03/2026"),
    ]
    assert loaded.validation.problem_lines()[0] == (
        "activities.csv, row 9, column activity: must be one of login, training_completed, content_viewed, "
        "content_shared (value 'log in')"
    )
    assert not (tmp_path / "kpi.duckdb").exists()


@pytest.mark.parametrize("chunk_rows", [1, 2])
def test_a_reference_in_a_later_chunk_is_checked_against_every_partner_and_user(
    tmp_path: Path, chunk_rows: int
) -> None:
    tables = small_program()
    # Row 9: a partner no file names. Row 8: U1 is a user of P1, not of P3.
    tables["activities"][6] = {**tables["activities"][6], "partner_id": "P3", "user_id": "U1"}
    tables["activities"][7] = {**tables["activities"][7], "partner_id": "P9"}
    # The partners this refers to are in the last chunk of partners.csv.
    tables["deals"][4] = {**tables["deals"][4], "partner_id": "P3"}
    folder = write_csv_folder(tmp_path / "src", tables)

    loaded = load_folder(folder, tmp_path / "kpi.duckdb", loaded_at=LOADED_AT, chunk_rows=chunk_rows)

    assert where(loaded.validation.problems) == [
        ("activities.csv", 8, "user_id", "U1"),
        ("activities.csv", 9, "partner_id", "P9"),
    ]


# --- uniqueness across chunks ----------------------------------------------------------------


@pytest.mark.parametrize("write", [write_csv_folder, write_parquet_folder, write_xlsx_folder])
def test_a_duplicate_deal_id_split_across_chunks_names_both_rows(tmp_path: Path, write: object) -> None:
    tables = small_program()
    tables["deals"][4] = {**tables["deals"][4], "deal_id": "D1"}  # row 6 repeats row 2
    folder = write(tmp_path / "src", tables)  # type: ignore[operator]
    db = tmp_path / "kpi.duckdb"
    first = load_folder(write_csv_folder(tmp_path / "good", small_program()), db, loaded_at=LOADED_AT, chunk_rows=2)
    assert first.record is not None
    before = tree(tmp_path / "kpi.duckdb.history") | {"kpi.duckdb": db.read_bytes()}

    loaded = load_folder(folder, db, loaded_at=datetime(2026, 4, 8), chunk_rows=2)

    deals_file = next(p.name for p in folder.iterdir() if p.stem == "deals")
    assert loaded.record is None
    assert where(loaded.validation.problems) == [
        (deals_file, 2, "deal_id", "D1"),
        (deals_file, 6, "deal_id", "D1"),
    ]
    assert set(loaded.validation.problems["problem"]) == {"is not unique: the same value is on another row"}
    # The database's own primary key met the duplicate mid-write: still nothing changed.
    assert tree(tmp_path / "kpi.duckdb.history") | {"kpi.duckdb": db.read_bytes()} == before
    assert [r.load_id for r in history.list_loads(db)] == [first.record.load_id]


def test_monthly_exports_with_the_same_id_in_two_files_name_each_file(tmp_path: Path) -> None:
    folder = tmp_path / "crm"
    write_text(folder, "accounts.csv", "Account ID,Name,Since\nP1,Alpha,2025-01-01\nP2,Beta,2025-01-01\n")
    header = "Deal,Account,Registered,Stage\n"
    write_text(folder, "deals-01.csv", header + "D1,P1,2026-01-05,open\nD2,P1,2026-01-06,open\nD3,P2,2026-01-07,open\n")
    write_text(folder, "deals-02.csv", header + "D4,P2,2026-02-01,open\nD2,P2,2026-02-02,open\n")
    mapping = Mapping(
        "crm",
        (
            FileMapping("accounts.csv", (), 1, ",", TableMapping("partners", {"partner_id": ("Account ID",),
                        "partner_name": ("Name",), "joined_on": ("Since",)})),
            FileMapping("deals-*.csv", (), 1, ",", TableMapping("deals", {"deal_id": ("Deal",),
                        "partner_id": ("Account",), "registered_on": ("Registered",), "status": ("Stage",)})),
        ),
    )  # fmt: skip

    loaded = load_mapped(folder, mapping, tmp_path / "kpi.duckdb", loaded_at=LOADED_AT, chunk_rows=1)

    assert where(loaded.validation.problems) == [
        ("deals-01.csv", 3, "deal_id", "D2"),
        ("deals-02.csv", 3, "deal_id", "D2"),
    ]
    assert not (tmp_path / "kpi.duckdb").exists()


# --- a refused load changes nothing ----------------------------------------------------------


def test_a_load_refused_after_many_clean_chunks_leaves_the_database_byte_identical(tmp_path: Path) -> None:
    db = tmp_path / "data" / "kpi.duckdb"
    week1 = load_folder(write_csv_folder(tmp_path / "week1", small_program()), db, loaded_at=LOADED_AT, chunk_rows=2)
    tables = small_program()
    tables["partners"].append(partner("P4"))
    week2 = load_folder(write_csv_folder(tmp_path / "week2", tables), db, loaded_at=datetime(2026, 4, 8), chunk_rows=2)
    assert week1.record is not None and week2.record is not None
    before_files = tree(db.parent)
    before_loads = history.list_loads(db)

    # Every chunk of partners, users and deals is clean and is written; the last
    # investment (after them all) has a negative amount.
    tables["investments"][-1] = {**tables["investments"][-1], "amount": "-40"}
    refused = load_folder(
        write_csv_folder(tmp_path / "week3", tables), db, loaded_at=datetime(2026, 4, 15), chunk_rows=1
    )

    assert refused.record is None
    assert where(refused.validation.problems) == [("investments.csv", 3, "amount", "-40")]
    assert refused.table_rows["activities"] == 8  # every activity chunk went by before the refusal
    assert tree(db.parent) == before_files  # live bytes, kept files, no work file left
    assert history.list_loads(db) == before_loads


def test_a_file_that_breaks_part_way_is_one_problem_and_its_earlier_rows_add_nothing(tmp_path: Path) -> None:
    tables = small_program()
    del tables["activities"]
    folder = write_csv_folder(tmp_path / "src", tables)
    # Row 3 has a bad activity, row 6 one field too many: the file cannot be read.
    lines = ACTIVITIES_CSV.splitlines(keepends=True)
    text = (
        "".join(lines[:2])
        + "P2,U2,2026-03-02,log in,,\n"
        + "P1,U1,2026-03-06,login,,\n" * 2
        + "P1,U1,x,login,,,extra\n"
    )
    write_text(folder, "activities.csv", text)

    for chunk_rows in (1, 2, None):
        if chunk_rows is None:
            problems = read_dataset(folder).problems
        else:
            loaded = load_folder(folder, tmp_path / "kpi.duckdb", loaded_at=LOADED_AT, chunk_rows=chunk_rows)
            problems = loaded.validation.problems
            assert loaded.record is None
        assert [(p["file"], p["row"], p["column"]) for p in problems.to_dicts()] == [("activities.csv", None, "")]
        assert str(problems["problem"][0]).startswith("cannot be read as CSV")
    assert not (tmp_path / "kpi.duckdb").exists()


def test_the_row_limit_counts_rows_across_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPI_MAX_ROWS", "7")
    folder = write_csv_folder(tmp_path / "src", small_program())  # 8 activities: one too many
    loaded = load_folder(folder, tmp_path / "kpi.duckdb", loaded_at=LOADED_AT, chunk_rows=3)
    assert [(p["file"], p["problem"]) for p in loaded.validation.problems.to_dicts()] == [
        ("activities.csv", "has more than 7 rows, the limit (set KPI_MAX_ROWS to change it)")
    ]
    assert loaded.record is None


def summary_of(db: Path) -> dict[str, object]:
    code, out, err = run_cli("summary", "--db", db, "--as-of", "2026-03-31", "--window-days", "90")
    assert code == 0, err
    return json.loads(out)


def test_refused_load_changes_nothing_and_good_load_replaces_everything(tmp_path: Path) -> None:
    db = tmp_path / "db" / "kpi.duckdb"
    good = write_csv_folder(tmp_path / "good", base_tables())
    assert run_cli("load", good, "--db", db)[0] == 0
    assert sorted(p.name for p in db.parent.iterdir()) == ["kpi.duckdb", "kpi.duckdb.history"]
    before_bytes = db.read_bytes()
    before = summary_of(db)
    # P1: deal D1 won on 2026-02-01 worth 1000 + 12 x 10; investment 100 on 2026-02-01.
    assert (before["partners"], before["revenue"], before["cost"], before["mrr"]) == (2, 1120.0, 100.0, 10.0)

    bad_tables = base_tables()
    bad_tables["deals"][0]["amount"] = "$5"
    bad = write_csv_folder(tmp_path / "bad", bad_tables)
    code, out, err = run_cli("load", bad, "--db", db)
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
    assert run_cli("load", new, "--db", db)[0] == 0
    after = summary_of(db)
    assert (after["partners"], after["revenue"], after["cost"], after["mrr"]) == (1, 0.0, 100.0, 0.0)
    assert db_tables(db)["partners"]["partner_id"].to_list() == ["P1"]
    assert db_tables(db)["deals"].height == 0
    assert sorted(p.name for p in db.parent.iterdir()) == ["kpi.duckdb", "kpi.duckdb.history"]


# --- the same data whatever the chunk size ---------------------------------------------------


@pytest.mark.parametrize("write", [write_csv_folder, write_parquet_folder, write_xlsx_folder])
def test_a_chunked_load_writes_the_same_database_as_a_one_chunk_load(tmp_path: Path, write: object) -> None:
    folder = write(tmp_path / "src", small_program())  # type: ignore[operator]
    whole = read_dataset(folder)
    assert whole.ok, whole.problem_lines()
    expected = {name: frame.sort(pl.all(), nulls_last=True) for name, frame in whole.tables.items()}
    assert expected["deals"].filter(pl.col("deal_id") == "D5").row(0, named=True)["amount"] == 0.0
    assert expected["activities"]["occurred_on"].to_list()[:2] == [date(2026, 3, 1), date(2026, 3, 2)]

    for chunk_rows in (1, 2, 3, 50_000):
        db = tmp_path / f"kpi-{chunk_rows}.duckdb"
        loaded = load_folder(folder, db, loaded_at=LOADED_AT, chunk_rows=chunk_rows)
        assert loaded.record is not None, loaded.validation.problem_lines()
        assert loaded.record.table_rows == {
            "partners": 3, "partner_users": 2, "activities": 8, "deals": 5, "investments": 2,
        }  # fmt: skip
        assert [(f.table, f.rows) for f in loaded.record.files] == [
            ("partners", 3), ("partner_users", 2), ("activities", 8), ("deals", 5), ("investments", 2),
        ]  # fmt: skip
        for name, frame in db_tables(db).items():
            assert_frame_equal(frame, expected[name], check_dtypes=False)


def test_every_problem_is_the_same_whatever_the_chunk_size(tmp_path: Path) -> None:
    tables = small_program()
    tables["partners"] += [
        {"partner_id": "P4", "joined_on": "2025-01-01"},  # row 5: no name
        partner("P5", joined="2025/01/01"),  # row 6: bad date
        partner("P6", joined="2025-06-01", left="2025-01-01"),  # row 7: left before joining
        partner("P2"),  # row 8: duplicate of row 3
    ]
    tables["deals"] += [
        {"deal_id": "D6", "partner_id": "P1", "registered_on": "2026-01-10", "status": "pending"},  # row 7
        {"deal_id": "D7", "partner_id": "P1", "registered_on": "2026-01-10", "status": "won",
         "closed_on": "2026-01-01", "amount": "1,000", "mrr": "-1"},  # row 8: three faults
        {"deal_id": "D1", "partner_id": "P8", "registered_on": "2026-01-10", "status": "open"},  # row 9: two faults
    ]  # fmt: skip
    tables["activities"][3] = {**tables["activities"][3], "user_id": "U1"}  # row 5: U1 is P1's user, not P2's
    folder = write_csv_folder(tmp_path / "src", tables)
    whole = read_dataset(folder).problems
    assert set(where(whole)) == {
        ("partners.csv", 3, "partner_id", "P2"),
        ("partners.csv", 5, "partner_name", None),
        ("partners.csv", 6, "joined_on", "2025/01/01"),
        ("partners.csv", 7, "left_on", "2025-01-01"),
        ("partners.csv", 8, "partner_id", "P2"),
        ("activities.csv", 5, "user_id", "U1"),
        ("deals.csv", 2, "deal_id", "D1"),
        ("deals.csv", 7, "status", "pending"),
        ("deals.csv", 8, "amount", "1,000"),
        ("deals.csv", 8, "mrr", "-1"),
        ("deals.csv", 8, "closed_on", "2026-01-01"),
        ("deals.csv", 9, "deal_id", "D1"),
        ("deals.csv", 9, "partner_id", "P8"),
    }
    assert whole.height == 13
    for chunk_rows in (1, 2, 4):
        loaded = load_folder(folder, tmp_path / "kpi.duckdb", loaded_at=LOADED_AT, chunk_rows=chunk_rows)
        assert_frame_equal(loaded.validation.problems, whole)


# --- a mapping, a chunk at a time ------------------------------------------------------------


CRM_ACTIVITIES = (
    "Account ID,Contact,When,Type,Asset\n"
    "P1,U1,03/01/2026 09:00:00,Course Completed,Intro\n"
    "P2,,03/02/2026 10:00:00,Portal Login,\n"
    ",,03/03/2026 11:00:00,Asset Viewed,Deck\n"  # row 4: no account: left out
    "P2,U2,03/04/2026 12:00:00,Asset Shared,Deck\n"
    ",U1,03/05/2026 13:00:00,Portal Login,\n"  # row 6: left out
    "P1,,03/06/2026 14:00:00,Asset Viewed,Video\n"
    "P3,,03/07/2026 15:00:00,Portal Login,\n"
)


CRM_MAPPING = TableMapping(
    "activities",
    {
        "partner_id": ("Account ID",),
        "user_id": ("Contact",),
        "occurred_at": ("When",),
        "activity": ("Type",),
        "item_name": ("Asset",),
    },
    values={
        "activity": {
            "Course Completed": "training_completed",
            "Portal Login": "login",
            "Asset Viewed": "content_viewed",
            "Asset Shared": "content_shared",
        }
    },
    date_format="%m/%d/%Y %H:%M:%S",
    skip_incomplete=True,
)


def crm_folder(folder: Path, activities: str = CRM_ACTIVITIES) -> tuple[Path, Mapping]:
    tables = small_program()
    del tables["activities"]
    write_csv_folder(folder, tables)
    write_text(folder, "crm_activities.csv", activities)
    files = [
        FileMapping(f"{name}.csv", (), 1, ",", TableMapping(name, {c: (c,) for c in rows[0] if rows[0][c] is not None}))
        for name, rows in tables.items()
        if name in ("partners", "partner_users")
    ]
    files.append(FileMapping("crm_activities.csv", (), 1, ",", CRM_MAPPING))
    return folder, Mapping("crm", tuple(files))


@pytest.mark.parametrize("chunk_rows", [1, 2, 3])
def test_a_mapping_applied_a_chunk_at_a_time_loads_what_a_whole_read_loads(tmp_path: Path, chunk_rows: int) -> None:
    folder, mapping = crm_folder(tmp_path / "crm")
    whole = load_with_mapping(folder, mapping)
    assert whole.ok, whole.problem_lines()
    # Two rows without an account are left out, counted over the whole file.
    left_out = (
        "crm_activities.csv: left out 2 row(s) without a required value "
        "(partner_id (from Account ID) empty on 2): skip_incomplete is on"
    )
    assert left_out in whole.warnings

    db = tmp_path / f"kpi-{chunk_rows}.duckdb"
    loaded = load_mapped(folder, mapping, db, loaded_at=LOADED_AT, chunk_rows=chunk_rows)

    assert loaded.record is not None, loaded.validation.problem_lines()
    assert loaded.validation.warnings == whole.warnings
    assert loaded.record.mapping_name == "crm"
    activities = db_tables(db)["activities"]
    assert_frame_equal(activities, whole.tables["activities"].sort(pl.all(), nulls_last=True), check_dtypes=False)
    assert activities.select("partner_id", "occurred_on", "activity").rows()[:2] == [
        ("P1", date(2026, 3, 1), "training_completed"),
        ("P1", date(2026, 3, 6), "content_viewed"),
    ]


def test_a_date_not_in_the_mappings_format_in_a_later_chunk_names_its_row(tmp_path: Path) -> None:
    activities = CRM_ACTIVITIES.replace("03/07/2026 15:00:00", "March 7 2026")  # row 8
    folder, mapping = crm_folder(tmp_path / "crm", activities)
    loaded = load_mapped(folder, mapping, tmp_path / "kpi.duckdb", loaded_at=LOADED_AT, chunk_rows=2)
    assert loaded.validation.problems.to_dicts() == [
        {
            "file": "crm_activities.csv",
            "row": 8,
            "column": "occurred_at",
            "value": "March 7 2026",
            "problem": "is not a date or timestamp in the mapping's format MM/DD/YYYY %H:%M:%S "
            "(%m/%d/%Y %H:%M:%S) (a time may follow)",
        }
    ]
    assert loaded.record is None


# --- the Data page's check: streamed, writing nothing ----------------------------------------


@pytest.mark.parametrize("chunk_rows", [1, 4])
def test_a_streamed_check_finds_what_the_whole_read_finds_and_writes_nothing(tmp_path: Path, chunk_rows: int) -> None:
    bad = CRM_ACTIVITIES.replace("Portal Login", "log in", 1)
    folder, mapping = crm_folder(tmp_path / "crm", bad)
    before = tree(tmp_path)

    checked = check_mapped(folder, mapping, chunk_rows=chunk_rows)
    whole = load_with_mapping(folder, mapping)

    assert checked.record is None
    assert checked.validation.problem_lines() == whole.problem_lines()
    # The first "Portal Login" is on row 3 (the header is row 1).
    assert where(checked.validation.problems) == [("crm_activities.csv", 3, "activity", "log in")]
    assert tree(tmp_path) == before  # no database, no work file

    good, mapping = crm_folder(tmp_path / "good")
    clean = check_mapped(good, mapping, chunk_rows=chunk_rows)
    reference = load_with_mapping(good, mapping)
    assert clean.validation.ok
    assert clean.table_rows == {name: frame.height for name, frame in reference.tables.items()}
    assert clean.table_rows["activities"] == 5  # seven rows, two without an account left out
