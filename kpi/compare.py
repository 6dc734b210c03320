"""Comparing two views of the program (SPEC "Comparing two views"), and how the tiers move as
one threshold moves.

`compare` takes the segmented partners of a base view (the policy, or the same view a week
earlier) and of the current view: the tier from / to matrix, with `out` for a partner not in
the program in one of the views, and every partner whose tier differs with the reason in
words. `sensitivity` applies one threshold at many values to the same cached facts.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import polars as pl

from kpi import metrics
from kpi.params import SPEC_BY_NAME, THRESHOLDS, View

OUT = "out"
STATES: tuple[str, ...] = (*metrics.TIERS, OUT)
"""Where a partner can be in a view: a tier, or `out` (not in the program on that as-of date)."""

MOVER_COLUMNS: tuple[str, ...] = ("partner_id", "partner_name", "from_tier", "to_tier", "reason", "revenue")

CRITERION_WORDS = {
    "trainings": "trainings",
    "content_shares": "content shares",
    "deals_registered": "deal registrations",
}

# What `sensitivity` tries when no values are given (`default_values` adds the view's own
# value): the slider's whole range where it is short, a grid over the values that matter
# where the control's range is wide. The reward revenue's grid follows the data instead.
DEFAULT_VALUES: dict[str, tuple[int, ...]] = {
    "min_trainings": tuple(range(0, 21)),
    "min_shares": tuple(range(0, 21)),
    "min_deals": tuple(range(0, 21)),
    "min_criteria": tuple(range(0, 4)),
    "drop_max_actions": tuple(range(0, 21)),
    "grace_days": tuple(range(0, 366, 15)),
}
REVENUE_PERCENTILE = 0.95
"""The reward revenue grid reaches this percentile of the earning partners' revenue."""
REVENUE_GRID_STEPS = 20
"""About how many steps the reward revenue grid takes from 0 to its top."""


@dataclass(frozen=True)
class Comparison:
    """Two views' tiers side by side."""

    matrix: dict[str, dict[str, int]]  # from state -> to state -> partners, every key present
    movers: pl.DataFrame  # partner_id, partner_name, from_tier, to_tier, revenue: whose state differs
    base_rows: pl.DataFrame  # the base view's segmented partners
    base_view: View
    current_rows: pl.DataFrame  # the current view's segmented partners, for the reasons
    current_view: View

    # Summed only when read (the CLI's JSON, the weekly review): a slider move on a page
    # that shows the matrix and the movers does not need them.
    @functools.cached_property
    def base(self) -> dict[str, Any]:
        """`metrics.summarize` of the base view."""
        return metrics.summarize(self.base_rows, self.base_view)

    @functools.cached_property
    def current(self) -> dict[str, Any]:
        """`metrics.summarize` of the current view."""
        return metrics.summarize(self.current_rows, self.current_view)

    @property
    def moved(self) -> int:
        return self.movers.height

    def explained(self, movers: pl.DataFrame | None = None) -> pl.DataFrame:
        """`movers` (default: every mover) with the reason for each one's state in the
        current view, in MOVER_COLUMNS order. Wording reasons is row by row, so a page
        asks only for the rows it shows."""
        movers = self.movers if movers is None else movers
        rows_now = {
            row["partner_id"]: row
            for row in self.current_rows.filter(pl.col("partner_id").is_in(movers["partner_id"].to_list())).iter_rows(
                named=True
            )
        }
        out_of_program = f"not in the program on {self.current_view.as_of.isoformat()}"
        reasons = [
            reason(rows_now[pid], self.current_view) if pid in rows_now else out_of_program
            for pid in movers["partner_id"]
        ]
        return movers.with_columns(pl.Series("reason", reasons, dtype=pl.String)).select(MOVER_COLUMNS)

    def as_json(self) -> dict[str, Any]:
        """SPEC's JSON: {"base", "current", "moved", "matrix"}."""
        return {"base": self.base, "current": self.current, "moved": self.moved, "matrix": self.matrix}


