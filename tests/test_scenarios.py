"""Saved scenarios and the policy (kpi.scenarios, `python -m kpi scenarios`): stored in the
database file, carried over by loads and restores, never disturbing a reader."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from kpi import history, scenarios, store
from kpi.params import View
from kpi.scenarios import Scenario, ScenarioError
from tests.conftest import base_tables, load_tables, partner, run_cli, write_csv_folder

DEFAULTS = {
    "min_trainings": 1,
    "min_shares": 1,
    "min_deals": 1,
    "min_criteria": 3,
    "reward_min_revenue": 50_000.0,
    "drop_max_actions": 2,
    "grace_days": 90,
}
STRICT = DEFAULTS | {"min_trainings": 2, "reward_min_revenue": 80_000.0}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return load_tables(tmp_path / "kpi.duckdb", {"partners": [partner("P1")]})


def listed(db: Path) -> list[tuple[str, bool, dict]]:
    code, out, err = run_cli("scenarios", "--db", db)
    assert (code, err) == (0, "")
    return [(s["name"], s["policy"], s["thresholds"]) for s in json.loads(out)]


def test_on_first_use_the_policy_is_the_defaults(db):
    assert scenarios.list_scenarios(db) == [Scenario("policy", DEFAULTS, True)]
    assert listed(db) == [("policy", True, DEFAULTS)]
    assert scenarios.get(db, "policy").thresholds == DEFAULTS


def test_save_list_rename_delete(db):
    saved = scenarios.save(db, "  Strict Q3 ", View(date(2026, 3, 31), 30, min_trainings=2, reward_min_revenue=80_000))
    assert saved == Scenario("Strict Q3", STRICT, False)
    scenarios.save(db, "no deals", {"min_deals": 0})
    assert [s.name for s in scenarios.list_scenarios(db)] == ["no deals", "policy", "Strict Q3"]
    assert scenarios.get(db, "strict q3") == saved  # names are found ignoring case

    assert scenarios.rename(db, "strict q3", "Strict") == Scenario("Strict", STRICT, False)
    assert scenarios.rename(db, "Strict", "STRICT").name == "STRICT"  # its own name, another case
    scenarios.delete(db, "no deals")
    assert [(s.name, s.is_policy, s.thresholds) for s in scenarios.list_scenarios(db)] == [
        ("policy", True, DEFAULTS),
        ("STRICT", False, STRICT),
    ]
    assert scenarios.apply(View(date(2026, 3, 31), 30), scenarios.get(db, "strict")) == View(
        date(2026, 3, 31), 30, min_trainings=2, reward_min_revenue=80_000.0
    )


def test_the_policy_cannot_be_deleted_until_another_is_the_policy(db):
    with pytest.raises(ScenarioError, match="'policy' is the policy and cannot be deleted"):
        scenarios.delete(db, "policy")
    scenarios.save(db, "strict", STRICT)
    assert scenarios.set_policy(db, "strict") == Scenario("strict", STRICT, True)
    assert [s.name for s in scenarios.list_scenarios(db) if s.is_policy] == ["strict"]
    scenarios.delete(db, "policy")
    assert scenarios.list_scenarios(db) == [Scenario("strict", STRICT, True)]
    assert scenarios.get(db, "policy").name == "strict"  # scenario=policy still opens the policy


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "a scenario needs a name: the name is empty"),
        ("   ", "a scenario needs a name: the name is empty"),
        ("x" * 61, "is 61 characters long; at most 60"),
        (" POLICY ", "the name 'POLICY' is already taken by the scenario 'policy'"),
        ("two\nlines", "contains control characters or line breaks"),
    ],
)
def test_a_bad_name_is_refused_with_a_clear_message(db, name, message):
    with pytest.raises(ScenarioError, match=message):
        scenarios.save(db, name, DEFAULTS)
    assert listed(db) == [("policy", True, DEFAULTS)]  # nothing changed


def test_a_name_of_60_characters_is_kept(db):
    assert scenarios.save(db, "y" * 60, DEFAULTS).name == "y" * 60


def test_bad_thresholds_are_named(db):
    with pytest.raises(ScenarioError, match="min_criteria '4': must be between 0 and 3"):
        scenarios.save(db, "odd", {"min_criteria": 4})
    with pytest.raises(ScenarioError, match="window_days is not a threshold"):
        scenarios.save(db, "odd", {"window_days": 30})


def test_the_command_line_saves_renames_deletes_and_sets_the_policy(db):
    # Thresholds not given take the policy's values.
    assert run_cli("scenarios", "save", "strict", "--db", db, "--min-trainings", "2", "--reward-min-revenue", "80000")[
        :2
    ] == (0, "saved scenario 'strict'\n")
    assert run_cli("scenarios", "policy", "strict", "--db", db)[:2] == (0, "the policy is now 'strict'\n")
    assert run_cli("scenarios", "--db", db, "save", "stricter", "--grace-days", "30")[0] == 0
    assert ("stricter", False, STRICT | {"grace_days": 30}) in listed(db)
    assert run_cli("scenarios", "rename", "policy", "defaults", "--db", db)[:2] == (
        0,
        "renamed scenario 'policy' to 'defaults'\n",
    )
    assert run_cli("scenarios", "delete", "defaults", "--db", db)[:2] == (0, "deleted scenario 'defaults'\n")
    assert listed(db) == [("strict", True, STRICT), ("stricter", False, STRICT | {"grace_days": 30})]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("save", ""), "error: a scenario needs a name: the name is empty\n"),
        (("save", "z" * 61), "error: the scenario name 'zzzzzzzzzzzzzzzzzzzz'... is 61 characters long; at most 60\n"),
        (("save", "Policy"), "error: the name 'Policy' is already taken by the scenario 'policy'\n"),
        (("save", "x", "--min-trainings", "21"), "error: min_trainings '21': must be between 0 and 20\n"),
        (
            ("delete", "policy"),
            "error: 'policy' is the policy and cannot be deleted; make another scenario the policy first\n",
        ),
        (("delete", "nope"), "error: no scenario named 'nope'; the scenarios are: policy\n"),
        (("rename", "policy", " "), "error: a scenario needs a name: the name is empty\n"),
        (("policy", "nope"), "error: no scenario named 'nope'; the scenarios are: policy\n"),
    ],
)
def test_a_bad_command_is_one_error_line_and_changes_nothing(db, argv, message):
    assert run_cli("scenarios", *argv, "--db", db) == (2, "", message)
    assert listed(db) == [("policy", True, DEFAULTS)]


def test_the_command_needs_a_database(tmp_path):
    assert run_cli("scenarios") == (2, "", "error: the following arguments are required: --db\n")
    missing = tmp_path / "none.duckdb"
    assert run_cli("scenarios", "--db", missing) == (2, "", f"error: no database at {missing}\n")
    assert run_cli("scenarios", "save", "x", "--db", missing)[0] == 2
    assert not missing.exists()


def test_scenarios_survive_a_new_load_and_a_restore(tmp_path):
    db = tmp_path / "kpi.duckdb"
    folder = write_csv_folder(tmp_path / "week1", base_tables())
    assert run_cli("load", folder, "--db", db)[0] == 0
    first = history.list_loads(db)[0].load_id
    scenarios.save(db, "strict", STRICT)

    tables = base_tables()
    tables["partners"].append(partner("P3"))
    assert run_cli("load", write_csv_folder(tmp_path / "week2", tables), "--db", db)[0] == 0
    assert store.describe(db).table_rows["partners"] == 3
    assert ("strict", False, STRICT) in listed(db)

    scenarios.save(db, "after the second load", {"grace_days": 0})
    scenarios.set_policy(db, "strict")
    assert run_cli("restore", first, "--db", db)[0] == 0
    assert store.describe(db).table_rows["partners"] == 2  # the first load's data ...
    # ... with the scenarios as they were just before, not those of the file restored.
    assert [(s.name, s.is_policy) for s in scenarios.list_scenarios(db)] == [
        ("after the second load", False),
        ("policy", False),
        ("strict", True),
    ]


def test_a_change_never_touches_the_kept_loads_and_leaves_an_open_reader_as_it_was(tmp_path):
    db = tmp_path / "kpi.duckdb"
    for week in ("week1", "week2"):
        assert run_cli("load", write_csv_folder(tmp_path / week, base_tables()), "--db", db)[0] == 0
    kept = [p for p in history.history_dir(db).iterdir()]
    reader = store.connect(db)
    try:
        scenarios.save(db, "strict", STRICT)
        # The open connection reads the file it opened: its data and its scenarios.
        assert reader.sql("select count(*) from partners").fetchall() == [(2,)]
        assert [s.name for s in scenarios.connected(reader)] == ["policy"]
    finally:
        reader.close()
    fresh = store.connect(db)
    try:
        assert [s.name for s in scenarios.connected(fresh)] == ["policy", "strict"]
    finally:
        fresh.close()
    assert all(store.scenario_rows(entry).height == 0 for entry in kept)
    assert sorted(history.history_dir(db).iterdir()) == sorted(kept)  # no entry made, no work file left


def test_a_database_written_before_scenarios_were_stored(db):
    con = duckdb.connect(str(db))
    con.sql("drop table scenarios")
    con.close()
    reader = store.connect(db)  # still opens, and reads as having the default policy only
    try:
        assert scenarios.connected(reader) == [Scenario("policy", DEFAULTS, True)]
    finally:
        reader.close()
    assert listed(db) == [("policy", True, DEFAULTS)]
    assert run_cli("summary", "--db", db, "--as-of", "2026-03-31")[0] == 0
    scenarios.save(db, "strict", STRICT)  # the table is made on the first save
    assert [s.name for s in scenarios.list_scenarios(db)] == ["policy", "strict"]
