"""Saved scenarios in the app: the sidebar's scenario and comparison base, and the actions
that save, rename, delete a scenario or make it the policy (`kpi.scenarios` does the work).

Opening a scenario fills the threshold controls with its values; each control can still be
moved after, and the link then carries the scenario and the moved values (`scenario=NAME`
first, the values named after it override it, as in `kpi compare --base`). The comparison
base is the policy unless another scenario is chosen (`compare=NAME`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from kpi import scenarios as kpi_scenarios
from kpi.params import SPEC_BY_NAME, THRESHOLDS, ParamProblem, View
from kpi.scenarios import Scenario
from ui import format as fmt
from ui import links
from ui.data import Dataset

NO_SCENARIO = ""  # the scenario control's value when none is open
MESSAGE_KEY = "scenario_message"  # (kind, text) of the last scenario action, shown once on the What-if page


@dataclass(frozen=True)
class Choice:
    """The scenario open in the controls (None: none), the comparison base and the policy."""

    opened: Scenario | None
    base: Scenario
    policy: Scenario


def threshold_text(name: str, value: object) -> str:
    """A threshold as the controls show it: money with its currency, counts grouped."""
    return fmt.money(value) if name == "reward_min_revenue" else fmt.count(value)  # type: ignore[arg-type]


def differences(view: View, scenario: Scenario) -> list[str]:
    """The thresholds where the view differs from the scenario, as "label scenario → view"."""
    return [
        f"{SPEC_BY_NAME[name].label.lower()} {threshold_text(name, scenario.thresholds[name])} → "
        f"{threshold_text(name, getattr(view, name))}"
        for name in THRESHOLDS
        if scenario.thresholds[name] != getattr(view, name)
    ]


def _fill_controls(scenario: Scenario | None, keep: Sequence[str] = ()) -> None:
    """Put a scenario's thresholds into the threshold controls (not those named in `keep`)."""
    if scenario is None:
        return
    for name in THRESHOLDS:
        if name not in keep:
            spec = SPEC_BY_NAME[name]
            # Kept within the control's range: a scenario saved when a range was wider must not
            # break the control (the caption then says the controls differ from the scenario).
            value = min(max(scenario.thresholds[name], spec.min_value), spec.max_value)  # type: ignore[type-var]
            st.session_state[name] = float(value) if spec.kind == "money" else int(value)


def _named(saved: Sequence[Scenario], name: str) -> Scenario | None:
    try:
        return kpi_scenarios.find(saved, name) if name else None
    except kpi_scenarios.ScenarioError:
        return None


def sidebar(saved: Sequence[Scenario]) -> tuple[Choice, Any]:
    """Draw the scenario and comparison controls (before the threshold controls, which a
    scenario opened by a link fills); return what they hold and a place under the scenario
    control for `opened_caption`."""
    names = [s.name for s in saved]
    policy = next(s for s in saved if s.is_policy)
    by_name = {s.name: s for s in saved}

    # A link's scenario fills the controls the link does not name, once per session. A name
    # in other letter case, or `policy` for a renamed policy, still opens it.
    raw = links.raw("scenario") if "scenario" not in st.session_state else None
    linked = _named(saved, raw[-1]) if raw else None
    if raw and linked is not None:
        _fill_controls(linked, keep=[name for name in THRESHOLDS if links.raw(name) is not None])
        if linked.name != raw[-1]:
            st.session_state["scenario"] = linked.name

    def opened_changed() -> None:
        _fill_controls(by_name.get(st.session_state.get("scenario", NO_SCENARIO)))

    opened_name = links.bound(
        st.selectbox,
        "scenario",
        SPEC_BY_NAME["scenario"].label,
        [NO_SCENARIO, *names],
        format_func=lambda n: n or "None: the controls as set",
        default=NO_SCENARIO,
        help=SPEC_BY_NAME["scenario"].help,
        on_change=opened_changed,
    )
    if raw and linked is None:
        links.remember(
            [ParamProblem("scenario", raw[-1], "no scenario is saved under this name", "none (the controls as set)")]
        )
    note = st.empty()  # whether the controls still hold the scenario: known once they are drawn

    raw_base = links.raw("compare") if "compare" not in st.session_state else None
    linked_base = _named(saved, raw_base[-1]) if raw_base else None
    if linked_base is not None and linked_base.name != raw_base[-1]:  # type: ignore[index]
        st.session_state["compare"] = linked_base.name
    base_name = links.bound(
        st.selectbox,
        "compare",
        SPEC_BY_NAME["compare"].label,
        names,
        index=names.index(policy.name),
        format_func=lambda n: f"{n} (the policy)" if n == policy.name else n,
        default=policy.name,
        help=SPEC_BY_NAME["compare"].help,
    )
    if raw_base and linked_base is None:
        links.remember(
            [
                ParamProblem(
                    "compare", raw_base[-1], "no scenario is saved under this name", f"the policy ({policy.name})"
                )
            ]
        )
    return Choice(by_name.get(opened_name), by_name.get(base_name, policy), policy), note


