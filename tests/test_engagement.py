"""Engagement KPIs (kpi/engagement.py) on a small program made here, answers worked out by hand.

As-of A = 2026-03-31 with a 30-day window: 2026-03-02 .. 2026-03-31 count, 2026-03-01 does not.
The program (population at A): P1..P6; PX left on 2026-03-15, so it is not in it.
Staff: P1 Ana (U1A) and Ben (U1B); P2 Cy (U2); P3 Dee (U3) and Eve (U3B); P5 four people;
P6 Gus (U6); P4 has nobody on record; PX has Xi (UX).
"""

from __future__ import annotations

import dataclasses
from datetime import date

import polars as pl
import pytest

from kpi import engagement, metrics, scorecard
from kpi.params import View
from tests.conftest import ENGAGEMENT_A, ENGAGEMENT_PROGRAM, ENGAGEMENT_W, d

A = ENGAGEMENT_A
W = ENGAGEMENT_W
PROGRAM = ENGAGEMENT_PROGRAM  # tests/conftest.py
VIEW = View(as_of=A, window_days=W)


@pytest.fixture
def program(make_db):
    return make_db(PROGRAM)


def by_id(frame: pl.DataFrame, key: str) -> dict[str, dict]:
    return {row[key]: row for row in frame.iter_rows(named=True)}


def segmented(con, view: View = VIEW) -> pl.DataFrame:
    return metrics.segment(metrics.partner_facts(con, view.as_of, view.window_days), view)


# --- items --------------------------------------------------------------------------------


def test_every_item_in_the_data_is_listed_with_its_use_in_the_window(program):
    items = by_id(engagement.item_facts(program, A, W), "item_id")
    assert sorted(items) == ["C1", "C2", "K1", "K3"]  # K3 only after A, C2 only before the window: still listed
    k1, c1 = items["K1"], items["C1"]
    # K1: P1, P2 and P3 (P3 without a user), not PX; staff Ana, Ben, Cy
    assert (k1["partners"], k1["staff"], k1["shares"], k1["completions"], k1["views"]) == (3, 3, 1, 0, 3)
    # C1: P2 completed it on 03-20 and 03-02 (03-01 is outside), P1 viewed it on A
    assert (c1["partners"], c1["staff"], c1["shares"], c1["completions"], c1["views"]) == (2, 2, 0, 2, 1)
    for outside in ("C2", "K3"):
        row = items[outside]
        assert (row["partners"], row["staff"], row["shares"], row["completions"], row["views"]) == (0, 0, 0, 0, 0)
        assert row["adopters"] == 0


def test_item_name_is_the_latest_non_empty_name_and_kind_follows_completions(program):
    items = by_id(engagement.item_facts(program, A, W), "item_id")
    assert items["K1"]["item_name"] == "Deck v2"  # 03-12; the 03-15 event has no name
    assert items["K3"]["item_name"] == "K3"  # never named: the id
    assert {i: items[i]["kind"] for i in items} == {"C1": "course", "C2": "course", "K1": "content", "K3": "content"}


def test_lift_compares_adopters_with_everyone_else_in_the_program(program):
    lift = by_id(engagement.item_lift(engagement.item_facts(program, A, W)), "item_id")
    # Program: 6 partners, 4 deals closed in the window (D1 won, D2 lost, D3 won, D5 lost), revenue 1,120 + 500.
    k1 = lift["K1"]  # adopter: P1 (shared it); its deals D1 won, D2 lost
    assert (k1["adopters"], k1["adopters_closed"], k1["adopters_won"]) == (1, 2, 1)
    assert (k1["others"], k1["others_closed"], k1["others_won"]) == (5, 2, 1)
    assert k1["adopters_win_rate"] == pytest.approx(50.0)
    assert k1["others_win_rate"] == pytest.approx(50.0)
    assert k1["win_rate_lift"] == pytest.approx(0.0)
    assert k1["adopters_revenue_per_partner"] == pytest.approx(1120.0)
    assert k1["others_revenue_per_partner"] == pytest.approx(500.0 / 5)
    assert k1["revenue_ratio"] == pytest.approx(11.2)
    c1 = lift["C1"]  # adopter: P2 (completed it); D3 won. Others: D1 won, D2 and D5 lost
    assert c1["adopters_win_rate"] == pytest.approx(100.0)
    assert c1["others_win_rate"] == pytest.approx(100.0 / 3)
    assert c1["win_rate_lift"] == pytest.approx(100.0 - 100.0 / 3)
    assert c1["revenue_ratio"] == pytest.approx(500.0 / (1120.0 / 5))
    assert c1["small_sample"] and k1["small_sample"]


