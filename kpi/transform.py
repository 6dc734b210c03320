"""Apply a mapping to an export: its rows as the contract table's text columns, chunk by chunk.

Source columns are picked (or joined), values mapped, dates rewritten to ISO per the
mapping's format, money cleaned per its options and constants filled. A value that cannot
be converted stays as written, so validation (kpi.validate) reports it with the original
text and spreadsheet row.
"""

from __future__ import annotations

import re

import polars as pl

from kpi.mapping import JOIN_SEPARATOR, MappingError, TableMapping, normalise_value
from kpi.schema import TABLE_BY_NAME, Table
from kpi.source import SourceFile, SourceStream

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
    keys = [normalise_value(k) for k in value_map]
    targets = [v or None for v in value_map.values()]  # an empty target empties the cell
    normalised = text.str.to_lowercase().str.replace_all(r"\s+", "")
    return pl.when(normalised.is_in(keys)).then(normalised.replace_strict(keys, targets, default=None)).otherwise(text)


def missing_source_columns(source: SourceFile | SourceStream, mapping: TableMapping) -> list[tuple[str, str]]:
    """(contract column, source column) pairs whose source column is not in the file."""
    present = set(source.headers)
    return [(name, s) for name, sources in mapping.columns.items() for s in sources if s not in present]


def apply_frame(frame: pl.DataFrame, mapping: TableMapping) -> tuple[pl.DataFrame, dict[str, int]]:
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


def left_out_warnings(name: str, mapping: TableMapping, counts: dict[str, int]) -> list[str]:
    """The warning for the rows skip_incomplete left out of a file (`apply_frame`'s counts); none if none."""
    if not counts.get("_rows"):
        return []
    detail = ", ".join(
        f"{k} (from {' + '.join(mapping.columns[k])}) empty on {n:,}" for k, n in counts.items() if k != "_rows" and n
    )
    return [f"{name}: left out {counts['_rows']:,} row(s) without a required value ({detail}): skip_incomplete is on"]


def require_whole(source: SourceFile | SourceStream) -> None:
    """Refuse a preview: it holds only the first rows of its file."""
    if isinstance(source, SourceFile) and source.is_preview:
        raise ValueError(f"{source.name}: a preview holds only the first rows; read the whole file to load it")


def apply(source: SourceFile, mapping: TableMapping) -> pl.DataFrame:
    """The export as the contract table: text columns in contract order plus `_row`.

    Dates are rewritten to ISO per `date_format`, money cleaned per the money options,
    values mapped, constants filled; a value that cannot be converted stays as written,
    so validation reports it with the original text and row.
    """
    require_whole(source)
    missing = missing_source_columns(source, mapping)
    if missing:
        name, header = missing[0]
        raise MappingError(f"columns.{name}", f"{header!r} is not a column of {source.name}")
    return apply_frame(source.frame, mapping)[0]
