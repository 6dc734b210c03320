"""ROI: what the program gets back for what it spends: month by month, by group, by
investment category and partner by partner."""

import polars as pl
import streamlit as st

from kpi import report, roi
from kpi.params import SPEC_BY_NAME
from ui import charts_roi, data
from ui import format as fmt
from ui.chart_export import with_rows
from ui.downloads import chart_downloads, row, table_downloads
from ui.frame import bound, check_link, current

frame = current()
view = frame.view
as_of = view.as_of
currency = fmt.currency_symbol()
segmented = data.segmented(frame.dataset, view)
losing_list, best_list = roi.overpaying(segmented), roi.best_return(segmented)
headline = report.roi_page(segmented, view, losing_list, best_list)

MONEY = fmt.money_column_format()
ROI_COLUMN = st.column_config.NumberColumn("ROI", format="%+.1f%%", help="(revenue - cost) / cost; n/a without cost")
GROUP = SPEC_BY_NAME["roi_group"]
TAB = SPEC_BY_NAME["roi_tab"]
ON = as_of.isoformat()  # every download's name ends with the as-of date

PARTNER_COLUMNS = {
    "partner_id": st.column_config.TextColumn("ID"),
    "partner_name": st.column_config.TextColumn("Partner"),
    "tier": st.column_config.TextColumn("Tier"),
    "cost": st.column_config.NumberColumn("Cost", format=MONEY),
    "revenue": st.column_config.NumberColumn("Revenue", format=MONEY),
    "roi": ROI_COLUMN,
}


def _as_percent(frame: pl.DataFrame) -> pl.DataFrame:
    """ROI ratios as percentages for the tables (3.4 -> 340.0, shown as +340.0%)."""
    return frame.with_columns(pl.col("roi") * 100)


st.title("Return on investment")
st.caption(
    f"As of **{as_of.isoformat()}**, counting the **{view.window_days} days** up to it. "
    "ROI = (revenue − cost) ÷ cost: +100% means every 1 spent brought back 2. "
    "Where nothing was spent there is no ROI: it shows as n/a."
)

cards = st.container(horizontal=True)  # cards wrap to a new row rather than cut a label or value
cards.metric(
    "Program ROI",
    fmt.roi(headline["roi"]),
    help="(revenue - cost) / cost of all partners in the program over the window; n/a when nothing was spent.",
    border=True,
)
cards.metric("Revenue", fmt.money(headline["revenue"]), help="Won deals: amount + 12 x monthly recurring.", border=True)
cards.metric("Cost", fmt.money(headline["cost"]), help="Everything invested in the window.", border=True)
cards.metric(
    "Cost per activated partner",
    fmt.money(headline["cost_per_activated"]),
    help=f"Cost over the window / the {headline['activated']:,} partners activated on the as-of date, "
    "by the criteria in the sidebar; n/a when none is activated.",
    border=True,
)


