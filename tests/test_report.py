"""Every page's headline numbers (kpi/report.py) and `python -m kpi report`, worked out by hand.

SMALL_PROGRAM (tests/conftest.py), as of 2026-03-31 with the default view (90-day window, every
criterion at 1 and all three needed, reward from 50,000, drop at most 2 actions, 90 days' grace):
P1 reward (revenue 61,200, cost 10,000, MRR 100), P2 nurture (40,000, cost 50,000, 12 logins),
P3 drop (MRR 50 from December, no staff), P4 nurture (joined 2026-03-01, 1,000 without cost),
P5 left on 2026-02-01.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from kpi import metrics, report, tiers
from kpi.params import View
from kpi.store import connect
from tests.conftest import ROOT, d, run_cli

VIEW = View(as_of=d("2026-03-31"))


@pytest.fixture(scope="module")
def small(small_program_db):
    con = connect(small_program_db)
    yield con
    con.close()


def numbers(con, page: str, view: View = VIEW, **kwargs) -> dict:
    return report.page_report(con, view, page, **kwargs)


def test_every_report_names_its_page_and_view(small):
    for page in report.PAGES:
        got = numbers(small, page)
        assert (got["page"], got["as_of"], got["window_days"]) == (page, "2026-03-31", 90)
        assert got["view"] == {
            "as_of": "2026-03-31",
            "window_days": 90,
            "min_trainings": 1,
            "min_shares": 1,
            "min_deals": 1,
            "min_criteria": 3,
            "reward_min_revenue": 50_000.0,
            "drop_max_actions": 2,
            "grace_days": 90,
        }
        assert json.loads(json.dumps(got)) == got  # plain JSON values only


def test_overview_numbers_and_their_change_against_the_previous_window(small):
    got = numbers(small, "overview")
    # Now: P1..P4, P1 activated. Revenue 61,200 + 40,000 + 1,000; cost 10,000 + 50,000.
    assert (got["partners"], got["activated"], got["activation_pct"]) == (4, 1, 25.0)
    assert (got["revenue"], got["cost"]) == (102_200.0, 60_000.0)
    assert got["roi"] == pytest.approx((102_200 - 60_000) / 60_000)
    assert (got["mrr"], got["arr"]) == (150.0, 1_800.0)  # P1 100 + P3 50
    # Before (to 2025-12-31): P1, P2, P3 and P5 in the program, nobody activated, P3's 5,600 won
    # without any cost: no ROI then, so no ROI change.
    assert got["previous_as_of"] == "2025-12-31"
    # Before, P3 (5,600 won) was nurture and P1, P2 and P5 (no revenue, no actions in that
    # window, joined a year earlier) drop: now P1 is reward, P2 and P4 nurture, P3 drop.
    assert got["change"] == {
        "activation_pct": 25.0,
        "partners": 0,
        "activated": 1,
        "roi": None,
        "tiers": {"reward": 1, "nurture": 1, "drop": -2},
    }
    tiers = got["tiers"]
    assert list(tiers) == ["reward", "nurture", "drop"]
    assert {tier: row["partners"] for tier, row in tiers.items()} == {"reward": 1, "nurture": 2, "drop": 1}
    assert {tier: row["partners_pct"] for tier, row in tiers.items()} == {"reward": 25.0, "nurture": 50.0, "drop": 25.0}
    assert tiers["reward"]["revenue_pct"] == pytest.approx(100 * 61_200 / 102_200)
    assert tiers["nurture"]["revenue_pct"] == pytest.approx(100 * 41_000 / 102_200)
    assert tiers["nurture"]["cost_pct"] == pytest.approx(100 * 50_000 / 60_000)
    assert (tiers["drop"]["revenue"], tiers["drop"]["revenue_pct"], tiers["drop"]["cost_pct"]) == (0.0, 0.0, 0.0)


def test_tiers_headline_counts_the_partners_shown(small):
    got = numbers(small, "tiers")
    assert (got["partners"], got["shown"], got["tiers"]) == (4, 4, {"reward": 1, "nurture": 2, "drop": 1})
    segmented = metrics.segment(metrics.partner_facts(small, VIEW.as_of, 90), VIEW)
    shown = tiers.filter_partners(segmented, {"tier": ["nurture"]}, "p4")
    assert report.tiers_page(segmented, VIEW, shown)["tiers"] == {"reward": 0, "nurture": 1, "drop": 0}


def test_roi_headline_lists_and_unfunded_earners(small):
    got = numbers(small, "roi")
    assert got["roi"] == pytest.approx(42_200 / 60_000)
    assert (got["revenue"], got["cost"], got["activated"], got["cost_per_activated"]) == (
        102_200.0,
        60_000.0,
        1,
        60_000.0,
    )
    assert (got["overpaying"], got["funded"]) == (1, 2)  # P2 brought back 40,000 of its 50,000
    assert got["unfunded_earners"] == {"partners": 1, "revenue": 1_000.0}  # P4


def test_cost_per_activated_follows_the_thresholds(small):
    got = numbers(small, "roi", dataclasses.replace(VIEW, min_shares=0, min_deals=0, min_trainings=0))
    assert (got["activated"], got["cost_per_activated"]) == (4, 15_000.0)  # every criterion off: all activated


def test_recurring_cards(small):
    got = numbers(small, "recurring")
    # March: P1's 100 is new; P3's 50 was there at the end of February.
    assert (got["mrr"], got["arr"], got["month"]) == (150.0, 1_800.0, "2026-03-01")
    assert got["this_month"] == {
        "net_new_mrr": 100.0,
        "new_mrr": 100.0,
        "churned_mrr": 0.0,
        "joined_mrr": 0.0,  # P4 joined with no MRR
        "left_mrr": 0.0,  # P5 left in February, without MRR
    }
    # S = 2025-12-31: P3 alone had MRR (50) and keeps it.
    assert got["retention"] == {
        "start_day": "2025-12-31",
        "partners": 1,
        "left": 0,
        "start_mrr": 50.0,
        "end_mrr": 50.0,
        "retained_mrr": 50.0,
        "nrr": 100.0,
        "grr": 100.0,
    }
    revenue = got["revenue_concentration"]
    assert (revenue["top10_partners"], revenue["top20_partners"], revenue["partners_for_80"]) == (1, 1, 2)
    assert revenue["top10_share"] == pytest.approx(100 * 61_200 / 102_200)
    assert got["mrr_concentration"]["top10_share"] == pytest.approx(100 * 100 / 150)
    assert {tier: row["mrr"] for tier, row in got["mrr_by_tier"].items()} == {
        "reward": 100.0,
        "nurture": 0.0,
        "drop": 50.0,
    }
    assert got["mrr_by_tier"]["drop"]["mrr_pct"] == pytest.approx(100 / 3)
    assert got["partners_with_mrr"] == 2


def test_engagement_numbers_and_look_busy(small):
    got = numbers(small, "engagement")
    assert got["partners"] == 4
    assert got["items"] == {"used": 2, "total": 3, "unused": 1, "small_sample": 3}  # K2 only before the window
    # Ana, Ben and Cy did something; Ben and Cy only logged in; Dan did nothing at all. Eve's partner left.
    assert got["staff"] == {"active": 3, "total": 4, "did_none_of_the_work": 3, "silent": 1}
    assert got["partners_without_staff"] == 1  # P3
    assert got["active_staff_per_partner"] == {"no staff on record": 1, "0": 0, "1": 3, "2": 0, "3": 0, "4+": 0}
    assert got["look_busy"] == {"min_logins": 10, "partners": 1, "share_pct": 25.0}  # P2's 12 logins
    assert numbers(small, "engagement", min_logins=13)["look_busy"] == {
        "min_logins": 13,
        "partners": 0,
        "share_pct": 0.0,
    }


def test_scorecard_of_the_first_partner_by_name(small):
    got = numbers(small, "scorecard")
    assert (got["partner_id"], got["partner_name"], got["membership"], got["tier"]) == (
        "P1",
        "Partner P1",
        "in program",
        "reward",
    )
    assert (got["criteria_met"], got["criteria_enabled"], got["criteria_needed"], got["activated"]) == (3, 3, 3, True)
    assert [(c["criterion"], c["value"], c["met"]) for c in got["criteria"]] == [
        ("trainings", 1, True),
        ("content_shares", 1, True),
        ("deals_registered", 1, True),
    ]
    assert (got["revenue"], got["cost"], got["roi"], got["mrr"]) == (61_200.0, 10_000.0, 5.12, 100.0)
    assert (got["trainings"], got["logins"], got["deals_won"], got["active_users"], got["actions"]) == (1, 0, 1, 1, 3)
    assert got["months"] == 10  # June 2025 (K2, the data's first month) to March 2026
    assert got["staff"] == {"on_record": 2, "active": 1}
    # Trained and shared on 03-15: reward from the week of 03-17; revenue from 03-01 on; before, one
    # deal registration and nothing else: drop.
    assert got["weeks_in_tier"] == {"reward": 3, "nurture": 2, "drop": 7, "not in program": 0}


def test_scorecard_of_a_partner_out_of_the_program_has_no_tier(small):
    got = numbers(small, "scorecard", partner_id="P5")
    assert (got["membership"], got["left_on"], got["tier"], got["revenue"], got["criteria"]) == (
        "left",
        "2026-02-01",
        None,
        None,
        [],
    )
    assert got["weeks_in_tier"] == {"reward": 0, "nurture": 0, "drop": 3, "not in program": 9}
    assert got["staff"] == {"on_record": 1, "active": 0}
    with pytest.raises(report.UnknownPartnerError, match="no partner with id 'P9'"):
        numbers(small, "scorecard", partner_id="P9")
    with pytest.raises(ValueError, match="no page"):
        numbers(small, "sales")


# --- python -m kpi report -------------------------------------------------------------------


def test_the_command_prints_the_pages_numbers_as_json(small_program_db, small):
    code, out, err = run_cli(
        "report", "--db", small_program_db, "--page", "engagement", "--engagement-min-logins", "12", "--grace-days", "0"
    )
    assert (code, err) == (0, "")
    view = dataclasses.replace(VIEW, grace_days=0)
    assert json.loads(out) == numbers(small, "engagement", view, min_logins=12)
    code, out, _ = run_cli("report", "--db", small_program_db, "--page", "scorecard", "--partner", "P2")
    assert code == 0 and json.loads(out)["tier"] == "nurture"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--page", "sales"], "argument --page: no page 'sales'; choose one of overview, tiers, roi"),
        ([], "the following arguments are required: --page"),
        (["--page", "scorecard", "--partner", "P9"], "--partner: no partner with id 'P9'"),
        (["--page", "roi", "--partner", "P1"], "--partner is for --page scorecard only"),
        (["--page", "roi", "--engagement-min-logins", "5"], "--engagement-min-logins is for --page engagement only"),
        (["--page", "engagement", "--engagement-min-logins", "0"], "--engagement-min-logins '0': must be between 1"),
        (["--page", "overview", "--min-trainings", "x"], "--min-trainings 'x': not a whole number"),
    ],
)
def test_bad_flags_are_one_error_line_and_exit_2(small_program_db, flags, message):
    code, out, err = run_cli("report", "--db", small_program_db, *flags)
    assert (code, out) == (2, "")
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_the_command_runs_as_a_program(small_program_db):
    done = subprocess.run(
        [sys.executable, "-m", "kpi", "report", "--db", str(small_program_db), "--page", "tiers"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["tiers"] == {"reward": 1, "nurture": 2, "drop": 1}