def test_an_item_shared_by_nobody_has_empty_adopter_rates_never_zero(program):
    c2 = by_id(engagement.item_lift(engagement.item_facts(program, A, W)), "item_id")["C2"]
    assert c2["adopters"] == 0 and c2["adopters_closed"] == 0
    assert c2["adopters_win_rate"] is None
    assert c2["adopters_revenue_per_partner"] is None
    assert c2["win_rate_lift"] is None and c2["revenue_ratio"] is None
    # Others are the whole program: 2 of 4 deals won, 1,620 over 6 partners.
    assert c2["others"] == 6 and c2["others_win_rate"] == pytest.approx(50.0)
    assert c2["others_revenue_per_partner"] == pytest.approx(1620.0 / 6)


def test_adopters_and_others_add_up_to_the_program_revenue_of_the_overview(program):
    summary = metrics.summarize(segmented(program), VIEW)
    for row in engagement.item_lift(engagement.item_facts(program, A, W)).iter_rows(named=True):
        assert row["adopters"] + row["others"] == summary["partners"] == 6
        assert row["adopters_revenue"] + row["others_revenue"] == pytest.approx(summary["revenue"]) == 1620.0


def test_no_deals_closed_and_no_revenue_give_empty_rates_and_ratio():
    lift = engagement.item_lift(
        lift_frame(
            adopters=2,
            adopters_closed=0,
            adopters_won=0,
            adopters_revenue=0.0,
            population=5,
            population_closed=0,
            population_won=0,
            population_revenue=0.0,
        )
    ).row(0, named=True)
    assert lift["adopters_win_rate"] is None and lift["others_win_rate"] is None and lift["win_rate_lift"] is None
    assert lift["adopters_revenue_per_partner"] == 0.0 and lift["others_revenue_per_partner"] == 0.0
    assert lift["revenue_ratio"] is None  # others' revenue per partner is 0: no ratio


def lift_frame(**values: float) -> pl.DataFrame:
    row = {
        "item_id": "I",
        "item_name": "Item",
        "kind": "content",
        "partners": 0,
        "staff": 0,
        "adopters": 10,
        "adopters_closed": 30,
        "adopters_won": 15,
        "adopters_revenue": 1000.0,
        "population": 100,
        "population_closed": 60,
        "population_won": 20,
        "population_revenue": 5000.0,
    }
    row.update(values)
    return pl.DataFrame([row])


@pytest.mark.parametrize(
    ("adopters_closed", "population_closed", "small"),
    [
        (30, 60, False),  # 30 and 30: enough on both sides
        (29, 59, True),  # adopters 29
        (30, 59, True),  # others 29
        (31, 61, False),
    ],
)
def test_small_sample_when_either_group_closed_fewer_than_30_deals(adopters_closed, population_closed, small):
    assert engagement.MIN_CLOSED_DEALS == 30
    row = engagement.item_lift(
        lift_frame(adopters_closed=adopters_closed, adopters_won=10, population_closed=population_closed)
    ).row(0, named=True)
    assert row["small_sample"] is small
    assert row["others_closed"] == population_closed - adopters_closed


