"""The partner scorecard: one partner's tier and why, its months, its staff, its weeks.

The queries here read one partner (or the partner list) and are cached by the app per
dataset, as-of date, window and partner. The thresholds are applied in memory: the tier and
its reasons come from `kpi.metrics.segment` / `segment_at` (the one definition of the tiers),
and `explain_tier` only says, condition by condition, why that definition gave that tier.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

import duckdb
import polars as pl

from kpi import metrics, staff
from kpi.params import View
from kpi.store import query

NOT_IN_PROGRAM = "not in program"  # the tier-history value of a week the partner was not in the population
HISTORY_WEEKS = 12

Membership = Literal["in program", "not yet joined", "left"]


def partner_list(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every partner of the dataset, in or out of the program, ordered by name then id:
    partner_id, partner_name, joined_on, left_on, region, partner_type, channel_manager."""
    return query(con, "scorecard_partners")


def membership(joined_on: date, left_on: date | None, as_of: date) -> Membership:
    """Where a partner stands at A (SPEC "Population": joined_on <= A and (left_on empty or
    left_on > A)): "in program", "not yet joined" (joined_on > A) or "left" (left_on <= A)."""
    if joined_on > as_of:
        return "not yet joined"
    if left_on is not None and left_on <= as_of:
        return "left"
    return "in program"


@dataclass(frozen=True)
class CriterionCheck:
    """One activation criterion for one partner: its fact column, threshold and value.

    A threshold of 0 switches the criterion off (never met, never counted). `short` is how
    many more the partner needs to meet it (0 when met or switched off).
    """

    column: str  # trainings, content_shares or deals_registered
    threshold: int
    value: int

    @property
    def enabled(self) -> bool:
        return self.threshold > 0

    @property
    def met(self) -> bool:
        return self.enabled and self.value >= self.threshold

    @property
    def short(self) -> int:
        return max(self.threshold - self.value, 0) if self.enabled else 0


ConditionName = Literal["activated", "reward_revenue", "not_activated", "no_revenue", "few_actions", "past_grace"]


@dataclass(frozen=True)
class Condition:
    """One condition of a tier rule for one partner: the value, the limit it is held against,
    whether it holds, and `gap`: how far the value is from making it hold (0 when it holds).

    reward rule: activated (criteria met >= needed; gap: criteria short) and reward_revenue
    (revenue >= reward_min_revenue; gap: money short).
    drop rule: not_activated (criteria met < needed; gap: criteria it would have to stop
    meeting), no_revenue (revenue = 0; gap: the revenue), few_actions (actions <=
    drop_max_actions; gap: actions over the limit) and past_grace (joined_on <= A -
    grace_days; gap: days until the grace period ends, i.e. from A to `droppable_from`).
    """

    name: ConditionName
    holds: bool
    value: Any
    limit: Any
    gap: float


@dataclass(frozen=True)
class TierReasons:
    """Why a partner of the population has its tier under the view's thresholds."""

    tier: str
    criteria: tuple[CriterionCheck, ...]  # the three criteria in SPEC order, switched-off ones included
    needed: int  # criteria needed for activation (metrics.criteria_needed)
    criteria_met: int
    activated: bool
    revenue: float
    actions: int
    joined_on: date
    grace_cutoff: date  # joined on or before this day: past the grace period
    droppable_from: date  # the first as-of date at which the grace period no longer protects it
    reward: tuple[Condition, ...]  # activated, reward_revenue
    drop: tuple[Condition, ...]  # not_activated, no_revenue, few_actions, past_grace

    @property
    def deciding(self) -> tuple[Condition, ...]:
        """The conditions that decided the tier (first match wins): for reward its two
        conditions; for drop the reward conditions it misses and the four drop conditions;
        for nurture the conditions it misses of reward and of drop."""
        missed_reward = tuple(c for c in self.reward if not c.holds)
        if self.tier == "reward":
            return self.reward
        if self.tier == "drop":
            return missed_reward + self.drop
        return missed_reward + tuple(c for c in self.drop if not c.holds)


_CRITERIA_COLUMNS = ("trainings", "content_shares", "deals_registered")


