"""Read, validate and load the five input tables (SPEC "Input data contract").

The path is always: read each file as text -> `validate` every rule at once ->
typed, clean frames -> `kpi.store.write_dataset`, which replaces the database
atomically. Nothing is written unless validation found no problem.

Problems name the file, the row as a spreadsheet user counts it (the header is
row 1, the first record row 2), the column, the value and what is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
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


def _problems(rows: list[tuple[str, int | None, str, str | None, str]]) -> pl.DataFrame:
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


EMPTY_PROBLEMS = _problems([])


# --- reading -------------------------------------------------------------------------


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


def read_table_file(path: Path) -> pl.DataFrame:
    """Read one CSV, Parquet or Excel (first sheet) file as text columns.

    Raises ValueError with a readable message when the file cannot be parsed.
    """
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pl.read_csv(path, infer_schema=False, truncate_ragged_lines=False)
        elif suffix == ".parquet":
            frame = pl.read_parquet(path)
        elif suffix == ".xlsx":
            # calamine reads cached cell values only: formulas are never evaluated.
            # Blank rows are kept (and skipped in validation) so row numbers match the sheet.
            frame = pl.read_excel(path, engine="calamine", infer_schema_length=0, drop_empty_rows=False)
        else:
            raise ValueError(f"unsupported file type {suffix!r}; use .csv, .parquet or .xlsx")
    except ValueError:
        raise
    except Exception as exc:  # polars/fastexcel raise many types for unreadable files
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"cannot be read as {suffix[1:].upper()}: {first_line}") from None
    frame = frame.rename({c: c.lstrip("\ufeff").strip() for c in frame.columns})
    return _as_text(frame)


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
        return Validation({}, _problems([(str(src_dir), None, "", None, "is not a folder")]))
    files, file_problems = find_table_files(src_dir)
    raw: dict[str, pl.DataFrame] = {}
    problem_rows: list[tuple[str, int | None, str, str | None, str]] = [
        (f, None, "", None, m) for f, m in file_problems
    ]
    file_names: dict[str, str] = {}
    for name, path in files.items():
        file_names[name] = path.name
        try:
            raw[name] = read_table_file(path)
        except ValueError as exc:
            problem_rows.append((path.name, None, "", None, str(exc)))
    validation = validate(raw, file_names)
    if problem_rows:
        validation.problems = pl.concat([_problems(problem_rows), validation.problems])
        validation.tables = {}
    return validation


# --- validation ------------------------------------------------------------------------


@dataclass
class _Checker:
    """Collects problems for one table as frames (vectorised: no per-row Python)."""

    file: str
    frame: pl.DataFrame  # text columns plus `_row`
    found: list[pl.DataFrame] = field(default_factory=list)

    def flag(self, mask: pl.Expr, column: str, problem: str, value: pl.Expr | None = None) -> None:
        value_expr = pl.col(column) if value is None else value
        hits = self.frame.filter(mask).select(
            pl.lit(self.file).alias("file"),
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


_KIND_MESSAGE = {
    "date": "is not a date; write it as YYYY-MM-DD",
    "timestamp": "is not a date or timestamp; write it as YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS",
    "money": "is not a plain number (no currency symbols or thousands separators)",
}


def _check_table(
    table: Table, file: str, text_frame: pl.DataFrame, warnings: list[str]
) -> tuple[_Checker, pl.DataFrame]:
    frame = text_frame.with_row_index("_row", offset=2).with_columns(pl.col("_row").cast(pl.Int64))
    if text_frame.width:
        # An entirely blank row is not a record, but it still counts for the row numbers after it.
        frame = frame.filter(~pl.all_horizontal(pl.exclude("_row").is_null()))
    checker = _Checker(file, frame)
    present = set(text_frame.columns)
    extra = [c for c in text_frame.columns if c not in table.column_names]
    if extra:
        warnings.append(f"{file}: ignored column(s) not in the contract: {', '.join(extra)}")
    missing_required = [c.name for c in table.columns if c.required and c.name not in present]
    for name in missing_required:
        checker.found.append(
            _problems(
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
        elif column.kind in _KIND_MESSAGE:
            checker.flag(invalid, column.name, _KIND_MESSAGE[column.kind])
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
    frame = checker.frame
    missing = frame.filter(pl.col(column).is_not_null()).join(keys, on=on, how="anti", nulls_equal=False)
    if missing.height:
        checker.found.append(
            missing.select(
                pl.lit(checker.file).alias("file"),
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
    a missing table other than partners means "no rows".
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
        found.insert(0, _problems([(file_names.get("partners", "partners"), None, "", None, message)]))
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
