"""Problems with a dataset, as a user reads them: file, spreadsheet row, column, value, what is wrong.

Every check (reading, the contract's rules, a mapping) reports into one frame of these
five columns; `Validation` carries it with the clean tables or the warnings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

import polars as pl

from kpi.schema import TABLE_BY_NAME

if TYPE_CHECKING:
    from kpi.mapping import TableMapping

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


EMPTY_PREFIX = "is empty; "
NOT_MAPPED = "column not mapped"


def collapse_unmapped(problems: pl.DataFrame, files: Iterable[tuple[str, int, TableMapping]]) -> pl.DataFrame:
    """Empty values in a column the mapping feeds from nothing, said once per file and rule.

    A won deal whose closed_on has no source column is not "empty" on every row: the
    column is not mapped. `files` are (file name, header row, its table mapping); every
    "is empty; ..." problem on a contract column with neither a source column nor a fixed
    value becomes one problem on the file's header row, with the rows it concerns counted.
    """
    unmapped = [
        (file, header_row, column.name)
        for file, header_row, mapping in files
        for column in TABLE_BY_NAME[mapping.table].columns
        if column.name not in mapping.columns and column.name not in mapping.constants
    ]
    if not unmapped or not problems.height:
        return problems
    keys = pl.DataFrame(
        unmapped, schema={"file": pl.String, "header_row": pl.Int64, "column": pl.String}, orient="row"
    ).unique(["file", "column"], keep="first", maintain_order=True)
    empty = pl.col("problem").str.starts_with(EMPTY_PREFIX)
    hits = problems.filter(empty).join(keys, on=["file", "column"], how="inner", maintain_order="left")
    if not hits.height:
        return problems
    collapsed = (
        hits.group_by("file", "column", "problem", maintain_order=True)
        .agg(pl.col("header_row").first().alias("row"), pl.len().alias("rows"))
        .select(
            "file",
            "row",
            "column",
            pl.lit(None, dtype=pl.String).alias("value"),
            pl.format(
                NOT_MAPPED + ": {} ({} row(s)); pick your column for it in the mapping or set a fixed value",
                pl.col("problem").str.strip_prefix(EMPTY_PREFIX),
                pl.col("rows"),
            ).alias("problem"),
        )
    )
    collapsed_keys = hits.select("file", "column", "problem").unique()
    kept = problems.join(collapsed_keys, on=["file", "column", "problem"], how="anti", maintain_order="left")
    return pl.concat([kept, collapsed.cast(problems.schema)]).sort("file", "row", maintain_order=True)


def source_label(contract_column: str, sources: tuple[str, ...]) -> str:
    """A contract column as its user knows it: "Closed (closed_on)", "Order + Line (deal_id)"."""
    if sources in ((), (contract_column,)):
        return contract_column
    return f"{' + '.join(sources)} ({contract_column})"


def name_source_columns(problems: pl.DataFrame, files: Iterable[tuple[str, TableMapping]]) -> pl.DataFrame:
    """`problems` with each mapped column named by the user's own column next to ours.

    `files` are (file name or pattern, its table mapping); a problem's file is matched by
    name, then by pattern (monthly exports). Columns fed by nothing keep our name.
    """
    files = list(files)
    if not files or not problems.height:
        return problems
    places = problems.select("file", "column").unique(maintain_order=True)
    labels: list[str] = []
    for file, column in places.iter_rows():
        mapping = next((m for f, m in files if f == file), None) or next(
            (m for f, m in files if fnmatchcase(file or "", f)), None
        )
        sources = mapping.columns.get(column, ()) if mapping is not None and column else ()
        labels.append(source_label(column, sources) if column else column)
    lookup = places.with_columns(pl.Series("shown", labels, dtype=pl.String))
    return (
        problems.join(lookup, on=["file", "column"], how="left", nulls_equal=True, maintain_order="left")
        .with_columns(pl.coalesce("shown", "column").alias("column"))
        .drop("shown")
    )
