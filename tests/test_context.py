"""The line above every page that says what the page shows: the demo or the user's data, the
policy's thresholds or a what-if, and the view itself (a screenshot has no sidebar)."""

from __future__ import annotations

import pytest

from kpi import scenarios
from kpi.params import THRESHOLDS, View
from tests.conftest import open_page
from ui import format as fmt

PAGES = ("overview", "tiers", "whatif", "weekly", "roi", "recurring", "engagement", "scorecard")


def context(at) -> str:
    """The page's context line: the first caption of the main area."""
    return next(c.value for c in at.main.caption)


def test_thresholds_line_states_every_threshold_in_words():
    line = fmt.thresholds_line({name: getattr(View(as_of=None), name) for name in THRESHOLDS}, "$")  # type: ignore[arg-type]
    assert line == (
        "trainings ≥ 1 · content shares ≥ 1 · deal registrations ≥ 1 · all 3 criteria · "
        "reward from $50,000 · drop at most 2 actions · 90 days' grace"
    )


@pytest.mark.parametrize(
    ("counts", "phrase"),
    [
        ((2, 0, 1, 3), "trainings ≥ 2 · content shares off · deal registrations ≥ 1 · all 2 criteria"),
        ((1, 1, 1, 2), "trainings ≥ 1 · content shares ≥ 1 · deal registrations ≥ 1 · 2 of 3 criteria"),
        ((0, 4, 0, 1), "trainings off · content shares ≥ 4 · deal registrations off · the criterion"),
        ((0, 0, 0, 3), "trainings off · content shares off · deal registrations off · every partner activated"),
        ((1, 1, 1, 0), "deal registrations ≥ 1 · every partner activated"),
    ],
)
def test_thresholds_line_reads_the_criteria_as_the_spec_counts_them(counts, phrase):
    values = dict(zip(("min_trainings", "min_shares", "min_deals", "min_criteria"), counts, strict=True))
    line = fmt.thresholds_line(values | {"reward_min_revenue": 20_000.0, "drop_max_actions": 0, "grace_days": 30})
    assert phrase in line
    assert line.endswith("reward from $20,000 · drop at most 0 actions · 30 days' grace")


@pytest.mark.parametrize("page", PAGES)
def test_every_page_says_it_shows_the_demo_and_the_policys_thresholds(demo_db, monkeypatch, page):
    at = open_page(demo_db, monkeypatch, page, window_days="60")
    assert not at.exception
    line = context(at)
    assert line.startswith(":violet-badge[:material/science: Demo data] :green-badge[")
    assert "The policy's thresholds" in line
    assert "the last **60 days**" in line
    assert "trainings ≥ 1 · content shares ≥ 1 · deal registrations ≥ 1 · all 3 criteria" in line


def test_a_moved_threshold_is_marked_as_a_what_if_naming_it(demo_db, monkeypatch):
    at = open_page(demo_db, monkeypatch, "roi", min_deals="2", reward_min_revenue="20000")
    line = context(at)
    assert (
        ":orange-badge[:material/tune: What-if: not the policy's thresholds (deal registrations, reward revenue)]"
        in fmt_unescaped(line)
    )
    assert "deal registrations ≥ 2" in line and "reward from \\$20,000" in line
    assert "The policy's thresholds" not in line


def test_the_policy_is_the_saved_one_not_the_defaults(small_program_db, tmp_path, monkeypatch):
    # A copy of the small program whose policy asks for two trainings: the defaults are a what-if.
    db = tmp_path / "policy.duckdb"
    db.write_bytes(small_program_db.read_bytes())
    strict = scenarios.save(db, "strict", {"min_trainings": 2})
    scenarios.set_policy(db, strict.name)
    assert "What-if: not the policy's thresholds (trainings)" in fmt_unescaped(
        context(open_page(db, monkeypatch, "overview"))
    )
    line = context(open_page(db, monkeypatch, "overview", min_trainings="2"))
    assert "The policy's thresholds" in line
    assert "Demo data" not in line  # the user's own data carries no demo marker


def test_the_data_page_has_no_thresholds_line(demo_db, monkeypatch):
    at = open_page(demo_db, monkeypatch, "data")
    assert not any("The policy's thresholds" in c.value for c in at.main.caption)


def fmt_unescaped(text: str) -> str:
    """The line as the reader sees it: markdown's backslash escapes removed."""
    return text.replace("\\", "")
