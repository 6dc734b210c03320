"""Map real exports (CRM, PRM portal, spreadsheet) onto the input contract.

A channel team's data never arrives in our column names. A `Mapping` says, for each
export file, which table it holds and how its columns become the contract's columns:

    read_source -> SourceFile (the file as text, original headers, spreadsheet row numbers)
    suggest / find_saved -> TableMapping (which source column feeds each contract column)
    apply -> a text frame with the contract's columns and the original row numbers
    kpi.load.check_tables -> every problem, naming the original file, row and column

`load_with_mapping` does it in memory; `check_mapped` streams the check and writes nothing
(the Data page's Check), and `load_mapped` (the CLI's --mapping, the Data page's Load)
streams: read, map, check and write a chunk at a time. `preview_source` reads a file once
for what choosing a mapping needs (its first rows, its row count, its few-valued columns).

A mapping is plain JSON (`Mapping.to_json` / `Mapping.from_json`), so the app can save it
with the data and `python -m kpi load SRC --db PATH --mapping FILE` can replay it. The
format is described for users in docs/mapping.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import polars as pl

from kpi import history
from kpi.history import DEFAULT_KEEP
from kpi.load import (
    DEFAULT_CHUNK_ROWS,
    EMPTY_PROBLEMS,
    KIND_MESSAGES,
    SOURCE_SUFFIXES,
    Checked,
    Loaded,
    MemorySink,
    ProblemRow,
    Sink,
    SourceError,
    SourceFile,
    SourceStream,
    Validation,
    check_tables,
    open_source,
    preview_source,
    problems_frame,
    read_source,
    size_problem,
    without_consequences,
)
from kpi.schema import TABLE_BY_NAME, TABLE_NAMES, Column, Table
from kpi.store import BackgroundAppender, DatasetWriter, SourceFileInfo

__all__ = [
    "FileMapping",
    "Mapping",
    "MappingError",
    "SourceError",
    "SourceFile",
    "TableMapping",
    "apply",
    "check_mapped",
    "find_saved",
    "guess_table",
    "human_date_format",
    "load_mapped",
    "load_with_mapping",
    "missing_source_columns",
    "preview_source",
    "read_source",
    "readable_files",
    "size_problem",
    "suggest",
    "validate_mapped",
]

MAPPING_VERSION = 1
JOIN_SEPARATOR = "-"  # several source columns feeding one contract column are joined with it
_SAMPLE_ROWS = 2000  # suggestions look at the first rows of a file


class MappingError(ValueError):
    """A mapping that cannot be used; `field` names the bad field (e.g. files[0].mapping.table)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)

    def within(self, prefix: str) -> MappingError:
        return MappingError(f"{prefix}.{self.field}" if self.field else prefix, self.message)


# --- the model -----------------------------------------------------------------------------


def _normalise_value(text: str) -> str:
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
                key = _normalise_value(source_value)
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


# --- suggestions -----------------------------------------------------------------------------


def _norm(header: str) -> str:
    """Header comparison ignores case, spaces, underscores and punctuation."""
    return re.sub(r"[^0-9a-z]+", "", header.lower())


_PARTNER_KEY = ("partnerid", "accountid", "resellerkey", "resellerid", "partnerkey", "accountkey", "companyid")
_PARTNER_NAMES = (
    "partner",
    "partnername",
    "account",
    "accountname",
    "reseller",
    "resellername",
    "company",
    "companyname",
    "associatedcompany",
    "organization",
    "organizationname",
)
_PARTNER_REF = (*_PARTNER_KEY, "associatedcompanyid", "associatedcompanyids", "orgid", *_PARTNER_NAMES)
_USER_REF = ("userid", "contactid", "email", "emailaddress", "user", "contact", "useremail", "contactemail")

