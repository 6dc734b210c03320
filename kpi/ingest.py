"""Load a folder into the live dataset: read, (map,) check and write, all or nothing.

The path is always: read each file as text (kpi.read) -> apply its mapping, if any
(kpi.transform) -> check every rule at once (kpi.validate) -> typed, clean rows -> a new
DuckDB file (kpi.store), which replaces the live one atomically (kpi.history). Nothing is
replaced unless the whole dataset passed.

A load streams (`load_folder`, `load_mapped`): each file is read a chunk at a time,
each chunk checked and its clean rows appended to the new database file while the next
chunk is read, so memory stays about the same whatever the size of the data. The same
checks run in memory on whole files (`read_dataset`, `load_with_mapping`,
`validate_mapped`), or streamed without writing (`check_mapped`, the Data page's Check).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase
from pathlib import Path

import polars as pl

from kpi import history
from kpi.history import DEFAULT_KEEP, LoadRecord
from kpi.mapping import FileMapping, Mapping, TableMapping
from kpi.problems import (
    EMPTY_PROBLEMS,
    ProblemRow,
    Validation,
    collapse_unmapped,
    problems_frame,
    without_consequences,
)
from kpi.read import DEFAULT_CHUNK_ROWS, find_table_files, open_source, read_source
from kpi.schema import TABLE_NAMES
from kpi.source import SourceError, SourceFile, SourceStream
from kpi.store import BackgroundAppender, DatasetWriter, SourceFileInfo
from kpi.transform import apply_frame, human_date_format, left_out_warnings, missing_source_columns, require_whole
from kpi.validate import KIND_MESSAGES, Checked, MemorySink, Sink, check_tables


@dataclass
class Loaded:
    """The outcome of a streamed load: the problems and warnings, and the load made (None: refused)."""

    validation: Validation  # no tables: they went straight to the database
    record: LoadRecord | None
    table_rows: dict[str, int]


# One check of a whole dataset, its clean chunks sent to the sink (None: checked only):
# what it found, every rule's outcome, and the files read (name, table, rows) to record.
Check = Callable[[Sink | None], tuple[Validation, Checked, list[SourceFileInfo]]]


def _load_streamed(
    db_path: Path,
    check: Check,
    *,
    refused: bool,
    source: str,
    loaded_at: datetime,
    keep: int,
    mapping_name: str | None = None,
) -> Loaded:
    """Run `check` once, writing its clean chunks to a new database file in the background;
    the file becomes the live dataset at `db_path` only when the whole dataset passed
    (kpi.history.load_streamed), and a refused load changes nothing. `refused` (a file
    could not be read or matched): every row is checked all the same, and nothing written.
    """
    outcome: list[tuple[Validation, dict[str, int]]] = []

    def fill(writer: DatasetWriter | None) -> list[SourceFileInfo] | None:
        if writer is None:
            validation, checked, read_files = check(None)
        else:
            appender = BackgroundAppender(writer)
            try:
                validation, checked, read_files = check(appender)
            finally:
                appender.stop()
        outcome.append((validation, checked.rows))
        if not validation.ok:
            return None
        return read_files

    record = None
    if refused:
        fill(None)  # refused whatever the rows hold: check them all, write nothing
    else:
        record = history.load_streamed(
            db_path, fill, source=source, loaded_at=loaded_at, mapping_name=mapping_name, keep=keep
        )
    validation, rows = outcome[0]
    return Loaded(validation, record, rows)


def _not_a_folder(src_dir: Path) -> Validation:
    return Validation({}, problems_frame([(str(src_dir), None, "", None, "is not a folder")]))


# --- the contract's own files ----------------------------------------------------------------


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
            # title above the header go through a mapping (`load_mapped`), which finds it.
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
        return _not_a_folder(src_dir)
    folder = _open_folder(src_dir, chunk_rows=None)
    sink = MemorySink()
    checked = check_tables(folder.parts, folder.file_names, sink)
    validation = _folder_validation(folder, checked)
    if validation.ok:
        validation.tables = sink.tables()
    return validation


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
        return Loaded(_not_a_folder(src_dir), None, {})
    folder = _open_folder(src_dir, chunk_rows=chunk_rows)

    def check(sink: Sink | None) -> tuple[Validation, Checked, list[SourceFileInfo]]:
        checked = check_tables(folder.parts, folder.file_names, sink)
        files = [
            SourceFileInfo(folder.file_names[t], t, checked.rows[t]) for t in TABLE_NAMES if t in folder.file_names
        ]
        return _folder_validation(folder, checked), checked, files

    return _load_streamed(
        db_path,
        check,
        refused=bool(folder.file_problems or folder.read_problems),
        source=source or str(src_dir),
        loaded_at=loaded_at,
        keep=keep,
    )


# --- exports through a mapping ---------------------------------------------------------------


def _date_problem(kind: str, date_format: str) -> str:
    written = f"{human_date_format(date_format)} ({date_format})"
    if kind == "date":
        return f"is not a date in the mapping's format {written}"
    return f"is not a date or timestamp in the mapping's format {written} (a time may follow)"


@dataclass
class _Applied:
    """Rows a file's mapping left out (skip_incomplete), counted as its chunks go by."""

    counts: dict[str, int] = field(default_factory=dict)
    complete: bool = False  # the file was read to the end
    rows: int = 0  # rows read from the file (blank rows left out)


