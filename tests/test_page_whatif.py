"""Scenarios and the what-if in the app under AppTest: save, open by link, compare, the policy
kept, and the What-if page's curves and suggestions."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from kpi import history, scenarios
from kpi.params import THRESHOLDS
from tests.conftest import default_view, engine_summary, metric, open_page, page_report
from ui import format as fmt


@pytest.fixture
def db(demo_db: Path, tmp_path: Path) -> Path:
    """A copy of the demo database each test may change."""
    copy = tmp_path / "whatif.duckdb"
    shutil.copy(demo_db, copy)
    return copy


def notices(at: AppTest) -> str:
    return " ".join(w.value for w in at.warning)


def message(at: AppTest) -> str:
    return " ".join(e.value for e in (*at.success, *at.error))


def save_as(at: AppTest, name: str) -> AppTest:
    at.text_input(key="whatif_save_name").input(name)
    return at.button(key="whatif_save").click().run()


def test_saving_the_controls_stores_a_scenario_and_opens_it(db, monkeypatch):
    at = open_page(db, monkeypatch, "whatif")
    assert not at.exception
    at.sidebar.slider(key="min_trainings").set_value(2).run()
    at.sidebar.number_input(key="reward_min_revenue").set_value(60_000.0).run()
    save_as(at, "  two trainings  ")
    assert not at.exception
    assert fmt.plain("Saved the controls as the scenario 'two trainings'") in message(at)
    stored = scenarios.get(db, "two trainings")
    assert stored.thresholds["min_trainings"] == 2 and stored.thresholds["reward_min_revenue"] == 60_000.0
    assert not stored.is_policy
    assert at.sidebar.selectbox(key="scenario").value == "two trainings"
    table = at.dataframe[0].value
    assert list(table["name"]) == ["policy", "two trainings"]
    assert list(table["role"]) == ["the policy", "open"]


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("", "Could not save the scenario: a scenario needs a name: the name is empty."),
        ("POLICY", "Could not save the scenario: the name 'POLICY' is already taken by the scenario 'policy'."),
    ],
)
def test_a_bad_name_is_refused_with_a_message_and_nothing_saved(db, monkeypatch, name, says):
    at = open_page(db, monkeypatch, "whatif")
    save_as(at, name)
    assert not at.exception
    assert message(at) == fmt.plain(says)
    assert [s.name for s in scenarios.list_scenarios(db)] == ["policy"]


def test_a_name_that_is_markdown_is_stored_and_shown_as_plain_text(db, monkeypatch):
    at = open_page(db, monkeypatch, "whatif")
    at.sidebar.slider(key="min_deals").set_value(2).run()
    save_as(at, "**big** [x](http://evil.example) $x$")
    assert scenarios.get(db, "**big** [x](http://evil.example) $x$").thresholds["min_deals"] == 2
    shown = message(at)
    assert "\\*\\*big\\*\\* \\[x\\]\\(http\\:" in shown and "\\$x\\$" in shown  # escaped: read literally


def test_a_link_opens_a_scenario_and_each_control_can_still_be_moved(db, monkeypatch):
    scenarios.save(db, "strict", {"min_trainings": 3, "min_deals": 2, "grace_days": 30})
    at = open_page(db, monkeypatch, "overview", scenario="strict")
    assert not at.exception
    assert at.sidebar.selectbox(key="scenario").value == "strict"
    assert at.sidebar.slider(key="min_trainings").value == 3
    assert at.sidebar.slider(key="min_deals").value == 2
    assert at.sidebar.number_input(key="grace_days").value == 30
    assert any(c.value == "The controls hold this scenario." for c in at.sidebar.caption)
    # The overview shows the scenario's numbers, against the policy.
    expected = engine_summary(db, default_view(db, min_trainings=3, min_deals=2, grace_days=30))
    cards = {m.label: m for m in at.metric}
    assert cards["Activated partners"].value == fmt.count(expected["activated"])
    assert cards["Reward"].value == fmt.count(expected["tiers"]["reward"])
    assert cards["Activated partners"].delta.endswith("vs policy")

    at.sidebar.slider(key="min_trainings").set_value(1).run()
    assert at.sidebar.selectbox(key="scenario").value == "strict"
    assert any("Moved since it was opened" in c.value for c in at.sidebar.caption)

    # A value the link names overrides the scenario's.
    at = open_page(db, monkeypatch, "overview", scenario="strict", min_trainings="5")
    assert at.sidebar.slider(key="min_trainings").value == 5
    assert at.sidebar.slider(key="min_deals").value == 2


def test_picking_a_scenario_in_the_sidebar_fills_the_controls(db, monkeypatch):
    scenarios.save(db, "strict", {"min_trainings": 3, "reward_min_revenue": 80_000})
    at = open_page(db, monkeypatch, "tiers", min_shares="4")
    at.sidebar.selectbox(key="scenario").set_value("strict").run()
    assert not at.exception
    assert at.sidebar.slider(key="min_trainings").value == 3
    assert at.sidebar.slider(key="min_shares").value == 1  # the scenario's, not the link's any more
    assert at.sidebar.number_input(key="reward_min_revenue").value == 80_000.0


def test_a_link_to_an_unknown_scenario_says_so_and_keeps_the_controls(db, monkeypatch):
    at = open_page(db, monkeypatch, "overview", scenario="nobody", compare="ghost")
    assert not at.exception
    text = notices(at)
    assert "`scenario=nobody`: no scenario is saved under this name; using none (the controls as set) instead" in text
    assert "`compare=ghost`: no scenario is saved under this name; using the policy (policy) instead" in text
    assert at.sidebar.slider(key="min_trainings").value == 1


def test_the_overview_compares_with_the_scenario_chosen_and_says_when_nothing_changed(db, monkeypatch):
    scenarios.save(db, "loose", {"min_criteria": 1})
    at = open_page(db, monkeypatch, "overview")
    assert any("no what-if change to show" in c.value for c in at.caption)
    assert not any((m.delta or "").endswith("vs policy") for m in at.metric)

    at = open_page(db, monkeypatch, "overview", compare="loose")
    assert at.sidebar.selectbox(key="compare").value == "loose"
    numbers = page_report(db, "overview", "--base", "scenario=loose")["against"]
    cards = {m.label: m for m in at.metric}
    assert cards["Activation"].delta == f"{fmt.pct_points(numbers['change']['activation_pct'])} vs loose"
    assert cards["Activated partners"].delta == f"{fmt.count_change(numbers['change']['activated'])} vs loose"
    for tier in ("reward", "nurture", "drop"):
        change = numbers["change"]["tiers"][tier]["partners"]
        assert cards[tier.capitalize()].delta == f"{fmt.count_change(change)} vs loose"
    assert cards["Cost per activated partner"].value == fmt.money(numbers["current"]["cost_per_activated"])
    assert cards["Reward-tier ROI"].delta == f"{fmt.roi_change(numbers['change']['reward_roi'])} vs loose"
    tiers = at.dataframe[0].value.set_index("tier")
    assert tiers.loc["reward", "revenue_change"] == fmt.money_change(numbers["change"]["tiers"]["reward"]["revenue"])
    assert numbers["change"]["activated"] < 0  # one criterion is looser than three: fewer activated now


def test_deleting_the_policy_is_refused_and_another_can_become_the_policy(db, monkeypatch):
    scenarios.save(db, "next year", {"min_trainings": 2})
    at = open_page(db, monkeypatch, "whatif")
    at.selectbox(key="whatif_manage_name").set_value("policy").run()
    at.button(key="whatif_delete").click().run()
    assert not at.exception
    assert message(at) == fmt.plain(
        "Could not delete the scenario: 'policy' is the policy and cannot be deleted; "
        "make another scenario the policy first."
    )
    assert [s.name for s in scenarios.list_scenarios(db)] == ["next year", "policy"]

    at.selectbox(key="whatif_manage_name").set_value("next year").run()
    at.button(key="whatif_make_policy").click().run()
    assert scenarios.policy(db).name == "next year"
    assert at.sidebar.selectbox(key="compare").value == "next year"
    at.selectbox(key="whatif_manage_name").set_value("policy").run()
    at.button(key="whatif_delete").click().run()
    assert message(at) == fmt.plain("Deleted the scenario 'policy'.")
    assert [s.name for s in scenarios.list_scenarios(db)] == ["next year"]


def test_renaming_the_open_scenario_keeps_it_open(db, monkeypatch):
    scenarios.save(db, "draft", {"min_trainings": 4})
    at = open_page(db, monkeypatch, "whatif", scenario="draft")
    at.selectbox(key="whatif_manage_name").set_value("draft").run()
    at.text_input(key="whatif_new_name").input("final")
    at.button(key="whatif_rename").click().run()
    assert not at.exception
    assert fmt.plain("Renamed 'draft' to 'final'") in message(at)
    assert at.sidebar.selectbox(key="scenario").value == "final"
    assert scenarios.get(db, "final").thresholds["min_trainings"] == 4


def test_a_read_only_app_offers_no_scenario_changes(db, monkeypatch):
    monkeypatch.setenv("KPI_READ_ONLY", "1")
    at = open_page(db, monkeypatch, "whatif")
    assert not at.exception
    assert "read-only" in at.info[0].value
    assert not [b for b in at.button if b.key in ("whatif_save", "whatif_delete")]


def test_the_suggestions_are_the_engines_and_try_sets_the_control(db, monkeypatch):
    from kpi import correlation
    from kpi.metrics import partner_facts
    from kpi.store import connect

    view = default_view(db)
    con = connect(db)
    try:
        suggestions = correlation.suggestions(partner_facts(con, view.as_of, view.window_days))
    finally:
        con.close()
    # The demo's partners who train, share and register deals sell more: a threshold is suggested.
    tried = next(s for s in suggestions if s.status == correlation.SUGGESTED)
    link = {tried.parameter: str(tried.threshold + 1), "whatif_tab": "Suggested thresholds"}
    at = open_page(db, monkeypatch, "whatif", **link)
    assert not at.exception
    captions = [c.value for c in at.caption]
    for suggestion in suggestions:
        assert fmt.plain(suggestion.reasoning) in captions
    assert any(f"{tried.threshold} suggested (now {tried.threshold + 1})" in m.value for m in at.markdown)
    at.button(key=f"whatif_try_{tried.parameter}").click().run()
    assert at.sidebar.slider(key=tried.parameter).value == tried.threshold


def test_the_scenarios_curves_and_evidence_download(db, monkeypatch):
    keys = set()
    for tab in ("Scenarios", "Where each threshold matters", "Suggested thresholds"):
        at = open_page(db, monkeypatch, "whatif", whatif_tab=tab)
        keys |= {button.key for button in at.get("download_button")}
    expected = {"whatif_scenarios_download_csv", "whatif_scenarios_download_xlsx"}
    expected |= {"whatif_sensitivity_download_png", "whatif_sensitivity_download_svg"}
    for behaviour in ("trainings", "content_shares", "deals_registered"):
        expected |= {f"whatif_evidence_{behaviour}_download_csv", f"whatif_evidence_{behaviour}_download_xlsx"}
    assert expected <= keys


def test_only_the_open_tab_is_built_and_the_tab_is_in_the_link(db, monkeypatch):
    at = open_page(db, monkeypatch, "whatif")
    assert len(at.get("vega_lite_chart")) == 0 and at.dataframe[0].value["name"].tolist() == ["policy"]
    at = open_page(db, monkeypatch, "whatif", whatif_tab="Where each threshold matters")
    assert len(at.get("vega_lite_chart")) == 1 and len(at.dataframe) == 0


def sidebar_curves(at: AppTest) -> dict[str, dict[str, pl.DataFrame]]:
    """The curves drawn under the sidebar's thresholds: per threshold, its named datasets."""
    curves = {}
    for chart in at.sidebar.get("vega_lite_chart"):
        datasets = {
            ds.name: pl.from_arrow(pa.ipc.open_stream(io.BytesIO(ds.data.data)).read_all())
            for ds in chart.proto.datasets
        }
        (curve_name,) = (name for name in datasets if name.startswith("curve_"))
        curves[curve_name.removeprefix("curve_")] = datasets
    return curves


