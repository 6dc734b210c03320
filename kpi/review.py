"""The weekly review: the view now against the same view on an earlier date (the "since" date,
by default a week before the as-of date), built on `kpi.compare.compare`.

Everything comes from the per-partner facts of the two dates (`metrics.partner_facts`),
segmented under the same thresholds: the headline numbers then and now, who moved (tier
changes, joins and leaves, each with the reason in words), the partners whose window revenue,
MRR or actions changed most, the watch list, and a few plain sentences built only from
those numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from typing import Any

import polars as pl

from kpi import compare, metrics
from kpi.params import View

DEFAULT_DAYS_BACK = 7
"""The since date, unless one is given: the as-of date minus a week."""
BIGGEST_SHOWN = 5
"""Partners listed per measure and direction under "biggest changes"."""
CLOSE_TO_REWARD = 0.10
"""A reward partner is close to the reward threshold when its revenue is less than 10% above it."""
GRACE_ENDS_WITHIN_DAYS = 14
"""A new partner is on the watch list when its grace period ends within two weeks."""

UNITS = {
    "activation_pct": "percent",
    "roi": "ratio",
    "revenue": "money",
    "cost": "money",
    "mrr": "money",
    "arr": "money",
}
"""The unit of a headline number (the others count partners)."""


def unit(key: str) -> str:
    """The unit of headline number `key` (UNITS; "partners" for a count)."""
    return UNITS.get(key, "partners")


HEADLINE: tuple[tuple[str, str], ...] = (
    ("activation_pct", "Activation %"),
    ("partners", "Partners in the program"),
    ("activated", "Activated partners"),
    ("reward", "Reward"),
    ("nurture", "Nurture"),
    ("drop", "Drop"),
    ("revenue", "Revenue in the window"),
    ("cost", "Cost in the window"),
    ("mrr", "MRR"),
    ("arr", "ARR"),
    ("roi", "Program ROI"),
)
"""The review's headline numbers in order: key of `metrics.summarize` (tiers flattened), label."""

CHANGE_MEASURES: tuple[tuple[str, str], ...] = (
    ("revenue", "revenue in the window"),
    ("mrr", "MRR"),
    ("actions", "actions in the window"),
)

WATCH_REASONS = {
    "lost_activation": "lost activation",
    "close_to_reward": "reward, close to the reward threshold",
    "grace_ending": "grace period ends soon, not activated",
}


def since_default(view: View) -> date:
    """The default since date: the as-of date minus DEFAULT_DAYS_BACK days."""
    return view.as_of - timedelta(days=DEFAULT_DAYS_BACK)


def since_view(view: View, since: date) -> View:
    """The same view (window and thresholds) on the since date."""
    return view.replace(as_of=since)


def headline(then: dict[str, Any], now: dict[str, Any]) -> pl.DataFrame:
    """One row per headline number (HEADLINE): `key, number, then, now, change` from two
    `metrics.summarize` objects; change = now - then, empty when either side is."""

    def flat(summary: dict[str, Any]) -> dict[str, Any]:
        return {**summary, **summary["tiers"]}

    before, after = flat(then), flat(now)
    rows = []
    for key, label in HEADLINE:
        a, b = before[key], after[key]
        rows.append(
            {
                "key": key,
                "number": label,
                "then": None if a is None else float(a),
                "now": None if b is None else float(b),
                "change": None if a is None or b is None else float(b) - float(a),
            }
        )
    return pl.DataFrame(
        rows,
        schema={"key": pl.String, "number": pl.String, "then": pl.Float64, "now": pl.Float64, "change": pl.Float64},
        orient="row",
    )


