"""The app's cache (ui/data.py): what is read once, what a threshold move reuses, what a new
version of the database file invalidates. Every statement sent to DuckDB is counted."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import pytest

from kpi import store
from kpi.params import View
from tests.conftest import SMALL_PROGRAM, d, load_tables, open_page, partner
from ui import data

AS_OF = d("2026-03-31")


class Counting:
    """A DuckDB connection or cursor that counts the statements sent through it."""

    def __init__(self, inner: Any, log: list[str]) -> None:
        self._inner, self._log = inner, log

    def sql(self, query: str, *args: Any, **kwargs: Any) -> Any:
        self._log.append(query)
        return self._inner.sql(query, *args, **kwargs)

    def execute(self, query: str, *args: Any, **kwargs: Any) -> Any:
        self._log.append(query)
        return self._inner.execute(query, *args, **kwargs)

    def cursor(self) -> Counting:
        return Counting(self._inner.cursor(), self._log)

    def __enter__(self) -> Counting:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: object) -> Any:
        return self._inner.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement the app sends from now on (through the connection ui.data opens)."""
    log: list[str] = []
    connect = store.connect
    monkeypatch.setattr(store, "connect", lambda path: Counting(connect(path), log))
    return log


@pytest.fixture
def fresh_db(small_program_db: Path, tmp_path: Path) -> Path:
    """SMALL_PROGRAM under a path of its own, so no earlier test has filled the cache for it."""
    return Path(shutil.copy(small_program_db, tmp_path / "fresh.duckdb"))


def dataset(path: Path) -> data.Dataset:
    stat = path.stat()
    return data.Dataset(str(path), f"{stat.st_ino}-{stat.st_mtime_ns}-{stat.st_size}", None)


@pytest.mark.parametrize(
    ("page", "link"),
    [
        ("overview", {}),
        ("tiers", {}),
        ("roi", {}),
        ("recurring", {}),
        ("engagement", {}),
        ("scorecard", {"scorecard_partner": "P2"}),
    ],
)
def test_a_threshold_move_sends_no_statement(fresh_db, statements, monkeypatch, page, link):
    at = open_page(fresh_db, monkeypatch, page, **link)
    assert not at.exception
    assert statements  # the first view of the page read the database
    for key, value in (("min_trainings", 2), ("min_deals", 0), ("min_criteria", 1)):
        read = len(statements)
        at.sidebar.slider(key=key).set_value(value).run()
        assert not at.exception
        assert statements[read:] == [], f"moving {key} on the {page} page read the database"
    at.sidebar.number_input(key="reward_min_revenue").set_value(10_000.0).run()
    at.sidebar.number_input(key="grace_days").set_value(0).run()
    assert statements[read:] == []


def test_a_window_seen_before_is_not_read_again(fresh_db, statements, monkeypatch):
    at = open_page(fresh_db, monkeypatch, "roi")
    at.sidebar.slider(key="window_days").set_value(60).run()
    read = len(statements)
    assert read and not at.exception
    at.sidebar.slider(key="window_days").set_value(90).run()
    at.sidebar.slider(key="window_days").set_value(60).run()
    assert statements[read:] == []


def test_thresholds_are_applied_to_the_facts_read_once(fresh_db, statements):
    ds = dataset(fresh_db)
    view = View(as_of=AS_OF)
    facts = data.partner_facts(ds, AS_OF, 90)
    assert data.partner_facts(ds, AS_OF, 90) is facts
    read = len(statements)
    strict = data.segmented(ds, dataclasses.replace(view, min_trainings=5))
    assert statements[read:] == []
    assert strict["activated"].sum() == 0 and data.segmented(ds, view)["activated"].sum() == 1
    # The span does not name the data: a dataset with its span read is the same cache entry.
    assert data.partner_facts(dataclasses.replace(ds, span=(d("2025-01-01"), AS_OF)), AS_OF, 90) is facts


def test_the_scorecard_history_is_kept_per_view_from_one_record(fresh_db, statements):
    ds = dataset(fresh_db)
    view = View(as_of=AS_OF)
    record = data.scorecard_record(ds, "P1", AS_OF, 90)
    read = len(statements)
    first = data.scorecard_history(ds, view, "P1")
    strict = data.scorecard_history(ds, dataclasses.replace(view, min_trainings=2), "P1")
    assert statements[read:] == []
    assert data.scorecard_history(ds, View(as_of=AS_OF), "P1") is first  # equal views: one entry
    assert first.history["tier"].to_list()[-1] == "reward" and strict.history["tier"].to_list()[-1] == "nurture"
    assert data.scorecard_record(ds, "P1", AS_OF, 90) is record


def test_a_new_version_of_the_file_is_read_again(tmp_path, statements, monkeypatch):
    db = load_tables(tmp_path / "kpi.duckdb", SMALL_PROGRAM)
    monkeypatch.setenv("KPI_DB", str(db))
    before = data.open_dataset()
    assert before.span == (d("2025-01-01"), AS_OF)
    assert data.partner_facts(before, AS_OF, 90).height == 4
    # A load replaces the file: a new version, read again, with the new rows.
    load_tables(db, {**SMALL_PROGRAM, "partners": [*SMALL_PROGRAM["partners"], partner("P6")]})
    after = data.open_dataset()
    assert after.version != before.version and after.path == before.path
    read = len(statements)
    assert data.partner_facts(after, AS_OF, 90).height == 5
    assert statements[read:]
    assert data.partner_facts(before, AS_OF, 90).height == 4  # the old version's entry is its own


def test_the_database_is_reached_only_through_the_cursor_helper():
    ui_and_pages = [*Path(data.__file__).parent.glob("*.py"), *(Path(data.__file__).parents[1] / "pages").glob("*.py")]
    for path in ui_and_pages:
        text = path.read_text()
        if path.name != "data.py":
            assert "duckdb" not in text and ".cursor()" not in text, path
    source = Path(data.__file__).read_text()
    assert source.count(".cursor()") == 1 and source.count("store.connect(") == 1
