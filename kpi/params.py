"""The one parameters object of the product: the `View`.

The URL, the sidebar widgets and the CLI all describe a view with the same nine
parameters (SPEC "Shared links"). Their names, defaults, ranges and help texts are
declared once in `PARAMS`; `parse_view` turns raw text (a query string, CLI
arguments) into a validated, frozen `View` and reports every bad value by name.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

ParamKind = Literal["date", "int", "money"]


@dataclass(frozen=True)
class ParamSpec:
    """How one view parameter is named, bounded and explained."""

    name: str
    label: str
    kind: ParamKind
    default: int | float | None
    min_value: int | float | None
    max_value: int | float | None
    step: int | float
    help: str


PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec(
        "as_of",
        "As-of date",
        "date",
        None,
        None,
        None,
        1,
        "The day the view is computed for. Default: the latest activity or deal date in the data.",
    ),
    ParamSpec(
        "window_days",
        "Lookback window (days)",
        "int",
        90,
        1,
        730,
        1,
        "Behaviours, deals won, revenue and cost are counted over the window days ending on the as-of date.",
    ),
    ParamSpec(
        "min_trainings",
        "Trainings needed",
        "int",
        1,
        0,
        50,
        1,
        "Courses completed in the window for the training criterion. 0 switches the criterion off.",
    ),
    ParamSpec(
        "min_shares",
        "Content shares needed",
        "int",
        1,
        0,
        50,
        1,
        "Co-branded content shared in the window for the content criterion. 0 switches it off.",
    ),
    ParamSpec(
        "min_deals",
        "Deal registrations needed",
        "int",
        1,
        0,
        50,
        1,
        "Deals registered in the window for the deal criterion. 0 switches it off.",
    ),
    ParamSpec(
        "min_criteria",
        "Criteria a partner must meet",
        "int",
        3,
        0,
        3,
        1,
        "How many of the switched-on criteria make a partner activated. More than are switched on means all of them.",
    ),
    ParamSpec(
        "reward_min_revenue",
        "Reward: revenue at least",
        "money",
        50_000.0,
        0.0,
        1_000_000_000.0,
        5_000.0,
        "An activated partner with at least this revenue in the window is in the reward tier.",
    ),
    ParamSpec(
        "drop_max_actions",
        "Drop: actions at most",
        "int",
        2,
        0,
        1_000,
        1,
        "A partner that is not activated, has no revenue and at most this many actions "
        "(trainings + shares + views + deal registrations) is a drop candidate.",
    ),
    ParamSpec(
        "grace_days",
        "Grace period for new partners (days)",
        "int",
        90,
        0,
        3_650,
        1,
        "Partners who joined fewer than this many days before the as-of date are never dropped.",
    ),
)
PARAM_BY_NAME: dict[str, ParamSpec] = {spec.name: spec for spec in PARAMS}


@dataclass(frozen=True)
class View:
    """One view of the program: the as-of date, the window and every threshold.

    `as_of` is None until it is resolved against the data (SPEC: default is the
    latest activity or deal date); every calculation takes a resolved view.
    """

    as_of: date | None = None
    window_days: int = 90
    min_trainings: int = 1
    min_shares: int = 1
    min_deals: int = 1
    min_criteria: int = 3
    reward_min_revenue: float = 50_000.0
    drop_max_actions: int = 2
    grace_days: int = 90

    def resolved(self, default_as_of: date) -> View:
        """This view with the as-of date filled in when it was left to the data."""
        return self if self.as_of is not None else dataclasses.replace(self, as_of=default_as_of)

    def previous_window(self) -> View:
        """The same view one window earlier (for "change against the previous window")."""
        as_of = self.require_as_of()
        return dataclasses.replace(self, as_of=date.fromordinal(as_of.toordinal() - self.window_days))

    def require_as_of(self) -> date:
        if self.as_of is None:
            raise ValueError("the view's as-of date has not been resolved against the data")
        return self.as_of

    def to_params(self) -> dict[str, str]:
        """The view as query parameters: only the values that differ from the defaults."""
        defaults = View()
        out: dict[str, str] = {}
        for spec in PARAMS:
            value = getattr(self, spec.name)
            if value != getattr(defaults, spec.name):
                out[spec.name] = format_param(spec, value)
        return out


@dataclass(frozen=True)
class ParamProblem:
    """A parameter value that could not be used, and why."""

    name: str
    value: str
    message: str

    def __str__(self) -> str:
        return f"{self.name}={self.value!r}: {self.message}"


class ParamError(ValueError):
    """Raised by `parse_view_strict` with every bad parameter at once."""

    def __init__(self, problems: list[ParamProblem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def format_param(spec: ParamSpec, value: object) -> str:
    if spec.kind == "date":
        assert isinstance(value, date)
        return value.isoformat()
    if spec.kind == "money":
        assert isinstance(value, int | float)
        return f"{value:g}" if float(value).is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def _parse_one(spec: ParamSpec, text: str, date_bounds: tuple[date, date] | None) -> int | float | date:
    text = text.strip()
    if spec.kind == "date":
        try:
            value = date.fromisoformat(text)
        except ValueError:
            raise ValueError("not a date; write it as YYYY-MM-DD") from None
        if len(text) != 10:
            raise ValueError("not a date; write it as YYYY-MM-DD")
        if date_bounds is not None and not (date_bounds[0] <= value <= date_bounds[1]):
            raise ValueError(
                f"outside the data, which runs from {date_bounds[0].isoformat()} to {date_bounds[1].isoformat()}"
            )
        return value
    if spec.kind == "int":
        try:
            number: int | float = int(text)
        except ValueError:
            raise ValueError("not a whole number") from None
    else:
        try:
            number = float(text)
        except ValueError:
            raise ValueError("not a number") from None
        if not math.isfinite(number):
            raise ValueError("not a finite number")
    assert spec.min_value is not None and spec.max_value is not None
    if not spec.min_value <= number <= spec.max_value:
        raise ValueError(f"must be between {spec.min_value:g} and {spec.max_value:g}")
    return number


def parse_view(
    raw: Mapping[str, str | list[str] | None],
    date_bounds: tuple[date, date] | None = None,
) -> tuple[View, list[ParamProblem]]:
    """Parse view parameters leniently: a bad value falls back to its default.

    `raw` maps parameter names to text (a repeated URL parameter counts by its last
    value); names that are not view parameters are ignored. `date_bounds` limits the
    as-of date to the span of the data. Returns the view and one problem per value
    that was refused, so the caller can show a notice.
    """
    values: dict[str, object] = {}
    problems: list[ParamProblem] = []
    for spec in PARAMS:
        if spec.name not in raw or raw[spec.name] is None:
            continue
        given = raw[spec.name]
        text = given[-1] if isinstance(given, list) else given
        assert text is not None
        if text.strip() == "":
            problems.append(ParamProblem(spec.name, text, "is empty"))
            continue
        try:
            values[spec.name] = _parse_one(spec, text, date_bounds)
        except ValueError as exc:
            problems.append(ParamProblem(spec.name, text, str(exc)))
    return View(**values), problems  # type: ignore[arg-type]


def parse_view_strict(
    raw: Mapping[str, str | list[str] | None],
    date_bounds: tuple[date, date] | None = None,
) -> View:
    """Parse view parameters, raising `ParamError` naming every bad value."""
    view, problems = parse_view(raw, date_bounds)
    if problems:
        raise ParamError(problems)
    return view
