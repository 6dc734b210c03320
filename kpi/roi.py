"""Return on investment (the ROI page): what the program gets back for what it spends.

Every ROI here is `kpi.metrics.roi`: (revenue - cost) / cost, empty (never infinite,
never zero) when cost is 0. Revenue is deal value (amount + 12 x mrr) of deals won, cost
is money invested; both are counted over the window, or over a calendar month for the
month-by-month view. Functions take frames the app caches per (dataset, as-of, window)
and apply the view's thresholds in memory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import polars as pl

from kpi import metrics
from kpi.params import View
from kpi.store import query

MONTHS_SHOWN = 24
"""The month-by-month view shows at most this many months, ending with the as-of month."""

NONE_LABEL = "(none)"
"""The group of partners whose region, partner type or channel manager is empty."""

GROUP_COLUMNS: tuple[str, ...] = ("tier", "region", "partner_type", "channel_manager")
"""What ROI can be grouped by: columns of the segmented partners."""

KNOWN_CATEGORIES: tuple[str, ...] = ("mdf", "incentive", "enablement", "spiff", "other")
"""Investment categories always listed (in this order), also when nobody received one."""

CRITERIA_COLUMNS = metrics.CRITERIA_COLUMNS  # the fact columns activation reads


def cost_per_activated(cost: float, activated: int) -> float | None:
    """Cost / activated partners; None (n/a) when no partner is activated."""
    return cost / activated if activated > 0 else None


def window_headline(segmented: pl.DataFrame, view: View, sums: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The window's program numbers: revenue, cost, ROI, partners and activated partners as
    `metrics.summarize` gives them (the Overview's numbers), and cost per activated partner
    = the window's cost / partners activated at the as-of date. `sums`: `metrics.totals`."""
    summary = metrics.summarize(segmented, view, sums)
    return {
        "partners": summary["partners"],
        "activated": summary["activated"],
        "revenue": summary["revenue"],
        "cost": summary["cost"],
        "roi": summary["roi"],
        "cost_per_activated": cost_per_activated(summary["cost"], summary["activated"]),
    }


# --- month by month ---------------------------------------------------------------------------


def program_months(partner_months: pl.DataFrame, last_n: int = MONTHS_SHOWN) -> pl.DataFrame:
    """The program's money per calendar month, from `metrics.partner_months`.

    One row per month (the last `last_n` months, oldest first): `month` (first day),
    `month_end` (last day, or the as-of date in its own month), `partners` in the program
    at the month end, `revenue` (deal value won in the month) and `cost` (spent in the
    month), both counting only the partners in the program at the month end, and `roi` =
    roi(revenue, cost), empty in a month when nothing was spent.
    """
    in_program = pl.col("in_program")
    months = (
        partner_months.group_by("month")
        .agg(
            pl.col("month_end").first(),
            partners=in_program.sum().cast(pl.Int64),
            revenue=pl.col("revenue").filter(in_program).sum().cast(pl.Float64),
            cost=pl.col("cost").filter(in_program).sum().cast(pl.Float64),
        )
        .sort("month")
        .tail(last_n)
    )
    return months.with_columns(roi=_rois(months["revenue"], months["cost"]))


def _rois(revenue: pl.Series, cost: pl.Series) -> pl.Series:
    # A few dozen rows at most: `metrics.roi` row by row keeps ROI defined in one place.
    return pl.Series([metrics.roi(r, c) for r, c in zip(revenue, cost, strict=True)], dtype=pl.Float64)


def _costs_per_activated(cost: pl.Series, activated: pl.Series) -> pl.Series:
    return pl.Series([cost_per_activated(c, a) for c, a in zip(cost, activated, strict=True)], dtype=pl.Float64)


def activation_counts(facts: pl.DataFrame) -> pl.DataFrame:
    """Partners at each as-of date grouped by their activation criteria counts.

    From `metrics.facts_at`: one row per as-of date and distinct (trainings,
    content_shares, deals_registered) with `partners` holding how many share them.
    Activation reads only these counts, so `activated_at` applies thresholds to a few
    thousand rows instead of every partner at every date (a slider move stays instant).
    """
    return facts.group_by("as_of", *CRITERIA_COLUMNS).agg(partners=pl.len().cast(pl.Int64)).sort("as_of")


def activated_at(counts: pl.DataFrame, view: View) -> pl.DataFrame:
    """Partners activated at each as-of date under the view's thresholds (`as_of`, `activated`).

    The rule is `metrics.segment`'s (the same as for today): it is applied to the grouped
    counts of `activation_counts`. Whether a partner is activated does not depend on its
    revenue, its other behaviours or the as-of date (only the drop tier's grace period
    does), so the other columns `segment` reads are neutral fillers here.
    """
    fillers = {"content_views": pl.lit(0, dtype=pl.Int64), "revenue": pl.lit(0.0), "cost": pl.lit(0.0)}
    segmented = metrics.segment(counts.with_columns(joined_on=pl.col("as_of"), **fillers), view)
    return segmented.group_by("as_of").agg(
        activated=pl.col("partners").filter(pl.col("activated")).sum().cast(pl.Int64)
    )


