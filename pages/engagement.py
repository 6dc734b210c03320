"""Engagement: which content, courses and staff behaviours go with revenue, and who only looks busy."""

import streamlit as st

from kpi import engagement, report
from kpi.params import SPEC_BY_NAME
from ui import charts_engagement, data
from ui import format as fmt
from ui.chart_export import with_rows
from ui.downloads import chart_downloads, row, table_downloads
from ui.frame import bound, check_link, current

frame = current()
view = frame.view
as_of = view.as_of
facts = data.engagement_facts(frame.dataset, as_of, view.window_days)
segmented = data.segmented(frame.dataset, view)
numbers = report.engagement_numbers(facts, segmented)

TOP_ITEMS = 20
TOP_STAFF = 50
RANK = SPEC_BY_NAME["engagement_rank"]
MIN_LOGINS = SPEC_BY_NAME["engagement_min_logins"]
STAFF_SEARCH = SPEC_BY_NAME["engagement_staff_search"]
TAB = SPEC_BY_NAME["engagement_tab"]
ITEM_TABLE_COLUMNS = (
    "item",
    "kind",
    "adopters",
    "adopters_win_rate",
    "others_win_rate",
    "win_rate_lift",
    "revenue_ratio",
    "sample",
)
ON = as_of.isoformat()  # every download's name ends with the as-of date
# The items' downloads: every rate and amount as a number with the deals or partners behind it.
ITEM_COLUMNS = (
    "item_id",
    "item_name",
    "kind",
    "adopters",
    "adopters_closed",
    "adopters_won",
    "adopters_win_rate",
    "others",
    "others_closed",
    "others_won",
    "others_win_rate",
    "win_rate_lift",
    "adopters_revenue_per_partner",
    "others_revenue_per_partner",
    "revenue_ratio",
    "small_sample",
    "partners",
    "staff",
    "shares",
    "completions",
    "views",
)


st.title("Engagement")
st.caption(
    f"As of **{as_of.isoformat()}**, counting the **{view.window_days} days** up to it, over the "
    f"{segmented.height:,} partners in the program. Which behaviours go with revenue, who does the work, "
    "and who only looks busy."
)

items, staff = numbers["items"], numbers["staff"]
cards = st.container(horizontal=True)  # cards wrap to a new row rather than cut a label or value
cards.metric(
    "Content and courses used",
    f"{items['used']:,} of {items['total']:,}",
    help="Items with any activity by a partner in the program in the window, of every item ever seen in the data.",
    border=True,
)
cards.metric(
    "Active staff",
    f"{staff['active']:,} of {staff['total']:,}",
    help="Staff of partners in the program with any activity in the window, logins included.",
    border=True,
)
cards.metric(
    "Partners without staff",
    fmt.count(numbers["partners_without_staff"]),
    help="Partners in the program with no staff on record: nobody listed in partner_users.",
    border=True,
)
cards.metric(
    "Staff doing no work",
    fmt.count(staff["did_none_of_the_work"]),
    help="Staff of partners in the program who did none of the work: no training, share or view in the window "
    "(logins do not count).",
    border=True,
)


