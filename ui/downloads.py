"""Downloads: a table as CSV (safe to open in a spreadsheet) and Excel, a chart as PNG and SVG.

Every file is built only when its button is clicked (the data argument is a callable run by
Streamlit on click, on its own thread), never on a rerun: a slider move draws the buttons and
builds nothing. A click does not rerun the page either (`on_click="ignore"`). The buttons are
small (tertiary) and sit in one horizontal row a table or chart: every element is a message
of each rerun.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import polars as pl
import streamlit as st

from kpi import export
from ui import chart_export
from ui import format as fmt

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ICON = ":material/download:"


def file_part(text: str) -> str:
    """`text` fit for a file name: letters, digits, dots, dashes and underscores only (an ID
    from the data could hold a slash or a quote)."""
    return re.sub(r"[^\w.-]+", "_", text).strip("._") or "_"


def row(where: Any = st) -> Any:
    """A compact horizontal row for download buttons, in `where`."""
    return where.container(horizontal=True, gap="small", vertical_alignment="center")


def _in_row(where: Any) -> Any:
    # Two buttons straight in the page would stack one under the other.
    return row() if where is st else where


def _button(where: Any, label: str, data: Callable[[], object], file_name: str, mime: str, key: str, help: str) -> None:
    where.download_button(
        label,
        data,
        file_name=file_name,
        mime=mime,
        key=key,
        icon=ICON,
        help=help,
        type="tertiary",
        on_click="ignore",
    )


def table_downloads(
    table: Callable[[], pl.DataFrame], name: str, key: str, where: Any = st, sheet: str | None = None
) -> None:
    """Two buttons: the table as `name`.csv and as `name`.xlsx (its one sheet named `sheet`,
    `name` by default). `table` makes the whole table (not only the rows on screen) when a
    button is clicked. In `where` (a row of its own under the last element by default);
    keys `key`_csv and `key`_xlsx."""
    where = _in_row(where)
    currency = fmt.currency_symbol()
    _button(
        where,
        "CSV",
        lambda: export.csv_text(table()),
        f"{name}.csv",
        "text/csv",
        f"{key}_csv",
        "The whole table as CSV",
    )
    _button(
        where,
        "Excel",
        lambda: export.workbook({sheet or name: table()}, currency),
        f"{name}.xlsx",
        XLSX,
        f"{key}_xlsx",
        "The whole table as an Excel workbook",
    )


def chart_downloads(spec: Callable[[], dict], name: str, key: str, where: Any = st) -> None:
    """Two buttons: the chart as `name`.png and `name`.svg, rendered on the server when
    clicked (`ui.chart_export`). `spec` returns the chart's Vega-Lite dict as the page draws
    it (rows as Polars frames or Arrow bytes are fine). In `where` (a row of its own under
    the last element by default); keys `key`_png and `key`_svg."""
    where = _in_row(where)
    _button(
        where,
        "PNG",
        lambda: chart_export.to_png(spec()),
        f"{name}.png",
        "image/png",
        f"{key}_png",
        "The chart as a PNG image",
    )
    _button(
        where,
        "SVG",
        lambda: chart_export.to_svg(spec()),
        f"{name}.svg",
        "image/svg+xml",
        f"{key}_svg",
        "The chart as an SVG image (sharp at any size)",
    )


def workbook_download(sheets: Callable[[], Mapping[str, pl.DataFrame]], name: str, label: str, key: str) -> None:
    """One button: every table of a page as one workbook, a sheet each."""
    currency = fmt.currency_symbol()
    st.download_button(
        label,
        lambda: export.workbook(sheets(), currency),
        file_name=f"{name}.xlsx",
        mime=XLSX,
        key=key,
        icon=ICON,
        type="primary",
        on_click="ignore",
    )
