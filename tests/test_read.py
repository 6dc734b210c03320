"""Reading files (kpi.read): CSV, Parquet and Excel as text with spreadsheet row numbers,
header checks, the size and row limits, chunks and previews.

Every file here is written by the test itself. Row numbers are the ones a user sees in the
spreadsheet (the header row counts).
"""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
from polars.testing import assert_frame_equal

from kpi.ingest import load_with_mapping, read_dataset
from kpi.mapping import FileMapping, Mapping, TableMapping
from kpi.read import open_source, preview_source, read_source
from kpi.schema import TABLE_NAMES
from kpi.source import SourceError
from kpi.suggest import suggest
from tests.conftest import (
    PARTNERS_CSV,
    base_tables,
    csv_source,
    db_tables,
    partner,
    partners_source,
    places,
    problems_in,
    records,
    run_cli,
    stage_export,
    write_csv_folder,
    write_text,
)

# --- formats ---------------------------------------------------------------------------------


def test_a_path_is_read_like_bytes(tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(PARTNERS_CSV)
    assert read_source("accounts.csv", path).frame.equals(partners_source().frame)


def test_parquet_is_read_as_text_with_row_numbers() -> None:
    buffer = io.BytesIO()
    pl.DataFrame(
        {"Deal": ["D1", "D2"], "Closed": [date(2026, 3, 15), None], "Value": [1500.5, 20.0], "Units": [3, 4]}
    ).write_parquet(buffer)
    source = read_source("deals.parquet", buffer.getvalue())
    assert source.headers == ("Deal", "Closed", "Value", "Units")
    assert records(source) == [
        {"_row": 2, "Deal": "D1", "Closed": "2026-03-15", "Value": "1500.5", "Units": "3"},
        {"_row": 3, "Deal": "D2", "Closed": None, "Value": "20.0", "Units": "4"},
    ]


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
        code, out, err = run_cli("load", folder, "--db", tmp_path / f"{fmt}.duckdb")
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
    assert places(found) == {("partners.parquet", 3, "joined_on")}


# --- Excel -----------------------------------------------------------------------------------


def write_report_xlsx(path: Path) -> None:
    """A CRM report saved as Excel: a title, a blank row, the header on row 4, date cells, a gap."""
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Report")
    day = workbook.add_format({"num_format": "mm/dd/yyyy"})
    moment = workbook.add_format({"num_format": "mm/dd/yyyy hh:mm"})
    sheet.write_string(0, 0, "Partner activity, Q1 2026")
    sheet.write_string(1, 0, "Confidential")
    sheet.write_row(3, 0, ["Partner", "Activity", "When", "Points", "Logged"])
    sheet.write_row(4, 0, ["Zoë GmbH", "Course Completed"])
    sheet.write_datetime(4, 2, datetime(2026, 3, 15), day)
    sheet.write_number(4, 3, 250)
    sheet.write_datetime(4, 4, datetime(2026, 3, 1, 10, 30), moment)
    # Row 6 is blank; row 7 has a date typed as text and a formula with a cached value.
    sheet.write_row(6, 0, ["Acme", "Login", "03/16/2026"])
    sheet.write_formula(6, 3, "=1+1", None, 700)
    workbook.add_worksheet("Other").write_row(0, 0, ["not", "read"])
    workbook.close()


def test_xlsx_header_below_a_title_dates_and_row_numbers(tmp_path: Path) -> None:
    path = tmp_path / "activity.xlsx"
    write_report_xlsx(path)
    source = read_source("activity.xlsx", path)
    assert (source.header_row, source.delimiter) == (4, None)
    assert source.headers == ("Partner", "Activity", "When", "Points", "Logged")
    assert records(source) == [
        {
            "_row": 5,
            "Partner": "Zoë GmbH",
            "Activity": "Course Completed",
            "When": "2026-03-15",  # an Excel date cell, whatever its display format
            "Points": "250",
            "Logged": "2026-03-01 10:30:00",
        },
        # The formula's cached value is the data: nothing is evaluated.
        {"_row": 7, "Partner": "Acme", "Activity": "Login", "When": "03/16/2026", "Points": "700", "Logged": None},
    ]
    assert read_source("activity.xlsx", path.read_bytes()).frame.equals(source.frame)


def test_xlsx_through_a_mapping_reports_the_sheet_row(tmp_path: Path) -> None:
    path = tmp_path / "activity.xlsx"
    write_report_xlsx(path)
    (tmp_path / "accounts.csv").write_text("Account Name,Since\nZoë GmbH,2025-01-01\n")
    mapping = Mapping(
        "xlsx",
        (
            FileMapping(
                "accounts.csv",
                ("Account Name", "Since"),
                1,
                ",",
                TableMapping(
                    "partners",
                    {"partner_id": "Account Name", "partner_name": "Account Name"},
                    {"joined_on": "2025-01-01"},
                ),
            ),
            FileMapping(
                "activity.xlsx",
                (),
                4,
                None,
                TableMapping(
                    "activities",
                    {"partner_id": "Partner", "occurred_at": "When", "activity": "Activity"},
                    values={"activity": {"Course Completed": "training_completed", "Login": "login"}},
                    date_format="%m/%d/%Y",
                ),
            ),
        ),
    )
    validation = load_with_mapping(tmp_path, mapping)
    # Acme is not a partner: reported on sheet row 7, where the user will look.
    assert validation.problem_lines() == [
        "activity.xlsx, row 7, column partner_id: is not a partner_id in partners (value 'Acme')"
    ]


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
    assert places(found) == {("partners.xlsx", 4, "joined_on")}


# --- headers, rows and files -----------------------------------------------------------------


def test_blank_rows_are_skipped_but_still_counted(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    # Record rows 2 and 4, a blank row 3, a bad date on row 5, a trailing blank line.
    write_text(
        folder,
        "partners.csv",
        "partner_id,partner_name,joined_on\nP1,Alpha,2025-01-01\n\nP2,Beta,2025-01-02\nP3,Gamma,someday\n\n",
    )
    found = problems_in(folder)
    assert places(found) == {("partners.csv", 5, "joined_on")}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "Partner,Amount,Partner\nA,1,B\n",
            "deals.csv: the header row names 'Partner' twice (columns 1 and 3); rename one of them",
        ),
        (
            "Partner,,Amount\nA,oops,1\n",
            "deals.csv: column 2 has values but no name in the header row; name it or delete the column",
        ),
        ("", "deals.csv: is empty: no header row and no data"),
        ('Partner,Amount\n"A,1\n', "deals.csv: cannot be read as CSV"),
        ("Partner,Amount\nA,1,2\n", "deals.csv: cannot be read as CSV"),
    ],
    ids=["duplicate header", "unnamed column with values", "empty file", "unclosed quote", "ragged row"],
)
def test_files_that_are_refused_say_why(text: str, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        read_source("deals.csv", text.encode(), header_row=1)
    assert str(caught.value).startswith(message)
    assert caught.value.file == "deals.csv"


def test_an_unnamed_empty_column_is_dropped_silently() -> None:
    source = csv_source("x.csv", "Partner,Amount,\nA,1,\nB,2,\n")
    assert source.headers == ("Partner", "Amount")


def test_unsupported_file_type_is_refused() -> None:
    with pytest.raises(
        SourceError, match=r"^deals\.xls: unsupported file type '\.xls'; use \.csv, \.parquet or \.xlsx"
    ):
        read_source("deals.xls", b"whatever")


def test_two_files_for_one_table_is_a_problem(tmp_path: Path) -> None:
    folder = write_csv_folder(tmp_path / "src", base_tables())
    write_xlsx(folder / "partners.xlsx", ["partner_id", "partner_name", "joined_on"], [("P1", "x", date(2025, 1, 1))])
    validation = read_dataset(folder)
    assert not validation.ok
    messages = [p["problem"] for p in validation.problems.to_dicts() if p["file"] == "partners.csv"]
    assert len(messages) == 1
    assert "partners.csv" in messages[0] and "partners.xlsx" in messages[0]


# --- limits ----------------------------------------------------------------------------------


def test_size_cap_from_the_argument_and_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    data = ("Partner,Amount\n" + "Alpha,1\n" * 200).encode()  # 1,615 bytes
    with pytest.raises(SourceError) as caught:
        read_source("big.csv", data, max_upload_mb=0.001)
    assert str(caught.value) == ("big.csv: is 0.0015 MB, over the 0.001 MB limit (set KPI_MAX_UPLOAD_MB to change it)")
    monkeypatch.setenv("KPI_MAX_UPLOAD_MB", "0.001")
    with pytest.raises(SourceError, match=r"^big\.csv: .*over the 0\.001 MB limit"):
        read_source("big.csv", data)
    # The argument overrides the environment.
    assert read_source("big.csv", data, max_upload_mb=1).frame.height == 200
    monkeypatch.setenv("KPI_MAX_UPLOAD_MB", "lots")
    with pytest.raises(SourceError, match="^big.csv: KPI_MAX_UPLOAD_MB must be a positive number, not 'lots'$"):
        read_source("big.csv", data)


@pytest.mark.parametrize("suffix", ["csv", "xlsx", "parquet"])
def test_row_cap_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str) -> None:
    frame = pl.DataFrame({"Partner": ["A", "B", "C"]})
    path = tmp_path / f"partners.{suffix}"
    getattr(frame, {"csv": "write_csv", "xlsx": "write_excel", "parquet": "write_parquet"}[suffix])(path)
    assert read_source(path.name, path, max_rows=3).frame.height == 3
    monkeypatch.setenv("KPI_MAX_ROWS", "2")
    with pytest.raises(SourceError) as caught:
        read_source(path.name, path)
    assert str(caught.value) == f"partners.{suffix}: has more than 2 rows, the limit (set KPI_MAX_ROWS to change it)"


