"""Altair charts of the ROI page, built from aggregated frames (kpi.roi).

ROI is plotted as a ratio with a percent axis (3.4 reads +340%), the way `ui.format.roi`
writes it; a month or group without cost has no ROI and no bar or point, and its label
says "n/a".
"""

from __future__ import annotations

import altair as alt
import polars as pl
from altair.utils.schemapi import UndefinedType

from kpi.roi import KNOWN_CATEGORIES
from ui import format as fmt
from ui.charts import MONTH_LONG_FORMAT, PARTNER_COLOR, REVENUE_COLOR, TIER_SCALE, money_axis, month_axis, vega_spec

ROI_COLOR = PARTNER_COLOR
COST_COLOR = "#CC79A7"
# Streamlit fits a chart's whole height (title, legend and axes included) into this.
CHART_HEIGHT = 340
MAX_GROUP_BARS = 30
"""Above this many groups the group chart shows the ones with the largest cost."""

CATEGORY_NAMES: dict[str, str] = {
    "mdf": "MDF",
    "incentive": "Incentive",
    "enablement": "Enablement",
    "spiff": "SPIFF",
    "other": "Other",
}
assert set(CATEGORY_NAMES) == set(KNOWN_CATEGORIES)

GROUP_TITLES: dict[str, str] = {
    "tier": "Tier",
    "region": "Region",
    "partner_type": "Partner type",
    "channel_manager": "Channel manager",
}


def category_name(category: str) -> str:
    """MDF, Incentive, Enablement, SPIFF, Other; any other label as written."""
    return CATEGORY_NAMES.get(category, category)


def spec_and_data(chart: alt.TopLevelMixin) -> tuple[dict, pl.DataFrame]:
    """A chart with one data frame (at its top level) as (Vega-Lite spec without the data,
    the frame). The page draws `st.vega_lite_chart(frame, spec)`: the rows travel as Arrow
    instead of inline records Streamlit converts through pandas on every rerun. Never
    modify the returned dict (it may be cached)."""
    spec = vega_spec(chart)
    spec.pop("data", None)
    spec.pop("datasets", None)
    return spec, chart.data


def _month_axis() -> alt.X:
    return alt.X("month:T", title="Month", axis=month_axis())


def monthly_roi_chart(months: pl.DataFrame) -> alt.LayerChart:
    """Program ROI per calendar month (line with points) and a rule at break-even (0%)."""
    data = months.select(pl.col("month").dt.strftime("%Y-%m-%d").alias("month"), pl.col("roi").round(4))
    line = alt.Chart().mark_line(color=ROI_COLOR, strokeWidth=3, point=alt.OverlayMarkDef(color=ROI_COLOR, size=60))
    line = line.encode(
        x=_month_axis(),
        y=alt.Y("roi:Q", title="Program ROI in the month (% of cost)", axis=alt.Axis(format="+.0%")),
        tooltip=[
            alt.Tooltip("month:T", title="Month", format=MONTH_LONG_FORMAT),
            alt.Tooltip("roi:Q", title="ROI", format="+.1%"),
        ],
    )
    break_even = alt.Chart().mark_rule(color="#555555", strokeDash=[4, 4]).encode(y=alt.YDatum(0))
    return alt.layer(break_even, line, data=data).properties(title="Program ROI, month by month", height=CHART_HEIGHT)


def cost_per_activated_data(months: pl.DataFrame) -> pl.DataFrame:
    """The rows of `cost_per_activated_chart`: one per month."""
    return months.select(
        pl.col("month").dt.strftime("%Y-%m-%d").alias("month"),
        pl.col("cost_per_activated").round(2),
        pl.col("activated"),
        pl.col("cost").round(2),
    )


def cost_per_activated_chart(months: pl.DataFrame, currency: str = "$") -> alt.Chart:
    """Money spent in the month per partner activated at the month end (bars)."""
    return _cost_per_activated(cost_per_activated_data(months), currency)


def cost_per_activated_template(currency: str = "$") -> dict:
    """`cost_per_activated_chart`'s spec without data: it depends on the thresholds only through
    its rows, so the page builds it once and sends `cost_per_activated_data` on each rerun."""
    return spec_and_data(_cost_per_activated(alt.Undefined, currency))[0]


def _cost_per_activated(data: pl.DataFrame | UndefinedType, currency: str) -> alt.Chart:
    return (
        # Title and height in the constructor: .properties() re-validates the chart.
        alt.Chart(data, title="Cost per activated partner, month by month", height=CHART_HEIGHT)
        .mark_bar(color=COST_COLOR)
        .encode(
            x=_month_axis(),
            y=alt.Y(
                "cost_per_activated:Q", title=f"Cost per activated partner ({currency})", axis=money_axis(currency)
            ),
            tooltip=[
                alt.Tooltip("month:T", title="Month", format=MONTH_LONG_FORMAT),
                alt.Tooltip("cost_per_activated:Q", title="Cost per activated partner", format=",.0f"),
                alt.Tooltip("cost:Q", title="Cost in the month", format=",.0f"),
                alt.Tooltip("activated:Q", title="Activated at month end", format=","),
            ],
        )
    )


