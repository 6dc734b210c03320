"""The Overview under AppTest: every number it shows is `python -m kpi report --page overview`'s."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from kpi.params import View
from kpi.store import connect, data_span
from tests.conftest import (
    default_view,
    engine_summary,
    load_tables,
    metric,
    open_app,
    page_report,
    partner,
)
from tests.test_ui_downloads import button_keys, pairs, recorded_downloads
from ui import format as fmt


def assert_shows(at: AppTest, numbers: dict) -> None:
    """The page's cards, chips and captions are the report's numbers, as the page writes them:
    changes against the previous window, or in a what-if against the policy."""
    assert not at.exception
    cards = {m.label: m for m in at.metric}
    against = numbers["against"]
    if against["equal"]:
        change = numbers["change"]
        # Each change names what it is against: the previous window, judged the same way.
        since = f" vs previous {numbers['window_days']} days"
        deltas = {
            "Activation": None
            if change["activation_pct"] is None
            else fmt.pct_points(change["activation_pct"]) + since,
            "Partners in the program": fmt.count_change(change["partners"]) + since,
            "Activated partners": fmt.count_change(change["activated"]) + since,
            "Program ROI": "" if change["roi"] is None else fmt.roi_change(change["roi"]) + since,
            **{tier.capitalize(): fmt.count_change(moved) + since for tier, moved in change["tiers"].items()},
        }
        tiers = numbers["tiers"].items()
        shares = (
            "Share of partners: "
            + " · ".join(f"{tier} **{fmt.pct(row['partners_pct'])}**" for tier, row in tiers)
            + ". Share of revenue: "
            + " · ".join(f"{tier} **{fmt.pct(row['revenue_pct'])}**" for tier, row in tiers)
            + ". Share of cost: "
            + " · ".join(f"{tier} **{fmt.pct(row['cost_pct'])}**" for tier, row in tiers)
            + "."
        )
        assert shares in [c.value for c in at.caption]
        assert f"(to {numbers['previous_as_of']}), judged by the same thresholds." in at.main.caption[1].value
        assert "Reward-tier ROI" not in cards
    else:
        change = against["change"]
        deltas = {
            "Activation": f"{fmt.pct_points(change['activation_pct'])} vs policy",
            "Partners in the program": "",  # the same partners: only their tiers move
            "Activated partners": f"{fmt.count_change(change['activated'])} vs policy",
            "Reward-tier ROI": f"{fmt.roi_change(change['reward_roi'])} vs policy",
            "Cost per activated partner": f"{fmt.money_change(change['cost_per_activated'])} vs policy",
            **{t.capitalize(): f"{fmt.count_change(c['partners'])} vs policy" for t, c in change["tiers"].items()},
        }
        assert cards["Reward-tier ROI"].value == fmt.roi(against["current"]["reward_roi"])
        assert cards["Cost per activated partner"].value == fmt.money(against["current"]["cost_per_activated"])
        held = at.dataframe[0].value.set_index("tier")
        for tier, row in against["current"]["tiers"].items():
            assert held.loc[tier, "revenue"] == row["revenue"] and held.loc[tier, "cost"] == row["cost"]
            assert held.loc[tier, "revenue_change"] == fmt.money_change(change["tiers"][tier]["revenue"])
            assert held.loc[tier, "cost_change"] == fmt.money_change(change["tiers"][tier]["cost"])
    assert {label: cards[label].delta for label in deltas} == deltas
    assert cards["Activation"].value == fmt.pct(numbers["activation_pct"])
    assert cards["Partners in the program"].value == fmt.count(numbers["partners"])
    assert cards["Activated partners"].value == fmt.count(numbers["activated"])
    assert cards["Program ROI"].value == fmt.roi(numbers["roi"])
    for tier, row in numbers["tiers"].items():
        assert cards[tier.capitalize()].value == fmt.count(row["partners"])
    money = {label: cards[label].value for label in ("Revenue", "Cost", "MRR", "ARR")}
    assert money == {label: fmt.money(numbers[label.lower()]) for label in money}


def test_the_overview_shows_the_numbers_of_python_m_kpi_report(report_db, monkeypatch):
    at = open_app(report_db, monkeypatch)
    assert_shows(at, page_report(report_db, "overview"))
    at.sidebar.slider(key="min_trainings").set_value(2).run()
    at.sidebar.slider(key="window_days").set_value(60).run()
    assert_shows(at, page_report(report_db, "overview", "--min-trainings", "2", "--window-days", "60"))


def test_a_link_with_an_earlier_as_of_date_is_the_report_for_that_date(small_program_db, monkeypatch):
    at = open_app(small_program_db, monkeypatch, as_of="2026-03-14", reward_min_revenue="40000")
    numbers = page_report(small_program_db, "overview", "--as-of", "2026-03-14", "--reward-min-revenue", "40000")
    assert_shows(at, numbers)
    # Before P1 trained (03-15) nobody is activated; P1's and P2's deals are won, P4's (03-20) is not
    # yet, and P3's December deal is before the window.
    assert (numbers["activated"], numbers["revenue"]) == (0, 101_200.0)


# --- the cards against the engine on the demo and on small programs -----------------------


def test_overview_shows_the_engine_numbers_for_the_default_view(demo_db, monkeypatch):
    at = open_app(demo_db, monkeypatch)
    assert not at.exception
    expected = engine_summary(demo_db, default_view(demo_db))
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
    now = engine_summary(demo_db, default_view(demo_db))
    con = connect(demo_db)
    default_as_of = data_span(con)[1]
    con.close()
    before = engine_summary(demo_db, View(as_of=default_as_of).previous_window())
    activation = next(m for m in at.metric if m.label == "Activation")
    assert activation.delta == fmt.pct_points(now["activation_pct"] - before["activation_pct"]) + " vs previous 90 days"


def test_moving_a_threshold_slider_recomputes_activation_and_tiers(demo_db, monkeypatch):
    at = open_app(demo_db, monkeypatch)
    before = metric(at, "Activation")
    at.sidebar.slider(key="min_trainings").set_value(3).run()
    assert not at.exception
    expected = engine_summary(demo_db, default_view(demo_db, min_trainings=3))
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
        demo_db, default_view(demo_db, reward_min_revenue=10_000.0, window_days=180, grace_days=0)
    )
    assert metric(at, "Reward") == fmt.count(expected["tiers"]["reward"])
    assert metric(at, "Drop") == fmt.count(expected["tiers"]["drop"])
    assert metric(at, "Revenue") == fmt.money(expected["revenue"])


def four_partners(tmp_path) -> Path:
    """As-of 2026-03-31 (P4's login), default view. P1 trained, shared and won 60,000 (cost 10,000):
    reward. P2 won 40,000 without training (cost 30,000): nurture. P3 did nothing for over a year:
    drop. P4 joined 30 days ago, in its grace period: nurture."""
    return load_tables(
        tmp_path / "tiers.duckdb",
        {
            "partners": [partner("P1"), partner("P2"), partner("P3"), partner("P4", joined="2026-03-01")],
            "activities": [
                {"partner_id": "P1", "occurred_at": "2026-03-15", "activity": "training_completed"},
                {"partner_id": "P1", "occurred_at": "2026-03-15", "activity": "content_shared"},
                {"partner_id": "P4", "occurred_at": "2026-03-31", "activity": "login"},
            ],
            "deals": [
                {
                    "deal_id": f"D{pid}",
                    "partner_id": pid,
                    "registered_on": "2026-02-01",
                    "status": "won",
                    "closed_on": "2026-03-01",
                    "amount": amount,
                }
                for pid, amount in (("P1", 60_000), ("P2", 40_000))
            ],
            "investments": [
                {"partner_id": pid, "spent_on": "2026-03-10", "category": "mdf", "amount": amount}
                for pid, amount in (("P1", 10_000), ("P2", 30_000))
            ],
        },
    )


def test_tier_cards_show_each_tiers_change_and_the_caption_its_shares(tmp_path, monkeypatch):
    db = four_partners(tmp_path)
    at = open_app(db, monkeypatch)
    assert not at.exception
    cards = {m.label: (m.value, m.delta) for m in at.metric if m.label in ("Reward", "Nurture", "Drop")}
    # The 90 days before: P1, P2 and P3 in the program, none with an action or a deal: all drop.
    assert cards == {
        "Reward": ("1", "+1 vs previous 90 days"),
        "Nurture": ("2", "+2 vs previous 90 days"),
        "Drop": ("1", "-2 vs previous 90 days"),
    }
    assert (
        "Share of partners: reward **25.0%** · nurture **50.0%** · drop **25.0%**. "
        "Share of revenue: reward **60.0%** · nurture **40.0%** · drop **0.0%**. "
        "Share of cost: reward **25.0%** · nurture **75.0%** · drop **0.0%**."
    ) in [c.value for c in at.caption]


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


def test_a_what_if_shows_each_number_against_the_policy(tmp_path, monkeypatch):
    # The four partners above; reward from 70,000 moves P1 (60,000 won, 10,000 spent) to nurture.
    db = four_partners(tmp_path)
    downloads = recorded_downloads(monkeypatch)
    at = open_app(db, monkeypatch, reward_min_revenue="70000")
    assert not at.exception
    cards = {m.label: (m.value, m.delta) for m in at.metric}
    assert cards["Reward"] == ("0", "-1 vs policy")
    assert cards["Nurture"] == ("3", "+1 vs policy")
    assert cards["Drop"] == ("1", "+0 vs policy")  # shown without an arrow: nothing moved
    assert cards["Activated partners"] == ("1", "+0 vs policy")
    # The reward tier held 60,000 for 10,000 (ROI +500.0%); now it holds nothing.
    assert cards["Reward-tier ROI"] == ("n/a", "n/a vs policy")
    assert cards["Cost per activated partner"] == ("$40,000", "+$0 vs policy")
    held = at.dataframe[0].value.set_index("tier")
    assert held.loc["reward", ["revenue", "revenue_change", "cost", "cost_change"]].tolist() == [
        0.0,
        "-$60,000",
        0.0,
        "-$10,000",
    ]
    assert held.loc["nurture", ["revenue_change", "cost_change"]].tolist() == ["+$60,000", "+$10,000"]
    assert "1 partner changes tier" in at.info[0].value
    # The table downloads with its changes as numbers (a spreadsheet can add them up), the chart as images.
    assert button_keys(at) == pairs("overview_tiers_download") | pairs("overview_history_download", chart=True)
    table = downloads["overview_tiers_download_csv"]
    assert table.file_name == "overview-tiers-vs-base-2026-03-31.csv"
    assert table.csv().row(0, named=True) == {
        "tier": "reward",
        "partners": 0,
        "partners_change": -1,
        "revenue": 0.0,
        "revenue_change": -60_000.0,
        "cost": 0.0,
        "cost_change": -10_000.0,
    }
    assert downloads["overview_tiers_download_xlsx"].sheet("tiers")["revenue_change"].to_list() == [-60_000, 60_000, 0]
    svg = downloads["overview_history_download_svg"].text()
    assert "Partners in the program vs revenue won, by month" in svg and "Revenue won in the month ($)" in svg
