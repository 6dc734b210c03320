"""Real exports through a mapping (issue 3): reading every quirk, suggesting, applying, limits, CLI.

Every file here is written by the test itself, shaped like the exports channel teams have:
Salesforce and HubSpot reports, PRM portal activity logs, spreadsheets saved from Excel.
Row numbers are the ones a user sees in the spreadsheet (the header row counts).
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

from kpi.cli import main
from kpi.mapping import (
    FileMapping,
    Mapping,
    MappingError,
    SourceError,
    SourceFile,
    TableMapping,
    apply,
    find_saved,
    guess_table,
    load_mapped,
    load_with_mapping,
    preview_source,
    read_source,
    suggest,
    validate_mapped,
)

# --- helpers ---------------------------------------------------------------------------------


def run(*argv: str | Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def records(source: SourceFile) -> list[dict[str, object]]:
    return source.frame.to_dicts()


def csv_source(name: str, text: str, **kwargs: object) -> SourceFile:
    return read_source(name, text.encode("utf-8"), **kwargs)  # type: ignore[arg-type]


def problems(validation: object) -> set[tuple[object, object, object]]:
    """(file, row, column) of every problem."""
    return {(p["file"], p["row"], p["column"]) for p in validation.problems.to_dicts()}  # type: ignore[attr-defined]


PARTNERS_CSV = "Account ID,Account Name,Partner Since\nA1,Alpha,2025-01-01\nA2,Beta,2025-02-01\n"
PARTNERS_MAPPING = TableMapping(
    "partners",
    {"partner_id": "Account ID", "partner_name": "Account Name", "joined_on": "Partner Since"},
)


def partners_source() -> SourceFile:
    return csv_source("accounts.csv", PARTNERS_CSV)


# --- reading: CSV quirks -----------------------------------------------------------------------


def test_bom_crlf_semicolons_quotes_and_accents_read_as_in_the_spreadsheet() -> None:
    text = (
        "\ufeffPartner;Notes;Amount\r\n"
        '"Müller; Söhne GmbH";"said ""hi"", twice";"1.234,50"\r\n'
        '"Łódź Partners";"first line\r\nsecond line";12\r\n'
        "Café Ølstad;plain;7\r\n"
        "\r\n"
        ";;\r\n"
    )
    source = read_source("export.csv", text.encode("utf-8"))
    assert source.delimiter == ";"
    assert source.header_row == 1
    assert source.headers == ("Partner", "Notes", "Amount")  # no byte-order mark in the first name
    assert records(source) == [
        {"_row": 2, "Partner": "Müller; Söhne GmbH", "Notes": 'said "hi", twice', "Amount": "1.234,50"},
        {"_row": 3, "Partner": "Łódź Partners", "Notes": "first line\r\nsecond line", "Amount": "12"},
        # The record above spans two lines of the file but is one spreadsheet row.
        {"_row": 4, "Partner": "Café Ølstad", "Notes": "plain", "Amount": "7"},
    ]
    assert source.warnings == ()


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"], ids=["comma", "semicolon", "tab", "pipe"])
def test_the_delimiter_is_sniffed(delimiter: str) -> None:
    rows = [["Deal ID", "Partner", "Amount"], ["D1", "Smith, Jones & Co", "10.5"], ["D2", "Acme", "3"]]
    quoted = ['"Smith, Jones & Co"' if cell == "Smith, Jones & Co" else cell for cell in rows[1]]
    lines = [delimiter.join(rows[0]), delimiter.join(quoted), delimiter.join(rows[2])]
    source = read_source("deals.txt", ("\n".join(lines) + "\n").encode())
    assert source.delimiter == delimiter
    assert source.frame.drop("_row").rows() == [("D1", "Smith, Jones & Co", "10.5"), ("D2", "Acme", "3")]


def test_a_given_delimiter_wins_over_sniffing() -> None:
    source = read_source("x.csv", b"a;b,c\n1;2,3\n", delimiter=",")
    assert source.headers == ("a;b", "c")
    assert source.frame.drop("_row").rows() == [("1;2", "3")]


def test_a_title_above_the_header_is_found_and_rows_keep_their_numbers() -> None:
    text = (
        "Opportunity Pipeline Report,,,\n"
        "Generated 2026-03-31 by Dana,,,\n"
        ",,,\n"
        "Opportunity ID,Account Name,Stage,Amount\n"
        "O-1,Alpha,Closed Won,100\n"
        ",,,\n"
        "O-2,Beta,Prospecting,\n"
    )
    source = csv_source("pipeline.csv", text)
    assert source.header_row == 4
    assert source.headers == ("Opportunity ID", "Account Name", "Stage", "Amount")
    assert [(r["_row"], r["Opportunity ID"], r["Amount"]) for r in records(source)] == [
        (5, "O-1", "100"),
        (7, "O-2", None),
    ]
    # The same file with the header row given by hand.
    given = csv_source("pipeline.csv", text, header_row=4)
    assert given.frame.equals(source.frame)


def test_not_utf8_is_read_as_cp1252_and_says_so() -> None:
    data = "Partner,City\nCafé Brûlé Ltd,Köln\nSão Paulo Tech,Malmö\n".encode("cp1252")
    source = read_source("partners-windows.csv", data)
    assert source.frame["Partner"].to_list() == ["Café Brûlé Ltd", "São Paulo Tech"]
    assert source.frame["City"].to_list() == ["Köln", "Malmö"]
    assert len(source.warnings) == 1
    assert "partners-windows.csv" in source.warnings[0] and "cp1252" in source.warnings[0]


def test_utf16_excel_unicode_text_is_read() -> None:
    data = "Partner\tAmount\r\nZoë GmbH\t5\r\n".encode("utf-16")
    source = read_source("export.txt", data)
    assert (source.delimiter, source.frame.drop("_row").rows()) == ("\t", [("Zoë GmbH", "5")])


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


# --- reading: Excel ------------------------------------------------------------------------------


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


# --- reading: limits -----------------------------------------------------------------------------


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


# --- the mapping model ------------------------------------------------------------------------------


def full_mapping() -> Mapping:
    return Mapping(
        "Salesforce weekly",
        (
            FileMapping("accounts.csv", ("Account ID", "Account Name", "Partner Since"), 1, ",", PARTNERS_MAPPING),
            FileMapping(
                "orders-*.csv",
                ("Order", "Line", "Account", "Booked", "Total"),
                3,
                ";",
                TableMapping(
                    "deals",
                    {
                        "deal_id": ("Order", "Line"),
                        "partner_id": "Account",
                        "registered_on": "Booked",
                        "closed_on": "Booked",
                        "amount": "Total",
                    },
                    constants={"status": "won"},
                    values={"partner_id": {"ACME CORP": "A1"}},
                    date_format="%d.%m.%Y",
                    decimal_comma=True,
                    strip_currency=True,
                    skip_incomplete=True,
                ),
            ),
        ),
    )


def test_json_round_trip_keeps_everything() -> None:
    mapping = full_mapping()
    text = mapping.to_json()
    assert Mapping.from_json(text) == mapping
    document = json.loads(text)
    assert document["version"] == 1
    deals = document["files"][1]["mapping"]
    # One source column is written as a name, several as a list: easy to edit by hand.
    assert deals["columns"]["partner_id"] == "Account"
    assert deals["columns"]["deal_id"] == ["Order", "Line"]
    assert (deals["date_format"], deals["decimal_comma"], deals["skip_incomplete"]) == ("%d.%m.%Y", True, True)


def test_json_comments_and_defaults() -> None:
    text = json.dumps(
        {
            "_comment": "the weekly PRM export",
            "name": "prm",
            "files": [
                {
                    "file": "accounts.csv",
                    "_why": "no join date in the export",
                    "mapping": {
                        "table": "partners",
                        "columns": {"partner_id": "Account ID", "partner_name": "Account Name", "_note": "x"},
                        "constants": {"joined_on": "2024-01-01"},
                    },
                }
            ],
        }
    )
    mapping = Mapping.from_json(text)
    file_mapping = mapping.files[0]
    assert (file_mapping.header_row, file_mapping.delimiter, file_mapping.headers) == (1, None, ())
    assert file_mapping.mapping.columns == {"partner_id": ("Account ID",), "partner_name": ("Account Name",)}
    assert file_mapping.mapping.constants == {"joined_on": "2024-01-01"}
    assert file_mapping.mapping.date_format is None and not file_mapping.mapping.strip_currency


def edited(change: object) -> str:
    document = json.loads(full_mapping().to_json())
    change(document)  # type: ignore[operator]
    return json.dumps(document)


BAD_MAPPINGS = [
    ("not JSON", "{'name': 1}", "not valid JSON (line 1, column 2"),
    ("no name", edited(lambda d: d.pop("name")), "name: is missing"),
    (
        "misspelt field",
        edited(lambda d: d["files"][1]["mapping"].update(colums={})),
        "files[1].mapping.colums: unknown field",
    ),
    (
        "unknown table",
        edited(lambda d: d["files"][0]["mapping"].update(table="accounts")),
        "files[0].mapping.table: 'accounts' is not one of partners",
    ),
    (
        "column not in the contract",
        edited(lambda d: d["files"][1]["mapping"]["columns"].update(revenue="Total")),
        "files[1].mapping.columns.revenue: not a column of deals",
    ),
    (
        "empty source list",
        edited(lambda d: d["files"][1]["mapping"]["columns"].update(deal_id=[])),
        "files[1].mapping.columns.deal_id: must name one source column or a list of them",
    ),
    (
        "bad date format",
        edited(lambda d: d["files"][1]["mapping"].update(date_format="DD.MM.YYYY")),
        "files[1].mapping.date_format: 'DD.MM.YYYY' is not a date format",
    ),
    (
        "status value not a status",
        edited(lambda d: d["files"][1]["mapping"]["values"].update(status={"Closed Won": "closed"})),
        "files[1].mapping.values.status.Closed Won: maps to 'closed', not one of open, won, lost",
    ),
    (
        "constant and column for one field",
        edited(lambda d: d["files"][1]["mapping"]["constants"].update(amount="0")),
        "files[1].mapping.constants.amount: is also mapped from a source column",
    ),
    (
        "a path, not a file name",
        edited(lambda d: d["files"][0].update(file="../secret.csv")),
        "files[0].file: '../secret.csv' must be a file name",
    ),
    ("header row 0", edited(lambda d: d["files"][0].update(header_row=0)), "files[0].header_row: must be a row number"),
    (
        "flag not a boolean",
        edited(lambda d: d["files"][1]["mapping"].update(strip_currency="yes")),
        "files[1].mapping.strip_currency: must be true or false",
    ),
    (
        "newer version",
        edited(lambda d: d.update(version=2)),
        "version: this version of the app reads mapping version 1 only",
    ),
]


@pytest.mark.parametrize(("text", "message"), [pytest.param(*c[1:], id=c[0]) for c in BAD_MAPPINGS])
def test_bad_mapping_json_names_the_field(text: str, message: str) -> None:
    with pytest.raises(MappingError) as caught:
        Mapping.from_json(text)
    assert str(caught.value).startswith(message)


# --- suggestions ---------------------------------------------------------------------------------------

SALESFORCE_OPPORTUNITIES = (
    "Opportunity ID,Opportunity Name,Account Name,Stage,Amount,Probability (%),"
    "Close Date,Created Date,Opportunity Owner\n"
    '0061,Renewal,Alpha,Closed Won,"$12,500.00",100,03/15/2026,01/02/2026,Dana\n'
    "0062,Upsell,Beta,Closed Lost,$0.00,0,03/20/2026,01/05/2026,Dana\n"
    "0063,New logo,Alpha,Negotiation/Review,$900.00,60,,02/11/2026,Sam\n"
    "0064,Pilot,Beta,Prospecting,,10,,02/13/2026,Sam\n"
)


def test_salesforce_opportunity_report_is_recognised_and_mapped() -> None:
    source = csv_source("Opportunities Report.csv", SALESFORCE_OPPORTUNITIES)
    assert guess_table(source) == "deals"
    mapping = suggest(source, "deals")
    assert mapping.columns == {
        "deal_id": ("Opportunity ID",),
        "partner_id": ("Account Name",),
        "registered_on": ("Created Date",),
        "status": ("Stage",),
        "closed_on": ("Close Date",),
        "amount": ("Amount",),
    }
    assert mapping.values == {
        "status": {
            "Closed Lost": "lost",
            "Closed Won": "won",
            "Negotiation/Review": "open",
            "Prospecting": "open",
        }
    }
    # 03/15/2026 and 03/20/2026: a day above 12 in second place, so month first.
    assert mapping.date_format == "%m/%d/%Y"
    assert mapping.strip_currency and not mapping.decimal_comma
    frame = apply(source, mapping)
    assert frame.select("deal_id", "status", "closed_on", "amount", "registered_on").rows() == [
        ("0061", "won", "2026-03-15", "12500.00", "2026-01-02"),
        ("0062", "lost", "2026-03-20", "0.00", "2026-01-05"),
        ("0063", "open", None, "900.00", "2026-02-11"),
        ("0064", "open", None, None, "2026-02-13"),
    ]


def test_hubspot_deals_export_with_european_dates_and_decimal_commas() -> None:
    text = (
        "Record ID;Deal Name;Deal Stage;Amount;Close Date;Create Date;Associated Company;Deal owner\n"
        "901;Big one;closedwon;1.234,50 €;25.03.2026;02.01.2026;Alpha GmbH;Jo\n"
        "902;Small one;appointmentscheduled;99,90 €;;03.02.2026;Beta AG;Jo\n"
    )
    source = csv_source("hubspot-crm-exports-all-deals-2026-03-31.csv", text)
    assert guess_table(source) == "deals"
    mapping = suggest(source, "deals")
    assert mapping.columns["deal_id"] == ("Record ID",)
    assert mapping.columns["partner_id"] == ("Associated Company",)
    assert mapping.columns["registered_on"] == ("Create Date",)
    assert mapping.values["status"] == {"appointmentscheduled": "open", "closedwon": "won"}
    assert (mapping.date_format, mapping.decimal_comma, mapping.strip_currency) == ("%d.%m.%Y", True, True)
    frame = apply(source, mapping)
    assert frame.select("status", "registered_on", "closed_on", "amount").rows() == [
        ("won", "2026-01-02", "2026-03-25", "1234.50"),
        ("open", "2026-02-03", None, "99.90"),
    ]


def test_salesforce_accounts_report_maps_onto_partners() -> None:
    text = (
        "Account ID,Account Name,Type,Billing Country,Region,Account Owner,Created Date\n"
        "001A,Alpha,Reseller,Germany,EMEA,Dana,2025-01-10\n"
        "001B,Beta,MSP,France,EMEA,Sam,2025-02-11\n"
    )
    source = csv_source("Partner Accounts.csv", text)
    assert guess_table(source) == "partners"
    assert suggest(source, "partners").columns == {
        "partner_id": ("Account ID",),
        "partner_name": ("Account Name",),
        "joined_on": ("Created Date",),
        "region": ("Region",),  # the exact name beats Billing Country
        "partner_type": ("Type",),
        "channel_manager": ("Account Owner",),
    }


def test_prm_activity_log_gets_activity_kinds_suggested() -> None:
    text = (
        "Partner,Contact Email,Activity Type,Timestamp,Course Name\n"
        "Alpha,ann@alpha.example,Course Completed,2026-03-01T10:00:00,Selling 101\n"
        "Alpha,ann@alpha.example,Shared Asset,2026-03-02T10:00:00,\n"
        "Beta,bo@beta.example,Viewed Asset,2026-03-03T11:00:00,\n"
        "Beta,bo@beta.example,Downloaded Datasheet,2026-03-03T11:05:00,\n"
        "Beta,bo@beta.example,Sign In,2026-03-04T08:00:00,\n"
        "Beta,bo@beta.example,Webinar Registered,2026-03-05T08:00:00,\n"
        "Beta,bo@beta.example,login,2026-03-06T08:00:00,\n"
    )
    source = csv_source("portal_activity.csv", text)
    assert guess_table(source) == "activities"
    mapping = suggest(source, "activities")
    assert mapping.columns == {
        "partner_id": ("Partner",),
        "user_id": ("Contact Email",),
        "occurred_at": ("Timestamp",),
        "activity": ("Activity Type",),
        "item_name": ("Course Name",),
    }
    # "login" is already a contract value; a webinar registration is none of the four kinds: the
    # user decides (left unmapped, it is reported by validation).
    assert mapping.values == {
        "activity": {
            "Course Completed": "training_completed",
            "Downloaded Datasheet": "content_viewed",
            "Shared Asset": "content_shared",
            "Sign In": "login",
            "Viewed Asset": "content_viewed",
        }
    }
    assert mapping.date_format is None


def test_the_data_decides_between_date_like_headers() -> None:
    # "Date" holds quarter labels, not dates; "Paid" holds the dates: spent_on takes "Paid".
    text = "Partner,Date,Paid,Category,Cost\nAlpha,Q1 2026,15/01/2026,MDF,500\nBeta,Q1 2026,20/02/2026,SPIFF,250\n"
    source = csv_source("mdf_claims.csv", text)
    assert guess_table(source) == "investments"
    mapping = suggest(source, "investments")
    assert mapping.columns["spent_on"] == ("Paid",)
    assert mapping.columns["amount"] == ("Cost",)
    assert mapping.date_format == "%d/%m/%Y"  # 15 and 20 cannot be months


def test_order_lines_get_a_compound_id_and_are_read_as_won_deals() -> None:
    text = (
        "SalesOrderNumber,OrderDate,ProductKey,ResellerKey,SalesAmount\n"
        "SO1,2026-01-05,349,676,2024.99\n"
        "SO1,2026-01-05,350,676,6074.97\n"
        "SO2,2026-01-07,349,12,99\n"
    )
    source = csv_source("FactResellerSales.csv", text)
    assert guess_table(source) == "deals"
    mapping = suggest(source, "deals")
    assert mapping.columns["deal_id"] == ("SalesOrderNumber", "ProductKey")
    assert mapping.constants == {"status": "won"}
    assert mapping.columns["closed_on"] == mapping.columns["registered_on"] == ("OrderDate",)
    assert apply(source, mapping)["deal_id"].to_list() == ["SO1-349", "SO1-350", "SO2-349"]


def test_files_that_are_none_of_the_tables_are_not_guessed() -> None:
    products = csv_source("products.csv", "product,series,sales_price\nGTX Basic,GTX,550\n")
    teams = csv_source("sales_teams.csv", "sales_agent,manager,regional_office\nAnna,Dustin,Central\n")
    assert guess_table(products) is None
    assert guess_table(teams) is None


def test_a_typo_does_not_change_the_suggested_date_format() -> None:
    text = "Deal ID,Partner,Created Date,Stage\nD1,A1,03/15/2026,Won\nD2,A1,03/20/2026,Lost\nD3,A1,13/45/2026,Open\n"
    source = csv_source("deals.csv", text)
    mapping = suggest(source, "deals")
    assert mapping.date_format == "%m/%d/%Y"  # two US dates; 13/45 fits no order
    assert apply(source, mapping)["registered_on"].to_list() == ["2026-03-15", "2026-03-20", "13/45/2026"]


def test_ambiguous_slash_dates_get_no_format() -> None:
    source = csv_source("deals.csv", "Deal ID,Partner,Created Date,Stage\nD1,A,03/04/2026,Won\nD2,A,05/06/2026,Lost\n")
    assert suggest(source, "deals").date_format is None  # 3 April or 4 March: the user chooses


def test_find_saved_matches_next_weeks_export_by_its_headers() -> None:
    this_week = csv_source("pipeline-2026-03-24.csv", SALESFORCE_OPPORTUNITIES)
    saved = Mapping(
        "weekly",
        (FileMapping("pipeline-*.csv", this_week.headers, 1, ",", suggest(this_week, "deals")),),
    )
    other = Mapping("accounts", (FileMapping("accounts.csv", partners_source().headers, 1, ",", PARTNERS_MAPPING),))
    next_week = csv_source("pipeline-2026-03-31.csv", SALESFORCE_OPPORTUNITIES.replace("0061", "0071"))
    assert find_saved([other, saved], next_week) is saved.files[0]
    renamed = csv_source("pipeline.csv", SALESFORCE_OPPORTUNITIES.replace("Close Date", "Closing Date"))
    assert find_saved([other, saved], renamed) is None
    # Two saved mappings with these headers: the one whose file pattern fits the name wins.
    exact = Mapping(
        "exact", (FileMapping("pipeline-2026-03-31.csv", this_week.headers, 1, ",", saved.files[0].mapping),)
    )
    assert find_saved([saved, exact], next_week) is saved.files[0]
    elsewhere = Mapping("elsewhere", (FileMapping("deals.csv", this_week.headers, 1, ",", saved.files[0].mapping),))
    assert find_saved([elsewhere, saved], next_week) is saved.files[0]


# --- applying and validating ---------------------------------------------------------------------------


def deals_with(text: str, mapping: TableMapping, **read: object) -> object:
    """Validate accounts.csv + this deals export, as the Data page and the CLI do."""
    return validate_mapped(
        [(partners_source(), PARTNERS_MAPPING), (csv_source("deals-export.csv", text, **read), mapping)]  # type: ignore[arg-type]
    )


DEALS_US = TableMapping(
    "deals",
    {
        "deal_id": "ID",
        "partner_id": "Account",
        "registered_on": "Created",
        "status": "Stage",
        "closed_on": "Closed",
        "amount": "Amount",
    },
    values={"status": {"Closed Won": "won", "Closed Lost": "lost", "Open": "open"}},
    date_format="%m/%d/%Y",
    strip_currency=True,
)


def test_us_dates_money_and_stages_load_as_numbers_and_dates() -> None:
    text = (
        "ID,Account,Created,Stage,Closed,Amount\n"
        'D1,A1,01/15/2026,Closed Won,02/28/2026 12:00 AM,"$1,234.50"\n'  # midnight: still a date
        "D2,A2,1/5/2026,  closed   LOST ,2/1/2026,USD 0\n"
        "D3,A1,03/01/2026,Open,,\n"
    )
    validation = deals_with(text, DEALS_US)
    assert validation.ok, validation.problem_lines()
    deals = validation.tables["deals"].sort("deal_id")
    assert deals.select("deal_id", "registered_on", "status", "closed_on", "amount").rows() == [
        ("D1", date(2026, 1, 15), "won", date(2026, 2, 28), 1234.5),
        ("D2", date(2026, 1, 5), "lost", date(2026, 2, 1), 0.0),
        ("D3", date(2026, 3, 1), "open", None, 0.0),
    ]


def test_timestamps_in_the_format_keep_their_day_and_a_time_in_a_date_column_is_reported() -> None:
    accounts = csv_source("accounts.csv", PARTNERS_CSV)
    log = csv_source(
        "log.csv",
        "Account,When,What\nA1,03/15/2026 2:05 PM,Login\nA1,03/16/2026 23:59,Login\nA2,03/17/2026,Login\n",
    )
    activities = TableMapping(
        "activities",
        {"partner_id": "Account", "occurred_at": "When", "activity": "What"},
        values={"activity": {"login": "login"}},
        date_format="%m/%d/%Y",
    )
    validation = validate_mapped([(accounts, PARTNERS_MAPPING), (log, activities)])
    assert validation.ok, validation.problem_lines()
    assert validation.tables["activities"]["occurred_on"].to_list() == [
        date(2026, 3, 15),
        date(2026, 3, 16),
        date(2026, 3, 17),
    ]
    # A deal's close date with a time of day is not a date: reported as the user wrote it.
    text = "ID,Account,Created,Stage,Closed,Amount\nD1,A1,01/15/2026,Closed Won,02/28/2026 4:30 PM,1\n"
    assert deals_with(text, DEALS_US).problems.select("row", "column", "value", "problem").rows() == [
        (2, "closed_on", "02/28/2026 4:30 PM", "is not a date in the mapping's format MM/DD/YYYY (%m/%d/%Y)")
    ]


def test_a_date_not_in_the_format_is_reported_as_written_on_its_row() -> None:
    text = (
        "Deals export,,,,,\n"  # a title: the header is on row 2
        "ID,Account,Created,Stage,Closed,Amount\n"
        "D1,A1,01/15/2026,Closed Won,02/28/2026,10\n"
        "D2,A1,15/01/2026,Open,,\n"  # day first: not MM/DD/YYYY
        "D3,A1,2026-01-20,Open,,\n"  # ISO is always understood
        "D4,A1,01/15/2026,Pending,,\n"  # a stage the value map does not know
    )
    validation = deals_with(text, DEALS_US)
    assert validation.problems.select("file", "row", "column", "value", "problem").rows() == [
        (
            "deals-export.csv",
            4,
            "registered_on",
            "15/01/2026",
            "is not a date in the mapping's format MM/DD/YYYY (%m/%d/%Y)",
        ),
        ("deals-export.csv", 6, "status", "Pending", "must be one of open, won, lost"),
    ]


def test_decimal_comma_and_currency_in_european_exports() -> None:
    text = (
        "ID;Account;Created;Stage;Closed;Amount\n"
        "D1;A1;15.01.2026;Gewonnen;28.02.2026;€ 1.234,50\n"
        "D2;A1;16.01.2026;Gewonnen;28.02.2026;12,5\n"
        "D3;A1;17.01.2026;Gewonnen;28.02.2026;1 000 000,00 EUR\n"
        "D4;A1;18.01.2026;Gewonnen;28.02.2026;$1,234.50\n"  # not European: left as written, reported
    )
    mapping = TableMapping(
        "deals",
        {
            "deal_id": "ID",
            "partner_id": "Account",
            "registered_on": "Created",
            "closed_on": "Closed",
            "amount": "Amount",
            "status": "Stage",
        },
        values={"status": {"gewonnen": "won"}},
        date_format="%d.%m.%Y",
        decimal_comma=True,
        strip_currency=True,
    )
    frame = apply(csv_source("deals.csv", text), mapping)
    assert frame["amount"].to_list() == ["1234.50", "12.5", "1000000.00", "$1,234.50"]
    validation = deals_with(text, mapping)
    assert validation.problem_lines() == [
        "deals-export.csv, row 5, column amount: is not a plain number (no currency symbols or thousands separators)"
        " (value '$1,234.50')"
    ]


def test_without_the_money_options_decorated_amounts_are_reported() -> None:
    text = 'ID,Account,Created,Stage,Closed,Amount\nD1,A1,2026-01-15,won,2026-02-01,"$1,000"\n'
    mapping = TableMapping(
        "deals",
        {
            "deal_id": "ID",
            "partner_id": "Account",
            "registered_on": "Created",
            "status": "Stage",
            "closed_on": "Closed",
            "amount": "Amount",
        },
    )
    assert problems(deals_with(text, mapping)) == {("deals-export.csv", 2, "amount")}


def test_constants_and_joined_columns() -> None:
    text = "Order,Line,Account,Booked,Total\nSO1,1,A1,2026-02-01,100\nSO1,2,A1,2026-02-01,50\nSO2,1,A2,2026-02-03,7\n"
    mapping = TableMapping(
        "deals",
        {
            "deal_id": ("Order", "Line"),
            "partner_id": "Account",
            "registered_on": "Booked",
            "closed_on": "Booked",
            "amount": "Total",
        },
        constants={"status": "won"},
    )
    validation = deals_with(text, mapping)
    assert validation.ok, validation.problem_lines()
    deals = validation.tables["deals"].sort("deal_id")
    assert deals.select("deal_id", "status", "closed_on", "amount").rows() == [
        ("SO1-1", "won", date(2026, 2, 1), 100.0),
        ("SO1-2", "won", date(2026, 2, 1), 50.0),
        ("SO2-1", "won", date(2026, 2, 3), 7.0),
    ]
    # The partners export has no join date: a constant fills it.
    accounts = csv_source("crm-accounts.csv", "Account ID,Account Name\nA1,Alpha\n")
    partners = apply(
        accounts,
        TableMapping(
            "partners", {"partner_id": "Account ID", "partner_name": "Account Name"}, {"joined_on": "2024-01-01"}
        ),
    )
    assert partners.row(0, named=True) == {
        "partner_id": "A1",
        "partner_name": "Alpha",
        "joined_on": "2024-01-01",
        "left_on": None,
        "region": None,
        "partner_type": None,
        "channel_manager": None,
        "_row": 2,
    }


def test_skip_incomplete_leaves_rows_out_and_counts_them() -> None:
    text = (
        "ID,Account,Created,Stage,Closed,Amount\n"
        "D1,A1,01/15/2026,Closed Won,02/28/2026,10\n"
        "D2,,01/16/2026,Open,,\n"  # no account
        "D3,A2,,Open,,\n"  # no creation date
        "D4,,,Open,,\n"  # neither
        "D5,A9,01/16/2026,Open,,\n"  # an unknown account is not incomplete: still reported
    )
    refused = deals_with(text, DEALS_US)
    assert problems(refused) == {
        ("deals-export.csv", 3, "partner_id"),
        ("deals-export.csv", 4, "registered_on"),
        ("deals-export.csv", 5, "partner_id"),
        ("deals-export.csv", 5, "registered_on"),
        ("deals-export.csv", 6, "partner_id"),
    }
    skipping = TableMapping(**{**DEALS_US.__dict__, "skip_incomplete": True})
    validation = deals_with(text, skipping)
    assert problems(validation) == {("deals-export.csv", 6, "partner_id")}
    assert validation.warnings == [
        "deals-export.csv: left out 3 row(s) without a required value (partner_id (from Account) empty on 2, "
        "registered_on (from Created) empty on 2): skip_incomplete is on"
    ]
    fixed = text.replace("D5,A9", "D5,A2")
    assert deals_with(fixed, skipping).tables["deals"]["deal_id"].sort().to_list() == ["D1", "D5"]


def test_an_unmapped_required_column_is_one_problem_not_one_per_row() -> None:
    accounts = csv_source("accounts.csv", "Account ID,Account Name\nA1,Alpha\nA2,Beta\nA3,Gamma\n")
    validation = validate_mapped(
        [(accounts, TableMapping("partners", {"partner_id": "Account ID", "partner_name": "Account Name"}))]
    )
    assert validation.problem_lines() == [
        "accounts.csv, row 1, column joined_on: required column is not mapped: map a source column or set a constant"
    ]


def test_a_mapped_column_missing_from_the_file_is_a_problem() -> None:
    accounts = csv_source("accounts.csv", "Account Id,Account Name,Partner Since\nA1,Alpha,2025-01-01\n")
    validation = validate_mapped([(accounts, PARTNERS_MAPPING)])
    assert validation.problem_lines() == [
        "accounts.csv, row 1, column partner_id: the mapping takes partner_id from column 'Account ID', "
        "which is not in the header row (value 'Account ID')"
    ]
    with pytest.raises(MappingError, match=r"columns\.partner_id: 'Account ID' is not a column of accounts\.csv"):
        apply(accounts, PARTNERS_MAPPING)


def test_a_mapping_without_partners_is_refused_once() -> None:
    validation = validate_mapped([(csv_source("d.csv", "ID\nD1\n"), TableMapping("deals", {"deal_id": "ID"}))])
    lines = validation.problem_lines()
    assert lines.count("partners: the partners table is required: no file is mapped to it") == 1
    # And every required deals column the mapping leaves out, once each.
    assert sorted(line for line in lines if line.startswith("d.csv")) == [
        f"d.csv, row 1, column {c}: required column is not mapped: map a source column or set a constant"
        for c in ("partner_id", "registered_on", "status")
    ]


# --- load_with_mapping: files in a folder -----------------------------------------------------------


def monthly_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "accounts.csv").write_text(PARTNERS_CSV)
    (folder / "orders-2026-01.csv").write_text(
        "Order;Account;Booked;Total\nSO1;A1;05.01.2026;100\nSO2;A2;07.01.2026;50\n"
    )
    (folder / "orders-2026-02.csv").write_text(
        "Order;Account;Booked;Total\nSO3;A1;03.02.2026;70\n\nSO4;A7;04.02.2026;1\nSO1;A1;05.02.2026;2\n"
    )
    (folder / "~$orders-2026-03.csv").write_text("lock file of an open workbook")
    return folder


ORDERS = TableMapping(
    "deals",
    {"deal_id": "Order", "partner_id": "Account", "registered_on": "Booked", "closed_on": "Booked", "amount": "Total"},
    constants={"status": "won"},
    date_format="%d.%m.%Y",
)


def monthly_mapping(pattern: str = "orders-*.csv") -> Mapping:
    return Mapping(
        "monthly",
        (
            FileMapping("accounts.csv", ("Account ID", "Account Name", "Partner Since"), 1, ",", PARTNERS_MAPPING),
            FileMapping(pattern, ("Order", "Account", "Booked", "Total"), 1, ";", ORDERS),
        ),
    )


def test_monthly_exports_matched_by_a_pattern_are_combined(tmp_path: Path) -> None:
    folder = monthly_folder(tmp_path)
    validation = load_with_mapping(folder, monthly_mapping())
    # Each problem names the month's file and its row (February's row 3 is blank).
    assert validation.problems.select("file", "row", "column", "value").rows() == [
        ("orders-2026-01.csv", 2, "deal_id", "SO1"),
        ("orders-2026-02.csv", 4, "partner_id", "A7"),
        ("orders-2026-02.csv", 5, "deal_id", "SO1"),
    ]
    (folder / "orders-2026-02.csv").write_text("Order;Account;Booked;Total\nSO3;A1;03.02.2026;70\n")
    validation = load_with_mapping(folder, monthly_mapping())
    assert validation.ok, validation.problem_lines()
    deals = validation.tables["deals"].sort("deal_id")
    assert deals.select("deal_id", "closed_on", "amount").rows() == [
        ("SO1", date(2026, 1, 5), 100.0),
        ("SO2", date(2026, 1, 7), 50.0),
        ("SO3", date(2026, 2, 3), 70.0),
    ]


def test_a_file_the_mapping_names_but_the_folder_lacks_is_a_problem(tmp_path: Path) -> None:
    folder = monthly_folder(tmp_path)
    validation = load_with_mapping(folder, monthly_mapping("invoices-*.csv"))
    assert validation.problem_lines() == ["invoices-*.csv: no file in the folder matches this name (the deals table)"]
    assert validation.tables == {}


def test_changed_headers_are_a_warning_and_unreadable_files_a_problem(tmp_path: Path) -> None:
    folder = monthly_folder(tmp_path)
    (folder / "orders-2026-02.csv").write_text("Order;Account;Booked;Total;Channel\nSO3;A1;03.02.2026;70;web\n")
    validation = load_with_mapping(folder, monthly_mapping())
    assert validation.ok, validation.problem_lines()
    assert validation.warnings == [
        "orders-2026-02.csv: the headers differ from those the mapping was made for; new: Channel"
    ]
    (folder / "orders-2026-02.csv").write_text("Order;Account;Order;Total\nSO3;A1;03.02.2026;70\n")
    assert load_with_mapping(folder, monthly_mapping()).problem_lines() == [
        "orders-2026-02.csv: the header row names 'Order' twice (columns 1 and 3); rename one of them"
    ]


def test_a_load_records_each_monthly_file_with_its_own_rows(tmp_path: Path) -> None:
    folder = monthly_folder(tmp_path)
    (folder / "orders-2026-02.csv").write_text(
        "Order;Account;Booked;Total\nSO3;A1;03.02.2026;70\n\nSO4;A2;04.02.2026;1\nSO5;A1;05.02.2026;2\n"
    )
    loaded = load_mapped(folder, monthly_mapping(), tmp_path / "kpi.duckdb", loaded_at=datetime(2026, 3, 1))
    assert loaded.record is not None, loaded.validation.problem_lines()
    # "Recent loads" lists every file with the rows read from it (February's blank row is not one).
    assert [(f.name, f.table, f.rows) for f in loaded.record.files] == [
        ("accounts.csv", "partners", 2),
        ("orders-2026-01.csv", "deals", 2),
        ("orders-2026-02.csv", "deals", 3),
    ]


def test_a_file_name_with_brackets_is_that_file_not_a_pattern(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "Accounts [Q3].csv").write_text(PARTNERS_CSV)
    (folder / "AccountsQ.csv").write_text(PARTNERS_CSV.replace("Alpha", "Other"))  # "[Q3]" as a pattern matches it
    mapping = Mapping("q3", (FileMapping("Accounts [Q3].csv", (), 1, ",", PARTNERS_MAPPING),))

    validation = load_with_mapping(folder, mapping)

    assert validation.ok, validation.problem_lines()
    assert validation.tables["partners"]["partner_name"].to_list() == ["Alpha", "Beta"]
    # The same for Parquet, read whole or a slice at a time.
    parquet = folder / "Accounts [Q4].parquet"
    pl.read_csv(folder / "Accounts [Q3].csv", glob=False).write_parquet(parquet)
    assert read_source(parquet.name, parquet).frame["Account Name"].to_list() == ["Alpha", "Beta"]
    assert preview_source(parquet.name, parquet).rows == 2


# --- the command line ----------------------------------------------------------------------------------


def db_counts(db: Path) -> dict[str, object]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            "partners": con.execute("select count(*) from partners").fetchone()[0],  # type: ignore[index]
            "deals": con.execute("select count(*), sum(amount) from deals").fetchone(),
            "source": con.execute("select source from dataset").fetchone()[0],  # type: ignore[index]
        }
    finally:
        con.close()


def test_cli_load_with_a_mapping(tmp_path: Path) -> None:
    folder = monthly_folder(tmp_path)
    (folder / "orders-2026-02.csv").write_text("Order;Account;Booked;Total\nSO3;A1;03.02.2026;70\n")
    mapping_file = tmp_path / "mapping.json"
    mapping_file.write_text(monthly_mapping().to_json())
    db = tmp_path / "kpi.duckdb"
    code, out, err = run("load", folder, "--db", db, "--mapping", mapping_file)
    assert (code, err) == (0, "")
    assert out.startswith(f"loaded {db}: partners 2, partner_users 0, activities 0, deals 3, investments 0 ")
    assert db_counts(db) == {"partners": 2, "deals": (3, 220.0), "source": f"{folder} (mapping monthly)"}


def test_cli_load_with_a_mapping_refuses_bad_data_and_changes_nothing(tmp_path: Path) -> None:
    folder = monthly_folder(tmp_path)  # February has an unknown account and a repeated order
    mapping_file = tmp_path / "mapping.json"
    mapping_file.write_text(monthly_mapping().to_json())
    code, out, err = run("load", folder, "--db", tmp_path / "kpi.duckdb", "--mapping", mapping_file)
    assert (code, out) == (2, "")
    assert err.splitlines()[0] == "refused: 3 problem(s); the database was not changed"
    assert "  orders-2026-02.csv, row 4, column partner_id: is not a partner_id in partners (value 'A7')" in err
    assert not (tmp_path / "kpi.duckdb").exists()


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ('{"name": "x", "files": [{"file": "a.csv", "mapping": {"table": "deal"}}]}', "files[0].mapping.table"),
        ("{not json", "not valid JSON"),
    ],
    ids=["unknown table", "not JSON"],
)
def test_cli_bad_mapping_file_is_one_line_naming_file_and_field(tmp_path: Path, content: str, named: str) -> None:
    folder = monthly_folder(tmp_path)
    mapping_file = tmp_path / "weekly.json"
    mapping_file.write_text(content)
    code, out, err = run("load", folder, "--db", tmp_path / "kpi.duckdb", "--mapping", mapping_file)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith(f"error: {mapping_file}: ")
    assert named in err


def test_cli_suggest_mapping_writes_a_starter_that_loads_after_one_edit(tmp_path: Path) -> None:
    folder = tmp_path / "crm"
    folder.mkdir()
    (folder / "accounts.csv").write_text("Account Name,Industry\nAlpha,Retail\nBeta,Health\n")
    (folder / "opportunities.csv").write_text(SALESFORCE_OPPORTUNITIES.replace("Beta", "Alpha"))
    (folder / "products.csv").write_text("product,series\nGTX,G\n")
    out_file = tmp_path / "mapping.json"
    code, out, err = run("suggest-mapping", folder, "--out", out_file, "--name", "Salesforce")
    assert code == 0, err
    assert err == "skipped products.csv: its headers do not look like any of the five tables\n"
    assert "accounts.csv -> partners: partner_id <- Account Name, partner_name <- Account Name\n" in out
    assert "  joined_on is required and not mapped" in out
    mapping = Mapping.from_json(out_file.read_text())
    assert mapping.name == "Salesforce"
    assert [(f.file, f.mapping.table) for f in mapping.files] == [
        ("accounts.csv", "partners"),
        ("opportunities.csv", "deals"),
    ]
    # The one edit: the accounts export has no join date.
    document = json.loads(out_file.read_text())
    document["files"][0]["mapping"]["constants"]["joined_on"] = "2025-01-01"
    out_file.write_text(json.dumps(document))
    db = tmp_path / "kpi.duckdb"
    code, out, err = run("load", folder, "--db", db, "--mapping", out_file)
    assert code == 0, err
    # 12,500 won + 0 lost + 900 open + nothing: one-time amounts of the four opportunities.
    assert db_counts(db)["deals"] == (4, 13400.0)
    # Never overwrite a mapping someone may have edited.
    code, _, err = run("suggest-mapping", folder, "--out", out_file)
    assert code == 2 and err.startswith(f"error: {out_file} exists")
