"""The input data contract (SPEC "Input data contract"), declared once.

Validation, the loader, the docs and the demo generator's tests all read these
declarations, so a rule is written in one place only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ColumnKind = Literal["text", "date", "timestamp", "money", "choice"]

ACTIVITY_KINDS: tuple[str, ...] = (
    "login",
    "training_completed",
    "content_viewed",
    "content_shared",
)
DEAL_STATUSES: tuple[str, ...] = ("open", "won", "lost")
INVESTMENT_CATEGORIES: tuple[str, ...] = (
    "mdf",
    "incentive",
    "enablement",
    "spiff",
    "other",
)


@dataclass(frozen=True)
class Column:
    name: str
    kind: ColumnKind
    required: bool
    choices: tuple[str, ...] = ()
    unique: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    required: bool = False

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


TABLES: tuple[Table, ...] = (
    Table(
        "partners",
        (
            Column("partner_id", "text", True, unique=True),
            Column("partner_name", "text", True),
            Column("joined_on", "date", True),
            Column("left_on", "date", False),
            Column("region", "text", False),
            Column("partner_type", "text", False),
            Column("channel_manager", "text", False),
        ),
        required=True,
    ),
    Table(
        "partner_users",
        (
            Column("user_id", "text", True, unique=True),
            Column("partner_id", "text", True),
            Column("user_name", "text", False),
            Column("role", "text", False),
        ),
    ),
    Table(
        "activities",
        (
            Column("partner_id", "text", True),
            Column("user_id", "text", False),
            Column("occurred_at", "timestamp", True),
            Column("activity", "choice", True, choices=ACTIVITY_KINDS),
            Column("item_id", "text", False),
            Column("item_name", "text", False),
        ),
    ),
    Table(
        "deals",
        (
            Column("deal_id", "text", True, unique=True),
            Column("partner_id", "text", True),
            Column("registered_on", "date", True),
            Column("status", "choice", True, choices=DEAL_STATUSES),
            Column("closed_on", "date", False),
            # SPEC: "one-time revenue of the deal (0 if none)": an empty amount reads as 0.
            Column("amount", "money", False),
            Column("mrr", "money", False),
            Column("churned_on", "date", False),
        ),
    ),
    Table(
        "investments",
        (
            Column("partner_id", "text", True),
            Column("spent_on", "date", True),
            # SPEC names the usual categories with "e.g.": any text is accepted.
            Column("category", "text", False),
            Column("amount", "money", True),
        ),
    ),
)
TABLE_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}
TABLE_NAMES: tuple[str, ...] = tuple(TABLE_BY_NAME)
