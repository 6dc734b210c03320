"""The frame every page shares: the dataset, the view from the link and the sidebar, the
scenario open in it and the comparison base.

Every control is bound to its URL query parameter (SPEC "Shared links", `ui.links`), so a
copied link opens the same view on any page and a bound value survives page navigation.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
from dataclasses import dataclass
from datetime import date
from typing import Any

import streamlit as st

from kpi.demo import is_demo
from kpi.params import SPEC_BY_NAME, THRESHOLDS, ParamSpec, View
from kpi.scenarios import Scenario
from ui import access, charts_whatif, data
from ui import format as fmt
from ui import scenarios as ui_scenarios
from ui.data import Dataset
from ui.links import BUILDING_KEY, bound, check_link, show_notices

__all__ = ["Frame", "bound", "build", "check_link", "current", "ensure_routed", "mark_routed"]

FRAME_KEY = "frame"  # the frame of the latest app.py run, read by the pages
ROUTED_KEY = "frame_routed"  # set by app.py each run, taken by the page it runs
DEFAULT_AS_OF_KEY = "frame_default_as_of"  # the data's default as-of date seen last run
SLIDERS = {"window_days", "min_trainings", "min_shares", "min_deals", "min_criteria"}
_GROUPS = (
    ("Time", ("as_of", "window_days")),
    ("Activation criteria", ("min_trainings", "min_shares", "min_deals", "min_criteria")),
    ("Tiers", ("reward_min_revenue", "drop_max_actions", "grace_days")),
)
_CURVES_GROUP = "Activation criteria"  # the curves' switch opens the thresholds' groups


@dataclass(frozen=True)
class Frame:
    dataset: Dataset
    view: View
    opened: Scenario | None  # the scenario open in the controls, if any
    base: Scenario  # what the what-if compares with: the policy, or the scenario chosen

    @property
    def base_view(self) -> View:
        """The view with the base's thresholds (the same as-of date and window)."""
        return self.view.replace(**self.base.thresholds)


_FROZEN = False


# Libraries Streamlit imports lazily while drawing a page (pandas and pyarrow for tables and
# chart data, PIL for the page icon, narwhals for Altair's Polars frames). Imported before
# the freeze so that their objects are frozen too.
_LAZY_IMPORTS = (
    "numpy",
    "pandas",
    "pyarrow",
    "pyarrow.pandas_compat",
    "PIL.Image",
    "PIL.PngImagePlugin",
    "narwhals.stable.v1",
    "narwhals._polars.dataframe",
    "narwhals._polars.namespace",
    "streamlit.material_icon_names",
)


def freeze_long_lived_objects() -> None:
    """Once per process, take the objects alive now out of later garbage collections.

    Streamlit runs a full collection after every script run, which walks every long-lived
    object of Polars, DuckDB and Altair each time; frozen, they are skipped, and the
    collection after a rerun costs little (benchmarks/README.md).
    """
    global _FROZEN
    if not _FROZEN:
        for name in _LAZY_IMPORTS:
            with contextlib.suppress(ImportError):  # private module names may move between versions
                importlib.import_module(name)
        gc.collect()
        gc.freeze()
        atexit.register(gc.unfreeze)  # let the interpreter free them normally at shutdown
        _FROZEN = True


def mark_routed() -> None:
    """Called by app.py on every run, just before it runs the page."""
    st.session_state[ROUTED_KEY] = True


def ensure_routed() -> None:
    """Make sure this page script runs under app.py (see `ui.navigation.route_through_app`).

    app.py marks each of its runs and the page takes the mark, so a page script run alone
    (no mark this run) is sent through the app."""
    if not st.session_state.pop(ROUTED_KEY, False):
        from ui.navigation import route_through_app

        route_through_app()


def current() -> Frame:
    """The frame app.py built for this run."""
    ensure_routed()
    return st.session_state[FRAME_KEY]


# --- the sidebar ------------------------------------------------------------------------------


