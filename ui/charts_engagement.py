"""Charts and display tables of the Engagement page, built by plain functions.

Every function takes frames already aggregated by kpi.engagement (tens of rows, never
events) and returns an Altair chart or a small frame of display text, so tests check
them without a browser. Tier colours come from ui.charts, like on every other page.
"""

from __future__ import annotations

import functools

import altair as alt
import polars as pl
from altair.utils.schemapi import UndefinedType

from kpi.engagement import ACTIVE_USER_BUCKETS, NO_STAFF
from ui import format as fmt
from ui.charts import PARTNER_COLOR, REVENUE_COLOR, TIER_SCALE, vega_spec

ADOPTERS = "Shared or completed it"
OTHERS = "All other partners"
LIFT_CHART_ITEMS = 10  # bars for 10 items x 2 groups stay readable on a projector
NO_STAFF_COLOR = "#CC79A7"


def split_spec(chart: alt.Chart) -> tuple[dict, pl.DataFrame]:
    """A single-view chart as (Vega-Lite spec without data, its data frame).

    A page draws `st.vega_lite_chart(data, spec)`: the rows go to the browser as Arrow
    instead of inline JSON records, which Streamlit would convert through pandas on every
    rerun. Never modify the returned dict.
    """
    spec = vega_spec(chart)
    spec.pop("data", None)
    spec.pop("datasets", None)
    return spec, chart.data


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def rate_with_sample(rate: float | None, sample: int, unit: str = "deal") -> str:
    """A win rate with the deals it is computed from: "42.0% of 50 deals", "n/a (0 deals)"."""
    if rate is None:
        return f"{fmt.EMPTY} ({_plural(sample, unit)})"
    return f"{fmt.pct(rate)} of {_plural(sample, unit)}"


def money_with_sample(value: float | None, partners: int) -> str:
    """Revenue per partner, to the whole unit, with the partners it is averaged over: "$1,200 (50 partners)"."""
    return f"{fmt.money(None if value is None else round(value))} ({_plural(partners, 'partner')})"


def ratio(value: float | None) -> str:
    """A ratio of two amounts: "1.85x", or n/a."""
    return fmt.EMPTY if value is None else f"{value:,.2f}x"


def items_table(ranked: pl.DataFrame) -> pl.DataFrame:
    """The items table as shown: counts as numbers, every rate as text with its sample size."""
    rows = ranked.iter_rows(named=True)
    return pl.DataFrame(
        [
            {
                "item": row["item_name"],
                "kind": row["kind"],
                "adopters": row["adopters"],
                "adopters_win_rate": rate_with_sample(row["adopters_win_rate"], row["adopters_closed"]),
                "others_win_rate": rate_with_sample(row["others_win_rate"], row["others_closed"]),
                "win_rate_lift": fmt.pct_points(row["win_rate_lift"]),
                "adopters_revenue_per_partner": money_with_sample(row["adopters_revenue_per_partner"], row["adopters"]),
                "others_revenue_per_partner": money_with_sample(row["others_revenue_per_partner"], row["others"]),
                "revenue_ratio": ratio(row["revenue_ratio"]),
                "sample": "small sample" if row["small_sample"] else "",
                "partners": row["partners"],
                "staff": row["staff"],
                "shares": row["shares"],
                "completions": row["completions"],
                "views": row["views"],
            }
            for row in rows
        ],
        schema={
            "item": pl.String,
            "kind": pl.String,
            "adopters": pl.Int64,
            "adopters_win_rate": pl.String,
            "others_win_rate": pl.String,
            "win_rate_lift": pl.String,
            "adopters_revenue_per_partner": pl.String,
            "others_revenue_per_partner": pl.String,
            "revenue_ratio": pl.String,
            "sample": pl.String,
            "partners": pl.Int64,
            "staff": pl.Int64,
            "shares": pl.Int64,
            "completions": pl.Int64,
            "views": pl.Int64,
        },
    )


