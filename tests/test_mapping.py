"""The mapping model (kpi.mapping): what a mapping holds, its JSON, and a bad field named."""

from __future__ import annotations

import json

import pytest

from kpi.mapping import FileMapping, Mapping, MappingError, TableMapping
from tests.conftest import (
    PARTNERS_MAPPING,
)


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