def opened_caption(view: View, choice: Choice) -> str | None:
    """What the sidebar says under the scenario control: whether the controls still hold it."""
    if choice.opened is None:
        return None
    changed = differences(view, choice.opened)
    if not changed:
        return "The controls hold this scenario."
    return fmt.plain("Moved since it was opened: " + "; ".join(changed) + ".")


# --- changing scenarios (the What-if page's buttons) ----------------------------------------


def _report(kind: str, text: str) -> None:
    st.session_state[MESSAGE_KEY] = (kind, text)


def take_message() -> tuple[str, str] | None:
    """The last action's outcome, shown once."""
    return st.session_state.pop(MESSAGE_KEY, None)


def _act(action: str, run: Callable[[], str]) -> None:
    try:
        text = run()
    except kpi_scenarios.ScenarioError as exc:
        _report("error", f"Could not {action}: {exc}.")
    except OSError as exc:
        _report("error", f"Could not {action}: the database file could not be written ({exc.strerror or exc}).")
    else:
        _report("success", text)


def save(dataset: Dataset, view: View, name_key: str) -> None:
    """Save the view's thresholds under the name typed in `name_key`, and open it."""

    def run() -> str:
        saved = kpi_scenarios.save(Path(dataset.path), st.session_state.get(name_key, ""), view)
        st.session_state["scenario"] = saved.name
        st.session_state[name_key] = ""
        return f"Saved the controls as the scenario '{saved.name}'. Its link opens these thresholds."

    _act("save the scenario", run)


def rename(dataset: Dataset, old: str, new_key: str) -> None:
    """Rename a scenario; the controls and the comparison follow the new name."""

    def run() -> str:
        renamed = kpi_scenarios.rename(Path(dataset.path), old, st.session_state.get(new_key, ""))
        for key in ("scenario", "compare"):
            if st.session_state.get(key) == old:
                st.session_state[key] = renamed.name
        st.session_state[new_key] = ""
        return f"Renamed '{old}' to '{renamed.name}'. Links that name '{old}' no longer open it."

    _act("rename the scenario", run)


def delete(dataset: Dataset, name: str, policy_name: str) -> None:
    """Delete a scenario (the policy is refused by kpi.scenarios)."""

    def run() -> str:
        kpi_scenarios.delete(Path(dataset.path), name)
        if st.session_state.get("scenario") == name:
            st.session_state["scenario"] = NO_SCENARIO
        if st.session_state.get("compare") == name:
            st.session_state["compare"] = policy_name
        return f"Deleted the scenario '{name}'."

    _act("delete the scenario", run)


def make_policy(dataset: Dataset, name: str) -> None:
    """Make a scenario the policy; a comparison with the old policy moves to the new one."""

    def run() -> str:
        chosen = kpi_scenarios.set_policy(Path(dataset.path), name)
        st.session_state["compare"] = chosen.name
        return f"'{chosen.name}' is now the policy: Overview and Tiers compare with it."

    _act("change the policy", run)
