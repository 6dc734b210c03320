"""The five tables for a newcomer: what a row of each is, and a template file to start from.

The templates are built from the contract (`kpi.schema`): their header is the table's
columns in order, so a column added to the contract is in its template too. The example
rows make one small program that passes every rule of the contract together.
"""

from __future__ import annotations

import csv
import io

from kpi.schema import TABLE_BY_NAME, TABLES, Table

# What one row of each table is, in a channel leader's words.
ROW_MEANS: dict[str, str] = {
    "partners": "one partner in your program (a reseller, referral partner, MSP or system integrator). "
    "The only table you must have.",
    "partner_users": "one person at a partner (a seller, an engineer) with a login to your portal or LMS. "
    "Lets the app count a partner's active staff.",
    "activities": "one thing a partner's person did: a login, a training completed, a content piece "
    "viewed or shared. Logins are counted but are not engagement.",
    "deals": "one deal a partner registered: open, won or lost (won and lost deals need closed_on), "
    "with its one-time amount and, if any, its monthly recurring revenue (mrr).",
    "investments": "one payment to a partner: market development funds (mdf), an incentive, "
    "enablement, a spiff. The cost side of ROI.",
}

# Example values for each column, one per example row; a column not listed is left empty.
EXAMPLES: dict[str, dict[str, tuple[str, str]]] = {
    "partners": {
        "partner_id": ("P-001", "P-002"),
        "partner_name": ("Northwind Traders", "Contoso Ltd"),
        "joined_on": ("2024-01-15", "2024-06-01"),
        "left_on": ("", "2025-09-30"),
        "region": ("EMEA", "North America"),
        "partner_type": ("reseller", "referral"),
        "channel_manager": ("Dana Lee", "Sam Park"),
    },
    "partner_users": {
        "user_id": ("U-001", "U-002"),
        "partner_id": ("P-001", "P-002"),
        "user_name": ("Ana Ruiz", "Ben Cho"),
        "role": ("sales engineer", "account manager"),
    },
    "activities": {
        "partner_id": ("P-001", "P-002"),
        "user_id": ("U-001", "U-002"),
        "occurred_at": ("2025-03-03T10:15:00", "2025-03-04"),
        "activity": ("training_completed", "content_shared"),
        "item_id": ("C-101", "K-7"),
        "item_name": ("Selling the platform", "Spring launch kit"),
    },
    "deals": {
        "deal_id": ("D-1001", "D-1002"),
        "partner_id": ("P-001", "P-002"),
        "registered_on": ("2025-02-10", "2025-03-05"),
        "status": ("won", "open"),
        "closed_on": ("2025-03-20", ""),
        "amount": ("12500.00", "8000"),
        "mrr": ("400", ""),
        "churned_on": ("", ""),
    },
    "investments": {
        "partner_id": ("P-001", "P-002"),
        "spent_on": ("2025-02-01", "2025-03-15"),
        "category": ("mdf", "incentive"),
        "amount": ("5000.00", "1500"),
    },
}


def template_rows(table: str) -> list[dict[str, str]]:
    """The example rows of `table`, one value for each of its contract columns."""
    examples = EXAMPLES.get(table, {})
    count = max((len(values) for values in examples.values()), default=0)
    return [
        {column: examples.get(column, ("",) * count)[i] for column in TABLE_BY_NAME[table].column_names}
        for i in range(count)
    ]


def template_csv(table: str) -> str:
    """A CSV file of `table` to fill in: the contract's header and the example rows."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(TABLE_BY_NAME[table].column_names), lineterminator="\n")
    writer.writeheader()
    writer.writerows(template_rows(table))
    return out.getvalue()


def required_and_optional(table: Table) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the required columns, the optional ones), each in the contract's order."""
    required = tuple(c.name for c in table.columns if c.required)
    return required, tuple(c.name for c in table.columns if not c.required)


GUIDE: tuple[tuple[Table, str], ...] = tuple((table, ROW_MEANS[table.name]) for table in TABLES)
