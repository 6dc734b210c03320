"""Loading exports through a mapping (kpi.ingest): the files a mapping takes from a folder,
the problems it reports once, and `python -m kpi load --mapping`.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from kpi.ingest import load_mapped, load_with_mapping, validate_mapped
from kpi.mapping import FileMapping, Mapping, TableMapping
from kpi.read import preview_source, read_source
from tests.conftest import (
    PARTNERS_CSV,
    PARTNERS_MAPPING,
    csv_source,
    db_counts,
    partners_source,
    run_cli,
)

# --- checking mapped files -------------------------------------------------------------------


def test_an_unmapped_required_column_is_one_problem_not_one_per_row() -> None:
    accounts = csv_source("accounts.csv", "Account ID,Account Name\nA1,Alpha\nA2,Beta\nA3,Gamma\n")
    validation = validate_mapped(
        [(accounts, TableMapping("partners", {"partner_id": "Account ID", "partner_name": "Account Name"}))]
    )
    assert validation.problem_lines() == [
        "accounts.csv, row 1, column joined_on: required column is not mapped: map a source column or set a constant"
    ]


def test_a_close_date_left_unmapped_is_one_problem_saying_so_not_one_empty_value_per_deal() -> None:
    deals = csv_source(
        "deals.csv",
        "Deal,Account,Registered,Stage,Closed\n"
        "D1,A1,2026-01-05,won,2026-02-01\n"
        "D2,A1,2026-01-06,lost,2026-02-02\n"
        "D3,A2,2026-01-07,open,\n",
    )
    mapping = TableMapping(
        "deals", {"deal_id": "Deal", "partner_id": "Account", "registered_on": "Registered", "status": "Stage"}
    )
    validation = validate_mapped([(partners_source(), PARTNERS_MAPPING), (deals, mapping)])
    assert validation.problem_lines() == [
        "deals.csv, row 1, column closed_on: column not mapped: won and lost deals need a close date (2 row(s)); "
        "pick your column for it in the mapping or set a fixed value"
    ]


def test_a_mapping_without_partners_is_refused_once() -> None:
    validation = validate_mapped([(csv_source("d.csv", "ID\nD1\n"), TableMapping("deals", {"deal_id": "ID"}))])
    lines = validation.problem_lines()
    assert lines.count("partners: the partners table is required: no file is mapped to it") == 1
    # And every required deals column the mapping leaves out, once each.
    assert sorted(line for line in lines if line.startswith("d.csv")) == [
        f"d.csv, row 1, column {c}: required column is not mapped: map a source column or set a constant"
        for c in ("partner_id", "registered_on", "status")
    ]


# --- files in a folder -----------------------------------------------------------------------


def monthly_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "accounts.csv").write_text(PARTNERS_CSV)
    (folder / "orders-2026-01.csv").write_text(
        "Order;Account;Booked;Total\nSO1;A1;05.01.2026;100\nSO2;A2;07.01.2026;50\n"
    )
    (folder / "orders-2026-02.csv").write_text(
        "Order;Account;Booked;Total\nSO3;A1;03.02.2026;70\n\nSO4;A7;04.02.2026;1\nSO1;A1;05.02.2026;2\n"
    )
    (folder / "~$orders-2026-03.csv").write_text("lock file of an open workbook")
    return folder


ORDERS = TableMapping(
    "deals",
    {"deal_id": "Order", "partner_id": "Account", "registered_on": "Booked", "closed_on": "Booked", "amount": "Total"},
    constants={"status": "won"},
    date_format="%d.%m.%Y",
)


def monthly_mapping(pattern: str = "orders-*.csv") -> Mapping:
    return Mapping(
        "monthly",
        (
            FileMapping("accounts.csv", ("Account ID", "Account Name", "Partner Since"), 1, ",", PARTNERS_MAPPING),
            FileMapping(pattern, ("Order", "Account", "Booked", "Total"), 1, ";", ORDERS),
        ),
    )


def test_monthly_exports_matched_by_a_pattern_are_combined(tmp_path: Path) -> None:
    folder = monthly_folder(tmp_path)
    validation = load_with_mapping(folder, monthly_mapping())
    # Each problem names the month's file and its row (February's row 3 is blank).
    assert validation.problems.select("file", "row", "column", "value").rows() == [
        ("orders-2026-01.csv", 2, "deal_id", "SO1"),
        ("orders-2026-02.csv", 4, "partner_id", "A7"),
        ("orders-2026-02.csv", 5, "deal_id", "SO1"),
    ]
    (folder / "orders-2026-02.csv").write_text("Order;Account;Booked;Total\nSO3;A1;03.02.2026;70\n")
    validation = load_with_mapping(folder, monthly_mapping())
    assert validation.ok, validation.problem_lines()
    deals = validation.tables["deals"].sort("deal_id")
    assert deals.select("deal_id", "closed_on", "amount").rows() == [
        ("SO1", date(2026, 1, 5), 100.0),
        ("SO2", date(2026, 1, 7), 50.0),
        ("SO3", date(2026, 2, 3), 70.0),
    ]


def test_a_file_the_mapping_names_but_the_folder_lacks_is_a_problem(tmp_path: Path) -> None:
    folder = monthly_folder(tmp_path)
    validation = load_with_mapping(folder, monthly_mapping("invoices-*.csv"))
    assert validation.problem_lines() == ["invoices-*.csv: no file in the folder matches this name (the deals table)"]
    assert validation.tables == {}


def test_changed_headers_are_a_warning_and_unreadable_files_a_problem(tmp_path: Path) -> None:
    folder = monthly_folder(tmp_path)
    (folder / "orders-2026-02.csv").write_text("Order;Account;Booked;Total;Channel\nSO3;A1;03.02.2026;70;web\n")
    validation = load_with_mapping(folder, monthly_mapping())
    assert validation.ok, validation.problem_lines()
    assert validation.warnings == [
        "orders-2026-02.csv: the headers differ from those the mapping was made for; new: Channel"
    ]
    (folder / "orders-2026-02.csv").write_text("Order;Account;Order;Total\nSO3;A1;03.02.2026;70\n")
    assert load_with_mapping(folder, monthly_mapping()).problem_lines() == [
        "orders-2026-02.csv: the header row names 'Order' twice (columns 1 and 3); rename one of them"
    ]


def test_a_load_records_each_monthly_file_with_its_own_rows(tmp_path: Path) -> None:
    folder = monthly_folder(tmp_path)
    (folder / "orders-2026-02.csv").write_text(
        "Order;Account;Booked;Total\nSO3;A1;03.02.2026;70\n\nSO4;A2;04.02.2026;1\nSO5;A1;05.02.2026;2\n"
    )
    loaded = load_mapped(folder, monthly_mapping(), tmp_path / "kpi.duckdb", loaded_at=datetime(2026, 3, 1))
    assert loaded.record is not None, loaded.validation.problem_lines()
    # "Recent loads" lists every file with the rows read from it (February's blank row is not one).
    assert [(f.name, f.table, f.rows) for f in loaded.record.files] == [
        ("accounts.csv", "partners", 2),
        ("orders-2026-01.csv", "deals", 2),
        ("orders-2026-02.csv", "deals", 3),
    ]


def test_a_file_name_with_brackets_is_that_file_not_a_pattern(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "Accounts [Q3].csv").write_text(PARTNERS_CSV)
    (folder / "AccountsQ.csv").write_text(PARTNERS_CSV.replace("Alpha", "Other"))  # "[Q3]" as a pattern matches it
    mapping = Mapping("q3", (FileMapping("Accounts [Q3].csv", (), 1, ",", PARTNERS_MAPPING),))

    validation = load_with_mapping(folder, mapping)

    assert validation.ok, validation.problem_lines()
    assert validation.tables["partners"]["partner_name"].to_list() == ["Alpha", "Beta"]
    # The same for Parquet, read whole or a slice at a time.
    parquet = folder / "Accounts [Q4].parquet"
    pl.read_csv(folder / "Accounts [Q3].csv", glob=False).write_parquet(parquet)
    assert read_source(parquet.name, parquet).frame["Account Name"].to_list() == ["Alpha", "Beta"]
    assert preview_source(parquet.name, parquet).rows == 2


# --- the command line ------------------------------------------------------------------------


def test_cli_load_with_a_mapping(tmp_path: Path) -> None:
    folder = monthly_folder(tmp_path)
    (folder / "orders-2026-02.csv").write_text("Order;Account;Booked;Total\nSO3;A1;03.02.2026;70\n")
    mapping_file = tmp_path / "mapping.json"
    mapping_file.write_text(monthly_mapping().to_json())
    db = tmp_path / "kpi.duckdb"
    code, out, err = run_cli("load", folder, "--db", db, "--mapping", mapping_file)
    assert (code, err) == (0, "")
    assert out.startswith(f"loaded {db}: partners 2, partner_users 0, activities 0, deals 3, investments 0 ")
    assert db_counts(db) == {"partners": 2, "deals": (3, 220.0), "source": f"{folder} (mapping monthly)"}


def test_cli_load_with_a_mapping_refuses_bad_data_and_changes_nothing(tmp_path: Path) -> None:
    folder = monthly_folder(tmp_path)  # February has an unknown account and a repeated order
    mapping_file = tmp_path / "mapping.json"
    mapping_file.write_text(monthly_mapping().to_json())
    code, out, err = run_cli("load", folder, "--db", tmp_path / "kpi.duckdb", "--mapping", mapping_file)
    assert (code, out) == (2, "")
    assert err.splitlines()[0] == "refused: 3 problem(s); the database was not changed"
    assert "  orders-2026-02.csv, row 4, column partner_id: is not a partner_id in partners (value 'A7')" in err
    assert not (tmp_path / "kpi.duckdb").exists()


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ('{"name": "x", "files": [{"file": "a.csv", "mapping": {"table": "deal"}}]}', "files[0].mapping.table"),
        ("{not json", "not valid JSON"),
    ],
    ids=["unknown table", "not JSON"],
)
def test_cli_bad_mapping_file_is_one_line_naming_file_and_field(tmp_path: Path, content: str, named: str) -> None:
    folder = monthly_folder(tmp_path)
    mapping_file = tmp_path / "weekly.json"
    mapping_file.write_text(content)
    code, out, err = run_cli("load", folder, "--db", tmp_path / "kpi.duckdb", "--mapping", mapping_file)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith(f"error: {mapping_file}: ")
    assert named in err
