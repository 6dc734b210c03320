"""Overview: activation, tiers, program money and the growth-vs-revenue chart."""

import streamlit as st

from kpi import metrics
from ui import data
from ui import format as fmt
from ui.frame import current

frame = current()
view = frame.view
as_of = view.require_as_of()
segmented = data.segmented(frame.dataset, view)
summary = metrics.summarize(segmented, view)
previous_view = view.previous_window()
previous = metrics.summarize(data.segmented(frame.dataset, previous_view), previous_view)

st.title("Program overview")
st.caption(
    f"As of **{as_of.isoformat()}**, counting the **{view.window_days} days** up to it. "
    f"Compared with the previous {view.window_days} days, to {previous_view.require_as_of().isoformat()}."
)

activation_change = (
    summary["activation_pct"] - previous["activation_pct"]
    if summary["activation_pct"] is not None and previous["activation_pct"] is not None
    else None
)
# Rows of metrics in one horizontal container, not st.columns: one element instead of five
# (every element is a websocket message of each rerun).
cards = st.container(horizontal=True)
cards.metric(
    "Activation",
    fmt.pct(summary["activation_pct"]),
    delta=fmt.pct_points(activation_change) if activation_change is not None else None,
    help="Share of partners in the program that meet the activation criteria set in the sidebar.",
    border=True,
)
cards.metric(
    "Partners in the program",
    fmt.count(summary["partners"]),
    delta=f"{summary['partners'] - previous['partners']:+,}",
    delta_color="off",
    help="Joined on or before the as-of date and not left by then.",
    border=True,
)
cards.metric(
    "Activated partners",
    fmt.count(summary["activated"]),
    delta=f"{summary['activated'] - previous['activated']:+,}",
    border=True,
)
cards.metric(
    "Program ROI",
    fmt.roi(summary["roi"]),
    help="(revenue - cost) / cost over the window; n/a when nothing was spent.",
    border=True,
)

st.subheader("Reward, nurture, drop")
breakdown = metrics.tier_breakdown(segmented)
tier_help = {
    "reward": "Activated and brought at least the reward revenue in the window.",
    "nurture": "Everyone who is neither reward nor drop.",
    "drop": "Not activated, no revenue, few actions, and past the grace period.",
}
cards = st.container(horizontal=True, wrap=False)
tiers = list(breakdown.iter_rows(named=True))
for row in tiers:
    # The tier's share of partners in its card (a neutral chip: no arrow, not a change).
    cards.metric(
        row["tier"].capitalize(),
        fmt.count(row["partners"]),
        delta=f"{fmt.pct(row['partners_pct'])} of partners",
        delta_color="off",
        delta_arrow="off",
        help=tier_help[row["tier"]],
        border=True,
    )
# Revenue and cost shares side by side in one line: which tier earns, which one costs.
st.caption(
    "Share of revenue: "
    + " · ".join(f"{row['tier']} **{fmt.pct(row['revenue_pct'])}**" for row in tiers)
    + ". Share of cost: "
    + " · ".join(f"{row['tier']} **{fmt.pct(row['cost_pct'])}**" for row in tiers)
    + "."
)

st.subheader("Money in the window")
cards = st.container(horizontal=True)
cards.metric("Revenue", fmt.money(summary["revenue"]), help="Won deals: amount + 12 x monthly recurring.")
cards.metric("Cost", fmt.money(summary["cost"]), help="Investments spent: MDF, incentives, enablement, SPIFFs.")
cards.metric("MRR", fmt.money(summary["mrr"]), help="Monthly recurring revenue of won deals live on the as-of date.")
cards.metric("ARR", fmt.money(summary["arr"]), help="12 x MRR.")

st.subheader("Growth without revenue")
st.vega_lite_chart(data.program_history_spec(frame.dataset, fmt.currency_symbol()), width="stretch")
st.caption(
    "Blue line: partners in the program at each month end. Grey bars: revenue won in the month "
    "(one-time amount plus first-year recurring). When the line climbs faster than the bars, "
    "the program is growing in size, not in revenue."
)
