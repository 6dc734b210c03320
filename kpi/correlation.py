"""Suggested activation thresholds, from how each behaviour goes with revenue and wins.

For each behaviour an activation criterion counts (trainings, content shares, deals
registered) and each candidate threshold t, the partners in the program are split into
those at or above t (behaviour >= t in the window) and those below it, and the two sides
are compared on revenue per partner (revenue in the window / partners) and win rate
(100 x deals won / deals closed: won + lost with closed_on in the window), with their
sample sizes (`evidence`).

The difference at t is **large** when either
- revenue per partner at or above t is above 0 and at least REVENUE_RATIO_MIN (2) times
  that below t (below bringing nothing counts: any revenue is more than twice nothing); or
- the win rate at or above t is at least WIN_RATE_GAP_MIN (10) percentage points higher
  than below t, and each side closed at least MIN_CLOSED_DEALS (30) deals; with fewer the
  win-rate test does not count.

A candidate has **enough** data when each side holds at least MIN_PARTNERS (30) partners.
The suggested threshold is the smallest candidate with enough data and a large difference
(status "suggested"); "no clear step" when some candidates have enough data but none a large
difference; "not enough data" when none has enough data. It is a suggestion from
correlation in one window: partners who do more of a behaviour may sell more for other
reasons, so it never says the behaviour causes the revenue.

Candidates (`default_candidates`) are 1 up to the highest value at least 1 in 20 partners of the
program reach (the 95th percentile by rank), at most MAX_CANDIDATE (20), at least 1.
Everything works on the cached per-partner facts of a view (`metrics.partner_facts`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from kpi.engagement import MIN_CLOSED_DEALS

MIN_PARTNERS = 30
"""Each side of a candidate needs at least this many partners (30 is enough, 29 is not)."""
REVENUE_RATIO_MIN = 2.0
"""A large revenue step: revenue per partner at or above is at least this many times that below."""
WIN_RATE_GAP_MIN = 10.0
"""A large win-rate step: the win rate at or above is at least this many points higher."""
MAX_CANDIDATE = 20
"""The highest candidate threshold tried by default."""
CANDIDATE_SHARE = 0.05
"""Default candidates stop at the highest value at least this share of the partners reach."""

BEHAVIOURS: dict[str, str] = {
    "trainings": "min_trainings",
    "content_shares": "min_shares",
    "deals_registered": "min_deals",
}
"""Each behaviour (a `partner_facts` column) and the threshold parameter of its criterion."""

SUGGESTED = "suggested"
NO_CLEAR_STEP = "no clear step"
NOT_ENOUGH_DATA = "not enough data"

EVIDENCE_COLUMNS: tuple[str, ...] = (
    "threshold",
    "above_partners",
    "below_partners",
    "above_revenue_per_partner",
    "below_revenue_per_partner",
    "revenue_ratio",
    "above_closed",
    "below_closed",
    "above_win_rate",
    "below_win_rate",
    "win_rate_gap",
    "enough",
)

# How the reasoning names a behaviour: one, several, and the doing of it.
_WORDS: dict[str, tuple[str, str, str]] = {
    "trainings": ("training", "trainings", "training"),
    "content_shares": ("content share", "content shares", "sharing content"),
    "deals_registered": ("deal registered", "deals registered", "registering deals"),
}


@dataclass(frozen=True)
class Suggestion:
    """A threshold the data suggests for one behaviour's criterion, or why there is none."""

    behaviour: str  # a key of BEHAVIOURS
    parameter: str  # its threshold parameter (BEHAVIOURS[behaviour])
    threshold: int | None  # the suggested value; None unless status is SUGGESTED
    status: str  # SUGGESTED, NO_CLEAR_STEP or NOT_ENOUGH_DATA
    reasoning: str  # plain sentences, no markup


def _check(behaviour: str) -> None:
    if behaviour not in BEHAVIOURS:
        raise ValueError(f"{behaviour!r} is not a behaviour; choose one of {', '.join(BEHAVIOURS)}")


def default_candidates(facts: pl.DataFrame, behaviour: str) -> list[int]:
    """The default candidate thresholds: 1 .. N, N = the highest value that at least
    CANDIDATE_SHARE of the partners reach (the k-th largest value, k = ceil(share x
    partners)), limited to 1 .. MAX_CANDIDATE."""
    _check(behaviour)
    values = facts[behaviour]
    reached = 0
    if values.len():
        rank = math.ceil(CANDIDATE_SHARE * values.len())
        reached = int(values.sort(descending=True)[rank - 1])
    return list(range(1, min(max(reached, 1), MAX_CANDIDATE) + 1))


def _per(numerator: str, denominator: str, scale: float = 1.0) -> pl.Expr:
    return pl.when(pl.col(denominator) > 0).then(scale * pl.col(numerator) / pl.col(denominator))


