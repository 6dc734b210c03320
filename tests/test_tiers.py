"""The Tiers page's partner list (kpi/tiers.py): name order, filter options, filters, search, sort."""

from __future__ import annotations

import polars as pl

from kpi import tiers


def listed(**columns: list) -> pl.DataFrame:
    return pl.DataFrame(columns)


FACTS = listed(
    partner_id=["P3", "P1", "P2", "P4"],
    partner_name=["Beta", "Alpha", "Alpha", "Gamma"],
    region=["EMEA", None, "APAC", "EMEA"],
    partner_type=["msp", "reseller", "reseller", None],
    channel_manager=[None, None, "Ann", None],
)


def test_the_list_is_in_name_order_then_id_and_offers_the_values_on_record():
    partners = tiers.partner_list(FACTS)
    assert partners.facts["partner_id"].to_list() == ["P1", "P2", "P3", "P4"]
    assert partners.options == {
        "region": ("APAC", "EMEA"),
        "partner_type": ("msp", "reseller"),
        "channel_manager": ("Ann",),  # no manager on record is not an option
    }


SEGMENTED = listed(
    partner_id=["P1", "P2", "P3", "P4", "P5"],
    partner_name=["Alpha", "Alpha Two", "Beta", "Gamma", "Delta"],
    region=["EMEA", "APAC", "EMEA", "EMEA", None],
    tier=["nurture", "reward", "drop", "nurture", "reward"],
    roi=[0.5, None, -1.0, 0.5, 2.0],
)


def ids(frame: pl.DataFrame) -> list[str]:
    return frame["partner_id"].to_list()


def test_filters_combine_and_an_empty_choice_does_not_filter():
    assert ids(tiers.filter_partners(SEGMENTED, {"tier": [], "region": []})) == ["P1", "P2", "P3", "P4", "P5"]
    assert ids(tiers.filter_partners(SEGMENTED, {"tier": ["nurture", "reward"], "region": ["EMEA"]})) == ["P1", "P4"]


def test_search_is_part_of_the_name_in_any_case():
    assert ids(tiers.filter_partners(SEGMENTED, {}, "  ALPHA ")) == ["P1", "P2"]
    assert ids(tiers.filter_partners(SEGMENTED, {"tier": ["reward"]}, "alpha")) == ["P2"]
    assert ids(tiers.filter_partners(SEGMENTED, {}, "   ")) == ids(SEGMENTED)


def test_sort_by_tier_puts_reward_first_and_ties_keep_the_order():
    assert ids(tiers.sort_partners(SEGMENTED, "tier", descending=True)) == ["P2", "P5", "P1", "P4", "P3"]
    assert ids(tiers.sort_partners(SEGMENTED, "tier", descending=False)) == ["P3", "P1", "P4", "P2", "P5"]


def test_sort_puts_an_empty_value_last_either_way():
    assert ids(tiers.sort_partners(SEGMENTED, "roi", descending=True)) == ["P5", "P1", "P4", "P3", "P2"]
    assert ids(tiers.sort_partners(SEGMENTED, "roi", descending=False)) == ["P3", "P1", "P4", "P5", "P2"]


def test_tier_counts_list_every_tier():
    assert tiers.tier_counts(SEGMENTED) == {"reward": 2, "nurture": 2, "drop": 1}
    assert tiers.tier_counts(SEGMENTED.head(0)) == {"reward": 0, "nurture": 0, "drop": 0}
