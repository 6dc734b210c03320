"""The app under AppTest: real widgets moved, the numbers shown checked against the engine."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kpi.params import View
from kpi.store import connect, data_span
from tests.conftest import ROOT, d, engine_summary, load_tables, partner
from ui import format as fmt

pytestmark = pytest.mark.usefixtures("v2_pages")
APP = str(ROOT / "app.py")


def open_app(db: Path, monkeypatch: pytest.MonkeyPatch, **params: str) -> AppTest:
    monkeypatch.setenv("KPI_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_overview_shows_the_engine_numbers_for_the_default_view(demo_db, monkeypatch):
    at = open_app(demo_db, monkeypatch)
    assert not at.exception
    expected = engine_summary(demo_db, View())
    assert metric(at, "Activation") == fmt.pct(expected["activation_pct"])
    assert metric(at, "Partners in the program") == fmt.count(expected["partners"])
    assert metric(at, "Revenue") == fmt.money(expected["revenue"])
    assert metric(at, "Cost") == fmt.money(expected["cost"])
    assert metric(at, "Program ROI") == fmt.roi(expected["roi"])
    assert metric(at, "ARR") == fmt.money(expected["arr"])
    for tier in ("reward", "nurture", "drop"):
        assert metric(at, tier.capitalize()) == fmt.count(expected["tiers"][tier])


def test_activation_change_is_against_the_previous_window(demo_db, monkeypatch):
    at = open_app(demo_db, monkeypatch)
    now = engine_summary(demo_db, View())
    con = connect(demo_db)
    default_as_of = data_span(con)[1]
    con.close()
    before = engine_summary(demo_db, View().resolved(default_as_of).previous_window())
    activation = next(m for m in at.metric if m.label == "Activation")
    assert activation.delta == fmt.pct_points(now["activation_pct"] - before["activation_pct"])


def test_moving_a_threshold_slider_recomputes_activation_and_tiers(demo_db, monkeypatch):
    at = open_app(demo_db, monkeypatch)
    before = metric(at, "Activation")
    at.sidebar.slider(key="min_trainings").set_value(3).run()
    assert not at.exception
    expected = engine_summary(demo_db, dataclasses.replace(View(), min_trainings=3))
    assert metric(at, "Activation") == fmt.pct(expected["activation_pct"])
    assert metric(at, "Activation") != before
    assert metric(at, "Reward") == fmt.count(expected["tiers"]["reward"])
    assert metric(at, "Drop") == fmt.count(expected["tiers"]["drop"])


def test_money_thresholds_and_window_move_the_numbers(demo_db, monkeypatch):
    at = open_app(demo_db, monkeypatch)
    at.sidebar.number_input(key="reward_min_revenue").set_value(10_000.0).run()
    at.sidebar.slider(key="window_days").set_value(180).run()
    at.sidebar.number_input(key="grace_days").set_value(0).run()
    expected = engine_summary(
        demo_db, dataclasses.replace(View(), reward_min_revenue=10_000.0, window_days=180, grace_days=0)
    )
    assert metric(at, "Reward") == fmt.count(expected["tiers"]["reward"])
    assert metric(at, "Drop") == fmt.count(expected["tiers"]["drop"])
    assert metric(at, "Revenue") == fmt.money(expected["revenue"])


def test_a_shared_link_opens_that_exact_view(demo_db, monkeypatch):
    at = open_app(
        demo_db, monkeypatch, as_of="2026-06-30", window_days="60", min_deals="2", min_criteria="2", grace_days="30"
    )
    assert not at.exception and not at.warning
    assert at.sidebar.date_input(key="as_of").value.isoformat() == "2026-06-30"
    assert at.sidebar.slider(key="window_days").value == 60
    assert at.sidebar.slider(key="min_deals").value == 2
    expected = engine_summary(
        demo_db, View(as_of=d("2026-06-30"), window_days=60, min_deals=2, min_criteria=2, grace_days=30)
    )
    assert metric(at, "Activation") == fmt.pct(expected["activation_pct"])
    assert "2026-06-30" in at.caption[0].value


@pytest.mark.parametrize(
    ("param", "value", "why"),
    [
        ("window_days", "banana", "not a whole number"),
        ("min_criteria", "7", "between 0 and 3"),
        ("as_of", "1999-01-01", "outside the data"),
        ("reward_min_revenue", "-5", "between 0"),
    ],
)
def test_a_bad_link_value_gives_a_notice_and_the_default(demo_db, monkeypatch, param, value, why):
    at = open_app(demo_db, monkeypatch, **{param: value})
    assert not at.exception
    notice = at.warning[0].value
    assert f"{param}={value}" in notice and why in notice and "default" in notice
    expected = engine_summary(demo_db, View())
    assert metric(at, "Activation") == fmt.pct(expected["activation_pct"])


def test_parameters_survive_moving_to_the_tiers_page(demo_db, monkeypatch):
    at = open_app(demo_db, monkeypatch, min_shares="2")
    at.sidebar.slider(key="min_trainings").set_value(2).run()
    at.switch_page("pages/tiers.py").run()
    assert not at.exception
    assert at.title[0].value == "Partner tiers"
    assert at.sidebar.slider(key="min_trainings").value == 2
    assert at.sidebar.slider(key="min_shares").value == 2
    expected = engine_summary(demo_db, dataclasses.replace(View(), min_trainings=2, min_shares=2))
    table = at.dataframe[0].value
    assert len(table) == expected["partners"]
    assert (table["tier"] == "reward").sum() == expected["tiers"]["reward"]
    assert table["activated"].sum() == expected["activated"]


def test_tiers_page_filters_by_tier_and_searches_by_name(demo_db, monkeypatch):
    at = open_app(demo_db, monkeypatch)
    at.switch_page("pages/tiers.py").run()
    expected = engine_summary(demo_db, View())
    at.multiselect(key="tiers_tier").set_value(["drop"]).run()
    table = at.dataframe[0].value
    assert len(table) == expected["tiers"]["drop"]
    assert set(table["tier"]) == {"drop"}
    name = table["partner_name"].iloc[0]
    at.multiselect(key="tiers_tier").set_value([]).run()
    at.text_input(key="tiers_search").input(name[2:-1].upper()).run()
    found = at.dataframe[0].value
    assert name in set(found["partner_name"])
    assert all(name[2:-1].lower() in n.lower() for n in found["partner_name"])


def test_tiers_table_shows_an_empty_roi_for_partners_without_cost(demo_db, monkeypatch):
    at = open_app(demo_db, monkeypatch)
    at.switch_page("pages/tiers.py").run()
    table = at.dataframe[0].value
    no_cost = table[table["cost"] == 0]
    assert len(no_cost) > 0
    assert no_cost["roi"].isna().all()
    assert at.dataframe[0].proto.placeholder == "n/a"


def test_a_missing_database_is_a_clear_message(tmp_path, monkeypatch):
    at = open_app(tmp_path / "nowhere.duckdb", monkeypatch)
    assert not at.exception
    assert "KPI_DB" in at.error[0].value and "python -m kpi load" in at.error[0].value


def test_a_database_without_partners_says_how_to_load_data(tmp_path, monkeypatch):
    db = load_tables(tmp_path / "empty.duckdb", {"partners": []})
    at = open_app(db, monkeypatch)
    assert not at.exception
    assert "no partners" in at.info[0].value


def test_a_tiny_program_shows_an_empty_roi_as_n_a(tmp_path, monkeypatch):
    db = load_tables(
        tmp_path / "tiny.duckdb",
        {
            "partners": [partner("P1", joined="2025-01-01")],
            "activities": [{"partner_id": "P1", "occurred_at": "2026-03-01", "activity": "login"}],
        },
    )
    at = open_app(db, monkeypatch)
    assert metric(at, "Program ROI") == "n/a"
    assert metric(at, "Activation") == "0.0%"
    assert metric(at, "Drop") == "1"


def test_first_start_builds_the_demo_database_when_no_kpi_db_is_set(tmp_path, monkeypatch):
    import ui.data

    demo_path = tmp_path / "data" / "demo.duckdb"
    monkeypatch.delenv("KPI_DB", raising=False)
    monkeypatch.setattr(ui.data, "DEFAULT_DB", demo_path)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert demo_path.is_file()
    expected = engine_summary(demo_path, View())
    assert expected["partners"] > 200  # a few hundred partners, as the demo promises
    assert metric(at, "Activation") == fmt.pct(expected["activation_pct"])
