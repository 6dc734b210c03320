"""A mapping: how real exports (CRM, PRM portal, spreadsheet) become the input contract's tables.

A channel team's data never arrives in our column names. A `Mapping` says, for each
export file, which table it holds and how its columns become the contract's columns
(`TableMapping`): which source column feeds each contract column, constants, value maps,
the date format and the money options. `kpi.suggest` proposes one, `kpi.transform`
applies one and `kpi.ingest` loads a folder through one.

A mapping is plain JSON (`Mapping.to_json` / `Mapping.from_json`), so the app can save it
with the data and `python -m kpi load SRC --db PATH --mapping FILE` can replay it. The
format is described for users in docs/mapping.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kpi.schema import TABLE_BY_NAME, TABLE_NAMES

MAPPING_VERSION = 1
JOIN_SEPARATOR = "-"  # several source columns feeding one contract column are joined with it


class MappingError(ValueError):
    """A mapping that cannot be used; `field` names the bad field (e.g. files[0].mapping.table)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)

    def within(self, prefix: str) -> MappingError:
        return MappingError(f"{prefix}.{self.field}" if self.field else prefix, self.message)


def normalise_value(text: str) -> str:
    """Value maps match case- and space-insensitively: "Closed Won" == "closed won " == "ClosedWon"."""
    return "".join(text.lower().split())


def _check_date_format(date_format: str) -> None:
    sample = datetime(2026, 3, 15)
    try:
        parsed = datetime.strptime(sample.strftime(date_format), date_format)
    except ValueError:
        parsed = None
    if "%" not in date_format or parsed is None or parsed.date() != sample.date():
        raise MappingError(
            "date_format",
            f"{date_format!r} is not a date format with a day, a month and a year, such as %m/%d/%Y or %d.%m.%Y",
        )


