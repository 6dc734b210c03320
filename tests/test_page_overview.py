"""The Overview under AppTest: every number it shows is `python -m kpi report --page overview`'s."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.conftest import open_app, page_report
from ui import format as fmt


def assert_shows(at: AppTest, numbers: dict) -> None:
    """The page's cards, chips and captions are the report's numbers, as the page writes them."""
    assert not at.exception
    cards = {m.label: m for m in at.metric}
    change = numbers["change"]
    assert (cards["Activation"].value, cards["Activation"].delta) == (
        fmt.pct(numbers["activation_pct"]),
        None if change["activation_pct"] is None else fmt.pct_points(change["activation_pct"]),
    )
    assert (cards["Partners in the program"].value, cards["Partners in the program"].delta) == (
        fmt.count(numbers["partners"]),
        f"{change['partners']:+,}",
    )
    assert (cards["Activated partners"].value, cards["Activated partners"].delta) == (
        fmt.count(numbers["activated"]),
        f"{change['activated']:+,}",
    )
    assert cards["Program ROI"].value == fmt.roi(numbers["roi"])
    for tier, row in numbers["tiers"].items():
        card = cards[tier.capitalize()]
        assert (card.value, card.delta) == (fmt.count(row["partners"]), f"{fmt.pct(row['partners_pct'])} of partners")
    tiers = numbers["tiers"].items()
    shares = (
        "Share of revenue: "
        + " · ".join(f"{tier} **{fmt.pct(row['revenue_pct'])}**" for tier, row in tiers)
        + ". Share of cost: "
        + " · ".join(f"{tier} **{fmt.pct(row['cost_pct'])}**" for tier, row in tiers)
        + "."
    )
    assert shares in [c.value for c in at.caption]
    money = {label: cards[label].value for label in ("Revenue", "Cost", "MRR", "ARR")}
    assert money == {label: fmt.money(numbers[label.lower()]) for label in money}
    assert f"to {numbers['previous_as_of']}." in at.caption[0].value


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
