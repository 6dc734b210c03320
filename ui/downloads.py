"""A table's downloads: CSV (safe to open in a spreadsheet) and Excel, built only when clicked."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import polars as pl
import streamlit as st

from kpi import export
from ui import format as fmt

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def table_downloads(table: Callable[[], pl.DataFrame], name: str, key: str, where: object = st) -> None:
    """Two buttons in `where`: the table as `name`.csv and as `name`.xlsx. `table` makes the
    whole table (not only the rows on screen) when a button is clicked."""
    where.download_button(  # type: ignore[attr-defined]
        "CSV",
        lambda: export.csv_text(table()),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"{key}_csv",
        icon=":material/download:",
        help="The whole table as CSV",
    )
    where.download_button(  # type: ignore[attr-defined]
        "Excel",
        lambda: export.workbook({name: table()}, fmt.currency_symbol()),
        file_name=f"{name}.xlsx",
        mime=XLSX,
        key=f"{key}_xlsx",
        icon=":material/download:",
        help="The whole table as an Excel workbook",
    )


def workbook_download(sheets: Callable[[], Mapping[str, pl.DataFrame]], name: str, label: str, key: str) -> None:
    """One button: every table of a page as one workbook, a sheet each."""
    st.download_button(
        label,
        lambda: export.workbook(sheets(), fmt.currency_symbol()),
        file_name=f"{name}.xlsx",
        mime=XLSX,
        key=key,
        icon=":material/download:",
        type="primary",
    )
