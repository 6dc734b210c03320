"""Read, validate and load the five input tables (SPEC "Input data contract").

The path is always: read each file as text -> check every rule at once -> typed, clean
rows -> a new DuckDB file (kpi.store), which replaces the live one atomically
(kpi.history). Nothing is replaced unless the whole dataset passed.

A load streams: `load_folder` reads each file a chunk at a time (`open_source`), checks
the chunk (`check_tables`) and appends its clean rows to the new database file while the
next chunk is read, so memory stays about the same whatever the size of the data. The
in-memory functions (`read_dataset`, `validate`) run the same checks on whole tables.

Problems name the file, the row as a spreadsheet user counts it (the header is
row 1, the first record row 2), the column, the value and what is wrong.

`read_source` / `open_source` are the one reader of files, for the contract's own files
here and for real exports read through a mapping (kpi.mapping): CSV and other delimited
text (delimiter, encoding and header row detected), Parquet and Excel, as text only,
with the size and row limits (KPI_MAX_UPLOAD_MB, KPI_MAX_ROWS).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

import duckdb
import polars as pl

from kpi import history
from kpi.history import DEFAULT_KEEP, LoadRecord
from kpi.schema import TABLE_BY_NAME, TABLE_NAMES, TABLES, Column, Table
from kpi.store import BackgroundAppender, DatasetWriter, SourceFileInfo

SUPPORTED_SUFFIXES: tuple[str, ...] = (".csv", ".parquet", ".xlsx")
PROBLEM_COLUMNS: tuple[str, ...] = ("file", "row", "column", "value", "problem")

# Midnight is accepted as a date: Excel date cells and Parquet datetime columns read so.
_DATE_RE = r"^\d{4}-\d{2}-\d{2}([T ]00:00(:00(\.0+)?)?)?$"
_TIMESTAMP_RE = r"^\d{4}-\d{2}-\d{2}([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$"
_MONEY_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


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


class LoadError(Exception):
    """A dataset could not be read or was refused; `validation` holds the problems."""

    def __init__(self, validation: Validation):
        self.validation = validation
        super().__init__(f"{validation.problems.height} problem(s) in the data")


def problems_frame(rows: list[tuple[str, int | None, str, str | None, str]]) -> pl.DataFrame:
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


# --- reading ---------------------------------------------------------------------------

# Limits: read from the environment at call time, so a deployment can change them.
DEFAULT_MAX_UPLOAD_MB = 200.0
DEFAULT_MAX_ROWS = 10_000_000
SOURCE_SUFFIXES: tuple[str, ...] = (".csv", ".tsv", ".txt", ".parquet", ".xlsx")
DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
RESERVED_COLUMNS: tuple[str, ...] = ("_row", "_file")
_SAMPLE_BYTES = 1 << 20  # sniffing the delimiter and finding the header look at the first MiB
_BLOCK_BYTES = 1 << 20  # files are read a MiB at a time
_HEADER_SEARCH_ROWS = 50
_SNIFF_RECORDS = 200
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
    never for loading: `kpi.mapping` refuses to apply or validate one.
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


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _is_texty(cell: str) -> bool:
    return any(ch.isalpha() for ch in cell)


def _detect_header(rows: Sequence[Sequence[str | None]]) -> int:
    """The 1-based row holding the column names: the first row whose cells are mostly
    non-empty, distinct and mostly words (not numbers or dates); row 1 if none is."""
    width = 0
    for row in rows:
        filled = [i for i, cell in enumerate(row) if cell is not None and cell.strip()]
        width = max(width, filled[-1] + 1 if filled else 0)
    for number, row in enumerate(rows[:_HEADER_SEARCH_ROWS], start=1):
        cells = [cell.strip() for cell in row if cell is not None and cell.strip()]
        if not cells or len(cells) * 2 <= width and width > 1:
            continue
        if len(set(cells)) < len(cells):
            continue
        if sum(_is_texty(cell) for cell in cells) * 2 < len(cells) or not any(map(_is_texty, cells)):
            continue
        return number
    return 1


def _lines(text: str) -> list[str]:
    """Physical lines (split on "\n" only, as the CSV parser counts them), endings kept."""
    pieces = text.split("\n")
    lines = [piece + "\n" for piece in pieces[:-1]]
    if pieces[-1]:
        lines.append(pieces[-1])
    return lines


def _records(lines: list[str], delimiter: str, limit: int) -> list[tuple[list[str], int]]:
    """The first `limit` records, each with the number of physical lines read up to its end."""
    consumed = 0

    def counted() -> Iterator[str]:
        nonlocal consumed
        for line in lines:
            consumed += 1
            yield line

    records: list[tuple[list[str], int]] = []
    for fields in csv.reader(counted(), delimiter=delimiter):
        records.append((fields, consumed))
        if len(records) >= limit:
            break
    return records


def _sniff(lines: list[str]) -> str:
    """The delimiter that splits most records into the same number (>= 2) of fields."""
    best, best_score = ",", (0, 0, 0)
    for priority, candidate in enumerate(DELIMITERS):
        try:
            records = _records(lines, candidate, _SNIFF_RECORDS)
        except csv.Error:
            continue
        widths = Counter(len(fields) for fields, _ in records if any(f.strip() for f in fields))
        if not widths:
            continue
        width, count = max(widths.items(), key=lambda item: (item[1], item[0]))
        score = (count, width, -priority)
        if width >= 2 and score > best_score:
            best, best_score = candidate, score
    return best


def _head(data: bytes | Path) -> tuple[bytes, bool]:
    """(the first bytes of the file, whether that is the whole file)."""
    if isinstance(data, bytes):
        return data[:_SAMPLE_BYTES], len(data) <= _SAMPLE_BYTES
    with data.open("rb") as handle:
        head = handle.read(_SAMPLE_BYTES + 1)
    return head[:_SAMPLE_BYTES], len(head) <= _SAMPLE_BYTES


def _raw_blocks(data: bytes | Path) -> Iterator[bytes]:
    """The file's bytes, a block at a time."""
    if isinstance(data, bytes):
        for start in range(0, len(data), _BLOCK_BYTES):
            yield data[start : start + _BLOCK_BYTES]
        return
    with data.open("rb") as handle:
        while block := handle.read(_BLOCK_BYTES):
            yield block


