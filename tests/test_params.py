"""The one parameters object: what a link, a widget or a CLI flag may say."""

from __future__ import annotations

import dataclasses

import pytest

from kpi.params import (
    PAGE_PARAMS,
    PARAMS,
    ParamError,
    View,
    parse_params,
    parse_view,
    parse_view_strict,
    unknown_names,
)
from tests.conftest import d

LATEST = d("2026-10-31")  # the data's default as-of date in these tests


def test_every_spec_parameter_is_declared_once_with_its_snake_case_name():
    assert [p.name for p in PARAMS] == [
        "as_of",
        "window_days",
        "min_trainings",
        "min_shares",
        "min_deals",
        "min_criteria",
        "reward_min_revenue",
        "drop_max_actions",
        "grace_days",
    ]
    assert {f.name for f in dataclasses.fields(View)} == {p.name for p in PARAMS}


def test_declared_defaults_are_the_view_defaults():
    defaults = View(as_of=LATEST)
    for spec in PARAMS[1:]:
        assert getattr(defaults, spec.name) == spec.default, spec.name


def test_default_window_is_90_days_and_min_criteria_means_all_three():
    assert View(as_of=LATEST).window_days == 90
    assert View(as_of=LATEST).min_criteria == 3


def test_parse_reads_every_parameter():
    view = parse_view_strict(
        {
            "as_of": "2026-03-31",
            "window_days": "30",
            "min_trainings": "2",
            "min_shares": "0",
            "min_deals": "4",
            "min_criteria": "1",
            "reward_min_revenue": "12500.5",
            "drop_max_actions": "3",
            "grace_days": "60",
        },
        LATEST,
    )
    assert view == View(d("2026-03-31"), 30, 2, 0, 4, 1, 12500.5, 3, 60)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("window_days", "abc", "not a whole number"),
        ("window_days", "0", "between 1 and 730"),
        ("window_days", "30.5", "not a whole number"),
        ("min_trainings", "-1", "between 0 and 20"),
        ("min_shares", "21", "between 0 and 20"),
        ("min_criteria", "4", "between 0 and 3"),
        ("reward_min_revenue", "inf", "not a finite number"),
        ("reward_min_revenue", "$5,000", "not a number"),
        ("as_of", "2026-02-30", "not a date"),
        ("as_of", "31/03/2026", "not a date"),
        ("grace_days", "", "is empty"),
    ],
)
def test_a_bad_value_falls_back_to_its_default_and_is_named(name, value, message):
    view, problems = parse_view({name: value, "min_deals": "2"}, LATEST)
    assert getattr(view, name) == getattr(View(as_of=LATEST), name)
    assert view.min_deals == 2  # good values beside a bad one are kept
    assert [p.name for p in problems] == [name]
    assert message in problems[0].message


def test_strict_parsing_names_every_bad_value_at_once():
    with pytest.raises(ParamError) as caught:
        parse_view_strict({"window_days": "x", "min_shares": "99"}, LATEST)
    assert [p.name for p in caught.value.problems] == ["window_days", "min_shares"]


def test_as_of_outside_the_data_is_refused_when_bounds_are_given():
    bounds = (d("2024-01-01"), d("2026-10-31"))
    view, problems = parse_view({"as_of": "2027-01-01"}, LATEST, bounds)
    assert view.as_of == LATEST
    assert "2024-01-01" in problems[0].message and "2026-10-31" in problems[0].message
    assert parse_view({"as_of": "2026-10-30"}, LATEST, bounds)[0].as_of == d("2026-10-30")


def test_a_url_parameter_repeated_with_different_values_is_refused():
    view, problems = parse_view({"window_days": ["30", "60"]}, LATEST)
    assert view.window_days == 90
    assert (problems[0].name, problems[0].message, problems[0].fallback) == ("window_days", "is given 2 times", "90")
    assert parse_view({"window_days": ["30", "30"]}, LATEST)[0].window_days == 30


def test_unknown_parameters_are_ignored():
    view, problems = parse_view({"utm_source": "mail", "window_days": "45"}, LATEST)
    assert view.window_days == 45 and problems == []


def test_to_params_round_trips_and_leaves_defaults_out_of_the_link():
    view = View(as_of=d("2026-03-31"), window_days=30, reward_min_revenue=7500.0)
    params = view.to_params()
    assert params == {"as_of": "2026-03-31", "window_days": "30", "reward_min_revenue": "7500"}
    assert parse_view_strict(params, LATEST) == view


def test_a_view_always_has_its_as_of_date():
    assert parse_view({}, LATEST)[0].as_of == LATEST
    assert parse_view({"as_of": "2026-01-31"}, LATEST)[0].as_of == d("2026-01-31")
    assert parse_view({"as_of": "someday"}, LATEST)[0].as_of == LATEST
    with pytest.raises(ParamError, match="no dates to take the as-of date from"):
        parse_view({"window_days": "30"}, None)


def test_a_whole_number_may_be_written_with_a_zero_fraction_but_not_a_fraction():
    assert parse_view_strict({"min_trainings": "2.0", "window_days": "1e2"}, LATEST).window_days == 100
    with pytest.raises(ParamError, match="not a whole number"):
        parse_view_strict({"min_trainings": "2.5"}, LATEST)