# Normalised export headers for each contract column, best first (Salesforce, HubSpot, PRM
# portals, spreadsheets). The contract's own name always wins over these.
SYNONYMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("partners", "partner_id"): (*_PARTNER_KEY, "organizationid", "orgid", "partnernumber", "accountnumber", "id"),
    ("partners", "partner_name"): _PARTNER_NAMES + ("name",),
    ("partners", "joined_on"): (
        "joindate",
        "joined",
        "datejoined",
        "partnersince",
        "onboardingdate",
        "onboardeddate",
        "enrollmentdate",
        "signupdate",
        "startdate",
        "createddate",
        "createdon",
        "created",
        "createdat",
        "createdate",
    ),
    ("partners", "left_on"): ("leftdate", "enddate", "terminationdate", "terminatedon", "offboardeddate", "exitdate"),
    ("partners", "region"): ("region", "territory", "salesterritory", "geo", "country", "countryregion", "location"),
    ("partners", "partner_type"): ("type", "partnertype", "businesstype", "accounttype", "partnertier", "tier"),
    ("partners", "channel_manager"): (
        "partnermanager",
        "channelaccountmanager",
        "accountmanager",
        "partnerowner",
        "accountowner",
        "owner",
        "manager",
    ),
    ("partner_users", "user_id"): _USER_REF,
    ("partner_users", "partner_id"): _PARTNER_REF,
    ("partner_users", "user_name"): ("name", "fullname", "contactname", "contact", "username"),
    ("partner_users", "role"): ("role", "title", "jobtitle", "position"),
    ("activities", "partner_id"): _PARTNER_REF,
    ("activities", "user_id"): _USER_REF,
    ("activities", "occurred_at"): (
        "timestamp",
        "date",
        "datetime",
        "time",
        "activitydate",
        "eventdate",
        "eventtime",
        "completeddate",
        "completedon",
        "completiondate",
        "createddate",
        "createdat",
    ),
    ("activities", "activity"): ("activitytype", "activity", "type", "eventtype", "event", "action", "eventname"),
    ("activities", "item_id"): ("itemid", "contentid", "courseid", "assetid"),
    ("activities", "item_name"): ("itemname", "contentname", "coursename", "assetname", "content", "course", "title"),
    ("deals", "deal_id"): (
        "opportunityid",
        "dealid",
        "oppid",
        "recordid",
        "dealregistrationid",
        "registrationid",
        "opportunitynumber",
        "dealnumber",
        "salesordernumber",
        "ordernumber",
        "orderid",
        "id",
        "dealname",
        "opportunityname",
    ),
    ("deals", "partner_id"): _PARTNER_REF,
    ("deals", "registered_on"): (
        "registrationdate",
        "registereddate",
        "dealregistrationdate",
        "createddate",
        "createdate",
        "createdon",
        "createdat",
        "created",
        "engagedate",
        "opendate",
        "orderdate",
        "date",
    ),
    ("deals", "status"): ("stage", "dealstage", "stagename", "opportunitystage", "status", "dealstatus", "outcome"),
    ("deals", "closed_on"): ("closedate", "closeddate", "closedat", "dateclosed", "wondate"),
    ("deals", "amount"): (
        "amount",
        "dealamount",
        "opportunityamount",
        "closevalue",
        "value",
        "dealvalue",
        "salesamount",
        "totalamount",
        "total",
        "revenue",
        "amountusd",
    ),
    ("deals", "mrr"): ("mrr", "monthlyrecurringrevenue", "recurringrevenue", "monthlyrevenue"),
    ("deals", "churned_on"): ("churndate", "churned", "cancellationdate", "cancelledon", "canceledon"),
    ("investments", "partner_id"): _PARTNER_REF,
    ("investments", "spent_on"): (
        "date",
        "spenddate",
        "spentdate",
        "paymentdate",
        "paiddate",
        "invoicedate",
        "claimdate",
        "transactiondate",
    ),
    ("investments", "category"): ("category", "type", "fundtype", "investmenttype", "program", "expensetype"),
    ("investments", "amount"): (
        "amount",
        "spend",
        "spent",
        "cost",
        "value",
        "total",
        "amountusd",
        "claimamount",
        "paidamount",
    ),
}

