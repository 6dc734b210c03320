"""Shared fixtures: small datasets written inside the tests, and the app under AppTest."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from kpi.cli import main
from kpi.ingest import read_dataset
from kpi.mapping import TableMapping
from kpi.params import View
from kpi.read import read_source
from kpi.schema import TABLE_BY_NAME, TABLE_NAMES
from kpi.source import SourceFile
from kpi.store import connect, write_dataset
from kpi.validate import validate

ROOT = Path(__file__).resolve().parent.parent

Rows = list[dict[str, object]]


def text_frame(table: str, rows: Rows) -> pl.DataFrame:
    """Rows as a text frame with the contract's columns (missing keys are empty)."""
    columns = TABLE_BY_NAME[table].column_names
    return pl.DataFrame(
        {c: [None if r.get(c) is None else str(r[c]) for r in rows] for c in columns},
        schema={c: pl.String for c in columns},
    )


def write_csv_folder(folder: Path, tables: dict[str, Rows]) -> Path:
    """Write each table as <name>.csv with the contract's header into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        text_frame(name, rows).write_csv(folder / f"{name}.csv")
    return folder


# --- loading: folders, exports and the command line -----------------------------------------


PARTNERS_CSV = "Account ID,Account Name,Partner Since\nA1,Alpha,2025-01-01\nA2,Beta,2025-02-01\n"
PARTNERS_MAPPING = TableMapping(
    "partners",
    {"partner_id": "Account ID", "partner_name": "Account Name", "joined_on": "Partner Since"},
)


def base_tables() -> dict[str, Rows]:
    """A small valid dataset: two partners, one user each, one row in every other table."""
    return {
        "partners": [partner("P1"), partner("P2")],
        "partner_users": [
            {"user_id": "U1", "partner_id": "P1"},
            {"user_id": "U2", "partner_id": "P2"},
        ],
        "activities": [{"partner_id": "P1", "user_id": "U1", "occurred_at": "2026-03-01", "activity": "login"}],
        "deals": [
            {
                "deal_id": "D1",
                "partner_id": "P1",
                "registered_on": "2026-01-10",
                "status": "won",
                "closed_on": "2026-02-01",
                "amount": "1000",
                "mrr": "10",
            }
        ],
        "investments": [{"partner_id": "P1", "spent_on": "2026-02-01", "category": "mdf", "amount": "100"}],
    }


def with_rows(table: str, rows: Rows) -> dict[str, Rows]:
    tables = base_tables()
    tables[table] = rows
    return tables


def write_text(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    """Write `text` as the file `name` in `folder` (made if need be), in `encoding`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def csv_source(name: str, text: str, **kwargs: object) -> SourceFile:
    """CSV text read as an export (`kpi.read.read_source`)."""
    return read_source(name, text.encode("utf-8"), **kwargs)  # type: ignore[arg-type]


def records(source: SourceFile) -> list[dict[str, object]]:
    """The rows of an export read as text, with their spreadsheet row numbers (`_row`)."""
    return source.frame.to_dicts()


def partners_source() -> SourceFile:
    """A partners export with its own headers: accounts.csv, A1 and A2."""
    return csv_source("accounts.csv", PARTNERS_CSV)


def stage_export(rows: int, late_stage: str | None = None) -> str:
    """An opportunities export of `rows` rows; the last one may have a stage seen nowhere before."""
    lines = ["Opportunity ID,Account ID,Created Date,Stage,Amount"]
    for i in range(1, rows + 1):
        stage = late_stage if late_stage and i == rows else ("Closed Won" if i % 3 else "Closed Lost")
        lines.append(f"O-{i},P{i % 3 + 1},03/{i % 28 + 1:02d}/2026,{stage},{i}.00")
    return "\n".join(lines) + "\n"


def problems_in(folder: Path) -> list[dict[str, object]]:
    """Every problem of a folder of the contract's files, read as `python -m kpi load` reads it."""
    return read_dataset(folder).problems.to_dicts()


def places(problems: list[dict[str, object]]) -> set[tuple[object, object, object]]:
    """The (file, row, column) of each problem."""
    return {(p["file"], p["row"], p["column"]) for p in problems}


def run_cli(*argv: str | Path) -> tuple[int, str, str]:
    """`python -m kpi ARGV` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def db_tables(db: Path) -> dict[str, pl.DataFrame]:
    """Every contract table of a database file, rows in a fixed order."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {name: con.sql(f"select * from {name} order by all").pl() for name in TABLE_NAMES}
    finally:
        con.close()


def db_counts(db: Path) -> dict[str, object]:
    """Partners, deals (count and amount) and the recorded source of a database file."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            "partners": con.execute("select count(*) from partners").fetchone()[0],  # type: ignore[index]
            "deals": con.execute("select count(*), sum(amount) from deals").fetchone(),
            "source": con.execute("select source from dataset").fetchone()[0],  # type: ignore[index]
        }
    finally:
        con.close()


def load_tables(db_path: Path, tables: dict[str, Rows]) -> Path:
    """Validate these rows and write them as the database at `db_path`."""
    validation = validate({name: text_frame(name, rows) for name, rows in tables.items()})
    assert validation.ok, validation.problem_lines()
    write_dataset(validation.tables, db_path, source="test", loaded_at=datetime(2026, 1, 1))
    return db_path


@pytest.fixture
def make_db(tmp_path: Path) -> Iterator[Callable[[dict[str, Rows]], duckdb.DuckDBPyConnection]]:
    """Build a database from rows and return a read-only connection to it."""
    opened: list[duckdb.DuckDBPyConnection] = []

    def build(tables: dict[str, Rows]) -> duckdb.DuckDBPyConnection:
        path = load_tables(tmp_path / f"kpi-{len(opened)}.duckdb", tables)
        con = connect(path)
        opened.append(con)
        return con

    yield build
    for con in opened:
        con.close()


def partner(pid: str, joined: str = "2025-01-01", left: str | None = None, **extra: object) -> dict[str, object]:
    return {"partner_id": pid, "partner_name": f"Partner {pid}", "joined_on": joined, "left_on": left, **extra}


def engine_summary(db: Path, view: View) -> dict:
    """What the engine says for this view (as-of defaulting to the data's latest date)."""
    from kpi import metrics
    from kpi.store import data_span

    con = connect(db)
    try:
        view = view.resolved(data_span(con)[1])
        segmented = metrics.segment(metrics.partner_facts(con, view.as_of, view.window_days), view)
    finally:
        con.close()
    return metrics.summarize(segmented, view)


def d(text: str) -> date:
    return date.fromisoformat(text)


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo dataset at its default size, written once per test session."""
    from kpi.demo import generate
    from kpi.validate import validate_frames

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    validation = validate_frames(generate())
    assert validation.ok, validation.problem_lines(10)
    write_dataset(validation.tables, path, source="demo", loaded_at=datetime(2026, 1, 1))
    return path


@pytest.fixture
def v2_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make AppTest run app.py on every run, as the real server does.

    AppTest resets `PagesManager.uses_pages_directory` before each run; with a folder
    named pages/ beside app.py every run after the first then takes the legacy
    multipage path and executes the page file alone, skipping app.py and its sidebar.
    The live server clears that flag for good on the first st.navigation call; this
    fixture does the same after each PagesManager is made.
    """
    from streamlit.runtime.pages_manager import PagesManager

    original_init = PagesManager.__init__

    def init(self: PagesManager, *args: object, **kwargs: object) -> None:
        original_init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)
