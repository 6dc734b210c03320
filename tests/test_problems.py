"""Problems as a user reads them (kpi.problems): one line each, counts by kind, and no echoes
of a table that could not be read."""

from __future__ import annotations

import polars as pl

from kpi.mapping import TableMapping
from kpi.problems import (
    EMPTY_PROBLEMS,
    Validation,
    collapse_unmapped,
    name_source_columns,
    problems_frame,
    source_label,
    without_consequences,
)

PROBLEMS = problems_frame(
    [
        ("deals.csv", 3, "amount", "$5", "is not a plain number (no currency symbols or thousands separators)"),
        ("deals.csv", 4, "amount", "-1", "must not be negative"),
        ("deals.csv", 5, "amount", "1,0", "is not a plain number (no currency symbols or thousands separators)"),
        ("partners.csv", 1, "joined_on", None, "required column is missing from the header row"),
        ("activities.csv", None, "", None, "cannot be read as CSV: unterminated quote"),
    ]
)


def test_a_validation_is_ok_only_without_problems() -> None:
    assert Validation({}, EMPTY_PROBLEMS).ok
    assert not Validation({}, PROBLEMS).ok
    assert EMPTY_PROBLEMS.schema == pl.Schema(
        {"file": pl.String, "row": pl.Int64, "column": pl.String, "value": pl.String, "problem": pl.String}
    )


def test_each_problem_is_one_line_naming_only_what_it_knows() -> None:
    validation = Validation({}, PROBLEMS)
    assert validation.problem_lines() == [
        "deals.csv, row 3, column amount: is not a plain number (no currency symbols or thousands separators)"
        " (value '$5')",
        "deals.csv, row 4, column amount: must not be negative (value '-1')",
        "deals.csv, row 5, column amount: is not a plain number (no currency symbols or thousands separators)"
        " (value '1,0')",
        "partners.csv, row 1, column joined_on: required column is missing from the header row",
        "activities.csv: cannot be read as CSV: unterminated quote",
    ]
    assert validation.problem_lines(limit=2) == validation.problem_lines()[:2]


def test_problems_are_counted_by_file_column_and_kind_most_first() -> None:
    counts = Validation({}, PROBLEMS).problem_counts()
    # Two "not a plain number" in deals.csv; the ones with a count of 1 by file, then column.
    assert counts.rows() == [
        ("deals.csv", "amount", "is not a plain number (no currency symbols or thousands separators)", 2),
        ("activities.csv", "", "cannot be read as CSV: unterminated quote", 1),
        ("deals.csv", "amount", "must not be negative", 1),
        ("partners.csv", "joined_on", "required column is missing from the header row", 1),
    ]


def test_a_table_that_could_not_be_read_is_not_reported_again_through_its_references() -> None:
    found = problems_frame(
        [
            ("partners", None, "", None, "the partners table is required: add partners.csv, .parquet or .xlsx"),
            ("deals.csv", 2, "partner_id", "P9", "is not a partner_id in partners"),
            ("activities.csv", 4, "user_id", "U9", "is not a user_id of this partner in partner_users"),
            ("deals.csv", 3, "status", "pending", "must be one of open, won, lost"),
        ]
    )
    assert without_consequences(found, set()).equals(found)
    assert without_consequences(found, {"partners"}).select("file", "row").rows() == [
        ("activities.csv", 4),
        ("deals.csv", 3),
    ]
    assert without_consequences(found, {"partner_users"}).select("file", "row").rows() == [
        ("partners", None),
        ("deals.csv", 2),
        ("deals.csv", 3),
    ]
    assert without_consequences(EMPTY_PROBLEMS, {"partners"}).height == 0


# A deals export mapped without its close date: closed_on is fed by nothing.
DEALS = TableMapping(
    "deals",
    {
        "deal_id": ("Order", "Line"),
        "partner_id": "Partner",
        "registered_on": "Registered",
        "status": "Stage",
        "amount": "amount",
    },
)
CLOSE_DATE = "is empty; won and lost deals need a close date"


def test_empty_values_in_a_column_mapped_from_nothing_say_column_not_mapped_once() -> None:
    found = problems_frame(
        [
            ("deals.csv", 3, "closed_on", None, CLOSE_DATE),
            ("deals.csv", 4, "amount", "x", "is not a plain number (no currency symbols or thousands separators)"),
            ("deals.csv", 5, "closed_on", None, CLOSE_DATE),
            ("other.csv", 5, "closed_on", None, CLOSE_DATE),  # another file, mapped with its close date
        ]
    )
    with_close = TableMapping("deals", {**DEALS.columns, "closed_on": ("Closed",)})
    collapsed = collapse_unmapped(found, [("deals.csv", 1, DEALS), ("other.csv", 2, with_close)])
    assert collapsed.rows() == [
        (
            "deals.csv",
            1,
            "closed_on",
            None,
            "column not mapped: won and lost deals need a close date (2 row(s)); "
            "pick your column for it in the mapping or set a fixed value",
        ),
        ("deals.csv", 4, "amount", "x", "is not a plain number (no currency symbols or thousands separators)"),
        ("other.csv", 5, "closed_on", None, CLOSE_DATE),
    ]
    # A fixed value is a mapping too: its empty values are the data's.
    fixed = TableMapping("deals", dict(DEALS.columns), constants={"closed_on": ""})
    assert collapse_unmapped(found, [("deals.csv", 1, fixed)]).equals(found)


def test_problems_name_the_users_column_next_to_ours() -> None:
    found = problems_frame(
        [
            ("deals.csv", 2, "registered_on", "2025-02-30", "is not a day in the calendar"),
            ("deals.csv", 3, "deal_id", "SO1-2", "is not unique: the same value is on another row"),
            ("deals.csv", 4, "amount", "x", "is not a plain number (no currency symbols or thousands separators)"),
            ("deals.csv", 1, "closed_on", None, "column not mapped: won and lost deals need a close date"),
            ("deals-2026-02.csv", 2, "partner_id", "P9", "is not a partner_id in partners"),
            ("partners", None, "", None, "the partners table is required: no file is mapped to it"),
        ]
    )
    named = name_source_columns(found, [("deals-*.csv", DEALS), ("deals.csv", DEALS)])
    assert named["column"].to_list() == [
        "Registered (registered_on)",
        "Order + Line (deal_id)",
        "amount",  # the same name as ours: said once
        "closed_on",  # fed by nothing
        "Partner (partner_id)",  # matched by the pattern
        "",
    ]
    assert named.drop("column").equals(found.drop("column"))
    assert source_label("closed_on", ("Closed",)) == "Closed (closed_on)"
