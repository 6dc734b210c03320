"""Saved scenarios and the policy (issue "What-if", section 1).

A scenario is a named set of the shared thresholds (`kpi.params.THRESHOLDS`: trainings,
shares and deals needed, criteria count, reward revenue, drop actions, grace days); the
as-of date and the window are not part of it. Exactly one scenario is the policy, what the
program uses today. Until a scenario is saved the policy is the one scenario `policy`,
holding the defaults of kpi.params (docs/metrics.md), so `scenario=policy` always opens.

Scenarios are stored with the data, in the database file's `scenarios` table, and
survive restarts, new loads and restores (kpi.history carries them over). Every change
rewrites the whole table through `kpi.history.replace_scenarios`: a new file swapped in
atomically, so a reader of the live file is never disturbed.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from kpi import history, store
from kpi.params import SPEC_BY_NAME, THRESHOLDS, View, format_param, parse_value

POLICY_NAME = "policy"
NAME_MAX = 60

Thresholds = dict[str, int | float]


class ScenarioError(ValueError):
    """A scenario name or value that cannot be used, or a change that is refused; the message
    says which and why, in a user's words."""


@dataclass(frozen=True)
class Scenario:
    """One saved scenario: its name, its thresholds (every name of `THRESHOLDS`), and
    whether it is the policy."""

    name: str
    thresholds: Thresholds
    is_policy: bool


def default_thresholds() -> Thresholds:
    """The defaults of kpi.params: the policy on first use."""
    return {name: SPEC_BY_NAME[name].default for name in THRESHOLDS}  # type: ignore[misc]


def thresholds(values: View | Mapping[str, object], base: Mapping[str, object] | None = None) -> Thresholds:
    """The thresholds of a view, or checked values by name (text or numbers).

    Names `values` leaves out take `base` (default: the kpi.params defaults). Each value
    is checked by the one parser of kpi.params, against the control's range; a name that
    is not a threshold, or a bad value, raises ScenarioError naming it.
    """
    if isinstance(values, View):
        values = {name: getattr(values, name) for name in THRESHOLDS}
    unknown = [name for name in values if name not in THRESHOLDS]
    if unknown:
        raise ScenarioError(f"{', '.join(unknown)} is not a threshold; a scenario holds {', '.join(THRESHOLDS)}")
    checked = dict(default_thresholds() if base is None else base)
    problems = []
    for name, value in values.items():
        spec = SPEC_BY_NAME[name]
        text = value if isinstance(value, str) else format_param(spec, value)
        try:
            parsed = parse_value(spec, text)
        except ValueError as exc:
            problems.append(f"{name} {text!r}: {exc}")
            continue
        checked[name] = float(parsed) if spec.kind == "money" else int(parsed)  # type: ignore[arg-type]
    if problems:
        raise ScenarioError("; ".join(problems))
    return {name: checked[name] for name in THRESHOLDS}  # type: ignore[misc]


def check_name(name: object) -> str:
    """The name as stored: plain text, trimmed, 1 to NAME_MAX characters, on one line."""
    if not isinstance(name, str):
        raise ScenarioError(f"a scenario name is text, not {type(name).__name__}")
    cleaned = unicodedata.normalize("NFC", name).strip()
    if not cleaned:
        raise ScenarioError("a scenario needs a name: the name is empty")
    if len(cleaned) > NAME_MAX:
        raise ScenarioError(
            f"the scenario name {cleaned[:20]!r}... is {len(cleaned)} characters long; at most {NAME_MAX}"
        )
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in cleaned):
        raise ScenarioError(f"the scenario name {cleaned!r} contains control characters or line breaks")
    return cleaned


def apply(view: View, scenario: Scenario) -> View:
    """The view with the scenario's thresholds (its as-of date and window kept)."""
    return view.replace(**scenario.thresholds)


# --- reading ------------------------------------------------------------------------------


def from_rows(rows: pl.DataFrame) -> list[Scenario]:
    """Scenarios from stored rows (`store.SCENARIO_SCHEMA`), by name ignoring case. No rows
    (first use, or a file written before scenarios were stored): the default policy."""
    if rows.height == 0:
        return [Scenario(POLICY_NAME, default_thresholds(), True)]
    found = [
        Scenario(row["name"], {name: row[name] for name in THRESHOLDS}, bool(row["is_policy"]))
        for row in rows.iter_rows(named=True)
    ]
    return sorted(found, key=lambda s: (s.name.casefold(), s.name))


def list_scenarios(db_path: Path) -> list[Scenario]:
    """The saved scenarios of the database at `db_path`, by name; exactly one is the policy."""
    db_path = Path(db_path)
    if not db_path.is_file():
        raise ScenarioError(f"no database at {db_path}")
    return from_rows(store.scenario_rows(db_path))


def connected(con: duckdb.DuckDBPyConnection) -> list[Scenario]:
    """`list_scenarios` of the dataset a `kpi.store.connect` connection opened."""
    return from_rows(store.connected_scenario_rows(con))


