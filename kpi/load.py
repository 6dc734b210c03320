"""Read, validate and load the five input tables (SPEC "Input data contract").

The path is always: read each file as text -> `validate` every rule at once ->
typed, clean frames -> `kpi.store.write_dataset`, which replaces the database
atomically. Nothing is written unless validation found no problem.

Problems name the file, the row as a spreadsheet user counts it (the header is
row 1, the first record row 2), the column, the value and what is wrong.

`read_source` is the one reader of files, for the contract's own files here and for
real exports read through a mapping (kpi.mapping): CSV and other delimited text
(delimiter, encoding and header row detected), Parquet and Excel, as text only, with
the size and row limits (KPI_MAX_UPLOAD_MB, KPI_MAX_ROWS).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from kpi.schema import TABLE_BY_NAME, TABLES, Column, Table

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
    """

    name: str
    frame: pl.DataFrame
    header_row: int
    delimiter: str | None
    headers: tuple[str, ...]
    warnings: tuple[str, ...] = ()


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


def _transcoded(data: bytes | Path, encoding: str) -> bytes:
    raw = data if isinstance(data, bytes) else data.read_bytes()
    # cp1252 leaves five bytes undefined: they become U+FFFD instead of failing the file.
    return raw.decode(encoding, errors="replace").encode("utf-8")


def _cp1252_warning(name: str) -> str:
    return f"{name}: not UTF-8 text; read as Windows-1252 (cp1252). Check accented names, or save it as UTF-8"


def _read_delimited(
    name: str, data: bytes | Path, header_row: int | None, delimiter: str | None
) -> tuple[pl.DataFrame, list[str], int, str, list[str]]:
    """(frame with positional names, header fields, header row, delimiter, warnings)."""
    head, whole = _head(data)
    warnings: list[str] = []
    source: bytes | Path = data
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        source = _transcoded(data, "utf-16")
        head, whole = source[:_SAMPLE_BYTES], len(source) <= _SAMPLE_BYTES
    try:
        sample = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=whole)
    except UnicodeDecodeError:
        source = _transcoded(data, "cp1252")
        warnings.append(_cp1252_warning(name))
        head, whole = source[:_SAMPLE_BYTES], len(source) <= _SAMPLE_BYTES
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
    headers = records[header_row - 1][0]
    skip_lines = records[header_row - 2][1] if header_row > 1 else 0

    def parse(current: bytes | Path) -> pl.DataFrame:
        return pl.read_csv(
            current,
            has_header=True,
            skip_lines=skip_lines,
            separator=delimiter,
            infer_schema=False,
            # No n_rows: with it polars drops an unterminated last record silently.
            truncate_ragged_lines=False,
            raise_if_empty=False,
        )

    try:
        try:
            frame = parse(source)
        except pl.exceptions.ComputeError as exc:
            if source is not data or "utf-8" not in str(exc).lower():
                raise
            # Valid UTF-8 at the start only: the rest is another encoding.
            source = _transcoded(data, "cp1252")
            warnings.append(_cp1252_warning(name))
            frame = parse(source)
    except Exception as exc:  # polars raises many types for unreadable files
        raise SourceError(name, f"cannot be read as CSV: {_first_line(exc)}") from None
    if frame.width != len(headers):
        raise SourceError(
            name, f"cannot be read as CSV: the header row has {len(headers)} fields, the data {frame.width}"
        )
    return frame, headers, header_row, delimiter, warnings


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


def _finish(
    name: str,
    frame: pl.DataFrame,
    headers: Sequence[str | None],
    first_row: int,
    row_cap: int,
) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """Check the header, name the columns, number the rows, drop blank rows and columns."""
    if frame.height > row_cap:
        raise SourceError(name, f"has more than {row_cap:,} rows, the limit (set KPI_MAX_ROWS to change it)")
    names = [(h or "").strip() for h in headers]
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
    kept = [names[i] for i in keep]
    if not kept:
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
    reserved = [c for c in kept if c in RESERVED_COLUMNS]
    if reserved:
        raise SourceError(name, f"has a column named {reserved[0]!r}, a name the loader reserves; rename it")
    frame = frame.select([pl.col(frame.columns[i]).alias(names[i]) for i in keep])
    frame = frame.with_row_index("_row", offset=first_row).with_columns(pl.col("_row").cast(pl.Int64))
    # An entirely blank row is not a record, but it still counts for the row numbers after it.
    frame = frame.filter(~pl.all_horizontal(pl.exclude("_row").is_null()))
    return frame, tuple(kept)