def lift_chart(ranked: pl.DataFrame, items: int = LIFT_CHART_ITEMS) -> alt.Chart:
    """Win rate of the partners who shared or completed each item against all other
    partners, for the first `items` items of `ranked` (from kpi.engagement.rank_items).
    The tooltip gives each bar's deals won / closed and partners; small samples are faded."""
    top = ranked.head(items)
    order = top["item_name"].to_list()

    def group(name: str, prefix: str, partners: str) -> pl.DataFrame:
        return top.select(
            pl.col("item_name").alias("item"),
            pl.lit(name).alias("group"),
            pl.col(f"{prefix}_win_rate").round(1).alias("win_rate"),
            pl.col(f"{prefix}_won").alias("won"),
            pl.col(f"{prefix}_closed").alias("closed"),
            pl.col(partners).alias("partners"),
            pl.when(pl.col("small_sample")).then(pl.lit("yes")).otherwise(pl.lit("no")).alias("small_sample"),
        )

    data = pl.concat([group(ADOPTERS, "adopters", "adopters"), group(OTHERS, "others", "others")])
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("item:N", title=None, sort=order, axis=alt.Axis(labelLimit=260, labelFontSize=13)),
            yOffset=alt.YOffset("group:N", sort=[ADOPTERS, OTHERS]),
            x=alt.X("win_rate:Q", title="Win rate of deals closed in the window (%)", scale=alt.Scale(domain=[0, 100])),
            color=alt.Color(
                "group:N",
                title="Partners",
                scale=alt.Scale(domain=[ADOPTERS, OTHERS], range=[PARTNER_COLOR, REVENUE_COLOR]),
                legend=alt.Legend(orient="top", labelFontSize=13),
            ),
            opacity=alt.condition(alt.datum.small_sample == "yes", alt.value(0.45), alt.value(1.0)),
            tooltip=[
                alt.Tooltip("item:N", title="Item"),
                alt.Tooltip("group:N", title="Partners"),
                alt.Tooltip("win_rate:Q", title="Win rate (%)", format=".1f"),
                alt.Tooltip("won:Q", title="Deals won", format=","),
                alt.Tooltip("closed:Q", title="Deals closed (sample)", format=","),
                alt.Tooltip("partners:Q", title="Partners in the group", format=","),
                alt.Tooltip("small_sample:N", title="Small sample"),
            ],
        )
        .properties(
            title="Win rate: partners who shared or completed the item vs all others", height=max(160, 46 * len(order))
        )
    )


def active_users_chart(distribution: pl.DataFrame) -> alt.Chart:
    """Partners by number of active staff in the window (kpi.engagement.active_users_distribution);
    the partners with no staff on record in their own colour. With none of them, their bar
    and its legend entry are left out rather than drawn empty."""
    no_staff = distribution.filter(pl.col("bucket") == NO_STAFF)["partners"].sum()
    if not no_staff:
        distribution = distribution.filter(pl.col("bucket") != NO_STAFF)
    buckets = [b for b in ACTIVE_USER_BUCKETS if no_staff or b != NO_STAFF]
    kinds = ["has staff", "no staff on record"] if no_staff else ["has staff"]
    data = distribution.select(
        "bucket",
        "partners",
        pl.col("share_pct").round(1),
        pl.when(pl.col("bucket") == NO_STAFF)
        .then(pl.lit("no staff on record"))
        .otherwise(pl.lit("has staff"))
        .alias("staff"),
    )
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(
                "bucket:N",
                title="Active staff in the window (people with any activity)",
                sort=buckets,
                axis=alt.Axis(labelAngle=0, labelFontSize=13),
            ),
            y=alt.Y("partners:Q", title="Partners in the program"),
            color=alt.Color(
                "staff:N",
                title=None,
                scale=alt.Scale(domain=kinds, range=[PARTNER_COLOR, NO_STAFF_COLOR][: len(kinds)]),
                legend=alt.Legend(orient="top", labelFontSize=13, labelLimit=0) if no_staff else None,
            ),
            tooltip=[
                alt.Tooltip("bucket:N", title="Active staff"),
                alt.Tooltip("partners:Q", title="Partners", format=","),
                alt.Tooltip("share_pct:Q", title="Share of the program (%)", format=".1f"),
            ],
        )
        .properties(title="How many of each partner's people are active", height=320)
    )


def look_busy_chart(groups: pl.DataFrame) -> alt.Chart:
    """Look-busy partners: logins against actions in the window, coloured by tier, one dot
    per group of partners with the same tier, logins and actions (kpi.engagement.logins_actions_groups)."""
    return _look_busy(groups)


@functools.lru_cache(maxsize=1)
def look_busy_template() -> dict:
    """`look_busy_chart`'s Vega-Lite spec without data, built once: the list depends on the
    thresholds, so the page sends only the groups on a slider move (no Altair work).
    Never modify the dict."""
    spec = vega_spec(_look_busy(alt.Undefined))
    spec.pop("data", None)
    spec.pop("datasets", None)
    return spec


def _look_busy(groups: pl.DataFrame | UndefinedType) -> alt.Chart:
    return (
        alt.Chart(groups)
        .mark_circle(opacity=0.75)
        .encode(
            x=alt.X(
                "logins:Q",
                title="Logins in the window",
                scale=alt.Scale(zero=False),
                axis=alt.Axis(tickMinStep=1, format=",d"),
            ),
            # A short title: a y title longer than the chart squeezes the plot (the caption explains actions).
            y=alt.Y("actions:Q", title="Actions in the window", axis=alt.Axis(tickMinStep=1, format=",d")),
            color=alt.Color("tier:N", title="Tier", scale=TIER_SCALE, legend=alt.Legend(orient="top")),
            size=alt.Size("partners:Q", title="Partners", legend=None, scale=alt.Scale(range=[60, 800])),
            tooltip=[
                alt.Tooltip("tier:N", title="Tier"),
                alt.Tooltip("logins:Q", title="Logins"),
                alt.Tooltip("actions:Q", title="Actions"),
                alt.Tooltip("partners:Q", title="Partners", format=","),
            ],
        )
        .properties(title="Look busy: many logins, little of the work that counts", height=360)
    )
