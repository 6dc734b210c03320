"""How every chart reads, in the app and in the brief alike: the tier colours, money on an
axis and the month on an axis. Plain values and Vega expressions, no Streamlit, no Altair.
"""

from __future__ import annotations

from kpi.metrics import TIERS

# Reward dark blue, nurture light sand, drop mid vermillion: three clearly different
# lightnesses, so the tiers stay apart in greyscale print and for red-green colour blindness
# (tests/test_ui_charts.py checks the contrast, also under a simulated deuteranopia).
TIER_COLORS: dict[str, str] = {"reward": "#0B4F8A", "nurture": "#D9C58F", "drop": "#E0601A"}
TIER_RANGE: list[str] = [TIER_COLORS[t] for t in TIERS]

MONTH_FORMAT = "%b %Y"
"""A month on an axis or in a table: "Jan 2025", on every chart."""
MONTH_LONG_FORMAT = "%B %Y"
"""A month in a tooltip: "January 2025"."""


def money_label_expr(currency: str = "$") -> str:
    """A Vega label expression writing an axis value as money: "$0", "$250", "$1.5k", "-$2M", "$3B".

    An expression, not a `format`: an axis format of "~s" is applied with the SI prefix of the
    largest tick, so zero and small ticks read "0M" and "0.5M" next to "1M".
    """
    symbol = currency.replace("\\", "\\\\").replace("'", "\\'")
    size = "abs(datum.value)"
    amount = f"({size} < 1000 ? format({size}, ',~r') : replace(format({size}, '.3~s'), 'G', 'B'))"
    return f"(datum.value < 0 ? '-' : '') + '{symbol}' + {amount}"
