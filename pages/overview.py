"""Overview: activation, tiers, program money and the growth-vs-revenue chart."""

import streamlit as st

from kpi import report
from ui import data, whatif
from ui import format as fmt
from ui.downloads import chart_downloads
from ui.frame import current

frame = current()
view = frame.view
as_of = view.as_of
segmented = data.segmented(frame.dataset, view)
# The same view against the comparison base (the policy, or a scenario picked in the sidebar).
what_if = data.what_if(frame.dataset, view, frame.base_view, segmented)
versus = None if what_if.numbers["equal"] else what_if.numbers["change"]
# The view's numbers and, when no comparison is shown, their change against the previous
# window (both from cached facts).
previous = data.segmented(frame.dataset, view.previous_window()) if versus is None else None
numbers = report.overview_page(segmented, previous, view)
change = numbers["change"]
base_short = "policy" if frame.base.is_policy else frame.base.name

st.title("Program overview")
# The as-of date, window and thresholds are on the frame's context line above the title.
st.caption(
    f"Changes are against the previous {view.window_days} days (to {numbers['previous_as_of']}), "
    "judged by the same thresholds."
    if versus is None
    else f"Changes are against {whatif.base_name(frame)}, the same days under its thresholds."
)
if versus is None:
    st.caption(whatif.equal_caption(frame))
else:
    st.info(
        f"**What-if** against {whatif.base_name(frame)}: {whatif.changes_text(frame)}. "
        f"{fmt.change_tier(what_if.comparison.moved)}; see who and why on the Tiers page.",  # type: ignore[union-attr]
        icon=":material/compare_arrows:",
    )


def against(text: str) -> str:
    return f"{text} vs {base_short}"


def over_time(text: str) -> str:
    """A change against the previous window says so: a bare "+5.8 pts" reads like progress
    even when it is the same partners judged twice."""
    return f"{text} vs previous {view.window_days} days"


# Rows of metrics in one horizontal container, not st.columns: one element instead of five
# (every element is a websocket message of each rerun).
cards = st.container(horizontal=True)
if versus is None:
    activation_delta = (
        over_time(fmt.pct_points(change["activation_pct"])) if change["activation_pct"] is not None else None
    )
    activated_delta = over_time(fmt.count_change(change["activated"]))
else:
    activation_delta = against(fmt.pct_points(versus["activation_pct"]))
    activated_delta = against(fmt.count_change(versus["activated"]))
cards.metric(
    "Activation",
    fmt.pct(numbers["activation_pct"]),
    delta=activation_delta,
    help="Share of partners in the program that meet the activation criteria set in the sidebar.",
    border=True,
)
cards.metric(
    "Partners in the program",
    fmt.count(numbers["partners"]),
    delta=over_time(fmt.count_change(change["partners"])) if versus is None else None,
    delta_color="off",
    help="Joined on or before the as-of date and not left by then.",
    border=True,
)
cards.metric("Activated partners", fmt.count(numbers["activated"]), delta=activated_delta, border=True)
cards.metric(
    "Program ROI",
    fmt.roi(numbers["roi"]),
    delta=over_time(fmt.roi_change(change["roi"])) if versus is None and change["roi"] is not None else None,
    help="(revenue - cost) / cost over the window; n/a when nothing was spent.",
    border=True,
)
if versus is not None:
    now = what_if.numbers["current"]
    cards.metric(
        "Reward-tier ROI",
        fmt.roi(now["reward_roi"]),
        delta=against(fmt.roi_change(versus["reward_roi"])),
        help="The reward tier's revenue against what it cost, over the window.",
        border=True,
    )
    cards.metric(
        "Cost per activated partner",
        fmt.money(now["cost_per_activated"]),
        delta=against(fmt.money_change(versus["cost_per_activated"])),
        delta_color="inverse",
        help="The window's cost divided by the partners activated on the as-of date.",
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
# A tier's count changes against the previous window (or the base in a what-if): more
# reward partners is good news, more drop partners is not.
tier_colors = {"reward": "normal", "nurture": "off", "drop": "inverse"}
for tier, row in tiers.items():
    moved = change["tiers"][tier] if versus is None else versus["tiers"][tier]["partners"]
    cards.metric(
        tier.capitalize(),
        fmt.count(row["partners"]),
        delta=over_time(fmt.count_change(moved)) if versus is None else against(fmt.count_change(moved)),
        delta_color=tier_colors[tier] if moved else "off",  # type: ignore[arg-type]
        delta_arrow="off" if moved == 0 else "auto",
        help=tier_help[tier],
        border=True,
    )
if versus is None:
    # Partners, revenue and cost shares in one line: which tier is large, earns, costs.
    st.caption(
        "Share of partners: "
        + " · ".join(f"{tier} **{fmt.pct(row['partners_pct'])}**" for tier, row in tiers.items())
        + ". Share of revenue: "
        + " · ".join(f"{tier} **{fmt.pct(row['revenue_pct'])}**" for tier, row in tiers.items())
        + ". Share of cost: "
        + " · ".join(f"{tier} **{fmt.pct(row['cost_pct'])}**" for tier, row in tiers.items())
        + "."
    )
else:
    whatif.draw_tier_table(what_if.numbers, f"overview-tiers-vs-base-{as_of.isoformat()}", "overview_tiers_download")
    st.page_link("pages/tiers.py", label="Who moves, and why: the Tiers page", icon=":material/arrow_forward:")

st.subheader("Money in the window")
cards = st.container(horizontal=True)
cards.metric("Revenue", fmt.money(numbers["revenue"]), help="Won deals: amount + 12 x monthly recurring.")
cards.metric("Cost", fmt.money(numbers["cost"]), help="Investments spent: MDF, incentives, enablement, SPIFFs.")
cards.metric("MRR", fmt.money(numbers["mrr"]), help="Monthly recurring revenue of won deals live on the as-of date.")
cards.metric("ARR", fmt.money(numbers["arr"]), help="12 x MRR.")

st.subheader("Growth without revenue")
history_spec = data.program_history_spec(frame.dataset, fmt.currency_symbol())
st.vega_lite_chart(history_spec, width="stretch")
chart_downloads(lambda: history_spec, f"overview-growth-vs-revenue-{as_of.isoformat()}", "overview_history_download")
st.caption(
    "Blue line: partners in the program at each month end. Grey bars: revenue won in the month "
    "(one-time amount plus first-year recurring). When the line climbs faster than the bars, "
    "the program is growing in size, not in revenue."
)