def _utf8_blocks(data: bytes | Path, encoding: str) -> Iterator[bytes]:
    """The file as UTF-8 bytes, a block at a time (other encodings transcoded on the way)."""
    if encoding == "utf-8":
        yield from _raw_blocks(data)
        return
    # cp1252 leaves five bytes undefined: they become U+FFFD instead of failing the file.
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    for block in _raw_blocks(data):
        if text := decoder.decode(block):
            yield text.encode("utf-8")
    if text := decoder.decode(b"", final=True):
        yield text.encode("utf-8")


def _is_utf8(data: bytes | Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for block in _raw_blocks(data):
            decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _cp1252_warning(name: str) -> str:
    return f"{name}: not UTF-8 text; read as Windows-1252 (cp1252). Check accented names, or save it as UTF-8"


def _record_end(text: bytes, start: int, target: int) -> int:
    """Where a piece of whole records starting at `start` ends, as close to `target` as can be.

    The end of the last record that ends at or before `target`, else of the first one
    after it; -1 when no record ends in `text[start:]`. A line break ends a record only
    outside quotes: where the quotes since `start` (a record start) are even.
    """
    stop = min(target, len(text))
    quotes = text.count(b'"', start, stop)
    end = stop
    while (newline := text.rfind(b"\n", start, end)) >= 0:
        quotes -= text.count(b'"', newline, end)
        if quotes % 2 == 0:
            return newline + 1
        end = newline
    quotes = text.count(b'"', start, stop)
    position = stop
    while (newline := text.find(b"\n", position)) >= 0:
        quotes += text.count(b'"', position, newline)
        if quotes % 2 == 0:
            return newline + 1
        position = newline + 1
    return -1


def _record_pieces(blocks: Iterator[bytes], skip_lines: int, piece_bytes: int | None) -> Iterator[bytes]:
    """Delimited text cut into pieces of whole records, each about `piece_bytes` long (None: one piece).

    The first piece starts at the top (the lines above the header, the header); each later
    one starts with a copy of the header record, so every piece parses on its own exactly
    as that part of the whole file does.
    """
    buffer = b""
    exhausted = False

    def fill(size: float) -> None:
        nonlocal buffer, exhausted
        parts, length = [buffer], len(buffer)
        while length < size and not exhausted:
            block = next(blocks, None)
            if block is None:
                exhausted = True
            else:
                parts.append(block)
                length += len(block)
        buffer = b"".join(parts)

    # Polars skips the lines above the header without looking at quotes; so does this.
    header_start = 0
    for _ in range(skip_lines):
        while (newline := buffer.find(b"\n", header_start)) < 0 and not exhausted:
            fill(len(buffer) + _BLOCK_BYTES)
        if newline < 0:
            break
        header_start = newline + 1
    while (header_end := _record_end(buffer, header_start, header_start)) < 0 and not exhausted:
        fill(len(buffer) + _BLOCK_BYTES)
    if header_end < 0:
        header_end = len(buffer)
    header = buffer[header_start:header_end]
    scan_from, first = header_end, True
    while True:
        fill(float("inf") if piece_bytes is None else scan_from + piece_bytes)
        target = len(buffer) if piece_bytes is None else scan_from + piece_bytes
        while (cut := _record_end(buffer, scan_from, target)) < 0 and not exhausted:
            fill(len(buffer) + max(piece_bytes or 0, _BLOCK_BYTES))
        if cut < 0 or exhausted and piece_bytes is None:
            cut = len(buffer)
        if not first and cut == 0:
            return
        yield buffer[:cut] if first else header + buffer[:cut]
        buffer, scan_from, first = buffer[cut:], 0, False
        if exhausted and not buffer:
            return


@dataclass(frozen=True)
class _Delimited:
    """How a delimited text file is laid out, from its first MiB."""

    encoding: str
    delimiter: str
    header_row: int
    headers: list[str]
    skip_lines: int  # physical lines above the header row
    line_bytes: float  # average bytes a line, to size the pieces
    warnings: list[str]


def _open_delimited(name: str, data: bytes | Path, header_row: int | None, delimiter: str | None) -> _Delimited:
    head, whole = _head(data)
    warnings: list[str] = []
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif _is_utf8(data):
        encoding = "utf-8"
    else:
        encoding = "cp1252"
        warnings.append(_cp1252_warning(name))
    if encoding != "utf-8":
        head, whole = _head(b"".join(_first_blocks(_utf8_blocks(data, encoding), _SAMPLE_BYTES + 1)))
    sample = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=whole)
    if not whole:  # keep whole lines only
        sample = sample[: sample.rfind("\n") + 1]
    lines = _lines(sample)
    if not any(line.strip() for line in lines):
        raise SourceError(name, "is empty: no header row and no data")
    delimiter = delimiter or _sniff(lines)
    try:
        records = _records(lines, delimiter, max(_HEADER_SEARCH_ROWS, header_row or 0) + 1)
    except csv.Error as exc:
        raise SourceError(name, f"cannot be read as CSV: {_first_line(exc)}") from None
    if not whole and len(records) > 1:
        records = records[:-1]  # the last record of a cut sample may be incomplete
    if header_row is None:
        header_row = _detect_header([fields for fields, _ in records])
    if header_row > len(records):
        raise SourceError(name, f"has no row {header_row} to take the column names from")
    return _Delimited(
        encoding=encoding,
        delimiter=delimiter,
        header_row=header_row,
        headers=records[header_row - 1][0],
        skip_lines=records[header_row - 2][1] if header_row > 1 else 0,
        line_bytes=len(sample.encode("utf-8")) / max(len(lines), 1),
        warnings=warnings,
    )


