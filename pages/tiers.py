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
from ui.frame import bound, check_link, current

PAGE_ROWS = 100  # partners a page of the list shows; the downloads have them all
# The downloads' columns: `python -m kpi segment`'s, then who the partner is with (types as in the data).
DOWNLOAD_COLUMNS = (*SEGMENT_COLUMNS, "region", "partner_type", "channel_manager")
# What a leader sorts and decides by first (tier and money), then why, then who manages it: at a
# laptop's width the money columns are on screen, and the pinned name stays while scrolling sideways.
LIST_COLUMNS = (
    "partner_name",
    "scorecard",
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
    "partner_id",
)
TAB = SPEC_BY_NAME["tiers_tab"]
TIER, SEARCH, SORT, ORDER, PAGE = (SPEC_BY_NAME[f"tiers_{n}"] for n in ("tier", "search", "sort", "order", "page"))
FILTERS = (  # column, link parameter, placeholder
    ("region", "tiers_region", "All regions"),
    ("partner_type", "tiers_type", "All types"),
    ("channel_manager", "tiers_manager", "All managers"),
)

frame = current()
view = frame.view
partners = data.partner_list(frame.dataset, view.as_of, view.window_days)
segmented = metrics.segment(partners.facts, view)  # in partner-name order


def roi_width(roi_pct: pl.Series) -> int:
    """Pixels for the ROI column: its widest value as written ("+16775.9%"), at least the label's."""
    widest = max((len(f"{v:+.1f}%") for v in roi_pct.drop_nulls().to_list()), default=3)
    return max(70, 8 * widest + 24)


st.title("Partner tiers")
st.caption(
    f"As of **{view.as_of.isoformat()}**, over the last **{view.window_days} days**. "
    "Reward the partners who deliver, nurture the middle, drop the dead weight."
)


def _first_page() -> None:
    """A new filter or sort starts the list at its first page."""
    st.session_state[PAGE.name] = 1


def _label(column: str):
    return tiers.type_label if column == "partner_type" else str


# Rows of controls in one horizontal container, not st.columns: one element instead of one a
# column (every element is a websocket message of each rerun). Every control is in the link.
filters = st.container(horizontal=True)
chosen = {
    "tier": bound(filters.multiselect, TIER.name, TIER.label, TIERS, placeholder="All tiers", on_change=_first_page)
}
for column, name, placeholder in FILTERS:
    options, label = partners.options[column], _label(column)
    chosen[column] = bound(
        filters.multiselect,
        name,
        SPEC_BY_NAME[name].label,
        options,
        format_func=label,
        known={label(option): option for option in options},
        placeholder=placeholder,
        on_change=_first_page,
    )
search = bound(filters.text_input, SEARCH.name, SEARCH.label, placeholder="e.g. Northwind", on_change=_first_page)

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
        if st.session_state.get(PAGE.name, 1) > pages:  # fewer partners than the page asked for
            st.session_state[PAGE.name] = pages
        controls = st.container(horizontal=True, vertical_alignment="bottom")
        sort_by = bound(
            controls.selectbox,
            SORT.name,
            SORT.label,
            [value for value, _ in SORT.choices],
            format_func=SORT.label_of,
            on_change=_first_page,
            persist_state="page",
            width=240,
        )
        order = bound(
            controls.radio,
            ORDER.name,
            ORDER.label,
            [value for value, _ in ORDER.choices],
            format_func=ORDER.label_of,
            horizontal=True,
            on_change=_first_page,
            persist_state="page",
        )
        page = bound(
            controls.number_input,
            PAGE.name,
            PAGE.label,
            min_value=1,
            max_value=pages,
            step=1,
            persist_state="page",
            width=140,
        )

        # One sort of the filtered list; only the page's rows go to the browser.
        ordered = tiers.sort_partners(shown, sort_by, descending=order == "descending")
        first = (page - 1) * PAGE_ROWS
        rows = ordered.slice(first, PAGE_ROWS)
        types = partners.options["partner_type"]
        table = rows.with_columns(
            (pl.col("roi") * 100).alias("roi"),
            pl.col("partner_type").replace_strict({t: tiers.type_label(t) for t in types}, default=None),
            pl.Series("scorecard", [whatif.link("scorecard", frame, scorecard_partner=p) for p in rows["partner_id"]]),
        ).select(LIST_COLUMNS)
        money = fmt.money_column_format()
        st.dataframe(
            table.to_arrow(),  # Arrow straight through, no pandas detour
            hide_index=True,
            placeholder=fmt.EMPTY,
            height=460,
            column_config={
                "partner_name": st.column_config.TextColumn("Partner", pinned=True),
                "scorecard": st.column_config.LinkColumn(
                    "Scorecard", display_text="Open", width="small", help="This partner's scorecard, in this view"
                ),
                "partner_id": st.column_config.TextColumn("ID"),
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
                # As wide as the page's longest ROI as written: the table's own sizing measures the
                # raw number, and "+16775.9%" then lost its sign.
                "roi": st.column_config.NumberColumn(
                    "ROI",
                    format="%+.1f%%",
                    help="(revenue - cost) / cost; n/a without cost",
                    width=roi_width(table["roi"]),
                ),
                "mrr": st.column_config.NumberColumn("MRR", format=money),
            },
        )
        # Below the table, not at its top right corner, where the table's own toolbar shows on hover.
        below = st.container(horizontal=True, vertical_alignment="center")
        below.caption(
            f"Partners {first + 1:,}-{first + table.height:,} of {shown.height:,}, sorted by "
            f"{SORT.label_of(sort_by)}, {order} ({fmt.EMPTY} last, ties by name). Page {page} of {pages}."
            if shown.height
            else "No partner matches these filters."
        )
        # Every partner shown (all pages), in this order.
        table_downloads(
            lambda: ordered.select(DOWNLOAD_COLUMNS),
            f"tiers-partners-{view.as_of.isoformat()}",
            "tiers_download",
            below,
            sheet="partners",
        )

if chart_tab.open:
    with chart_tab:
        points = charts.engagement_points(shown)
        template = charts.engagement_scatter_template(charts.scatter_grouped(shown.height), fmt.currency_symbol())
        st.vega_lite_chart(with_rows(template, points), width="stretch")  # the points go as Arrow; Altair not run
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
