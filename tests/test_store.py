"""kpi.store: the read connection with the shared SQL rules, the data's span, the atomic write.

The macros of kpi/sql/macros.sql are checked on hand-made values at their boundaries: they are
the one place where the population, the window, deal value and live MRR are defined.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from kpi import store
from kpi.ingest import read_dataset
from kpi.schema import TABLE_NAMES
from kpi.store import write_dataset
from tests.conftest import base_tables, d, load_tables, partner, write_csv_folder

A = d("2026-03-31")


@pytest.fixture
def con(make_db) -> duckdb.DuckDBPyConnection:
    return make_db({"partners": [partner("P1")]})


def one(con: duckdb.DuckDBPyConnection, sql: str, **params: object) -> object:
    return con.sql(sql, params=params or None).fetchall()[0][0]


# --- connect --------------------------------------------------------------------------------


def test_connect_reads_the_tables_and_never_writes_the_file(tmp_path: Path) -> None:
    db = load_tables(tmp_path / "kpi.duckdb", {"partners": [partner("P1"), partner("P2")]})
    con = store.connect(db)
    try:
        assert con.sql("select partner_id from partners order by 1").fetchall() == [("P1",), ("P2",)]
        with pytest.raises(duckdb.Error, match="read-only"):
            con.sql("insert into kpi_data.main.partners select * from kpi_data.main.partners")
    finally:
        con.close()
    con = store.connect(db)
    try:
        assert one(con, "select count(*) from partners") == 2
    finally:
        con.close()


def test_every_cursor_of_a_connection_has_the_shared_rules(con) -> None:
    # The app runs its queries on cursors of one cached connection.
    with con.cursor() as first, con.cursor() as second:
        assert one(first, "select deal_value(100, 10)") == 220
        assert one(second, "select in_program(date '2026-01-01', null, date '2026-01-01')") is True


def test_a_missing_database_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="python -m kpi load"):
        store.connect(tmp_path / "nothing.duckdb")


# --- the shared rules (kpi/sql/macros.sql) --------------------------------------------------


@pytest.mark.parametrize(
    ("joined_on", "left_on", "in_program"),
    [
        ("2026-03-31", None, True),  # joined on the day: counts
        ("2026-04-01", None, False),  # joins the day after
        ("2025-01-01", None, True),  # never left
        ("2025-01-01", "2026-03-31", False),  # left on the day: out
        ("2025-01-01", "2026-04-01", True),  # leaves the day after
        ("2025-01-01", "2026-03-30", False),
    ],
)
def test_in_program_on_a_day(con, joined_on: str, left_on: str | None, in_program: bool) -> None:
    sql = "select in_program($joined::date, $left::date, $day::date)"
    assert one(con, sql, joined=joined_on, left=left_on, day=A) is in_program


@pytest.mark.parametrize(
    ("day", "in_window"),
    [
        ("2026-03-01", False),  # A - 30: the day before the window
        ("2026-03-02", True),  # the window's first day
        ("2026-03-31", True),  # A itself
        ("2026-04-01", False),  # after A
    ],
)
def test_in_window_is_the_w_days_up_to_and_including_a(con, day: str, in_window: bool) -> None:
    assert one(con, "select in_window($day::date, $as_of::date, $w)", day=day, as_of=A, w=30) is in_window


def test_deal_value_is_the_amount_plus_a_year_of_mrr(con) -> None:
    assert one(con, "select deal_value(1000.0, 250.0)") == 4000.0
    assert one(con, "select deal_value(0.0, 0.0)") == 0.0
    assert one(con, "select deal_value(499.5, 0.0)") == 499.5


@pytest.mark.parametrize(
    ("status", "closed_on", "churned_on", "live"),
    [
        ("won", "2026-03-31", None, True),  # closed on the day: live
        ("won", "2026-04-01", None, False),  # closes after
        ("won", "2026-01-01", "2026-03-31", False),  # churned on the day: gone
        ("won", "2026-01-01", "2026-04-01", True),  # churns after
        ("lost", "2026-01-01", None, False),
        ("open", None, None, False),
    ],
)
def test_mrr_live_on_a_day(con, status: str, closed_on: str | None, churned_on: str | None, live: bool) -> None:
    sql = "select mrr_live($status, $closed::date, $churned::date, $day::date)"
    assert bool(one(con, sql, status=status, closed=closed_on, churned=churned_on, day=A)) is live


def test_activity_counts_count_each_kind_and_active_users_the_named_people(con) -> None:
    events = pl.DataFrame(
        {
            "activity": ["training_completed", "training_completed", "content_shared", "content_viewed", "login"]
            + ["login", "login", None],
            "user_id": ["U1", "U1", "U2", None, "", "U3", "U1", "U4"],
        }
    )
    con.register("events", events)
    counts = con.sql(
        "select trainings(activity), content_shares(activity), content_views(activity), logins(activity),"
        " active_users(user_id) from events"
    ).fetchall()[0]
    # U1, U2, U3, U4: an empty or missing user_id is nobody; the null activity counts in no kind.
    assert counts == (2, 1, 1, 3, 4)


def months(con: duckdb.DuckDBPyConnection, until: str) -> list[tuple[str, str]]:
    rows = con.sql("select month_start, month_end from month_grid($until::date)", params={"until": until}).fetchall()
    return [(start.isoformat(), end.isoformat()) for start, end in rows]


def test_month_grid_starts_at_the_first_money_spent_and_cuts_the_last_month_at_until(make_db) -> None:
    con = make_db(
        {
            "partners": [partner("P1", joined="2025-06-01")],
            "investments": [{"partner_id": "P1", "spent_on": "2025-12-20", "amount": 10, "category": "mdf"}],
            "activities": [{"partner_id": "P1", "occurred_at": "2026-02-03", "activity": "login"}],
            "deals": [{"deal_id": "D1", "partner_id": "P1", "registered_on": "2026-01-15", "status": "open"}],
        }
    )
    assert months(con, "2026-02-14") == [
        ("2025-12-01", "2025-12-31"),
        ("2026-01-01", "2026-01-31"),
        ("2026-02-01", "2026-02-14"),
    ]


def test_month_grid_starts_at_the_first_join_when_nothing_happened(make_db) -> None:
    con = make_db({"partners": [partner("P1", joined="2024-02-10"), partner("P2", joined="2024-01-31")]})
    assert months(con, "2024-03-31") == [
        ("2024-01-01", "2024-01-31"),
        ("2024-02-01", "2024-02-29"),
        ("2024-03-01", "2024-03-31"),
    ]


def test_month_grid_before_the_first_event_is_the_month_of_until(make_db) -> None:
    con = make_db(
        {
            "partners": [partner("P1", joined="2025-01-01")],
            "activities": [{"partner_id": "P1", "occurred_at": "2026-03-05", "activity": "login"}],
        }
    )
    assert months(con, "2026-01-10") == [("2026-01-01", "2026-01-10")]


# --- data_span ------------------------------------------------------------------------------


def test_data_span_runs_from_the_earliest_date_to_the_latest_activity_or_deal_date(make_db) -> None:
    con = make_db(
        {
            "partners": [partner("P1", joined="2025-11-05"), partner("P2", joined="2026-05-01")],
            "activities": [{"partner_id": "P1", "occurred_at": "2026-03-31T23:30:00-05:00", "activity": "login"}],
            "deals": [
                {
                    "deal_id": "D1",
                    "partner_id": "P1",
                    "registered_on": "2026-02-01",
                    "status": "won",
                    "closed_on": "2026-04-02",
                    "amount": 1,
                }
            ],
            # Money spent later does not move the default as-of date.
            "investments": [{"partner_id": "P1", "spent_on": "2026-06-30", "amount": 10, "category": "mdf"}],
        }
    )
    # The latest join (2026-05-01) is later too, but only activity and deal dates count.
    assert store.data_span(con) == (d("2025-11-05"), d("2026-04-02"))


def test_data_span_without_activities_or_deals_ends_at_the_latest_join(make_db) -> None:
    con = make_db({"partners": [partner("P1", joined="2025-11-05"), partner("P2", joined="2026-01-20")]})
    assert store.data_span(con) == (d("2025-11-05"), d("2026-01-20"))


def test_data_span_of_an_empty_dataset_is_none(make_db) -> None:
    assert store.data_span(make_db({"partners": []})) is None


# --- the atomic write -----------------------------------------------------------------------


def contract_tables(db: Path) -> dict[str, pl.DataFrame]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {name: con.sql(f"select * from {name}").pl() for name in TABLE_NAMES}
    finally:
        con.close()


def test_a_write_replaces_the_whole_dataset_and_records_the_load(tmp_path: Path) -> None:
    db = load_tables(tmp_path / "kpi.duckdb", {"partners": [partner("P1"), partner("P2")]})
    old_id = store.describe(db).dataset_id
    tables = contract_tables(load_tables(tmp_path / "next.duckdb", {"partners": [partner("P9")]}))
    files = (store.SourceFileInfo("partners.csv", "partners", 1),)
    new_id = store.write_dataset(
        tables, db, source="weekly export", loaded_at=datetime(2026, 4, 1, 9, 0), files=files, mapping_name="crm"
    )
    info = store.describe(db)
    assert new_id != old_id
    assert (info.dataset_id, info.source, info.loaded_at, info.mapping_name) == (
        new_id,
        "weekly export",
        datetime(2026, 4, 1, 9, 0),
        "crm",
    )
    assert info.files == files
    assert info.table_rows == {"partners": 1, "partner_users": 0, "activities": 0, "deals": 0, "investments": 0}
    assert contract_tables(db)["partners"]["partner_id"].to_list() == ["P9"]


def test_a_write_that_fails_leaves_the_old_file_and_no_work_files(tmp_path: Path) -> None:
    db = load_tables(tmp_path / "kpi.duckdb", {"partners": [partner("P1")]})
    before = db.read_bytes()
    tables = contract_tables(db)
    # Two partners with one id break the primary key half way through the write.
    tables["partners"] = pl.concat([tables["partners"], tables["partners"]])
    with pytest.raises(duckdb.ConstraintException):
        store.write_dataset(tables, db, source="bad", loaded_at=datetime(2026, 4, 1))
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kpi.duckdb"]
    assert store.describe(db).source == "test"


def test_dataset_id_changes_with_every_load(tmp_path: Path) -> None:
    validation = read_dataset(write_csv_folder(tmp_path / "src", base_tables()))
    db = tmp_path / "kpi.duckdb"
    first = write_dataset(validation.tables, db, source="a", loaded_at=datetime(2026, 1, 1))
    second = write_dataset(validation.tables, db, source="b", loaded_at=datetime(2026, 1, 2))
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.sql("select dataset_id, source from dataset").fetchall() == [(second, "b")]
    finally:
        con.close()
    assert first != second