# Words in a file name that say which table it holds.
_NAME_WORDS: dict[str, tuple[str, ...]] = {
    "partners": ("partner", "account", "reseller", "compan", "organization", "organisation"),
    "partner_users": ("user", "contact", "people", "staff", "member"),
    "activities": ("activit", "event", "engagement", "training", "login", "lms"),
    "deals": ("deal", "opportunit", "opps", "pipeline", "registration", "order", "sales"),
    "investments": ("investment", "mdf", "fund", "spend", "budget", "incentive", "spiff", "claim"),
}

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ].*)?$")
_OTHER_DATE = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(\s.*)?$")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_DECORATED_NUMBER = re.compile(r"^\(?[+-]?\s*([^\d\s]{1,3}\.?\s*)?[\d][\d.,'’\s]*(\s*[^\d\s]{1,3})?\)?$")


def _sample(source: SourceFile, header: str) -> list[str]:
    return source.frame.get_column(header).head(_SAMPLE_ROWS).drop_nulls().to_list()


def _share(values: list[str], test: Any) -> float:
    return sum(1 for v in values if test(v)) / len(values) if values else 0.0


def _is_date(value: str) -> bool:
    return bool(_ISO_DATE.match(value) or _OTHER_DATE.match(value))


def _is_number(value: str) -> bool:
    return bool(_PLAIN_NUMBER.match(value) or _DECORATED_NUMBER.match(value))


def _header_score(table: str, column: Column, header: str) -> int:
    """How well a header's name fits a contract column: 0 (not at all) to 1000 (its own name)."""
    key = _norm(header)
    if not key:
        return 0
    if key == _norm(column.name):
        return 1000
    synonyms = SYNONYMS.get((table, column.name), ())
    if key in synonyms:
        return 900 - 10 * synonyms.index(key)
    for rank, synonym in enumerate(synonyms):
        # "Opportunity Close Date" ends like "closedate"; "SalesAmount" like "amount".
        if len(synonym) >= 6 and key.endswith(synonym):
            return 300 - 10 * rank
    return 0


def _data_score(column: Column, values: list[str]) -> int:
    """Adjust a header match by what the column holds: dates for dates, numbers for money."""
    if not values:
        return 0
    # A column whose values are mostly not dates (or numbers) is never a date (or money) column.
    if column.kind in ("date", "timestamp"):
        share = _share(values, _is_date)
        return int(50 * share) if share >= 0.5 else -10_000
    if column.kind == "money":
        share = _share(values, _is_number)
        return int(50 * share) if share >= 0.5 else -10_000
    if column.unique and len(set(values)) < len(values):
        return -200
    return 0


def _match_columns(source: SourceFile, table: str, use_data: bool = True) -> dict[str, tuple[str, int]]:
    """Contract column -> (the best source header, its score), each header used once, best first."""
    contract = TABLE_BY_NAME[table]
    samples = {h: _sample(source, h) for h in source.headers} if use_data else {}
    scored: list[tuple[int, int, str, str]] = []
    for order, column in enumerate(contract.columns):
        for header in source.headers:
            score = _header_score(table, column, header)
            if score <= 0:
                continue
            if use_data:
                score += _data_score(column, samples[header])
            if score > 0:
                scored.append((score, -order, column.name, header))
    chosen: dict[str, tuple[str, int]] = {}
    used: set[str] = set()
    for score, _, column_name, header in sorted(scored, reverse=True):
        if column_name not in chosen and header not in used:
            chosen[column_name] = (header, score)
            used.add(header)
    if use_data:
        # A required date column without a fitting name takes a column that holds dates.
        for column in contract.columns:
            if column.required and column.kind in ("date", "timestamp") and column.name not in chosen:
                for header in source.headers:
                    if header not in used and _share(samples[header], _is_date) >= 0.9:
                        chosen[column.name] = (header, 1)
                        used.add(header)
                        break
    if table == "partners" and "partner_id" not in chosen and "partner_name" in chosen:
        # An export without an id column: the name is the id (as in a CRM account list).
        chosen["partner_id"] = (chosen["partner_name"][0], 1)
    return chosen


def _name_words(file_name: str) -> list[str]:
    stem = Path(file_name).stem
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", stem)
    return [w for w in re.split(r"[^0-9a-z]+", spaced.lower()) if w]


# The required columns that tell tables apart (partner_id is in four of them, so it does not).
_TELLING: dict[str, tuple[str, ...]] = {
    "partners": ("partner_id", "partner_name", "joined_on"),
    "partner_users": ("user_id",),
    "activities": ("occurred_at", "activity"),
    "deals": ("deal_id", "registered_on", "status"),
    "investments": ("spent_on", "amount"),
}


def guess_table(source: SourceFile) -> str | None:
    """The contract table this export most likely holds, by its headers and file name; None if unclear."""
    words = _name_words(source.name)
    best: tuple[float, str] | None = None
    for table, telling in _TELLING.items():
        matched = _match_columns(source, table, use_data=False)
        # A header named like the column counts fully, one that only ends like it half.
        exact = sum(1 for c in telling if c in matched and matched[c][1] >= 500)
        partial = sum(1 for c in telling if c in matched and matched[c][1] < 500)
        if exact == 0:
            continue
        named = any(w.startswith(stem) for w in words for stem in _NAME_WORDS[table])
        score = (exact + partial / 2) / len(telling) + (0.3 if named else 0.0)
        if best is None or score > best[0]:
            best = (score, table)
    return best[1] if best else None


def _status_value(value: str) -> str:
    key = _normalise_value(value)
    if "won" in key or key in ("win", "booked"):
        return "won"
    if "lost" in key or key in ("lose", "dead", "disqualified"):
        return "lost"
    return "open"


_ACTIVITY_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("training_completed", ("course", "training", "certif", "lesson", "module", "quiz", "exam", "learning")),
    ("content_shared", ("share", "social", "post", "forward", "campaign")),
    ("login", ("login", "logon", "signin", "loggedin", "signedin", "session")),
    ("content_viewed", ("view", "download", "open", "read", "watch", "visit", "click")),
)


def _activity_value(value: str) -> str | None:
    key = re.sub(r"[^0-9a-z]+", "", value.lower())
    for kind, words in _ACTIVITY_WORDS:
        if any(word in key for word in words):
            return kind
    return None


def _value_map(source: SourceFile, header: str, column: Column) -> dict[str, str]:
    distinct = source.values(header, 200)
    mapped: dict[str, str] = {}
    for value in distinct:
        if value in column.choices:
            continue
        target = _status_value(value) if column.name == "status" else _activity_value(value)
        if target is not None:
            mapped[value] = target
    return mapped


def _suggest_date_format(values: list[str]) -> str | None:
    """A strptime format when the dates are clearly US (a day > 12 in second place) or European."""
    others = [m for m in (_OTHER_DATE.match(v) for v in values) if m]
    if not others or len(others) < len(values) / 2:
        return None
    separators = {m.group(2) for m in others}
    year_lengths = {len(m.group(4)) for m in others}
    if len(separators) != 1 or len(year_lengths) != 1:
        return None
    sep = separators.pop()
    year = "%Y" if year_lengths.pop() == 4 else "%y"
    # A value with a day above 12 tells the order; one with both parts above 12 is a typo, no clue.
    day_first = sum(1 for m in others if int(m.group(1)) > 12 >= int(m.group(3)))
    month_first = sum(1 for m in others if int(m.group(3)) > 12 >= int(m.group(1)))
    if month_first > day_first:
        return f"%m{sep}%d{sep}{year}"
    if day_first > month_first or (sep == "." and not month_first):  # dotted dates are day-first
        return f"%d{sep}%m{sep}{year}"
    return None


_LINE_WORDS = ("line", "product", "item", "sku", "position")


def _unique_key(source: SourceFile, header: str) -> tuple[str, ...]:
    """`header`, or header + a line/product column when only the pair is unique (order lines)."""
    frame = source.frame
    if frame.get_column(header).drop_nulls().is_unique().all():
        return (header,)
    for word in _LINE_WORDS:
        for other in source.headers:
            if other != header and word in _norm(other):
                pair = frame.select(pl.concat_str([pl.col(header), pl.col(other)], separator=JOIN_SEPARATOR))
                if pair.to_series().drop_nulls().is_unique().all():
                    return (header, other)
    return (header,)


def suggest(source: SourceFile, table: str) -> TableMapping:
    """A starting mapping of this export onto `table`, from its headers and its values.

    Columns are matched by name (case, spaces and punctuation ignored; the contract's own
    names first, then common CRM/PRM export headers) and checked against the data (dates
    for date columns, numbers for money). Deal stages and activity names get value maps,
    and US or European dates and decorated money get the matching options.
    """
    if table not in TABLE_BY_NAME:
        raise MappingError("table", f"{table!r} is not one of {', '.join(TABLE_NAMES)}")
    contract = TABLE_BY_NAME[table]
    matched = _match_columns(source, table)
    chosen = {c.name: matched[c.name][0] for c in contract.columns if c.name in matched}
    columns = {name: (header,) for name, header in chosen.items()}
    for column in contract.columns:
        if column.unique and column.name in columns:
            columns[column.name] = _unique_key(source, chosen[column.name])
    constants: dict[str, str] = {}
    if table == "deals" and "status" not in columns:
        # No stage column: an order or sales-lines export; every line is a won deal,
        # closed on the date it was booked. Shown in the mapping, to change if wrong.
        constants["status"] = "won"
        if "closed_on" not in columns and "registered_on" in columns:
            columns["closed_on"] = columns["registered_on"]
    values: dict[str, dict[str, str]] = {}
    for name in ("status", "activity"):
        if name in columns:
            value_map = _value_map(source, columns[name][0], contract.column(name))
            if value_map:
                values[name] = value_map
    date_values = [
        v
        for c in contract.columns
        if c.kind in ("date", "timestamp") and c.name in chosen
        for v in _sample(source, chosen[c.name])
    ]
    money_values = [
        v for c in contract.columns if c.kind == "money" and c.name in chosen for v in _sample(source, chosen[c.name])
    ]
    decorated = [v for v in money_values if not _PLAIN_NUMBER.match(v)]
    decimal_comma = any(re.search(r"\d,\d{1,2}\D*$", v) or re.search(r"\.\d{3},", v) for v in money_values)
    strip_currency = any(re.search(r"[^\d.,+-]", v) or (not decimal_comma and "," in v) for v in decorated)
    return TableMapping(
        table=table,
        columns=columns,
        constants=constants,
        values=values,
        date_format=_suggest_date_format(date_values),
        decimal_comma=decimal_comma,
        strip_currency=strip_currency,
    )


def find_saved(mappings: Iterable[Mapping], source: SourceFile) -> FileMapping | None:
    """The saved file mapping made for a file with exactly these headers (next week's export).

    Among several, one whose file name or pattern also matches this file's name wins.
    """
    same_headers = [f for m in mappings for f in m.files if f.headers == source.headers]
    named = [f for f in same_headers if fnmatchcase(source.name, f.file)]
    return (named or same_headers or [None])[0]


# --- applying --------------------------------------------------------------------------------

_TIME_SUFFIXES = (" %H:%M:%S", " %H:%M", "T%H:%M:%S", "T%H:%M", " %I:%M:%S %p", " %I:%M %p", " %H:%M:%S%.f")
_HUMAN_FORMAT = {"%d": "DD", "%m": "MM", "%Y": "YYYY", "%y": "YY", "%b": "Mon", "%B": "Month", "%e": "D"}


def human_date_format(date_format: str) -> str:
    """%m/%d/%Y -> MM/DD/YYYY, for messages."""
    return re.sub(r"%[a-zA-Z]", lambda m: _HUMAN_FORMAT.get(m.group(0), m.group(0)), date_format)


def _reformat_dates(text: pl.Expr, date_format: str, kind: str) -> pl.Expr:
    """Dates in `date_format` as ISO text; anything else stays as written, to be reported.

    A timestamp column may have a time after the date; a date column only midnight
    (as spreadsheets write dates that went through a datetime).
    """
    has_time = bool(re.search(r"%[HIMSTRpr]", date_format))
    as_datetime = pl.coalesce(
        [
            text.str.to_datetime(date_format + suffix, strict=False, time_unit="us")
            for suffix in ([""] if has_time else _TIME_SUFFIXES)
        ]
    )
    parts = [] if has_time else [text.str.to_date(date_format, strict=False).dt.strftime("%Y-%m-%d")]
    if kind == "date":
        midnight = as_datetime.dt.time() == pl.time(0)
        parts.append(pl.when(midnight).then(as_datetime.dt.strftime("%Y-%m-%d")))
    else:
        parts.append(as_datetime.dt.strftime("%Y-%m-%d %H:%M:%S"))
    return pl.coalesce([*parts, text])


_US_GROUPED = r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$"
_EU_GROUPED = r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$"
_EU_PLAIN = r"^[+-]?\d+(,\d+)?$"
_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)$"