def test_a_curve_beside_each_threshold_marks_now_and_the_policy_and_agrees_with_the_page(db, monkeypatch):
    at = open_page(db, monkeypatch, "overview", min_trainings="2")
    assert at.toggle(key="curves").value is False and sidebar_curves(at) == {}

    at = open_page(db, monkeypatch, "overview", min_trainings="2", curves="true")
    curves = sidebar_curves(at)
    assert list(curves) == list(THRESHOLDS)  # one under each threshold, in the sidebar's order
    trainings = curves["min_trainings"]
    marks = trainings["marks_min_trainings"].to_dicts()
    assert marks == [{"value": 2.0, "mark": "now"}, {"value": 1.0, "mark": "policy"}]
    # The curve's point at the value set is the page's own activation.
    rows = trainings["curve_min_trainings"]
    now = rows.filter((pl.col("value") == 2.0) & (pl.col("series") == "activation")).row(0, named=True)
    assert fmt.pct(now["pct"]) == metric(at, "Activation")
    summary = engine_summary(db, default_view(db, min_trainings=2))
    assert now["count"] == summary["activated"]

    # Moving another threshold redraws the trainings curve with that threshold held at its new value.
    at.slider(key="min_shares").set_value(10).run()
    moved = sidebar_curves(at)["min_trainings"]["curve_min_trainings"]
    at_two = moved.filter((pl.col("value") == 2.0) & (pl.col("series") == "activation")).row(0, named=True)
    assert at_two["count"] == engine_summary(db, default_view(db, min_trainings=2, min_shares=10))["activated"]
    assert at_two["count"] != now["count"]


def test_a_scenario_saved_beyond_a_controls_range_opens_within_it(db, monkeypatch):
    # As a database from a version whose trainings control ran further could hold it.
    scenarios.save(db, "wide", {"min_trainings": 20})
    history.replace_scenarios(
        db,
        lambda rows: rows.with_columns(
            min_trainings=pl.when(pl.col("name") == "wide").then(30).otherwise(pl.col("min_trainings"))
        ),
    )
    assert scenarios.get(db, "wide").thresholds["min_trainings"] == 30
    at = open_page(db, monkeypatch, "overview", scenario="wide")
    assert not at.exception
    top = at.sidebar.slider(key="min_trainings")
    assert top.value == top.max == 20  # as far as the control goes
    assert any("Moved since it was opened" in c.value for c in at.sidebar.caption)  # and it says so