def _first_blocks(blocks: Iterator[bytes], size: int) -> Iterator[bytes]:
    length = 0
    for block in blocks:
        yield block
        length += len(block)
        if length >= size:
            return


def _delimited_frames(
    name: str, data: bytes | Path, layout: _Delimited, chunk_rows: int | None
) -> Iterator[pl.DataFrame]:
    """The records as frames of text with positional names, a piece of the file at a time."""
    pieces: Iterator[bytes | Path]
    if chunk_rows is None and layout.encoding == "utf-8":
        pieces = iter([data])  # one piece: Polars reads the file itself
    else:
        piece_bytes = None if chunk_rows is None else max(1, round(chunk_rows * layout.line_bytes))
        pieces = _record_pieces(_utf8_blocks(data, layout.encoding), layout.skip_lines, piece_bytes)
    for number, piece in enumerate(pieces):
        try:
            frame = pl.read_csv(
                piece,
                has_header=True,
                skip_lines=layout.skip_lines if number == 0 else 0,
                separator=layout.delimiter,
                infer_schema=False,
                glob=False,  # a file name is a name: "Report [Q3].csv" is not a pattern
                # No n_rows: with it polars drops an unterminated last record silently.
                truncate_ragged_lines=False,
                raise_if_empty=False,
            )
        except Exception as exc:  # polars raises many types for unreadable files
            raise SourceError(name, f"cannot be read as CSV: {_first_line(exc)}") from None
        if frame.width != len(layout.headers):
            raise SourceError(
                name,
                f"cannot be read as CSV: the header row has {len(layout.headers)} fields, the data {frame.width}",
            )
        yield frame


def _parquet_frames(
    name: str, data: bytes | Path, chunk_rows: int | None, row_cap: int
) -> tuple[list[str], Iterator[pl.DataFrame]]:
    """(the column names, the rows as frames, `chunk_rows` at a time)."""

    def unreadable(exc: BaseException) -> SourceError:
        return SourceError(name, f"cannot be read as PARQUET: {_first_line(exc)}")

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


def _read_xlsx(name: str, data: bytes | Path, header_row: int | None, row_cap: int) -> tuple[pl.DataFrame, int]:
    """(frame with positional names, header row) of the first sheet."""
    import fastexcel

    search = header_row if header_row is not None else _HEADER_SEARCH_ROWS
    try:
        reader = fastexcel.read_excel(data if isinstance(data, bytes) else str(data))
        # header_row=None and skip_rows=0: row i of the frame is sheet row i + 1, blank rows
        # included. calamine reads the cached cell values: formulas are never evaluated.
        sheet = reader.load_sheet(0, header_row=None, skip_rows=0, dtypes="string", n_rows=search + row_cap + 1)
        frame = sheet.to_polars()
    except Exception as exc:  # fastexcel raises its own types for broken files
        raise SourceError(name, f"cannot be read as XLSX: {_first_line(exc)}") from None
    if frame.height == 0 or frame.width == 0:
        raise SourceError(name, "is empty: the first sheet has no cells")
    if header_row is None:
        header_row = _detect_header(frame.head(_HEADER_SEARCH_ROWS).rows())
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
            frame = _as_text(frame)
        except Exception as exc:  # nested Parquet columns (lists, structs) have no text form
            raise SourceError(name, f"has a column that is not plain values: {_first_line(exc)}") from None
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
        sheet, header_row = _read_xlsx(name, data, header_row, row_cap)
        headers = sheet.row(header_row - 1)
        frames = _slices(sheet.slice(header_row), chunk_rows)
        delimiter = None
    else:
        layout = _open_delimited(name, data, header_row, delimiter)
        headers, header_row, delimiter, warnings = layout.headers, layout.header_row, layout.delimiter, layout.warnings
        frames = _delimited_frames(name, data, layout, chunk_rows)
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