def test_items_rank_by_adopters_or_by_lift_with_empty_lifts_last(program):
    lift = engagement.item_lift(engagement.item_facts(program, A, W))
    # adopters 1, 1 (K1 used by 3 partners, C1 by 2), then 0, 0 by name ("K3" < "Old course")
    assert engagement.rank_items(lift, "adopters")["item_id"].to_list() == ["K1", "C1", "K3", "C2"]
    # lift +66.7 (C1), 0.0 (K1), then the empty lifts
    assert engagement.rank_items(lift, "win_rate_lift")["item_id"].to_list() == ["C1", "K1", "K3", "C2"]
    assert engagement.unused_items(lift)["item_name"].to_list() == ["K3", "Old course"]


# --- staff --------------------------------------------------------------------------------


def test_staff_activity_in_the_window_and_last_activity(program):
    staff = by_id(engagement.staff_facts(program, A, W), "user_id")
    assert "UX" not in staff  # PX is not in the program
    assert len(staff) == 10
    ana = staff["U1A"]  # shared K1, viewed C1 on A, one login; C2 was before the window, K3 after A
    assert (ana["trainings"], ana["content_shares"], ana["content_views"], ana["logins"]) == (0, 1, 1, 1)
    assert ana["actions"] == 2 and ana["last_active_on"] == date(2026, 3, 31)
    cy = staff["U2"]
    assert (cy["trainings"], cy["content_views"], cy["actions"]) == (2, 1, 3)
    assert cy["last_active_on"] == date(2026, 3, 20)
    eve = staff["U3B"]  # never did anything
    assert (eve["actions"], eve["logins"], eve["last_active_on"]) == (0, 0, None)


def test_most_and_least_engaged_staff(program):
    staff = engagement.staff_facts(program, A, W)
    assert engagement.most_engaged_staff(staff)["user_id"].to_list() == ["U2", "U1A", "U1B"]  # 3, 2, 1 actions
    assert engagement.most_engaged_staff(staff, top=2)["user_id"].to_list() == ["U2", "U1A"]
    least = engagement.least_engaged_staff(staff)
    # no action: P5's four (1 login, last 03-07), Dee (1 login, last 03-06), then Eve and Gus (nothing at all)
    assert least["user_id"].to_list() == ["U5A", "U5B", "U5C", "U5D", "U3", "U3B", "U6"]
    assert engagement.active_staff(staff) == 8
    # the same count as the partners' active users (every user belongs to one partner)
    assert engagement.active_staff(staff) == segmented(program)["active_users"].sum()


def test_active_users_per_partner_with_partners_without_staff(program):
    facts = metrics.partner_facts(program, A, W)
    staff = engagement.staff_facts(program, A, W)
    distribution = engagement.active_users_distribution(facts, staff)
    # P1: Ana, Ben = 2; P2: Cy = 1; P3: Dee = 1 (Eve idle); P4: no staff; P5: 4; P6: Gus idle = 0
    assert distribution["bucket"].to_list() == ["no staff on record", "0", "1", "2", "3", "4+"]
    assert distribution["partners"].to_list() == [1, 1, 2, 1, 0, 1]
    assert distribution["share_pct"].to_list() == pytest.approx([100 / 6, 100 / 6, 200 / 6, 100 / 6, 0.0, 100 / 6])
    assert engagement.partners_without_staff(facts, staff)["partner_id"].to_list() == ["P4"]


def test_active_users_distribution_of_an_empty_program_has_empty_shares(program):
    facts = metrics.partner_facts(program, d("2020-01-01"), W)  # before anyone joined
    staff = engagement.staff_facts(program, d("2020-01-01"), W)
    distribution = engagement.active_users_distribution(facts, staff)
    assert distribution["partners"].to_list() == [0] * 6
    assert distribution["share_pct"].to_list() == [None] * 6


