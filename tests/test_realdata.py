"""Two real public datasets loaded through mappings, as a channel team would.

The files live outside the repository, in ../shared/realdata next to the repo root (each
folder's SOURCE.md says where they come from and what they hold); they are never copied
here. The expected figures below are the ones SOURCE.md states.

- Maven Analytics CRM + Sales Opportunities: accounts -> partners, the opportunity
  pipeline -> deals.
- Microsoft AdventureWorks DW reseller channel: resellers -> partners, reseller order
  lines -> won deals.
"""

from __future__ import annotations

import io
import json
import re
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from kpi.cli import main
from kpi.ingest import load_with_mapping
from kpi.mapping import Mapping
from kpi.read import read_source
from kpi.suggest import guess_table, suggest
from tests.conftest import ROOT

REALDATA = ROOT.parent / "shared" / "realdata"
MAVEN = REALDATA / "maven_crm_sales_opportunities"
ADVENTUREWORKS = REALDATA / "adventureworks_reseller" / "dw2020_extract"

pytestmark = pytest.mark.skipif(not REALDATA.is_dir(), reason=f"the real datasets are not here ({REALDATA} is absent)")

# The mappings as a user writes them (docs/mapping.md shows and explains the same two).
MAVEN_MAPPING = {
    "name": "Maven CRM",
    "files": [
        {
            "file": "accounts.csv",
            "mapping": {
                "table": "partners",
                # The CRM knows accounts by name only: the name is the id, and the pipeline uses it.
                "columns": {"partner_id": "account", "partner_name": "account", "region": "office_location"},
                # No join date in the export: everyone counts as in the program from before the first deal.
                "constants": {"joined_on": "2016-10-01"},
            },
        },
        {
            "file": "sales_pipeline.csv",
            "mapping": {
                "table": "deals",
                "columns": {
                    "deal_id": "opportunity_id",
                    "partner_id": "account",
                    "registered_on": "engage_date",
                    "status": "deal_stage",
                    "closed_on": "close_date",
                    "amount": "close_value",
                },
                "values": {"status": {"Won": "won", "Lost": "lost", "Engaging": "open", "Prospecting": "open"}},
                # Open opportunities without an account or an engage date cannot be a partner's deal.
                "skip_incomplete": True,
            },
        },
    ],
}

ADVENTUREWORKS_MAPPING = {
    "name": "AdventureWorks resellers",
    "files": [
        {
            "file": "Resellers.csv",
            "mapping": {
                "table": "partners",
                "columns": {
                    "partner_id": "ResellerKey",
                    "partner_name": "ResellerName",
                    "partner_type": "BusinessType",
                    "region": "Country_Region",
                },
                "constants": {"joined_on": "2017-07-01"},
                "values": {"partner_type": {"Ware House": "Warehouse"}},
            },
        },
        {
            "file": "FactResellerSales.csv",
            "mapping": {
                "table": "deals",
                # An order has many lines; the order number and the product make a line's id.
                "columns": {
                    "deal_id": ["SalesOrderNumber", "ProductKey"],
                    "partner_id": "ResellerKey",
                    "registered_on": "OrderDate",
                    "closed_on": "OrderDate",
                    "amount": "SalesAmount",
                },
                "constants": {"status": "won"},
            },
        },
    ],
}