def biggest_changes(then: pl.DataFrame, now: pl.DataFrame, top: int = BIGGEST_SHOWN) -> pl.DataFrame:
    """The partners whose revenue in the window, MRR or actions changed most, up and down.

    From the segmented partners of both dates (a partner missing on one side counts 0
    there). For each measure (CHANGE_MEASURES) the `top` largest rises and the `top` largest
    falls, leaving out no change: `measure, direction ("up" / "down"), partner_id,
    partner_name, then, now, change`, largest first, ties by partner_id."""
    measures = [m for m, _ in CHANGE_MEASURES]
    both = (
        then.select("partner_id", "partner_name", *measures)
        .join(now.select("partner_id", "partner_name", *measures), on="partner_id", how="full", coalesce=True)
        .with_columns(pl.coalesce("partner_name_right", "partner_name").alias("partner_name"))
    )
    parts = []
    for measure, label in CHANGE_MEASURES:
        rows = both.select(
            pl.lit(label).alias("measure"),
            "partner_id",
            "partner_name",
            pl.col(measure).fill_null(0).cast(pl.Float64).alias("then"),
            pl.col(f"{measure}_right").fill_null(0).cast(pl.Float64).alias("now"),
        ).with_columns((pl.col("now") - pl.col("then")).alias("change"))
        up = rows.filter(pl.col("change") > 0).sort(["change", "partner_id"], descending=[True, False]).head(top)
        down = rows.filter(pl.col("change") < 0).sort(["change", "partner_id"]).head(top)
        parts += [up.with_columns(direction=pl.lit("up")), down.with_columns(direction=pl.lit("down"))]
    schema = {
        "measure": pl.String,
        "direction": pl.String,
        "partner_id": pl.String,
        "partner_name": pl.String,
        "then": pl.Float64,
        "now": pl.Float64,
        "change": pl.Float64,
    }
    return pl.concat([p.select(list(schema)) for p in parts]) if parts else pl.DataFrame(schema=schema)


def watch_list(then: pl.DataFrame, now: pl.DataFrame, view: View) -> pl.DataFrame:
    """Partners to watch, from the segmented partners of both dates under the same thresholds:

    - **lost activation**: activated on the since date, in the program and not activated now;
    - **reward, close to the reward threshold**: in the reward tier now with revenue below
      (1 + CLOSE_TO_REWARD) x the reward threshold;
    - **grace period ends soon**: not activated now and its grace period (joined_on +
      grace_days) ends after the as-of date and within GRACE_ENDS_WITHIN_DAYS days of it.

    Columns `partner_id, partner_name, watch, tier, revenue, detail`, largest revenue first."""
    activated_then = then.filter(pl.col("activated")).select("partner_id")
    grace_end = pl.col("joined_on") + pl.duration(days=view.grace_days)
    lost = now.join(activated_then, on="partner_id", how="semi").filter(~pl.col("activated"))
    close = now.filter(
        (pl.col("tier") == "reward") & (pl.col("revenue") < view.reward_min_revenue * (1 + CLOSE_TO_REWARD))
    )
    ending = now.filter(
        ~pl.col("activated")
        & (grace_end > pl.lit(view.as_of))
        & (grace_end <= pl.lit(view.as_of + timedelta(days=GRACE_ENDS_WITHIN_DAYS)))
    )
    parts = [
        lost.with_columns(
            watch=pl.lit(WATCH_REASONS["lost_activation"]),
            detail=pl.format("meets {} of the criteria now", pl.col("criteria_met")),
        ),
        close.with_columns(
            watch=pl.lit(WATCH_REASONS["close_to_reward"]),
            detail=pl.col("revenue").map_elements(
                lambda revenue: f"revenue {revenue:,.0f} against a threshold of {view.reward_min_revenue:,.0f}",
                return_dtype=pl.String,
            ),
        ),
        ending.with_columns(
            watch=pl.lit(WATCH_REASONS["grace_ending"]),
            detail=pl.format("grace period ends {}", grace_end.dt.strftime("%Y-%m-%d")),
        ),
    ]
    columns = ["partner_id", "partner_name", "watch", "tier", "revenue", "detail"]
    return pl.concat([p.select(columns) for p in parts]).sort(["revenue", "partner_id"], descending=[True, False])


def _money(value: float, currency: str) -> str:
    sign = "-" if value < 0 else ""
    return f"{sign}{currency}{abs(value):,.0f}"


