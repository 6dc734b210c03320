"""Recurring revenue: MRR and ARR over time, each month's movement, retention, MRR by tier and
by partner, and how concentrated revenue is."""

import streamlit as st

from kpi import recurring, report
from kpi.params import SPEC_BY_NAME
from ui import charts_recurring, data
from ui import format as fmt
from ui.downloads import chart_downloads, row, table_downloads
from ui.frame import check_link, current

frame = current()
view = frame.view
as_of = view.as_of
window = view.window_days
currency = fmt.currency_symbol()
shown = data.recurring_book(frame.dataset, as_of, window, currency)  # everything the thresholds do not change
segmented = data.segmented(frame.dataset, view)
by_tier = recurring.mrr_by_tier(segmented)
top, with_mrr = recurring.top_partners_by_mrr(segmented, 10)
numbers = report.recurring_page(shown.book, segmented, view, by_tier, with_mrr)
this_month, retention = numbers["this_month"], numbers["retention"]
start_day = retention["start_day"]  # the retention cohort is taken on this day
ON = as_of.isoformat()  # every download's name ends with the as-of date
TAB = SPEC_BY_NAME["recurring_tab"]

st.title("Recurring revenue")
st.caption(
    f"As of **{as_of.isoformat()}**. MRR is the monthly recurring revenue of won deals live on a day "
    f"(closed by then, not churned by then) of the partners in the program. Retention and revenue "
    f"concentration count the **{window} days** up to the as-of date."
)

# The month of the as-of date, counted up to the as-of date.
month_name = as_of.strftime("%B %Y")

cards = st.container(horizontal=True)  # cards wrap to a new row rather than cut a label or value
cards.metric(
    "MRR",
    fmt.money(numbers["mrr"]),
    help="Monthly recurring revenue live on the as-of date, of the partners in the program.",
    border=True,
)
cards.metric("ARR", fmt.money(numbers["arr"]), help="12 x MRR.", border=True)
cards.metric(
    "Net new MRR this month",
    fmt.money(this_month["net_new_mrr"]),
    help=f"MRR on the as-of date minus MRR at the end of the month before {month_name}.",
    border=True,
)


def _months() -> None:
    """MRR and ARR at each month end, and what moved the book each month."""
    st.subheader("MRR month by month")
    st.vega_lite_chart(shown.history_chart, width="stretch")
    chart_downloads(lambda: shown.history_chart, f"recurring-mrr-history-{ON}", "recurring_history_chart_download")
    st.caption(
        "The recurring revenue of the partners in the program at each month end (the last month stops at "
        "the as-of date). Hover a point for its ARR (twelve times the MRR)."
    )

    st.subheader(f"How the MRR book moved: {month_name} to date")
    cards = st.container(horizontal=True)
    cards.metric(
        "New MRR",
        fmt.money(this_month["new_mrr"]),
        help="MRR of deals won this month by partners in the program.",
    )
    cards.metric(
        "Churned MRR",
        fmt.money(this_month["churned_mrr"]),
        help="MRR of deals that churned this month (also deals won and churned in the same month).",
    )
    cards.metric(
        "MRR in with partners joining",
        fmt.money(this_month["joined_mrr"]),
        help="MRR that partners entering the program this month already had from earlier deals: "
        "usually $0, as a partner's deals normally come after it joins.",
    )
    cards.metric(
        "MRR out with partners leaving",
        fmt.money(this_month["left_mrr"]),
        help="MRR that partners leaving the program this month had at the end of last month.",
    )
    st.vega_lite_chart(shown.movement_chart, width="stretch")
    chart_downloads(lambda: shown.movement_chart, f"recurring-mrr-movement-{ON}", "recurring_movement_chart_download")
    st.caption(
        f"Each month (the last {charts_recurring.MOVEMENT_MONTHS} at most): MRR added by new deals and brought "
        "in by partners joining (above zero), MRR lost to churned deals and taken away by partners leaving "
        "(below zero). The black line is the net new MRR: the month's end MRR minus the previous month's."
    )
    st.dataframe(
        shown.recent.select(
            "month",
            "mrr_start",
            "new_mrr",
            "churned_mrr",
            "joined_mrr",
            "left_mrr",
            "net_new_mrr",
            "mrr",
        ).to_arrow(),
        hide_index=True,
        column_config={
            "month": "Month",
            "mrr_start": st.column_config.NumberColumn("MRR at start", format=fmt.money_column_format()),
            "new_mrr": st.column_config.NumberColumn("New", format=fmt.money_column_format()),
            "churned_mrr": st.column_config.NumberColumn("Churned", format=fmt.money_column_format()),
            "joined_mrr": st.column_config.NumberColumn("Partners joined", format=fmt.money_column_format()),
            "left_mrr": st.column_config.NumberColumn("Partners left", format=fmt.money_column_format()),
            "net_new_mrr": st.column_config.NumberColumn(f"Net new ({currency})", format="%+,.0f"),
            "mrr": st.column_config.NumberColumn("MRR at end", format=fmt.money_column_format()),
        },
    )
    downloads = row()
    downloads.caption("The last 12 months, newest first: MRR at end = MRR at start + new − churned + joined − left.")
    table_downloads(  # every month of the book, newest first
        lambda: shown.book.movement.reverse().drop("month_end"),
        f"recurring-mrr-movement-{ON}",
        "recurring_movement_download",
        downloads,
        sheet="movement",
    )


