"""Tables leaving the app: CSV a spreadsheet cannot run, and Excel workbooks whose money and
percentages are numbers (formatted), not text.

A cell of text that starts with `=`, `+`, `-`, `@` (or a tab or carriage return) is what a
spreadsheet reads as a formula; partner names and reasons come from outside, so such text is
written with a leading apostrophe in CSV, and Excel files are written with formulas off.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

import polars as pl

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

MONEY_COLUMNS = frozenset(
    {
        "revenue",
        "cost",
        "mrr",
        "arr",
        "spend",
        "cost_per_activated",
        "mrr_start",
        "new_mrr",
        "churned_mrr",
        "joined_mrr",
        "left_mrr",
        "net_new_mrr",
        "above_revenue_per_partner",
        "below_revenue_per_partner",
        "adopters_revenue_per_partner",
        "others_revenue_per_partner",
    }
)
"""Columns written with a money format (grouped, no decimals) wherever they appear."""
PERCENT_COLUMNS = frozenset(
    {
        "activation_pct",
        "share_pct",
        "mrr_pct",
        "above_win_rate",
        "below_win_rate",
        "adopters_win_rate",
        "others_win_rate",
        "win_rate_lift",
    }
)
"""Columns already in percent (38.1), written with one decimal and a % sign."""
RATIO_COLUMNS = frozenset({"roi"})
"""Ratios (3.4 = +340%), written as percentages of one decimal."""


def _defused(column: pl.Expr) -> pl.Expr:
    starts = pl.lit(False)
    for start in FORMULA_STARTS:
        starts = starts | column.str.starts_with(start)
    return pl.when(starts).then(pl.lit("'") + column).otherwise(column)


def safe_for_spreadsheets(table: pl.DataFrame) -> pl.DataFrame:
    """The table with every text cell a spreadsheet would run as a formula written with a
    leading apostrophe (`=SUM(A1)` becomes `'=SUM(A1)`); numbers are untouched."""
    text = [name for name, dtype in table.schema.items() if dtype == pl.String]
    return table.with_columns(_defused(pl.col(name)).alias(name) for name in text) if text else table


def csv_text(table: pl.DataFrame) -> str:
    """The table as CSV, safe to open in a spreadsheet (`safe_for_spreadsheets`)."""
    return safe_for_spreadsheets(table).write_csv()


def _formats(table: pl.DataFrame, currency: str) -> dict[str, str]:
    money = f'"{currency}"#,##0;-"{currency}"#,##0' if currency else "#,##0"
    formats = {}
    for name in table.columns:
        base = name.removesuffix("_change")
        if base in MONEY_COLUMNS:
            formats[name] = money
        elif base in PERCENT_COLUMNS:
            formats[name] = '0.0"%"'
        elif base in RATIO_COLUMNS:
            formats[name] = "0.0%"
    return formats


def workbook(sheets: Mapping[str, pl.DataFrame], currency: str = "$") -> bytes:
    """An .xlsx file with one sheet per table (sheet names as given, at most 31 characters),
    money and percentages as formatted numbers, text never read as a formula or a link."""
    buffer = io.BytesIO()
    import xlsxwriter  # only a workbook needs it; every CSV the CLI writes goes through here too

    book = xlsxwriter.Workbook(buffer, {"strings_to_formulas": False, "strings_to_urls": False, "in_memory": True})
    for name, table in sheets.items():
        table.write_excel(
            workbook=book,
            worksheet=name[:31],
            column_formats=_formats(table, currency),  # type: ignore[arg-type]
            autofit=True,
            freeze_panes=(1, 0),
        )
    book.close()
    return buffer.getvalue()


def write_whole(path: Path, content: bytes) -> None:
    """Write a file whole or not at all: a half-written file never replaces a good one."""
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_bytes(content)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
