"""Partner scorecard: one partner's tier and why, its months, its staff and its past weeks."""

import streamlit as st

from kpi import report, scorecard, tiers
from kpi.params import SPEC_BY_NAME
from ui import charts_scorecard, data
from ui import format as fmt
from ui.chart_export import with_rows
from ui.downloads import chart_downloads, file_part, table_downloads
from ui.frame import check_link, current
from ui.links import raw

frame = current()
view = frame.view
as_of = view.as_of
partners = data.scorecard_partners(frame.dataset)
currency = fmt.currency_symbol()

# One picker, bound to the link. The link may name the partner by its id or by the picker's
# "name (id)" (what a bound select box writes); text typed beyond the list is searched on Enter
# (accept_new_options) and opens the first match, so a program larger than the list is reachable.
PARTNER = SPEC_BY_NAME["scorecard_partner"]
TAB = SPEC_BY_NAME["scorecard_tab"]
NOTE_KEY = "scorecard_search_note"
PICKER_MAX = 1_000
MONTH_COLUMNS = (
    "month",
    "revenue",
    "cost",
    "roi",
    "mrr",
    "trainings",
    "content_shares",
    "deals_registered",
    "deals_won",
    "deals_lost",
    "content_views",
    "logins",
    "in_program",
)
CRITERION_LABELS = {
    "trainings": "Trainings",
    "content_shares": "Content shares",
    "deals_registered": "Deal registrations",
}

st.title("Partner scorecard")
st.caption(
    f"One partner as of **{as_of.isoformat()}**, counting the **{view.window_days} days** up to it, "
    "under the thresholds in the sidebar. The link holds the partner: copy it to share this scorecard."
)


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def _resolve(picked: str | None) -> str | None:
    """The partner id the picker's value names: an id, a "name (id)", or else the first partner
    (by name) whose name or id contains the text."""
    if not picked or picked in partners.rows:
        return picked or None
    text = picked.strip()
    if text in partners.rows:
        return text
    if text.endswith(")") and (inner := text.rsplit("(", 1)[-1][:-1]) in partners.rows:
        return inner
    found, _ = data.scorecard_matches(frame.dataset, text, 1)
    return found[0] if found else None


def _follow_search() -> None:
    """Typed text opens the first partner it matches, and the picker (and link) show it."""
    typed = st.session_state[PARTNER.name]
    if typed is None or typed in partners.rows:
        st.session_state.pop(NOTE_KEY, None)
        return
    found, matched = data.scorecard_matches(frame.dataset, typed, 1)
    if found:
        st.session_state[PARTNER.name] = found[0]
        st.session_state[NOTE_KEY] = (
            f"{_plural(matched, 'partner')} match \u201c{typed.strip()}\u201d: showing the first by name. "
            "Type more of the name to narrow it."
            if matched > 1
            else ""
        )
    else:
        st.session_state[NOTE_KEY] = f"No partner's name or ID contains \u201c{typed.strip()}\u201d."


# The picker lists at most PICKER_MAX partners (a list of every partner would slow every rerun).
options, _ = data.scorecard_matches(frame.dataset, "", PICKER_MAX)
linked = raw(PARTNER.name) if PARTNER.name not in st.session_state else None
current_pick = st.session_state.get(PARTNER.name) or (linked[-1] if linked else None)
partner_id = _resolve(current_pick)
if partner_id is not None and partner_id not in options:
    options = (partner_id, *options)
picked = st.selectbox(
    PARTNER.label,
    options,
    index=None,
    format_func=lambda pid: partners.labels.get(pid, pid),
    placeholder="Type a partner name or ID",
    accept_new_options=True,
    filter_mode="contains",  # the list keeps its order by name, so the first shown is the first match
    key=PARTNER.name,
    bind="query-params",
    on_change=_follow_search,
    help=PARTNER.help,
)
partner_id = _resolve(picked)
if NOTE_KEY in st.session_state and st.session_state[NOTE_KEY]:
    st.caption(fmt.plain(st.session_state[NOTE_KEY]))