def roi_by_group_data(groups: pl.DataFrame) -> pl.DataFrame:
    """The rows of `roi_by_group_chart`: at most MAX_GROUP_BARS groups (those with the largest
    cost), in the table's order (`order`), each `label` carrying the group's ROI ("n/a" for a
    group without cost, which has no bar)."""
    shown = groups
    if groups.height > MAX_GROUP_BARS:
        largest = groups.sort("cost", descending=True, maintain_order=True).head(MAX_GROUP_BARS)
        shown = groups.filter(pl.col("group").is_in(largest["group"].implode()))
    # The ROI in the axis label, not in a text layer: a layered chart costs much more per rerun.
    labels = [f"{group}: {fmt.roi(value)}" for group, value in zip(shown["group"], shown["roi"], strict=True)]
    return shown.select(
        pl.int_range(pl.len(), dtype=pl.Int32).alias("order"),
        "group",
        pl.Series("label", labels, dtype=pl.String),
        pl.col("roi").round(4),
        "partners",
        pl.col("revenue").round(2),
        pl.col("cost").round(2),
    )


def roi_by_group_chart(groups: pl.DataFrame, column: str) -> alt.Chart:
    """ROI per group as horizontal bars, labelled with the group's ROI; tiers in the tier
    colours, other groups in one colour (see `roi_by_group_data` for the rows)."""
    data = roi_by_group_data(groups)
    return _roi_by_group(data, column, data.height)


def roi_by_group_template(column: str, bars: int) -> dict:
    """`roi_by_group_chart`'s spec without data, for `bars` groups grouped by `column`."""
    return spec_and_data(_roi_by_group(alt.Undefined, column, bars))[0]


def _roi_by_group(data: pl.DataFrame | UndefinedType, column: str, bars: int) -> alt.Chart:
    title = GROUP_TITLES[column]
    # Channel objects, not shorthand strings or alt.value: Altair parses those slowly.
    encoding = {
        "x": alt.X("roi:Q", title="ROI over the window (% of cost)", axis=alt.Axis(format="+.0%")),
        "y": alt.Y(
            "label:N",
            title=f"{title}: ROI",
            sort=alt.EncodingSortField(field="order", op="min"),
            axis=alt.Axis(labelLimit=320),
        ),
        "tooltip": [
            alt.Tooltip("group:N", title=title),
            alt.Tooltip("roi:Q", title="ROI", format="+.1%"),
            alt.Tooltip("partners:Q", title="Partners", format=","),
            alt.Tooltip("revenue:Q", title="Revenue", format=",.0f"),
            alt.Tooltip("cost:Q", title="Cost", format=",.0f"),
        ],
    }
    if column == "tier":
        encoding["color"] = alt.Color("group:N", title="Tier", scale=TIER_SCALE, legend=None)
    height = 140 + (50 if bars <= 6 else 30) * max(bars, 2)
    return alt.Chart(data, title=f"ROI by {title.lower()}", height=height).mark_bar(color=ROI_COLOR).encode(**encoding)


def category_chart(categories: pl.DataFrame, currency: str = "$") -> alt.Chart:
    """Per investment category: money spent (blue) next to the revenue of the partners who
    received it (grey), side by side."""
    spent = "Spent in the window"
    earned = "Revenue of the partners who received it"
    names = [category_name(c) for c in categories["category"].to_list()]
    wide = categories.select(
        pl.Series("category", names, dtype=pl.String),
        pl.col("spend").round(2),
        pl.col("revenue").round(2),
        pl.col("recipients"),
    )
    data = pl.concat(
        [
            wide.select("category", pl.lit(spent).alias("measure"), pl.col("spend").alias("amount"), "recipients"),
            wide.select("category", pl.lit(earned).alias("measure"), pl.col("revenue").alias("amount"), "recipients"),
        ]
    )
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("category:N", title="Investment category", sort=names, axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("measure:N", sort=[spent, earned]),
            y=alt.Y("amount:Q", title=f"Amount in the window ({currency})", axis=money_axis(currency)),
            color=alt.Color(
                "measure:N",
                title=None,
                scale=alt.Scale(domain=[spent, earned], range=[PARTNER_COLOR, REVENUE_COLOR]),
                legend=alt.Legend(orient="top", labelFontSize=13, labelLimit=400),
            ),
            tooltip=[
                alt.Tooltip("category:N", title="Category"),
                alt.Tooltip("measure:N", title="What"),
                alt.Tooltip("amount:Q", title="Amount", format=",.0f"),
                alt.Tooltip("recipients:Q", title="Partners who received it", format=","),
            ],
        )
        .properties(
            title="Investment by category vs the revenue of the partners who received it", height=CHART_HEIGHT + 80
        )
    )
