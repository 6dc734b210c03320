"""Altair chart specs, built by plain functions from aggregated frames.

Pages only draw what these return, so tests can check a chart's data and
encodings without a browser. Charts get tens or hundreds of rows, never events.
"""

from __future__ import annotations

import functools

import altair as alt
import polars as pl
from altair.utils.schemapi import UndefinedType

from kpi.chart_style import MONTH_FORMAT as MONTH_FORMAT  # the pages and tests read these here too
from kpi.chart_style import MONTH_LONG_FORMAT as MONTH_LONG_FORMAT
from kpi.chart_style import TIER_COLORS as TIER_COLORS
from kpi.chart_style import TIER_RANGE, money_label_expr
from kpi.metrics import TIERS

# The one tier palette (kpi.chart_style, shared with the brief) as the scale every tier colour uses.
TIER_SCALE = alt.Scale(domain=list(TIERS), range=TIER_RANGE)
PARTNER_COLOR = "#0072B2"
REVENUE_COLOR = "#999999"


def money_axis(currency: str = "$", **properties: object) -> alt.Axis:
    """An axis of money: "$0", "$250", "$1.5k", "$2M" (never "0M"), whatever the largest tick."""
    return alt.Axis(labelExpr=money_label_expr(currency), **properties)


def month_axis(**properties: object) -> alt.Axis:
    """A time axis by month, every chart alike: "Jan 2025", level, one tick a month at most
    (a tick a week over a short span would write each month four times); labels that would
    overlap are left out."""
    ticks = alt.TimeIntervalStep(interval="month", step=1)
    return alt.Axis(format=MONTH_FORMAT, labelAngle=0, labelOverlap=True, tickCount=ticks, **properties)


def vega_spec(chart: alt.TopLevelMixin) -> dict:
    """The chart as a Vega-Lite dict, without Altair's schema validation.

    Validation is slow enough to matter on every rerun; tests/test_ui_charts.py
    validates every chart these functions build, so the app does not repeat it.
    """
    return chart.to_dict(validate=False)


# Above this many partners the engagement chart shows groups instead of single partners.
SCATTER_MAX_POINTS = 1_500


def program_history(monthly: pl.DataFrame, currency: str = "$") -> alt.LayerChart:
    """Partners in the program (line, right axis) against revenue won (bars, left axis),
    month by month: the chart that shows a program growing in size but not in revenue."""
    data = monthly.select(
        pl.col("month").dt.strftime("%Y-%m-%d").alias("month"),
        pl.col("partners"),
        pl.col("revenue").round(2),
    )
    # A frame, not a list of dicts: Streamlit ships it as Arrow, and Altair does not
    # validate every row against the Vega-Lite schema (slow for thousands of rows).
    base = alt.Chart(data).encode(x=alt.X("month:T", title="Month", axis=month_axis()))
    bars = base.mark_bar(color=REVENUE_COLOR, opacity=0.8).encode(
        y=alt.Y("revenue:Q", title=f"Revenue won in the month ({currency})", axis=money_axis(currency)),
        tooltip=[
            alt.Tooltip("month:T", title="Month", format=MONTH_LONG_FORMAT),
            alt.Tooltip("revenue:Q", title="Revenue won", format=",.0f"),
            alt.Tooltip("partners:Q", title="Partners in program", format=","),
        ],
    )
    line = base.mark_line(color=PARTNER_COLOR, strokeWidth=3).encode(
        y=alt.Y(
            "partners:Q",
            title="Partners in the program (month end)",
            axis=alt.Axis(titleColor=PARTNER_COLOR, orient="right", format=",d", tickMinStep=1),
        ),
    )
    return (
        alt.layer(bars, line)
        .resolve_scale(y="independent")
        .properties(title="Partners in the program vs revenue won, by month", height=340)
    )


def scatter_grouped(partners: int) -> bool:
    """Whether the engagement chart of this many partners shows groups instead of single partners."""
    return partners > SCATTER_MAX_POINTS


