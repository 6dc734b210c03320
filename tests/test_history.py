"""Atomic, reversible loads: history, restore, failed loads, saved mappings, readers."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from kpi import history, store
from kpi.history import LoadNotFoundError, LoadRecord, SourceFileInfo
from kpi.validate import validate
from tests.conftest import ROOT, Rows, partner, snapshot, text_frame

DAY1 = datetime(2026, 3, 2, 9, 30)
DAY2 = datetime(2026, 3, 9, 9, 45)
DAY3 = datetime(2026, 3, 16, 10, 0)


def clean_tables(partner_ids: list[str], deals: Rows | None = None) -> dict[str, pl.DataFrame]:
    """Validated tables: these partners, and these deals (none by default)."""
    raw = {"partners": text_frame("partners", [partner(pid) for pid in partner_ids])}
    if deals:
        raw["deals"] = text_frame("deals", deals)
    validation = validate(raw)
    assert validation.ok, validation.problem_lines()
    return validation.tables


def won_deal(deal_id: str, pid: str, amount: int) -> dict[str, object]:
    return {
        "deal_id": deal_id,
        "partner_id": pid,
        "registered_on": "2026-02-01",
        "status": "won",
        "closed_on": "2026-02-10",
        "amount": amount,
    }


# Week 1: two partners, no deals. Week 2: three partners, one deal of 500.
WEEK1 = (["P1", "P2"], None)
WEEK2 = (["P1", "P2", "P3"], [won_deal("D1", "P3", 500)])
WEEK1_FILES = (SourceFileInfo("Partners week 1.csv", "partners", 2),)
WEEK2_FILES = (
    SourceFileInfo("Partners week 2.xlsx", "partners", 3),
    SourceFileInfo("Opportunities.csv", "deals", 1),
)


def load_week1(db: Path, **options: object) -> LoadRecord:
    return history.load_dataset(clean_tables(*WEEK1), db, source="upload", files=WEEK1_FILES, loaded_at=DAY1, **options)


def load_week2(db: Path, **options: object) -> LoadRecord:
    return history.load_dataset(clean_tables(*WEEK2), db, source="upload", files=WEEK2_FILES, loaded_at=DAY2, **options)


def live_numbers(db: Path) -> tuple[str, int, float]:
    """(dataset id, partners, revenue of all deals) read from the live database."""
    con = store.connect(db)
    try:
        return snapshot(con)
    finally:
        con.close()


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes: the whole on-disk state of a database."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_two_loads_are_listed_newest_first_with_their_files_and_row_counts(tmp_path: Path) -> None:
    db = tmp_path / "kpi.duckdb"
    first = load_week1(db, mapping_name="PRM export")
    second = load_week2(db)

    loads = history.list_loads(db)
    assert [r.load_id for r in loads] == [second.load_id, first.load_id]
    assert [r.current for r in loads] == [True, False]
    assert [r.loaded_at for r in loads] == [DAY2, DAY1]
    assert loads[0].files == WEEK2_FILES
    assert loads[1].files == WEEK1_FILES
    assert loads[0].table_rows == {"partners": 3, "partner_users": 0, "activities": 0, "deals": 1, "investments": 0}
    assert loads[1].table_rows["partners"] == 2
    assert [r.mapping_name for r in loads] == [None, "PRM export"]
    # What load_dataset returned is what the list says about the live load.
    assert loads[0] == second
    assert live_numbers(db) == (second.load_id, 3, 500.0)


def test_restore_brings_back_the_first_dataset_and_keeps_the_second(tmp_path: Path) -> None:
    db = tmp_path / "kpi.duckdb"
    first = load_week1(db, mapping_name="PRM export")
    second = load_week2(db)

    restored = history.restore(db, first.load_id, restored_at=DAY3)

    new_id, partners, revenue = live_numbers(db)
    assert (partners, revenue) == (2, 0.0)  # the first load's numbers again
    assert new_id == restored.load_id  # a new dataset id: caches keyed on it see the change
    assert restored.load_id not in (first.load_id, second.load_id)
    loads = history.list_loads(db)
    assert [(r.load_id, r.current) for r in loads] == [
        (restored.load_id, True),
        (second.load_id, False),
        (first.load_id, False),
    ]
    assert loads[0] == restored
    assert (restored.source, restored.loaded_at) == (f"restore of {first.load_id}", DAY3)
    assert (restored.files, restored.mapping_name, restored.table_rows) == (
        WEEK1_FILES,
        "PRM export",
        first.table_rows,
    )

    # The replaced dataset can itself be restored: nothing was lost.
    history.restore(db, second.load_id, restored_at=datetime(2026, 3, 17))
    assert live_numbers(db)[1:] == (3, 500.0)


def invalid_partners(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The same partner twice: the database's primary key refuses it mid-write."""
    return {**tables, "partners": pl.concat([tables["partners"], tables["partners"]])}


