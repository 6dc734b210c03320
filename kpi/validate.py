"""Check every rule of the input contract (SPEC "Input data contract") on text tables, a chunk at a time.

Every rule is checked a chunk at a time, so a table never has to be in memory whole:
the rules of one row on each chunk as it comes; references against the key sets of
partners and partner_users (read first: tables are checked in the contract's order);
uniqueness over the key column of every chunk (only that column and the row numbers
are kept). Clean chunks, typed in the database's shape, go to a `Sink` while nothing has
failed. `validate` runs the same checks on whole frames, as one chunk each.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import duckdb
import polars as pl

from kpi.problems import EMPTY_PROBLEMS, ProblemRow, Validation, problems_frame
from kpi.schema import TABLE_NAMES, TABLES, Column, Table
from kpi.source import RESERVED_COLUMNS, SourceError, as_text

# Midnight is accepted as a date: Excel date cells and Parquet datetime columns read so.
_DATE_RE = r"^\d{4}-\d{2}-\d{2}([T ]00:00(:00(\.0+)?)?)?$"
_TIMESTAMP_RE = r"^\d{4}-\d{2}-\d{2}([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$"
_MONEY_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"

UNIQUE_PROBLEM = "is not unique: the same value is on another row"


# (the rows it flags, the column, what is wrong: a text, or an expression read on the flagged rows only)
Rule = tuple[pl.Expr, str, str | pl.Expr]


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

    def _flag(
        self, frame: pl.DataFrame, mask: pl.Expr, column: str, problem: str | pl.Expr, value: pl.Expr | None
    ) -> None:
        value_expr = pl.col(column) if value is None else value
        problem_expr = problem if isinstance(problem, pl.Expr) else pl.lit(problem)
        hits = frame.filter(mask).select(
            self.file_expr().alias("file"),
            pl.col("_row").alias("row"),
            pl.lit(column).alias("column"),
            value_expr.cast(pl.String).alias("value"),
            problem_expr.cast(pl.String).alias("problem"),
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


def _date_pattern(column: Column) -> str:
    return _DATE_RE if column.kind == "date" else _TIMESTAMP_RE


def _parse_expr(column: Column) -> pl.Expr:
    """The typed value of a text column of the given kind (null where it does not parse)."""
    text = pl.col(column.name)
    if column.kind in ("date", "timestamp"):
        pattern = _date_pattern(column)
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
IMPOSSIBLE_DATE = "is not a day in the calendar: check the month (01-12) and the day of that month"


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
        # Written the right way but no such day (2025-02-30, 2025-13-01): said so, not "write
        # it as YYYY-MM-DD". The pattern is read again only on the rows already flagged.
        problem = (
            pl.when(text.str.contains(_date_pattern(column)))
            .then(pl.lit(IMPOSSIBLE_DATE))
            .otherwise(pl.lit(KIND_MESSAGES[column.kind]))
        )
        rules.append((text.is_not_null() & value.is_null(), column.name, problem))
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

    A set lookup per chunk: no join, no copy of the chunk (a join of a whole table costs
    far more memory; benchmarks/bench_load.py)."""
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


def validate(raw: Mapping[str, pl.DataFrame], file_names: Mapping[str, str] | None = None) -> Validation:
    """Check every SPEC rule on text tables and return typed frames or every problem.

    `raw` maps table names to frames of text columns (as `kpi.read.read_source` gives);
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
    return validate({name: as_text(frame) for name, frame in frames.items()})
