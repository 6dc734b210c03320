"""The frame every page shares: the dataset, the view from the link and the sidebar, and
every link parameter's control.

Every control is bound to its URL query parameter (SPEC "Shared links"), so a copied link
opens the same view on any page and a bound value survives page navigation. The link is
read by the engine's own parser (`kpi.params`), the one the CLI uses: a control first
drawn in a session starts from the parsed value, a refused value falls back with a notice
naming it, and all notices are shown in one place.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import gc
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import streamlit as st

from kpi.params import SPEC_BY_NAME, ParamProblem, ParamSpec, View, format_param, parse_params
from ui.data import Dataset

FRAME_KEY = "frame"  # the frame of the latest app.py run, read by the pages
ROUTED_KEY = "frame_routed"  # set by app.py each run, taken by the page it runs
DEFAULT_AS_OF_KEY = "frame_default_as_of"  # the data's default as-of date seen last run
NOTICES_KEY = "frame_url_notices"  # bad link values seen this session, by name, until dismissed
BUILDING_KEY = "frame_building"  # true while the sidebar is drawn: its notices need no rerun
SLIDERS = {"window_days", "min_trainings", "min_shares", "min_deals", "min_criteria"}
_GROUPS = (
    ("Time", ("as_of", "window_days")),
    ("Activation criteria", ("min_trainings", "min_shares", "min_deals", "min_criteria")),
    ("Tiers", ("reward_min_revenue", "drop_max_actions", "grace_days")),
)
T = TypeVar("T")


@dataclass(frozen=True)
class Frame:
    dataset: Dataset
    view: View


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


# --- link parameters: parsed by kpi.params, one notice list ---------------------------------------------


def _raw_link(name: str) -> list[str] | None:
    return st.query_params.get_all(name) if name in st.query_params else None


def _remember(problems: list[ParamProblem]) -> None:
    notices: dict[str, ParamProblem] = dict(st.session_state.get(NOTICES_KEY, {}))
    notices.update({p.name: p for p in problems})
    st.session_state[NOTICES_KEY] = notices


def _forget(name: str) -> None:
    notices: dict[str, ParamProblem] = st.session_state.get(NOTICES_KEY, {})
    if name in notices:
        st.session_state[NOTICES_KEY] = {k: v for k, v in notices.items() if k != name}


def notice_text(problems: list[ParamProblem]) -> str:
    """The one wording of a link's refused values. Values are shown as code and never as
    markdown: a backtick or a line break in a link cannot step out of the code span."""
    lines = []
    for p in problems:
        shown = p.value.replace("`", "'").replace("\n", " ").replace("\r", " ")
        shown = shown if len(shown) <= 80 else shown[:79] + "…"
        lines.append(f"- `{p.name}={shown}`: {p.message}; using {p.fallback} instead.")
    return "Some values in this link could not be used:\n" + "\n".join(lines)


def show_notices() -> None:
    """Every refused link value of this session, sidebar's and pages' alike, until dismissed."""
    notices: dict[str, ParamProblem] = st.session_state.get(NOTICES_KEY, {})
    if not notices:
        return
    st.warning(notice_text(list(notices.values())), icon=":material/link_off:")
    if st.button("Dismiss", key="frame_dismiss_notices"):
        st.session_state[NOTICES_KEY] = {}
        st.rerun()


def check_link(name: str, fallback: object = None) -> object | None:
    """The parsed value of link parameter `name` (kpi.params), or None when the link does not
    give a usable one; a refused value is remembered as a notice (shown once per session)."""
    raw = _raw_link(name)
    if raw is None:
        return None
    spec = SPEC_BY_NAME[name]
    values, problems = parse_params({name: raw}, [spec], fallbacks={name: fallback} if fallback else None)
    if problems and name not in st.session_state.get(NOTICES_KEY, {}):
        _remember(problems)
        st.rerun()  # the notices are drawn above the page
    return values.get(name)


def bound(
    widget: Callable[..., T],
    name: str,
    *args: Any,
    default: object = None,
    date_bounds: tuple[date, date] | None = None,
    **kwargs: Any,
) -> T:
    """Draw `widget` bound to link parameter `name`, and check the link's value of it.

    Streamlit seeds a bound control from the URL itself and rewrites the address bar to
    what the control took ("30.5" becomes 30, a repeated parameter is dropped); a value set
    from the server afterwards would not reach the address bar. So the control's value is
    the view, and the link it came from is checked with `kpi.params`, the parser the CLI
    uses, the first time the control is drawn in a session: a value the parser refuses, or
    that the control read differently, is named in a notice with what is used instead.
    Moving the control clears its notice. `default` is the control's default where it is
    not the spec's (the as-of date's is the data's latest date), `date_bounds` the dates a
    date control offers.
    """
    spec = SPEC_BY_NAME[name]
    # Read before the control is drawn: Streamlit removes a value it cannot use from the URL.
    raw = _raw_link(name) if name not in st.session_state else None
    on_change = kwargs.pop("on_change", None)

    def changed() -> None:
        _forget(name)
        if on_change is not None:
            on_change()

    value = widget(*args, key=name, bind="query-params", on_change=changed, **kwargs)
    if raw is not None:
        problem = link_problem(spec, raw, value, spec.default if default is None else default, date_bounds)
        if problem is not None:
            _remember([problem])
            if not st.session_state.get(BUILDING_KEY):
                st.rerun()  # the notices are drawn above the page
    return value


def link_problem(
    spec: ParamSpec,
    raw: list[str],
    used: object,
    default: object,
    date_bounds: tuple[date, date] | None = None,
) -> ParamProblem | None:
    """What is wrong with a link's value of `spec`, given the value the control took from it:
    refused by `kpi.params`, or read by the control as something else."""
    values, problems = parse_params({spec.name: raw}, [spec], date_bounds)
    shown = "nothing" if used in (None, "") else spec.label_of(format_param(spec, used))
    if used == default:
        shown += " (the default)"
    if problems:
        return dataclasses.replace(problems[0], fallback=shown)
    if values[spec.name] != used:
        return ParamProblem(spec.name, raw[-1], "not in a form this control reads", shown)
    return None


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


def build(dataset: Dataset) -> Frame:
    """Draw the shared controls in the sidebar and return the frame for this run."""
    assert dataset.span is not None
    _follow_new_data(dataset.span)
    values: dict[str, object] = {}
    st.session_state[BUILDING_KEY] = True
    with st.sidebar:
        for title, names in _GROUPS:
            st.subheader(title)
            for name in names:
                values[name] = _widget(SPEC_BY_NAME[name], dataset.span)
        st.caption("Every control is in the page link: copy the URL to share this exact view.")
    st.session_state[BUILDING_KEY] = False
    show_notices()
    frame = Frame(dataset, View(**values))  # type: ignore[arg-type]
    st.session_state[FRAME_KEY] = frame
    return frame
