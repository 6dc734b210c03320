"""Engagement KPIs (the Engagement page): which behaviours go with revenue.

Window: dates d with A - W < d <= A; population: partners in the program at A (SPEC).
Two queries scan events, both cached by the app per (dataset, as-of, window):
`item_facts` (one row per content piece or course, with its use in the window and the
deal totals of the partners who adopted it) and `staff_facts` (one row per staff member of
a population partner). Everything else here works in memory on those frames or on the
segmented partner facts (`kpi.metrics.segment`), so a threshold move runs no query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

from kpi.params import SPEC_BY_NAME
from kpi.staff import staff_activity
from kpi.store import query

MIN_CLOSED_DEALS = 30
"""A lift row is a "small sample" when adopters or others closed fewer deals than this."""

MIN_LOGINS = SPEC_BY_NAME["engagement_min_logins"]
MIN_LOGINS_DEFAULT = int(MIN_LOGINS.default)  # type: ignore[arg-type]
"""The "look busy" login threshold (link parameter `engagement_min_logins`): its default."""

ACTIVE_USER_BUCKETS: tuple[str, ...] = ("no staff on record", "0", "1", "2", "3", "4+")
"""Buckets of the active-users distribution, in display order."""

NO_STAFF = ACTIVE_USER_BUCKETS[0]

# Ways to rank the items table (column, descending), each ending in a stable tie-break.
ITEM_RANKINGS: dict[str, list[tuple[str, bool]]] = {
    "adopters": [("adopters", True), ("partners", True), ("item_name", False)],
    "partners": [("partners", True), ("adopters", True), ("item_name", False)],
    "staff": [("staff", True), ("partners", True), ("item_name", False)],
    "win_rate_lift": [("win_rate_lift", True), ("adopters", True), ("item_name", False)],
    "revenue_ratio": [("revenue_ratio", True), ("adopters", True), ("item_name", False)],
}


# --- content and courses ------------------------------------------------------------------


def item_facts(con: duckdb.DuckDBPyConnection, as_of: date, window_days: int) -> pl.DataFrame:
    """Every content piece and course, its use in the window and its adopters' deals.

    An item is a distinct non-empty item_id anywhere in the activities (any date), so an
    item nobody used in the window is listed with zeros. Its name is its most recent
    non-empty item_name, else the id; its kind is "course" when it has training_completed
    events anywhere in the data, else "content".
    Use in the window, over the activities of population partners: `partners` (distinct
    partners with any activity on it), `staff` (distinct non-empty user_id), `shares`,
    `completions`, `views` (event counts).
    Adopters are population partners who shared it (content_shared) or completed it
    (training_completed) in the window: `adopters`, and their `adopters_closed` (deals won
    or lost with closed_on in the window), `adopters_won` and `adopters_revenue` (deal value
    of those won: amount + 12 x mrr). `population`, `population_closed`, `population_won`,
    `population_revenue` are the same totals for the whole population (same on every row).
    """
    return query(con, "engagement_items", as_of=as_of, window_days=window_days)


def _rate(numerator: str, denominator: str, scale: float = 1.0) -> pl.Expr:
    return pl.when(pl.col(denominator) > 0).then(scale * pl.col(numerator) / pl.col(denominator))


def item_lift(items: pl.DataFrame) -> pl.DataFrame:
    """Adopters against others for every item (from `item_facts`).

    Others are the rest of the population: others_* = population_* - adopters_*.
    For each group: win rate = 100 x won / closed (empty when it closed no deal) and
    revenue per partner = revenue / partners (empty when the group has no partner).
    `win_rate_lift` = adopters' win rate - others' win rate, in percentage points (empty
    when either is empty); `revenue_ratio` = adopters' revenue per partner / others'
    (empty when either is empty or the others' is 0). `small_sample`: adopters or others
    closed fewer than MIN_CLOSED_DEALS deals in the window.
    """
    return (
        items.with_columns(
            others=pl.col("population") - pl.col("adopters"),
            others_closed=pl.col("population_closed") - pl.col("adopters_closed"),
            others_won=pl.col("population_won") - pl.col("adopters_won"),
            others_revenue=pl.col("population_revenue") - pl.col("adopters_revenue"),
        )
        .with_columns(
            adopters_win_rate=_rate("adopters_won", "adopters_closed", 100.0),
            others_win_rate=_rate("others_won", "others_closed", 100.0),
            adopters_revenue_per_partner=_rate("adopters_revenue", "adopters"),
            others_revenue_per_partner=_rate("others_revenue", "others"),
        )
        .with_columns(
            win_rate_lift=pl.col("adopters_win_rate") - pl.col("others_win_rate"),
            revenue_ratio=pl.when(pl.col("others_revenue_per_partner") > 0).then(
                pl.col("adopters_revenue_per_partner") / pl.col("others_revenue_per_partner")
            ),
            small_sample=(pl.col("adopters_closed") < MIN_CLOSED_DEALS) | (pl.col("others_closed") < MIN_CLOSED_DEALS),
        )
    )


def rank_items(lift: pl.DataFrame, by: str = "adopters") -> pl.DataFrame:
    """Items ordered by one of ITEM_RANKINGS (largest first; empty values last)."""
    order = ITEM_RANKINGS[by]
    return lift.sort(
        [column for column, _ in order],
        descending=[descending for _, descending in order],
        nulls_last=True,
    )


def unused_items(items: pl.DataFrame) -> pl.DataFrame:
    """Items nobody in the population used in the window (no partner with any activity on it)."""
    return items.filter(pl.col("partners") == 0).sort("item_name", "item_id")


# --- staff --------------------------------------------------------------------------------


def staff_facts(con: duckdb.DuckDBPyConnection, as_of: date, window_days: int) -> pl.DataFrame:
    """One row per staff member (partner_users) of a population partner (`kpi.staff.staff_activity`,
    named staff only).

    Counted over the user's own activities in the window: `trainings`, `content_shares`,
    `content_views`, `logins`; `actions` = trainings + content_shares + content_views
    (logins are not engagement; deal registrations have no user). `last_active_on`: the
    date of the user's latest activity on or before A, at any time (empty if none).
    Activities without a user_id belong to the partner, not to any staff member.
    """
    return (
        staff_activity(con, as_of, window_days)
        .filter(~pl.col("no_user"))
        .select(
            "user_id",
            "partner_id",
            "partner_name",
            "user_name",
            "role",
            "trainings",
            "content_shares",
            "content_views",
            "logins",
            "last_active_on",
            actions=pl.col("trainings") + pl.col("content_shares") + pl.col("content_views"),
        )
    )


def active_users_distribution(facts: pl.DataFrame, staff: pl.DataFrame) -> pl.DataFrame:
    """How many population partners have 0, 1, 2, 3, 4+ active users in the window.

    Active users: distinct staff with any activity in the window, logins included (the
    `active_users` partner fact). Partners with no staff at all in partner_users form their
    own bucket, "no staff on record", and are not counted under "0". Columns: bucket
    (ACTIVE_USER_BUCKETS order, every bucket present), partners, share_pct (of the
    population; empty when the population is empty).
    """
    staffed = staff.select(pl.col("partner_id").unique())
    bucket = (
        pl.when(~pl.col("partner_id").is_in(staffed["partner_id"].implode()))
        .then(pl.lit(NO_STAFF))
        .when(pl.col("active_users") >= 4)
        .then(pl.lit("4+"))
        .otherwise(pl.col("active_users").cast(pl.String))
    )
    counts = facts.select(bucket.alias("bucket")).group_by("bucket").len("partners")
    population = facts.height
    return (
        pl.DataFrame({"bucket": list(ACTIVE_USER_BUCKETS)})
        .join(counts, on="bucket", how="left")
        .with_columns(pl.col("partners").fill_null(0).cast(pl.Int64))
        .with_columns(
            share_pct=(100.0 * pl.col("partners") / population) if population else pl.lit(None, dtype=pl.Float64)
        )
    )


def partners_without_staff(facts: pl.DataFrame, staff: pl.DataFrame) -> pl.DataFrame:
    """Population partners with no staff at all in partner_users (by revenue, then name)."""
    return facts.join(staff.select("partner_id").unique(), on="partner_id", how="anti").sort(
        ["revenue", "partner_name", "partner_id"], descending=[True, False, False]
    )


def most_engaged_staff(staff: pl.DataFrame, top: int = 10) -> pl.DataFrame:
    """The `top` staff with the most actions (trainings + shares + views) in the window;
    ties by logins, then name. Staff with no action are never "most engaged"."""
    return (
        staff.filter(pl.col("actions") > 0)
        .sort(["actions", "logins", "user_name", "user_id"], descending=[True, True, False, False], nulls_last=True)
        .head(top)
    )


def least_engaged_staff(staff: pl.DataFrame) -> pl.DataFrame:
    """Staff of population partners with zero actions in the window, most logins first
    (busy in the portal, doing none of the work), then the most recent activity, so those
    with no activity at all come last."""
    return staff.filter(pl.col("actions") == 0).sort(
        ["logins", "last_active_on", "partner_name", "user_name", "user_id"],
        descending=[True, True, False, False, False],
        nulls_last=True,
    )


# --- look busy ----------------------------------------------------------------------------


def look_busy(segmented: pl.DataFrame, min_logins: int) -> pl.DataFrame:
    """Partners that log in a lot but are not activated under the current thresholds.

    From segmented partner facts (`kpi.metrics.segment`): not activated and logins in the
    window >= `min_logins`. Most logins first, then fewest actions, then name.
    """
    return (
        segmented.select(
            "partner_id", "partner_name", "tier", "logins", "actions", "criteria_met", "revenue", "activated"
        )
        .filter(~pl.col("activated") & (pl.col("logins") >= min_logins))
        .drop("activated")
        .sort(["logins", "actions", "partner_name", "partner_id"], descending=[True, False, False, False])
    )


def share_pct(part: int, population: int) -> float | None:
    """100 x part / population; empty when the population is empty."""
    return 100.0 * part / population if population else None


def logins_actions_groups(busy: pl.DataFrame, max_groups: int = 400) -> pl.DataFrame:
    """`look_busy` partners grouped for a chart: one row per (tier, logins, actions) with the
    number of partners. With more than `max_groups` groups, logins and actions are rounded
    to bands (exact up to 10, then about eight bands a decade) so the chart stays small."""

    def grouped(frame: pl.DataFrame) -> pl.DataFrame:
        return (
            frame.group_by("tier", "logins", "actions")
            .agg(pl.len().alias("partners"))
            .sort("tier", "logins", "actions")
        )

    exact = grouped(busy.with_columns(pl.col("logins").cast(pl.Float64), pl.col("actions").cast(pl.Float64)))
    if exact.height <= max_groups:
        return exact

    def band(column: str) -> pl.Expr:
        value = pl.col(column).cast(pl.Float64)
        return (
            pl.when(value <= 10)
            .then(value)
            .otherwise((10 ** ((value.log10() * 8).round(0) / 8)).round(0))
            .alias(column)
        )

    return grouped(busy.with_columns(band("logins"), band("actions")))


def active_staff(staff: pl.DataFrame) -> int:
    """Staff with any activity in the window, logins included (the sum of the partners'
    `active_users`, since every user belongs to one partner)."""
    return staff.filter((pl.col("actions") + pl.col("logins")) > 0).height


def silent_staff(staff: pl.DataFrame) -> int:
    """Staff with no activity at all in the window, not even a login: the last of the least
    engaged staff."""
    return staff.filter((pl.col("actions") == 0) & (pl.col("logins") == 0)).height


# --- the page's facts ---------------------------------------------------------------------


@dataclass(frozen=True)
class PageFacts:
    """What the Engagement page shows that depends only on (data, A, W), not on thresholds."""

    items: pl.DataFrame  # every content piece and course with its lift (`item_lift`)
    unused: pl.DataFrame  # `unused_items`: nobody in the program used them in the window
    staff: pl.DataFrame  # `staff_facts`: one row per staff member of a partner in the program
    distribution: pl.DataFrame  # `active_users_distribution`: partners by active staff
    without_staff: pl.DataFrame  # `partners_without_staff`
    most_engaged: pl.DataFrame  # `most_engaged_staff`: the top 10 by actions
    least_engaged: pl.DataFrame  # `least_engaged_staff`: everyone with no action, most logins first
    active_staff: int  # `active_staff`: any activity in the window, logins included
    silent_staff: int  # `silent_staff`: no activity at all in the window, not even a login

    @property
    def used_items(self) -> int:
        """Items with any activity by a partner in the program in the window."""
        return self.items.height - self.unused.height

    @property
    def small_sample_items(self) -> int:
        """Items whose adopters or others closed fewer than MIN_CLOSED_DEALS deals."""
        return self.items.filter(pl.col("small_sample")).height


def page_facts(con: duckdb.DuckDBPyConnection, as_of: date, window_days: int, facts: pl.DataFrame) -> PageFacts:
    """The items with their lift, the staff and the partners by active staff at A for window W.

    `facts` is the population's `metrics.partner_facts` at A for the same window (the
    partners and their `active_users`). Runs the two engagement queries (`item_facts`,
    `staff_facts`); everything else is computed from them in memory.
    """
    items = item_lift(item_facts(con, as_of, window_days))
    staff = staff_facts(con, as_of, window_days)
    return PageFacts(
        items=items,
        unused=unused_items(items),
        staff=staff,
        distribution=active_users_distribution(facts, staff),
        without_staff=partners_without_staff(facts, staff),
        most_engaged=most_engaged_staff(staff),
        least_engaged=least_engaged_staff(staff),
        active_staff=active_staff(staff),
        silent_staff=silent_staff(staff),
    )


def find_staff(staff: pl.DataFrame, search: str) -> pl.DataFrame:
    """Staff whose partner name or own name contains `search` (any case); all when empty."""
    needle = search.strip().lower()
    if not needle:
        return staff
    return staff.filter(
        pl.col("partner_name").str.to_lowercase().str.contains(needle, literal=True)
        | pl.col("user_name").fill_null("").str.to_lowercase().str.contains(needle, literal=True)
    )
