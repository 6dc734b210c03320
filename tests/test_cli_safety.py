"""The command line on broken databases and hostile text: one error line and exit 2, and
CSV output a spreadsheet never runs as a formula."""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl

from tests.conftest import load_tables, write_csv_folder
from tests.test_cli import WINDOW, program, run, segment_json


def test_history_of_a_broken_database_lists_what_can_be_restored_and_exits_2(tmp_path):
    from tests.test_page_data import two_loads

    db, first = two_loads(tmp_path)
    db.write_bytes(db.read_bytes()[:5000])
    code, out, err = run("history", "--db", str(db))
    assert code == 2
    assert first.load_id in out and "week 1" in out
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "is not a Channel KPI Explorer database" in err and "can be restored" in err
    # Restoring replaces the broken file, which is kept aside.
    code, out, err = run("restore", first.load_id, "--db", str(db))
    assert code == 0, err
    code, out, _ = run("summary", "--db", str(db))
    assert code == 0 and json.loads(out)["partners"] == 1


def test_history_of_a_folder_says_so(tmp_path):
    code, out, err = run("history", "--db", str(tmp_path))
    assert (code, out) == (2, "")
    assert err == f"error: no database at {tmp_path} (it is a folder)\n"


def test_csv_output_never_holds_a_formula_a_spreadsheet_would_run(tmp_path: Path) -> None:
    tables = program()
    tables["partners"][0]["partner_name"] = '=HYPERLINK("https://evil.example","P1")'
    tables["partners"][1]["partner_name"] = "@SUM(1+1)"
    db = load_tables(tmp_path / "kpi.duckdb", tables)
    code, out, _ = run("segment", "--db", db, *WINDOW)
    assert code == 0
    names = dict(pl.read_csv(io.StringIO(out)).select("partner_id", "partner_name").iter_rows())
    assert names["P1"] == '\'=HYPERLINK("https://evil.example","P1")'
    assert names["P2"] == "'@SUM(1+1)"
    # The JSON keeps the names as they are: it is read by programs, not spreadsheets.
    assert segment_json(db)["P1"]["partner_name"] == '=HYPERLINK("https://evil.example","P1")'
    code, out, _ = run("compare", "--db", db, *WINDOW, "--base", "min_trainings=9", "--format", "csv")
    assert code == 0
    moved = pl.read_csv(io.StringIO(out))
    assert moved["partner_id"].to_list() == ["P1"]  # P1 moves: 9 trainings put it out of reward
    assert all(not name.startswith(("=", "@", "+", "-")) for name in moved["partner_name"])

    tables["deals"][0]["amount"] = "=1+1"  # refused, and reported in the problems CSV
    folder = write_csv_folder(tmp_path / "src", tables)
    problems_csv = tmp_path / "problems.csv"
    code, _, _ = run("load", folder, "--db", tmp_path / "new.duckdb", "--problems-csv", problems_csv)
    assert code == 2
    written = pl.read_csv(problems_csv, infer_schema=False)
    assert written.filter(pl.col("column") == "amount")["value"].to_list() == ["'=1+1"]
