"""Shared fixtures: small datasets written inside the tests, and the app under AppTest."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

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


# --- rows the engine's and the pages' tests share -----------------------------------------------


def activity(pid: str, on: str, kind: str, user: str | None = None) -> dict[str, object]:
    return {"partner_id": pid, "user_id": user, "occurred_at": on, "activity": kind}


def deal(did: str, pid: str, registered: str, status: str = "open", closed: str | None = None, **money):
    return {
        "deal_id": did,
        "partner_id": pid,
        "registered_on": registered,
        "status": status,
        "closed_on": closed,
        **money,
    }


def spend(pid: str, on: str, amount: float, category: str | None = "mdf") -> dict[str, object]:
    return {"partner_id": pid, "spent_on": on, "amount": amount, "category": category}


# The recurring book (tests/test_recurring.py and the Recurring revenue page's tests):
# A stays in the program: A1 (100) won in January; A2 (50) won and churned in February (churn in
# its first month); A3 (30) won in March, churned in April.
# L joined in January and left on 2026-03-15 with L1 (200) live; L2 (10) is won in March, the month
# it leaves, so it never enters the program's book.
# J joined on 2026-03-10 with J1 (40) won in December, before it joined; J2 (5) won in March.
# May has no deals at all: zero movement.
BOOK = {
    "partners": [
        partner("A", joined="2026-01-01"),
        partner("L", joined="2026-01-01", left="2026-03-15"),
        partner("J", joined="2026-03-10"),
    ],
    "deals": [
        deal("A1", "A", "2026-01-02", "won", "2026-01-10", mrr=100),
        deal("A2", "A", "2026-02-01", "won", "2026-02-05", mrr=50, churned_on="2026-02-20"),
        deal("A3", "A", "2026-03-01", "won", "2026-03-15", mrr=30, churned_on="2026-04-10"),
        deal("L1", "L", "2026-01-05", "won", "2026-01-20", mrr=200),
        deal("L2", "L", "2026-03-01", "won", "2026-03-05", mrr=10),
        deal("J1", "J", "2025-12-01", "won", "2025-12-20", mrr=40),
        deal("J2", "J", "2026-03-12", "won", "2026-03-20", mrr=5),
    ],
}


# The engagement program (tests/test_engagement.py, answers worked out by hand there): as-of
# ENGAGEMENT_A = 2026-03-31 with a 30-day window, so 2026-03-02 .. 2026-03-31 count. The program
# (population at A): P1..P6; PX left on 2026-03-15, so it is not in it. Staff: P1 Ana (U1A) and
# Ben (U1B); P2 Cy (U2); P3 Dee (U3) and Eve (U3B); P5 four people; P6 Gus (U6); P4 has nobody on
# record; PX has Xi (UX).
ENGAGEMENT_A = date(2026, 3, 31)
ENGAGEMENT_W = 30


def act(pid: str, user: str | None, on: str, kind: str, item: str | None = None, name: str | None = None) -> dict:
    return {"partner_id": pid, "user_id": user, "occurred_at": on, "activity": kind, "item_id": item, "item_name": name}


def user(uid: str, pid: str, name: str, role: str = "sales") -> dict:
    return {"user_id": uid, "partner_id": pid, "user_name": name, "role": role}


def closed_deal(
    did: str, pid: str, status: str, closed: str | None, amount: float = 0.0, mrr: float = 0.0, reg="2026-02-01"
):
    return {
        "deal_id": did,
        "partner_id": pid,
        "registered_on": reg,
        "status": status,
        "closed_on": closed,
        "amount": amount,
        "mrr": mrr,
    }


ENGAGEMENT_PROGRAM = {
    "partners": [
        *(partner(f"P{i}") for i in range(1, 7)),
        partner("PX", left="2026-03-15"),
    ],
    "partner_users": [
        user("U1A", "P1", "Ana Lee"),
        user("U1B", "P1", "Ben Ode", "presales"),
        user("U2", "P2", "Cy Park"),
        user("U3", "P3", "Dee Ray"),
        user("U3B", "P3", "Eve Sol"),
        *(user(f"U5{c}", "P5", f"Fay {c}") for c in "ABCD"),
        user("U6", "P6", "Gus Tam"),
        user("UX", "PX", "Xi Wu"),
    ],
    "activities": [
        # K1, content: shared once (P1), viewed by P1, P2 and P3 (P3 without a user)
        act("P1", "U1A", "2026-03-10", "content_shared", "K1", "Deck"),
        act("P1", "U1B", "2026-03-11", "content_viewed", "K1", "Deck"),
        act("P2", "U2", "2026-03-12", "content_viewed", "K1", "Deck v2"),  # latest non-empty name
        act("P3", None, "2026-03-15", "content_viewed", "K1", None),  # later, but no name
        act("P1", "U1A", "2026-01-01", "content_viewed", "K1", "Old deck"),  # outside the window
        act("PX", "UX", "2026-03-05", "content_shared", "K1", "Deck"),  # PX is not in the program at A
        # C1, a course: completed twice by P2 in the window (03-02 is the first day in), viewed by P1 on A
        act("P2", "U2", "2026-03-20", "training_completed", "C1", "Course one"),
        act("P2", "U2", "2026-03-02", "training_completed", "C1", "Course one"),
        act("P2", "U2", "2026-03-01", "training_completed", "C1", "Course one"),  # A - W: outside
        act("P1", "U1A", "2026-03-31T18:00:00", "content_viewed", "C1", "Course one"),
        # C2: a course whose only event is before the window
        act("P1", "U1A", "2026-02-15", "training_completed", "C2", "Old course"),
        # K3: no name, its only event after A
        act("P1", "U1A", "2026-04-05", "content_shared", "K3", None),
        # logins
        act("P1", "U1A", "2026-03-05", "login"),
        act("P3", "U3", "2026-03-06", "login"),
        *(act("P5", f"U5{c}", "2026-03-07", "login") for c in "ABCD"),
        *(act("P5", None, "2026-03-08", "login") for _ in range(3)),  # P5: 7 logins, 4 people
        act("P4", None, "2026-03-08", "login"),  # a partner with no staff logs in without a user
    ],
    "deals": [
        closed_deal("D1", "P1", "won", "2026-03-10", amount=1000, mrr=10),  # deal value 1,120
        closed_deal("D2", "P1", "lost", "2026-03-15"),
        closed_deal("D3", "P2", "won", "2026-03-31", amount=500),  # closed on A: in
        closed_deal("D4", "P2", "lost", "2026-03-01"),  # A - W: out
        closed_deal("D5", "P3", "lost", "2026-03-20"),
        closed_deal("D6", "PX", "won", "2026-03-10", amount=9999),  # not in the program
        closed_deal("D7", "P4", "open", None, reg="2026-03-10"),  # P4 registered a deal in the window
    ],
}


# A program small enough to check every page's headline by hand (tests/test_report.py works the
# numbers out). As-of 2026-03-31 (U4's login), default view: the window is 2026-01-01 .. 2026-03-31,
# the previous one ends 2025-12-31.
# - P1: Ana trained (C1) and shared (K1), one deal registered and won (60,000 + 12 x 100), 10,000 of
#   MDF: activated, reward. Dan never did anything. K2 was viewed once, long before the window.
# - P2: Ben logged in 12 times, won 40,000, got 50,000 of incentive: nurture, overpaid, looks busy.
# - P3: nobody on record, nothing in the window; a deal of 5,000 + 12 x 50 won in December, still
#   live: drop, 50 of MRR since before the window.
# - P4: joined 2026-03-01 (grace period), Cy logged in once, won 1,000 without cost: nurture.
# - P5: left on 2026-02-01, so not in the program on the as-of date.
SMALL_PROGRAM = {
    "partners": [partner(f"P{i}") for i in range(1, 4)]
    + [partner("P4", joined="2026-03-01"), partner("P5", left="2026-02-01")],
    "partner_users": [
        {"user_id": "U1", "partner_id": "P1", "user_name": "Ana", "role": "sales"},
        {"user_id": "U1B", "partner_id": "P1", "user_name": "Dan", "role": "sales"},
        {"user_id": "U2", "partner_id": "P2", "user_name": "Ben", "role": "sales"},
        {"user_id": "U4", "partner_id": "P4", "user_name": "Cy", "role": "sales"},
        {"user_id": "U5", "partner_id": "P5", "user_name": "Eve", "role": "sales"},
    ],
    "activities": [
        {**activity("P1", "2026-03-15", "training_completed", "U1"), "item_id": "C1", "item_name": "Course"},
        {**activity("P1", "2026-03-15", "content_shared", "U1"), "item_id": "K1", "item_name": "Deck"},
        {**activity("P1", "2025-06-01", "content_viewed", "U1"), "item_id": "K2", "item_name": "Old deck"},
        *(activity("P2", "2026-03-20", "login", "U2") for _ in range(12)),
        activity("P4", "2026-03-31", "login", "U4"),
    ],
    "deals": [
        deal("D1", "P1", "2026-02-01", "won", "2026-03-01", amount=60_000, mrr=100),
        deal("D2", "P2", "2026-02-01", "won", "2026-03-01", amount=40_000),
        deal("D3", "P3", "2025-11-01", "won", "2025-12-01", amount=5_000, mrr=50),
        deal("D4", "P4", "2026-03-05", "won", "2026-03-20", amount=1_000),
    ],
    "investments": [spend("P1", "2026-03-10", 10_000), spend("P2", "2026-03-10", 50_000, "incentive")],
}


@pytest.fixture(scope="session")
def small_program_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SMALL_PROGRAM written once per test session."""
    return load_tables(tmp_path_factory.mktemp("small") / "small.duckdb", SMALL_PROGRAM)


