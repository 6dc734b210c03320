"""Read an export file as text: the one reader of files, for the contract's own and for real exports.

CSV and other delimited text (delimiter, encoding and header row detected, `kpi.read_text`),
Parquet and Excel (.xlsx, the first sheet), every column as text, with the size and row
limits (`kpi.source`). `open_source` reads a chunk at a time, `read_source` a whole file,
`preview_source` the first rows of a file read once for choosing a mapping.
Nothing in a file's contents is ever used as a path, and formulas are never run.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from pathlib import Path

import polars as pl

from kpi.read_text import delimited_frames, open_delimited
from kpi.schema import TABLE_BY_NAME
from kpi.source import (
    HEADER_SEARCH_ROWS,
    RESERVED_COLUMNS,
    SourceError,
    SourceFile,
    SourceStream,
    as_text,
    column_limit,
    columns_problem,
    detect_header,
    first_line,
    row_limit,
    size_limit_mb,
    size_problem,
    xlsx_unpacked_limit_mb,
)

# The contract's own files: <table>.csv, .parquet or .xlsx, the header on row 1.
SUPPORTED_SUFFIXES: tuple[str, ...] = (".csv", ".parquet", ".xlsx")
SOURCE_SUFFIXES: tuple[str, ...] = (".csv", ".tsv", ".txt", ".parquet", ".xlsx")
# Rows a chunk: smaller saves a little memory and costs time.
DEFAULT_CHUNK_ROWS = 32_768


def open_source(
    name: str,
    data: bytes | Path,
    header_row: int | None = None,
    delimiter: str | None = None,
    *,
    chunk_rows: int | None = None,
    max_upload_mb: float | None = None,
    max_rows: int | None = None,
) -> SourceStream:
    """Open one export (CSV or other delimited text, Parquet, Excel .xlsx first sheet) to read as text.

    As `read_source`, but the rows are read when `chunks()` is iterated, `chunk_rows` at a
    time (about that many for delimited text, which is cut by bytes; None: all at once).
    Delimited text and Parquet files are read a piece at a time; an Excel sheet is read
    whole (Excel's own size limit keeps it small) and handed out in slices.
    """
    if chunk_rows is not None and chunk_rows < 1:
        raise ValueError(f"chunk_rows must be 1 or more, not {chunk_rows}")
    try:
        size_cap = size_limit_mb(max_upload_mb)
        row_cap = row_limit(max_rows)
        column_cap = column_limit()
        unpacked_cap = xlsx_unpacked_limit_mb()
    except ValueError as exc:  # a bad KPI_MAX_* setting: say so where the file is reported
        raise SourceError(name, str(exc)) from None
    suffix = Path(name).suffix.lower()
    if suffix not in SOURCE_SUFFIXES:
        raise SourceError(name, f"unsupported file type {suffix or '(none)'!r}; use .csv, .parquet or .xlsx")
    if header_row is not None and header_row < 1:
        raise SourceError(name, f"the header row must be 1 or more, not {header_row}")
    if delimiter is not None and len(delimiter) != 1:
        raise SourceError(name, f"the delimiter must be one character, not {delimiter!r}")
    try:
        size = data.stat().st_size if isinstance(data, Path) else len(data)
    except OSError as exc:
        raise SourceError(name, f"cannot be opened: {exc.strerror or exc}") from None
    if (too_big := size_problem(size, size_cap)) is not None:
        raise SourceError(name, too_big)
    warnings: list[str] = []
    headers: Sequence[str | None]
    frames: Iterator[pl.DataFrame]
    if suffix == ".parquet":
        headers, frames = _parquet_frames(name, data, chunk_rows, row_cap)
        header_row, delimiter = 1, None
    elif suffix == ".xlsx":
        _check_unpacked(name, data, unpacked_cap)
        sheet, header_row = _read_xlsx(name, data, header_row, row_cap)
        headers = sheet.row(header_row - 1)
        frames = _slices(sheet.slice(header_row), chunk_rows)
        delimiter = None
    else:
        layout = open_delimited(name, data, header_row, delimiter)
        headers, header_row, delimiter, warnings = layout.headers, layout.header_row, layout.delimiter, layout.warnings
        frames = delimited_frames(name, data, layout, chunk_rows)
    if (too_wide := columns_problem(len(headers), column_cap)) is not None:
        raise SourceError(name, too_wide)
    kept = tuple(n for n in ((h or "").strip() for h in headers) if n)
    return SourceStream(
        name, header_row, delimiter, kept, tuple(warnings), _finish(name, frames, headers, header_row + 1, row_cap)
    )


def read_source(
    name: str,
    data: bytes | Path,
    header_row: int | None = None,
    delimiter: str | None = None,
    *,
    max_upload_mb: float | None = None,
    max_rows: int | None = None,
) -> SourceFile:
    """Read one export (CSV or other delimited text, Parquet, Excel .xlsx first sheet) as text.

    `name` is the file name shown in messages (its suffix picks the format); `data` the
    bytes or the path to read. `header_row` (1-based) and `delimiter` are detected when
    None. Raises `SourceError` (a ValueError naming the file) when the file is refused.
    Nothing in a file's contents is ever used as a path, and formulas are never run.
    """
    stream = open_source(name, data, header_row, delimiter, max_upload_mb=max_upload_mb, max_rows=max_rows)
    [frame] = stream.chunks()  # chunk_rows None: one chunk
    return SourceFile(name, frame, stream.header_row, stream.delimiter, stream.headers, stream.warnings)


# A preview's first rows: enough to suggest a mapping from the data and to show a sample.
PREVIEW_ROWS = 10_000
# A column's distinct values a preview keeps (deal stages, activity names): beyond, none.
PREVIEW_VALUES = 200


def preview_source(
    name: str,
    data: bytes | Path,
    header_row: int | None = None,
    delimiter: str | None = None,
    *,
    rows: int = PREVIEW_ROWS,
    values: int = PREVIEW_VALUES,
    max_upload_mb: float | None = None,
    max_rows: int | None = None,
) -> SourceFile:
    """`read_source`, holding only the first `rows` rows: the whole file is read once, a chunk at a time.

    `total_rows` counts every row of the file, and `distinct` has, for each column with at
    most `values` distinct values in the whole file, those values sorted, so a value
    mapping (deal stages, activity names) sees every value even past the first rows.
    Memory stays about the same whatever the file's size. Raises `SourceError` as
    `read_source` does, for a problem anywhere in the file.
    """
    stream = open_source(
        name, data, header_row, delimiter, chunk_rows=DEFAULT_CHUNK_ROWS, max_upload_mb=max_upload_mb, max_rows=max_rows
    )
    head: list[pl.DataFrame] = []
    kept = total = 0
    seen: dict[str, set[str] | None] = {header: set() for header in stream.headers}
    for chunk in stream.chunks():
        if kept < rows or not head:
            head.append(chunk.head(rows - kept))
            kept += head[-1].height
        total += chunk.height
        for header, found in seen.items():
            if found is None:
                continue
            column = chunk.get_column(header).drop_nulls()
            if column.n_unique() > values:
                seen[header] = None
                continue
            found.update(column.unique().to_list())
            if len(found) > values:
                seen[header] = None
    if head:
        frame = pl.concat(head)
    else:  # no chunk at all (a Parquet file without row groups)
        frame = pl.DataFrame(schema={"_row": pl.Int64, **dict.fromkeys(stream.headers, pl.String)})
    distinct = {header: tuple(sorted(found)) for header, found in seen.items() if found is not None}
    return SourceFile(
        name, frame, stream.header_row, stream.delimiter, stream.headers, stream.warnings, total, distinct
    )


def _parquet_frames(
    name: str, data: bytes | Path, chunk_rows: int | None, row_cap: int
) -> tuple[list[str], Iterator[pl.DataFrame]]:
    """(the column names, the rows as frames, `chunk_rows` at a time)."""

    def unreadable(exc: BaseException) -> SourceError:
        return SourceError(name, f"cannot be read as PARQUET: {first_line(exc)}")

    try:
        scan = pl.scan_parquet(data, glob=False)  # a file name is a name, not a pattern
        names = scan.collect_schema().names()
        total = 0 if chunk_rows is None else int(scan.select(pl.len()).collect().item())
    except Exception as exc:  # polars raises many types for unreadable files
        raise unreadable(exc) from None

    def frames() -> Iterator[pl.DataFrame]:
        try:
            if chunk_rows is None:
                source = data if isinstance(data, Path) else io.BytesIO(data)
                yield pl.read_parquet(source, n_rows=row_cap + 1, glob=False)
                return
            # One empty frame for an empty file; reading stops one row past the cap.
            for offset in range(0, max(min(total, row_cap + 1), 1), chunk_rows):
                yield scan.slice(offset, chunk_rows).collect()
        except SourceError:
            raise
        except Exception as exc:  # polars raises many types for unreadable files
            raise unreadable(exc) from None

    return names, frames()


def _check_unpacked(name: str, data: bytes | Path, cap_mb: float) -> None:
    """Refuse an .xlsx whose parts unpack to more than `cap_mb`, from the zip's own directory
    (nothing is unpacked to find out); a file that is no zip is left to the reader to refuse."""
    import zipfile

    try:
        with zipfile.ZipFile(data if isinstance(data, Path) else io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return
    if unpacked > cap_mb * 1024 * 1024:
        raise SourceError(
            name,
            f"unpacks to {unpacked / (1024 * 1024):,.0f} MB, over the {cap_mb:g} MB limit for .xlsx files "
            "(Excel files are read whole; save a large sheet as CSV, or set KPI_MAX_XLSX_UNPACKED_MB)",
        )


def _read_xlsx(name: str, data: bytes | Path, header_row: int | None, row_cap: int) -> tuple[pl.DataFrame, int]:
    """(frame with positional names, header row) of the first sheet."""
    import fastexcel

    search = header_row if header_row is not None else HEADER_SEARCH_ROWS
    try:
        reader = fastexcel.read_excel(data if isinstance(data, bytes) else str(data))
        # header_row=None and skip_rows=0: row i of the frame is sheet row i + 1, blank rows
        # included. calamine reads the cached cell values: formulas are never evaluated.
        sheet = reader.load_sheet(0, header_row=None, skip_rows=0, dtypes="string", n_rows=search + row_cap + 1)
        frame = sheet.to_polars()
    except Exception as exc:  # fastexcel raises its own types for broken files
        raise SourceError(name, f"cannot be read as XLSX: {first_line(exc)}") from None
    if frame.height == 0 or frame.width == 0:
        raise SourceError(name, "is empty: the first sheet has no cells")
    if header_row is None:
        header_row = detect_header(frame.head(HEADER_SEARCH_ROWS).rows())
    if header_row > frame.height:
        raise SourceError(name, f"has no row {header_row} to take the column names from")
    # Excel date cells read as "YYYY-MM-DD HH:MM:SS"; a date without a time is written as a date.
    frame = frame.with_columns(pl.all().str.replace(r"^(\d{4}-\d{2}-\d{2}) 00:00:00$", "${1}"))
    return frame, header_row


def _slices(frame: pl.DataFrame, chunk_rows: int | None) -> Iterator[pl.DataFrame]:
    if chunk_rows is None or frame.height <= chunk_rows:
        yield frame
        return
    yield from frame.iter_slices(chunk_rows)


def _finish(
    name: str,
    frames: Iterator[pl.DataFrame],
    headers: Sequence[str | None],
    first_row: int,
    row_cap: int,
) -> Iterator[pl.DataFrame]:
    """Check the header, name the columns, number the rows, drop blank rows and columns: a chunk at a time."""
    names = [(h or "").strip() for h in headers]
    rows_before = 0
    for number, frame in enumerate(frames):
        if rows_before + frame.height > row_cap:
            raise SourceError(name, f"has more than {row_cap:,} rows, the limit (set KPI_MAX_ROWS to change it)")
        names += [""] * (frame.width - len(names))
        frame.columns = [f"column_{i}" for i in range(frame.width)]
        try:
            frame = as_text(frame)
        except Exception as exc:  # nested Parquet columns (lists, structs) have no text form
            raise SourceError(name, f"has a column that is not plain values: {first_line(exc)}") from None
        keep: list[int] = []
        for i, column in enumerate(names):
            if column:
                keep.append(i)
            elif frame.get_column(frame.columns[i]).null_count() < frame.height:
                raise SourceError(
                    name,
                    f"column {i + 1} has values but no name in the header row; name it or delete the column",
                )
        if number == 0:
            _check_header_names(name, names, keep)
        frame = frame.select([pl.col(frame.columns[i]).alias(names[i]) for i in keep])
        frame = frame.with_row_index("_row", offset=first_row + rows_before).with_columns(pl.col("_row").cast(pl.Int64))
        rows_before += frame.height
        # An entirely blank row is not a record, but it still counts for the row numbers after it.
        yield frame.filter(~pl.all_horizontal(pl.exclude("_row").is_null()))


def _check_header_names(name: str, names: list[str], keep: list[int]) -> None:
    if not keep:
        raise SourceError(name, "has no column names in the header row")
    seen: dict[str, int] = {}
    for i in keep:
        if names[i] in seen:
            raise SourceError(
                name,
                f"the header row names {names[i]!r} twice (columns {seen[names[i]] + 1} and {i + 1}); "
                "rename one of them",
            )
        seen[names[i]] = i
    reserved = [names[i] for i in keep if names[i] in RESERVED_COLUMNS]
    if reserved:
        raise SourceError(name, f"has a column named {reserved[0]!r}, a name the loader reserves; rename it")


def find_table_files(src_dir: Path) -> tuple[dict[str, Path], list[tuple[str, str]]]:
    """Map table name -> file in `src_dir`; also return (file, message) problems."""
    found: dict[str, list[Path]] = {}
    for path in sorted(src_dir.iterdir()):
        if path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES and path.stem in TABLE_BY_NAME:
            found.setdefault(path.stem, []).append(path)
    files: dict[str, Path] = {}
    problems: list[tuple[str, str]] = []
    for name, paths in found.items():
        if len(paths) > 1:
            problems.append(
                (
                    paths[0].name,
                    f"more than one file for table {name}: " + ", ".join(p.name for p in paths),
                )
            )
        else:
            files[name] = paths[0]
    return files, problems


def readable_files(src_dir: Path) -> list[Path]:
    """The files in `src_dir` that `read_source` can read, by name."""
    return sorted(
        p
        for p in Path(src_dir).iterdir()
        if p.is_file() and p.suffix.lower() in SOURCE_SUFFIXES and not p.name.startswith(("~$", "."))
    )