def _widget(spec: ParamSpec, span: tuple[date, date]) -> object:
    if spec.kind == "date":
        return bound(
            st.date_input,
            spec.name,
            spec.label,
            value=span[1],
            min_value=span[0],
            max_value=span[1],
            format="YYYY-MM-DD",
            default=span[1],
            date_bounds=span,
            help=spec.help,
        )
    if spec.name in SLIDERS:
        widget, cast = st.slider, int
    elif spec.kind == "money":
        widget, cast = st.number_input, float
    else:
        widget, cast = st.number_input, int
    extra = {"format": "%.0f"} if spec.kind == "money" else {}
    return bound(
        widget,
        spec.name,
        spec.label,
        min_value=cast(spec.min_value),
        max_value=cast(spec.max_value),
        value=cast(spec.default),
        step=cast(spec.step),
        help=spec.help,
        **extra,
    )


def _follow_new_data(span: tuple[date, date]) -> None:
    """After a load or restore, an as-of date left at the old data's default follows the
    new data's latest date; one outside the new data's span is reset to it."""
    previous_default = st.session_state.get(DEFAULT_AS_OF_KEY)
    st.session_state[DEFAULT_AS_OF_KEY] = span[1]
    chosen = st.session_state.get("as_of")
    if chosen is None or previous_default is None:
        return
    if chosen == previous_default != span[1] or not span[0] <= chosen <= span[1]:
        del st.session_state["as_of"]


def context_line(frame: Frame, policy: Scenario, demo: bool) -> str:
    """The line above every page saying what it shows: whether the data is the demo, whether
    the thresholds are the policy's or a what-if, and the view itself, so that a screenshot
    or a printout (which has no sidebar) carries how its tiers were judged."""
    view = frame.view
    badges = [":violet-badge[:material/science: Demo data]"] if demo else []
    differs = [name for name in THRESHOLDS if getattr(view, name) != policy.thresholds[name]]
    if differs:
        labels = ", ".join(fmt.THRESHOLD_WORDS[name] for name in differs)
        badges.append(f":orange-badge[:material/tune: What-if: not the policy's thresholds ({labels})]")
    else:
        badges.append(":green-badge[:material/verified: The policy's thresholds]")
    shown = fmt.plain(fmt.thresholds_line({name: getattr(view, name) for name in THRESHOLDS}, fmt.currency_symbol()))
    return " ".join(badges) + f" As of **{view.as_of.isoformat()}**, the last **{view.window_days} days** · {shown}"


def build(dataset: Dataset, context: bool = True) -> Frame:
    """Draw the shared controls in the sidebar and return the frame for this run; with
    `context`, the line naming the view above the page (`context_line`)."""
    assert dataset.span is not None
    _follow_new_data(dataset.span)
    values: dict[str, object] = {}
    st.session_state[BUILDING_KEY] = True
    with st.sidebar:
        st.subheader("Scenario")
        # Drawn before the thresholds: a scenario opened by a link fills them.
        choice, opened_note = ui_scenarios.sidebar(data.scenarios(dataset))
        beside: dict[str, Any] = {}  # where each threshold's curve goes, when curves are shown
        curves = False
        for title, names in _GROUPS:
            st.subheader(title)
            if title == _CURVES_GROUP:
                curves = bound(st.toggle, "curves", SPEC_BY_NAME["curves"].label, help=SPEC_BY_NAME["curves"].help)
            for name in names:
                values[name] = _widget(SPEC_BY_NAME[name], dataset.span)
                if name in THRESHOLDS and curves:
                    beside[name] = st.empty()
        st.caption("Every control is in the page link: copy the URL to share this exact view.")
        access.sidebar_signed_in(access.current())
        view = View(**values)  # type: ignore[arg-type]
        note = ui_scenarios.opened_caption(view, choice)
        if note:
            opened_note.caption(note)
    st.session_state[BUILDING_KEY] = False
    show_notices()
    frame = Frame(dataset, view, choice.opened, choice.base)
    if context:
        st.caption(context_line(frame, choice.policy, is_demo(data.load_info(dataset).source)))
    if beside:
        # Drawn once every control is read: each curve holds the other thresholds at their values.
        label = "policy" if choice.base.is_policy else f"base: {choice.base.name}"
        for name, spec in data.beside_specs(dataset, view, frame.base_view, label).items():
            beside[name].vega_lite_chart(spec, width="stretch", height=charts_whatif.BESIDE_HEIGHT)
    st.session_state[FRAME_KEY] = frame
    return frame