def _count(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" if count != 1 else f"{count:,} {word.removesuffix('s')}"


def _criteria_gaps(row: Mapping[str, Any], view: View) -> list[str]:
    enabled, needed = metrics.criteria_needed(view)
    unmet = [
        f"needs {_plural(threshold, CRITERION_WORDS[column])}, has {int(row[column]):,}"
        for column, threshold in enabled
        if int(row[column]) < threshold
    ]
    if not enabled:
        return ["no criterion is switched on"]
    return [f"meets {int(row['criteria_met'])} of the {needed} criteria needed", *unmet]


def reason(row: Mapping[str, Any], view: View) -> str:
    """Why a partner of the population is in its tier under `view`, in words: the rule that
    put it there and, where it missed another tier, by how much. `row` is a row of
    `metrics.segment`."""
    revenue = float(row["revenue"])
    if row["tier"] == "reward":
        return (
            f"activated ({int(row['criteria_met'])} criteria met) and revenue {_count(revenue)} "
            f">= reward threshold {_count(view.reward_min_revenue)}"
        )
    grace_end = row["joined_on"] + timedelta(days=view.grace_days)
    if row["tier"] == "drop":
        return (
            f"not activated ({'; '.join(_criteria_gaps(row, view))}), no revenue, "
            f"{_plural(int(row['actions']), 'actions')} <= drop limit {view.drop_max_actions:,}, "
            f"past the {view.grace_days}-day grace period"
        )
    # Nurture: why not reward, and why not drop.
    if row["activated"]:
        not_reward = f"revenue {_count(revenue)} < reward threshold {_count(view.reward_min_revenue)}"
        return f"activated but {not_reward}"
    not_reward = "not activated: " + "; ".join(_criteria_gaps(row, view))
    if revenue > 0:
        not_drop = f"revenue {_count(revenue)}"
    elif int(row["actions"]) > view.drop_max_actions:
        not_drop = f"{_plural(int(row['actions']), 'actions')} > drop limit {view.drop_max_actions:,}"
    else:
        not_drop = f"in the grace period until {grace_end.isoformat()}"
    return f"{not_reward}; kept from drop by {not_drop}"


def _states(segmented: pl.DataFrame) -> pl.DataFrame:
    return segmented.select("partner_id", "partner_name", "tier", "revenue")


def _aligned(base: pl.DataFrame, current: pl.DataFrame) -> bool:
    """Whether the two frames hold the same partners in the same order."""
    return base.height == current.height and base["partner_id"].equals(current["partner_id"])


def compare(base: pl.DataFrame, base_view: View, current: pl.DataFrame, current_view: View) -> Comparison:
    """The base view's tiers against the current view's, from their `metrics.segment` frames.

    A partner in one view's population and not in the other's is `out` there. The matrix
    counts every partner of either population by (base state, current state); movers are
    the partners whose state differs, by partner_id; `Comparison.explained` adds the reason
    for each one's state in the current view (or why it is out of it).
    """
    if _aligned(base, current):
        # Both views segment the same facts (same as-of date and window): row i is the same
        # partner in both, and nobody is out of either, so no join is needed.
        joined = current.select(
            "partner_id",
            "partner_name",
            base["tier"].alias("from_tier"),
            pl.col("tier").alias("to_tier"),
            "revenue",
        )
    else:
        joined = _states(base).join(_states(current), on="partner_id", how="full", coalesce=True, suffix="_now")
        joined = joined.with_columns(
            pl.col("tier").fill_null(OUT).alias("from_tier"),
            pl.col("tier_now").fill_null(OUT).alias("to_tier"),
            pl.coalesce("partner_name_now", "partner_name").alias("partner_name"),
            pl.coalesce("revenue_now", "revenue").alias("revenue"),
        )
    counts = {(f, t): n for f, t, n in joined.group_by("from_tier", "to_tier").len().iter_rows()}
    matrix = {f: {t: int(counts.get((f, t), 0)) for t in STATES} for f in STATES}
    moved = joined.filter(pl.col("from_tier") != pl.col("to_tier")).sort("partner_id")
    movers = moved.select("partner_id", "partner_name", "from_tier", "to_tier", "revenue")
    return Comparison(matrix, movers, base, base_view, current, current_view)


def default_values(facts: pl.DataFrame, view: View, name: str) -> tuple[int | float, ...]:
    """The values `sensitivity` tries for threshold `name` when none are given: DEFAULT_VALUES,
    except for `reward_min_revenue`, whose grid covers the data (`revenue_grid`), and always
    with the view's own value added (ascending, no repeats)."""
    grid = revenue_grid(facts, view.reward_min_revenue) if name == "reward_min_revenue" else DEFAULT_VALUES[name]
    return tuple(sorted({*grid, getattr(view, name)}))


def revenue_grid(facts: pl.DataFrame, current: float) -> tuple[float, ...]:
    """The default reward revenues to try: 0 up to the top in REVENUE_GRID_STEPS equal, round
    steps (1, 2, 2.5 or 5 times a power of ten). The top is the first multiple of the step at
    or above the larger of `current` and the REVENUE_PERCENTILE of revenue among the partners
    with any revenue in the window (nearest rank); without either, the parameter's default."""
    earners = facts.filter(pl.col("revenue") > 0)["revenue"]
    percentile = float(earners.quantile(REVENUE_PERCENTILE, "nearest")) if earners.len() else 0.0  # type: ignore[arg-type]
    top = max(current, percentile) or float(SPEC_BY_NAME["reward_min_revenue"].default)  # type: ignore[arg-type]
    raw_step = top / REVENUE_GRID_STEPS
    magnitude = 10.0 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * magnitude >= raw_step)
    steps = math.ceil(top / step - 1e-9)
    return tuple(float(i * step) for i in range(steps + 1))


