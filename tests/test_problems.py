"""Problems as a user reads them (kpi.problems): one line each, counts by kind, and no echoes
of a table that could not be read."""

from __future__ import annotations

import polars as pl

from kpi.problems import EMPTY_PROBLEMS, Validation, problems_frame, without_consequences

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
