"""Altair charts of the ROI page, built from aggregated frames (kpi.roi).

ROI is plotted as a ratio with a percent axis (3.4 reads +340%), the way `ui.format.roi`
writes it; a month or group without cost has no ROI and no bar or point, and its label
says "n/a".
"""

from __future__ import annotations

import altair as alt
import polars as pl

from kpi.roi import KNOWN_CATEGORIES
from ui import format as fmt
from ui.charts import PARTNER_COLOR, REVENUE_COLOR, TIER_SCALE

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


def _month_axis() -> alt.X:
    return alt.X("month:T", title="Month", axis=alt.Axis(format="%b %Y", labelAngle=0, tickCount=8))


def monthly_roi_chart(months: pl.DataFrame) -> alt.LayerChart:
    """Program ROI per calendar month (line with points) and a rule at break-even (0%)."""
    data = months.select(pl.col("month").dt.strftime("%Y-%m-%d").alias("month"), pl.col("roi").round(4))
    line = (
        alt.Chart(data)
        .mark_line(color=ROI_COLOR, strokeWidth=3, point=alt.OverlayMarkDef(color=ROI_COLOR, size=60))
        .encode(
            x=_month_axis(),
            y=alt.Y("roi:Q", title="Program ROI in the month (% of cost)", axis=alt.Axis(format="+.0%")),
            tooltip=[
                alt.Tooltip("month:T", title="Month", format="%B %Y"),
                alt.Tooltip("roi:Q", title="ROI", format="+.1%"),
            ],
        )
    )
    break_even = (
        alt.Chart(pl.DataFrame({"roi": [0.0]})).mark_rule(color="#555555", strokeDash=[4, 4]).encode(y=alt.Y("roi:Q"))
    )
    return alt.layer(break_even, line).properties(title="Program ROI, month by month", height=CHART_HEIGHT)


def cost_per_activated_chart(months: pl.DataFrame, currency: str = "$") -> alt.Chart:
    """Money spent in the month per partner activated at the month end (bars)."""
    data = months.select(
        pl.col("month").dt.strftime("%Y-%m-%d").alias("month"),
        pl.col("cost_per_activated").round(2),
        pl.col("activated"),
        pl.col("cost").round(2),
    )
    return (
        # Title and height in the constructor: .properties() re-validates the chart (~0.6 ms).
        alt.Chart(data, title="Cost per activated partner, month by month", height=CHART_HEIGHT)
        .mark_bar(color=COST_COLOR)
        .encode(
            x=_month_axis(),
            y=alt.Y(
                "cost_per_activated:Q", title=f"Cost per activated partner ({currency})", axis=alt.Axis(format="~s")
            ),
            tooltip=[
                alt.Tooltip("month:T", title="Month", format="%B %Y"),
                alt.Tooltip("cost_per_activated:Q", title="Cost per activated partner", format=",.0f"),
                alt.Tooltip("cost:Q", title="Cost in the month", format=",.0f"),
                alt.Tooltip("activated:Q", title="Activated at month end", format=","),
            ],
        )
    )


def roi_by_group_chart(groups: pl.DataFrame, column: str) -> alt.Chart:
    """ROI per group as horizontal bars, each axis label carrying the group's ROI ("n/a" for
    a group without cost, which has no bar); tiers in the tier colours. At most
    MAX_GROUP_BARS groups (those with the largest cost), in the table's order."""
    shown = groups
    if groups.height > MAX_GROUP_BARS:
        largest = groups.sort("cost", descending=True, maintain_order=True).head(MAX_GROUP_BARS)
        shown = groups.filter(pl.col("group").is_in(largest["group"].implode()))
    # The ROI in the axis label, not in a text layer: a layered chart costs ~20 ms more per rerun.
    labels = [f"{group}: {fmt.roi(value)}" for group, value in zip(shown["group"], shown["roi"], strict=True)]
    data = shown.select(
        "group",
        pl.Series("label", labels, dtype=pl.String),
        pl.col("roi").round(4),
        "partners",
        pl.col("revenue").round(2),
        pl.col("cost").round(2),
    )
    title = GROUP_TITLES[column]
    # Channel objects, not shorthand strings or alt.value: Altair parses those slowly (~12 ms each).
    encoding = {
        "x": alt.X("roi:Q", title="ROI over the window (% of cost)", axis=alt.Axis(format="+.0%")),
        "y": alt.Y("label:N", title=f"{title}: ROI", sort=labels, axis=alt.Axis(labelLimit=320)),
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
    return (
        alt.Chart(
            data, title=f"ROI by {title.lower()}", height=140 + (50 if data.height <= 6 else 30) * max(data.height, 2)
        )
        .mark_bar(color=ROI_COLOR)
        .encode(**encoding)
    )


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
            y=alt.Y("amount:Q", title=f"Amount in the window ({currency})", axis=alt.Axis(format="~s")),
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