def test_too_many_rows_is_a_problem_naming_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_csv_folder(tmp_path / "src", base_tables())
    monkeypatch.setenv("KPI_MAX_ROWS", "1")
    found = problems_in(folder)
    assert {(p["file"], p["problem"]) for p in found} == {
        ("partners.csv", "has more than 1 rows, the limit (set KPI_MAX_ROWS to change it)"),
        ("partner_users.csv", "has more than 1 rows, the limit (set KPI_MAX_ROWS to change it)"),
    }


# --- chunks and previews ---------------------------------------------------------------------


def test_parquet_is_read_a_slice_at_a_time_with_row_numbers(tmp_path: Path) -> None:
    path = tmp_path / "activities.parquet"
    pl.DataFrame(
        {
            "partner_id": [f"P{i}" for i in range(7)],
            "occurred_at": [datetime(2026, 3, i + 1, 12, 30) for i in range(7)],
            "activity": ["login"] * 7,
        }
    ).write_parquet(path, row_group_size=3)
    chunks = list(open_source(path.name, path, chunk_rows=2).chunks())
    assert [c.height for c in chunks] == [2, 2, 2, 1]
    assert pl.concat(chunks)["_row"].to_list() == [2, 3, 4, 5, 6, 7, 8]
    assert chunks[3].row(0, named=True) == {
        "partner_id": "P6",
        "occurred_at": "2026-03-07T12:30:00",
        "activity": "login",
        "_row": 8,
    }


