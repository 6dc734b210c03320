"""The Tiers page under AppTest: its headline is `python -m kpi report --page tiers`'s."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.conftest import open_page, page_report


def shown_line(at: AppTest) -> str:
    return next(m.value for m in at.markdown if "partners shown" in m.value)


def expected_line(numbers: dict) -> str:
    tiers = numbers["tiers"]
    return (
        f"**{numbers['shown']:,}** of {numbers['partners']:,} partners shown: "
        f"reward **{tiers['reward']:,}** · nurture **{tiers['nurture']:,}** · drop **{tiers['drop']:,}**"
    )


def test_the_tiers_page_shows_the_numbers_of_python_m_kpi_report(report_db, monkeypatch):
    at = open_page(report_db, monkeypatch, "tiers")
    assert not at.exception
    assert shown_line(at) == expected_line(page_report(report_db, "tiers"))
    at.sidebar.number_input(key="grace_days").set_value(0).run()
    at.sidebar.number_input(key="reward_min_revenue").set_value(40_000.0).run()
    numbers = page_report(report_db, "tiers", "--grace-days", "0", "--reward-min-revenue", "40000")
    assert shown_line(at) == expected_line(numbers)


def test_a_filter_shows_fewer_partners_of_the_same_program(small_program_db, monkeypatch):
    at = open_page(small_program_db, monkeypatch, "tiers")
    at.multiselect(key="tiers_tier").set_value(["nurture"]).run()
    # P2 and P4 are nurture; the report counts the whole program.
    assert page_report(small_program_db, "tiers")["partners"] == 4
    assert shown_line(at) == "**2** of 4 partners shown: reward **0** · nurture **2** · drop **0**"