if picked and partner_id is None:
    st.warning(
        f"No partner with the name or ID {fmt.plain(str(picked))}. Type part of a partner's name or ID.",
        icon=":material/person_off:",
    )
if partner_id is None:
    st.info(
        f"Type a partner's name or ID above to open its scorecard ({len(partners.ids):,} partners in the data).",
        icon=":material/person_search:",
    )
    st.stop()

partner = partners.rows[partner_id]
st.header(fmt.plain(partner["partner_name"]), anchor=False)
details = [f"ID {fmt.plain(partner_id)}"]
details += [fmt.plain(partner["region"])] if partner["region"] else []
details += [fmt.plain(tiers.type_label(partner["partner_type"]))] if partner["partner_type"] else []
if partner["channel_manager"]:
    details.append(f"channel manager {fmt.plain(partner['channel_manager'])}")
details.append(f"joined {partner['joined_on'].isoformat()}")
if partner["left_on"] is not None:
    details.append(f"left {partner['left_on'].isoformat()}")
st.caption(" · ".join(details))

record = data.scorecard_record(frame.dataset, partner_id, as_of, view.window_days)
tables = data.scorecard_tables(frame.dataset, partner_id, as_of, view.window_days, currency)
weekly = data.scorecard_history(frame.dataset, view, partner_id)
numbers = report.scorecard_page(partner, record, weekly.history, view)
status = numbers["membership"]
NAME = f"scorecard-{file_part(partner_id)}"  # every download's name: the partner, the table, the as-of date
ON = as_of.isoformat()

# --- tier and why -------------------------------------------------------------------------
if status != "in program":
    when = (
        f"it joins on {partner['joined_on'].isoformat()}, after the as-of date"
        if status == "not yet joined"
        else f"it left on {partner['left_on'].isoformat()}"
    )
    st.info(
        f"**{fmt.plain(partner['partner_name'])}** is not in the program on {as_of.isoformat()}: {when}. "
        "It has no tier on that date. Its months, staff and past weeks are in the tabs below.",
        icon=":material/event_busy:",
    )
else:
    # Two rows of three: six cards in one row cut off a value like "$1,234,567" on a projector.
    cols = [*st.columns(3), *st.columns(3)]
    cols[0].metric("Tier", numbers["tier"].capitalize(), border=True)
    cols[1].metric(
        "Criteria met",
        f"{numbers['criteria_met']} of {numbers['criteria_enabled']}",
        help=f"Switched-on criteria met; activation needs {numbers['criteria_needed']}.",
        border=True,
    )
    cols[2].metric(
        "Revenue", fmt.money(numbers["revenue"]), help="Deals won in the window: amount + 12 x MRR.", border=True
    )
    cols[3].metric("Cost", fmt.money(numbers["cost"]), help="Invested in the partner in the window.", border=True)
    cols[4].metric(
        "ROI",
        fmt.roi(numbers["roi"]),
        help="(revenue - cost) / cost; n/a without cost.",
        border=True,
    )
    cols[5].metric("MRR", fmt.money(numbers["mrr"]), help="Recurring revenue live on the as-of date.", border=True)
    behaviour = (
        ("Trainings", "trainings"),
        ("Content shares", "content_shares"),
        ("Deals registered", "deals_registered"),
        ("Content views", "content_views"),
        ("Logins", "logins"),
        ("Deals won", "deals_won"),
        ("Active staff", "active_users"),
    )
    for column, (label, key) in zip(st.columns(len(behaviour)), behaviour, strict=True):
        column.metric(label, fmt.count(numbers[key]))