# ISO codes (USD, EUR, CHF), "US" of US$, and the Nordic/Swiss/Polish/Indian abbreviations.
_CURRENCY_CODE = r"(?:[A-Z]{2,3}|kr|Kr|Fr|zł|Rs)\.?"


def _strip_decoration(text: pl.Expr) -> pl.Expr:
    """Currency symbols and codes, spaces and apostrophes out; (1,234) becomes -1,234."""
    return (
        text.str.replace(r"^\((.*)\)$", "-${1}")
        .str.replace_all(r"\p{Sc}", "")
        .str.replace(r"^([+-]?)\s*" + _CURRENCY_CODE + r"\s*", "${1}")
        .str.replace(r"\s*" + _CURRENCY_CODE + r"\s*$", "")
        .str.replace_all(r"[\s'’]", "")
    )


def _clean_money(text: pl.Expr, strip_currency: bool, decimal_comma: bool) -> pl.Expr:
    """Money as a plain number; a value that does not become one stays as written.

    Separators are removed only where they group thousands (1,234,567.50 or, with a
    decimal comma, 1.234.567,50), so 1.234,50 is never misread as 1.23450.
    """
    if not strip_currency and not decimal_comma:
        return text
    cleaned = _strip_decoration(text) if strip_currency else text
    if decimal_comma:
        european = cleaned.str.contains(_EU_GROUPED) | cleaned.str.contains(_EU_PLAIN)
        cleaned = pl.when(european).then(
            cleaned.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True)
        )
    else:
        grouped = cleaned.str.contains(_US_GROUPED)
        cleaned = pl.when(grouped).then(cleaned.str.replace_all(",", "", literal=True)).otherwise(cleaned)
    return pl.when(cleaned.str.contains(_NUMBER)).then(cleaned).otherwise(text)