@dataclass(frozen=True)
class TableMapping:
    """How one export becomes one contract table.

    - `columns`: contract column -> source column(s); several are joined with "-"
      (e.g. deal_id from order number + line number).
    - `constants`: contract column -> one value for every row (e.g. status "won").
    - `values`: contract column -> {source value: contract value}; matched ignoring case
      and spaces; a value not in the map passes through (and validation reports it if bad).
    - `date_format`: strptime format of every date/timestamp column (a time may follow the date).
    - `strip_currency`: drop currency symbols/codes, spaces and thousands separators from money.
    - `decimal_comma`: money is written 1.234,50.
    - `skip_incomplete`: leave out rows where a required column mapped from the file is
      empty, and say how many in a warning, instead of refusing the load.
    """

    table: str
    columns: dict[str, tuple[str, ...]]
    constants: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    date_format: str | None = None
    decimal_comma: bool = False
    strip_currency: bool = False
    skip_incomplete: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.table, str) or self.table not in TABLE_BY_NAME:
            raise MappingError("table", f"{self.table!r} is not one of {', '.join(TABLE_NAMES)}")
        contract = TABLE_BY_NAME[self.table]

        def check_column(where: str, name: object) -> str:
            if not isinstance(name, str) or name not in contract.column_names:
                raise MappingError(
                    f"{where}.{name}",
                    f"not a column of {self.table}; its columns are {', '.join(contract.column_names)}",
                )
            return name

        if not isinstance(self.columns, dict):
            raise MappingError("columns", "must be an object of contract column -> source column(s)")
        columns: dict[str, tuple[str, ...]] = {}
        for name, sources in self.columns.items():
            check_column("columns", name)
            listed = (sources,) if isinstance(sources, str) else sources
            if (
                not isinstance(listed, list | tuple)
                or not listed
                or not all(isinstance(s, str) and s.strip() for s in listed)
            ):
                raise MappingError(f"columns.{name}", "must name one source column or a list of them")
            columns[name] = tuple(s.strip() for s in listed)
        object.__setattr__(self, "columns", columns)

        if not isinstance(self.constants, dict):
            raise MappingError("constants", "must be an object of contract column -> value")
        constants: dict[str, str] = {}
        for name, value in self.constants.items():
            check_column("constants", name)
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise MappingError(f"constants.{name}", "must be a text or a number")
            if name in columns:
                raise MappingError(f"constants.{name}", "is also mapped from a source column; keep one of the two")
            constants[name] = str(value).strip()
        object.__setattr__(self, "constants", constants)

        if not isinstance(self.values, dict):
            raise MappingError("values", "must be an object of contract column -> {source value: value}")
        values: dict[str, dict[str, str]] = {}
        for name, value_map in self.values.items():
            column = contract.column(check_column("values", name))
            if not isinstance(value_map, dict):
                raise MappingError(f"values.{name}", "must be an object of source value -> value")
            seen: dict[str, str] = {}
            for source_value, target in value_map.items():
                where = f"values.{name}.{source_value}"
                if not isinstance(target, str):
                    raise MappingError(where, "must map to a text")
                if column.choices and target and target not in column.choices:
                    raise MappingError(where, f"maps to {target!r}, not one of {', '.join(column.choices)}")
                key = normalise_value(source_value)
                if seen.get(key, target) != target:
                    raise MappingError(where, f"is mapped twice (ignoring case and spaces), to {seen[key]!r} too")
                seen[key] = target
            values[name] = {str(k): str(v) for k, v in value_map.items()}
        object.__setattr__(self, "values", values)

        if self.date_format is not None:
            if not isinstance(self.date_format, str):
                raise MappingError("date_format", "must be a text such as %m/%d/%Y, or null for YYYY-MM-DD")
            _check_date_format(self.date_format)
        for flag in ("decimal_comma", "strip_currency", "skip_incomplete"):
            if not isinstance(getattr(self, flag), bool):
                raise MappingError(flag, "must be true or false")

    def unmapped_required(self) -> list[str]:
        """Required contract columns with neither a source column nor a constant."""
        return [
            c.name
            for c in TABLE_BY_NAME[self.table].columns
            if c.required and c.name not in self.columns and c.name not in self.constants
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            # One source column is written as a plain name: easier to edit by hand.
            "columns": {k: v[0] if len(v) == 1 else list(v) for k, v in self.columns.items()},
            "constants": dict(self.constants),
            "values": {k: dict(v) for k, v in self.values.items()},
            "date_format": self.date_format,
            "decimal_comma": self.decimal_comma,
            "strip_currency": self.strip_currency,
            "skip_incomplete": self.skip_incomplete,
        }


@dataclass(frozen=True)
class FileMapping:
    """One export file (a name, or a glob such as deals-*.csv matched in the folder) and its mapping.

    `headers` are the file's column names when the mapping was made: a new file with the
    same headers is mapped with this mapping automatically (`find_saved`).
    """

    file: str
    headers: tuple[str, ...]
    header_row: int
    delimiter: str | None
    mapping: TableMapping

    def __post_init__(self) -> None:
        if not isinstance(self.file, str) or not self.file.strip():
            raise MappingError("file", "must name a file (or a pattern such as deals-*.csv)")
        if "/" in self.file or "\\" in self.file or self.file in (".", ".."):
            raise MappingError("file", f"{self.file!r} must be a file name in the folder, not a path")
        if not isinstance(self.headers, list | tuple) or not all(isinstance(h, str) for h in self.headers):
            raise MappingError("headers", "must be a list of column names")
        object.__setattr__(self, "headers", tuple(self.headers))
        if isinstance(self.header_row, bool) or not isinstance(self.header_row, int) or self.header_row < 1:
            raise MappingError("header_row", f"must be a row number, 1 or more, not {self.header_row!r}")
        if self.delimiter is not None and (not isinstance(self.delimiter, str) or len(self.delimiter) != 1):
            raise MappingError("delimiter", f"must be one character (such as ; or ,) or null, not {self.delimiter!r}")
        if not isinstance(self.mapping, TableMapping):
            raise MappingError("mapping", "must be a table mapping")

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "headers": list(self.headers),
            "header_row": self.header_row,
            "delimiter": self.delimiter,
            "mapping": self.mapping.to_dict(),
        }