def _content() -> None:
    """Which content and courses go with winning."""
    st.subheader("Content and courses: do the partners who use them win more?")
    rank_by = bound(
        st.selectbox, RANK.name, RANK.label, [value for value, _ in RANK.choices], format_func=RANK.label_of
    )
    ranked = data.ranked_items(frame.dataset, as_of, view.window_days, rank_by, TOP_ITEMS)
    small = items["small_sample"]
    st.dataframe(
        ranked.table.to_arrow(),
        hide_index=True,
        placeholder=fmt.EMPTY,
        # What decides (the rates and the sample) fits a laptop's width; the counts are in the downloads.
        column_order=ITEM_TABLE_COLUMNS,
        column_config={
            "item": st.column_config.TextColumn("Item", pinned=True, width=160),  # every rate fits a laptop
            "kind": "Kind",
            "adopters": st.column_config.NumberColumn("Adopters", help="Partners who shared or completed it."),
            "partners": st.column_config.NumberColumn("Partners using", help="Partners with any activity on it."),
            "staff": st.column_config.NumberColumn(
                "Staff using", help="Different named people with any activity on it."
            ),
            "shares": "Shares",
            "completions": "Completions",
            "views": "Views",
            "adopters_win_rate": st.column_config.TextColumn(
                "Adopters' win rate", help="Deals won ÷ deals closed (won + lost) by the adopters in the window."
            ),
            "others_win_rate": st.column_config.TextColumn("Others' win rate", help="The same for all other partners."),
            "win_rate_lift": st.column_config.TextColumn("Win-rate lift", help="Adopters' win rate minus others'."),
            "adopters_revenue_per_partner": st.column_config.TextColumn(
                "Adopters' revenue per partner", help="Revenue won in the window ÷ adopters."
            ),
            "others_revenue_per_partner": st.column_config.TextColumn("Others' revenue per partner"),
            "revenue_ratio": st.column_config.TextColumn(
                "Revenue ratio", help="Adopters' revenue per partner ÷ others'."
            ),
            "sample": st.column_config.TextColumn(
                "Sample",
                help=f"Small sample: adopters or others closed fewer than {engagement.MIN_CLOSED_DEALS} deals.",
            ),
        },
    )
    table_downloads(  # every item in the chosen order
        lambda: ranked.ranked.select(ITEM_COLUMNS), f"engagement-items-{ON}", "engagement_items_download", sheet="items"
    )
    st.caption(
        f"Top {ranked.table.height:,} of {facts.items.height:,} items, ranked by {RANK.label_of(rank_by).lower()}. "
        "Every rate shows how many deals or partners it comes from; "
        + (f"{small:,} item is" if small == 1 else f"{small:,} items are")
        + " flagged **small sample** "
        f"(adopters or others closed fewer than {engagement.MIN_CLOSED_DEALS} deals): "
        "read those as a hint, not a finding. "
        "A lift says the two go together, not that the content caused the wins."
    )
    if facts.unused.height:
        names = facts.unused["item_name"].to_list()
        shown = ", ".join(names[:15]) + (f" and {len(names) - 15:,} more" if len(names) > 15 else "")
        st.warning(
            f"**Used by nobody in the program in the window ({len(names):,}):** {shown}.", icon=":material/block:"
        )
    else:
        st.caption("Every item was used by at least one partner in the window.")

    lift_spec, lift_rows = ranked.lift_chart
    st.vega_lite_chart(with_rows(lift_spec, lift_rows), width="stretch")
    chart_downloads(
        lambda: with_rows(lift_spec, lift_rows), f"engagement-win-rate-lift-{ON}", "engagement_lift_chart_download"
    )
    st.caption(
        f"For the first {min(charts_engagement.LIFT_CHART_ITEMS, facts.items.height)} items of the table: the share of "
        "closed deals won by partners who shared or completed the item (blue) against all other partners (grey). "
        "Hover a bar for the deals behind it; faded bars are small samples."
    )


def _staff() -> None:
    """Who does the work, and the partners with nobody on record."""
    st.subheader("Staff: who does the work")
    users_spec, users_rows = data.active_users_chart(frame.dataset, as_of, view.window_days)
    st.vega_lite_chart(with_rows(users_spec, users_rows), width="stretch")
    chart_downloads(
        lambda: with_rows(users_spec, users_rows), f"engagement-active-staff-{ON}", "engagement_users_chart_download"
    )
    distribution = numbers["active_staff_per_partner"]
    st.caption(
        "How many partners have 0, 1, 2, 3 or 4 and more people active in the window (any activity, logins included). "
        f"{distribution['0']:,} partners have staff on record but nobody active; "
        f"{distribution[engagement.NO_STAFF]:,} have no staff on record at all (pink)."
    )
    if facts.without_staff.height:
        st.markdown(f"**Partners with no staff on record**: {numbers['partners_without_staff']:,} (top 20 by revenue)")
        st.dataframe(
            facts.without_staff.head(20).select("partner_name", "region", "partner_type", "channel_manager", "revenue"),
            hide_index=True,
            placeholder=fmt.EMPTY,
            column_config={
                "partner_name": "Partner",
                "region": "Region",
                "partner_type": "Type",
                "channel_manager": "Channel manager",
                "revenue": st.column_config.NumberColumn("Revenue", format=fmt.money_column_format()),
            },
        )
        table_downloads(  # every partner without staff, not only the top 20
            lambda: facts.without_staff.select(
                "partner_id", "partner_name", "region", "partner_type", "channel_manager", "revenue"
            ),
            f"engagement-partners-without-staff-{ON}",
            "engagement_without_staff_download",
            sheet="partners without staff",
        )

    STAFF_COLUMNS = {
        "partner_name": "Partner",
        "user_name": "Name",
        "role": "Role",
        "actions": st.column_config.NumberColumn("Actions", help="Trainings + shares + views in the window."),
        "trainings": "Trainings",
        "content_shares": "Shares",
        "content_views": "Views",
        "logins": st.column_config.NumberColumn("Logins", help="Shown, but not counted as work."),
        "last_active_on": st.column_config.DateColumn(
            "Last activity", help="Latest activity on or before the as-of date."
        ),
    }
    # One under the other: side by side, each table would lose its last columns at a laptop's width.
    st.markdown("**Most engaged staff** (top 10 by actions)")
    st.dataframe(
        facts.most_engaged.select(list(STAFF_COLUMNS)).to_arrow(),
        hide_index=True,
        placeholder=fmt.EMPTY,
        column_config=STAFF_COLUMNS,
    )
    table_downloads(
        lambda: facts.most_engaged.select(list(STAFF_COLUMNS)),
        f"engagement-most-engaged-staff-{ON}",
        "engagement_most_engaged_download",
        sheet="most engaged staff",
    )
    st.markdown(
        f"**Least engaged staff**: {staff['did_none_of_the_work']:,} did none of the work in the window, "
        f"{staff['silent']:,} of them not even a login (top 10 by logins)"
    )
    st.dataframe(
        facts.least_engaged.head(10).select(list(STAFF_COLUMNS)).to_arrow(),
        hide_index=True,
        placeholder=fmt.EMPTY,
        column_config=STAFF_COLUMNS,
    )
    table_downloads(  # everyone who did none of the work, not only the first 10
        lambda: facts.least_engaged.select(list(STAFF_COLUMNS)),
        f"engagement-least-engaged-staff-{ON}",
        "engagement_least_engaged_download",
        sheet="least engaged staff",
    )

    search = bound(st.text_input, STAFF_SEARCH.name, STAFF_SEARCH.label, placeholder="e.g. Apex")
    found = engagement.find_staff(facts.staff, search)
    st.dataframe(
        found.head(TOP_STAFF).select(list(STAFF_COLUMNS)).to_arrow(),
        hide_index=True,
        placeholder=fmt.EMPTY,
        column_config=STAFF_COLUMNS,
    )
    downloads = row()
    downloads.caption(
        f"{min(found.height, TOP_STAFF):,} of {found.height:,} staff shown, by partner name"
        + (f" (of {facts.staff.height:,} in the program)" if search.strip() else "")
        + f". The downloads have all {found.height:,}."
    )
    table_downloads(lambda: found, f"engagement-staff-{ON}", "engagement_staff_download", downloads, sheet="staff")