def _megabytes(size: int) -> str:
    value = size / _MB
    return f"{value:,.1f}" if value >= 1 else f"{value:.2g}"


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
    if size > size_cap * _MB:
        raise SourceError(
            name,
            f"is {_megabytes(size)} MB, over the {size_cap:g} MB limit (set KPI_MAX_UPLOAD_MB to change it)",
        )
    warnings: list[str] = []
    if suffix == ".parquet":
        try:
            frame = pl.read_parquet(data if isinstance(data, Path) else io.BytesIO(data), n_rows=row_cap + 1)
        except Exception as exc:  # polars raises many types for unreadable files
            raise SourceError(name, f"cannot be read as PARQUET: {_first_line(exc)}") from None
        headers: Sequence[str | None] = frame.columns
        header_row, delimiter = 1, None
    elif suffix == ".xlsx":
        frame, header_row = _read_xlsx(name, data, header_row, row_cap)
        headers = frame.row(header_row - 1)
        frame = frame.slice(header_row)
        delimiter = None
    else:
        frame, headers, header_row, delimiter, warnings = _read_delimited(name, data, header_row, delimiter)
    frame, names = _finish(name, frame, headers, header_row + 1, row_cap)
    return SourceFile(name, frame, header_row, delimiter, names, tuple(warnings))


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


def read_dataset(src_dir: Path) -> Validation:
    """Read and validate the tables in a folder (`partners.*` required)."""
    if not src_dir.is_dir():
        return Validation({}, problems_frame([(str(src_dir), None, "", None, "is not a folder")]))
    files, file_problems = find_table_files(src_dir)
    raw: dict[str, pl.DataFrame] = {}
    problem_rows: list[tuple[str, int | None, str, str | None, str]] = [
        (f, None, "", None, m) for f, m in file_problems
    ]
    file_names: dict[str, str] = {}
    read_warnings: list[str] = []
    for name, path in files.items():
        file_names[name] = path.name
        try:
            # The contract's files have their header on row 1 (docs/data.md); exports with a
            # title above the header go through a mapping (kpi.mapping), which finds it.
            source = read_source(path.name, path, header_row=1)
        except SourceError as exc:
            problem_rows.append((path.name, None, "", None, exc.reason))
            continue
        raw[name] = source.frame
        read_warnings.extend(source.warnings)
    validation = validate(raw, file_names)
    validation.warnings[:0] = read_warnings
    validation.problems = without_consequences(validation.problems, set(files) - set(raw))
    if problem_rows:
        validation.problems = pl.concat([problems_frame(problem_rows), validation.problems])
        validation.tables = {}
    return validation


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


@dataclass
class _Checker:
    """Collects problems for one table as frames (vectorised: no per-row Python)."""

    file: str
    frame: pl.DataFrame  # text columns plus `_row`
    found: list[pl.DataFrame] = field(default_factory=list)

    def file_expr(self) -> pl.Expr:
        # Rows combined from several files (monthly exports) carry their own file name.
        return pl.col("_file") if "_file" in self.frame.columns else pl.lit(self.file)

    def flag(self, mask: pl.Expr, column: str, problem: str, value: pl.Expr | None = None) -> None:
        value_expr = pl.col(column) if value is None else value
        hits = self.frame.filter(mask).select(
            self.file_expr().alias("file"),
            pl.col("_row").alias("row"),
            pl.lit(column).alias("column"),
            value_expr.cast(pl.String).alias("value"),
            pl.lit(problem).alias("problem"),
        )
        if hits.height:
            self.found.append(hits)


def _parse_exprs(column: Column) -> tuple[pl.Expr, pl.Expr]:
    """(typed value, is-invalid mask) for a text column of the given kind."""
    text = pl.col(column.name)
    if column.kind in ("date", "timestamp"):
        pattern = _DATE_RE if column.kind == "date" else _TIMESTAMP_RE
        # The calendar date as written is what counts, also for timestamps with an offset.
        parsed = (
            pl.when(text.str.contains(pattern))
            .then(text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False))
            .otherwise(None)
        )
        return parsed, text.is_not_null() & parsed.is_null()
    if column.kind == "money":
        parsed = pl.when(text.str.contains(_MONEY_RE)).then(text.cast(pl.Float64, strict=False)).otherwise(None)
        return parsed, text.is_not_null() & (parsed.is_null() | parsed.is_infinite())
    if column.kind == "choice":
        return text, text.is_not_null() & ~text.is_in(list(column.choices))
    return text, pl.lit(False)