@dataclass(frozen=True)
class Mapping:
    """A named set of file mappings: one export folder's recipe, saved and replayed."""

    name: str
    files: tuple[FileMapping, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise MappingError("name", "must be a non-empty text")
        if not isinstance(self.files, list | tuple) or not all(isinstance(f, FileMapping) for f in self.files):
            raise MappingError("files", "must be a list of file mappings")
        object.__setattr__(self, "files", tuple(self.files))

    def to_json(self) -> str:
        document = {
            "version": MAPPING_VERSION,
            "name": self.name,
            "files": [f.to_dict() for f in self.files],
        }
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Mapping:
        """Parse a mapping; raises MappingError naming the bad field. Keys starting with "_" are comments."""
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MappingError("", f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
        return _mapping_from(document)


_TOP_FIELDS = {"version": False, "name": True, "files": True}
_FILE_FIELDS = {"file": True, "headers": False, "header_row": False, "delimiter": False, "mapping": True}
_TABLE_FIELDS = {
    "table": True,
    "columns": False,
    "constants": False,
    "values": False,
    "date_format": False,
    "decimal_comma": False,
    "strip_currency": False,
    "skip_incomplete": False,
}


def _fields(obj: object, where: str, allowed: dict[str, bool]) -> dict[str, Any]:
    """The object's fields without comments ("_" keys); unknown or missing fields are errors."""
    if not isinstance(obj, dict):
        raise MappingError(where, "must be a JSON object")
    found = {k: v for k, v in obj.items() if not (isinstance(k, str) and k.startswith("_"))}
    for key in found:
        if key not in allowed:
            raise MappingError(
                f"{where}.{key}" if where else key, f"unknown field; expected one of {', '.join(allowed)}"
            )
    for key, required in allowed.items():
        if required and key not in found:
            raise MappingError(f"{where}.{key}" if where else key, "is missing")
    return found


def _without_comments(obj: object) -> object:
    if isinstance(obj, dict):
        return {k: _without_comments(v) for k, v in obj.items() if not (isinstance(k, str) and k.startswith("_"))}
    return obj


def _mapping_from(document: object) -> Mapping:
    top = _fields(document, "", _TOP_FIELDS)
    if top.get("version", MAPPING_VERSION) != MAPPING_VERSION:
        raise MappingError("version", f"this version of the app reads mapping version {MAPPING_VERSION} only")
    if not isinstance(top["files"], list):
        raise MappingError("files", "must be a list of file mappings")
    files = []
    for i, raw_file in enumerate(top["files"]):
        where = f"files[{i}]"
        found = _fields(raw_file, where, _FILE_FIELDS)
        table_fields = _fields(found["mapping"], f"{where}.mapping", _TABLE_FIELDS)
        try:
            table_mapping = TableMapping(
                table=table_fields["table"],
                columns=_without_comments(table_fields.get("columns", {})),  # type: ignore[arg-type]
                constants=_without_comments(table_fields.get("constants", {})),  # type: ignore[arg-type]
                values=_without_comments(table_fields.get("values", {})),  # type: ignore[arg-type]
                date_format=table_fields.get("date_format"),
                decimal_comma=table_fields.get("decimal_comma", False),
                strip_currency=table_fields.get("strip_currency", False),
                skip_incomplete=table_fields.get("skip_incomplete", False),
            )
        except MappingError as exc:
            raise exc.within(f"{where}.mapping") from None
        try:
            files.append(
                FileMapping(
                    file=found["file"],
                    headers=found.get("headers", ()),
                    header_row=found.get("header_row", 1),
                    delimiter=found.get("delimiter"),
                    mapping=table_mapping,
                )
            )
        except MappingError as exc:
            raise exc.within(where) from None
    return Mapping(name=top["name"], files=tuple(files))