def summary_sentences(headline_rows: pl.DataFrame, comparison: compare.Comparison, currency: str = "$") -> list[str]:
    """A few plain sentences built only from the review's numbers: activation, who moved
    where (partners in the program on both dates; joins and leaves in a sentence of their own),
    MRR. "Activation rose 2.5 points to 39.8%." / "4 partners moved to reward, 2 to drop." /
    "MRR grew $12,400 to $310,000." An empty week says nothing moved."""
    numbers = {row["key"]: row for row in headline_rows.iter_rows(named=True)}
    sentences = []
    activation = numbers["activation_pct"]
    if activation["now"] is not None and activation["change"] is not None:
        change = round(activation["change"], 1)
        if change == 0:
            sentences.append(f"Activation held at {activation['now']:.1f}%.")
        else:
            verb = "rose" if change > 0 else "fell"
            sentences.append(f"Activation {verb} {abs(change):.1f} points to {activation['now']:.1f}%.")
    # "Moved to" counts partners in the program on both dates; joins and leaves are their own sentence.
    stayed = comparison.movers.filter((pl.col("from_tier") != compare.OUT) & (pl.col("to_tier") != compare.OUT))
    counts = dict(stayed.group_by("to_tier").len().iter_rows())
    parts = [f"{counts[tier]:,} to {tier}" for tier in metrics.TIERS if counts.get(tier)]
    joined = int(comparison.movers.filter(pl.col("from_tier") == compare.OUT).height)
    left = int(comparison.movers.filter(pl.col("to_tier") == compare.OUT).height)
    if parts:
        first, *rest = parts
        count, _, tier = first.partition(" to ")
        noun = "partner" if count == "1" else "partners"
        sentences.append(f"{count} {noun} moved to {tier}" + "".join(f", {p}" for p in rest) + ".")
    if joined and left:
        sentences.append(f"{joined:,} joined the program and {left:,} left it.")
    elif joined or left:
        sentences.append(f"{joined or left:,} {'joined' if joined else 'left'} the program.")
    if not comparison.moved:
        sentences.append("No partner changed tier, joined or left.")
    mrr = numbers["mrr"]
    if mrr["change"] is not None:
        if round(mrr["change"]) == 0:
            sentences.append(f"MRR held at {_money(mrr['now'], currency)}.")
        else:
            verb = "grew" if mrr["change"] > 0 else "shrank"
            sentences.append(f"MRR {verb} {_money(abs(mrr['change']), currency)} to {_money(mrr['now'], currency)}.")
    return sentences


@dataclass(frozen=True)
class Review:
    """The week's story: the view now against the same view on the since date."""

    view: View
    since: View
    headline: pl.DataFrame  # `headline`
    comparison: compare.Comparison  # tiers then -> now, joins and leaves as `out`
    biggest: pl.DataFrame  # `biggest_changes`
    watch: pl.DataFrame  # `watch_list`
    summary: list[str]  # `summary_sentences`

    @cached_property
    def _explained(self) -> pl.DataFrame:
        # Wording a reason per mover is the costly part; a cached review words them once, not
        # on every rerun of the page, download and sheet that lists them.
        return self.comparison.explained()

    def movers(self) -> pl.DataFrame:
        """Every partner whose tier changed, who joined or who left, with the reason, largest
        revenue first (ties by partner_id)."""
        return self._explained.sort(["revenue", "partner_id"], descending=[True, False])

    def sheets(self) -> dict[str, pl.DataFrame]:
        """The review's tables as a workbook holds them: `summary` (number, then, now, change,
        unit), `partners` (the `segment` columns now, by partner_id), `movers` (`compare`'s CSV
        columns, by partner_id), `biggest_changes` and `watch_list`."""
        summary = self.headline.with_columns(
            pl.col("key").map_elements(unit, return_dtype=pl.String).alias("unit")
        ).select("number", "then", "now", "change", "unit")
        return {
            "summary": summary,
            "partners": self.comparison.current_rows.select(metrics.SEGMENT_COLUMNS).sort("partner_id"),
            "movers": self._explained.sort("partner_id"),
            "biggest_changes": self.biggest,
            "watch_list": self.watch,
        }


def review(then_facts: pl.DataFrame, now_facts: pl.DataFrame, view: View, since: date, currency: str = "$") -> Review:
    """The review of `view` since `since`, from the per-partner facts of both dates
    (`metrics.partner_facts(con, since, window)` and `(con, as_of, window)`)."""
    before_view = since_view(view, since)
    then = metrics.segment(then_facts, before_view)
    now = metrics.segment(now_facts, view)
    comparison = compare.compare(then, before_view, now, view)
    rows = headline(comparison.base, comparison.current)
    return Review(
        view=view,
        since=before_view,
        headline=rows,
        comparison=comparison,
        biggest=biggest_changes(then, now),
        watch=watch_list(then, now, view),
        summary=summary_sentences(rows, comparison, currency),
    )