def _applied_chunks(
    source: SourceFile | SourceStream, mapping: TableMapping, tally: _Applied
) -> Iterator[pl.DataFrame]:
    require_whole(source)
    chunks = source.chunks() if isinstance(source, SourceStream) else [source.frame]
    for chunk in chunks:
        tally.rows += chunk.height
        frame, counts = apply_frame(chunk, mapping)
        for key, count in counts.items():
            tally.counts[key] = tally.counts.get(key, 0) + count
        yield frame.with_columns(pl.lit(source.name).alias("_file"))
    tally.complete = True


def _check_pairs(
    pairs: Sequence[tuple[SourceFile | SourceStream, TableMapping]],
    problems: Sequence[ProblemRow],
    warnings: Sequence[str],
    mapped_tables: Iterable[str],
    sink: Sink | None,
) -> tuple[Validation, Checked, list[SourceFileInfo]]:
    """`validate_mapped` on files read whole or a chunk at a time; clean chunks go to `sink`.

    Also returns each file read: its name, its table and the rows read from it, in the
    contract's table order.
    """
    covered = {*mapped_tables, *(table_mapping.table for _, table_mapping in pairs)}
    found: list[ProblemRow] = list(problems)
    warnings = [*warnings, *(w for source, _ in pairs for w in source.warnings)]
    parts: dict[str, list[Iterable[pl.DataFrame]]] = {}
    files: dict[str, list[str]] = {}
    tallies: list[tuple[str, TableMapping, _Applied]] = []
    unmapped: list[tuple[str, int, str]] = []
    formats: list[tuple[str, str]] = []
    for source, table_mapping in pairs:
        missing = missing_source_columns(source, table_mapping)
        for name, header in missing:
            found.append(
                (
                    source.name,
                    source.header_row,
                    name,
                    header,
                    f"the mapping takes {name} from column {header!r}, which is not in the header row",
                )
            )
        if missing:
            continue
        tally = _Applied()
        tallies.append((source.name, table_mapping, tally))
        parts.setdefault(table_mapping.table, []).append(_applied_chunks(source, table_mapping, tally))
        files.setdefault(table_mapping.table, []).append(source.name)
        unmapped.extend((source.name, source.header_row, c) for c in table_mapping.unmapped_required())
        if table_mapping.date_format:
            formats.append((source.name, table_mapping.date_format))
    file_names = {table: ", ".join(names) for table, names in files.items()}
    # Refused already (a file, a column): check every row all the same, but write nothing.
    checked = check_tables(parts, file_names, None if found or unmapped else sink)
    found.extend(checked.read_problems)
    for name, table_mapping, tally in tallies:
        if tally.complete:
            warnings.extend(left_out_warnings(name, table_mapping, tally.counts))
    result = without_consequences(checked.problems, covered - checked.read)
    if unmapped:
        # One problem per file, not one per row, for a required column the mapping leaves out.
        skip = pl.DataFrame(
            {"file": [f for f, _, _ in unmapped], "column": [c for _, _, c in unmapped]},
            schema={"file": pl.String, "column": pl.String},
        )
        is_empty = result.filter(pl.col("problem") == "is empty; a value is required")
        result = pl.concat(
            [
                result.filter(pl.col("problem") != "is empty; a value is required"),
                is_empty.join(skip, on=["file", "column"], how="anti"),
            ]
        )
        for file, header_row, column in unmapped:
            found.append(
                (file, header_row, column, None, "required column is not mapped: map a source column or set a constant")
            )
    result = collapse_unmapped(result, [(source.name, source.header_row, mapping) for source, mapping in pairs])
    for file, date_format in formats:
        for kind in ("date", "timestamp"):
            result = result.with_columns(
                pl.when((pl.col("file") == file) & (pl.col("problem") == KIND_MESSAGES[kind]))
                .then(pl.lit(_date_problem(kind, date_format)))
                .otherwise(pl.col("problem"))
                .alias("problem")
            )
    if "partners" not in checked.read:
        # check_tables asks for a partners.* file; with a mapping the fix is in the mapping.
        result = result.filter(~pl.col("problem").str.starts_with("the partners table is required"))
        if "partners" not in covered:
            found.append(("partners", None, "", None, "the partners table is required: no file is mapped to it"))
    all_problems = pl.concat([problems_frame(found), result], how="vertical_relaxed") if found else result
    all_problems = all_problems.sort("file", "row", maintain_order=True) if all_problems.height else EMPTY_PROBLEMS
    read_files = [
        SourceFileInfo(name, table_mapping.table, tally.rows)
        for table in TABLE_NAMES
        for name, table_mapping, tally in tallies
        if table_mapping.table == table
    ]
    return Validation({}, all_problems, warnings + checked.warnings), checked, read_files