def _months() -> None:
    """Program ROI and cost per activated partner, month by month."""
    st.subheader("Month by month")
    monthly = roi.monthly(data.roi_history(frame.dataset, as_of, view.window_days), view)
    left, right = st.columns(2)
    roi_spec, roi_rows = data.roi_monthly_chart(frame.dataset, as_of)
    left.vega_lite_chart(with_rows(roi_spec, roi_rows), width="stretch")
    chart_downloads(
        lambda: with_rows(roi_spec, roi_rows), f"roi-monthly-roi-{ON}", "roi_monthly_chart_download", row(left)
    )
    left.caption(
        f"Program ROI in each calendar month of the last {roi.MONTHS_SHOWN} months up to the as-of date "
        + (
            f"(the data covers {monthly.height}): "
            if monthly.height < roi.MONTHS_SHOWN
            else "(the as-of month stops at it): "
        )
        + "revenue won in the month against money spent in it, for the partners in the program at the month end. "
        "Above the dashed line the month brought back more than it cost; a month with no spend has no point."
    )
    cost_rows, cost_spec = charts_roi.cost_per_activated_data(monthly), data.roi_cost_per_activated_template(currency)
    right.vega_lite_chart(with_rows(cost_spec, cost_rows), width="stretch")
    chart_downloads(
        lambda: with_rows(cost_spec, cost_rows), f"roi-cost-per-activated-{ON}", "roi_cost_chart_download", row(right)
    )
    right.caption(
        f"Money spent in each month divided by the partners activated at its end (their last {view.window_days} days "
        "judged by the criteria in the sidebar). A rising bar means each activated partner costs more; a month with "
        "no activated partner has no bar."
    )
    with st.expander("The months in numbers"):
        months_table = monthly.select(
            "month", "partners", "revenue", "cost", "roi", "activated", "cost_per_activated"
        ).sort("month", descending=True)
        st.dataframe(
            _as_percent(months_table).to_arrow(),
            hide_index=True,
            placeholder=fmt.EMPTY,
            key="roi_months_table",
            column_config={
                "month": st.column_config.DateColumn("Month", format="MMM YYYY"),
                "partners": st.column_config.NumberColumn("Partners at month end"),
                "revenue": st.column_config.NumberColumn("Revenue", format=MONEY),
                "cost": st.column_config.NumberColumn("Cost", format=MONEY),
                "roi": ROI_COLUMN,
                "activated": st.column_config.NumberColumn("Activated at month end"),
                "cost_per_activated": st.column_config.NumberColumn("Cost per activated partner", format=MONEY),
            },
        )
        # ROI as a ratio in the files: Excel writes it as a percentage, CSV keeps what the command line writes.
        table_downloads(lambda: months_table, f"roi-months-{ON}", "roi_months_download", sheet="months")


def _groups() -> None:
    """ROI by tier, region, partner type or channel manager."""
    st.subheader("ROI by group")
    group_column = bound(
        st.selectbox,
        GROUP.name,
        GROUP.label,
        [value for value, _ in GROUP.choices],
        format_func=GROUP.label_of,
        help=GROUP.help,
    )
    chosen = GROUP.label_of(group_column)
    groups = roi.roi_by_group(segmented, group_column)
    group_rows = charts_roi.roi_by_group_data(groups)
    group_spec = data.roi_group_template(group_column, group_rows.height)
    st.vega_lite_chart(with_rows(group_spec, group_rows), width="stretch")
    chart_downloads(
        lambda: with_rows(group_spec, group_rows), f"roi-by-{group_column}-{ON}", "roi_group_chart_download"
    )
    many = (
        f" The chart shows the {charts_roi.MAX_GROUP_BARS} groups with the largest cost; the table lists all."
        if groups.height > charts_roi.MAX_GROUP_BARS
        else ""
    )
    st.caption(
        f"ROI over the window of each {chosen.lower()}: its partners' revenue against their cost, all added up. "
        "Bars right of zero brought back more than they cost; a group that cost nothing shows n/a."
        + (" Partners with no value on record are under (none)." if group_column != "tier" else "")
        + many
    )
    st.dataframe(
        _as_percent(groups).to_arrow(),
        hide_index=True,
        placeholder=fmt.EMPTY,
        key="roi_groups_table",
        column_config={
            "group": st.column_config.TextColumn(chosen),
            "partners": st.column_config.NumberColumn("Partners"),
            "activated": st.column_config.NumberColumn("Activated"),
            "revenue": st.column_config.NumberColumn("Revenue", format=MONEY),
            "cost": st.column_config.NumberColumn("Cost", format=MONEY),
            "roi": ROI_COLUMN,
            "cost_per_activated": st.column_config.NumberColumn("Cost per activated partner", format=MONEY),
        },
    )
    table_downloads(
        lambda: groups.rename({"group": group_column}),
        f"roi-by-{group_column}-{ON}",
        "roi_groups_download",
        sheet="groups",
    )