def _retention() -> None:
    """How much of the window start's recurring revenue the same partners still bring."""
    st.subheader("Net revenue retention over the window")
    cards = st.container(horizontal=True)
    cards.metric(
        "Net revenue retention",
        fmt.pct(retention["nrr"]),
        help="MRR now of the partners that had MRR at the window start, against their MRR then (upsell included).",
        border=True,
    )
    cards.metric(
        "Gross revenue retention",
        fmt.pct(retention["grr"]),
        help="The same, counting only the deals that were already live at the window start: no upsell.",
        border=True,
    )
    cards.metric(
        "Partners with MRR at the window start",
        fmt.count(retention["partners"]),
        help=f"In the program on {start_day} with MRR above zero that day.",
        border=True,
    )
    cards = st.container(horizontal=True)
    cards.metric("Their MRR at the window start", fmt.money(retention["start_mrr"]))
    cards.metric("Their MRR now", fmt.money(retention["end_mrr"]))
    cards.metric("Of it, from deals live at the start", fmt.money(retention["retained_mrr"]))
    if retention["start_mrr"] > 0:
        st.caption(
            f"The {fmt.count(retention['partners'])} partners that had recurring revenue on {start_day} "
            f"(the day before the window) now bring {fmt.pct(retention['nrr'])} of it (net revenue retention, "
            f"new deals included) and keep {fmt.pct(retention['grr'])} from the deals they already had (gross "
            f"revenue retention). {fmt.count(retention['left'])} of them left the program and count as zero."
        )
    else:
        st.caption(
            f"No partner in the program had recurring revenue on {start_day}, the day before the "
            "window, so retention is n/a."
        )


def _by_tier() -> None:
    """MRR by today's tier and the partners with the most of it."""
    st.subheader("MRR by tier and by partner")
    left, right = st.columns([2, 3])
    with left:
        tier_chart = data.recurring_tier_chart(by_tier, currency)
        st.vega_lite_chart(tier_chart, width="stretch")
        chart_downloads(lambda: tier_chart, f"recurring-mrr-by-tier-{ON}", "recurring_tier_chart_download")
        st.caption(
            "The program's MRR on the as-of date split by today's tiers (the thresholds in the sidebar): "
            "how much recurring revenue sits with the partners you reward, nurture or would drop. "
            + " · ".join(f"{row['tier']} {fmt.pct(row['mrr_pct'])}" for row in by_tier.iter_rows(named=True))
        )
    with right:
        st.dataframe(
            top.select("partner_name", "tier", "mrr", "arr", "share_pct").to_arrow(),
            hide_index=True,
            placeholder=fmt.EMPTY,
            column_config={
                "partner_name": "Partner",
                "tier": "Tier",
                "mrr": st.column_config.NumberColumn("MRR", format=fmt.money_column_format()),
                "arr": st.column_config.NumberColumn("ARR", format=fmt.money_column_format()),
                "share_pct": st.column_config.NumberColumn("Share of program MRR", format="%.1f%%"),
            },
        )
        downloads = row()
        downloads.caption(
            f"The {top.height} partners with the most MRR, of {with_mrr:,} partners with any recurring revenue."
        )
        table_downloads(  # every partner with MRR, most first
            lambda: recurring.top_partners_by_mrr(segmented, with_mrr)[0],
            f"recurring-partners-by-mrr-{ON}",
            "recurring_partners_download",
            downloads,
            sheet="partners by MRR",
        )


def _concentration() -> None:
    """How much of the revenue and MRR a few partners bring."""
    st.subheader("Revenue concentration")
    revenue_spread, mrr_spread = numbers["revenue_concentration"], numbers["mrr_concentration"]
    partners = revenue_spread["partners"]
    cards = st.container(horizontal=True)
    cards.metric(
        "Top 10% share of revenue",
        fmt.pct(revenue_spread["top10_share"]),
        help="Revenue in the window of the 10% of partners with the most revenue (rounded up to whole partners).",
    )
    cards.metric("Top 20% share of revenue", fmt.pct(revenue_spread["top20_share"]))
    cards.metric(
        "Partners bringing 80% of revenue",
        fmt.count(revenue_spread["partners_for_80"]),
        help="The fewest partners, highest revenue first, whose revenue adds up to at least 80% of the program's.",
    )
    st.caption(
        f"Top 10% = the {fmt.count(revenue_spread['top10_partners'])} and top 20% = the "
        f"{fmt.count(revenue_spread['top20_partners'])} partners with the most revenue in the window, of "
        f"{fmt.count(partners)} in the program. 80% of revenue comes from "
        f"{fmt.pct(revenue_spread['partners_for_80_pct'])} of partners. A program that lives on a handful "
        "of partners is at risk when one of them leaves."
    )
    if shown.pareto_chart is None:
        st.info("No revenue in the window: there is no concentration to show.")
    else:
        pareto_chart = shown.pareto_chart
        st.vega_lite_chart(pareto_chart, width="stretch")
        chart_downloads(lambda: pareto_chart, f"recurring-concentration-{ON}", "recurring_pareto_chart_download")
        st.caption(
            "Partners lined up from the most revenue to the least: how much of the program's revenue the top "
            "partners bring together. The dashed lines mark the top 10% and 20% of partners; the grey diagonal "
            "is a program where every partner brings the same. The higher the curve bends, the more you depend "
            "on a few partners."
        )
    cards = st.container(horizontal=True)
    cards.metric("Top 10% share of MRR", fmt.pct(mrr_spread["top10_share"]))
    cards.metric("Top 20% share of MRR", fmt.pct(mrr_spread["top20_share"]))
    cards.metric("Partners bringing 80% of MRR", fmt.count(mrr_spread["partners_for_80"]))
    st.caption("The same for recurring revenue: MRR on the as-of date, the same partners ranked by their MRR.")


# The details in tabs, and only the open one is built; the open tab is in the link.
check_link(TAB.name)
tabs = st.tabs([label for _, label in TAB.choices], key=TAB.name, bind="query-params")
for tab, draw in zip(tabs, (_months, _retention, _by_tier, _concentration), strict=True):
    if tab.open:
        with tab:
            draw()