def read_table_file(path: Path) -> pl.DataFrame:
    """Read one contract file (CSV, Parquet or Excel first sheet; header on row 1) as text columns.

    The frame carries `_row`, the spreadsheet row number, for `validate`. Raises
    `SourceError` (a ValueError) with a readable message when the file is refused.
    """
    return read_source(path.name, path, header_row=1).frame


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


ProblemRow = tuple[str, int | None, str, str | None, str]


@dataclass
class _Folder:
    """The contract's files of a folder, opened: what to validate, and what is wrong already."""

    parts: dict[str, list[Iterable[pl.DataFrame]]]
    file_names: dict[str, str]
    file_problems: list[ProblemRow]  # "more than one file for table ...", in folder order
    read_problems: list[ProblemRow]  # files that cannot be read, by name
    warnings: list[str]


def _open_folder(src_dir: Path, chunk_rows: int | None) -> _Folder:
    files, duplicates = find_table_files(src_dir)
    folder = _Folder({}, {}, [(f, None, "", None, m) for f, m in duplicates], [], [])
    for name, path in files.items():
        folder.file_names[name] = path.name
        try:
            # The contract's files have their header on row 1 (docs/data.md); exports with a
            # title above the header go through a mapping (kpi.mapping), which finds it.
            stream = open_source(path.name, path, header_row=1, chunk_rows=chunk_rows)
        except SourceError as exc:
            folder.read_problems.append((path.name, None, "", None, exc.reason))
            continue
        folder.parts[name] = [stream.chunks()]
        folder.warnings.extend(stream.warnings)
    return folder


def _folder_validation(folder: _Folder, checked: Checked) -> Validation:
    """What `read_dataset` reports: file problems first, then every rule's, in file and row order."""
    read_problems = sorted([*folder.read_problems, *checked.read_problems], key=lambda p: p[0])
    problems = without_consequences(checked.problems, set(folder.file_names) - checked.read)
    problem_rows = folder.file_problems + read_problems
    if problem_rows:
        problems = pl.concat([problems_frame(problem_rows), problems])
    return Validation({}, problems, [*folder.warnings, *checked.warnings])


def read_dataset(src_dir: Path) -> Validation:
    """Read and validate the tables in a folder (`partners.*` required), all in memory."""
    if not src_dir.is_dir():
        return Validation({}, problems_frame([(str(src_dir), None, "", None, "is not a folder")]))
    folder = _open_folder(src_dir, chunk_rows=None)
    sink = MemorySink()
    checked = check_tables(folder.parts, folder.file_names, sink)
    validation = _folder_validation(folder, checked)
    if validation.ok:
        validation.tables = sink.tables()
    return validation


# Rows a chunk (about 2 MB of activities as CSV): smaller saves a little memory and costs time.
DEFAULT_CHUNK_ROWS = 32_768


def _check_into(
    writer: DatasetWriter | None, parts: Mapping[str, Sequence[Iterable[pl.DataFrame]]], file_names: Mapping[str, str]
) -> Checked:
    """`check_tables`, the clean chunks written by `writer` in the background (None: checked only)."""
    if writer is None:
        return check_tables(parts, file_names, None)
    appender = BackgroundAppender(writer)
    try:
        return check_tables(parts, file_names, appender)
    finally:
        appender.stop()


@dataclass
class Loaded:
    """The outcome of a streamed load: the problems and warnings, and the load made (None: refused)."""

    validation: Validation  # no tables: they went straight to the database
    record: LoadRecord | None
    table_rows: dict[str, int]