@dataclass(frozen=True)
class MonthlyHistory:
    """The month-by-month view's data that thresholds do not change (see `monthly_history`)."""

    months: pl.DataFrame  # program_months: money per calendar month, the last MONTHS_SHOWN
    counts: pl.DataFrame  # activation_counts at each month end, over the window ending that day


def monthly_history(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    window_days: int,
    months: pl.DataFrame | None = None,
) -> MonthlyHistory:
    """The program's months up to A and its partners' activation criteria at each month end.

    `months` is `program_months(metrics.partner_months(con, as_of))` (the last MONTHS_SHOWN
    calendar months, the as-of month ending at A), read here unless the caller already has
    it. At each month end D the partners in the program that day are counted over the
    window of W days ending on D and grouped by their criteria counts: `criteria_history`,
    the counts `activation_counts(metrics.facts_at(...))` gives, read without the facts
    activation does not need. Apply a view's thresholds with `monthly`.
    """
    if months is None:
        months = program_months(metrics.partner_months(con, as_of))
    return MonthlyHistory(months, criteria_history(con, months["month_end"].to_list(), window_days))


def criteria_history(con: duckdb.DuckDBPyConnection, as_of_dates: Sequence[date], window_days: int) -> pl.DataFrame:
    """`activation_counts` of the partners at each of `as_of_dates`, each counted over its own
    window of `window_days` (kpi/sql/criteria_history.sql)."""
    return query(con, "criteria_history", as_of_dates=[d.isoformat() for d in as_of_dates], window_days=window_days)


def monthly(history: MonthlyHistory, view: View) -> pl.DataFrame:
    """Program ROI and cost per activated partner month by month under the view's thresholds:
    `monthly_roi` of the history's months with the partners activated at each month end
    (`activated_at`). In memory: a threshold move reads no data."""
    return monthly_roi(history.months, activated_at(history.counts, view))


def monthly_roi(months: pl.DataFrame, activated: pl.DataFrame) -> pl.DataFrame:
    """Program ROI and cost per activated partner, month by month.

    `months` from `program_months` (with each month's `roi`), `activated` from
    `activated_at` at the month ends. Adds `activated` = partners activated at the month
    end, counting the window of W days ending that day, and `cost_per_activated` = the
    month's cost / activated, empty when no partner is activated.
    """
    joined = months.join(activated.rename({"as_of": "month_end"}), on="month_end", how="left").with_columns(
        pl.col("activated").fill_null(0).cast(pl.Int64)
    )
    return joined.with_columns(cost_per_activated=_costs_per_activated(joined["cost"], joined["activated"]))


# --- by group -----------------------------------------------------------------------------------


def group_label(column: str) -> pl.Expr:
    """The group a partner falls in: its tier, or its region / type / manager with an
    empty value shown as "(none)"."""
    if column == "tier":
        return pl.col("tier").alias("group")
    value = pl.col(column).cast(pl.String).str.strip_chars()
    return pl.when(value.is_null() | (value == "")).then(pl.lit(NONE_LABEL)).otherwise(value).alias("group")


def roi_by_group(segmented: pl.DataFrame, column: str) -> pl.DataFrame:
    """ROI per tier, region, partner type or channel manager over the window.

    Per group: `partners`, `activated`, `revenue`, `cost`, `roi` = roi(sum of revenue,
    sum of cost) (empty when the group cost nothing) and `cost_per_activated` = cost /
    activated partners (empty when none is activated). Tiers come in tier order, every
    tier listed; other groups by name, "(none)" last.
    """
    if column not in GROUP_COLUMNS:
        raise ValueError(f"cannot group by {column!r}; choose one of {', '.join(GROUP_COLUMNS)}")
    grouped = segmented.group_by(group_label(column)).agg(
        partners=pl.len().cast(pl.Int64),
        activated=pl.col("activated").sum().cast(pl.Int64),
        revenue=pl.col("revenue").sum().cast(pl.Float64),
        cost=pl.col("cost").sum().cast(pl.Float64),
    )
    if column == "tier":
        grouped = (
            pl.DataFrame({"group": list(metrics.TIERS)})
            .join(grouped, on="group", how="left")
            .with_columns(pl.col("partners", "activated").fill_null(0), pl.col("revenue", "cost").fill_null(0.0))
        )
    else:
        grouped = grouped.sort(pl.col("group") == NONE_LABEL, "group")
    return grouped.with_columns(
        roi=_rois(grouped["revenue"], grouped["cost"]),
        cost_per_activated=_costs_per_activated(grouped["cost"], grouped["activated"]),
    )


# --- by investment category -----------------------------------------------------------------------


