"""Overview: activation, tiers, program money and the growth-vs-revenue chart."""

import streamlit as st

from kpi import report
from ui import data
from ui import format as fmt
from ui.frame import current

frame = current()
view = frame.view
as_of = view.as_of
# The view's numbers and their change against the previous window, from cached facts of both.
numbers = report.overview_page(
    data.segmented(frame.dataset, view), data.segmented(frame.dataset, view.previous_window()), view
)
change = numbers["change"]

st.title("Program overview")
st.caption(
    f"As of **{as_of.isoformat()}**, counting the **{view.window_days} days** up to it. "
    f"Compared with the previous {view.window_days} days, to {numbers['previous_as_of']}."
)

# Rows of metrics in one horizontal container, not st.columns: one element instead of five
# (every element is a websocket message of each rerun).
cards = st.container(horizontal=True)
cards.metric(
    "Activation",
    fmt.pct(numbers["activation_pct"]),
    delta=fmt.pct_points(change["activation_pct"]) if change["activation_pct"] is not None else None,
    help="Share of partners in the program that meet the activation criteria set in the sidebar.",
    border=True,
)
cards.metric(
    "Partners in the program",
    fmt.count(numbers["partners"]),
    delta=f"{change['partners']:+,}",
    delta_color="off",
    help="Joined on or before the as-of date and not left by then.",
    border=True,
)
cards.metric(
    "Activated partners",
    fmt.count(numbers["activated"]),
    delta=f"{change['activated']:+,}",
    border=True,
)
cards.metric(
    "Program ROI",
    fmt.roi(numbers["roi"]),
    help="(revenue - cost) / cost over the window; n/a when nothing was spent.",
    border=True,
)

st.subheader("Reward, nurture, drop")
tier_help = {
    "reward": "Activated and brought at least the reward revenue in the window.",
    "nurture": "Everyone who is neither reward nor drop.",
    "drop": "Not activated, no revenue, few actions, and past the grace period.",
}
cards = st.container(horizontal=True, wrap=False)
tiers = numbers["tiers"]
for tier, row in tiers.items():
    # The tier's share of partners in its card (a neutral chip: no arrow, not a change).
    cards.metric(
        tier.capitalize(),
        fmt.count(row["partners"]),
        delta=f"{fmt.pct(row['partners_pct'])} of partners",
        delta_color="off",
        delta_arrow="off",
        help=tier_help[tier],
        border=True,
    )
# Revenue and cost shares side by side in one line: which tier earns, which one costs.
st.caption(
    "Share of revenue: "
    + " · ".join(f"{tier} **{fmt.pct(row['revenue_pct'])}**" for tier, row in tiers.items())
    + ". Share of cost: "
    + " · ".join(f"{tier} **{fmt.pct(row['cost_pct'])}**" for tier, row in tiers.items())
    + "."
)

st.subheader("Money in the window")
cards = st.container(horizontal=True)
cards.metric("Revenue", fmt.money(numbers["revenue"]), help="Won deals: amount + 12 x monthly recurring.")
cards.metric("Cost", fmt.money(numbers["cost"]), help="Investments spent: MDF, incentives, enablement, SPIFFs.")
cards.metric("MRR", fmt.money(numbers["mrr"]), help="Monthly recurring revenue of won deals live on the as-of date.")
cards.metric("ARR", fmt.money(numbers["arr"]), help="12 x MRR.")

st.subheader("Growth without revenue")
st.vega_lite_chart(data.program_history_spec(frame.dataset, fmt.currency_symbol()), width="stretch")
st.caption(
    "Blue line: partners in the program at each month end. Grey bars: revenue won in the month "
    "(one-time amount plus first-year recurring). When the line climbs faster than the bars, "
    "the program is growing in size, not in revenue."
)