@pytest.mark.parametrize("failure", ["invalid table for the schema", "rename fails", "interrupted at the rename"])
def test_a_failed_load_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str) -> None:
    db = tmp_path / "kpi.duckdb"
    load_week1(db)
    load_week2(db)
    before_files = tree(tmp_path)
    before_loads = history.list_loads(db)
    before_numbers = live_numbers(db)

    tables = clean_tables(["P1"])
    expected: type[BaseException] = duckdb.ConstraintException
    if failure == "invalid table for the schema":
        tables = invalid_partners(tables)
    else:
        expected = OSError if failure == "rename fails" else KeyboardInterrupt

        def failing_replace(src: object, dst: object) -> None:
            raise expected("injected")

        monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(expected):
        history.load_dataset(tables, db, source="upload", files=(), loaded_at=DAY3)
    monkeypatch.undo()

    assert tree(tmp_path) == before_files  # live bytes, kept files, and no stray work file
    assert history.list_loads(db) == before_loads
    assert live_numbers(db) == before_numbers


def test_a_failed_first_load_leaves_no_history_folder(tmp_path: Path) -> None:
    db = tmp_path / "kpi.duckdb"
    store.write_dataset(clean_tables(["P1"]), db, source="cli", loaded_at=DAY1)
    before = tree(tmp_path)
    with pytest.raises(duckdb.ConstraintException):
        history.load_dataset(invalid_partners(clean_tables(["P1", "P2"])), db, source="x", files=(), loaded_at=DAY2)
    assert tree(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kpi.duckdb"]


def test_keep_prunes_the_oldest_but_never_the_live_one(tmp_path: Path) -> None:
    db = tmp_path / "kpi.duckdb"
    records = [
        history.load_dataset(
            clean_tables([f"P{n}" for n in range(1, week + 1)]),
            db,
            source=f"week {week}",
            files=(),
            loaded_at=datetime(2026, 3, week),
            keep=3,
        )
        for week in range(1, 6)
    ]
    loads = history.list_loads(db)
    assert [r.source for r in loads] == ["week 5", "week 4", "week 3"]
    assert [r.current for r in loads] == [True, False, False]
    assert len(list(history.history_dir(db).iterdir())) == 2  # the live one lives at db_path

    # keep=1: only the live dataset is left, and it is the newest load.
    history.load_dataset(clean_tables(["Q1"]), db, source="week 6", files=(), loaded_at=DAY3, keep=1)
    assert [(r.source, r.current) for r in history.list_loads(db)] == [("week 6", True)]
    assert live_numbers(db)[1] == 1
    # A dataset pruned away can no longer be restored, and says so.
    with pytest.raises(LoadNotFoundError, match=records[0].load_id):
        history.restore(db, records[0].load_id, restored_at=DAY3)

    with pytest.raises(ValueError, match="keep"):
        history.load_dataset(clean_tables(["Q1"]), db, source="x", files=(), loaded_at=DAY3, keep=0)


def test_restore_of_an_unknown_load_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "kpi.duckdb"
    load_week1(db)
    load_week2(db)
    before_files = tree(tmp_path)
    before_loads = history.list_loads(db)
    for unknown in ("0" * 32, "../kpi.duckdb", ""):
        with pytest.raises(LoadNotFoundError, match="no load .* is kept"):
            history.restore(db, unknown, restored_at=DAY3)
    assert tree(tmp_path) == before_files
    assert history.list_loads(db) == before_loads


def test_saved_mappings_round_trip_and_survive_loads_and_restores(tmp_path: Path) -> None:
    db = tmp_path / "kpi.duckdb"
    first = load_week1(db)
    # Saved text comes back byte for byte: formatting, key order, non-ASCII, all kept.
    prm = '{\n  "partners": {"Account Name": "partner_name", "Société": "region"},\n  "date_format": "%d.%m.%Y"\n}'
    crm = '{"deals": {"Stage": {"Closed Won": "won"}}}'
    history.save_mapping(db, "PRM weekly export", prm)
    history.save_mapping(db, "  CRM pipeline ", crm)  # the name is trimmed
    assert history.saved_mappings(db) == {"CRM pipeline": crm, "PRM weekly export": prm}

    load_week2(db, mapping_name="PRM weekly export")
    history.restore(db, first.load_id, restored_at=DAY3)
    assert history.saved_mappings(db) == {"CRM pipeline": crm, "PRM weekly export": prm}

    # Saving under a name again replaces that mapping; names differing in case stay apart.
    history.save_mapping(db, "PRM weekly export", "{}")
    history.save_mapping(db, "prm weekly export", "[]")
    assert history.saved_mappings(db) == {"CRM pipeline": crm, "PRM weekly export": "{}", "prm weekly export": "[]"}

    history.delete_mapping(db, "CRM pipeline")
    history.delete_mapping(db, "never saved")  # nothing to delete: nothing happens
    assert list(history.saved_mappings(db)) == ["PRM weekly export", "prm weekly export"]
    mapping_files = list(history.mappings_dir(db).iterdir())
    assert len(mapping_files) == 2 and not any(p.name.startswith(".") for p in mapping_files)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "needs a name"),
        ("   ", "needs a name"),
        ("../../etc/passwd", "looks like a path"),
        ("exports/weekly", "looks like a path"),
        ("C:\\exports", "looks like a path"),
        ("..", "looks like a path"),
        ("weekly\nexport", "control characters"),
        ("x" * 101, "at most 100"),
    ],
)
def test_bad_mapping_names_are_refused_and_nothing_is_written(tmp_path: Path, name: str, message: str) -> None:
    db = tmp_path / "kpi.duckdb"
    with pytest.raises(ValueError, match=message):
        history.save_mapping(db, name, "{}")
    with pytest.raises(ValueError, match=message):
        history.delete_mapping(db, name)
    assert list(tmp_path.iterdir()) == []
    assert history.saved_mappings(db) == {}


