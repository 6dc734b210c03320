"""What-if: the saved scenarios and the policy, who moves against the base, where each
threshold starts to matter, and the thresholds the data suggests."""

import polars as pl
import streamlit as st

from kpi import correlation
from kpi.params import SPEC_BY_NAME, THRESHOLDS
from ui import access as ui_access
from ui import data, whatif
from ui import format as fmt
from ui import scenarios as ui_scenarios
from ui.downloads import chart_downloads, table_downloads
from ui.frame import check_link, current

TAB = SPEC_BY_NAME["whatif_tab"]
EDIT, EVIDENCE_OPEN, EVIDENCE = (SPEC_BY_NAME[n] for n in ("whatif_edit", "whatif_evidence_open", "whatif_evidence"))

frame = current()
view, dataset = frame.view, frame.dataset
saved = data.scenarios(dataset)
policy = next(s for s in saved if s.is_policy)

st.title("What-if")
st.caption(
    "Test thresholds before you change the program: save the controls as a named scenario, compare "
    f"any scenario with the policy, and see where each threshold starts to matter. As of "
    f"**{view.as_of.isoformat()}**, over the last **{view.window_days} days**."
)
message = ui_scenarios.take_message()
if message is not None:
    kind, text = message
    (st.success if kind == "success" else st.error)(fmt.plain(text))

money = fmt.money_column_format()
EVIDENCE_ORDER = (
    "threshold",
    "above_partners",
    "below_partners",
    "above_revenue_per_partner",
    "below_revenue_per_partner",
    "above_win_rate",
    "below_win_rate",
    "above_closed",
    "below_closed",
)
EVIDENCE_COLUMNS = {
    "threshold": st.column_config.NumberColumn("At least", help="The candidate threshold"),
    "above_partners": st.column_config.NumberColumn("Partners at or above"),
    "below_partners": st.column_config.NumberColumn("Partners below"),
    "above_revenue_per_partner": st.column_config.NumberColumn("Revenue per partner, at or above", format=money),
    "below_revenue_per_partner": st.column_config.NumberColumn("Revenue per partner, below", format=money),
    "above_win_rate": st.column_config.NumberColumn("Win rate at or above", format="%.1f%%"),
    "below_win_rate": st.column_config.NumberColumn("Win rate below", format="%.1f%%"),
    "above_closed": st.column_config.NumberColumn("Deals closed at or above"),
    "below_closed": st.column_config.NumberColumn("Deals closed below"),
}


def try_value(parameter: str, value: int) -> None:
    st.session_state[parameter] = value


# --- against the base ---------------------------------------------------------------------
what_if = data.what_if(dataset, view, frame.base_view)
if what_if.comparison is None:
    st.caption(whatif.equal_caption(frame))
else:
    moved = what_if.comparison
    change = what_if.numbers["change"]
    st.markdown(
        f"Against {whatif.base_name(frame)} ({whatif.changes_text(frame)}): **{fmt.change_tier(moved.moved)}**. "
        f"Activation {fmt.pct_points(change['activation_pct'])}; "
        + ", ".join(f"{tier} {fmt.count_change(change['tiers'][tier]['partners'])}" for tier in change["tiers"])
        + "."
    )
    st.page_link("pages/tiers.py", label="Who moves, and why: the Tiers page", icon=":material/arrow_forward:")

# Three tabs, and only the open one is built: a threshold move redraws the scenarios, the
# curves or the suggestions, not all three (the curves chart is the slow part). In the link.
check_link(TAB.name)
scenarios_tab, curves_tab, suggestions_tab = st.tabs(
    [label for _, label in TAB.choices], key=TAB.name, bind="query-params"
)

