"""Recurring revenue KPIs (the Recurring revenue page).

SPEC: `mrr` at a day D = sum of mrr of won deals with closed_on <= D and (churned_on empty or
churned_on > D); ARR = 12 x MRR; program numbers use the population (partners in the program).

The month-by-month numbers are computed from `kpi.metrics.partner_months` (one row per partner
and calendar month, cut at the as-of date); they depend on the data and the as-of date only, so
the app caches them. Retention runs one small query (kpi/sql/recurring_retention.sql).
Concentration and MRR by tier work on partner facts / segmented partners in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import duckdb
import polars as pl

from kpi import metrics
from kpi.metrics import TIERS
from kpi.store import query

MOVEMENT_COLUMNS: tuple[str, ...] = (
    "month",
    "month_end",
    "partners",
    "mrr_start",
    "new_mrr",
    "churned_mrr",
    "joined_mrr",
    "left_mrr",
    "net_new_mrr",
    "mrr",
    "arr",
)

_MOVEMENT_SCHEMA: dict[str, pl.DataType] = {
    "month": pl.Date(),
    "month_end": pl.Date(),
    "partners": pl.Int64(),
    **{c: pl.Float64() for c in MOVEMENT_COLUMNS[3:]},
}


def _month_grid(months: pl.DataFrame) -> pl.DataFrame:
    """Every calendar month from the first to the last of `months` (month, month_end)."""
    first, last = months["month"].min(), months["month"].max()
    grid = pl.DataFrame({"month": pl.date_range(first, last, interval="1mo", eager=True)})
    ends = months.group_by("month").agg(pl.col("month_end").max())
    return grid.join(ends, on="month", how="left").with_columns(
        # A month without any partner row (not expected) ends on its last calendar day.
        pl.col("month_end").fill_null(pl.col("month").dt.month_end())
    )


def mrr_over_time(months: pl.DataFrame) -> pl.DataFrame:
    """Program MRR and ARR at each month end.

    From `partner_months`: for each calendar month, MRR = sum of `mrr` (live at the month end;
    the last month ends at the as-of date A) of the partners in the program at that month end
    (`in_program`); ARR = 12 x MRR; `partners` = partners in the program at the month end.
    The value for A's month is the Overview's MRR at A. Every month from the first of the data
    to A's month has a row (0 when nothing is live).
    """
    if months.is_empty():
        return pl.DataFrame(schema={k: _MOVEMENT_SCHEMA[k] for k in ("month", "month_end", "partners", "mrr", "arr")})
    per_month = months.group_by("month").agg(
        pl.col("in_program").sum().cast(pl.Int64).alias("partners"),
        pl.col("mrr").filter(pl.col("in_program")).sum().alias("mrr"),
    )
    return (
        _month_grid(months)
        .join(per_month, on="month", how="left")
        .with_columns(pl.col("partners").fill_null(0), pl.col("mrr").fill_null(0.0))
        .with_columns(arr=metrics.arr(pl.col("mrr")))
        .sort("month")
    )


def mrr_movement(months: pl.DataFrame) -> pl.DataFrame:
    """Each month's movement of the program's MRR book, from `partner_months`.

    With in(p, m) = partner p in the program at the end of month m and mrr(p, m) its MRR live
    at that month end (0 before its first month), program MRR(m) = sum of in(p, m) x mrr(p, m):
    - new_mrr: mrr of won deals closed in m, of partners in the program at the end of m;
    - churned_mrr: mrr of deals churned in m, of partners in the program at the end of m
      (a deal won and churned in the same month counts in both);
    - joined_mrr: mrr(p, m-1) of partners that entered the program in m (out at the end of
      m-1, in at the end of m): the MRR their earlier deals brought in with them;
    - left_mrr: mrr(p, m-1) of partners that left the program in m (in at the end of m-1,
      out at the end of m): the MRR they carried at the previous month end went with them.
    So MRR(m) = MRR(m-1) + new - churned + joined - left for every month, and
    net_new_mrr = MRR(m) - MRR(m-1). `mrr_start` is MRR(m-1) (0 before the first month);
    `mrr`, `arr` and `partners` are those of `mrr_over_time`.
    Relies on `partner_months` giving each partner a row for every month from its first month.
    """
    if months.is_empty():
        return pl.DataFrame(schema=_MOVEMENT_SCHEMA)
    previous = months.select(
        "partner_id",
        pl.col("month").dt.offset_by("1mo").alias("month"),
        pl.col("in_program").alias("was_in"),
        pl.col("mrr").alias("mrr_before"),
    )
    is_in = pl.col("in_program")
    was_in = pl.col("was_in")
    per_partner = months.join(previous, on=["partner_id", "month"], how="left").with_columns(
        pl.col("was_in").fill_null(False), pl.col("mrr_before").fill_null(0.0)
    )
    per_month = per_partner.group_by("month").agg(
        pl.col("mrr_before").filter(was_in).sum().alias("mrr_start"),
        pl.col("new_mrr").filter(is_in).sum(),
        pl.col("churned_mrr").filter(is_in).sum(),
        pl.col("mrr_before").filter(is_in & ~was_in).sum().alias("joined_mrr"),
        pl.col("mrr_before").filter(was_in & ~is_in).sum().alias("left_mrr"),
    )
    return (
        mrr_over_time(months)
        .join(per_month, on="month", how="left")
        .with_columns(pl.col(MOVEMENT_COLUMNS[3:8]).fill_null(0.0))
        .with_columns(net_new_mrr=pl.col("mrr") - pl.col("mrr_start"))
        .sort("month")
        .select(MOVEMENT_COLUMNS)
    )


def retention_cohort(con: duckdb.DuckDBPyConnection, as_of: date, window_days: int) -> pl.DataFrame:
    """The partners whose MRR book retention is measured over the window, one row each.

    Start S = A - W. Cohort: partners in the program at S (joined_on <= S and (left_on empty or
    left_on > S)) with MRR > 0 at S. Columns: partner_id, partner_name, in_program_at_end
    (still in the program at A), start_mrr (MRR at S), end_mrr (MRR at A of all its deals,
    expansion included; 0 when it left the program), retained_mrr (MRR at A of the deals
    already live at S; 0 when it left the program).
    """
    return query(con, "recurring_retention", as_of=as_of, window_days=window_days)


def net_revenue_retention(cohort: pl.DataFrame) -> dict[str, Any]:
    """NRR and GRR of the retention cohort (from `retention_cohort`).

    NRR = 100 x (cohort's MRR at A, counting all their deals live at A, 0 for partners that
    left the program) / (cohort's MRR at S). GRR = 100 x (MRR at A of the deals that were
    live at S, same cohort, 0 for leavers) / (MRR at S): no expansion, so GRR <= 100 and
    GRR <= NRR. Both None (n/a) when the starting MRR is 0 (an empty cohort).
    Returns partners (cohort size), left (of them, out of the program by A), start_mrr,
    end_mrr, retained_mrr, nrr, grr.
    """
    start = float(cohort["start_mrr"].sum()) if cohort.height else 0.0
    end = float(cohort["end_mrr"].sum()) if cohort.height else 0.0
    retained = float(cohort["retained_mrr"].sum()) if cohort.height else 0.0
    return {
        "partners": cohort.height,
        "left": int((~cohort["in_program_at_end"]).sum()) if cohort.height else 0,
        "start_mrr": start,
        "end_mrr": end,
        "retained_mrr": retained,
        "nrr": 100.0 * end / start if start > 0 else None,
        "grr": 100.0 * retained / start if start > 0 else None,
    }


def mrr_by_tier(segmented: pl.DataFrame) -> pl.DataFrame:
    """Program MRR at A split by today's tier (the view's thresholds applied to the facts).

    One row per tier (also when empty): partners (in the tier), partners_with_mrr (MRR > 0),
    mrr (sum of the tier's MRR at A), arr (12 x mrr), mrr_pct (100 x mrr / program MRR;
    None when the program MRR is 0). The tiers add up to the program MRR.
    """
    total = float(segmented["mrr"].sum()) if segmented.height else 0.0
    per_tier = segmented.group_by("tier").agg(
        pl.len().cast(pl.Int64).alias("partners"),
        (pl.col("mrr") > 0).sum().cast(pl.Int64).alias("partners_with_mrr"),
        pl.col("mrr").sum(),
    )
    return (
        pl.DataFrame({"tier": list(TIERS)})
        .join(per_tier, on="tier", how="left")
        .with_columns(
            pl.col("partners").fill_null(0), pl.col("partners_with_mrr").fill_null(0), pl.col("mrr").fill_null(0.0)
        )
        .with_columns(
            arr=metrics.arr(pl.col("mrr")),
            mrr_pct=(100.0 * pl.col("mrr") / total) if total > 0 else pl.lit(None, dtype=pl.Float64),
        )
    )


def top_partners_by_mrr(segmented: pl.DataFrame, n: int = 10) -> tuple[pl.DataFrame, int]:
    """The `n` partners with the highest MRR at A (ties by partner_id), and how many have any.

    Only partners with MRR > 0 are listed. Columns: partner_id, partner_name, tier, mrr,
    arr (12 x mrr), share_pct (100 x mrr / program MRR). The count is the partners of the
    population with MRR > 0.
    """
    total = float(segmented["mrr"].sum()) if segmented.height else 0.0
    top = (
        # top_k, not a full sort: this runs on every slider move; reverse: the lowest id wins a tie.
        segmented.top_k(n, by=["mrr", "partner_id"], reverse=[False, True])
        .filter(pl.col("mrr") > 0)
        .sort(["mrr", "partner_id"], descending=[True, False])
        .select(
            "partner_id",
            "partner_name",
            "tier",
            "mrr",
            metrics.arr(pl.col("mrr")).alias("arr"),
            ((100.0 * pl.col("mrr") / total) if total > 0 else pl.lit(None, pl.Float64)).alias("share_pct"),
        )
    )
    return top, int((segmented["mrr"] > 0).sum())


def top_count(partners: int, percent: int) -> int:
    """ceil(percent / 100 x partners), in whole numbers (no floating-point rounding up)."""
    return -(-partners * percent // 100)


def ranked(facts: pl.DataFrame, column: str = "revenue") -> pl.DataFrame:
    """Partners ranked by `column`, highest first, ties by partner_id.

    Columns: rank (1..N), partner_id, partner_name, value, cumulative (sum of the values of
    ranks 1..rank), cumulative_pct (100 x cumulative / total; None when the total is 0).
    """
    total = float(facts[column].sum()) if facts.height else 0.0
    return (
        facts.select("partner_id", "partner_name", pl.col(column).cast(pl.Float64).alias("value"))
        .sort(["value", "partner_id"], descending=[True, False])
        .with_columns(rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int64), cumulative=pl.col("value").cum_sum())
        .with_columns(
            cumulative_pct=(100.0 * pl.col("cumulative") / total) if total > 0 else pl.lit(None, dtype=pl.Float64)
        )
        .select("rank", "partner_id", "partner_name", "value", "cumulative", "cumulative_pct")
    )


# A cumulative share within this of 80% counts as reaching it (sums of cents are not exact in binary).
_SHARE_TOLERANCE = 1e-9


def concentration(facts: pl.DataFrame, column: str = "revenue") -> dict[str, Any]:
    """How much of the program's `column` (revenue in the window, or MRR at A) its top partners bring.

    Partners of the population (N, zero values included) ranked by the value, highest first,
    ties by partner_id. Top 10% = the ceil(0.10 x N) highest partners, top 20% = ceil(0.20 x N);
    their share = 100 x their sum / the program's sum. `partners_for_80` = the smallest k whose
    cumulative share is >= 80%. Shares and k are None (n/a) when N = 0 or the program's sum is 0.
    Returns partners (N), total, top10_partners, top10_share, top20_partners, top20_share,
    partners_for_80, partners_for_80_pct (100 x k / N).
    """
    order = ranked(facts, column)
    partners = order.height
    total = float(order["value"].sum()) if partners else 0.0
    top10, top20 = top_count(partners, 10), top_count(partners, 20)
    result: dict[str, Any] = {
        "partners": partners,
        "total": total,
        "top10_partners": top10,
        "top20_partners": top20,
        "top10_share": None,
        "top20_share": None,
        "partners_for_80": None,
        "partners_for_80_pct": None,
    }
    if partners == 0 or total <= 0:
        return result
    cumulative = order["cumulative"]
    result["top10_share"] = 100.0 * float(cumulative[top10 - 1]) / total
    result["top20_share"] = 100.0 * float(cumulative[top20 - 1]) / total
    reached = order.filter(pl.col("cumulative_pct") >= 80.0 - _SHARE_TOLERANCE)
    k = int(reached["rank"][0])
    result["partners_for_80"] = k
    result["partners_for_80_pct"] = 100.0 * k / partners
    return result


def pareto_curve(facts: pl.DataFrame, column: str = "revenue", max_points: int = 200) -> pl.DataFrame:
    """The Pareto curve: cumulative share of `column` against cumulative share of partners.

    Partners ranked as in `concentration`. One point per partner when N <= max_points,
    otherwise at the ranks ceil(i x N / max_points) for i = 1..max_points (the last point
    is always N), plus the origin (0, 0). Columns: partners (k), partners_pct (100 x k / N),
    share_pct (100 x cumulative value of the top k / total). Empty when N = 0 or the total
    is 0 (no curve to draw).
    """
    schema = {"partners": pl.Int64, "partners_pct": pl.Float64, "share_pct": pl.Float64}
    order = ranked(facts, column)
    partners = order.height
    if partners == 0 or order["cumulative_pct"].null_count() == partners:
        return pl.DataFrame(schema=schema)
    if partners <= max_points:
        picked = order
    else:
        ranks = sorted({-(-i * partners // max_points) for i in range(1, max_points + 1)})
        picked = order.filter(pl.col("rank").is_in(ranks))
    points = picked.select(
        pl.col("rank").alias("partners"),
        (100.0 * pl.col("rank") / partners).alias("partners_pct"),
        pl.col("cumulative_pct").alias("share_pct"),
    )
    origin = pl.DataFrame({"partners": [0], "partners_pct": [0.0], "share_pct": [0.0]}, schema=schema)
    return pl.concat([origin, points])


# --- the page's book ---------------------------------------------------------------------------


def window_start(as_of: date, window_days: int) -> date:
    """S = A - W: the day the retention cohort is taken (the day before the window's first day)."""
    return as_of - timedelta(days=window_days)


@dataclass(frozen=True)
class Book:
    """The Recurring revenue page's numbers that thresholds do not change, for one (A, W)."""

    movement: pl.DataFrame  # mrr_movement: every month up to A's month, oldest first
    retention: dict[str, Any]  # net_revenue_retention of the cohort at S = A - W
    revenue_concentration: dict[str, Any]  # concentration of revenue in the window
    mrr_concentration: dict[str, Any]  # concentration of MRR at A
    pareto: pl.DataFrame  # pareto_curve of revenue in the window; empty when there is none

    @property
    def this_month(self) -> dict[str, Any] | None:
        """The movement of A's month up to A (its `mrr` is the MRR at A); None without months."""
        return self.movement.row(-1, named=True) if self.movement.height else None


def book(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    window_days: int,
    facts: pl.DataFrame,
    movement: pl.DataFrame | None = None,
) -> Book:
    """The recurring book at A with window W.

    `facts`: the population's `metrics.partner_facts` at A for the window (revenue in the
    window, MRR at A) for the concentration of revenue and of MRR. `movement`:
    `mrr_movement(metrics.partner_months(con, as_of))`, read here unless the caller already
    has it. Retention: `net_revenue_retention` of `retention_cohort` (one small query).
    """
    if movement is None:
        movement = mrr_movement(metrics.partner_months(con, as_of))
    return Book(
        movement=movement,
        retention=net_revenue_retention(retention_cohort(con, as_of, window_days)),
        revenue_concentration=concentration(facts, "revenue"),
        mrr_concentration=concentration(facts, "mrr"),
        pareto=pareto_curve(facts, "revenue"),
    )