def test_range_messages_group_thousands():
    _, problems = parse_view({"drop_max_actions": "5000"}, LATEST)
    assert problems[0].message == "must be between 0 and 1,000"


def test_page_parameters_are_declared_in_the_same_table_style():
    names = [p.name for p in PAGE_PARAMS]
    assert names == [
        "tiers_tab",
        "tiers_tier",
        "tiers_region",
        "tiers_type",
        "tiers_manager",
        "tiers_search",
        "tiers_sort",
        "tiers_order",
        "tiers_page",
        "whatif_tab",
        "whatif_edit",
        "whatif_evidence_open",
        "whatif_evidence",
        "roi_group",
        "engagement_rank",
        "engagement_min_logins",
        "engagement_staff_search",
        "curves",
        "scenario",
        "compare",
        "since",
        "scorecard_partner",
        "engagement_tab",
        "roi_tab",
        "recurring_tab",
        "scorecard_tab",
    ]
    assert not set(names) & {p.name for p in PARAMS}


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("roi_group", "Region", "region"),  # a control's label, as a bound select box writes it
        ("engagement_rank", "Win-rate lift", "win_rate_lift"),
        ("engagement_min_logins", "5.0", 5),
        ("engagement_min_logins", "1", 1),
        ("engagement_min_logins", "10000", 10_000),
        ("scorecard_partner", "P00042", "P00042"),
        ("engagement_staff_search", "", ""),  # an empty search is no search, not a problem
        ("curves", "true", True),  # what a bound toggle writes
        ("curves", "False", False),
        ("tiers_sort", "ROI", "roi"),  # the label the sort control shows
        ("tiers_order", "Ascending", "ascending"),
        ("tiers_page", "3", 3),
        ("tiers_search", "north wind", "north wind"),
        ("tiers_tier", ["reward", "drop"], ("reward", "drop")),  # a filter: once a value
        ("tiers_tier", ["drop", "drop"], ("drop",)),
        ("tiers_tier", "", ()),  # nothing chosen: every tier
    ],
)
def test_page_parameters_parse_like_the_view(name, text, value):
    values, problems = parse_params({name: text}, PAGE_PARAMS)
    assert problems == []
    assert values[name] == value


@pytest.mark.parametrize(
    ("name", "text", "message", "fallback"),
    [
        ("roi_group", "banana", "not one of Tier, Region, Partner type, Channel manager", "Tier"),
        ("engagement_rank", "nonsense", "not one of Adopters", "Adopters (partners who shared or completed it)"),
        ("engagement_min_logins", "0", "must be between 1 and 10,000", "10"),
        ("engagement_min_logins", "banana", "not a whole number", "10"),
        ("engagement_min_logins", "10001", "must be between 1 and 10,000", "10"),
        ("engagement_min_logins", "12.5", "not a whole number", "10"),
        ("engagement_min_logins", "nan", "not a whole number", "10"),
        ("engagement_min_logins", "", "is empty", "10"),
        ("roi_group", "region", "not one of Tier, Region", "Tier"),  # the value, not what the control shows
        ("tiers_tab", "Chart", "not one of Partner list, Engagement chart", "Partner list"),
        ("curves", "yes", "not true or false", "off"),
        ("tiers_sort", "revenue", "not one of Revenue, ROI, MRR", "Revenue"),
        ("tiers_order", "down", "not one of Descending, Ascending", "Descending"),
        ("tiers_page", "0", "must be between 1 and 100,000", "1"),
        ("tiers_page", "two", "not a whole number", "1"),
        ("tiers_search", ["a", "b"], "is given 2 times", "the default"),
    ],
)
def test_a_bad_page_parameter_is_named_with_what_is_used_instead(name, text, message, fallback):
    values, problems = parse_params({name: text}, PAGE_PARAMS)
    assert name not in values
    assert [p.name for p in problems] == [name]
    assert message in problems[0].message
    assert problems[0].fallback == fallback


def test_a_filter_keeps_its_good_values_and_names_the_others():
    values, problems = parse_params({"tiers_tier": ["reward", "gold", "drop", "silver"]}, PAGE_PARAMS)
    assert values["tiers_tier"] == ("reward", "drop")
    assert [(p.name, p.value, p.message) for p in problems] == [
        ("tiers_tier", "gold, silver", "not one of reward, nurture, drop")
    ]


def test_a_value_of_the_data_is_checked_against_the_data():
    known = {"tiers_region": {"EMEA": "EMEA", "APAC": "APAC"}, "tiers_type": {"System integrator": "system_integrator"}}
    values, problems = parse_params(
        {"tiers_region": ["EMEA", "Mars"], "tiers_type": "System integrator"}, PAGE_PARAMS, known=known
    )
    assert values == {"tiers_region": ("EMEA",), "tiers_type": ("system_integrator",)}  # a label stands for its value
    assert [(p.value, p.message) for p in problems] == [("Mars", "not in the data, which has APAC, EMEA")]


def test_a_name_that_is_no_parameter_is_named_with_the_one_it_most_likely_meant():
    problems = unknown_names({"min_trainng": "2", "window_days": "30", "embed": "true", "utm_source": ["a", "b"]})
    assert [(p.name, p.value, p.message, p.fallback) for p in problems] == [
        ("min_trainng", "2", "not a parameter of this app (did you mean min_trainings?)", ""),
        ("utm_source", "a, b", "not a parameter of this app", ""),
    ]