@pytest.fixture(params=["small_program_db", "demo_db"])
def report_db(request: pytest.FixtureRequest) -> Path:
    """Each page's report is checked against the page on SMALL_PROGRAM and on the demo data."""
    return request.getfixturevalue(request.param)


# --- the app under AppTest ----------------------------------------------------------------------

APP = str(ROOT / "app.py")


def open_app(db: Path, monkeypatch: pytest.MonkeyPatch, **params: str) -> AppTest:
    """The app on its first page with these link parameters, reading `db`."""
    monkeypatch.setenv("KPI_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def open_page(db: Path, monkeypatch: pytest.MonkeyPatch, page: str, **params: str) -> AppTest:
    """The app opened on pages/<page>.py, as a shared link to that page does."""
    monkeypatch.setenv("KPI_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    for name, value in params.items():
        at.query_params[name] = value
    at.switch_page(f"pages/{page}.py")
    return at.run()


def metric(at: AppTest, label: str) -> str:
    """The value a metric card with this label shows."""
    return next(m.value for m in at.metric if m.label == label)


def page_report(db: Path, page: str, *flags: str) -> dict:
    """`python -m kpi report --db DB --page PAGE FLAGS...` run in this process, as parsed JSON."""
    code, out, err = run_cli("report", "--db", str(db), "--page", page, *flags)
    assert code == 0, err
    return json.loads(out)


def default_view(db: Path, **values: object) -> View:
    """The view a link with these values opens on `db`: the as-of date defaults to the data's latest."""
    from kpi.store import data_span

    con = connect(db)
    try:
        span = data_span(con)
    finally:
        con.close()
    assert span is not None
    return View(**({"as_of": span[1]} | values))  # type: ignore[arg-type]


def engine_summary(db: Path, view: View) -> dict:
    """What the engine says for this view."""
    from kpi import metrics

    con = connect(db)
    try:
        segmented = metrics.segment(metrics.partner_facts(con, view.as_of, view.window_days), view)
    finally:
        con.close()
    return metrics.summarize(segmented, view)


def d(text: str) -> date:
    return date.fromisoformat(text)


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo dataset at its default size, written once per test session."""
    from kpi.demo import generate, source_text
    from kpi.validate import validate_frames

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    validation = validate_frames(generate())
    assert validation.ok, validation.problem_lines(10)
    write_dataset(validation.tables, path, source=source_text(300, 7), loaded_at=datetime(2026, 1, 1))
    return path


def snapshot(con: duckdb.DuckDBPyConnection) -> tuple[str, int, float]:
    """The live dataset's id, partner count and deal amounts: what a reader sees of one load."""
    # One statement: the three numbers come from one consistent state of the file.
    [(dataset_id, partners, revenue)] = con.sql(
        "select (select dataset_id from dataset), (select count(*) from partners),"
        " (select coalesce(sum(amount), 0) from deals)"
    ).fetchall()
    return str(dataset_id), int(partners), float(revenue)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Chromium for every real-browser test module (tests/test_browser*.py,
    which skip themselves loudly where Chromium is missing)."""
    from playwright.sync_api import sync_playwright

    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