def _sensitivity_plan(facts: pl.DataFrame, view: View, name: str, values: Sequence[float] | None) -> pl.LazyFrame:
    """`sensitivity` as one lazy query: the facts crossed with the values (one copy of the
    partners per value), the tier rules of `metrics.apply_thresholds` with `name` read from
    the `value` column, then counted per value."""
    if name not in THRESHOLDS:
        raise ValueError(f"{name} is not a threshold; vary one of {', '.join(THRESHOLDS)}")
    kind = int if SPEC_BY_NAME[name].kind == "int" else float
    dtype = pl.Int64 if kind is int else pl.Float64
    tried = default_values(facts, view, name) if values is None else values
    # A position per value, so repeated values keep a row each, in the order given.
    grid = pl.DataFrame(
        {"position": range(len(tried)), "value": [kind(v) for v in tried]},
        schema={"position": pl.Int64, "value": dtype},
    )
    thresholds = metrics.threshold_exprs(view, **{name: pl.col("value")})
    segmented = metrics.apply_thresholds(
        facts.lazy().join(grid.lazy(), how="cross"), thresholds, pl.lit(view.as_of, dtype=pl.Date)
    )
    counts = segmented.group_by("position").agg(
        pl.len().alias("partners"),
        pl.col("activated").sum().alias("activated"),
        *[(pl.col("tier") == tier).sum().alias(tier) for tier in metrics.TIERS],
    )
    count_columns = ["partners", "activated", *metrics.TIERS]
    return (
        grid.lazy()
        .join(counts, on="position", how="left")
        .sort("position")
        .with_columns(pl.col(count_columns).fill_null(0).cast(pl.Int64))
        .select(
            "value",
            "partners",
            "activated",
            pl.when(pl.col("partners") > 0)
            .then(100.0 * pl.col("activated") / pl.col("partners"))
            .alias("activation_pct"),
            *metrics.TIERS,
        )
    )


def sensitivity(facts: pl.DataFrame, view: View, name: str, values: Sequence[float] | None = None) -> pl.DataFrame:
    """The program as threshold `name` takes each of `values` (default `default_values`), every
    other parameter as in `view`: one row per value, in the order given, with `value, partners,
    activated, activation_pct, reward, nurture, drop` (activation_pct = 100 x activated /
    partners, empty without partners). The tier rules of `metrics.segment`, applied to the
    same facts at every value in one pass, never re-read."""
    return _sensitivity_plan(facts, view, name, values).collect()


def sensitivity_all(facts: pl.DataFrame, view: View) -> dict[str, pl.DataFrame]:
    """`sensitivity` of every threshold (THRESHOLDS, in that order) at its default values."""
    plans = [_sensitivity_plan(facts, view, name, None) for name in THRESHOLDS]
    return dict(zip(THRESHOLDS, pl.collect_all(plans), strict=True))