def validate_mapped(
    pairs: Sequence[tuple[SourceFile, TableMapping]],
    problems: Sequence[ProblemRow] = (),
    warnings: Sequence[str] = (),
    mapped_tables: Iterable[str] = (),
) -> Validation:
    """Apply each file's mapping and validate all tables at once (SPEC "Input data contract").

    Files mapped to the same table are combined (monthly exports); every problem names
    the original file and its spreadsheet row. `problems` and `warnings` found before
    (files that could not be read, for example) are reported with the others;
    `mapped_tables` names tables the mapping covers although none of their files is
    in `pairs` (they could not be read), so they are not reported as unmapped.
    """
    sink = MemorySink()
    validation, _, _ = _check_pairs(pairs, problems, warnings, mapped_tables, sink)
    if validation.ok:
        validation.tables = sink.tables()
    return validation


def _match_files(
    src_dir: Path, mapping: Mapping, read: Callable[[Path, FileMapping], SourceFile | SourceStream]
) -> tuple[list[tuple[SourceFile | SourceStream, TableMapping]], list[ProblemRow], list[str]]:
    """The files of `src_dir` each file mapping names, opened with `read`; problems; warnings."""
    present = sorted(p for p in src_dir.iterdir() if p.is_file())
    pairs: list[tuple[SourceFile | SourceStream, TableMapping]] = []
    problems: list[ProblemRow] = []
    warnings: list[str] = []
    claimed: set[tuple[str, str]] = set()
    for file_mapping in mapping.files:
        table = file_mapping.mapping.table
        # A file named exactly so is that file, even when its name has [ ] * ? in it
        # ("Report [Q3].csv"); otherwise the name is a pattern (monthly exports).
        matches = [p for p in present if p.name == file_mapping.file] or [
            p
            for p in present
            if fnmatchcase(p.name, file_mapping.file)
            # Office lock files (~$deals.xlsx) and hidden files are never exports.
            and not p.name.startswith(("~$", "."))
        ]
        if not matches:
            problems.append(
                (file_mapping.file, None, "", None, f"no file in the folder matches this name (the {table} table)")
            )
        for path in matches:
            if (path.name, table) in claimed:
                problems.append((path.name, None, "", None, f"is matched twice for the {table} table"))
                continue
            claimed.add((path.name, table))
            try:
                source = read(path, file_mapping)
            except SourceError as exc:
                problems.append((exc.file, None, "", None, exc.reason))
                continue
            pairs.append((source, file_mapping.mapping))
            if file_mapping.headers and source.headers != file_mapping.headers:
                added = [h for h in source.headers if h not in file_mapping.headers]
                gone = [h for h in file_mapping.headers if h not in source.headers]
                warnings.append(
                    f"{path.name}: the headers differ from those the mapping was made for"
                    + (f"; new: {', '.join(added)}" if added else "")
                    + (f"; gone: {', '.join(gone)}" if gone else "")
                    + ("; same names in another order" if not added and not gone else "")
                )
    return pairs, problems, warnings