def investments_by_category(con: duckdb.DuckDBPyConnection, as_of: date, window_days: int) -> pl.DataFrame:
    """Money spent per partner and category (as loaded) in the window A - W < d <= A:
    `partner_id`, `category`, `spend`."""
    return query(con, "roi_investments", as_of=as_of, window_days=window_days)


def category_label(column: str = "category") -> pl.Expr:
    """mdf, incentive, enablement, spiff and other in any letter case as those names; an
    empty category as "other"; any other label as written (spaces around it trimmed)."""
    value = pl.col(column).cast(pl.String).str.strip_chars()
    lower = value.str.to_lowercase()
    return (
        pl.when(value.is_null() | (value == ""))
        .then(pl.lit("other"))
        .when(lower.is_in(KNOWN_CATEGORIES))
        .then(lower)
        .otherwise(value)
    )


def investment_by_category(investments: pl.DataFrame, facts: pl.DataFrame) -> pl.DataFrame:
    """Each investment category against the revenue of the partners who received it.

    `investments` from `investments_by_category`, `facts` the population's facts at the
    as-of date (partner_id, revenue in the window). Only partners in the program count,
    so the categories' spend adds up to the program's cost. Per category: `spend` in the
    window, `recipients` (partners with spend of that category above 0), `revenue` of
    those recipients in the window, and `revenue_per_invested` = that revenue / spend
    (empty when nothing was spent). A partner funded from two categories counts in both,
    so the revenue column does not add up to the program's revenue. The five known
    categories are always listed, in order; others follow by name.
    """
    per_partner = (
        investments.with_columns(category=category_label())
        .join(facts.select("partner_id", "revenue"), on="partner_id", how="inner")
        .group_by("partner_id", "category")
        .agg(pl.col("spend").sum(), pl.col("revenue").first())
    )
    received = pl.col("spend") > 0
    per_category = per_partner.group_by("category").agg(
        spend=pl.col("spend").sum().cast(pl.Float64),
        recipients=received.sum().cast(pl.Int64),
        revenue=pl.col("revenue").filter(received).sum().cast(pl.Float64),
    )
    others = sorted(set(per_category["category"].to_list()) - set(KNOWN_CATEGORIES))
    table = (
        pl.DataFrame({"category": [*KNOWN_CATEGORIES, *others]}, schema={"category": pl.String})
        .join(per_category, on="category", how="left")
        .with_columns(pl.col("spend", "revenue").fill_null(0.0), pl.col("recipients").fill_null(0))
    )
    return table.with_columns(
        revenue_per_invested=pl.when(pl.col("spend") > 0).then(pl.col("revenue") / pl.col("spend"))
    )


def categories(con: duckdb.DuckDBPyConnection, as_of: date, window_days: int, facts: pl.DataFrame) -> pl.DataFrame:
    """Investment by category over the window A - W < d <= A against the revenue of the
    partners who received it: `investment_by_category` of the window's investments and
    `facts`, the population's `metrics.partner_facts` at A for the same window."""
    return investment_by_category(investments_by_category(con, as_of, window_days), facts)


# --- partner lists ---------------------------------------------------------------------------------

PARTNER_LIST_COLUMNS: tuple[str, ...] = ("partner_id", "partner_name", "tier", "cost", "revenue", "roi")


def overpaying(segmented: pl.DataFrame, top: int = 10) -> tuple[pl.DataFrame, int]:
    """ "Are we overpaying?": partners with cost above 0 and ROI below 0 (they brought back
    less than they cost) in the window, largest cost first; equal cost: lower ROI first,
    then by name and id. Returns the first `top` and how many there are in all."""
    losing = segmented.filter((pl.col("cost") > 0) & (pl.col("roi") < 0))
    ordered = losing.sort(
        ["cost", "roi", "partner_name", "partner_id"], descending=[True, False, False, False], maintain_order=True
    )
    return ordered.head(top).select(PARTNER_LIST_COLUMNS), losing.height


def best_return(segmented: pl.DataFrame, top: int = 10) -> tuple[pl.DataFrame, int]:
    """ "Best return": partners with cost above 0, highest ROI first; equal ROI: larger cost
    first (the same return on more money), then by name and id. Returns the first `top`
    and how many partners had any cost."""
    funded = segmented.filter(pl.col("cost") > 0)
    ordered = funded.sort(
        ["roi", "cost", "partner_name", "partner_id"], descending=[True, True, False, False], maintain_order=True
    )
    return ordered.head(top).select(PARTNER_LIST_COLUMNS), funded.height


def unfunded_earners(segmented: pl.DataFrame) -> dict[str, float | int]:
    """Partners with revenue above 0 and no cost in the window (their ROI is n/a): how
    many (`partners`) and their `revenue`."""
    earners = segmented.filter((pl.col("revenue") > 0) & (pl.col("cost") == 0))
    return {"partners": earners.height, "revenue": float(earners["revenue"].sum()) if earners.height else 0.0}