def test_a_mapping_that_is_not_json_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "kpi.duckdb"
    history.save_mapping(db, "weekly", '{"ok": true}')
    with pytest.raises(ValueError, match="'weekly' is not valid JSON"):
        history.save_mapping(db, "weekly", "{partners: ")
    assert history.saved_mappings(db) == {"weekly": '{"ok": true}'}


def test_a_reader_opened_before_a_load_keeps_the_old_dataset_and_a_new_one_sees_the_new(tmp_path: Path) -> None:
    db = tmp_path / "kpi.duckdb"
    first = load_week1(db)
    before = store.connect(db)
    try:
        assert snapshot(before) == (first.load_id, 2, 0.0)
        second = load_week2(db)
        # Same process, like the app's cached connection: the old one reads the old file whole...
        assert snapshot(before) == (first.load_id, 2, 0.0)
        with before.cursor() as cursor:
            assert snapshot(cursor) == (first.load_id, 2, 0.0)
        # ...and a connection opened now reads the new dataset, not a cached old instance.
        assert live_numbers(db) == (second.load_id, 3, 500.0)
        restored = history.restore(db, first.load_id, restored_at=DAY3)
        assert live_numbers(db) == (restored.load_id, 2, 0.0)
        assert snapshot(before) == (first.load_id, 2, 0.0)
    finally:
        before.close()


