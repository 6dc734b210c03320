"""Charts of the Recurring revenue page, built from aggregated frames (kpi.recurring)."""

from __future__ import annotations

import altair as alt
import polars as pl

from kpi.metrics import TIERS
from ui.charts import MONTH_FORMAT, MONTH_LONG_FORMAT, PARTNER_COLOR, TIER_SCALE, money_axis, month_axis

# The movement components (not tiers: their own colours, none of them a tier colour).
MOVEMENT_PARTS: tuple[tuple[str, str, int, str], ...] = (
    # (column, legend label, sign, colour)
    ("new_mrr", "New deals", 1, "#0072B2"),
    ("joined_mrr", "Partners joined", 1, "#56B4E9"),
    ("churned_mrr", "Churned deals", -1, "#CC79A7"),
    ("left_mrr", "Partners left", -1, "#7F7F7F"),
)
NET_COLOR = "#000000"
# The movement chart shows at most this many recent months (bars stay wide enough to read).
MOVEMENT_MONTHS = 24


def _month_text(column: str = "month") -> pl.Expr:
    return pl.col(column).dt.strftime("%Y-%m-%d")


def mrr_history(over_time: pl.DataFrame, currency: str = "$") -> alt.Chart:
    """Program MRR at each month end (line); the tooltip gives ARR (12 x MRR) and the partners.

    One axis: a second axis for ARR would only repeat the first one times twelve.
    """
    data = over_time.select(
        _month_text(),
        _month_text("month_end").alias("month_end"),
        pl.col("mrr").round(2),
        pl.col("arr").round(2),
        "partners",
    )
    return (
        alt.Chart(data)
        .mark_line(color=PARTNER_COLOR, strokeWidth=3, point=True)
        .encode(
            x=alt.X("month:T", title="Month (value at the month end)", axis=month_axis()),
            y=alt.Y("mrr:Q", title=f"MRR ({currency} a month)", axis=money_axis(currency)),
            tooltip=[
                alt.Tooltip("month_end:T", title="Month end", format="%d %b %Y"),
                alt.Tooltip("mrr:Q", title="MRR", format=",.0f"),
                alt.Tooltip("arr:Q", title="ARR (12 x MRR)", format=",.0f"),
                alt.Tooltip("partners:Q", title="Partners in the program", format=","),
            ],
        )
        .properties(title="Recurring revenue of the program at each month end", height=320)
    )


def recent_months(movement: pl.DataFrame, months: int = 12) -> pl.DataFrame:
    """The movement table: the last `months` months of `mrr_movement`, newest first, each
    month written "Mar 2026"."""
    return movement.tail(months).reverse().with_columns(pl.col("month").dt.strftime(MONTH_FORMAT)).drop("month_end")


def movement_frame(movement: pl.DataFrame, months: int = MOVEMENT_MONTHS) -> pl.DataFrame:
    """The last `months` months of `mrr_movement`, long: one row per month and component,
    signed (churned and left negative), plus the month's net new MRR on every row.

    A component that is zero in every one of those months is left out (no empty legend entry
    nor zero-height bars): partners joining bring no MRR when none had a deal before joining.
    The first component (new deals) is always kept: its rows carry the net new line."""
    recent = movement.tail(months)
    parts = [
        recent.select(
            _month_text(),
            pl.lit(label).alias("component"),
            pl.lit(order).alias("order"),
            (sign * pl.col(column)).round(2).alias("value"),
            pl.col("net_new_mrr").round(2).alias("net_new"),
        )
        for order, (column, label, sign, _) in enumerate(MOVEMENT_PARTS)
        if order == 0 or (recent[column] != 0).any()
    ]
    return pl.concat(parts)


