"""How numbers read on screen: the formats live in `kpi.display`, shared with the brief the
engine writes, so a number reads the same in the app, the PDF and the HTML."""

from kpi.display import *  # noqa: F403
from kpi.display import EMPTY, currency_symbol, money, pct  # noqa: F401  (named for type checkers)