READER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from kpi import store
    from tests.conftest import snapshot

    db = Path(sys.argv[1])
    con = store.connect(db)
    print(*snapshot(con), flush=True)
    sys.stdin.readline()  # the parent has loaded a new dataset meanwhile
    print(*snapshot(con), flush=True)
    fresh = store.connect(db)
    print(*snapshot(fresh), flush=True)
    """
)


def test_a_reader_in_another_process_sees_the_old_or_the_new_dataset_never_a_mix(tmp_path: Path) -> None:
    db = tmp_path / "kpi.duckdb"
    first = load_week1(db)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(db)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout is not None
        opened = reader.stdout.readline().split()
        second = load_week2(db)
        out, err = reader.communicate("go\n", timeout=60)
    finally:
        if reader.poll() is None:
            reader.kill()
    assert reader.returncode == 0, err
    assert opened == [first.load_id, "2", "0.0"]
    assert out.splitlines() == [f"{first.load_id} 2 0.0", f"{second.load_id} 3 500.0"]


def test_a_database_from_before_history_lists_as_the_one_current_load_and_is_kept(tmp_path: Path) -> None:
    db = tmp_path / "kpi.duckdb"
    # Written the way databases were before this module: no file list, no mapping name.
    con = duckdb.connect(str(db))
    con.sql(store.sql_text("schema"))
    con.sql("drop table dataset_files")
    con.sql("alter table dataset drop column mapping_name")
    con.sql("insert into partners values ('OLD', 'Old partner', date '2024-01-01', null, null, null, null)")
    con.sql("insert into dataset values ('legacy-1', timestamp '2025-12-01 08:00:00', 'python -m kpi load old/')")
    con.close()

    [legacy] = history.list_loads(db)
    assert legacy == LoadRecord(
        load_id="legacy-1",
        loaded_at=datetime(2025, 12, 1, 8),
        source="python -m kpi load old/",
        files=(),
        table_rows={"partners": 1, "partner_users": 0, "activities": 0, "deals": 0, "investments": 0},
        mapping_name=None,
        current=True,
    )

    load_week1(db)
    assert [(r.load_id, r.current) for r in history.list_loads(db)][1:] == [("legacy-1", False)]
    history.restore(db, "legacy-1", restored_at=DAY3)
    assert live_numbers(db)[1] == 1


def test_the_replaced_dataset_is_kept_as_a_hard_link_or_else_a_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "kpi.duckdb"
    first = load_week1(db)
    first_inode = db.stat().st_ino
    load_week2(db)
    [kept] = history.history_dir(db).iterdir()
    assert kept.stat().st_ino == first_inode  # no copy of the data on one disk

    def no_links(src: object, dst: object) -> None:
        raise PermissionError("hard links not allowed here")

    monkeypatch.setattr(os, "link", no_links)
    third = history.load_dataset(clean_tables(["P9"]), db, source="upload", files=(), loaded_at=DAY3)
    loads = history.list_loads(db)
    assert [r.load_id for r in loads][0] == third.load_id
    assert [r.table_rows["partners"] for r in loads] == [1, 3, 2]
    history.restore(db, first.load_id, restored_at=datetime(2026, 3, 17))
    assert live_numbers(db)[1:] == (2, 0.0)


def test_work_files_left_by_a_crash_are_ignored_and_cleared(tmp_path: Path) -> None:
    db = tmp_path / "kpi.duckdb"
    first = load_week1(db)
    second = load_week2(db)
    folder = history.history_dir(db)
    # What a killed load leaves: a half-written database and its log under work names...
    (folder / f".kpi.duckdb.{'a' * 32}.tmp").write_bytes(b"DUCK half written")
    (folder / f".kpi.duckdb.{'a' * 32}.tmp.wal").write_bytes(b"log")
    (folder / ".restore-b.tmp.tmp").mkdir()
    # ...and the live file kept already, the swap never made (a crash between the two steps).
    os.link(db, folder / f"000099-{second.load_id}.duckdb")

    loads = history.list_loads(db)
    assert [(r.load_id, r.current) for r in loads] == [(second.load_id, True), (first.load_id, False)]

    third = load_week1(db)
    assert [r.load_id for r in history.list_loads(db)] == [third.load_id, second.load_id, first.load_id]
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_a_file_that_is_not_our_database_is_never_replaced(tmp_path: Path) -> None:
    db = tmp_path / "notes.duckdb"
    db.write_text("my notes, not a database\n")
    with pytest.raises(ValueError, match="not a Channel KPI Explorer database"):
        load_week1(db)
    assert db.read_text() == "my notes, not a database\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.duckdb"]


def test_loads_at_the_same_time_are_each_kept_whole(tmp_path: Path) -> None:
    db = tmp_path / "kpi.duckdb"
    first = load_week1(db)
    results: list[LoadRecord] = []
    errors: list[BaseException] = []

    def load(n: int) -> None:
        try:
            tables = clean_tables([f"T{n}-{i}" for i in range(n)])
            results.append(
                history.load_dataset(tables, db, source=f"load {n}", files=(), loaded_at=datetime(2026, 4, n))
            )
        except BaseException as exc:  # reported below: a thread's exception would vanish
            errors.append(exc)

    threads = [threading.Thread(target=load, args=(n,)) for n in range(3, 7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    loads = history.list_loads(db)
    assert len(loads) == 5 and len({r.load_id for r in loads}) == 5
    assert [r.current for r in loads] == [True, False, False, False, False]
    # The live dataset is whole: its partner count is the one its own load wrote.
    live_id, partners, _ = live_numbers(db)
    assert loads[0].load_id == live_id
    assert partners == loads[0].table_rows["partners"] == int(loads[0].source.split()[-1])
    assert {r.load_id for r in loads} == {first.load_id, *(r.load_id for r in results)}


def test_list_loads_of_a_missing_database_is_empty(tmp_path: Path) -> None:
    assert history.list_loads(tmp_path / "none.duckdb") == []
    assert history.saved_mappings(tmp_path / "none.duckdb") == {}
    assert list(tmp_path.iterdir()) == []


def load_week(db: Path, week: int, keep: int) -> LoadRecord:
    """Week `week`'s load: partners P1..P<week>."""
    return history.load_dataset(
        clean_tables([f"P{n}" for n in range(1, week + 1)]),
        db,
        source=f"week {week}",
        files=(),
        loaded_at=datetime(2026, 3, week),
        keep=keep,
    )


