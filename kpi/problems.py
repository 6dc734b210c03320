"""Problems with a dataset, as a user reads them: file, spreadsheet row, column, value, what is wrong.

Every check (reading, the contract's rules, a mapping) reports into one frame of these
five columns; `Validation` carries it with the clean tables or the warnings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

# (file, spreadsheet row or None, column or "", value or None, what is wrong)
ProblemRow = tuple[str, int | None, str, str | None, str]


@dataclass
class Validation:
    """The outcome of validating a dataset: clean frames, or the problems."""

    tables: dict[str, pl.DataFrame]
    problems: pl.DataFrame
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problems.height == 0

    def problem_lines(self, limit: int | None = None) -> list[str]:
        rows = self.problems.head(limit) if limit is not None else self.problems
        return [
            r["file"]
            + (f", row {r['row']}" if r["row"] is not None else "")
            + (f", column {r['column']}" if r["column"] else "")
            + f": {r['problem']}"
            + (f" (value {r['value']!r})" if r["value"] is not None else "")
            for r in rows.iter_rows(named=True)
        ]

    def problem_counts(self) -> pl.DataFrame:
        """How many problems of each kind (file, column, problem text)."""
        return (
            self.problems.group_by("file", "column", "problem")
            .len("count")
            .sort("count", "file", "column", descending=[True, False, False])
        )


def problems_frame(rows: list[ProblemRow]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "file": pl.String,
            "row": pl.Int64,
            "column": pl.String,
            "value": pl.String,
            "problem": pl.String,
        },
        orient="row",
    )


EMPTY_PROBLEMS = problems_frame([])


# Problems that only repeat that a table could not be read (its file was refused).
_CONSEQUENCES: dict[str, tuple[str, ...]] = {
    "partners": ("the partners table is required", "is not a partner_id in partners"),
    "partner_users": ("is not a user_id of this partner in partner_users",),
}


def without_consequences(problems: pl.DataFrame, unreadable: set[str]) -> pl.DataFrame:
    """`problems` without those caused by the tables in `unreadable` being absent."""
    texts = [text for table in unreadable for text in _CONSEQUENCES.get(table, ())]
    if not texts or not problems.height:
        return problems
    return problems.filter(~pl.any_horizontal([pl.col("problem").str.starts_with(t) for t in texts]))