def evidence(facts: pl.DataFrame, behaviour: str, candidates: Sequence[int] | None = None) -> pl.DataFrame:
    """Both sides of each candidate threshold t (default: `default_candidates`), ascending, one row each.

    Above = partners with behaviour >= t; below = the others. Columns (EVIDENCE_COLUMNS):
    `threshold`; `above_partners`, `below_partners`; `above_revenue_per_partner`,
    `below_revenue_per_partner` = the side's revenue / its partners (None for an empty side);
    `revenue_ratio` = above's / below's (None when below's is 0 or None); `above_closed`,
    `below_closed` = deals won + lost; `above_win_rate`, `below_win_rate` = 100 x won / closed
    (None when the side closed no deal); `win_rate_gap` = above's - below's, in points (None
    when either is None); `enough` = both sides have at least MIN_PARTNERS partners.
    """
    _check(behaviour)
    tried = default_candidates(facts, behaviour) if candidates is None else sorted(set(candidates))
    if any(t < 1 for t in tried):
        raise ValueError("candidate thresholds are whole numbers of at least 1")
    grid = pl.DataFrame({"threshold": tried}, schema={"threshold": pl.Int64})
    above = pl.col(behaviour) >= pl.col("threshold")
    closed = pl.col("deals_won") + pl.col("deals_lost")
    sides = (
        facts.lazy()
        .select(behaviour, "revenue", "deals_won", "deals_lost")
        .join(grid.lazy(), how="cross")
        .group_by("threshold")
        .agg(
            pl.len().alias("partners"),
            above.sum().alias("above_partners"),
            pl.col("revenue").filter(above).sum().alias("above_revenue"),
            pl.col("revenue").sum().alias("revenue"),
            pl.col("deals_won").filter(above).sum().alias("above_won"),
            pl.col("deals_won").sum().alias("won"),
            closed.filter(above).sum().alias("above_closed"),
            closed.sum().alias("closed"),
        )
    )
    counts = ["partners", "above_partners", "above_won", "won", "above_closed", "closed"]
    return (
        grid.lazy()
        .join(sides, on="threshold", how="left")
        .with_columns(pl.col(counts).fill_null(0).cast(pl.Int64), pl.col("above_revenue", "revenue").fill_null(0.0))
        .with_columns(
            below_partners=pl.col("partners") - pl.col("above_partners"),
            below_revenue=pl.col("revenue") - pl.col("above_revenue"),
            below_won=pl.col("won") - pl.col("above_won"),
            below_closed=pl.col("closed") - pl.col("above_closed"),
        )
        .with_columns(
            above_revenue_per_partner=_per("above_revenue", "above_partners"),
            below_revenue_per_partner=_per("below_revenue", "below_partners"),
            above_win_rate=_per("above_won", "above_closed", 100.0),
            below_win_rate=_per("below_won", "below_closed", 100.0),
        )
        .with_columns(
            revenue_ratio=_per("above_revenue_per_partner", "below_revenue_per_partner"),
            win_rate_gap=pl.col("above_win_rate") - pl.col("below_win_rate"),
            enough=(pl.col("above_partners") >= MIN_PARTNERS) & (pl.col("below_partners") >= MIN_PARTNERS),
        )
        .select(EVIDENCE_COLUMNS)
        .sort("threshold")
        .collect()
    )


def revenue_step() -> pl.Expr:
    """Over `evidence` rows: revenue per partner at or above is above 0 and at least
    REVENUE_RATIO_MIN times that below (false when either side is empty)."""
    above, below = pl.col("above_revenue_per_partner"), pl.col("below_revenue_per_partner")
    return ((above > 0) & (above >= REVENUE_RATIO_MIN * below)).fill_null(False)


def win_rate_step() -> pl.Expr:
    """Over `evidence` rows: each side closed at least MIN_CLOSED_DEALS deals and the win
    rate at or above is at least WIN_RATE_GAP_MIN points higher than below."""
    closed_enough = (pl.col("above_closed") >= MIN_CLOSED_DEALS) & (pl.col("below_closed") >= MIN_CLOSED_DEALS)
    return (closed_enough & (pl.col("win_rate_gap") >= WIN_RATE_GAP_MIN)).fill_null(False)


def large_difference() -> pl.Expr:
    """Over `evidence` rows: the difference is large, by revenue (`revenue_step`) or by win
    rate (`win_rate_step`)."""
    return revenue_step() | win_rate_step()


def _money(value: float) -> str:
    return f"{value:,.0f}"


def _deals(count: int) -> str:
    return f"{count:,} closed deal" if count == 1 else f"{count:,} closed deals"


def _won(win_rate: float | None, closed: int) -> str:
    return "closed no deal" if win_rate is None else f"won {win_rate:.1f}% of {_deals(closed)}"


def _at(behaviour: str, value: int) -> str:
    one, many, _ = _WORDS[behaviour]
    return f"{value:,} {one if value == 1 else many}"


