"""The app's frame under AppTest: the link read by the engine's parser, notices, the router and start-up."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from kpi.params import View
from tests.conftest import (
    APP,
    d,
    default_view,
    engine_summary,
    load_tables,
    metric,
    open_app,
)
from ui import format as fmt


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
    expected = engine_summary(demo_db, default_view(demo_db))
    assert metric(at, "Activation") == fmt.pct(expected["activation_pct"])


@pytest.mark.parametrize(
    ("params", "control", "shown", "notice"),
    [
        # The control reads 30.5 as 30 (and so does the address bar then): the parser says so.
        ({"window_days": "30.5"}, "window_days", 30, "window_days=30.5`: not a whole number; using 30 instead"),
        ({"min_trainings": "2.0"}, "min_trainings", 2, None),  # a whole number written as a number control does
        ({"window_days": ["30", "60"]}, "window_days", 90, "is given 2 times; using 90 (the default) instead"),
        ({"reward_min_revenue": "1e3"}, "reward_min_revenue", 1_000, None),  # a number, as Python writes it
        ({"reward_min_revenue": "1,000"}, "reward_min_revenue", 50_000, "not a number; using 50000 (the default)"),
    ],
)
def test_a_link_is_checked_by_the_same_parser_as_the_cli(demo_db, monkeypatch, params, control, shown, notice):
    at = open_app(demo_db, monkeypatch, **params)
    assert not at.exception
    controls = {c.key: c for c in [*at.sidebar.slider, *at.sidebar.number_input]}
    assert controls[control].value == shown
    warnings = " ".join(w.value for w in at.warning)
    assert (notice in warnings) if notice else not warnings
    expected = engine_summary(demo_db, default_view(demo_db, **{control: shown}))
    assert metric(at, "Activation") == fmt.pct(expected["activation_pct"])


def test_a_notice_shows_a_link_value_as_text_never_as_markdown(demo_db, monkeypatch):
    hostile = "1` **Session expired.** [Sign in](https://evil.example/login) ![](http://127.0.0.1:9/b.png) `x"
    at = open_app(demo_db, monkeypatch, window_days=hostile)
    notice = at.warning[0].value
    assert "`window_days=1' **Session expired.**" in notice  # the backtick cannot close the code span
    assert notice.count("`") == 2


def test_a_missing_database_is_a_clear_message(tmp_path, monkeypatch):
    at = open_app(tmp_path / "nowhere.duckdb", monkeypatch)
    assert not at.exception
    assert "KPI_DB" in at.error[0].value and "python -m kpi load" in at.error[0].value


def test_a_database_without_partners_says_how_to_load_data(tmp_path, monkeypatch):
    db = load_tables(tmp_path / "empty.duckdb", {"partners": []})
    at = open_app(db, monkeypatch)
    assert not at.exception
    assert "no partners" in at.info[0].value


def test_first_start_builds_the_demo_database_when_no_kpi_db_is_set(tmp_path, monkeypatch):
    import ui.data

    demo_path = tmp_path / "data" / "demo.duckdb"
    monkeypatch.delenv("KPI_DB", raising=False)
    monkeypatch.setattr(ui.data, "DEFAULT_DB", demo_path)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert demo_path.is_file()
    expected = engine_summary(demo_path, default_view(demo_path))
    assert expected["partners"] > 200  # a few hundred partners, as the demo promises
    assert metric(at, "Activation") == fmt.pct(expected["activation_pct"])
