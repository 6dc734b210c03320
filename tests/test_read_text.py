"""Delimited text (kpi.read_text): encodings, delimiters, quotes, line breaks and header rows,
read whole or cut into pieces of records.

Row numbers are the ones a user sees in the spreadsheet (the header row counts).
"""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from kpi.ingest import read_dataset
from kpi.read import open_source, read_source
from tests.conftest import (
    csv_source,
    partner,
    places,
    problems_in,
    records,
    run_cli,
    write_csv_folder,
    write_text,
)

# --- encodings, delimiters, quotes -----------------------------------------------------------


def test_bom_crlf_semicolons_quotes_and_accents_read_as_in_the_spreadsheet() -> None:
    text = (
        "\ufeffPartner;Notes;Amount\r\n"
        '"Müller; Söhne GmbH";"said ""hi"", twice";"1.234,50"\r\n'
        '"Łódź Partners";"first line\r\nsecond line";12\r\n'
        "Café Ølstad;plain;7\r\n"
        "\r\n"
        ";;\r\n"
    )
    source = read_source("export.csv", text.encode("utf-8"))
    assert source.delimiter == ";"
    assert source.header_row == 1
    assert source.headers == ("Partner", "Notes", "Amount")  # no byte-order mark in the first name
    assert records(source) == [
        {"_row": 2, "Partner": "Müller; Söhne GmbH", "Notes": 'said "hi", twice', "Amount": "1.234,50"},
        {"_row": 3, "Partner": "Łódź Partners", "Notes": "first line\r\nsecond line", "Amount": "12"},
        # The record above spans two lines of the file but is one spreadsheet row.
        {"_row": 4, "Partner": "Café Ølstad", "Notes": "plain", "Amount": "7"},
    ]
    assert source.warnings == ()


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"], ids=["comma", "semicolon", "tab", "pipe"])
def test_the_delimiter_is_sniffed(delimiter: str) -> None:
    rows = [["Deal ID", "Partner", "Amount"], ["D1", "Smith, Jones & Co", "10.5"], ["D2", "Acme", "3"]]
    quoted = ['"Smith, Jones & Co"' if cell == "Smith, Jones & Co" else cell for cell in rows[1]]
    lines = [delimiter.join(rows[0]), delimiter.join(quoted), delimiter.join(rows[2])]
    source = read_source("deals.txt", ("\n".join(lines) + "\n").encode())
    assert source.delimiter == delimiter
    assert source.frame.drop("_row").rows() == [("D1", "Smith, Jones & Co", "10.5"), ("D2", "Acme", "3")]


def test_a_given_delimiter_wins_over_sniffing() -> None:
    source = read_source("x.csv", b"a;b,c\n1;2,3\n", delimiter=",")
    assert source.headers == ("a;b", "c")
    assert source.frame.drop("_row").rows() == [("1;2", "3")]


def test_a_title_above_the_header_is_found_and_rows_keep_their_numbers() -> None:
    text = (
        "Opportunity Pipeline Report,,,\n"
        "Generated 2026-03-31 by Dana,,,\n"
        ",,,\n"
        "Opportunity ID,Account Name,Stage,Amount\n"
        "O-1,Alpha,Closed Won,100\n"
        ",,,\n"
        "O-2,Beta,Prospecting,\n"
    )
    source = csv_source("pipeline.csv", text)
    assert source.header_row == 4
    assert source.headers == ("Opportunity ID", "Account Name", "Stage", "Amount")
    assert [(r["_row"], r["Opportunity ID"], r["Amount"]) for r in records(source)] == [
        (5, "O-1", "100"),
        (7, "O-2", None),
    ]
    # The same file with the header row given by hand.
    given = csv_source("pipeline.csv", text, header_row=4)
    assert given.frame.equals(source.frame)


def test_not_utf8_is_read_as_cp1252_and_says_so() -> None:
    data = "Partner,City\nCafé Brûlé Ltd,Köln\nSão Paulo Tech,Malmö\n".encode("cp1252")
    source = read_source("partners-windows.csv", data)
    assert source.frame["Partner"].to_list() == ["Café Brûlé Ltd", "São Paulo Tech"]
    assert source.frame["City"].to_list() == ["Köln", "Malmö"]
    assert len(source.warnings) == 1
    assert "partners-windows.csv" in source.warnings[0] and "cp1252" in source.warnings[0]


def test_utf16_excel_unicode_text_is_read() -> None:
    data = "Partner\tAmount\r\nZoë GmbH\t5\r\n".encode("utf-16")
    source = read_source("export.txt", data)
    assert (source.delimiter, source.frame.drop("_row").rows()) == ("\t", [("Zoë GmbH", "5")])


# --- the contract's own CSV files ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        'deal_id,partner_id,registered_on,status\n"D1,P1,2026-01-10,open\n',  # unclosed quote
        "deal_id,partner_id,registered_on,status\nD1,P1,2026-01-10,open,extra,fields\n",  # ragged
    ],
    ids=["unclosed quote", "ragged"],
)
def test_unreadable_csv_is_a_problem_naming_the_file(tmp_path: Path, text: str) -> None:
    folder = write_csv_folder(tmp_path / "src", {"partners": [partner("P1")]})
    write_text(folder, "deals.csv", text)
    code, _, err = run_cli("load", folder, "--db", tmp_path / "kpi.duckdb")
    assert code == 2
    assert "Traceback" not in err
    assert "  deals.csv: cannot be read as CSV" in err
    assert not (tmp_path / "kpi.duckdb").exists()