def mrr_movement(movement: pl.DataFrame, currency: str = "$") -> alt.LayerChart:
    """Each month's MRR movement: new and joined above zero, churned and left below (stacked
    bars), and the net new MRR as a line."""
    data = movement_frame(movement)
    shown = set(data["component"].to_list())
    labels = [label for _, label, _, _ in MOVEMENT_PARTS if label in shown]
    colours = [colour for _, label, _, colour in MOVEMENT_PARTS if label in shown]
    # A time axis by calendar month: each bar spans 85% of its month, however wide the chart is.
    base = alt.Chart(data).encode(x=alt.X("yearmonth(month):T", title="Month", axis=month_axis()))
    bars = base.mark_bar(opacity=0.9, width=alt.RelativeBandSize(0.85)).encode(
        y=alt.Y("value:Q", title=f"MRR added or lost in the month ({currency} a month)", axis=money_axis(currency)),
        color=alt.Color(
            "component:N",
            title="Movement",
            scale=alt.Scale(domain=labels, range=colours),
            legend=alt.Legend(orient="top", labelFontSize=13, titleFontSize=13),
        ),
        order=alt.Order("order:Q"),
        tooltip=[
            alt.Tooltip("month:T", title="Month", format=MONTH_LONG_FORMAT),
            alt.Tooltip("component:N", title="Movement"),
            alt.Tooltip("value:Q", title="MRR", format="+,.0f"),
            alt.Tooltip("net_new:Q", title="Net new MRR", format="+,.0f"),
        ],
    )
    # One net-new point per month (the rows of the first component carry it).
    net = (
        base.transform_filter(alt.datum.order == 0)
        .mark_line(color=NET_COLOR, strokeWidth=2.5, point=alt.OverlayMarkDef(color=NET_COLOR, size=50))
        .encode(
            x=alt.X("yearmonth(month):T", bandPosition=0.5),  # in the middle of the month's bar
            y="net_new:Q",
            tooltip=[alt.Tooltip("net_new:Q", title="Net new MRR", format="+,.0f")],
        )
    )
    # One zero line, from the same rows aggregated to one (every layer shares one dataset).
    zero = (
        alt.Chart(data)
        .transform_aggregate(rows="count()")
        .mark_rule(color="#333333", strokeWidth=1.5)
        .encode(y=alt.datum(0))
    )
    return alt.layer(bars, zero, net).properties(
        title="How the MRR book moved each month (black line: net new MRR)", height=340
    )


def mrr_by_tier(by_tier: pl.DataFrame, currency: str = "$") -> alt.Chart:
    """Program MRR at the as-of date by tier, in the tier colours."""
    data = by_tier.select(
        "tier",
        pl.col("mrr").round(2),
        pl.col("mrr_pct").round(1),
        "partners",
        "partners_with_mrr",
    )
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("tier:N", title="Tier", sort=list(TIERS), axis=alt.Axis(labelAngle=0, labelFontSize=14)),
            y=alt.Y("mrr:Q", title=f"MRR ({currency} a month)", axis=money_axis(currency)),
            color=alt.Color("tier:N", title="Tier", scale=TIER_SCALE, legend=None),
            tooltip=[
                alt.Tooltip("tier:N", title="Tier"),
                alt.Tooltip("mrr:Q", title="MRR", format=",.0f"),
                alt.Tooltip("mrr_pct:Q", title="Share of program MRR (%)", format=".1f"),
                alt.Tooltip("partners:Q", title="Partners", format=","),
                alt.Tooltip("partners_with_mrr:Q", title="Partners with MRR", format=","),
            ],
        )
        .properties(title="MRR by tier (current thresholds)", height=320)
    )


def pareto(curve: pl.DataFrame, what: str = "revenue") -> alt.LayerChart:
    """Cumulative share of `what` against cumulative share of partners (highest first), with
    marks at the top 10% and 20% of partners and the equal-share diagonal for reference."""
    data = curve.select(
        "partners",
        pl.col("partners_pct").round(2),
        pl.col("share_pct").round(2),
    )
    x = alt.X(
        "partners_pct:Q",
        title="Share of partners, highest first (%)",
        scale=alt.Scale(domain=[0, 100], nice=False),
    )
    y = alt.Y("share_pct:Q", title=f"Cumulative share of program {what} (%)", scale=alt.Scale(domain=[0, 100]))
    line = (
        alt.Chart(data)
        .mark_line(color=PARTNER_COLOR, strokeWidth=3)
        .encode(
            x=x,
            y=y,
            tooltip=[
                alt.Tooltip("partners:Q", title="Top partners", format=","),
                alt.Tooltip("partners_pct:Q", title="Share of partners (%)", format=".1f"),
                alt.Tooltip("share_pct:Q", title=f"Share of {what} (%)", format=".1f"),
            ],
        )
    )
    # The reference marks come from the same rows aggregated to one (every layer shares one dataset).
    one_row = alt.Chart(data).transform_aggregate(rows="count()")
    diagonal = one_row.mark_rule(color="#999999", strokeDash=[4, 4]).encode(
        x=alt.datum(0), y=alt.datum(0), x2=alt.datum(100), y2=alt.datum(100)
    )
    marks = (
        one_row.transform_calculate(top10="10", top20="20")
        .transform_fold(["top10", "top20"], as_=["mark", "at"])
        .transform_calculate(at="toNumber(datum.at)", label="'top ' + datum.at + '%'")
    )
    rules = marks.mark_rule(color="#555555", strokeDash=[6, 3]).encode(x="at:Q")
    texts = marks.mark_text(align="left", dx=4, dy=14, fontSize=13, color="#333333").encode(
        x="at:Q", y=alt.datum(100), text="label:N"
    )
    return alt.layer(diagonal, rules, texts, line).properties(
        title=f"How concentrated is {what}? Pareto curve of partners", height=340
    )