def test_find_staff_by_partner_or_person_in_any_case(program):
    staff = engagement.staff_facts(program, A, W)
    assert engagement.find_staff(staff, "  ANA ")["user_id"].to_list() == ["U1A"]
    assert sorted(engagement.find_staff(staff, "partner p5")["user_id"]) == ["U5A", "U5B", "U5C", "U5D"]
    assert engagement.find_staff(staff, "").height == 10


def test_a_staff_row_is_the_same_on_engagement_and_on_the_scorecard(program):
    # One definition (kpi.staff.staff_activity): every person's Engagement row equals their row
    # on their partner's scorecard; only the scorecard lists the activities without a person.
    shared = ["user_id", "user_name", "role", "trainings", "content_shares", "content_views", "logins"]
    engaged = engagement.staff_facts(program, A, W)
    for pid in engaged["partner_id"].unique():
        card = scorecard.staff_activity(program, pid, A, W)
        named = card.filter(~pl.col("no_user"))
        mine = engaged.filter(pl.col("partner_id") == pid)
        assert by_id(named.select(*shared, "last_active_on"), "user_id") == by_id(
            mine.select(*shared, "last_active_on"), "user_id"
        )
    ana = scorecard.staff_activity(program, "P1", A, W).row(0, named=True)
    # Ana: shared K1, viewed C1 on A, one login (C2 before the window, K3 after A): 3 in all, last active on A
    assert (ana["user_name"], ana["content_shares"], ana["content_views"], ana["logins"]) == ("Ana Lee", 1, 1, 1)
    assert (ana["activities"], ana["last_active_on"]) == (3, date(2026, 3, 31))
    # P5's three logins without a person are one scorecard row and nobody's Engagement row
    unnamed = scorecard.staff_activity(program, "P5", A, W).filter(pl.col("no_user"))
    assert (unnamed["logins"].to_list(), unnamed["last_active_on"].to_list()) == ([3], [date(2026, 3, 8)])
    assert engaged.height == 10 and engaged["user_id"].null_count() == 0
    # PX left before A: not on the Engagement page, but its scorecard still lists Xi's share of K1 on 03-05
    xi = scorecard.staff_activity(program, "PX", A, W).row(0, named=True)
    assert (xi["user_id"], xi["content_shares"], xi["last_active_on"]) == ("UX", 1, date(2026, 3, 5))


# --- look busy ----------------------------------------------------------------------------


def test_look_busy_counts_logins_at_the_threshold(program):
    # Default criteria: nobody is activated (nobody trained, shared and registered in the window).
    # Logins: P5 7, P1 1, P3 1, P4 1. Actions: P1 3 (1 share + 2 views), P3 1 (a view), P4 1 (D7), P5 0.
    seg = segmented(program)
    assert engagement.look_busy(seg, 7)["partner_id"].to_list() == ["P5"]  # logins == min counts
    assert engagement.look_busy(seg, 8).is_empty()
    busy = engagement.look_busy(seg, 1)
    assert busy["partner_id"].to_list() == ["P5", "P3", "P4", "P1"]  # most logins, then fewest actions, then name
    assert busy["actions"].to_list() == [0, 1, 1, 3]
    assert engagement.share_pct(busy.height, seg.height) == pytest.approx(400 / 6)


def test_look_busy_follows_the_activation_thresholds(program):
    # Only the deal criterion, at 1: P4 (D7 registered on 03-10) is activated, so it no longer looks busy.
    view = dataclasses.replace(VIEW, min_trainings=0, min_shares=0, min_deals=1, min_criteria=1)
    assert engagement.look_busy(segmented(program, view), 1)["partner_id"].to_list() == ["P5", "P3", "P1"]


def test_look_busy_groups_for_the_chart(program):
    busy = engagement.look_busy(segmented(program), 1)
    # Tiers: P1 won 1,120 -> nurture; P3, P4, P5: no revenue, at most 2 actions, joined long ago -> drop.
    groups = engagement.logins_actions_groups(busy)
    assert groups.select("tier", "logins", "actions", "partners").rows() == [
        ("drop", 1.0, 1.0, 2),
        ("drop", 7.0, 0.0, 1),
        ("nurture", 1.0, 3.0, 1),
    ]