def run(*argv: str | Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def mapping_file(folder: Path, document: dict[str, object]) -> Path:
    path = folder / "mapping.json"
    path.write_text(json.dumps(document, indent=2))
    return path


@pytest.fixture(scope="module")
def maven_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("maven")
    db = folder / "maven.duckdb"
    code, out, err = run("load", MAVEN, "--db", db, "--mapping", mapping_file(folder, MAVEN_MAPPING))
    assert code == 0, err
    return db, err


@pytest.fixture(scope="module")
def adventureworks_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("adventureworks")
    db = folder / "aw.duckdb"
    code, out, err = run("load", ADVENTUREWORKS, "--db", db, "--mapping", mapping_file(folder, ADVENTUREWORKS_MAPPING))
    assert (code, err) == (0, ""), err
    return db


def query(db: Path, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# --- Maven CRM -----------------------------------------------------------------------------------


def test_maven_loads_every_won_and_lost_deal_and_says_what_it_left_out(maven_db: tuple[Path, str]) -> None:
    db, err = maven_db
    # SOURCE.md: account is empty on 1,425 open rows, engage_date on the 500 Prospecting rows.
    assert err.startswith("warning: sales_pipeline.csv: left out ")
    assert "partner_id (from account) empty on 1,425" in err
    assert "registered_on (from engage_date) empty on 500" in err
    left_out = int(err.split("left out ")[1].split(" ")[0].replace(",", ""))
    assert query(db, "select count(*) from partners") == [(85,)]
    by_status = dict(query(db, "select status, count(*) from deals group by status"))
    # Won 4,238 and Lost 2,473 all have an account and an engage date; only open rows are left out.
    assert (by_status["won"], by_status["lost"]) == (4238, 2473)
    assert sum(by_status.values()) == 8800 - left_out
    assert by_status["open"] <= 1589  # the Engaging rows with an account; no Prospecting row has a date
    assert query(db, "select sum(amount) from deals where status = 'won'") == [(10_005_534.0,)]
    # Close dates 2017-03-01 .. 2017-12-31; engage dates from 2016-10-20.
    assert query(db, "select min(closed_on), max(closed_on), min(registered_on) from deals") == [
        (date(2017, 3, 1), date(2017, 12, 31), date(2016, 10, 20))
    ]


def test_maven_kpis_for_2017(maven_db: tuple[Path, str]) -> None:
    db, _ = maven_db
    code, out, err = run("summary", "--db", db, "--as-of", "2017-12-31", "--window-days", "365")
    assert code == 0, err
    summary = json.loads(out)
    # Every account is in the program; every won deal closed in 2017, inside the window.
    assert summary["partners"] == 85
    assert summary["revenue"] == pytest.approx(10_005_534)
    assert (summary["cost"], summary["roi"]) == (0, None)  # no investments in a CRM export


def test_maven_without_skipping_reports_each_incomplete_row(tmp_path: Path) -> None:
    strict = json.loads(json.dumps(MAVEN_MAPPING))
    strict["files"][1]["mapping"]["skip_incomplete"] = False
    validation = load_with_mapping(MAVEN, Mapping.from_json(json.dumps(strict)))
    counts = {(row["column"], row["problem"]): row["count"] for row in validation.problem_counts().to_dicts()}
    assert counts == {
        ("partner_id", "is empty; a value is required"): 1425,
        ("registered_on", "is empty; a value is required"): 500,
    }
    assert set(validation.problems["file"]) == {"sales_pipeline.csv"}


# --- AdventureWorks -------------------------------------------------------------------------------


def test_adventureworks_resellers_and_order_lines_load(adventureworks_db: Path) -> None:
    db = adventureworks_db
    assert query(db, "select count(*) from partners") == [(701,)]
    # SOURCE.md: 57,851 order lines of 3,616 orders from 632 resellers, 2017-07-01 .. 2020-05-31.
    assert query(
        db, "select count(*), count(distinct split_part(deal_id, '-', 1)), count(distinct partner_id) from deals"
    ) == [(57851, 3616, 632)]
    assert query(db, "select min(registered_on), max(closed_on) from deals") == [(date(2017, 7, 1), date(2020, 5, 31))]
    (total,) = query(db, "select sum(amount) from deals where status = 'won'")[0]
    assert total == pytest.approx(77.5e6, rel=1e-3)  # "SalesAmount totals 77.5 M"
    # The lab's misspelt business type (5 resellers, SOURCE.md) is folded into Warehouse by the value map.
    raw = pl.read_csv(ADVENTUREWORKS / "Resellers.csv", infer_schema=False)["BusinessType"].value_counts()
    written = dict(raw.rows())
    assert written["Ware House"] == 5
    loaded = dict(query(db, "select partner_type, count(*) from partners group by partner_type"))
    assert "Ware House" not in loaded
    assert loaded["Warehouse"] == written["Warehouse"] + 5


def test_adventureworks_kpis_over_the_three_years(adventureworks_db: Path) -> None:
    # Windows are at most two years: 2017-06-01 .. 2018-05-31, then 2018-06-01 .. 2020-05-31.
    revenue = 0.0
    for as_of, days in (("2018-05-31", "365"), ("2020-05-31", "730")):
        code, out, err = run("summary", "--db", adventureworks_db, "--as-of", as_of, "--window-days", days)
        assert code == 0, err
        summary = json.loads(out)
        assert summary["partners"] == 701
        revenue += summary["revenue"]
    assert revenue == pytest.approx(77.5e6, rel=1e-3)


def test_the_examples_in_docs_mapping_md_are_these_mappings() -> None:
    text = (ROOT / "docs" / "mapping.md").read_text()
    examples = {m.name: m for m in (Mapping.from_json(block) for block in re.findall(r"```json\n(.*?)```", text, re.S))}
    for document in (MAVEN_MAPPING, ADVENTUREWORKS_MAPPING):
        assert examples[str(document["name"])] == Mapping.from_json(json.dumps(document))


# --- suggestions on the real exports ----------------------------------------------------------------


def test_suggestions_on_the_real_exports() -> None:
    pipeline = read_source("sales_pipeline.csv", MAVEN / "sales_pipeline.csv")
    assert guess_table(pipeline) == "deals"
    suggested = suggest(pipeline, "deals")
    assert suggested.columns == {
        "deal_id": ("opportunity_id",),
        "partner_id": ("account",),
        "registered_on": ("engage_date",),
        "status": ("deal_stage",),
        "closed_on": ("close_date",),
        "amount": ("close_value",),
    }
    assert suggested.values == {"status": {"Engaging": "open", "Lost": "lost", "Prospecting": "open", "Won": "won"}}

    sales = read_source("FactResellerSales.csv", ADVENTUREWORKS / "FactResellerSales.csv")
    assert guess_table(sales) == "deals"
    lines = suggest(sales, "deals")
    assert lines.columns["deal_id"] == ("SalesOrderNumber", "ProductKey")
    assert lines.constants == {"status": "won"}

    for folder, name, table in (
        (MAVEN, "accounts.csv", "partners"),
        (ADVENTUREWORKS, "Resellers.csv", "partners"),
        (MAVEN, "products.csv", None),
        (MAVEN, "sales_teams.csv", None),
        (ADVENTUREWORKS, "Product.csv", None),
    ):
        assert guess_table(read_source(name, folder / name)) == table, name