def _map_values(text: pl.Expr, value_map: dict[str, str]) -> pl.Expr:
    keys = [_normalise_value(k) for k in value_map]
    targets = [v or None for v in value_map.values()]  # an empty target empties the cell
    normalised = text.str.to_lowercase().str.replace_all(r"\s+", "")
    return pl.when(normalised.is_in(keys)).then(normalised.replace_strict(keys, targets, default=None)).otherwise(text)


def missing_source_columns(source: SourceFile | SourceStream, mapping: TableMapping) -> list[tuple[str, str]]:
    """(contract column, source column) pairs whose source column is not in the file."""
    present = set(source.headers)
    return [(name, s) for name, sources in mapping.columns.items() for s in sources if s not in present]


def _apply_frame(frame: pl.DataFrame, mapping: TableMapping) -> tuple[pl.DataFrame, dict[str, int]]:
    """A chunk of an export as the contract table, and the rows skip_incomplete left out
    (`_rows`, and per required column the rows where it is empty; empty when none)."""
    contract: Table = TABLE_BY_NAME[mapping.table]
    exprs: list[pl.Expr] = []
    for column in contract.columns:
        if column.name in mapping.constants:
            expr = pl.lit(mapping.constants[column.name] or None, dtype=pl.String)
        elif column.name in mapping.columns:
            sources = mapping.columns[column.name]
            expr = (
                pl.col(sources[0])
                if len(sources) == 1
                else pl.concat_str([pl.col(s) for s in sources], separator=JOIN_SEPARATOR)
            )
            if column.name in mapping.values:
                expr = _map_values(expr, mapping.values[column.name])
            if column.kind in ("date", "timestamp") and mapping.date_format:
                expr = _reformat_dates(expr, mapping.date_format, column.kind)
            if column.kind == "money":
                expr = _clean_money(expr, mapping.strip_currency, mapping.decimal_comma)
        else:
            expr = pl.lit(None, dtype=pl.String)
        exprs.append(expr.alias(column.name))
    frame = frame.select(*exprs, pl.col("_row"))
    if mapping.skip_incomplete:
        keys = [c.name for c in contract.columns if c.required and c.name in mapping.columns]
        if keys:
            incomplete = pl.any_horizontal(pl.col(keys).is_null())
            counts = frame.select(incomplete.sum().alias("_rows"), *[pl.col(k).null_count() for k in keys]).row(
                0, named=True
            )
            if counts["_rows"]:
                return frame.filter(~incomplete), counts
    return frame, {}


