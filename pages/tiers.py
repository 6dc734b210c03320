"""Tiers: the partner list with tier, activation, behaviours and money; filter, search, export."""

import polars as pl
import streamlit as st

from kpi.metrics import SEGMENT_COLUMNS, TIERS
from ui import charts, data
from ui import format as fmt
from ui.frame import current

frame = current()
view = frame.view
segmented = data.segmented(frame.dataset, view)

st.title("Partner tiers")
st.caption(
    f"As of **{view.require_as_of().isoformat()}**, over the last **{view.window_days} days**. "
    "Reward the partners who deliver, nurture the middle, drop the dead weight."
)


def _options(column: str) -> list[str]:
    return sorted(v for v in segmented[column].unique().to_list() if v is not None)


cols = st.columns([1, 1, 1, 1, 1.4])
tiers = cols[0].multiselect("Tier", TIERS, key="tiers_tier", placeholder="All tiers")
regions = cols[1].multiselect("Region", _options("region"), key="tiers_region", placeholder="All regions")
types = cols[2].multiselect("Partner type", _options("partner_type"), key="tiers_type", placeholder="All types")
managers = cols[3].multiselect(
    "Channel manager", _options("channel_manager"), key="tiers_manager", placeholder="All managers"
)
search = cols[4].text_input("Search partner name", key="tiers_search", placeholder="e.g. Northwind")

shown = segmented
for column, chosen in (("tier", tiers), ("region", regions), ("partner_type", types), ("channel_manager", managers)):
    if chosen:
        shown = shown.filter(pl.col(column).is_in(chosen))
if search.strip():
    shown = shown.filter(pl.col("partner_name").str.to_lowercase().str.contains(search.strip().lower(), literal=True))

counts = {tier: shown.filter(pl.col("tier") == tier).height for tier in TIERS}
st.markdown(
    f"**{shown.height:,}** of {segmented.height:,} partners shown: "
    + " · ".join(f"{tier} **{counts[tier]:,}**" for tier in TIERS)
)

table = shown.select(
    [*SEGMENT_COLUMNS[:2], "region", "partner_type", "channel_manager", *SEGMENT_COLUMNS[2:]]
).with_columns((pl.col("roi") * 100).alias("roi"))
money = fmt.currency_symbol() + "%,.0f"
st.dataframe(
    table.to_arrow(),  # Arrow straight through, no pandas detour
    hide_index=True,
    placeholder=fmt.EMPTY,
    height=460,
    column_config={
        "partner_id": st.column_config.TextColumn("ID"),
        "partner_name": st.column_config.TextColumn("Partner"),
        "region": "Region",
        "partner_type": "Type",
        "channel_manager": "Channel manager",
        "tier": "Tier",
        "activated": st.column_config.CheckboxColumn("Activated"),
        "criteria_met": st.column_config.NumberColumn("Criteria met"),
        "trainings": "Trainings",
        "content_shares": "Shares",
        "content_views": "Views",
        "logins": "Logins",
        "active_users": "Active staff",
        "deals_registered": "Deals registered",
        "deals_won": "Deals won",
        "revenue": st.column_config.NumberColumn("Revenue", format=money),
        "cost": st.column_config.NumberColumn("Cost", format=money),
        "roi": st.column_config.NumberColumn("ROI", format="%+.1f%%", help="(revenue - cost) / cost; n/a without cost"),
        "mrr": st.column_config.NumberColumn("MRR", format=money),
    },
)
st.download_button(
    "Download this list (CSV)",
    lambda: shown.select(SEGMENT_COLUMNS).write_csv(),  # built only when clicked
    file_name=f"partner-tiers-{view.require_as_of().isoformat()}.csv",
    mime="text/csv",
    key="tiers_download",
    icon=":material/download:",
)

st.vega_lite_chart(charts.vega_spec(charts.engagement_scatter(shown, fmt.currency_symbol())), width="stretch")
st.caption(
    "Each dot is a partner (or, in large programs, a group of similar partners): how much it did "
    "in the window against the revenue it brought. Reward sits top right; drop sits at zero revenue "
    "with few actions; a nurture dot far right with no revenue is busy but not yet selling."
)
