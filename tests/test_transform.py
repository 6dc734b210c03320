"""Applying a mapping (kpi.transform): dates, money, value maps, constants, joined columns and
rows left out, then checked as the contract's tables.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from kpi.ingest import validate_mapped
from kpi.mapping import MappingError, TableMapping
from kpi.read import preview_source
from kpi.suggest import suggest
from kpi.transform import apply
from tests.conftest import (
    PARTNERS_CSV,
    PARTNERS_MAPPING,
    csv_source,
    partners_source,
    stage_export,
    write_text,
)


def problems(validation: object) -> set[tuple[object, object, object]]:
    """(file, row, column) of every problem."""
    return {(p["file"], p["row"], p["column"]) for p in validation.problems.to_dicts()}  # type: ignore[attr-defined]


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


def test_a_mapped_column_missing_from_the_file_is_a_problem() -> None:
    accounts = csv_source("accounts.csv", "Account Id,Account Name,Partner Since\nA1,Alpha,2025-01-01\n")
    validation = validate_mapped([(accounts, PARTNERS_MAPPING)])
    assert validation.problem_lines() == [
        "accounts.csv, row 1, column partner_id: the mapping takes partner_id from column 'Account ID', "
        "which is not in the header row (value 'Account ID')"
    ]
    with pytest.raises(MappingError, match=r"columns\.partner_id: 'Account ID' is not a column of accounts\.csv"):
        apply(accounts, PARTNERS_MAPPING)


def test_a_preview_is_never_loaded_as_if_it_were_the_whole_file(tmp_path: Path) -> None:
    path = write_text(tmp_path, "opportunities.csv", stage_export(50))
    source = preview_source(path.name, path, rows=10)
    mapping = suggest(source, "deals")
    with pytest.raises(ValueError, match="preview holds only the first rows"):
        apply(source, mapping)
    with pytest.raises(ValueError, match="preview holds only the first rows"):
        validate_mapped([(source, mapping)])