def load_folder(
    src_dir: Path,
    db_path: Path,
    *,
    loaded_at: datetime,
    source: str | None = None,
    keep: int = DEFAULT_KEEP,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Loaded:
    """Validate the tables in a folder and make them the live dataset at `db_path`, streaming.

    The same rules and problems as `read_dataset` + `kpi.history.load_dataset`, but the
    files are read `chunk_rows` rows at a time, each chunk checked and written to the new
    database file while the next is read, so memory does not grow with the data. The new
    file replaces the live one only when the whole dataset passed; a refused load changes
    nothing (kpi.history).
    """
    src_dir = Path(src_dir)
    if not src_dir.is_dir():
        return Loaded(Validation({}, problems_frame([(str(src_dir), None, "", None, "is not a folder")])), None, {})
    folder = _open_folder(src_dir, chunk_rows=chunk_rows)
    outcome: list[tuple[Validation, dict[str, int]]] = []

    def fill(writer: DatasetWriter | None) -> list[SourceFileInfo] | None:
        checked = _check_into(writer, folder.parts, folder.file_names)
        validation = _folder_validation(folder, checked)
        outcome.append((validation, checked.rows))
        if not validation.ok:
            return None
        return [SourceFileInfo(folder.file_names[t], t, checked.rows[t]) for t in TABLE_NAMES if t in folder.file_names]

    if folder.file_problems or folder.read_problems:
        fill(None)  # refused whatever the rows hold: check them all, write nothing
        record = None
    else:
        record = history.load_streamed(db_path, fill, source=source or str(src_dir), loaded_at=loaded_at, keep=keep)
    validation, rows = outcome[0]
    return Loaded(validation, record, rows)


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


# --- validation ------------------------------------------------------------------------
#
# Every rule is checked a chunk at a time, so a table never has to be in memory whole:
# the rules of one row on each chunk as it comes; references against the key sets of
# partners and partner_users (read first: tables are checked in the contract's order);
# uniqueness over the key column of every chunk (only that column and the row numbers
# are kept). `validate` runs the same checks on whole frames, as one chunk each.

UNIQUE_PROBLEM = "is not unique: the same value is on another row"


Rule = tuple[pl.Expr, str, str]  # (the rows it flags, the column, what is wrong)


@dataclass
class _Checker:
    """Collects problems for one chunk of a table as frames (vectorised: no per-row Python)."""

    file: str
    frame: pl.DataFrame  # text columns plus `_row`
    found: list[pl.DataFrame] = field(default_factory=list)

    def file_expr(self) -> pl.Expr:
        return _file_expr(self.frame, self.file)

    def flag(self, mask: pl.Expr, column: str, problem: str, value: pl.Expr | None = None) -> None:
        self._flag(self.frame, mask, column, problem, value)

    def _flag(self, frame: pl.DataFrame, mask: pl.Expr, column: str, problem: str, value: pl.Expr | None) -> None:
        value_expr = pl.col(column) if value is None else value
        hits = frame.filter(mask).select(
            self.file_expr().alias("file"),
            pl.col("_row").alias("row"),
            pl.lit(column).alias("column"),
            value_expr.cast(pl.String).alias("value"),
            pl.lit(problem).alias("problem"),
        )
        if hits.height:
            self.found.append(hits)

    def flag_all(self, frame: pl.DataFrame, rules: Sequence[Rule]) -> None:
        """Apply every rule; one pass finds which rules flag any row (usually none)."""
        if not rules or not frame.height:
            return
        flagged = frame.select([mask.fill_null(False).any().alias(str(i)) for i, (mask, _, _) in enumerate(rules)])
        for (mask, column, problem), hit in zip(rules, flagged.row(0), strict=True):
            if hit:
                self._flag(frame, mask, column, problem, None)


def _file_expr(frame: pl.DataFrame, file: str) -> pl.Expr:
    # Rows combined from several files (monthly exports) carry their own file name.
    return pl.col("_file") if "_file" in frame.columns else pl.lit(file)


def _parse_expr(column: Column) -> pl.Expr:
    """The typed value of a text column of the given kind (null where it does not parse)."""
    text = pl.col(column.name)
    if column.kind in ("date", "timestamp"):
        pattern = _DATE_RE if column.kind == "date" else _TIMESTAMP_RE
        # The calendar date as written is what counts, also for timestamps with an offset.
        return (
            pl.when(text.str.contains(pattern))
            .then(text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False))
            .otherwise(None)
        )
    if column.kind == "money":
        return pl.when(text.str.contains(_MONEY_RE)).then(text.cast(pl.Float64, strict=False)).otherwise(None)
    return text


def _t(name: str) -> pl.Expr:
    """The typed value of a column, beside its text (`_check_rows`)."""
    return pl.col("_t_" + name)


KIND_MESSAGES = {
    "date": "is not a date; write it as YYYY-MM-DD",
    "timestamp": "is not a date or timestamp; write it as YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS",
    "money": "is not a plain number (no currency symbols or thousands separators)",
}


def _column_rules(column: Column) -> list[Rule]:
    """The rules of one column on one row, over its text and its typed value."""
    text, value = pl.col(column.name), _t(column.name)
    rules: list[Rule] = []
    if column.required:
        rules.append((text.is_null(), column.name, "is empty; a value is required"))
    if column.kind == "choice":
        rules.append(
            (
                text.is_not_null() & ~text.is_in(list(column.choices)),
                column.name,
                "must be one of " + ", ".join(column.choices),
            )
        )
    elif column.kind == "money":
        invalid = text.is_not_null() & (value.is_null() | value.is_infinite())
        rules.append((invalid, column.name, KIND_MESSAGES["money"]))
    elif column.kind in KIND_MESSAGES:
        rules.append((text.is_not_null() & value.is_null(), column.name, KIND_MESSAGES[column.kind]))
    if column.kind == "money":
        rules.append((value < 0, column.name, "must not be negative"))
    return rules


