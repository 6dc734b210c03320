"""The Tiers page's partner list: every partner of the program in name order, its filters,
its search and its sort.

The list is built once per partner facts (`partner_list`); the view's thresholds are
applied to it with `kpi.metrics.segment`, which keeps the row order, so filters, search
and sorts work on a list that is already in name order and ties keep that order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from kpi.metrics import TIERS

FILTER_COLUMNS: tuple[str, ...] = ("region", "partner_type", "channel_manager")
"""The partner columns the list can be filtered by, besides the tier."""

TIER_RANK: dict[str, int] = {tier: rank for rank, tier in enumerate(reversed(TIERS))}
"""Tiers as numbers for sorting: drop 0, nurture 1, reward 2 (descending puts reward first)."""


_SHORT_FORMS = {"msp": "MSP", "isv": "ISV", "var": "VAR", "oem": "OEM", "si": "SI", "mssp": "MSSP", "csp": "CSP"}


def type_label(value: str) -> str:
    """A partner type as a person reads it: a lower-case code ("system_integrator") as words
    ("System integrator", short forms such as MSP in capitals); a value written with capitals
    is the data's own way of writing it and is kept."""
    if not value or value != value.lower():
        return value
    words = [_SHORT_FORMS.get(word, word) for word in value.replace("_", " ").split()]
    if not words:
        return value
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


@dataclass(frozen=True)
class PartnerList:
    """The facts in partner-name order, and the values each filter of the list offers."""

    facts: pl.DataFrame  # by partner_name, then partner_id
    options: dict[str, tuple[str, ...]]  # FILTER_COLUMNS -> their distinct non-empty values, sorted


def partner_list(facts: pl.DataFrame) -> PartnerList:
    """The population's `metrics.partner_facts` by partner name, then id, and for each of
    FILTER_COLUMNS the values it holds (a partner without a value offers none)."""
    ordered = facts.sort("partner_name", "partner_id")
    options = {column: tuple(sorted(ordered[column].drop_nulls().unique().to_list())) for column in FILTER_COLUMNS}
    return PartnerList(ordered, options)


def filter_partners(segmented: pl.DataFrame, chosen: Mapping[str, Sequence[str]], search: str = "") -> pl.DataFrame:
    """The partners whose value in each column of `chosen` (tier or FILTER_COLUMNS) is one of
    the chosen values (a column with nothing chosen does not filter) and whose name contains
    `search` in any case (spaces around it ignored; blank: every name). Order is kept."""
    shown = segmented
    for column, values in chosen.items():
        if values:
            shown = shown.filter(pl.col(column).is_in(list(values)))
    needle = search.strip().lower()
    if needle:
        shown = shown.filter(pl.col("partner_name").str.to_lowercase().str.contains(needle, literal=True))
    return shown


def sort_partners(partners: pl.DataFrame, column: str, descending: bool) -> pl.DataFrame:
    """The partners sorted by one column (tiers in TIER_RANK order); empty values, like an ROI
    without cost, last either way; ties keep the order they came in (partner name)."""
    key = pl.col("tier").replace_strict(TIER_RANK) if column == "tier" else pl.col(column)
    return partners.sort(key, descending=descending, nulls_last=True, maintain_order=True)


def tier_counts(partners: pl.DataFrame) -> dict[str, int]:
    """Partners per tier, every tier listed (reward, nurture, drop)."""
    counts = dict(partners["tier"].value_counts().iter_rows()) if partners.height else {}
    return {tier: int(counts.get(tier, 0)) for tier in TIERS}