def _values(thresholds: list[int]) -> str:
    """Candidate values in words: "1 to 8" for a run, else each of them."""
    if len(thresholds) > 2 and thresholds == list(range(thresholds[0], thresholds[-1] + 1)):
        return f"{thresholds[0]:,} to {thresholds[-1]:,}"
    return ", ".join(f"{t:,}" for t in thresholds) or "none"


def _sides(behaviour: str, row: dict[str, Any]) -> str:
    """Both sides of one candidate in words."""
    many = _WORDS[behaviour][1]
    return (
        f"Partners with {row['threshold']:,} or more {many} ({row['above_partners']:,}) brought "
        f"{_money(row['above_revenue_per_partner'])} per partner and "
        f"{_won(row['above_win_rate'], row['above_closed'])}; the {row['below_partners']:,} below brought "
        f"{_money(row['below_revenue_per_partner'])} per partner and "
        f"{_won(row['below_win_rate'], row['below_closed'])}."
    )


def _steps(row: dict[str, Any]) -> str:
    """The tests that made the difference large (`revenue_step`, `win_rate_step`), in words."""
    steps = []
    if row["revenue_step"]:
        steps.append(
            "revenue where the partners below brought none"
            if row["revenue_ratio"] is None
            else f"{row['revenue_ratio']:.1f} times the revenue per partner"
        )
    if row["win_rate_step"]:
        steps.append(f"a win rate {row['win_rate_gap']:.1f} points higher")
    return " and ".join(steps)


def _rule() -> str:
    return (
        f"revenue per partner at least {REVENUE_RATIO_MIN:g} times that below, or a win rate at least "
        f"{WIN_RATE_GAP_MIN:g} points higher with at least {MIN_CLOSED_DEALS} closed deals on each side"
    )


def suggest(facts: pl.DataFrame, behaviour: str, candidates: Sequence[int] | None = None) -> Suggestion:
    """The suggested threshold for one behaviour: the smallest candidate of `evidence` with
    enough data (MIN_PARTNERS on each side) and a large difference (`large_difference`),
    with the reasoning in words; else "no clear step" or "not enough data"."""
    rows = evidence(facts, behaviour, candidates).with_columns(
        revenue_step=revenue_step(), win_rate_step=win_rate_step()
    )
    parameter = BEHAVIOURS[behaviour]
    _, many, doing = _WORDS[behaviour]
    tried = _values(rows["threshold"].to_list())
    caveat = f"it shows the two go together, not that {doing} causes revenue."
    found = rows.filter(pl.col("enough") & (pl.col("revenue_step") | pl.col("win_rate_step")))
    if found.height:
        row = found.row(0, named=True)
        reasoning = (
            f"{_sides(behaviour, row)} This is the smallest value with at least {MIN_PARTNERS} partners on each "
            f"side where the difference is large: {_steps(row)}. A suggestion from the data: {caveat}"
        )
        return Suggestion(behaviour, parameter, int(row["threshold"]), SUGGESTED, reasoning)
    enough = rows.filter(pl.col("enough"))
    if enough.height:
        # The closest call: the candidate whose revenue step is largest (a missing ratio last).
        row = enough.sort("revenue_ratio", "threshold", descending=[True, False], nulls_last=True).row(0, named=True)
        ratio = (
            "no revenue to compare"
            if row["revenue_ratio"] is None
            else f"revenue per partner {row['revenue_ratio']:.1f} times that below"
        )
        gap = (
            "no win rate to compare"
            if row["win_rate_gap"] is None
            else f"a win rate {row['win_rate_gap']:+.1f} points against those below"
        )
        reasoning = (
            f"None of the values tried ({tried}) with at least {MIN_PARTNERS} partners on each side shows a large "
            f"difference ({_rule()}). The largest revenue step is at {_at(behaviour, row['threshold'])}: {ratio}, "
            f"{gap}. The data does not point to a threshold for {many}."
        )
        return Suggestion(behaviour, parameter, None, NO_CLEAR_STEP, reasoning)
    if facts.height == 0:
        detail = " The program has no partners on this date."
    elif rows.height:
        split = rows.with_columns(smaller=pl.min_horizontal("above_partners", "below_partners"))
        row = split.sort("smaller", "threshold", descending=[True, False]).row(0, named=True)
        detail = (
            f" The most even split, at {_at(behaviour, row['threshold'])}, has {row['above_partners']:,} partners "
            f"at or above and {row['below_partners']:,} below."
        )
    else:
        detail = ""
    reasoning = (
        f"Not enough data: none of the values tried ({tried}) leaves at least {MIN_PARTNERS} partners both at or "
        f"above it and below it.{detail}"
    )
    return Suggestion(behaviour, parameter, None, NOT_ENOUGH_DATA, reasoning)


def suggestions(facts: pl.DataFrame) -> list[Suggestion]:
    """`suggest` for every behaviour of BEHAVIOURS, in that order, with the default candidates."""
    return [suggest(facts, behaviour) for behaviour in BEHAVIOURS]
