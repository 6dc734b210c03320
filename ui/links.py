"""Link parameters in the app: every control bound to its URL query parameter, the link's
values checked by the engine's own parser (`kpi.params`, the one the CLI uses), and one
list of notices naming the values a link gave that could not be used.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, TypeVar

import streamlit as st

from kpi.params import SPEC_BY_NAME, Known, ParamProblem, ParamSpec, format_param, parse_params, unknown_names

NOTICES_KEY = "frame_url_notices"  # bad link values seen this session, by name, until dismissed
BUILDING_KEY = "frame_building"  # true while the sidebar is drawn: its notices need no rerun
NAMES_CHECKED_KEY = "links_names_checked"  # the link's names are checked once a session, as it opens
T = TypeVar("T")


def raw(name: str) -> list[str] | None:
    return st.query_params.get_all(name) if name in st.query_params else None


def remember(problems: list[ParamProblem]) -> None:
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
        using = f"using {p.fallback} instead" if p.fallback else "ignored"
        lines.append(f"- `{p.name}={shown}`: {p.message}; {using}.")
    return "Some values in this link could not be used:\n" + "\n".join(lines)


def show_notices() -> None:
    """Every refused link value of this session, sidebar's and pages' alike, until dismissed;
    the first time, also every name in the link that is no parameter of this app."""
    if not st.session_state.get(NAMES_CHECKED_KEY):
        st.session_state[NAMES_CHECKED_KEY] = True
        remember(unknown_names({name: st.query_params.get_all(name) for name in st.query_params}))
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
    given = raw(name)
    if given is None:
        return None
    spec = SPEC_BY_NAME[name]
    values, problems = parse_params({name: given}, [spec], fallbacks={name: fallback} if fallback else None)
    if problems and name not in st.session_state.get(NOTICES_KEY, {}):
        remember(problems)
        st.rerun()  # the notices are drawn above the page
    return values.get(name)


def bound(
    widget: Callable[..., T],
    name: str,
    *args: Any,
    default: object = None,
    date_bounds: tuple[date, date] | None = None,
    known: Mapping[str, str] | None = None,
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
    date control offers, `known` the labels a control of the data's values offers (label ->
    value).
    """
    spec = SPEC_BY_NAME[name]
    # Read before the control is drawn: Streamlit removes a value it cannot use from the URL.
    given = raw(name) if name not in st.session_state else None
    on_change = kwargs.pop("on_change", None)

    def changed() -> None:
        _forget(name)
        if on_change is not None:
            on_change()

    value = widget(*args, key=name, bind="query-params", on_change=changed, **kwargs)
    if given is not None:
        limits = (kwargs.get("min_value"), kwargs.get("max_value")) if spec.kind in ("int", "money") else None
        problem = link_problem(
            spec,
            given,
            value,
            spec.default if default is None else default,
            date_bounds,
            {name: known} if known is not None else None,
            limits,
        )
        if problem is not None:
            remember([problem])
            if not st.session_state.get(BUILDING_KEY):
                st.rerun()  # the notices are drawn above the page
    return value


def _shown(spec: ParamSpec, used: object, default: object) -> str:
    """How a notice names the value a control took."""
    if isinstance(used, list | tuple):
        used, default = tuple(used), tuple(default or ())  # type: ignore[arg-type]
    empty = used in (None, "", ())
    shown = "nothing" if empty else spec.label_of(format_param(spec, used))
    return shown + (" (the default)" if used == default and not empty else "")


def link_problem(
    spec: ParamSpec,
    raw: list[str],
    used: object,
    default: object,
    date_bounds: tuple[date, date] | None = None,
    known: Known | None = None,
    limits: tuple[object, object] | None = None,
) -> ParamProblem | None:
    """What is wrong with a link's value of `spec`, given the value the control took from it:
    refused by `kpi.params`, outside the control's `limits` (a page past the last), or read
    by the control as something else."""
    values, problems = parse_params({spec.name: raw}, [spec], date_bounds, known=known)
    shown = _shown(spec, used, default)
    if problems:
        return dataclasses.replace(problems[0], fallback=shown)
    value = values[spec.name]
    if spec.multiple:
        return None if tuple(value) == tuple(used) else ParamProblem(spec.name, ", ".join(raw), "not all usable", shown)  # type: ignore[arg-type]
    if value != used:
        low, high = limits or (None, None)
        if low is not None and high is not None and not low <= value <= high:  # type: ignore[operator]
            within = f"can only be {low:,}" if low == high else f"must be between {low:,} and {high:,}"
            return ParamProblem(spec.name, raw[-1], f"{within} here", shown)
        return ParamProblem(spec.name, raw[-1], "not in a form this control reads", shown)
    return None
