"""The Tiers page under AppTest: its headline is `python -m kpi report --page tiers`'s."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from kpi.metrics import SEGMENT_COLUMNS
from kpi.tiers import type_label
from tests.conftest import (
    default_view,
    engine_summary,
    load_tables,
    open_app,
    open_page,
    page_report,
    partner,
    run_cli,
)
from tests.test_ui_downloads import button_keys, pairs, png_size, recorded_downloads
from ui import format as fmt


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


# --- the partner list: filters, search, sort, pages, CSV, tabs -------------------------------


def shown_line(at: AppTest) -> str:
    """The Tiers page's line "N of M partners shown: reward X · nurture Y · drop Z"."""
    return next(m.value for m in at.markdown if "partners shown" in m.value)


def list_caption(at: AppTest) -> str:
    return next(c.value for c in at.caption if c.value.startswith(("Partners ", "No partner")))


def test_parameters_survive_moving_to_the_tiers_page(demo_db, monkeypatch):
    at = open_app(demo_db, monkeypatch, min_shares="2")
    at.sidebar.slider(key="min_trainings").set_value(2).run()
    at.switch_page("pages/tiers.py").run()
    assert not at.exception
    assert at.title[0].value == "Partner tiers"
    assert at.sidebar.slider(key="min_trainings").value == 2
    assert at.sidebar.slider(key="min_shares").value == 2
    expected = engine_summary(demo_db, default_view(demo_db, min_trainings=2, min_shares=2))
    n, tiers = expected["partners"], expected["tiers"]
    assert shown_line(at) == (
        f"**{n:,}** of {n:,} partners shown: "
        f"reward **{tiers['reward']:,}** · nurture **{tiers['nurture']:,}** · drop **{tiers['drop']:,}**"
    )
    assert n > 100  # so the list is paged
    assert len(at.dataframe[0].value) == 100
    assert list_caption(at).startswith(f"Partners 1-100 of {n:,}, sorted by Revenue, descending")


# A program made for the partner list, every answer below worked out from these rules.
# P001..P230, as-of 2026-03-31, default view (90-day window, every criterion at 1, all three needed,
# reward from 50,000, drop at most 2 actions, 90 days' grace; everyone joined 2025-01-01):
# - P001..P200 each won one deal of 1,000 x i in the window (registered 2026-02-01): revenue 1,000 x i;
# - every third of those (i % 3 == 0) also trained and shared: activated; reward when 1,000 x i >= 50,000,
#   i.e. P051, P054 .. P198 (50 partners); the other 150 of P001..P200 are nurture;
# - P201..P230 did nothing: no revenue, 0 actions, past the grace period: drop (30);
# - every tenth (P010 .. P230) spent 100 x i: ROI (1,000i - 100i) / 100i = 9 (+900%) up to P200,
#   -1 (-100%) for P210, P220, P230; everyone else has no cost, so no ROI (n/a);
# - region EMEA for odd i, APAC for even; type reseller up to P100, msp above; channel manager
#   Ann for i % 4 == 0, none on record otherwise.
LIST_SIZE = 230


def list_partner(i: int) -> dict[str, object]:
    return partner(
        f"P{i:03d}",
        region="EMEA" if i % 2 else "APAC",
        partner_type="reseller" if i <= 100 else "msp",
        channel_manager="Ann" if i % 4 == 0 else None,
    )


@pytest.fixture(scope="module")
def list_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ids = range(1, LIST_SIZE + 1)
    activities = [{"partner_id": "P001", "occurred_at": "2026-03-31", "activity": "login"}]  # as-of date
    for i in range(3, 201, 3):
        activities += [
            {"partner_id": f"P{i:03d}", "occurred_at": "2026-03-15", "activity": kind}
            for kind in ("training_completed", "content_shared")
        ]
    deals = [
        {
            "deal_id": f"D{i:03d}",
            "partner_id": f"P{i:03d}",
            "registered_on": "2026-02-01",
            "status": "won",
            "closed_on": "2026-03-01",
            "amount": 1000 * i,
        }
        for i in range(1, 201)
    ]
    investments = [
        {"partner_id": f"P{i:03d}", "spent_on": "2026-03-10", "category": "mdf", "amount": 100 * i}
        for i in range(10, LIST_SIZE + 1, 10)
    ]
    return load_tables(
        tmp_path_factory.mktemp("list") / "list.duckdb",
        {
            "partners": [list_partner(i) for i in ids],
            "activities": activities,
            "deals": deals,
            "investments": investments,
        },
    )


