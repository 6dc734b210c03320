"""Tiers: the partner list with tier, activation, behaviours and money; filter, search, sort, export."""

import math

import polars as pl
import streamlit as st

from kpi import metrics, report, tiers
from kpi.metrics import SEGMENT_COLUMNS, TIERS
from kpi.params import SPEC_BY_NAME
from ui import charts, data, whatif
from ui import format as fmt
from ui.chart_export import with_rows
from ui.downloads import chart_downloads, table_downloads
from ui.frame import check_link, current

PAGE_ROWS = 100  # partners a page of the list shows; the downloads have them all
# The downloads' columns: `python -m kpi segment`'s, then who the partner is with.
DOWNLOAD_COLUMNS = (*SEGMENT_COLUMNS, "region", "partner_type", "channel_manager")
LIST_COLUMNS = (
    "partner_id",
    "partner_name",
    "tier",
    "revenue",
    "cost",
    "roi",
    "mrr",
    "activated",
    "criteria_met",
    "trainings",
    "content_shares",
    "content_views",
    "logins",
    "active_users",
    "deals_registered",
    "deals_won",
    "region",
    "partner_type",
    "channel_manager",
)
PAGE_KEY = "tiers_page"
# What the list can be sorted by: label -> column. Ties keep partner-name order.
SORTS = {
    "Revenue": "revenue",
    "ROI": "roi",
    "MRR": "mrr",
    "Cost": "cost",
    "Tier": "tier",
    "Criteria met": "criteria_met",
    "Trainings": "trainings",
    "Shares": "content_shares",
    "Views": "content_views",
    "Logins": "logins",
    "Active staff": "active_users",
    "Deals registered": "deals_registered",
    "Deals won": "deals_won",
    "Partner name": "partner_name",
    "Partner ID": "partner_id",
}
ORDERS = ("Descending", "Ascending")
TAB = SPEC_BY_NAME["tiers_tab"]
FILTERS = (  # column, label, widget key, placeholder
    ("region", "Region", "tiers_region", "All regions"),
    ("partner_type", "Partner type", "tiers_type", "All types"),
    ("channel_manager", "Channel manager", "tiers_manager", "All managers"),
)

frame = current()
view = frame.view
partners = data.partner_list(frame.dataset, view.as_of, view.window_days)
segmented = metrics.segment(partners.facts, view)  # in partner-name order

st.title("Partner tiers")
st.caption(
    f"As of **{view.as_of.isoformat()}**, over the last **{view.window_days} days**. "
    "Reward the partners who deliver, nurture the middle, drop the dead weight."
)


def _first_page() -> None:
    """A new filter or sort starts the list at its first page."""
    st.session_state[PAGE_KEY] = 1


# Rows of controls in one horizontal container, not st.columns: one element instead of one a
# column (every element is a websocket message of each rerun).
filters = st.container(horizontal=True)
chosen = {"tier": filters.multiselect("Tier", TIERS, key="tiers_tier", placeholder="All tiers", on_change=_first_page)}
for column, label, key, placeholder in FILTERS:
    chosen[column] = filters.multiselect(
        label, partners.options[column], key=key, placeholder=placeholder, on_change=_first_page
    )
search = filters.text_input(
    "Search partner name", key="tiers_search", placeholder="e.g. Northwind", on_change=_first_page
)

shown = tiers.filter_partners(segmented, chosen, search)
headline = report.tiers_page(segmented, view, shown)
st.markdown(
    f"**{headline['shown']:,}** of {headline['partners']:,} partners shown: "
    + " · ".join(f"{tier} **{count:,}**" for tier, count in headline["tiers"].items())
)

# Two tabs, and only the open one is built: a threshold move redraws the list or the chart,
# not both (drawing the chart is the slow part of a rerun in the browser). The tab is in the link.
check_link(TAB.name)
list_tab, chart_tab = st.tabs([label for _, label in TAB.choices], key=TAB.name, bind="query-params")

if list_tab.open:
    with list_tab:
        pages = max(1, math.ceil(shown.height / PAGE_ROWS))
        if st.session_state.get(PAGE_KEY, 1) > pages:  # fewer partners than the page asked for
            st.session_state[PAGE_KEY] = pages
        controls = st.container(horizontal=True, vertical_alignment="bottom")
        sort_label = controls.selectbox(
            "Sort by", list(SORTS), key="tiers_sort", on_change=_first_page, persist_state="page"
        )
        order = controls.radio(
            "Order", ORDERS, key="tiers_order", horizontal=True, on_change=_first_page, persist_state="page"
        )
        page = controls.number_input("Page", min_value=1, max_value=pages, step=1, key=PAGE_KEY, persist_state="page")

        # One sort of the filtered list; only the page's rows go to the browser.
        ordered = tiers.sort_partners(shown, SORTS[sort_label], descending=order == ORDERS[0])
        first = (page - 1) * PAGE_ROWS
        table = (
            ordered.slice(first, PAGE_ROWS)
            # What a leader sorts and decides by first (tier and money), then why, then who manages it:
            # at a laptop's width the money columns are on screen without scrolling sideways.
            .select(LIST_COLUMNS)
            .with_columns((pl.col("roi") * 100).alias("roi"))
        )
        # Every partner shown (all pages), in this order.
        table_downloads(
            lambda: ordered.select(DOWNLOAD_COLUMNS),
            f"tiers-partners-{view.as_of.isoformat()}",
            "tiers_download",
            controls,
            sheet="partners",
        )
        money = fmt.money_column_format()
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
                "roi": st.column_config.NumberColumn(
                    "ROI", format="%+.1f%%", help="(revenue - cost) / cost; n/a without cost", width=90
                ),
                "mrr": st.column_config.NumberColumn("MRR", format=money),
            },
        )
        st.caption(
            f"Partners {first + 1:,}-{first + table.height:,} of {shown.height:,}, sorted by {sort_label}, "
            f"{order.lower()} ({fmt.EMPTY} last, ties by name). Page {page} of {pages}."
            if shown.height
            else "No partner matches these filters."
        )

if chart_tab.open:
    with chart_tab:
        points = charts.engagement_points(shown)
        template = charts.engagement_scatter_template(charts.scatter_grouped(shown.height), fmt.currency_symbol())
        st.vega_lite_chart(points, template, width="stretch")  # the points go as Arrow; Altair not run
        chart_downloads(
            lambda: with_rows(template, points), f"tiers-engagement-{view.as_of.isoformat()}", "tiers_chart_download"
        )
        st.caption(
            "Each dot is a partner (or, in large programs, a group of similar partners): how much it did "
            "in the window against the revenue it brought. Reward sits top right; drop sits at zero revenue "
            "with few actions; a nurture dot far right with no revenue is busy but not yet selling."
        )


# --- against the comparison base ------------------------------------------------------------
what_if = data.what_if(frame.dataset, view, frame.base_view)
st.subheader("Against the policy" if frame.base.is_policy else "Against the scenario chosen", anchor=False)
if what_if.comparison is None:
    st.caption(whatif.equal_caption(frame))
else:
    st.caption(f"The controls against {whatif.base_name(frame)}: {whatif.changes_text(frame)}.")
    whatif.draw_movers(frame, what_if)