def explain_tier(facts_row: Mapping[str, Any], view: View) -> TierReasons:
    """The tier of one partner of the population (facts from `partner_facts` / `facts_at`)
    under the view's thresholds, and each condition of the tier rules with its value.

    The tier, criteria met and activation come from `metrics.segment` (their one
    definition); the conditions restate its rules (SPEC "Activation and tiers") so a page
    can say which one held or failed and by how much.
    """
    as_of = view.as_of
    segmented = metrics.segment(pl.DataFrame([dict(facts_row)]), view).row(0, named=True)
    thresholds = {
        "trainings": view.min_trainings,
        "content_shares": view.min_shares,
        "deals_registered": view.min_deals,
    }
    criteria = tuple(CriterionCheck(column, thresholds[column], int(segmented[column])) for column in _CRITERIA_COLUMNS)
    _, needed = metrics.criteria_needed(view)
    met = int(segmented["criteria_met"])
    activated = bool(segmented["activated"])
    revenue = float(segmented["revenue"])
    actions = int(segmented["actions"])
    joined_on: date = segmented["joined_on"]
    grace_cutoff = as_of - timedelta(days=view.grace_days)
    reward = (
        Condition("activated", activated, met, needed, max(needed - met, 0)),
        Condition(
            "reward_revenue",
            revenue >= view.reward_min_revenue,
            revenue,
            view.reward_min_revenue,
            max(view.reward_min_revenue - revenue, 0.0),
        ),
    )
    drop = (
        Condition("not_activated", not activated, met, needed, max(met - needed + 1, 0)),
        Condition("no_revenue", revenue == 0, revenue, 0.0, revenue),
        Condition(
            "few_actions",
            actions <= view.drop_max_actions,
            actions,
            view.drop_max_actions,
            max(actions - view.drop_max_actions, 0),
        ),
        Condition(
            "past_grace", joined_on <= grace_cutoff, joined_on, grace_cutoff, max((joined_on - grace_cutoff).days, 0)
        ),
    )
    reasons = TierReasons(
        tier=str(segmented["tier"]),
        criteria=criteria,
        needed=needed,
        criteria_met=met,
        activated=activated,
        revenue=revenue,
        actions=actions,
        joined_on=joined_on,
        grace_cutoff=grace_cutoff,
        droppable_from=joined_on + timedelta(days=view.grace_days),
        reward=reward,
        drop=drop,
    )
    # The conditions restate segment's rules; if they ever disagree, one of them is wrong.
    expected = "reward" if all(c.holds for c in reward) else "drop" if all(c.holds for c in drop) else "nurture"
    if expected != reasons.tier:
        raise AssertionError(f"tier conditions say {expected}, segment says {reasons.tier}")
    return reasons


def monthly(months: pl.DataFrame) -> pl.DataFrame:
    """One partner's `partner_months` with `roi` per month: (revenue - cost) / cost of the
    month (`metrics.roi`), empty when nothing was spent that month."""
    roi = [metrics.roi(revenue, cost) for revenue, cost in zip(months["revenue"], months["cost"], strict=True)]
    return months.with_columns(pl.Series("roi", roi, dtype=pl.Float64))


def staff_activity(con: duckdb.DuckDBPyConnection, partner_id: str, as_of: date, window_days: int) -> pl.DataFrame:
    """One partner's staff and what each did in the window (A - W < d <= A).

    One row per partner_users row of the partner: trainings, content_shares, content_views,
    logins and `activities` (their sum, logins included) in the window, and `last_active_on`:
    the latest day with any activity on or before A (also before the window; empty if never).
    Staff without activity have zeros. Activities without a user_id make one more row
    (`no_user` true, user_id empty) when there are any in the window. Most active first.
    The rows and their numbers are `kpi.staff.staff_activity` for this partner.
    """
    return (
        staff.staff_activity(con, as_of, window_days, partner_id)
        .select(
            "user_id",
            "user_name",
            "role",
            "no_user",
            "trainings",
            "content_shares",
            "content_views",
            "logins",
            "last_active_on",
            activities=pl.col("trainings") + pl.col("content_shares") + pl.col("content_views") + pl.col("logins"),
        )
        .sort(
            ["no_user", "activities", "last_active_on", "user_name", "user_id"],
            descending=[False, True, True, False, False],
            nulls_last=True,
        )
    )


