"""How numbers read on screen and in the brief (SPEC "Display").

Percentages with one decimal, money with the usual thousands grouping and at most
two decimals, and empty values (an ROI without cost) as an explicit "n/a",
never as 0 or infinity.
"""

from __future__ import annotations

import math
import os
import re

EMPTY = "n/a"


def currency_symbol() -> str:
    """The symbol put before money (KPI_CURRENCY_SYMBOL; default "$")."""
    return os.environ.get("KPI_CURRENCY_SYMBOL", "$")


def money_column_format() -> str:
    """The printf format of a money column in a table: the symbol, grouped, no decimals ($1,234)."""
    return currency_symbol() + "%,.0f"


def _is_empty(value: float | int | None) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def pct(value: float | None) -> str:
    """38.1% (a value already in percent), or n/a."""
    return EMPTY if _is_empty(value) else f"{value:.1f}%"


def pct_points(value: float | None) -> str:
    """A change of a percentage: +2.3 pts / -1.0 pts, or n/a."""
    return EMPTY if _is_empty(value) else f"{value:+.1f} pts"


def money(value: float | None, symbol: str | None = None) -> str:
    """$1,234,567 or $1,234.50: grouped, at most two decimals, n/a when empty."""
    if _is_empty(value):
        return EMPTY
    assert value is not None
    symbol = currency_symbol() if symbol is None else symbol
    rounded = round(float(value), 2)
    sign = "-" if rounded < 0 else ""
    body = f"{abs(rounded):,.0f}" if rounded.is_integer() else f"{abs(rounded):,.2f}"
    return f"{sign}{symbol}{body}"


def roi(value: float | None) -> str:
    """ROI as a percentage of cost (ratio 3.4 reads +340.0%), n/a without cost."""
    return EMPTY if _is_empty(value) else f"{100 * value:+.1f}%"


def count(value: int | None) -> str:
    return EMPTY if value is None else f"{value:,}"


def count_change(value: int | None) -> str:
    """A change of a count: +12 / -3 / 0, or n/a."""
    return EMPTY if value is None else f"{value:+,}"


def money_change(value: float | None, symbol: str | None = None) -> str:
    """A change of money: +$12,400 / -$3,000.50, or n/a."""
    if _is_empty(value):
        return EMPTY
    assert value is not None
    return ("+" if round(float(value), 2) >= 0 else "") + money(value, symbol)


def roi_change(value: float | None) -> str:
    """A change of an ROI ratio in percentage points of cost: 0.12 reads +12.0 pts, or n/a."""
    return EMPTY if _is_empty(value) else pct_points(100 * value)  # type: ignore[operator]


_MARKDOWN_PUNCTUATION = frozenset("\\`*_{}[]()<>#+-.!|~$:&")


_UNLINK = "\u200b"  # a zero-width space: invisible, and no address is recognised across it
_AUTOLINKED = re.compile(r"(?i)(:|@|\bwww(?=\.))")


def plain(text: object) -> str:
    """Text from outside (a scenario or partner name) as literal characters inside markdown:
    every character markdown, LaTeX, colour directives or HTML could read is escaped, a line
    break becomes a space, and an address in it (`https://...`, `www.`, `name@domain`) is
    broken by an invisible space, as the renderer turns bare addresses into links otherwise."""
    flat = _AUTOLINKED.sub(lambda m: m.group(1) + _UNLINK, " ".join(str(text).splitlines()))
    return "".join(f"\\{ch}" if ch in _MARKDOWN_PUNCTUATION else ch for ch in flat)


def partners(count: int) -> str:
    """ "1 partner", "4 partners": a count of partners as a sentence says it."""
    return f"{count:,} partner" if count == 1 else f"{count:,} partners"


def change_tier(count: int) -> str:
    """ "1 partner changes tier", "4 partners change tier"."""
    return f"{partners(count)} {'changes' if count == 1 else 'change'} tier"


def by_unit(unit: str, value: float | None, symbol: str | None = None) -> str:
    """A number of a given unit as it reads: "money", "percent" (already in percent), "ratio"
    (an ROI) or a count of partners (anything else)."""
    if unit == "money":
        return money(value, symbol)
    if unit == "percent":
        return pct(value)
    if unit == "ratio":
        return roi(value)
    return count(None if value is None else int(value))


def change_by_unit(unit: str, value: float | None, symbol: str | None = None) -> str:
    """A change of a number of a given unit (see `by_unit`): +$1,200, +2.5 pts, +3."""
    if unit == "money":
        return money_change(value, symbol)
    if unit == "percent":
        return pct_points(value)
    if unit == "ratio":
        return roi_change(value)
    return count_change(None if value is None else int(value))


THRESHOLD_WORDS: dict[str, str] = {  # a threshold as a short line or badge names it
    "min_trainings": "trainings",
    "min_shares": "content shares",
    "min_deals": "deal registrations",
    "min_criteria": "criteria count",
    "reward_min_revenue": "reward revenue",
    "drop_max_actions": "drop actions",
    "grace_days": "grace period",
}


def thresholds_line(values: dict[str, int | float], symbol: str | None = None) -> str:
    """The thresholds of a view in one short line, as a page's caption carries them so that a
    screenshot or printout says how its tiers were judged: "trainings ≥ 1 · content shares ≥ 1
    · deal registrations ≥ 1 · all 3 criteria · reward from $50,000 · drop at most 2 actions ·
    90 days' grace". A criterion at 0 is "off"; the criteria count follows SPEC (more than are
    switched on means all of them; none switched on activates every partner)."""
    counts = ("min_trainings", "min_shares", "min_deals")
    parts = [
        f"{THRESHOLD_WORDS[name]} ≥ {values[name]:,}" if values[name] else f"{THRESHOLD_WORDS[name]} off"
        for name in counts
    ]
    enabled = sum(1 for name in counts if values[name])
    needed = min(int(values["min_criteria"]), enabled)
    if enabled == 0 or needed == 0:
        parts.append("every partner activated")
    elif needed == enabled:
        parts.append("the criterion" if enabled == 1 else f"all {enabled} criteria")
    else:
        parts.append(f"{needed} of {enabled} criteria")
    parts.append(f"reward from {money(values['reward_min_revenue'], symbol)}")
    parts.append(f"drop at most {count(values['drop_max_actions'])} actions")
    parts.append(f"{count(values['grace_days'])} days' grace")
    return " · ".join(parts)