KIND_MESSAGES = {
    "date": "is not a date; write it as YYYY-MM-DD",
    "timestamp": "is not a date or timestamp; write it as YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS",
    "money": "is not a plain number (no currency symbols or thousands separators)",
}


def _check_table(
    table: Table, file: str, text_frame: pl.DataFrame, warnings: list[str]
) -> tuple[_Checker, pl.DataFrame]:
    data_columns = [c for c in text_frame.columns if c not in RESERVED_COLUMNS]
    if "_row" in text_frame.columns:
        # The reader numbered the rows as the spreadsheet does and left out blank rows.
        frame = text_frame.with_columns(pl.col("_row").cast(pl.Int64))
    else:
        frame = text_frame.with_row_index("_row", offset=2).with_columns(pl.col("_row").cast(pl.Int64))
        if data_columns:
            # An entirely blank row is not a record, but it still counts for the row numbers after it.
            frame = frame.filter(~pl.all_horizontal(pl.col(data_columns).is_null()))
    checker = _Checker(file, frame)
    present = set(data_columns)
    extra = [c for c in data_columns if c not in table.column_names]
    if extra:
        warnings.append(f"{file}: ignored column(s) not in the contract: {', '.join(extra)}")
    missing_required = [c.name for c in table.columns if c.required and c.name not in present]
    for name in missing_required:
        checker.found.append(
            problems_frame(
                [
                    (
                        file,
                        1,
                        name,
                        None,
                        "required column is missing from the header row",
                    )
                ]
            )
        )
    # Absent optional columns are simply empty.
    frame = frame.with_columns(
        [pl.lit(None, dtype=pl.String).alias(c.name) for c in table.columns if c.name not in present]
    )
    checker.frame = frame
    typed: list[pl.Expr] = [pl.col("_row")]
    for column in table.columns:
        parsed, invalid = _parse_exprs(column)
        if column.name in missing_required:
            # Reported once above; the empty column keeps its type for the cross-column checks.
            typed.append(parsed.alias(column.name))
            continue
        if column.required:
            checker.flag(
                pl.col(column.name).is_null(),
                column.name,
                "is empty; a value is required",
            )
        if column.kind == "choice":
            checker.flag(invalid, column.name, "must be one of " + ", ".join(column.choices))
        elif column.kind in KIND_MESSAGES:
            checker.flag(invalid, column.name, KIND_MESSAGES[column.kind])
        if column.kind == "money":
            checker.flag(parsed < 0, column.name, "must not be negative")
        if column.unique:
            checker.flag(
                pl.col(column.name).is_not_null() & pl.col(column.name).is_duplicated(),
                column.name,
                "is not unique: the same value is on another row",
            )
        typed.append(parsed.alias(column.name))
    return checker, frame.select(typed)


def _flag_orders(checker: _Checker, typed: pl.DataFrame, table: str) -> None:
    """Rules that compare columns of one row."""
    frame = checker.frame
    checker.frame = frame.with_columns(typed.select(pl.all().name.prefix("_t_")))
    t = lambda name: pl.col("_t_" + name)  # noqa: E731 - short alias for the typed value
    if table == "partners":
        checker.flag(t("left_on") < t("joined_on"), "left_on", "is before joined_on")
    elif table == "deals":
        closed_status = pl.col("status").is_in(["won", "lost"])
        checker.flag(
            closed_status & pl.col("closed_on").is_null(),
            "closed_on",
            "is empty; won and lost deals need a close date",
        )
        checker.flag(
            (pl.col("status") == "open") & pl.col("closed_on").is_not_null(),
            "closed_on",
            "must be empty for an open deal",
        )
        checker.flag(t("closed_on") < t("registered_on"), "closed_on", "is before registered_on")
        checker.flag(
            pl.col("churned_on").is_not_null() & pl.col("status").is_not_null() & (pl.col("status") != "won"),
            "churned_on",
            "is set on a deal that is not won",
        )
        checker.flag(t("churned_on") < t("closed_on"), "churned_on", "is before closed_on")
    checker.frame = frame