def _look_busy() -> None:
    """Partners with many logins who are not activated."""
    st.subheader("Look busy: many logins, not activated")
    min_logins = bound(
        st.number_input,
        MIN_LOGINS.name,
        MIN_LOGINS.label,
        min_value=MIN_LOGINS.min_value,
        max_value=MIN_LOGINS.max_value,
        value=MIN_LOGINS.default,
        step=1,
        help=MIN_LOGINS.help,
    )
    busy = engagement.look_busy(segmented, int(min_logins))
    busy_numbers = report.look_busy_numbers(segmented, int(min_logins), busy)
    cards = st.container(horizontal=True)
    cards.metric("Look-busy partners", fmt.count(busy_numbers["partners"]), border=True)
    cards.metric(
        "Share of the program",
        fmt.pct(busy_numbers["share_pct"]),
        help="Look-busy partners ÷ partners in the program.",
        border=True,
    )
    if busy.height:
        st.dataframe(
            busy.head(TOP_ITEMS).select("partner_name", "tier", "logins", "actions", "criteria_met").to_arrow(),
            hide_index=True,
            placeholder=fmt.EMPTY,
            column_config={
                "partner_name": "Partner",
                "tier": "Tier",
                "logins": "Logins",
                "actions": st.column_config.NumberColumn(
                    "Actions", help="Trainings + shares + views + deal registrations."
                ),
                "criteria_met": st.column_config.NumberColumn("Criteria met"),
            },
        )
        downloads = row()
        downloads.caption(
            f"Top {min(busy.height, TOP_ITEMS):,} of {busy.height:,} look-busy partners, most logins first."
        )
        table_downloads(
            lambda: busy, f"engagement-look-busy-{ON}", "engagement_busy_download", downloads, sheet="look busy"
        )
        busy_rows, busy_spec = engagement.logins_actions_groups(busy), charts_engagement.look_busy_template()
        st.vega_lite_chart(with_rows(busy_spec, busy_rows), width="stretch")
        chart_downloads(
            lambda: with_rows(busy_spec, busy_rows), f"engagement-look-busy-{ON}", "engagement_busy_chart_download"
        )
        st.caption(
            "Each dot is a group of look-busy partners with the same logins, actions and tier "
            "(bigger dot, more partners). "
            "They come to the portal but do not train, share or register enough deals to count as activated: "
            "worth a call before they are written off."
        )
    else:
        st.info(f"No partner outside activation logged in {int(min_logins):,} times or more in the window.")


# The details in tabs, and only the open one is built; the open tab is in the link.
check_link(TAB.name)
tabs = st.tabs([label for _, label in TAB.choices], key=TAB.name, bind="query-params")
for tab, draw in zip(tabs, (_content, _staff, _look_busy), strict=True):
    if tab.open:
        with tab:
            draw()