if scenarios_tab.open:
    with scenarios_tab:
        table = pl.DataFrame(
            [
                {
                    "name": s.name,
                    "role": "the policy" if s.is_policy else ("open" if frame.opened == s else ""),
                    **{name: s.thresholds[name] for name in THRESHOLDS},
                }
                for s in saved
            ],
            orient="row",
        )
        st.dataframe(
            table.to_arrow(),
            hide_index=True,
            key="whatif_scenarios",
            column_config={
                "name": st.column_config.TextColumn("Scenario"),
                "role": st.column_config.TextColumn(" "),
                "min_trainings": "Trainings",
                "min_shares": "Shares",
                "min_deals": "Deals",
                "min_criteria": "Criteria",
                "reward_min_revenue": st.column_config.NumberColumn("Reward revenue", format=fmt.money_column_format()),
                "drop_max_actions": "Drop actions",
                "grace_days": "Grace days",
            },
        )
        table_downloads(lambda: table, f"whatif-scenarios-{view.as_of.isoformat()}", "whatif_scenarios_download")
        st.caption(
            "The policy is what the program uses today; Overview and Tiers compare the controls with it "
            "(or with the scenario chosen under Compare with in the sidebar). Open a scenario in the sidebar; "
            "its link opens the same thresholds."
        )

        if not (access := ui_access.current()).can_edit:
            st.info(
                f"{access.why_not_edit()}. Scenarios can be changed with `python -m kpi scenarios`.",
                icon=":material/lock:",
            )
        else:
            check_link(EDIT.name)
            save_tab, manage_tab = st.tabs([label for _, label in EDIT.choices], key=EDIT.name, bind="query-params")
            with save_tab, st.form("whatif_save_form", border=False, enter_to_submit=True):
                st.text_input(
                    "Name",
                    key="whatif_save_name",
                    max_chars=60,
                    placeholder="e.g. two trainings and a deal",
                    help="Plain text, up to 60 characters, not the name of another scenario.",
                )
                st.form_submit_button(
                    "Save the controls as a scenario",
                    key="whatif_save",
                    on_click=ui_scenarios.save,
                    args=(dataset, view, "whatif_save_name"),
                    icon=":material/bookmark_add:",
                )
            with manage_tab:
                names = [s.name for s in saved]
                chosen = st.selectbox("Scenario", names, key="whatif_manage_name")
                buttons = st.container(horizontal=True, vertical_alignment="bottom")
                buttons.text_input("New name", key="whatif_new_name", max_chars=60)
                buttons.button(
                    "Rename",
                    on_click=ui_scenarios.rename,
                    args=(dataset, chosen, "whatif_new_name"),
                    key="whatif_rename",
                    icon=":material/edit:",
                )
                buttons.button(
                    "Make it the policy",
                    on_click=ui_scenarios.make_policy,
                    args=(dataset, chosen),
                    key="whatif_make_policy",
                    disabled=chosen == policy.name,
                    icon=":material/verified:",
                )
                buttons.button(
                    "Delete",
                    on_click=ui_scenarios.delete,
                    args=(dataset, chosen, policy.name),
                    key="whatif_delete",
                    icon=":material/delete:",
                    help="The policy cannot be deleted: make another scenario the policy first.",
                )

if curves_tab.open:
    with curves_tab:
        base_label = "policy" if frame.base.is_policy else f"base: {frame.base.name}"
        curves = data.sensitivity_spec(dataset, view, frame.base_view, base_label)
        st.vega_lite_chart(curves, width="stretch")
        chart_downloads(lambda: curves, f"whatif-sensitivity-{view.as_of.isoformat()}", "whatif_sensitivity_download")
        st.caption(
            "Each small chart moves one threshold over its range and holds the others at the sidebar's values: "
            "the black line is the share of partners activated, the others each tier's share of partners. The "
            f"solid rule is the value now, the dashed one the {'policy' if frame.base.is_policy else 'base'}'s. "
            "Where a line falls steeply, a small change of that threshold moves many partners. "
            "To keep each curve in sight while moving its slider, switch on **Curves beside the thresholds** "
            "in the sidebar."
        )

if suggestions_tab.open:
    with suggestions_tab:
        st.caption(
            "A suggestion from correlation in this window, not a cause: partners at or above a value and "
            "those below it are compared on revenue per partner and win rate. "
            f"Each side needs at least {correlation.MIN_PARTNERS} partners."
        )
        suggested = data.threshold_suggestions(dataset, view.as_of, view.window_days)
        cards = st.container(horizontal=True)
        for suggestion, _ in suggested:
            card = cards.container(border=True)
            label = SPEC_BY_NAME[suggestion.parameter].label
            now = getattr(view, suggestion.parameter)
            if suggestion.threshold is None:
                card.markdown(f"**{label}**: {suggestion.status}")
            elif suggestion.threshold == now:
                card.markdown(f"**{label}**: {suggestion.threshold} suggested, the value set now")
            else:
                card.markdown(f"**{label}**: {suggestion.threshold} suggested (now {now})")
            card.caption(fmt.plain(suggestion.reasoning))
            if suggestion.threshold is not None and suggestion.threshold != now:
                card.button(
                    f"Try {suggestion.threshold}",
                    key=f"whatif_try_{suggestion.parameter}",
                    on_click=try_value,
                    args=(suggestion.parameter, suggestion.threshold),
                    help="Set the sidebar control to this value; the pages then show it against the base.",
                )
        check_link(EVIDENCE_OPEN.name)
        check_link(EVIDENCE.name)
        evidence_box = st.expander(EVIDENCE_OPEN.label, key=EVIDENCE_OPEN.name, bind="query-params")
        labels = [SPEC_BY_NAME[s.parameter].label for s, _ in suggested]
        with evidence_box:
            tabs = st.tabs(labels, key=EVIDENCE.name, bind="query-params")
            for tab, (suggestion, evidence) in zip(tabs, suggested, strict=True):
                tab.dataframe(
                    evidence.to_arrow(),
                    hide_index=True,
                    key=f"whatif_evidence_{suggestion.behaviour}",
                    column_order=EVIDENCE_ORDER,
                    column_config=EVIDENCE_COLUMNS,
                )
                table_downloads(
                    lambda evidence=evidence: evidence,
                    f"whatif-evidence-{suggestion.behaviour}-{view.as_of.isoformat()}",
                    f"whatif_evidence_{suggestion.behaviour}_download",
                    tab,
                )