def _left_out_warnings(name: str, mapping: TableMapping, counts: dict[str, int]) -> list[str]:
    if not counts.get("_rows"):
        return []
    detail = ", ".join(
        f"{k} (from {' + '.join(mapping.columns[k])}) empty on {n:,}" for k, n in counts.items() if k != "_rows" and n
    )
    return [f"{name}: left out {counts['_rows']:,} row(s) without a required value ({detail}): skip_incomplete is on"]


def _whole(source: SourceFile | SourceStream) -> None:
    if isinstance(source, SourceFile) and source.is_preview:
        raise ValueError(f"{source.name}: a preview holds only the first rows; read the whole file to load it")


def _apply(source: SourceFile, mapping: TableMapping) -> tuple[pl.DataFrame, list[str]]:
    _whole(source)
    missing = missing_source_columns(source, mapping)
    if missing:
        name, header = missing[0]
        raise MappingError(f"columns.{name}", f"{header!r} is not a column of {source.name}")
    frame, counts = _apply_frame(source.frame, mapping)
    return frame, _left_out_warnings(source.name, mapping, counts)


def apply(source: SourceFile, mapping: TableMapping) -> pl.DataFrame:
    """The export as the contract table: text columns in contract order plus `_row`.

    Dates are rewritten to ISO per `date_format`, money cleaned per the money options,
    values mapped, constants filled; a value that cannot be converted stays as written,
    so validation reports it with the original text and row.
    """
    return _apply(source, mapping)[0]


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
    _whole(source)
    chunks = source.chunks() if isinstance(source, SourceStream) else [source.frame]
    for chunk in chunks:
        tally.rows += chunk.height
        frame, counts = _apply_frame(chunk, mapping)
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
            warnings.extend(_left_out_warnings(name, table_mapping, tally.counts))
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
        return Validation({}, problems_frame([(str(src_dir), None, "", None, "is not a folder")]))
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
        return Loaded(Validation({}, problems_frame([(str(src_dir), None, "", None, "is not a folder")])), None, {})
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
    """`load_with_mapping`, streamed into the live dataset at `db_path` (see `kpi.load.load_folder`).

    The mapping is applied a chunk at a time (every option works on one row alone; the
    rows skip_incomplete leaves out are counted over the whole file). The load is recorded
    with the mapping's name, and each file read with its table and the rows read from it
    (several files, monthly exports, may feed one table).
    """
    src_dir = Path(src_dir)
    if not src_dir.is_dir():
        return Loaded(Validation({}, problems_frame([(str(src_dir), None, "", None, "is not a folder")])), None, {})
    pairs, problems, warnings = _open_streams(src_dir, mapping, chunk_rows)
    mapped_tables = [f.mapping.table for f in mapping.files]
    outcome: list[tuple[Validation, dict[str, int]]] = []

    def fill(writer: DatasetWriter | None) -> list[SourceFileInfo] | None:
        if writer is None:
            validation, checked, read_files = _check_pairs(pairs, problems, warnings, mapped_tables, None)
        else:
            appender = BackgroundAppender(writer)
            try:
                validation, checked, read_files = _check_pairs(pairs, problems, warnings, mapped_tables, appender)
            finally:
                appender.stop()
        outcome.append((validation, checked.rows))
        if not validation.ok:
            return None
        return read_files

    record = None
    if problems:
        fill(None)  # refused whatever the rows hold: check them all, write nothing
    else:
        record = history.load_streamed(
            db_path,
            fill,
            source=source or f"{src_dir} (mapping {mapping.name})",
            loaded_at=loaded_at,
            mapping_name=mapping.name,
            keep=keep,
        )
    validation, rows = outcome[0]
    return Loaded(validation, record, rows)


def readable_files(src_dir: Path) -> list[Path]:
    """The files in `src_dir` that `read_source` can read, by name."""
    return sorted(
        p
        for p in Path(src_dir).iterdir()
        if p.is_file() and p.suffix.lower() in SOURCE_SUFFIXES and not p.name.startswith(("~$", "."))
    )