def find(scenarios: Sequence[Scenario], name: str) -> Scenario:
    """The scenario of this name (ignoring case). `policy`, when no scenario has that name,
    is the policy: so `scenario=policy` always opens what the program uses today. An
    unknown name raises ScenarioError listing the names there are."""
    key = str(name).strip().casefold()
    for scenario in scenarios:
        if scenario.name.casefold() == key:
            return scenario
    if key == POLICY_NAME:
        return next(s for s in scenarios if s.is_policy)
    known = ", ".join(s.name for s in scenarios)
    raise ScenarioError(f"no scenario named {str(name).strip()!r}; the scenarios are: {known}")


def get(db_path: Path, name: str) -> Scenario:
    """The scenario of this name in the database at `db_path` (see `find`)."""
    return find(list_scenarios(db_path), name)


def policy(db_path: Path) -> Scenario:
    """The policy of the database at `db_path`."""
    return next(s for s in list_scenarios(db_path) if s.is_policy)


def as_json(scenarios: Sequence[Scenario]) -> list[dict[str, object]]:
    """What `python -m kpi scenarios` prints: name, policy marker, thresholds, by name."""
    return [{"name": s.name, "policy": s.is_policy, "thresholds": dict(s.thresholds)} for s in scenarios]


# --- changing -----------------------------------------------------------------------------


def _rows(scenarios: Sequence[Scenario]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"name": s.name, "is_policy": s.is_policy, **s.thresholds} for s in scenarios],
        schema=store.SCENARIO_SCHEMA,
        orient="row",
    )


def _change(db_path: Path, edit: Callable[[list[Scenario]], list[Scenario]]) -> list[Scenario]:
    """Apply `edit` (scenarios -> scenarios, may raise ScenarioError) to the stored ones,
    atomically and under the database's lock; return the scenarios as stored."""

    def rewrite(rows: pl.DataFrame) -> pl.DataFrame:
        changed = edit(from_rows(rows))
        assert sum(s.is_policy for s in changed) == 1, "exactly one scenario is the policy"
        return _rows(changed)

    db_path = Path(db_path)
    if not db_path.is_file():
        raise ScenarioError(f"no database at {db_path}")
    return from_rows(history.replace_scenarios(db_path, rewrite))


def _free(scenarios: Sequence[Scenario], name: str, keeping: Scenario | None = None) -> None:
    for scenario in scenarios:
        if scenario is not keeping and scenario.name.casefold() == name.casefold():
            raise ScenarioError(f"the name {name!r} is already taken by the scenario {scenario.name!r}")


def save(db_path: Path, name: str, view_or_thresholds: View | Mapping[str, object]) -> Scenario:
    """Save a new scenario: the thresholds of a view, or values by name (names left out
    take the kpi.params defaults). An empty, too long or taken name raises ScenarioError."""
    name = check_name(name)
    values = thresholds(view_or_thresholds)

    def edit(scenarios: list[Scenario]) -> list[Scenario]:
        _free(scenarios, name)
        return [*scenarios, Scenario(name, values, False)]

    return find(_change(db_path, edit), name)


def rename(db_path: Path, old: str, new: str) -> Scenario:
    """Give a scenario (the policy too) a new name; the new name must be free."""
    new = check_name(new)

    def edit(scenarios: list[Scenario]) -> list[Scenario]:
        renamed = _named(scenarios, old)
        _free(scenarios, new, keeping=renamed)
        return [Scenario(new, s.thresholds, s.is_policy) if s is renamed else s for s in scenarios]

    return find(_change(db_path, edit), new)


def delete(db_path: Path, name: str) -> None:
    """Delete a scenario. Deleting the policy is refused: make another the policy first."""

    def edit(scenarios: list[Scenario]) -> list[Scenario]:
        deleted = _named(scenarios, name)
        if deleted.is_policy:
            raise ScenarioError(
                f"{deleted.name!r} is the policy and cannot be deleted; make another scenario the policy first"
            )
        return [s for s in scenarios if s is not deleted]

    _change(db_path, edit)


def set_policy(db_path: Path, name: str) -> Scenario:
    """Make this scenario the policy (the one before it stays, as a plain scenario)."""

    def edit(scenarios: list[Scenario]) -> list[Scenario]:
        chosen = _named(scenarios, name)
        return [Scenario(s.name, s.thresholds, s is chosen) for s in scenarios]

    return next(s for s in _change(db_path, edit) if s.is_policy)


def _named(scenarios: Sequence[Scenario], name: str) -> Scenario:
    """The scenario of exactly this name (ignoring case): changes never go by the policy alias."""
    key = str(name).strip().casefold()
    for scenario in scenarios:
        if scenario.name.casefold() == key:
            return scenario
    known = ", ".join(s.name for s in scenarios)
    raise ScenarioError(f"no scenario named {str(name).strip()!r}; the scenarios are: {known}")
