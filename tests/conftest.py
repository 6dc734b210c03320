"""Shared fixtures: small datasets written inside the tests, and the app under AppTest."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from kpi.load import validate
from kpi.params import View
from kpi.schema import TABLE_BY_NAME
from kpi.store import connect, write_dataset

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
    from kpi.load import validate_frames

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