def test_bom_does_not_break_the_first_column_name(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "partners.csv").write_bytes("\ufeffpartner_id,partner_name,joined_on\nP1,Alpha,2025-01-01\n".encode())
    validation = read_dataset(folder)
    assert validation.ok, validation.problem_lines()
    assert validation.warnings == []
    assert validation.tables["partners"]["partner_id"].to_list() == ["P1"]


def test_a_quoted_line_break_is_one_spreadsheet_row(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    # Row 2 holds a name written over two lines; the bad date is on spreadsheet row 3, line 4 of the file.
    write_text(
        folder,
        "partners.csv",
        'partner_id,partner_name,joined_on\nP1,"Alpha\nand Sons",2025-01-01\nP2,Beta,2025-01-32\n',
    )
    assert places(problems_in(folder)) == {("partners.csv", 3, "joined_on")}


def test_semicolons_crlf_and_windows_1252_are_read_with_a_warning(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    text = "partner_id;partner_name;joined_on\r\nP1;Müller & Söhne;2025-01-01\r\nP2;Café Brûlé;2025-02-01\r\n"
    (folder / "partners.csv").write_bytes(text.encode("cp1252"))
    validation = read_dataset(folder)
    assert validation.ok, validation.problem_lines()
    assert validation.tables["partners"]["partner_name"].to_list() == ["Müller & Söhne", "Café Brûlé"]
    assert len(validation.warnings) == 1 and "partners.csv: not UTF-8 text" in validation.warnings[0]


# --- a piece at a time -----------------------------------------------------------------------


TRICKY_CSV = (
    "\ufeffExport of partners;;\r\n"  # a title row, then a blank row, then the header on row 3
    ";;\r\n"
    "Account ID;Name;Notes\r\n"
    'A1;"Smith; Jones";"said ""hi"""\r\n'
    "\r\n"
    'A2;Müller;"two\r\nlines"\r\n'
    "A3;  padded  ;\r\n"
    'A4;"";x\r\n'
    "A5;Last;no newline at the end"
)


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252", "utf-16"])
def test_reading_a_chunk_at_a_time_gives_the_rows_and_row_numbers_of_a_whole_read(encoding: str) -> None:
    data = TRICKY_CSV.encode(encoding) if encoding != "cp1252" else TRICKY_CSV.lstrip("\ufeff").encode(encoding)
    whole = read_source("partners.csv", data, header_row=3)
    # Checked by hand: rows 4, 6 (two lines, one row), 7, 8, 9; row 5 blank; trimmed; "" is empty.
    assert whole.frame.to_dicts() == [
        {"Account ID": "A1", "Name": "Smith; Jones", "Notes": 'said "hi"', "_row": 4},
        {"Account ID": "A2", "Name": "Müller", "Notes": "two\r\nlines", "_row": 6},
        {"Account ID": "A3", "Name": "padded", "Notes": None, "_row": 7},
        {"Account ID": "A4", "Name": None, "Notes": "x", "_row": 8},
        {"Account ID": "A5", "Name": "Last", "Notes": "no newline at the end", "_row": 9},
    ]
    for chunk_rows in (1, 2, 3, 4):
        stream = open_source("partners.csv", data, header_row=3, chunk_rows=chunk_rows)
        assert (stream.headers, stream.delimiter, stream.warnings) == (whole.headers, whole.delimiter, whole.warnings)
        chunks = list(stream.chunks())
        assert len(chunks) > 1
        assert_frame_equal(pl.concat(chunks), whole.frame)


def generated_csv(seed: int) -> str:
    """A small CSV with the quirks that meet chunk boundaries: quoted delimiters, line breaks
    and quotes inside quotes, blank lines, CRLF, padding, a title with an odd quote above."""
    rnd = random.Random(seed)
    cells = ["", "alpha", "1234", "2026-01-01", "é", " pad ", '"a,b"', '"x\ny"', '"q""q"', '"x\n\ny"', '""']
    width = rnd.randint(1, 4)
    lines = [",".join(f"h{i}" for i in range(width))]
    for _ in range(rnd.randint(0, 12)):
        lines.append("" if rnd.random() < 0.1 else ",".join(rnd.choice(cells) for _ in range(width)))
    text = "".join(line + rnd.choice(["\n", "\r\n"]) for line in lines)
    return text.rstrip("\n") if rnd.random() < 0.3 else text


@pytest.mark.parametrize("seed", range(40))
def test_any_cut_into_chunks_reads_as_the_whole_file(seed: int) -> None:
    text = generated_csv(seed)
    for title in ("", 'Report "draft\n\n'):  # the header on row 1, or on row 3 under a title
        data = (title + text).encode()
        header_row = 3 if title else 1
        whole = read_source("f.csv", data, header_row=header_row, delimiter=",").frame
        for chunk_rows in (1, 2, 3, 5):
            stream = open_source("f.csv", data, header_row=header_row, delimiter=",", chunk_rows=chunk_rows)
            assert_frame_equal(pl.concat(list(stream.chunks())), whole)