def _why() -> None:
    """The tier and why, criterion by criterion and rule by rule, in words."""
    if status != "in program":
        st.caption("No tier on the as-of date: the partner is not in the program then.")
        return
    reasons = scorecard.explain_tier(record.today, view)
    enabled = [c for c in reasons.criteria if c.enabled]
    st.subheader(f"Why {reasons.tier}")
    lines = []
    for check in reasons.criteria:
        label = CRITERION_LABELS[check.column]
        if not check.enabled:
            lines.append(f"- :material/remove: **{label}**: switched off (threshold 0)")
        elif check.met:
            lines.append(f"- :material/check_circle: **{label}**: {check.value} (needs {check.threshold}): met")
        else:
            lines.append(
                f"- :material/cancel: **{label}**: {check.value} of {check.threshold} needed: **{check.short} short**"
            )
    if not enabled:
        lines.append("- No criterion is switched on, so every partner counts as activated.")
    else:
        verdict = (
            "**activated**"
            if reasons.activated
            else f"**not activated** ({reasons.needed - reasons.criteria_met} more needed)"
        )
        lines.append(
            f"- Meets **{reasons.criteria_met} of {len(enabled)}** switched-on criteria; "
            f"activation needs {reasons.needed}: {verdict}."
        )
    st.markdown("\n".join(lines))

    def _missed(condition: scorecard.Condition) -> str:
        """Why a condition of a tier rule fails, in words."""
        if condition.name == "activated":
            return f"it is not activated ({condition.gap} {'criterion' if condition.gap == 1 else 'criteria'} short)"
        if condition.name == "reward_revenue":
            return (
                f"revenue {fmt.money(condition.value)} is {fmt.money(condition.gap)} below "
                f"the reward threshold of {fmt.money(condition.limit)}"
            )
        if condition.name == "not_activated":
            return "it is activated"
        if condition.name == "no_revenue":
            return f"it has revenue in the window ({fmt.money(condition.value)})"
        if condition.name == "few_actions":
            return (
                f"it did {_plural(condition.value, 'action')}, {condition.gap} over the drop limit of {condition.limit}"
            )
        return (
            f"it joined on {reasons.joined_on.isoformat()}, inside the {view.grace_days}-day grace period "
            f"(it can be dropped from {reasons.droppable_from.isoformat()})"
        )

    missed_reward = "; ".join(_missed(c) for c in reasons.reward if not c.holds)
    if reasons.tier == "reward":
        rule = [
            f"**Reward**: activated, and revenue {fmt.money(reasons.revenue)} is at least the reward threshold "
            f"of {fmt.money(view.reward_min_revenue)}."
        ]
    elif reasons.tier == "drop":
        rule = [
            f"**Drop**: not reward, because {missed_reward}.",
            "Dropped because it is not activated, has no revenue in the window, "
            f"did {_plural(reasons.actions, 'action')} (at most {view.drop_max_actions} allowed) "
            f"and joined on {reasons.joined_on.isoformat()}, "
            f"past the {view.grace_days}-day grace period (joined on or before {reasons.grace_cutoff.isoformat()}).",
        ]
    else:
        missed_drop = "; ".join(_missed(c) for c in reasons.drop if not c.holds)
        rule = [f"**Nurture**: not reward, because {missed_reward}.", f"Not drop, because {missed_drop}."]
    st.markdown("\n\n".join(rule))


def _months() -> None:
    """Money and activity month by month."""
    st.subheader("Month by month")
    if record.months.is_empty():
        st.info("Nothing to show month by month: no activity, deals or spend up to the as-of date.")
    else:
        st.vega_lite_chart(tables.months_spec, width="stretch")
        chart_downloads(lambda: tables.months_spec, f"{NAME}-money-{ON}", "scorecard_months_chart_download")
        shown = min(numbers["months"], charts_scorecard.MONTHS_SHOWN)
        st.caption(
            f"Grey bars: revenue won in each calendar month (one-time amount plus first-year recurring); purple bars: "
            f"what was invested in the partner that month; blue line: recurring revenue (MRR) live at each month end. "
            f"The last {shown} of {numbers['months']} months, up to {as_of.isoformat()}."
        )
        money = fmt.money_column_format()
        st.dataframe(
            tables.months_table,
            hide_index=True,
            placeholder=fmt.EMPTY,
            # The money first, next to the pinned month: at a laptop's width the activity scrolls, not them.
            column_order=MONTH_COLUMNS,
            column_config={
                "month": st.column_config.TextColumn("Month", pinned=True),
                "in_program": st.column_config.CheckboxColumn("In program", help="In the program at the month end"),
                "trainings": "Trainings",
                "content_shares": "Shares",
                "content_views": "Views",
                "logins": "Logins",
                "deals_registered": st.column_config.NumberColumn("Registered", help="Deals registered"),
                "deals_won": "Won",
                "deals_lost": "Lost",
                "revenue": st.column_config.NumberColumn("Revenue", format=money),
                "mrr": st.column_config.NumberColumn("MRR at end", format=money, help="MRR live at the month end"),
                "cost": st.column_config.NumberColumn("Cost", format=money),
                "roi": st.column_config.NumberColumn("ROI", format="%+.1f%%", help="n/a in a month with no cost"),
            },
        )
        table_downloads(  # every month, newest first; ROI as a ratio (Excel shows it as a percentage)
            lambda: record.months.reverse().drop("partner_id", "partner_name", "month_end"),
            f"{NAME}-months-{ON}",
            "scorecard_months_download",
            sheet="months",
        )