def test_restores_never_push_loads_out_of_the_history(tmp_path: Path) -> None:
    db = tmp_path / "kpi.duckdb"
    first = load_week(db, 1, keep=3)
    second = load_week(db, 2, keep=3)
    load_week(db, 3, keep=3)
    # Back and forth between the first two datasets, many times: each restore is a load of
    # data the history holds already.
    for n in range(8):
        history.restore(db, (first if n % 2 == 0 else second).load_id, restored_at=datetime(2026, 4, n + 1), keep=3)
    loads = history.list_loads(db)
    # The three datasets are all still there, the live one (a restore of the second) first.
    assert loads[0].current and loads[0].source == f"restore of {second.load_id}"
    assert live_numbers(db)[1] == 2
    assert {r.source for r in loads[1:]} == {"week 1", "week 2", "week 3"}
    for week, record in ((1, first), (2, second)):
        history.restore(db, record.load_id, restored_at=DAY3, keep=3)
        assert live_numbers(db)[1] == week


def test_after_nine_loads_and_restores_the_original_dataset_can_still_be_restored(tmp_path: Path) -> None:
    db = tmp_path / "kpi.duckdb"
    original = load_week(db, 1, keep=history.DEFAULT_KEEP)
    for week in range(2, 7):
        load_week(db, week, keep=history.DEFAULT_KEEP)
        history.restore(db, original.load_id, restored_at=datetime(2026, 4, week), keep=history.DEFAULT_KEEP)
    assert live_numbers(db)[1] == 1
    sources = [r.source for r in history.list_loads(db)]
    assert sources.count("week 1") == 1 and all(f"week {w}" in sources for w in range(2, 7))
    history.restore(db, original.load_id, restored_at=DAY3)
    assert live_numbers(db)[1] == 1


def test_the_dataset_live_most_recently_outlasts_an_older_load(tmp_path: Path) -> None:
    db = tmp_path / "kpi.duckdb"
    first = load_week(db, 1, keep=2)
    load_week(db, 2, keep=2)
    history.restore(db, first.load_id, restored_at=DAY2, keep=2)  # live: the first's data
    load_week(db, 3, keep=2)  # one earlier dataset is kept: the first's, live until now
    assert [r.source for r in history.list_loads(db)] == ["week 3", "week 1"]
    history.restore(db, first.load_id, restored_at=DAY3, keep=2)
    assert live_numbers(db)[1] == 1


def test_a_restores_copy_is_kept_when_it_is_the_only_copy_left(tmp_path: Path) -> None:
    db = tmp_path / "kpi.duckdb"
    first = load_week(db, 1, keep=3)
    load_week(db, 2, keep=3)
    restored = history.restore(db, first.load_id, restored_at=DAY2, keep=3)
    # The first load's own entry is gone (removed by hand, or by an older version): the live
    # restore is then the only copy of its data, and stays so in the history.
    next(e for e in history.history_dir(db).iterdir() if first.load_id in e.name).unlink()
    load_week(db, 3, keep=3)
    sources = [r.source for r in history.list_loads(db)]
    assert sources == ["week 3", f"restore of {first.load_id}", "week 2"]
    history.restore(db, restored.load_id, restored_at=DAY3, keep=3)
    assert live_numbers(db)[1] == 1
