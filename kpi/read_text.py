"""Delimited text (CSV, TSV, semicolons, pipes) read as records, a piece of the file at a time.

The encoding (UTF-8, UTF-16 or Windows-1252), the delimiter and the header row are found
from the first MiB; the rest is cut into pieces of whole records (a quoted line break never
splits a record), each of which Polars parses on its own as that part of the whole file.
`kpi.read` turns the pieces into `SourceFile` chunks.
"""

from __future__ import annotations

import codecs
import csv
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from kpi.source import HEADER_SEARCH_ROWS, SourceError, detect_header, first_line

DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
_SAMPLE_BYTES = 1 << 20  # sniffing the delimiter and finding the header look at the first MiB
_BLOCK_BYTES = 1 << 20  # files are read a MiB at a time
_SNIFF_RECORDS = 200


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
class Delimited:
    """How a delimited text file is laid out, from its first MiB."""

    encoding: str
    delimiter: str
    header_row: int
    headers: list[str]
    skip_lines: int  # physical lines above the header row
    line_bytes: float  # average bytes a line, to size the pieces
    warnings: list[str]


def open_delimited(name: str, data: bytes | Path, header_row: int | None, delimiter: str | None) -> Delimited:
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
        if "\n" not in sample:
            raise SourceError(
                name,
                f"its first line runs past the first {_SAMPLE_BYTES // (1 << 20)} MiB without ending: "
                "far more columns than a table of this app has, or not a text table",
            )
        sample = sample[: sample.rfind("\n") + 1]
    lines = _lines(sample)
    if not any(line.strip() for line in lines):
        raise SourceError(name, "is empty: no header row and no data")
    delimiter = delimiter or _sniff(lines)
    try:
        records = _records(lines, delimiter, max(HEADER_SEARCH_ROWS, header_row or 0) + 1)
    except csv.Error as exc:
        raise SourceError(name, f"cannot be read as CSV: {first_line(exc)}") from None
    if not whole and len(records) > 1:
        records = records[:-1]  # the last record of a cut sample may be incomplete
    if header_row is None:
        header_row = detect_header([fields for fields, _ in records])
    if header_row > len(records):
        raise SourceError(name, f"has no row {header_row} to take the column names from")
    return Delimited(
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


def delimited_frames(
    name: str, data: bytes | Path, layout: Delimited, chunk_rows: int | None
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
            raise SourceError(name, f"cannot be read as CSV: {first_line(exc)}") from None
        if frame.width != len(layout.headers):
            raise SourceError(
                name,
                f"cannot be read as CSV: the header row has {len(layout.headers)} fields, the data {frame.width}",
            )
        yield frame