def _staff() -> None:
    """The partner's people and what each did."""
    st.subheader("Staff")
    staff = numbers["staff"]
    if staff["on_record"] == 0:
        st.info("This partner has no staff on record (no partner_users rows).", icon=":material/person_off:")
    if not record.staff.is_empty():
        more = (
            f" The {charts_scorecard.STAFF_SHOWN} most active are listed."
            if record.staff.height > charts_scorecard.STAFF_SHOWN
            else ""
        )
        st.caption(
            f"{staff['on_record']:,} staff on record, {staff['active']:,} active in the window. "
            f"Activities in the {view.window_days} "
            f"days up to {as_of.isoformat()}, logins included; last active is the latest day with any activity, "
            f"also before the window. Activities recorded without a person show as {charts_scorecard.NO_USER}.{more}"
        )
        st.dataframe(
            tables.staff_table,
            hide_index=True,
            placeholder=fmt.EMPTY,
            column_config={
                "user_name": "Name",
                "role": "Role",
                "trainings": "Trainings",
                "content_shares": "Shares",
                "content_views": "Views",
                "logins": "Logins",
                "activities": st.column_config.NumberColumn(
                    "All activities", help="Trainings + shares + views + logins"
                ),
                "last_active_on": st.column_config.DateColumn("Last active", format="YYYY-MM-DD"),
            },
        )
        table_downloads(  # every person, not only the most active
            lambda: charts_scorecard.staff_table(record.staff),
            f"{NAME}-staff-{ON}",
            "scorecard_staff_download",
            sheet="staff",
        )


def _history() -> None:
    """The tier week by week."""
    st.subheader(f"Tier over the past {scorecard.HISTORY_WEEKS} weeks")
    history_spec = charts_scorecard.tier_history_template(currency)
    st.vega_lite_chart(with_rows(history_spec, weekly.points), width="stretch")
    chart_downloads(
        lambda: with_rows(history_spec, weekly.points), f"{NAME}-tier-history-{ON}", "scorecard_history_chart_download"
    )
    st.caption(
        f"Each square is one week: the tier this partner would have had on that day, with a {view.window_days}-day "
        "window ending there and today's thresholds. Weeks in each tier: "
        + " · ".join(f"{tier} {weeks}" for tier, weeks in numbers["weeks_in_tier"].items() if weeks)
        + "."
    )
    st.dataframe(
        weekly.table,
        hide_index=True,
        placeholder=fmt.EMPTY,
        column_config={
            "as_of": "Week ending",
            "tier": "Tier",
            "criteria_met": "Criteria met",
            "revenue": st.column_config.NumberColumn("Revenue in the window", format=fmt.money_column_format()),
            "actions": "Actions",
        },
    )
    table_downloads(
        lambda: weekly.history.reverse(),
        f"{NAME}-tier-history-{ON}",
        "scorecard_history_download",
        sheet="tier history",
    )


# The details in tabs, and only the open one is built; the open tab is in the link.
check_link(TAB.name)
tabs = st.tabs([label for _, label in TAB.choices], key=TAB.name, bind="query-params")
for tab, draw in zip(tabs, (_why, _months, _staff, _history), strict=True):
    if tab.open:
        with tab:
            draw()
