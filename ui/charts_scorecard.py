"""Charts and tables of the partner scorecard: one partner month by month, its staff, its weeks.

Plain functions of aggregated frames (one row a month, a person or a week), tested in
tests/test_page_scorecard.py. Tier colours come from ui.charts.TIER_COLORS only. The tables
are the frames the page shows, in display order; the page names their columns.
"""

from __future__ import annotations

import functools

import altair as alt
import polars as pl
from altair.utils.schemapi import UndefinedType

from kpi.metrics import TIERS
from kpi.scorecard import NOT_IN_PROGRAM
from ui.charts import MONTH_FORMAT, MONTH_LONG_FORMAT, PARTNER_COLOR, REVENUE_COLOR, TIER_COLORS, money_axis, vega_spec

MONTHS_SHOWN = 24  # the monthly chart and table show the last two years up to the as-of date
STAFF_SHOWN = 50  # the staff table shows the 50 most active people
NO_USER = "(no user)"  # the staff row of activities recorded without a person
COST_COLOR = "#CC79A7"  # Okabe-Ito reddish purple: apart from the tier colours and the revenue grey
MRR_COLOR = PARTNER_COLOR
# Near white with the squares' grey outline: lighter than every tier colour, even in greyscale.
NOT_IN_PROGRAM_COLOR = "#F2F2F2"
SQUARE_OUTLINE = "#8A8A8A"
REVENUE_LABEL = "Revenue won"
COST_LABEL = "Cost"
# The tiers in the one palette, plus a neutral grey for the weeks the partner was not in the program.
HISTORY_DOMAIN = [*TIERS, NOT_IN_PROGRAM]
HISTORY_SCALE = alt.Scale(domain=HISTORY_DOMAIN, range=[*(TIER_COLORS[t] for t in TIERS), NOT_IN_PROGRAM_COLOR])


def month_points(months: pl.DataFrame) -> pl.DataFrame:
    """The rows the monthly chart draws: month (YYYY-MM), revenue won, cost and MRR at month end."""
    return months.select(
        pl.col("month").dt.strftime("%Y-%m").alias("month"),
        pl.col("revenue").round(2).alias(REVENUE_LABEL),
        pl.col("cost").round(2).alias(COST_LABEL),
        pl.col("mrr").round(2).alias("mrr"),
    )


def monthly_money(months: pl.DataFrame, currency: str = "$") -> alt.LayerChart:
    """Revenue won and cost in each month (bars side by side, left axis) and MRR live at each
    month end (line, right axis) for one partner: `kpi.scorecard.monthly` rows, oldest first."""
    data = month_points(months)

    def top(*columns: str) -> float:
        # An explicit top: with nothing but zeros Vega-Lite would draw an axis of "NaN".
        return max([float(data[c].max() or 0.0) for c in columns] + [1.0])

    # The rows keep "YYYY-MM" (one band a month); the labels and tooltips read "Jan 2025" like
    # every other chart. Parsed and written in UTC so no time zone moves a month.
    month_name = f"utcFormat(toDate(datum.month + '-01'), '{MONTH_LONG_FORMAT}')"
    base = (
        alt.Chart(data)
        .transform_calculate(month_name=month_name)
        .encode(
            x=alt.X(
                "month:O",
                title="Month",
                axis=alt.Axis(
                    labelExpr=f"utcFormat(toDate(datum.value + '-01'), '{MONTH_FORMAT}')",
                    labelAngle=0,
                    labelOverlap=True,
                    labelFontSize=12,
                    titleFontSize=13,
                ),
            )
        )
    )
    bars = (
        base.transform_fold([REVENUE_LABEL, COST_LABEL], as_=["measure", "amount"])
        .mark_bar()
        .encode(
            xOffset=alt.XOffset("measure:N", sort=[REVENUE_LABEL, COST_LABEL]),
            y=alt.Y(
                "amount:Q",
                title=f"Revenue won and cost in the month ({currency})",
                axis=money_axis(currency, tickMinStep=1),
                scale=alt.Scale(domain=[0, top(REVENUE_LABEL, COST_LABEL)], nice=True),
            ),
            color=alt.Color(
                "measure:N",
                title=None,
                scale=alt.Scale(domain=[REVENUE_LABEL, COST_LABEL], range=[REVENUE_COLOR, COST_COLOR]),
                legend=alt.Legend(orient="top", labelFontSize=13),
            ),
            tooltip=[
                alt.Tooltip("month_name:N", title="Month"),
                alt.Tooltip("measure:N", title="What"),
                alt.Tooltip("amount:Q", title="Amount", format=",.0f"),
            ],
        )
    )
    line = base.mark_line(color=MRR_COLOR, strokeWidth=3, point=True).encode(
        y=alt.Y(
            "mrr:Q",
            title=f"MRR at month end ({currency})",
            axis=money_axis(currency, titleColor=MRR_COLOR, orient="right", tickMinStep=1),
            scale=alt.Scale(domain=[0, top("mrr")], nice=True),
        ),
        tooltip=[
            alt.Tooltip("month_name:N", title="Month"),
            alt.Tooltip("mrr:Q", title="MRR at month end", format=",.0f"),
        ],
    )
    return (
        alt.layer(bars, line)
        .resolve_scale(y="independent")
        .properties(title="Revenue won and cost by month, with recurring revenue (MRR)", height=340)
    )