def open_tiers(db: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    at = open_page(db, monkeypatch, "tiers")
    assert not at.exception
    return at


def ids(at: AppTest) -> list[str]:
    return list(at.dataframe[0].value["partner_id"])


def test_the_list_shows_100_partners_a_page_highest_revenue_first(list_db, monkeypatch):
    at = open_tiers(list_db, monkeypatch)
    assert shown_line(at) == "**230** of 230 partners shown: reward **50** · nurture **150** · drop **30**"
    table = at.dataframe[0].value
    assert ids(at) == [f"P{i:03d}" for i in range(200, 100, -1)]
    assert (table["revenue"].iloc[0], table["tier"].iloc[0]) == (200_000, "nurture")  # P200 did not train
    assert list_caption(at) == (
        "Partners 1-100 of 230, sorted by Revenue, descending (n/a last, ties by name). Page 1 of 3."
    )
    at.number_input(key="tiers_page").set_value(3).run()
    # page 2 is P100..P001; page 3 the 30 partners without revenue, in name order
    assert ids(at) == [f"P{i:03d}" for i in range(201, 231)]
    assert list_caption(at) == (
        "Partners 201-230 of 230, sorted by Revenue, descending (n/a last, ties by name). Page 3 of 3."
    )
    at.radio(key="tiers_order").set_value("Ascending").run()  # a new order starts at page 1 again
    assert at.number_input(key="tiers_page").value == 1
    assert ids(at)[:32] == [f"P{i:03d}" for i in range(201, 231)] + ["P001", "P002"]


def test_the_list_sorts_by_roi_with_n_a_last_either_way(list_db, monkeypatch):
    at = open_tiers(list_db, monkeypatch)
    at.selectbox(key="tiers_sort").set_value("ROI").run()
    table = at.dataframe[0].value
    plus_900 = [f"P{i:03d}" for i in range(10, 201, 10)]
    minus_100 = ["P210", "P220", "P230"]
    assert ids(at)[:24] == [*plus_900, *minus_100, "P001"]
    assert list(table["roi"][:23]) == [900.0] * 20 + [-100.0] * 3  # shown in percent
    assert table["roi"][23:].isna().all() and (table["cost"][23:] == 0).all()
    assert at.dataframe[0].proto.placeholder == "n/a"
    at.radio(key="tiers_order").set_value("Ascending").run()
    assert ids(at)[:24] == [*minus_100, *plus_900, "P001"]


def test_the_list_sorts_by_tier_reward_first(list_db, monkeypatch):
    at = open_tiers(list_db, monkeypatch)
    at.selectbox(key="tiers_sort").set_value("Tier").run()
    reward = [f"P{i:03d}" for i in range(51, 200, 3)]
    assert ids(at)[:51] == [*reward, "P001"]  # then nurture, by name
    at.radio(key="tiers_order").set_value("Ascending").run()
    assert ids(at)[:31] == [f"P{i:03d}" for i in range(201, 231)] + ["P001"]  # drop first


@pytest.mark.parametrize(
    ("key", "values", "expected"),
    [
        ("tiers_tier", ["drop"], range(201, 231)),
        ("tiers_tier", ["reward", "drop"], [*range(51, 200, 3), *range(201, 231)]),
        ("tiers_region", ["EMEA"], range(1, 231, 2)),
        ("tiers_type", ["msp"], range(101, 231)),
        ("tiers_manager", ["Ann"], range(4, 231, 4)),
    ],
)
def test_the_list_filters_by_tier_region_type_and_channel_manager(list_db, monkeypatch, key, values, expected):
    at = open_tiers(list_db, monkeypatch)
    at.selectbox(key="tiers_sort").set_value("Partner ID").run()
    at.radio(key="tiers_order").set_value("Ascending").run()
    at.multiselect(key=key).set_value(values).run()
    expected = [f"P{i:03d}" for i in expected]
    assert shown_line(at).startswith(f"**{len(expected)}** of 230 partners shown")
    assert ids(at) == expected[:100]


def test_filters_offer_the_values_in_the_data_and_combine(list_db, monkeypatch):
    at = open_tiers(list_db, monkeypatch)
    assert at.multiselect(key="tiers_region").options == ["APAC", "EMEA"]
    assert at.multiselect(key="tiers_type").options == ["MSP", "Reseller"]  # the data's msp, reseller, readable
    assert at.multiselect(key="tiers_manager").options == ["Ann"]  # no manager on record is not an option
    at.multiselect(key="tiers_region").set_value(["APAC"]).run()
    at.multiselect(key="tiers_type").set_value(["reseller"]).run()
    at.multiselect(key="tiers_tier").set_value(["reward"]).run()
    # reward: i % 3 == 0, 51 <= i <= 198; APAC: even; reseller: i <= 100 -> 54, 60, .., 96
    assert shown_line(at) == "**8** of 230 partners shown: reward **8** · nurture **0** · drop **0**"
    assert ids(at) == [f"P{i:03d}" for i in range(96, 53, -6)]


def test_search_finds_partners_by_part_of_their_name_in_any_case(list_db, monkeypatch):
    at = open_tiers(list_db, monkeypatch)
    at.text_input(key="tiers_search").input("  p12 ").run()
    expected = [f"P{i}" for i in range(120, 130)]  # "Partner P012" does not contain "p12"
    assert shown_line(at).startswith("**10** of 230 partners shown")
    assert sorted(ids(at)) == expected
    at.text_input(key="tiers_search").input("no such partner").run()
    assert shown_line(at).startswith("**0** of 230 partners shown")
    assert list_caption(at) == "No partner matches these filters."


def test_a_filter_brings_the_list_back_to_a_page_that_exists(list_db, monkeypatch):
    at = open_tiers(list_db, monkeypatch)
    at.number_input(key="tiers_page").set_value(3).run()
    at.multiselect(key="tiers_tier").set_value(["reward"]).run()
    assert at.number_input(key="tiers_page").value == 1
    assert list_caption(at).endswith("Page 1 of 1.")
    assert len(ids(at)) == 50


def test_a_page_past_the_end_of_a_list_that_shrank_falls_back_to_its_last_page(list_db, monkeypatch):
    at = open_tiers(list_db, monkeypatch)
    at.multiselect(key="tiers_tier").set_value(["nurture"]).run()
    at.number_input(key="tiers_page").set_value(2).run()
    assert list_caption(at).startswith("Partners 101-150 of 150")
    # A 30-day window (2026-03-02 .. 2026-03-31) misses every deal: no revenue, at most 2 actions,
    # nobody activated: all 230 are drop, no nurture left.
    at.sidebar.slider(key="window_days").set_value(30).run()
    assert not at.exception
    assert shown_line(at) == "**0** of 230 partners shown: reward **0** · nurture **0** · drop **0**"
    assert at.number_input(key="tiers_page").value == 1
    assert list_caption(at) == "No partner matches these filters."


def test_the_downloads_have_every_partner_shown_on_all_pages_in_the_list_order(list_db, monkeypatch):
    downloads = recorded_downloads(monkeypatch)
    at = open_tiers(list_db, monkeypatch)
    at.multiselect(key="tiers_type").set_value(["msp"]).run()
    assert pairs("tiers_download") <= button_keys(at)
    csv = downloads["tiers_download_csv"].csv()
    assert downloads["tiers_download_csv"].file_name == "tiers-partners-2026-03-31.csv"
    assert csv.columns == [*SEGMENT_COLUMNS, "region", "partner_type", "channel_manager"]
    # msp: P101..P230; by revenue, highest first, then the 30 without revenue by name
    order = [f"P{i:03d}" for i in [*range(200, 100, -1), *range(201, 231)]]
    assert csv["partner_id"].to_list() == order
    assert csv.filter(pl.col("partner_id") == "P150").row(0, named=True)["roi"] == 9.0
    sheet = downloads["tiers_download_xlsx"].sheet("partners")
    assert sheet["partner_id"].to_list() == order
    assert sheet.filter(pl.col("partner_id") == "P150").row(0, named=True)["revenue"] == 150_000  # a number


def test_a_partner_name_a_spreadsheet_would_run_is_downloaded_as_text(tmp_path, monkeypatch):
    formula = '=HYPERLINK("http://x")'
    db = load_tables(
        tmp_path / "names.duckdb",
        {
            "partners": [
                {**partner("P1"), "partner_name": formula},
                {**partner("P2"), "partner_name": "-1 Partners"},
                partner("P3"),
            ],
            "activities": [{"partner_id": "P1", "occurred_at": "2026-03-31", "activity": "login"}],
        },
    )
    downloads = recorded_downloads(monkeypatch)
    at = open_tiers(db, monkeypatch)
    assert formula in list(at.dataframe[0].value["partner_name"])  # on screen as it is
    names = downloads["tiers_download_csv"].csv()["partner_name"].to_list()
    assert sorted(names) == sorted(["'" + formula, "'-1 Partners", "Partner P3"])
    # Excel keeps the name as it is, as text: the workbook is written with formulas off.
    assert formula in downloads["tiers_download_xlsx"].sheet("partners")["partner_name"].to_list()


def chart_caption(at: AppTest) -> list[str]:
    return [c.value for c in at.caption if c.value.startswith("Each dot is a partner")]


def test_the_chart_tab_shows_only_the_chart_and_the_list_keeps_its_sort_and_page(list_db, monkeypatch):
    at = open_tiers(list_db, monkeypatch)
    assert len(at.dataframe) == 1 and not chart_caption(at)  # the list is the first tab
    at.selectbox(key="tiers_sort").set_value("ROI").run()
    at.number_input(key="tiers_page").set_value(2).run()
    at.session_state["tiers_tab"] = "Engagement chart"
    at.run()
    assert not at.exception
    assert len(at.dataframe) == 0 and len(chart_caption(at)) == 1
    assert button_keys(at) == pairs("tiers_chart_download", chart=True)  # the list's downloads went with it
    assert shown_line(at) == "**230** of 230 partners shown: reward **50** · nurture **150** · drop **30**"
    at.session_state["tiers_tab"] = "Partner list"
    at.run()
    assert at.selectbox(key="tiers_sort").value == "roi"  # shown as ROI
    assert list_caption(at).startswith("Partners 101-200 of 230, sorted by ROI")


def test_a_link_opens_the_tiers_page_on_its_chart_tab(list_db, monkeypatch):
    downloads = recorded_downloads(monkeypatch)
    at = open_page(list_db, monkeypatch, "tiers", tiers_tab="Engagement chart")
    assert not at.exception
    assert len(at.dataframe) == 0 and len(chart_caption(at)) == 1
    # The chart as drawn (its points and the template), rendered on the server at the export width.
    png = downloads["tiers_chart_download_png"]
    assert png.file_name == "tiers-engagement-2026-03-31.png" and png_size(png.data())[0] > 1800
    assert "Why partners land where they do" in downloads["tiers_chart_download_svg"].text()


def test_a_threshold_move_on_the_tiers_page_retiers_the_list(list_db, monkeypatch):
    at = open_tiers(list_db, monkeypatch)
    at.sidebar.number_input(key="reward_min_revenue").set_value(100_000.0).run()
    # reward now needs 1,000 x i >= 100,000: P102, P105 .. P198 (33); the other 17 activated are nurture
    assert shown_line(at) == "**230** of 230 partners shown: reward **33** · nurture **167** · drop **30**"
    at.multiselect(key="tiers_tier").set_value(["reward"]).run()
    assert ids(at) == [f"P{i:03d}" for i in range(198, 101, -3)]


# --- against the policy ----------------------------------------------------------------------


def test_the_page_shows_who_moves_against_the_policy_and_why(list_db, monkeypatch):
    downloads = recorded_downloads(monkeypatch)
    at = open_tiers(list_db, monkeypatch)
    equal = next(c.value for c in at.caption if c.value.startswith("The controls hold"))
    assert "the policy 'policy'" in equal and "no partner moves" in equal
    assert len(at.dataframe) == 1  # only the list: no matrix, no movers

    # Reward from 60,000: the activated P051, P054, P057 (revenue 51,000-57,000) drop to nurture.
    at.sidebar.number_input(key="reward_min_revenue").set_value(60_000.0).run()
    assert not at.exception
    changed = next(c.value for c in at.caption if c.value.startswith("The controls against"))
    assert fmt.plain("reward: revenue at least $50,000 → $60,000") in changed
    assert any("**3 partners change tier** against the policy 'policy'" in m.value for m in at.markdown)
    matrix = at.dataframe[1].value
    assert matrix.set_index("Under the policy").to_dict("index") == {
        "reward": {"reward": 47, "nurture": 3, "drop": 0},
        "nurture": {"reward": 0, "nurture": 150, "drop": 0},
        "drop": {"reward": 0, "nurture": 0, "drop": 30},
    }
    movers = at.dataframe[2].value
    assert list(movers["partner_id"]) == ["P057", "P054", "P051"]  # most revenue first
    assert movers["reason"].iloc[0] == "activated but revenue 57,000 < reward threshold 60,000"
    assert set(movers["from_tier"]) == {"reward"} and set(movers["to_tier"]) == {"nurture"}
    # Each row opens the partner's scorecard in this same view.
    assert movers["scorecard"].iloc[0] == ("scorecard?as_of=2026-03-31&reward_min_revenue=60000&scorecard_partner=P057")
    # Both tables download as CSV and Excel; the movers' files have every mover, by partner ID.
    assert pairs("tiers_download", "whatif_matrix_download", "whatif_movers_download") == button_keys(at)
    assert downloads["whatif_matrix_download_csv"].csv().row(0) == ("reward", 47, 3, 0)
    every = downloads["whatif_movers_download_csv"].csv()
    assert every["partner_id"].to_list() == ["P051", "P054", "P057"]
    assert every.columns == ["partner_id", "partner_name", "from_tier", "to_tier", "reason", "revenue"]
    assert downloads["whatif_movers_download_xlsx"].sheet("movers")["revenue"].to_list() == [51_000, 54_000, 57_000]
    code, out, _ = run_cli(
        "compare",
        "--db",
        list_db,
        "--as-of",
        "2026-03-31",
        "--reward-min-revenue",
        "60000",
        "--base",
        "scenario=policy",
    )
    assert code == 0 and json.loads(out)["moved"] == 3  # the command line says the same


def test_the_list_pins_the_name_reads_types_as_words_and_opens_each_scorecard_in_this_view(list_db, monkeypatch):
    downloads = recorded_downloads(monkeypatch)
    at = open_page(
        list_db, monkeypatch, "tiers", min_deals="2", tiers_type="MSP", tiers_sort="Partner ID", tiers_order="Ascending"
    )
    assert not at.exception
    frame = at.dataframe[0]
    columns = json.loads(frame.proto.columns)
    assert columns["partner_name"]["pinned"] is True
    assert list(frame.value.columns)[:7] == ["partner_name", "scorecard", "tier", "revenue", "cost", "roi", "mrr"]
    # Wide enough for its longest value as written, sign and all (about 8 px a character).
    longest = max(len(f"{v:+.1f}%") for v in frame.value["roi"].dropna())
    assert columns["roi"]["width"] >= 8 * longest
    assert set(frame.value["partner_type"]) == {"MSP"}  # the data's "msp", as a person writes it
    assert frame.value["scorecard"].iloc[0] == "scorecard?as_of=2026-03-31&min_deals=2&scorecard_partner=P101"
    assert columns["scorecard"]["type_config"] == {"type": "link", "display_text": "Open"}
    assert set(downloads["tiers_download_csv"].csv()["partner_type"]) == {"msp"}  # the downloads keep the data's value


@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("system_integrator", "System integrator"),
        ("msp", "MSP"),
        ("reseller", "Reseller"),
        ("value-added reseller", "Value-added reseller"),
        ("Gold Reseller", "Gold Reseller"),  # written with capitals in the data: kept as it is
    ],
)
def test_a_partner_type_reads_as_words(value, label):
    assert type_label(value) == label