def test_look_busy_groups_band_large_values_when_there_are_too_many():
    busy = pl.DataFrame(
        {"tier": ["drop"] * 3, "logins": [100, 101, 3], "actions": [0, 0, 0]},
    )
    assert engagement.logins_actions_groups(busy, max_groups=3).height == 3  # exact: few enough
    # log10(101) x 8 = 16.03 rounds to 16, the same band as 100; 3 stays exact
    banded = engagement.logins_actions_groups(busy, max_groups=2)
    assert banded.select("logins", "partners").rows() == [(3.0, 1), (100.0, 2)]


def test_the_metrics_docs_state_the_engagement_constants():
    from tests.conftest import ROOT

    docs = (ROOT / "docs" / "metrics.md").read_text()
    section = docs.split("## Engagement page", 1)[1].split("\n## ", 1)[0]
    assert f"fewer than **{engagement.MIN_CLOSED_DEALS}** deals" in section
    spec = engagement.MIN_LOGINS
    assert f"default {spec.default},\nfrom {spec.min_value} to {spec.max_value:,}" in section
    for ranking in engagement.ITEM_RANKINGS:
        assert ranking.replace("_", " ").replace("win rate lift", "win-rate lift") in section


# --- the page's facts ---------------------------------------------------------------------


def test_page_facts_gather_the_items_and_the_staff(program):
    facts = metrics.partner_facts(program, A, W)
    page = engagement.page_facts(program, A, W, facts)
    items = engagement.item_lift(engagement.item_facts(program, A, W))
    staff = engagement.staff_facts(program, A, W)
    assert page.items.equals(items) and page.staff.equals(staff)
    assert page.unused.equals(engagement.unused_items(items))
    assert page.distribution.equals(engagement.active_users_distribution(facts, staff))
    assert page.without_staff["partner_id"].to_list() == ["P4"]
    assert page.most_engaged.equals(engagement.most_engaged_staff(staff))
    assert page.least_engaged.equals(engagement.least_engaged_staff(staff))
    # K1 and C1 used; C2 and K3 not. 8 of 10 staff active; 7 did none of the work, 2 not even a login.
    assert (page.used_items, page.items.height, page.small_sample_items) == (2, 4, 4)
    assert (page.active_staff, page.staff.height, page.least_engaged.height, page.silent_staff) == (8, 10, 7, 2)


def test_silent_staff_did_nothing_at_all():
    staff = pl.DataFrame({"actions": [0, 0, 3, 0], "logins": [0, 2, 0, 0]})
    assert engagement.silent_staff(staff) == 2  # a login is something; an action is something


def test_on_the_demo_every_partner_has_staff_so_the_chart_draws_no_empty_no_staff_bar(demo_db):
    """Every demo partner has people on record: the "no staff on record" bucket counts 0, and the
    active-staff chart leaves that bar and its legend out instead of drawing an empty category."""
    from kpi.store import connect
    from tests.conftest import default_view
    from ui import charts_engagement

    view = default_view(demo_db)
    with connect(demo_db) as con:
        facts = metrics.partner_facts(con, view.as_of, view.window_days)
        page = engagement.page_facts(con, view.as_of, view.window_days, facts)
        staffed = "select partner_id from partner_users"
        unstaffed = con.sql(f"select count(*) from partners where partner_id not in ({staffed})").fetchall()
    distribution = page.distribution
    assert unstaffed == [(0,)]
    assert distribution.filter(pl.col("bucket") == engagement.NO_STAFF)["partners"].to_list() == [0]
    spec = charts_engagement.active_users_chart(distribution).to_dict()
    (rows,) = spec["datasets"].values()
    assert [row["bucket"] for row in rows] == ["0", "1", "2", "3", "4+"]
    assert sum(row["partners"] for row in rows) == facts.height
