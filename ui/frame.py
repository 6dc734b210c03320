"""The frame every page shares: the dataset and the view from the sidebar controls.

Every control is bound to its URL query parameter (SPEC "Shared links"), so a copied
link opens the same view on any page, and a bound value survives page navigation.
Before the widgets read the URL, the raw values are checked by the same parser the
CLI uses (`kpi.params.parse_view`), so a bad value in a link gets a visible notice
naming the parameter; the widget then falls back to its default.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
from dataclasses import dataclass
from datetime import date

import streamlit as st

from kpi.params import PARAMS, ParamProblem, ParamSpec, View, parse_view
from ui.data import Dataset

FRAME_KEY = "frame"  # the frame of the current run, read by the pages
DEFAULT_AS_OF_KEY = "frame_default_as_of"  # the data's default as-of date seen last run
NOTICES_KEY = "frame_url_notices"  # bad link values seen this session, until dismissed
SLIDERS = {"window_days", "min_trainings", "min_shares", "min_deals", "min_criteria"}
_GROUPS = (
    ("Time", ("as_of", "window_days")),
    ("Activation criteria", ("min_trainings", "min_shares", "min_deals", "min_criteria")),
    ("Tiers", ("reward_min_revenue", "drop_max_actions", "grace_days")),
)


@dataclass(frozen=True)
class Frame:
    dataset: Dataset
    view: View


_FROZEN = False


# Libraries Streamlit imports lazily while drawing a page (pandas and pyarrow for tables and
# chart data, PIL for the page icon, narwhals for Altair's Polars frames). Imported before
# the freeze so that their ~45,000 objects are frozen too.
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

    Streamlit runs a full collection after every script run; it walked the ~100,000
    long-lived objects of Polars, DuckDB and Altair each time (~200 ms a slider move,
    benchmarks/bench_browser.py), and then still ~45,000 of the libraries Streamlit
    imports on the first page drawn (30-60 ms). Called by app.py once the libraries
    are imported; the collection after a rerun then takes a few milliseconds.
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


def ensure_routed() -> None:
    """Make sure this page runs under app.py's router, not Streamlit's legacy mode.

    With a folder named pages/ beside app.py, Streamlit 1.67 serves a freshly started
    server in its legacy multipage mode until the first `st.navigation` call: a shared
    deep link (/tiers?..., /data) as the first request then runs the page script alone,
    without app.py. Such a run switches the legacy mode off, as `st.navigation` itself
    does, and reruns, so app.py routes to the same page (both modes hash a page by its
    URL path). Every page calls this first.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def current() -> Frame:
    """The frame app.py built for this run (see `ensure_routed`)."""
    ensure_routed()
    frame = st.session_state.get(FRAME_KEY)
    if frame is None:  # app.py did not run before this page: route through it
        st.rerun()
    return frame


def _url_problems(span: tuple[date, date]) -> list[ParamProblem]:
    raw = {spec.name: st.query_params.get_all(spec.name) for spec in PARAMS if spec.name in st.query_params}
    return parse_view(raw, span)[1]


def _widget(spec: ParamSpec, span: tuple[date, date]) -> object:
    common = {"key": spec.name, "help": spec.help, "bind": "query-params"}
    if spec.kind == "date":
        return st.date_input(
            spec.label, value=span[1], min_value=span[0], max_value=span[1], format="YYYY-MM-DD", **common
        )
    if spec.name in SLIDERS:
        return st.slider(
            spec.label,
            min_value=int(spec.min_value),
            max_value=int(spec.max_value),
            value=int(spec.default),
            step=int(spec.step),
            **common,
        )
    if spec.kind == "money":
        return st.number_input(
            spec.label,
            min_value=float(spec.min_value),
            max_value=float(spec.max_value),
            value=float(spec.default),
            step=float(spec.step),
            format="%.0f",
            **common,
        )
    return st.number_input(
        spec.label,
        min_value=int(spec.min_value),
        max_value=int(spec.max_value),
        value=int(spec.default),
        step=int(spec.step),
        **common,
    )


def _show_notices() -> None:
    notices: list[ParamProblem] = st.session_state.get(NOTICES_KEY, [])
    if not notices:
        return
    lines = "\n".join(f"- `{p.name}={p.value}`: {p.message}; using the default instead." for p in notices)
    st.warning(f"Some values in this link could not be used:\n{lines}", icon=":material/link_off:")
    if st.button("Dismiss", key="frame_dismiss_notices"):
        st.session_state[NOTICES_KEY] = []
        st.rerun()


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


def build(dataset: Dataset) -> Frame:
    """Draw the shared controls in the sidebar and return the frame for this run."""
    assert dataset.span is not None
    problems = _url_problems(dataset.span)
    if problems:
        st.session_state[NOTICES_KEY] = problems
    _follow_new_data(dataset.span)
    values: dict[str, object] = {}
    by_name = {spec.name: spec for spec in PARAMS}
    with st.sidebar:
        for title, names in _GROUPS:
            st.subheader(title)
            for name in names:
                values[name] = _widget(by_name[name], dataset.span)
        st.caption("Every control is in the page link: copy the URL to share this exact view.")
    _show_notices()
    frame = Frame(dataset, View(**values))  # type: ignore[arg-type]
    st.session_state[FRAME_KEY] = frame
    return frame