def engagement_points(segmented: pl.DataFrame) -> pl.DataFrame:
    """The rows the engagement chart draws: tier, actions, revenue and `partners` (how many
    partners a dot stands for).

    Up to SCATTER_MAX_POINTS partners, one row per partner (with its name and criteria met,
    `partners` = 1). Above, partners with the same tier, the same actions band and the same
    revenue band are one row, so the chart stays readable and small.
    """
    if not scatter_grouped(segmented.height):
        return segmented.select(
            "partner_name",
            "tier",
            "actions",
            pl.col("revenue").round(2),
            "criteria_met",
            pl.lit(1).alias("partners"),
        )

    # Log bands keep the groups few whatever the size: actions exact up to 10, then
    # eight bands a decade; revenue four bands a decade (0 stays 0).
    def log_band(column: str, per_decade: int) -> pl.Expr:
        value = pl.col(column).cast(pl.Float64)
        return (10 ** ((value.log10() * per_decade).round(0) / per_decade)).round(0)

    actions_band = pl.when(pl.col("actions") <= 10).then(pl.col("actions").cast(pl.Float64))
    actions_band = actions_band.otherwise(log_band("actions", 8))
    revenue_band = pl.when(pl.col("revenue") > 0).then(log_band("revenue", 4)).otherwise(0.0)
    return (
        segmented.select("tier", actions=actions_band, revenue=revenue_band)
        .group_by("tier", "actions", "revenue")
        .agg(pl.len().alias("partners"))
        .sort("tier", "actions", "revenue")
    )


def _engagement_chart(data: pl.DataFrame | UndefinedType, grouped: bool, currency: str) -> alt.Chart:
    x_title = "Actions in the window (trainings + shares + views + deal registrations)"
    y_title = f"Revenue won in the window ({currency}, square-root scale)"
    if grouped:
        tooltip = [
            alt.Tooltip("tier:N", title="Tier"),
            alt.Tooltip("partners:Q", title="Partners"),
            alt.Tooltip("actions:Q", title="Actions (about)"),
            alt.Tooltip("revenue:Q", title="Revenue (about)", format=",.0f"),
        ]
    else:
        tooltip = [
            alt.Tooltip("partner_name:N", title="Partner"),
            alt.Tooltip("tier:N", title="Tier"),
            alt.Tooltip("actions:Q", title="Actions"),
            alt.Tooltip("revenue:Q", title="Revenue", format=",.0f"),
            alt.Tooltip("criteria_met:Q", title="Criteria met"),
        ]
    return (
        alt.Chart(data)
        .mark_circle(opacity=0.7)
        .encode(
            x=alt.X("actions:Q", title=x_title),
            # A square-root scale spreads the many small revenues and keeps zero on the axis.
            y=alt.Y("revenue:Q", title=y_title, scale=alt.Scale(type="sqrt"), axis=money_axis(currency)),
            color=alt.Color("tier:N", title="Tier", scale=TIER_SCALE),
            size=alt.Size("partners:Q", title="Partners", legend=None, scale=alt.Scale(range=[40, 600], zero=False))
            if grouped
            else alt.value(60),
            tooltip=tooltip,
        )
        .properties(title="Why partners land where they do: revenue against engagement", height=380)
    )


def engagement_scatter(segmented: pl.DataFrame, currency: str = "$") -> alt.Chart:
    """Revenue in the window against actions, one dot per partner coloured by tier.

    With more than SCATTER_MAX_POINTS partners, partners with the same tier, the same
    actions band and the same revenue band are drawn as one dot sized by how many
    they are, so the chart stays readable and small (see `engagement_points`).
    """
    return _engagement_chart(engagement_points(segmented), scatter_grouped(segmented.height), currency)


@functools.lru_cache(maxsize=16)
def engagement_scatter_template(grouped: bool, currency: str = "$") -> dict:
    """`engagement_scatter`'s Vega-Lite spec without its data, built once per kind and currency.

    A page draws `st.vega_lite_chart(engagement_points(segmented), template)`: the same chart,
    with the points sent as Arrow and no Altair work on a rerun (building and serialising the
    Altair chart is a noticeable part of a slider move). Never modify the dict.
    """
    spec = vega_spec(_engagement_chart(alt.Undefined, grouped, currency))
    spec.pop("data", None)  # Altair names an empty dataset here; the page's points take its place
    spec.pop("datasets", None)
    return spec
