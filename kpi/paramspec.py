"""How a link parameter is declared (`ParamSpec`) and how its text is parsed (`parse_params`):
the one parser of links, sidebar controls and command-line flags. The parameters themselves
are declared in `kpi.params`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

ParamKind = Literal["date", "int", "money", "choice", "text", "bool"]


@dataclass(frozen=True)
class ParamSpec:
    """How one link parameter is named, bounded and explained.

    `choices` (for kind "choice") pairs each value with the label a control shows; a link
    carries the label, as a bound select box writes it. A `multiple` parameter (a filter a
    multiselect draws) may be repeated in a link, once a value.
    """

    name: str
    label: str
    kind: ParamKind
    default: int | float | str | tuple[str, ...] | None
    min_value: int | float | None
    max_value: int | float | None
    step: int | float
    help: str
    choices: tuple[tuple[str, str], ...] = field(default=())
    multiple: bool = False

    def label_of(self, value: object) -> str:
        """What a control shows for a choice value (the value itself for other kinds)."""
        return dict(self.choices).get(str(value), str(value))


@dataclass(frozen=True)
class ParamProblem:
    """A parameter value that could not be used, why, and what is used instead ("": nothing,
    the value is ignored)."""

    name: str
    value: str
    message: str
    fallback: str = "the default"

    def __str__(self) -> str:
        return f"{self.name}={self.value!r}: {self.message}"


class ParamError(ValueError):
    """Raised by `parse_view_strict` with every bad parameter at once."""

    def __init__(self, problems: list[ParamProblem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def format_param(spec: ParamSpec, value: object) -> str:
    """A value as a link writes it."""
    if spec.kind == "date":
        assert isinstance(value, date)
        return value.isoformat()
    if spec.kind == "money":
        assert isinstance(value, int | float)
        return f"{value:g}" if float(value).is_integer() and abs(value) < 1e15 else repr(value)
    if spec.kind == "bool":
        return "true" if value else "false"
    if spec.multiple and isinstance(value, list | tuple):
        return ", ".join(spec.label_of(v) for v in value)
    return str(value)


def _bound(value: int | float) -> str:
    return f"{value:,}" if float(value).is_integer() else f"{value:g}"


def _whole_number(text: str) -> int:
    """An integer, also when written with a zero fraction ("5.0"), as a number control writes it."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        raise ValueError("not a whole number") from None
    if not math.isfinite(number) or not number.is_integer():
        raise ValueError("not a whole number")
    return int(number)


def parse_value(spec: ParamSpec, text: str, date_bounds: tuple[date, date] | None = None) -> object:
    """One parameter's value from its text, or ValueError saying why it cannot be used."""
    if spec.kind == "text":
        return text
    text = text.strip()
    if text == "":
        raise ValueError("is empty")
    if spec.kind == "bool":
        if text.lower() in ("true", "false"):  # what a bound toggle writes
            return text.lower() == "true"
        raise ValueError("not true or false")
    if spec.kind == "choice":
        for value, label in spec.choices:
            if text == label:  # a link holds the label: what a bound select box writes
                return value
        raise ValueError("not one of " + ", ".join(label for _, label in spec.choices))
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
        number: int | float = _whole_number(text)
    else:
        try:
            number = float(text)
        except ValueError:
            raise ValueError("not a number") from None
        if not math.isfinite(number):
            raise ValueError("not a finite number")
    assert spec.min_value is not None and spec.max_value is not None
    if not spec.min_value <= number <= spec.max_value:
        raise ValueError(f"must be between {_bound(spec.min_value)} and {_bound(spec.max_value)}")
    return number


RawParams = Mapping[str, "str | Sequence[str] | None"]
Known = Mapping[str, Mapping[str, str]]
"""For a parameter whose values come from the data: the labels a link may hold -> the value each stands for."""


def _fallback_text(spec: ParamSpec, fallbacks: Mapping[str, object] | None) -> str:
    """What a notice says is used instead of a refused value."""
    fallback = (fallbacks or {}).get(spec.name, spec.default)
    return "the default" if fallback in (None, "", ()) else spec.label_of(format_param(spec, fallback))


def _known_value(spec: ParamSpec, value: object, known: Known | None) -> object:
    """A data value's label as the value it stands for, or ValueError when the data has no such value."""
    labels = (known or {}).get(spec.name)
    if labels is None or value == "":
        return value
    if value in labels:
        return labels[str(value)]
    listed = sorted(labels)
    shown = ", ".join(listed[:6]) + (f" and {len(listed) - 6} more" if len(listed) > 6 else "")
    raise ValueError(f"not in the data, which has {shown}" if listed else "not in the data, which has none")


def _parse_many(
    spec: ParamSpec, texts: Sequence[str], known: Known | None, shown: str
) -> tuple[tuple[object, ...], ParamProblem | None]:
    """A multiple parameter's values (repeats once), and one problem naming every value refused."""
    good: list[object] = []
    bad: list[str] = []
    reasons: list[str] = []
    for text in texts:
        if text == "":  # "?tiers_region=": nothing chosen
            continue
        try:
            value = _known_value(spec, parse_value(spec, text), known)
        except ValueError as exc:
            bad.append(text)
            reasons += [] if str(exc) in reasons else [str(exc)]
            continue
        good += [] if value in good else [value]
    problem = ParamProblem(spec.name, ", ".join(bad), "; ".join(reasons), shown) if bad else None
    return tuple(good), problem


def parse_params(
    raw: RawParams,
    specs: Sequence[ParamSpec],
    date_bounds: tuple[date, date] | None = None,
    fallbacks: Mapping[str, object] | None = None,
    known: Known | None = None,
) -> tuple[dict[str, object], list[ParamProblem]]:
    """Parse the given parameters leniently: a refused value is left out and named.

    `raw` maps names to text (a URL parameter repeated with different values is refused,
    except a `multiple` one, which holds a value each time); names that are not among `specs`
    are ignored (`unknown_names` names them), and so are parameters not given. `known` lists
    the values a data-dependent parameter may take. Returns the values that could be used and
    one problem per parameter refused, saying what is used instead (the spec's default, or
    `fallbacks[name]` where the caller knows better).
    """
    values: dict[str, object] = {}
    problems: list[ParamProblem] = []
    for spec in specs:
        given = raw.get(spec.name)
        if given is None:
            continue
        if spec.multiple:
            texts = [given] if isinstance(given, str) else list(given)
            chosen, problem = _parse_many(spec, texts, known, _fallback_text(spec, fallbacks))
            values[spec.name] = chosen
            problems += [problem] if problem else []
            continue
        if not isinstance(given, str):
            if not given:
                continue
            if len(set(given)) > 1:  # a control cannot show two values: neither is used
                shown = _fallback_text(spec, fallbacks)
                problems.append(ParamProblem(spec.name, ", ".join(given), f"is given {len(given)} times", shown))
                continue
            given = given[-1]
        try:
            values[spec.name] = _known_value(spec, parse_value(spec, given, date_bounds), known)
        except ValueError as exc:
            shown = _fallback_text(spec, fallbacks)
            problems.append(ParamProblem(spec.name, given, str(exc), shown))
    return values, problems