def _categories() -> None:
    """What each kind of investment cost and what its partners brought in."""
    st.subheader("Investment by category")
    categories = data.roi_categories(frame.dataset, as_of, view.window_days)
    category_spec, category_rows = data.roi_category_chart(frame.dataset, as_of, view.window_days, currency)
    st.vega_lite_chart(with_rows(category_spec, category_rows), width="stretch")
    chart_downloads(
        lambda: with_rows(category_spec, category_rows), f"roi-categories-{ON}", "roi_category_chart_download"
    )
    st.caption(
        "For each kind of investment: what the program spent on it in the window (blue) and what the partners who "
        "received it brought in over the same window (grey). A partner funded from two categories counts in both, "
        "so the grey bars add up to more than the program's revenue."
    )
    named_categories = categories.with_columns(
        pl.Series("category", [charts_roi.category_name(c) for c in categories["category"]], dtype=pl.String)
    )
    st.dataframe(
        named_categories.to_arrow(),
        hide_index=True,
        placeholder=fmt.EMPTY,
        key="roi_categories_table",
        column_config={
            "category": st.column_config.TextColumn("Category"),
            "spend": st.column_config.NumberColumn("Spent", format=MONEY),
            "recipients": st.column_config.NumberColumn("Partners who received it"),
            "revenue": st.column_config.NumberColumn("Their revenue", format=MONEY),
            "revenue_per_invested": st.column_config.NumberColumn(
                "Revenue per 1 invested", format="%.2f", help="Their revenue / spent; n/a when nothing was spent."
            ),
        },
    )
    table_downloads(lambda: named_categories, f"roi-categories-{ON}", "roi_categories_download", sheet="categories")


def _partners() -> None:
    """The partners losing money, the best returns and the unfunded earners."""

    st.subheader("Are we overpaying?")
    losing, losing_count = losing_list[0], headline["overpaying"]
    st.caption(
        f"**{losing_count:,}** partners cost more than they brought back in the window (ROI below 0)."
        + (f" The {losing.height} with the largest spend:" if losing_count else "")
    )
    if losing_count:
        st.dataframe(
            _as_percent(losing).to_arrow(),
            hide_index=True,
            placeholder=fmt.EMPTY,
            key="roi_overpaying_table",
            column_config=PARTNER_COLUMNS,
        )
        table_downloads(  # every partner losing money, not only the first
            lambda: roi.overpaying(segmented, top=losing_count)[0],
            f"roi-overpaying-{ON}",
            "roi_overpaying_download",
            sheet="overpaying",
        )

    st.subheader("Best return")
    best, funded_count = best_list[0], headline["funded"]
    st.caption(
        f"Of the **{funded_count:,}** partners the program spent money on in the window, the {best.height} "
        "with the highest ROI:"
    )
    if funded_count:
        st.dataframe(
            _as_percent(best).to_arrow(),
            hide_index=True,
            placeholder=fmt.EMPTY,
            key="roi_best_table",
            column_config=PARTNER_COLUMNS,
        )
        table_downloads(  # every funded partner, best return first
            lambda: roi.best_return(segmented, top=funded_count)[0],
            f"roi-best-return-{ON}",
            "roi_best_download",
            sheet="best return",
        )

    st.subheader("Unfunded earners")
    earners = headline["unfunded_earners"]
    cards = st.container(horizontal=True)
    cards.metric(
        "Partners with revenue but no cost",
        fmt.count(earners["partners"]),
        help="Their ROI is n/a: nothing was spent on them in the window.",
        border=True,
    )
    cards.metric("Revenue without cost", fmt.money(earners["revenue"]), border=True)
    st.caption(
        "Partners who brought revenue without any investment in the window. They have no ROI, so they appear in "
        "neither list above; they may be worth funding."
    )


# The details in tabs, and only the open one is built; the open tab is in the link.
check_link(TAB.name)
tabs = st.tabs([label for _, label in TAB.choices], key=TAB.name, bind="query-params")
for tab, draw in zip(tabs, (_months, _groups, _categories, _partners), strict=True):
    if tab.open:
        with tab:
            draw()