def history_points(history: pl.DataFrame) -> pl.DataFrame:
    """The rows the tier-history chart draws: one per week (as-of date as YYYY-MM-DD), with
    the tier (or "not in program"), criteria met, revenue and actions in that week's window."""
    return history.select(
        pl.col("as_of").dt.strftime("%Y-%m-%d").alias("week"),
        "tier",
        "criteria_met",
        pl.col("revenue").round(2),
        "actions",
    )


def _tier_history_chart(data: pl.DataFrame | UndefinedType, currency: str) -> alt.LayerChart:
    base = alt.Chart(data).encode(
        # Ordinal, one band a week: every square gets its own date label.
        x=alt.X(
            "week:O",
            timeUnit="yearmonthdate",
            title="Week (as-of date)",
            axis=alt.Axis(format="%d %b", labelAngle=0, labelFontSize=12),
        ),
        y=alt.Y(
            "tier:N",
            title="Tier",
            scale=alt.Scale(domain=HISTORY_DOMAIN),
            axis=alt.Axis(labelFontSize=13, titleFontSize=13),
        ),
    )
    path = base.mark_line(color=NOT_IN_PROGRAM_COLOR, strokeWidth=2)
    weeks = base.mark_square(size=420, opacity=1, stroke=SQUARE_OUTLINE, strokeWidth=1).encode(
        color=alt.Color("tier:N", title="Tier", scale=HISTORY_SCALE, legend=None),
        tooltip=[
            alt.Tooltip("week:T", title="Week ending", format="%Y-%m-%d"),
            alt.Tooltip("tier:N", title="Tier"),
            alt.Tooltip("criteria_met:Q", title="Criteria met"),
            alt.Tooltip("revenue:Q", title=f"Revenue in the window ({currency})", format=",.0f"),
            alt.Tooltip("actions:Q", title="Actions in the window"),
        ],
    )
    return alt.layer(path, weeks).properties(title="Tier week by week, under today's thresholds", height=220)


def tier_history_chart(history: pl.DataFrame, currency: str = "$") -> alt.LayerChart:
    """One partner's tier at each of the past weeks (kpi.scorecard.tier_history): a square a
    week in its tier's row and colour, joined by a line, so a move between tiers stands out."""
    return _tier_history_chart(history_points(history), currency)


@functools.lru_cache(maxsize=8)
def tier_history_template(currency: str = "$") -> dict:
    """`tier_history_chart`'s Vega-Lite spec without its data, built once per currency: the
    page draws `st.vega_lite_chart(history_points(history), template)`, so a threshold move
    costs no Altair work. Never modify the dict."""
    spec = vega_spec(_tier_history_chart(alt.Undefined, currency))
    spec.pop("data", None)
    spec.pop("datasets", None)
    for layer in spec["layer"]:
        layer.pop("data", None)  # Altair names an empty dataset in each layer; the page's rows take its place
    return spec


def months_table(months: pl.DataFrame) -> pl.DataFrame:
    """The monthly table: newest month first, each month written "Mar 2026" like on the charts,
    ROI in percent (empty without cost)."""
    return months.reverse().select(
        pl.col("month").dt.strftime(MONTH_FORMAT),
        "in_program",
        "trainings",
        "content_shares",
        "content_views",
        "logins",
        "deals_registered",
        "deals_won",
        "deals_lost",
        "revenue",
        "mrr",
        "cost",
        pl.col("roi") * 100,
    )


def staff_table(staff: pl.DataFrame) -> pl.DataFrame:
    """The staff table: one row a person (kpi.scorecard.staff_activity order), activities
    recorded without a person named NO_USER."""
    return staff.select(
        pl.when(pl.col("no_user")).then(pl.lit(NO_USER)).otherwise(pl.col("user_name")).alias("user_name"),
        "role",
        "trainings",
        "content_shares",
        "content_views",
        "logins",
        "activities",
        "last_active_on",
    )


def history_table(history: pl.DataFrame) -> pl.DataFrame:
    """The tier-history table: newest week first."""
    return history.reverse().select(
        pl.col("as_of").dt.strftime("%Y-%m-%d"), "tier", "criteria_met", "revenue", "actions"
    )
