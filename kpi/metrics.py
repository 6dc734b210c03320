"""KPI definitions (SPEC "KPI definitions" and "Activation and tiers").

`partner_facts` is the only function that scans events; its result is cached by
the app per (dataset, as-of, window). `segment` and `summarize` apply the
thresholds of a `View` to those facts in memory, so a slider move is cheap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, TypeVar

import duckdb
import polars as pl

from kpi.params import THRESHOLDS, View
from kpi.store import query

T = TypeVar("T", float, pl.Expr)
Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)

TIERS: tuple[str, ...] = ("reward", "nurture", "drop")

SEGMENT_COLUMNS: tuple[str, ...] = (
    "partner_id",
    "partner_name",
    "tier",
    "activated",
    "criteria_met",
    "trainings",
    "content_shares",
    "content_views",
    "logins",
    "active_users",
    "deals_registered",
    "deals_won",
    "revenue",
    "cost",
    "roi",
    "mrr",
)


def partner_facts(con: duckdb.DuckDBPyConnection, as_of: date, window_days: int) -> pl.DataFrame:
    """Per-partner facts of the population at `as_of`, counted over the window.

    Population: joined_on <= A and (left_on empty or left_on > A). Window: A - W < d <= A.
    Columns: identity (partner_id, partner_name, region, partner_type, channel_manager,
    joined_on), the behaviour counts (trainings, content_shares, content_views, logins,
    active_users, deals_registered; deals_won and deals_lost: won / lost with closed_on in
    the window), revenue (deal value = amount + 12 x mrr of deals won in the window), cost
    (investments spent in the window) and mrr at A (won deals closed on or before A and not
    churned by A).
    """
    return facts_at(con, [as_of], window_days).drop("as_of")


def facts_at(
    con: duckdb.DuckDBPyConnection, as_of_dates: Sequence[date], window_days: int, partner_id: str | None = None
) -> pl.DataFrame:
    """`partner_facts` at each of several as-of dates (one definition for now and for history).

    One row per as-of date and partner of the population at that date, with an `as_of`
    column first; each date counts its own window (A - W < d <= A). `partner_id` narrows
    it to one partner (the scorecard's tier history). Apply `segment` per as-of date with
    `segment_at`.
    """
    return query(
        con,
        "partner_facts",
        as_of_dates=[d.isoformat() for d in as_of_dates],
        window_days=window_days,
        partner_id=partner_id,
    )


def segment_at(facts: pl.DataFrame, view: View) -> pl.DataFrame:
    """`segment` applied to facts of several as-of dates (from `facts_at`) in one pass: the
    view's thresholds everywhere, and each row's own grace cutoff (joined_on <= its as_of -
    grace_days). The view's own as-of date is not used."""
    return apply_thresholds(facts, threshold_exprs(view), pl.col("as_of"))


def partner_months(con: duckdb.DuckDBPyConnection, until: date, partner_id: str | None = None) -> pl.DataFrame:
    """Each partner calendar month by calendar month, up to the month of `until` (cut at it).

    The months are those of `monthly_program`: from the first month of the data (the first
    activity, deal registration or investment; the first join when there is none). One row
    per partner and month from its first month (the month it joined, or earlier if it had
    deals, activity or investments before): `month` (first day), `month_end` (last day, or
    `until`), `in_program` (in the population at month_end), the behaviour counts and
    active_users within the month, deals_registered / deals_won / deals_lost (by
    registered_on / closed_on in the month), revenue (deal value won in the month), cost
    (spent in the month), mrr live at month_end, and new_mrr / churned_mrr (mrr of won
    deals closed / churned in the month): mrr(m) - mrr(m-1) = new_mrr - churned_mrr.
    """
    return query(con, "partner_months", until=until, partner_id=partner_id)


def arr(mrr: T) -> T:
    """ARR = 12 x MRR, for a number or a Polars expression."""
    return 12.0 * mrr  # type: ignore[operator,return-value]


CRITERIA_COLUMNS: tuple[str, ...] = ("trainings", "content_shares", "deals_registered")
"""The fact columns the three activation criteria count, in the order of their thresholds."""
CRITERIA_THRESHOLDS: tuple[str, ...] = ("min_trainings", "min_shares", "min_deals")
"""The thresholds of CRITERIA_COLUMNS, in the same order."""


def criteria_needed(view: View) -> tuple[list[tuple[str, int]], int]:
    """The enabled criteria as (fact column, threshold) and how many must be met.

    A criterion is disabled at 0. A partner needs `min_criteria` of the enabled
    criteria, or all of them when `min_criteria` exceeds the number enabled.
    """
    thresholds = (getattr(view, name) for name in CRITERIA_THRESHOLDS)
    criteria = zip(CRITERIA_COLUMNS, thresholds, strict=True)
    enabled = [(column, threshold) for column, threshold in criteria if threshold > 0]
    return enabled, min(view.min_criteria, len(enabled))


def segment(facts: pl.DataFrame, view: View) -> pl.DataFrame:
    """Apply the view's thresholds to partner facts.

    Adds `actions` (trainings + content_shares + content_views + deals_registered;
    logins are deliberately not engagement), `criteria_met`, `activated`, `tier` and
    `roi` = (revenue - cost) / cost, empty when cost is 0. Tiers, first match wins:
    reward (activated and revenue >= reward_min_revenue); drop (not activated, revenue 0,
    actions <= drop_max_actions, joined_on <= A - grace_days); nurture (everyone else).
    """
    return apply_thresholds(facts, threshold_exprs(view), pl.lit(view.as_of, dtype=pl.Date))


def threshold_exprs(view: View, **columns: pl.Expr) -> dict[str, pl.Expr]:
    """The view's thresholds (THRESHOLDS) as Polars literals for `apply_thresholds`; a name
    given in `columns` takes that expression instead (a column holding one value per row)."""
    return {name: columns.get(name, pl.lit(getattr(view, name))) for name in THRESHOLDS}


def apply_thresholds(facts: Frame, thresholds: Mapping[str, pl.Expr], as_of: pl.Expr) -> Frame:
    """The activation and tier rules, each threshold (a `THRESHOLDS` name) an expression, so
    one row can carry its own value (`segment` gives literals; `compare.sensitivity` a column).

    Criterion i (CRITERIA_COLUMNS, thresholds min_trainings, min_shares, min_deals) is
    enabled when its threshold > 0; `criteria_met` = enabled criteria whose count >= the
    threshold; needed = min(min_criteria, criteria enabled); `activated` = criteria_met >=
    needed. Tiers, first match wins: reward (activated, revenue >= reward_min_revenue); drop
    (not activated, revenue 0, actions <= drop_max_actions, joined_on <= `as_of` -
    grace_days); nurture. Adds `actions`, `criteria_met`, `activated`, `tier` and `roi`.
    """
    enabled = [thresholds[name] > 0 for name in CRITERIA_THRESHOLDS]
    met = [
        (on & (pl.col(column) >= thresholds[name])).cast(pl.Int64)
        for on, column, name in zip(enabled, CRITERIA_COLUMNS, CRITERIA_THRESHOLDS, strict=True)
    ]
    needed = pl.min_horizontal(thresholds["min_criteria"], pl.sum_horizontal([on.cast(pl.Int64) for on in enabled]))
    grace_cutoff = as_of - pl.duration(days=thresholds["grace_days"])
    return (
        facts.with_columns(
            actions=pl.col("trainings")
            + pl.col("content_shares")
            + pl.col("content_views")
            + pl.col("deals_registered"),
            criteria_met=pl.sum_horizontal(met).cast(pl.Int64),
        )
        .with_columns(activated=pl.col("criteria_met") >= needed)
        .with_columns(
            tier=pl.when(pl.col("activated") & (pl.col("revenue") >= thresholds["reward_min_revenue"]))
            .then(pl.lit("reward"))
            .when(
                ~pl.col("activated")
                & (pl.col("revenue") == 0)
                & (pl.col("actions") <= thresholds["drop_max_actions"])
                & (pl.col("joined_on") <= grace_cutoff)
            )
            .then(pl.lit("drop"))
            .otherwise(pl.lit("nurture")),
            roi=pl.when(pl.col("cost") > 0).then((pl.col("revenue") - pl.col("cost")) / pl.col("cost")),
        )
    )


def roi(revenue: float, cost: float) -> float | None:
    """(revenue - cost) / cost; None (empty, never infinite or zero) when cost is 0."""
    return (revenue - cost) / cost if cost > 0 else None


def activation_pct(activated: int, population: int) -> float | None:
    """100 x activated / population; None when the population is empty."""
    return 100.0 * activated / population if population else None


def totals(segmented: pl.DataFrame) -> dict[str, Any]:
    """Every sum `summarize` and `tier_breakdown` read, in one pass over the segmented
    partners: partners, activated, revenue, cost and MRR of the program, and partners,
    revenue and cost of each tier (keys `TIER_partners`, `TIER_revenue`, `TIER_cost`).
    A slider move needs them several times, so they are one query, not one per number."""
    tier = pl.col("tier")
    sums: dict[str, pl.Expr] = {
        "partners": pl.len(),
        "activated": pl.col("activated").sum().cast(pl.Int64),
        "revenue": pl.col("revenue").sum().cast(pl.Float64),
        "cost": pl.col("cost").sum().cast(pl.Float64),
        "mrr": pl.col("mrr").sum().cast(pl.Float64),
    }
    for name in TIERS:
        sums[f"{name}_partners"] = (tier == name).sum().cast(pl.Int64)
        sums[f"{name}_revenue"] = pl.col("revenue").filter(tier == name).sum().cast(pl.Float64)
        sums[f"{name}_cost"] = pl.col("cost").filter(tier == name).sum().cast(pl.Float64)
    row = segmented.select(**sums).row(0, named=True)
    return {key: (0 if value is None else value) for key, value in row.items()}


def summarize(segmented: pl.DataFrame, view: View, sums: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The program summary of SPEC "Headless interface": totals over the population.
    `sums` is `totals(segmented)` when the caller has it already."""
    sums = totals(segmented) if sums is None else sums
    partners, activated = int(sums["partners"]), int(sums["activated"])
    revenue, cost, mrr = float(sums["revenue"]), float(sums["cost"]), float(sums["mrr"])
    return {
        "as_of": view.as_of.isoformat(),
        "window_days": view.window_days,
        "partners": partners,
        "activated": activated,
        "activation_pct": activation_pct(activated, partners),
        "tiers": {tier: int(sums[f"{tier}_partners"]) for tier in TIERS},
        "revenue": revenue,
        "cost": cost,
        "roi": roi(revenue, cost),
        "mrr": mrr,
        "arr": arr(mrr),
    }


def tier_breakdown(segmented: pl.DataFrame, sums: Mapping[str, Any] | None = None) -> pl.DataFrame:
    """Per tier: partners, revenue, cost, and each tier's share (%) of the program's
    partners, revenue and cost. Every tier has a row, also when it is empty; a share of
    a zero total is empty. `sums` is `totals(segmented)` when the caller has it already."""
    sums = totals(segmented) if sums is None else sums

    def share(part: float, total: float) -> float | None:
        return 100.0 * part / total if total else None

    rows = [
        {
            "tier": tier,
            "partners": int(sums[f"{tier}_partners"]),
            "revenue": float(sums[f"{tier}_revenue"]),
            "cost": float(sums[f"{tier}_cost"]),
            "partners_pct": share(sums[f"{tier}_partners"], sums["partners"]),
            "revenue_pct": share(sums[f"{tier}_revenue"], sums["revenue"]),
            "cost_pct": share(sums[f"{tier}_cost"], sums["cost"]),
        }
        for tier in TIERS
    ]
    schema = {
        "tier": pl.String,
        "partners": pl.Int64,
        "revenue": pl.Float64,
        "cost": pl.Float64,
        "partners_pct": pl.Float64,
        "revenue_pct": pl.Float64,
        "cost_pct": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema)


def monthly_program(con: duckdb.DuckDBPyConnection, until: date) -> pl.DataFrame:
    """Month by month up to `until`: partners in the program at month end (or at `until`
    for its own month) and revenue won in the month (deal value by closed_on).

    The months start at the first month of the data (the first activity, deal registration
    or investment; the first join when there is none), as in `partner_months`.
    """
    return query(con, "monthly_program", until=until)