def _order_rules(table: str) -> list[Rule]:
    """Rules that compare columns of one row."""
    if table == "partners":
        return [(_t("left_on") < _t("joined_on"), "left_on", "is before joined_on")]
    if table == "deals":
        status = pl.col("status")
        return [
            (
                status.is_in(["won", "lost"]) & pl.col("closed_on").is_null(),
                "closed_on",
                "is empty; won and lost deals need a close date",
            ),
            ((status == "open") & pl.col("closed_on").is_not_null(), "closed_on", "must be empty for an open deal"),
            (_t("closed_on") < _t("registered_on"), "closed_on", "is before registered_on"),
            (
                pl.col("churned_on").is_not_null() & status.is_not_null() & (status != "won"),
                "churned_on",
                "is set on a deal that is not won",
            ),
            (_t("churned_on") < _t("closed_on"), "churned_on", "is before closed_on"),
        ]
    return []


def _check_header(table: Table, file: str, columns: Sequence[str]) -> tuple[list[str], list[pl.DataFrame], list[str]]:
    """(required columns missing, their problems, warnings) from a table's column names."""
    present = set(columns)
    warnings: list[str] = []
    extra = [c for c in columns if c not in table.column_names]
    if extra:
        warnings.append(f"{file}: ignored column(s) not in the contract: {', '.join(extra)}")
    missing = [c.name for c in table.columns if c.required and c.name not in present]
    problems = [
        problems_frame([(file, 1, name, None, "required column is missing from the header row")]) for name in missing
    ]
    return missing, problems, warnings


def _check_rows(
    table: Table, file: str, text_frame: pl.DataFrame, missing_required: Sequence[str]
) -> tuple[_Checker, pl.DataFrame]:
    """The rules of one row (each column's, then those across columns) on a chunk: its
    problems and the typed chunk (with `_row`)."""
    present = set(text_frame.columns)
    # Absent optional columns are simply empty; columns not in the contract are left out.
    frame = text_frame.with_columns(
        [pl.lit(None, dtype=pl.String).alias(c.name) for c in table.columns if c.name not in present]
    ).select("_row", *(["_file"] if "_file" in present else []), *table.column_names)
    checker = _Checker(file, frame)
    # Each value is parsed once; the rules read the text and the typed value side by side.
    typed = frame.select(pl.col("_row"), *[_parse_expr(c).alias(c.name) for c in table.columns])
    both = pl.concat([frame, typed.select(pl.exclude("_row").name.prefix("_t_"))], how="horizontal")
    # A required column missing from the header is reported once for the file, not per row.
    rules = [rule for c in table.columns if c.name not in missing_required for rule in _column_rules(c)]
    checker.flag_all(both, rules + _order_rules(table.name))
    return checker, typed


def _user_key() -> pl.Expr:
    """user_id and partner_id as one text, for a set lookup: the length of user_id first keeps
    every pair apart ("U1" + "2P" and "U12" + "P" differ); null when either is empty."""
    user = pl.col("user_id")
    return pl.concat_str([user.str.len_bytes().cast(pl.String), pl.lit(":"), user, pl.col("partner_id")])


def _flag_reference(checker: _Checker, column: str, key: pl.Expr, keys: pl.Series, problem: str) -> None:
    """Rows with a value in `column` whose `key` is not among `keys`.

    A set lookup per chunk: no join, no copy of the chunk (a join of the whole 2M-row
    table once cost +470 MB, benchmarks/bench_load.py)."""
    value = pl.col(column)
    checker.flag(value.is_not_null() & ~key.is_in(keys.implode()).fill_null(False), column, problem)


def _clean(table: str, typed: pl.DataFrame) -> pl.DataFrame:
    """A typed chunk in the database's shape (see kpi/sql/schema.sql)."""
    if table == "activities":
        return typed.select(
            "partner_id",
            "user_id",
            pl.col("occurred_at").alias("occurred_on"),
            "activity",
            "item_id",
            "item_name",
        )
    if table == "deals":
        return typed.drop("_row").with_columns(pl.col("amount").fill_null(0.0), pl.col("mrr").fill_null(0.0))
    return typed.drop("_row")


class Sink(Protocol):
    """Where clean chunks go: a new database file (kpi.store.DatasetWriter) or memory."""

    def append(self, table: str, frame: pl.DataFrame) -> None: ...


def _flush(sink: Sink) -> None:
    """Wait for a sink that writes in the background (kpi.store.BackgroundAppender)."""
    flush = getattr(sink, "flush", None)
    if flush is not None:
        flush()