def history_dates(as_of: date, weeks: int = HISTORY_WEEKS) -> list[date]:
    """The as-of dates of the tier history, oldest first: A - 7 x (weeks - 1), ..., A - 7, A."""
    return [as_of - timedelta(days=7 * back) for back in range(weeks - 1, -1, -1)]


def tier_history(facts: pl.DataFrame, view: View, dates: Sequence[date]) -> pl.DataFrame:
    """Week by week under the view's thresholds: one row per as-of date in `dates`.

    `facts` are one partner's `facts_at` those dates (each with the view's window); the
    thresholds apply per date as `metrics.segment_at` applies them (each date with its own
    grace cutoff).
    Columns: as_of, in_program, tier (NOT_IN_PROGRAM when the partner was not in the
    population that day), activated, criteria_met, revenue, actions.
    """
    columns = ["as_of", "tier", "activated", "criteria_met", "revenue", "actions"]
    weeks = pl.DataFrame({"as_of": list(dates)}, schema={"as_of": pl.Date})
    if facts.is_empty():
        segmented = pl.DataFrame(
            schema={
                "as_of": pl.Date,
                "tier": pl.String,
                "activated": pl.Boolean,
                "criteria_met": pl.Int64,
                "revenue": pl.Float64,
                "actions": pl.Int64,
            }
        )
    else:
        segmented = metrics.segment_at(facts, view).select(columns)
    return (
        weeks.join(segmented, on="as_of", how="left")
        .with_columns(in_program=pl.col("tier").is_not_null())
        .with_columns(pl.col("tier").fill_null(NOT_IN_PROGRAM))
        .select("as_of", "in_program", *columns[1:])
        .sort("as_of")
    )


def weeks_in_tier(history: pl.DataFrame) -> dict[str, int]:
    """How many weeks of a `tier_history` the partner spent in each tier and out of the
    program: reward, nurture, drop, then NOT_IN_PROGRAM, zeros included."""
    counts = dict(history.group_by("tier").len().iter_rows()) if history.height else {}
    return {tier: int(counts.get(tier, 0)) for tier in (*metrics.TIERS, NOT_IN_PROGRAM)}


def staff_counts(staff_rows: pl.DataFrame) -> dict[str, int]:
    """From `staff_activity`: the people on record (`on_record`; the "(no user)" row is not a
    person) and those of them with any activity in the window, logins included (`active`:
    the partner's Active staff)."""
    named = staff_rows.filter(~pl.col("no_user"))
    return {"on_record": named.height, "active": named.filter(pl.col("activities") > 0).height}


@dataclass(frozen=True)
class PartnerRecord:
    """What the scorecard reads of one partner for (A, W); thresholds apply to it in memory."""

    partner_id: str
    as_of: date
    weeks: pl.DataFrame  # metrics.facts_at the history dates, window W each (no row: not in the program)
    months: pl.DataFrame  # `monthly`: every month from its first up to A's month
    staff: pl.DataFrame  # `staff_activity` in the window

    @property
    def dates(self) -> list[date]:
        """The as-of dates of its tier history (`history_dates`)."""
        return history_dates(self.as_of)

    @property
    def today(self) -> dict[str, Any] | None:
        """Its facts at A, or None when it is not in the program at A."""
        rows = self.weeks.filter(pl.col("as_of") == self.as_of)
        return rows.row(0, named=True) if rows.height else None

    def history(self, view: View) -> pl.DataFrame:
        """Its `tier_history` under the view's thresholds."""
        return tier_history(self.weeks, view, self.dates)


def partner_record(con: duckdb.DuckDBPyConnection, partner_id: str, as_of: date, window_days: int) -> PartnerRecord:
    """One partner's facts at A, A - 7, ..., A - 77 (each its own window of W days), its months
    up to A (`metrics.partner_months` with `monthly`'s ROI) and its staff in the window
    (`staff_activity`): three one-partner queries."""
    return PartnerRecord(
        partner_id=partner_id,
        as_of=as_of,
        weeks=metrics.facts_at(con, history_dates(as_of), window_days, partner_id),
        months=monthly(metrics.partner_months(con, as_of, partner_id)),
        staff=staff_activity(con, partner_id, as_of, window_days),
    )