def load_with_mapping(src_dir: Path, mapping: Mapping) -> Validation:
    """Read the files of `src_dir` named in `mapping`, apply it and validate everything at once.

    A file mapping whose name or pattern matches no file is a problem; one whose pattern
    matches several files reads them all (their rows are combined). Only names inside
    `src_dir` are ever opened. Everything is held in memory (the Data page shows the
    result before it is loaded); `load_mapped` streams into the database instead.
    """
    src_dir = Path(src_dir)
    if not src_dir.is_dir():
        return _not_a_folder(src_dir)
    pairs, problems, warnings = _match_files(
        src_dir,
        mapping,
        lambda path, fm: read_source(path.name, path, header_row=fm.header_row, delimiter=fm.delimiter),
    )
    return validate_mapped(pairs, problems, warnings, mapped_tables=(f.mapping.table for f in mapping.files))  # type: ignore[arg-type]


def _open_streams(
    src_dir: Path, mapping: Mapping, chunk_rows: int
) -> tuple[list[tuple[SourceFile | SourceStream, TableMapping]], list[ProblemRow], list[str]]:
    return _match_files(
        src_dir,
        mapping,
        lambda path, fm: open_source(
            path.name, path, header_row=fm.header_row, delimiter=fm.delimiter, chunk_rows=chunk_rows
        ),
    )


def check_mapped(src_dir: Path, mapping: Mapping, *, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Loaded:
    """`load_with_mapping`, streamed and writing nothing: every problem, and the rows each table would get.

    The files are read, mapped and checked a chunk at a time (as `load_mapped` does), so
    memory stays about the same whatever their size. `Loaded.record` is None and
    `validation.tables` empty; `table_rows` counts the clean rows per table. The Data page
    checks so, and loads with `load_mapped`, which checks every row again as it writes.
    """
    src_dir = Path(src_dir)
    if not src_dir.is_dir():
        return Loaded(_not_a_folder(src_dir), None, {})
    pairs, problems, warnings = _open_streams(src_dir, mapping, chunk_rows)
    mapped_tables = [f.mapping.table for f in mapping.files]
    validation, checked, _ = _check_pairs(pairs, problems, warnings, mapped_tables, None)
    return Loaded(validation, None, dict(checked.rows))


def load_mapped(
    src_dir: Path,
    mapping: Mapping,
    db_path: Path,
    *,
    loaded_at: datetime,
    source: str | None = None,
    keep: int = DEFAULT_KEEP,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Loaded:
    """`load_with_mapping`, streamed into the live dataset at `db_path` (as `load_folder`).

    The mapping is applied a chunk at a time (every option works on one row alone; the
    rows skip_incomplete leaves out are counted over the whole file). The load is recorded
    with the mapping's name, and each file read with its table and the rows read from it
    (several files, monthly exports, may feed one table).
    """
    src_dir = Path(src_dir)
    if not src_dir.is_dir():
        return Loaded(_not_a_folder(src_dir), None, {})
    pairs, problems, warnings = _open_streams(src_dir, mapping, chunk_rows)
    mapped_tables = [f.mapping.table for f in mapping.files]
    return _load_streamed(
        db_path,
        lambda sink: _check_pairs(pairs, problems, warnings, mapped_tables, sink),
        refused=bool(problems),
        source=source or f"{src_dir} (mapping {mapping.name})",
        loaded_at=loaded_at,
        keep=keep,
        mapping_name=mapping.name,
    )
