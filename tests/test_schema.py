"""kpi.schema declares SPEC's input data contract, and the database holds every column of it.

The expected contract below is copied by hand from SPEC "Input data contract", not from
kpi.schema, so a change to either shows up here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kpi import store
from kpi.schema import ACTIVITY_KINDS, DEAL_STATUSES, TABLE_BY_NAME, TABLE_NAMES, TABLES
from tests.conftest import load_tables, partner

# table -> (column, kind, required) in SPEC's order. "date or timestamp" is a timestamp
# (its calendar date counts); "number" is money.
CONTRACT: dict[str, list[tuple[str, str, bool]]] = {
    "partners": [
        ("partner_id", "text", True),
        ("partner_name", "text", True),
        ("joined_on", "date", True),
        ("left_on", "date", False),
        ("region", "text", False),
        ("partner_type", "text", False),
        ("channel_manager", "text", False),
    ],
    "partner_users": [
        ("user_id", "text", True),
        ("partner_id", "text", True),
        ("user_name", "text", False),
        ("role", "text", False),
    ],
    "activities": [
        ("partner_id", "text", True),
        ("user_id", "text", False),
        ("occurred_at", "timestamp", True),
        ("activity", "choice", True),
        ("item_id", "text", False),
        ("item_name", "text", False),
    ],
    "deals": [
        ("deal_id", "text", True),
        ("partner_id", "text", True),
        ("registered_on", "date", True),
        ("status", "choice", True),
        ("closed_on", "date", False),  # required for won and lost only: a rule across columns
        ("amount", "money", False),  # "0 if none": an empty amount is 0, not a problem
        ("mrr", "money", False),
        ("churned_on", "date", False),
    ],
    "investments": [
        ("partner_id", "text", True),
        ("spent_on", "date", True),
        ("category", "text", False),  # "e.g. mdf, ...": any label is accepted
        ("amount", "money", True),
    ],
}


def test_the_five_tables_in_spec_order_and_only_partners_is_required() -> None:
    assert TABLE_NAMES == ("partners", "partner_users", "activities", "deals", "investments")
    assert [t.name for t in TABLES if t.required] == ["partners"]


@pytest.mark.parametrize("table", list(CONTRACT))
def test_columns_kinds_and_required_match_the_spec(table: str) -> None:
    declared = [(c.name, c.kind, c.required) for c in TABLE_BY_NAME[table].columns]
    assert declared == CONTRACT[table]


def test_the_unique_columns_are_the_three_ids() -> None:
    unique = {(t.name, c.name) for t in TABLES for c in t.columns if c.unique}
    assert unique == {("partners", "partner_id"), ("partner_users", "user_id"), ("deals", "deal_id")}


def test_the_accepted_values_of_activity_and_status() -> None:
    assert set(ACTIVITY_KINDS) == {"login", "training_completed", "content_viewed", "content_shared"}
    assert set(DEAL_STATUSES) == {"open", "won", "lost"}
    assert TABLE_BY_NAME["activities"].column("activity").choices == ACTIVITY_KINDS
    assert TABLE_BY_NAME["deals"].column("status").choices == DEAL_STATUSES


# The database type of each kind; a timestamp is stored as the calendar date that counts.
DB_TYPE = {"text": "VARCHAR", "choice": "VARCHAR", "date": "DATE", "timestamp": "DATE", "money": "DOUBLE"}
DB_NAME = {"occurred_at": "occurred_on"}
# An empty deal amount or mrr is loaded as 0, so the database never holds an empty one.
NEVER_EMPTY = {("deals", "amount"), ("deals", "mrr")}


def test_the_database_holds_every_contract_column_with_its_type(tmp_path: Path) -> None:
    con = store.connect(load_tables(tmp_path / "kpi.duckdb", {"partners": [partner("P1")]}))
    try:
        rows = con.sql(
            "select table_name, column_name, data_type, is_nullable = 'YES' from information_schema.columns"
            " where table_catalog = 'kpi_data' and table_name in $tables",
            params={"tables": list(TABLE_NAMES)},
        ).fetchall()
    finally:
        con.close()
    expected = {
        (t.name, DB_NAME.get(c.name, c.name)): (
            DB_TYPE[c.kind],
            not c.required and (t.name, c.name) not in NEVER_EMPTY,
        )
        for t in TABLES
        for c in t.columns
    }
    assert {(table, column): (data_type, nullable) for table, column, data_type, nullable in rows} == expected


def documented_contract() -> dict[str, list[tuple[str, bool]]]:
    """docs/data.md's table of columns: table -> (column, required) in the order listed."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "data.md").read_text()
    documented: dict[str, list[tuple[str, bool]]] = {}
    table = ""
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[1] in ("column", "---"):
            continue
        table = cells[0] or table
        documented.setdefault(table, []).extend((column, cells[2] == "yes") for column in cells[1].split(", "))
    return documented


def test_the_users_docs_list_the_same_columns_and_required_ones() -> None:
    assert documented_contract() == {t.name: [(c.name, c.required) for c in t.columns] for t in TABLES}