class MemorySink:
    """Clean chunks kept in memory, as whole tables."""

    def __init__(self) -> None:
        self.parts: dict[str, list[pl.DataFrame]] = {name: [] for name in TABLE_NAMES}

    def append(self, table: str, frame: pl.DataFrame) -> None:
        self.parts[table].append(frame)

    def tables(self) -> dict[str, pl.DataFrame]:
        return {name: parts[0] if len(parts) == 1 else pl.concat(parts) for name, parts in self.parts.items()}


@dataclass
class Checked:
    """What `check_tables` found: every rule's problems (sorted by file and row) and the rest."""

    problems: pl.DataFrame
    read_problems: list[ProblemRow]  # files that failed part-way through (SourceError)
    warnings: list[str]
    rows: dict[str, int]  # clean rows per table
    read: set[str]  # tables with at least one file read to the end


@dataclass
class _Part:
    """What one file of a table adds; kept apart until the file has been read to the end."""

    found: list[pl.DataFrame] = field(default_factory=list)
    keys: list[pl.DataFrame] = field(default_factory=list)  # the unique column, with `_row` (and `_file`)
    users: list[pl.Series] = field(default_factory=list)  # `_user_key` of partner_users
    header: tuple[list[pl.DataFrame], list[str]] | None = None
    columns: list[str] | None = None
    rows: int = 0


class _Checks:
    """Every rule, over the chunks of the five tables in the contract's order."""

    def __init__(self, file_names: Mapping[str, str], sink: Sink | None) -> None:
        self.file_names = file_names
        self.sink = sink
        self.sink_error: BaseException | None = None
        self.found: list[pl.DataFrame] = []
        self.read_problems: list[ProblemRow] = []
        self.warnings: list[str] = []
        self.rows: dict[str, int] = {}
        self.read: set[str] = set()
        self.columns: dict[str, list[str]] = {}
        self.refused = False  # once a problem is seen, nothing more is written
        self.partner_keys: pl.Series | None = None  # None: references to partners are not checked
        self.user_keys: pl.Series | None = None  # `_user_key` of every user

    def table(self, table: Table, parts: Sequence[Iterable[pl.DataFrame]]) -> None:
        file = self.file_names.get(table.name, table.name)
        done: list[_Part] = []
        for chunks in parts:
            part = _Part()
            try:
                for chunk in chunks:
                    self._chunk(table, file, part, chunk)
            except SourceError as exc:  # the file broke part-way: only that is reported for it
                self.read_problems.append((exc.file, None, "", None, exc.reason))
                self.refused = True
                continue
            done.append(part)
        if done:
            self.read.add(table.name)
        else:  # no file, or none readable: no rows (the columns keep their types)
            part = _Part()
            self._chunk(
                table,
                file,
                part,
                pl.DataFrame(schema={"_row": pl.Int64, **dict.fromkeys(table.column_names, pl.String)}),
            )
            done.append(part)
        header_found, header_warnings = done[0].header or ([], [])
        self.found.extend(header_found)
        self.warnings.extend(header_warnings)
        self.columns[table.name] = done[0].columns or []
        for part in done:
            self.found.extend(part.found)
        self.rows[table.name] = sum(part.rows for part in done)
        for column in table.columns:
            if column.unique:
                self._flag_duplicates(file, column.name, [k for part in done for k in part.keys])
        if table.name == "partners" and table.name in self.read and "partner_id" in self.columns["partners"]:
            keys = [k.select(pl.col("partner_id")) for part in done for k in part.keys]
            self.partner_keys = (
                pl.concat(keys).get_column("partner_id") if keys else pl.Series("partner_id", [], pl.String)
            )
        if table.name == "partner_users":
            # References are checked only against a table that was read with its key columns:
            # otherwise every row would repeat the one real problem (the missing table or column).
            # A table that is not there at all has no users: every user_id set is a problem.
            if table.name not in self.read and parts:
                self.user_keys = None
            elif table.name in self.read and not {"user_id", "partner_id"} <= set(self.columns[table.name]):
                self.user_keys = None
            else:
                users = [u for part in done for u in part.users]
                self.user_keys = pl.concat(users) if users else pl.Series("user_key", [], pl.String)

    def _chunk(self, table: Table, file: str, part: _Part, chunk: pl.DataFrame) -> None:
        if part.columns is None:
            part.columns = [c for c in chunk.columns if c not in RESERVED_COLUMNS]
            missing, header_problems, header_warnings = _check_header(table, file, part.columns)
            part.header = (header_problems, header_warnings)
            self.refused = self.refused or bool(header_problems)
        missing = [c.name for c in table.columns if c.required and c.name not in part.columns]
        checker, typed = _check_rows(table, file, chunk, missing)
        if table.name != "partners" and self.partner_keys is not None:
            reference = pl.col("partner_id")
            _flag_reference(checker, "partner_id", reference, self.partner_keys, "is not a partner_id in partners")
        if table.name == "activities" and self.user_keys is not None:
            problem = "is not a user_id of this partner in partner_users"
            _flag_reference(checker, "user_id", _user_key(), self.user_keys, problem)
        for column in table.columns:
            if column.unique:
                name = column.name
                kept = ["_row", name, *(["_file"] if "_file" in checker.frame.columns else [])]
                part.keys.append(checker.frame.lazy().select(kept).filter(pl.col(name).is_not_null()).collect())
        if table.name == "partner_users":
            part.users.append(typed.select(_user_key()).to_series().drop_nulls())
        part.found.extend(checker.found)
        part.rows += typed.height
        self.refused = self.refused or bool(checker.found)
        if self.sink is not None and not self.refused:
            try:
                self.sink.append(table.name, _clean(table.name, typed))
            except duckdb.ConstraintException as exc:
                # A key already written (the database's primary key): the duplicate is
                # reported with both rows when the table is done; nothing more is written.
                self.sink_error = exc
                self.sink = None

    def _flag_duplicates(self, file: str, column: str, keys: list[pl.DataFrame]) -> None:
        if not keys:
            return
        frame = pl.concat(keys, how="diagonal")
        if frame.get_column(column).n_unique() == frame.height:
            return  # the usual case, found without the memory of marking every duplicate
        hits = frame.filter(pl.col(column).is_duplicated()).select(
            _file_expr(frame, file).alias("file"),
            pl.col("_row").alias("row"),
            pl.lit(column).alias("column"),
            pl.col(column).alias("value"),
            pl.lit(UNIQUE_PROBLEM).alias("problem"),
        )
        if hits.height:
            self.found.append(hits)
            self.refused = True


