"""What a user reads: SPEC "Display"."""

from __future__ import annotations

import math

import pytest

from ui import format as fmt


@pytest.mark.parametrize(("value", "text"), [(38.0952, "38.1%"), (0.0, "0.0%"), (100.0, "100.0%"), (None, "n/a")])
def test_percentages_have_one_decimal(value, text):
    assert fmt.pct(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1234567.0, "$1,234,567"),
        (1234.5, "$1,234.50"),
        (1234.567, "$1,234.57"),
        (-2500.0, "-$2,500"),
        (0.0, "$0"),
        (None, "n/a"),
    ],
)
def test_money_is_grouped_with_at_most_two_decimals(value, text):
    assert fmt.money(value, symbol="$") == text


def test_money_uses_the_configured_currency_symbol(monkeypatch):
    monkeypatch.setenv("KPI_CURRENCY_SYMBOL", "€")
    assert fmt.money(1500.0) == "€1,500"


@pytest.mark.parametrize(("value", "text"), [(3.4, "+340.0%"), (-0.25, "-25.0%"), (None, "n/a"), (math.inf, "n/a")])
def test_roi_reads_as_a_percentage_of_cost_and_never_as_infinity(value, text):
    assert fmt.roi(value) == text


def test_change_in_points_is_signed():
    assert fmt.pct_points(2.345) == "+2.3 pts"
    assert fmt.pct_points(-1.0) == "-1.0 pts"
