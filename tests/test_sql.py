"""The queries in kpi/sql agree with each other: each shared rule is written once.

The rules themselves (population, window, deal value, live MRR, activity counts, month grid)
are checked value by value in test_store.py; here, that every query uses them.
"""

from __future__ import annotations

import re

import polars as pl

from kpi import metrics
from kpi.store import SQL_DIR
from tests.conftest import d, partner

MACROS = SQL_DIR / "macros.sql"


def queries() -> dict[str, str]:
    """The text of every query file but the macros, without its comments."""
    return {
        path.name: re.sub(r"--[^\n]*", "", path.read_text()) for path in sorted(SQL_DIR.glob("*.sql")) if path != MACROS
    }


def test_no_query_spells_out_a_shared_rule_again() -> None:
    spelled_out = {
        "population": re.compile(r"left_on\s*>"),
        "deal value": re.compile(r"12\s*\*\s*\w*\.?mrr"),
        "live mrr": re.compile(r"churned_on\s*>"),
        "activity count": re.compile(r"filter\s*\(\s*where[^)]*activity\s*=", re.IGNORECASE),
        "month grid": re.compile(r"range\s*\(\s*date_trunc", re.IGNORECASE),
    }
    found = [(name, rule) for name, text in queries().items() for rule, rx in spelled_out.items() if rx.search(text)]
    assert found == []


def test_the_overview_and_the_monthly_views_start_in_the_same_month(make_db) -> None:
    # Money spent on P1 in November, before it joined and before any activity or deal:
    # the Overview's monthly chart and every partner_months view (ROI, recurring revenue,
    # scorecard) start in November.
    con = make_db(
        {
            "partners": [partner("P1", joined="2025-12-15"), partner("P2", joined="2026-01-10", left="2026-03-31")],
            "investments": [{"partner_id": "P1", "spent_on": "2025-11-20", "amount": 75, "category": "mdf"}],
            "activities": [{"partner_id": "P1", "occurred_at": "2026-02-03", "activity": "login"}],
            "deals": [
                {
                    "deal_id": "D1",
                    "partner_id": "P1",
                    "registered_on": "2026-03-01",
                    "status": "won",
                    "closed_on": "2026-03-10",
                    "amount": 1000,
                    "mrr": 100,
                }
            ],
        }
    )
    until = d("2026-03-20")
    program = metrics.monthly_program(con, until)
    by_partner = metrics.partner_months(con, until)
    months = ["2025-11-01", "2025-12-01", "2026-01-01", "2026-02-01", "2026-03-01"]
    assert program["month"].cast(str).to_list() == months
    assert sorted(set(by_partner["month"].cast(str).to_list())) == months
    # P1 in from 15 December, P2 from 10 January (it leaves after the 20 March cut).
    assert program["partners"].to_list() == [0, 1, 2, 2, 2]
    in_program = by_partner.group_by("month").agg(pl.col("in_program").sum()).sort("month")
    assert in_program["in_program"].to_list() == program["partners"].to_list()
    # Deal value 1000 + 12 x 100, won in March; the money spent in November.
    assert program["revenue"].to_list() == [0.0, 0.0, 0.0, 0.0, 2200.0]
    assert by_partner.filter(by_partner["partner_id"] == "P1")["cost"].to_list() == [75.0, 0.0, 0.0, 0.0, 0.0]
