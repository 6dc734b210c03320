"""An export read as text: what the reader gives, how it refuses a file, what every format shares.

`SourceFile` (a whole file) and `SourceStream` (a file read a chunk at a time) are what
`kpi.read` gives for CSV, Parquet and Excel alike; `SourceError` is how it refuses one. The
formats share the size and row limits (KPI_MAX_UPLOAD_MB, KPI_MAX_ROWS), every cell as
trimmed text, and how the header row is found.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

# Limits: read from the environment at call time, so a deployment can change them.
DEFAULT_MAX_UPLOAD_MB = 200.0
DEFAULT_MAX_ROWS = 10_000_000
# An .xlsx is read whole, and its cells take many times their packed size in memory: a small
# file can unpack to gigabytes. Its parts together may unpack to at most this.
DEFAULT_MAX_XLSX_UNPACKED_MB = 100.0
# No export of the five tables needs more; a file of 200,000 columns is an attack, not data.
DEFAULT_MAX_COLUMNS = 1_000
# The loader's own columns beside a file's: the spreadsheet row, and the file of a combined table.
RESERVED_COLUMNS: tuple[str, ...] = ("_row", "_file")
HEADER_SEARCH_ROWS = 50  # the header row is looked for in the first rows
_MB = 1024 * 1024


class SourceError(ValueError):
    """A file that cannot be read or is refused. `str()` names the file; `reason` does not."""

    def __init__(self, file: str, reason: str) -> None:
        self.file = file
        self.reason = reason
        super().__init__(f"{file}: {reason}")


@dataclass(frozen=True, eq=False)
class SourceFile:
    """One export read as data only, every column as text.

    `frame` has the file's original (trimmed) header names as String columns, empty
    cells as null, blank rows left out, and an Int64 `_row`: the row number as a
    spreadsheet user counts it (the header is row `header_row`).

    A preview (`preview_source`) holds only the first rows in `frame`; `total_rows` and
    `distinct` then say what the whole file holds. A preview is for choosing a mapping,
    never for loading: `kpi.transform.apply` and `kpi.ingest.validate_mapped` refuse one.
    """

    name: str
    frame: pl.DataFrame
    header_row: int
    delimiter: str | None
    headers: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    total_rows: int | None = None  # rows of the whole file, when `frame` is a preview
    # The distinct values of each column of the whole file that has only a few (a preview).
    distinct: Mapping[str, tuple[str, ...]] | None = None

    @property
    def is_preview(self) -> bool:
        return self.total_rows is not None

    @property
    def rows(self) -> int:
        """Rows of the whole file (blank rows left out)."""
        return self.frame.height if self.total_rows is None else self.total_rows

    def values(self, header: str, limit: int) -> list[str]:
        """The column's distinct values, sorted, at most `limit`: of the whole file where known."""
        if self.distinct is not None and header in self.distinct:
            return list(self.distinct[header][:limit])
        return self.frame.get_column(header).drop_nulls().unique().sort().head(limit).to_list()


@dataclass(frozen=True, eq=False)
class SourceStream:
    """One export opened to be read a chunk at a time (`open_source`).

    What is known before the rows: the name, the header row, the delimiter, the header
    names kept (`headers`, as `SourceFile.headers`) and the warnings. `chunks()` reads the
    rows: frames shaped like `SourceFile.frame`, about `chunk_rows` rows each, their `_row`
    numbered across chunks as the spreadsheet counts. It can be iterated once, and it can
    still raise `SourceError` part-way (a broken line, the row limit).
    """

    name: str
    header_row: int
    delimiter: str | None
    headers: tuple[str, ...]
    warnings: tuple[str, ...]
    reader: Iterator[pl.DataFrame] = field(repr=False)

    def chunks(self) -> Iterator[pl.DataFrame]:
        return self.reader


def _env_number(variable: str, default: float) -> float:
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{variable} must be a positive number, not {raw!r}")
    return value


def size_limit_mb(override: float | None = None) -> float:
    """The file size cap in MB: `override`, else KPI_MAX_UPLOAD_MB, else 200."""
    return override if override is not None else _env_number("KPI_MAX_UPLOAD_MB", DEFAULT_MAX_UPLOAD_MB)


def row_limit(override: int | None = None) -> int:
    """The row cap per file: `override`, else KPI_MAX_ROWS, else 10,000,000."""
    return override if override is not None else int(_env_number("KPI_MAX_ROWS", DEFAULT_MAX_ROWS))


def xlsx_unpacked_limit_mb() -> float:
    """The cap on an .xlsx file's unpacked size in MB: KPI_MAX_XLSX_UNPACKED_MB, else 100."""
    return _env_number("KPI_MAX_XLSX_UNPACKED_MB", DEFAULT_MAX_XLSX_UNPACKED_MB)


def column_limit() -> int:
    """The cap on a file's columns: KPI_MAX_COLUMNS, else 1,000."""
    return int(_env_number("KPI_MAX_COLUMNS", DEFAULT_MAX_COLUMNS))


def columns_problem(columns: int, cap: int) -> str | None:
    """What is wrong with a file of `columns` columns under the column limit; None: nothing."""
    if columns > cap:
        return f"has {columns:,} columns, over the {cap:,} column limit (set KPI_MAX_COLUMNS to change it)"
    return None


def size_problem(size: int, size_cap_mb: float | None = None) -> str | None:
    """What is wrong with a file of `size` bytes under the size limit (KPI_MAX_UPLOAD_MB); None: nothing.

    Raises ValueError for a bad KPI_MAX_UPLOAD_MB setting.
    """
    cap = size_limit_mb(size_cap_mb)
    if size > cap * _MB:
        return f"is {_megabytes(size)} MB, over the {cap:g} MB limit (set KPI_MAX_UPLOAD_MB to change it)"
    return None


def _megabytes(size: int) -> str:
    value = size / _MB
    return f"{value:,.1f}" if value >= 1 else f"{value:.2g}"


def as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Every column as trimmed text, empty text as null: validation works on text only."""
    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype == pl.Date:
            col = col.dt.strftime("%Y-%m-%d")
        elif isinstance(dtype, pl.Datetime):
            col = col.dt.strftime("%Y-%m-%dT%H:%M:%S")
        elif dtype != pl.String:
            col = col.cast(pl.String)
        col = col.str.strip_chars()
        exprs.append(pl.when(col == "").then(None).otherwise(col).alias(name))
    return frame.select(exprs)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _is_texty(cell: str) -> bool:
    return any(ch.isalpha() for ch in cell)


def detect_header(rows: Sequence[Sequence[str | None]]) -> int:
    """The 1-based row holding the column names: the first row whose cells are mostly
    non-empty, distinct and mostly words (not numbers or dates); row 1 if none is."""
    width = 0
    for row in rows:
        filled = [i for i, cell in enumerate(row) if cell is not None and cell.strip()]
        width = max(width, filled[-1] + 1 if filled else 0)
    for number, row in enumerate(rows[:HEADER_SEARCH_ROWS], start=1):
        cells = [cell.strip() for cell in row if cell is not None and cell.strip()]
        if not cells or len(cells) * 2 <= width and width > 1:
            continue
        if len(set(cells)) < len(cells):
            continue
        if sum(_is_texty(cell) for cell in cells) * 2 < len(cells) or not any(map(_is_texty, cells)):
            continue
        return number
    return 1