def _flag_reference(checker: _Checker, column: str, keys: pl.DataFrame, on: list[str], problem: str) -> None:
    """Rows whose `on` values (non-null in `column`) are not among `keys`."""
    # Only the columns the check needs: filtering the whole 2M-row table first copied
    # every column (+470 MB at 2 million activities, benchmarks/bench_load.py).
    needed = ["_row", *dict.fromkeys([column, *on]), *(["_file"] if "_file" in checker.frame.columns else [])]
    missing = (
        checker.frame.lazy()
        .select(needed)
        .filter(pl.col(column).is_not_null())
        .join(keys.lazy(), on=on, how="anti", nulls_equal=False)
        .collect()
    )
    if missing.height:
        checker.found.append(
            missing.select(
                checker.file_expr().alias("file"),
                pl.col("_row").alias("row"),
                pl.lit(column).alias("column"),
                pl.col(column).alias("value"),
                pl.lit(problem).alias("problem"),
            )
        )


def _has_column(raw: Mapping[str, pl.DataFrame], table: str, column: str) -> bool:
    return table in raw and column in raw[table].columns


def validate(raw: Mapping[str, pl.DataFrame], file_names: Mapping[str, str] | None = None) -> Validation:
    """Check every SPEC rule on text tables and return typed frames or every problem.

    `raw` maps table names to frames of text columns (as `read_table_file` gives);
    a missing table other than partners means "no rows". A frame may carry `_row`
    (the spreadsheet row of each record; else the header is row 1) and `_file` (the
    file each record came from; else `file_names[table]`), and problems report those.
    """
    file_names = dict(file_names or {})
    warnings: list[str] = []
    checkers: dict[str, _Checker] = {}
    typed: dict[str, pl.DataFrame] = {}
    for table in TABLES:
        file = file_names.get(table.name, table.name)
        text_frame = raw.get(table.name)
        if text_frame is None:
            text_frame = pl.DataFrame(schema={c.name: pl.String for c in table.columns})
        checker, typed_frame = _check_table(table, file, text_frame, warnings)
        _flag_orders(checker, typed_frame, table.name)
        checkers[table.name] = checker
        typed[table.name] = typed_frame

    # References are checked only against a table that was read with its key column:
    # otherwise every row would repeat the one real problem (the missing table or column).
    if _has_column(raw, "partners", "partner_id"):
        partner_keys = typed["partners"].select("partner_id").drop_nulls().unique()
        for name in ("partner_users", "activities", "deals", "investments"):
            _flag_reference(
                checkers[name], "partner_id", partner_keys, ["partner_id"], "is not a partner_id in partners"
            )
    users_readable = _has_column(raw, "partner_users", "user_id") and _has_column(raw, "partner_users", "partner_id")
    if "partner_users" not in raw or users_readable:
        user_keys = typed["partner_users"].select("user_id", "partner_id").drop_nulls().unique()
        _flag_reference(
            checkers["activities"],
            "user_id",
            user_keys,
            ["user_id", "partner_id"],
            "is not a user_id of this partner in partner_users",
        )

    found = [f for c in checkers.values() for f in c.found]
    if "partners" not in raw:
        message = "the partners table is required: add partners.csv, .parquet or .xlsx"
        found.insert(0, problems_frame([(file_names.get("partners", "partners"), None, "", None, message)]))
    problems = (
        pl.concat([EMPTY_PROBLEMS, *found], how="vertical_relaxed").sort("file", "row", maintain_order=True)
        if found
        else EMPTY_PROBLEMS
    )
    if problems.height:
        return Validation({}, problems, warnings)
    return Validation(_clean(typed), EMPTY_PROBLEMS, warnings)


def _clean(typed: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Typed frames in the database's shape (see kpi/sql/schema.sql)."""
    return {
        "partners": typed["partners"].drop("_row"),
        "partner_users": typed["partner_users"].drop("_row"),
        "activities": typed["activities"].select(
            "partner_id",
            "user_id",
            pl.col("occurred_at").alias("occurred_on"),
            "activity",
            "item_id",
            "item_name",
        ),
        "deals": typed["deals"]
        .drop("_row")
        .with_columns(pl.col("amount").fill_null(0.0), pl.col("mrr").fill_null(0.0)),
        "investments": typed["investments"].drop("_row"),
    }


def validate_frames(frames: Mapping[str, pl.DataFrame]) -> Validation:
    """Validate typed frames (for example the demo data) through the same rules."""
    return validate({name: _as_text(frame) for name, frame in frames.items()})