def check_tables(
    parts: Mapping[str, Sequence[Iterable[pl.DataFrame]]],
    file_names: Mapping[str, str] | None = None,
    sink: Sink | None = None,
) -> Checked:
    """Check every SPEC rule on the chunks of each table; clean chunks go to `sink` while none failed.

    `parts` maps a table to its files, each an iterable of text chunks with `_row` (the
    spreadsheet row) and optionally `_file` (the file, for tables made of several files).
    A table without parts means "no rows"; a file that raises `SourceError` part-way adds
    nothing but that problem (`read_problems`). Tables are checked in the contract's
    order, so the key sets of partners and partner_users are whole when the tables that
    refer to them are checked. Once any problem is seen nothing more goes to `sink`: a
    refused load is never completed.
    """
    file_names = dict(file_names or {})
    checks = _Checks(file_names, sink)
    for table in TABLES:
        checks.table(table, parts.get(table.name, ()))
    if checks.sink is not None:
        try:
            _flush(checks.sink)
        except duckdb.ConstraintException as exc:  # a key written twice: reported as a duplicate below
            checks.sink_error = exc
    found = checks.found
    if "partners" not in checks.read:
        message = "the partners table is required: add partners.csv, .parquet or .xlsx"
        found.insert(0, problems_frame([(file_names.get("partners", "partners"), None, "", None, message)]))
    problems = (
        pl.concat([EMPTY_PROBLEMS, *found], how="vertical_relaxed").sort("file", "row", maintain_order=True)
        if found
        else EMPTY_PROBLEMS
    )
    if checks.sink_error is not None and not problems.height and not checks.read_problems:
        raise checks.sink_error  # the database refused rows every rule passed: a bug, not the data
    return Checked(problems, checks.read_problems, checks.warnings, checks.rows, checks.read)


def _has_column(raw: Mapping[str, pl.DataFrame], table: str, column: str) -> bool:
    return table in raw and column in raw[table].columns


def validate(raw: Mapping[str, pl.DataFrame], file_names: Mapping[str, str] | None = None) -> Validation:
    """Check every SPEC rule on text tables and return typed frames or every problem.

    `raw` maps table names to frames of text columns (as `read_table_file` gives);
    a missing table other than partners means "no rows". A frame may carry `_row`
    (the spreadsheet row of each record; else the header is row 1) and `_file` (the
    file each record came from; else `file_names[table]`), and problems report those.
    """
    parts = {name: [[_numbered(frame)]] for name, frame in raw.items()}
    sink = MemorySink()
    checked = check_tables(parts, file_names, sink)
    if checked.problems.height:
        return Validation({}, checked.problems, checked.warnings)
    return Validation(sink.tables(), EMPTY_PROBLEMS, checked.warnings)


def _numbered(text_frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with `_row`: as the reader numbered it, else counted from row 2, blank rows left out."""
    if "_row" in text_frame.columns:
        return text_frame.with_columns(pl.col("_row").cast(pl.Int64))
    data_columns = [c for c in text_frame.columns if c not in RESERVED_COLUMNS]
    frame = text_frame.with_row_index("_row", offset=2).with_columns(pl.col("_row").cast(pl.Int64))
    if data_columns:
        # An entirely blank row is not a record, but it still counts for the row numbers after it.
        frame = frame.filter(~pl.all_horizontal(pl.col(data_columns).is_null()))
    return frame


def validate_frames(frames: Mapping[str, pl.DataFrame]) -> Validation:
    """Validate typed frames (for example the demo data) through the same rules."""
    return validate({name: _as_text(frame) for name, frame in frames.items()})