def test_a_preview_holds_the_first_rows_but_counts_and_sees_every_value_of_the_whole_file(tmp_path: Path) -> None:
    path = write_text(tmp_path, "opportunities.csv", stage_export(250, late_stage="Negotiation"))

    source = preview_source(path.name, path, rows=100)

    assert source.is_preview
    assert source.frame.height == 100
    assert source.rows == 250  # the caption's row count is the whole file's
    assert source.frame["_row"].to_list()[:2] == [2, 3]
    # "Negotiation" is only on the last row, far past the preview: the value mapping still offers it.
    assert source.values("Stage", 40) == ["Closed Lost", "Closed Won", "Negotiation"]
    assert suggest(source, "deals").values["status"] == {
        "Closed Lost": "lost",
        "Closed Won": "won",
        "Negotiation": "open",
    }
    # A column with more distinct values than a preview keeps (ids) falls back to the first rows.
    assert "Opportunity ID" not in (source.distinct or {})
    assert source.values("Opportunity ID", 3) == ["O-1", "O-10", "O-100"]


def test_a_small_file_previews_whole_and_a_broken_row_past_the_preview_is_still_named(tmp_path: Path) -> None:
    small = write_text(tmp_path, "small.csv", stage_export(5))
    source = preview_source(small.name, small, rows=100)
    assert (source.rows, source.frame.height) == (5, 5)
    assert_frame_equal(source.frame, read_source(small.name, small).frame)

    broken = write_text(tmp_path, "broken.csv", stage_export(300) + 'O-301,P1,"03/01/2026\n')
    with pytest.raises(SourceError, match="broken.csv"):
        preview_source(broken.name, broken, rows=10)
