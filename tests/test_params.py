"""The one parameters object: what a link, a widget or a CLI flag may say."""

from __future__ import annotations

import dataclasses

import pytest

from kpi.params import PARAMS, ParamError, View, parse_view, parse_view_strict
from tests.conftest import d


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
    defaults = View()
    for spec in PARAMS:
        assert getattr(defaults, spec.name) == spec.default, spec.name


def test_default_window_is_90_days_and_min_criteria_means_all_three():
    assert View().window_days == 90
    assert View().min_criteria == 3


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
        }
    )
    assert view == View(d("2026-03-31"), 30, 2, 0, 4, 1, 12500.5, 3, 60)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("window_days", "abc", "not a whole number"),
        ("window_days", "0", "between 1 and 730"),
        ("window_days", "30.5", "not a whole number"),
        ("min_trainings", "-1", "between 0 and 50"),
        ("min_criteria", "4", "between 0 and 3"),
        ("reward_min_revenue", "inf", "not a finite number"),
        ("reward_min_revenue", "$5,000", "not a number"),
        ("as_of", "2026-02-30", "not a date"),
        ("as_of", "31/03/2026", "not a date"),
        ("grace_days", "", "is empty"),
    ],
)
def test_a_bad_value_falls_back_to_its_default_and_is_named(name, value, message):
    view, problems = parse_view({name: value, "min_deals": "2"})
    assert getattr(view, name) == getattr(View(), name)
    assert view.min_deals == 2  # good values beside a bad one are kept
    assert [p.name for p in problems] == [name]
    assert message in problems[0].message


def test_strict_parsing_names_every_bad_value_at_once():
    with pytest.raises(ParamError) as caught:
        parse_view_strict({"window_days": "x", "min_shares": "99"})
    assert [p.name for p in caught.value.problems] == ["window_days", "min_shares"]


def test_as_of_outside_the_data_is_refused_when_bounds_are_given():
    bounds = (d("2024-01-01"), d("2026-10-31"))
    view, problems = parse_view({"as_of": "2027-01-01"}, bounds)
    assert view.as_of is None
    assert "2024-01-01" in problems[0].message and "2026-10-31" in problems[0].message
    assert parse_view({"as_of": "2026-10-31"}, bounds)[0].as_of == d("2026-10-31")


def test_a_repeated_url_parameter_counts_by_its_last_value():
    assert parse_view({"window_days": ["30", "60"]})[0].window_days == 60


def test_unknown_parameters_are_ignored():
    view, problems = parse_view({"utm_source": "mail", "window_days": "45"})
    assert view.window_days == 45 and problems == []


def test_to_params_round_trips_and_leaves_defaults_out_of_the_link():
    view = View(as_of=d("2026-03-31"), window_days=30, reward_min_revenue=7500.0)
    params = view.to_params()
    assert params == {"as_of": "2026-03-31", "window_days": "30", "reward_min_revenue": "7500"}
    assert parse_view_strict(params) == view


def test_resolving_the_as_of_date_keeps_an_explicit_one():
    assert View().resolved(d("2026-10-31")).as_of == d("2026-10-31")
    assert View(as_of=d("2026-01-31")).resolved(d("2026-10-31")).as_of == d("2026-01-31")


def test_an_unresolved_view_cannot_be_computed():
    with pytest.raises(ValueError, match="not been resolved"):
        View().require_as_of()
