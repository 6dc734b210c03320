"""The app's cached access to the engine (Streamlit side of the boundary).

The connection is a cached resource per database file version; per-partner facts
are cached per (file, file version, as-of, window). Thresholds are applied to the
cached facts, so a slider move never rescans events.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
import streamlit as st

from kpi import history, metrics, store
from kpi.params import View
from ui import charts

DEFAULT_DB = Path(__file__).resolve().parent.parent / "data" / "demo.duckdb"


@dataclass(frozen=True)
class Dataset:
    """The database the app reads, and the version of the file (a new one per load)."""

    path: str
    version: str
    span: tuple[date, date] | None  # (first date, default as-of), None when there is no data


def db_path() -> Path:
    """KPI_DB, or the demo database under data/."""
    return Path(os.environ.get("KPI_DB") or DEFAULT_DB)


def _file_version(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_ino}-{stat.st_mtime_ns}-{stat.st_size}"


_DEMO_LOCK = threading.Lock()  # sessions starting together build the demo once


def _ensure_demo(path: Path) -> None:
    from kpi.demo import generate
    from kpi.validate import validate_frames

    with _DEMO_LOCK:
        if path.exists():
            return
        with st.spinner("Building the demo dataset (first start only)..."):
            validation = validate_frames(generate())
            history.load_dataset(
                validation.tables, path, source="demo partners=300 seed=7", files=[], loaded_at=datetime.now()
            )


# A DuckDB connection is not thread-safe: every query below takes its own cursor.
@st.cache_resource(max_entries=4)
def _connection(path: str, version: str) -> duckdb.DuckDBPyConnection:
    return store.connect(Path(path))


@st.cache_data(max_entries=16, show_spinner=False)
def _span(path: str, version: str) -> tuple[date, date] | None:
    with _connection(path, version).cursor() as cur:
        return store.data_span(cur)


def open_dataset() -> Dataset:
    """The dataset named by KPI_DB; the demo database is built on first start."""
    path = db_path()
    if not path.exists():
        if "KPI_DB" in os.environ:
            raise FileNotFoundError(
                f"KPI_DB names {path}, which does not exist. Create it with "
                f"'python -m kpi load YOUR_FOLDER --db {path}' or unset KPI_DB to use the demo data."
            )
        _ensure_demo(path)
    version = _file_version(path)
    return Dataset(str(path), version, _span(str(path), version))


# cache_resource, not cache_data: the frames are never modified, and a cache hit then
# costs nothing instead of unpickling megabytes on every slider move.
@st.cache_resource(max_entries=32, show_spinner="Counting partner activity...")
def _facts(path: str, version: str, as_of: date, window_days: int) -> pl.DataFrame:
    with _connection(path, version).cursor() as cur:
        return metrics.partner_facts(cur, as_of, window_days)


def partner_facts(dataset: Dataset, as_of: date, window_days: int) -> pl.DataFrame:
    return _facts(dataset.path, dataset.version, as_of, window_days)


def segmented(dataset: Dataset, view: View) -> pl.DataFrame:
    """Per-partner tiers for the view, from cached facts."""
    return metrics.segment(partner_facts(dataset, view.require_as_of(), view.window_days), view)


@st.cache_resource(max_entries=8, show_spinner=False)
def _monthly(path: str, version: str, until: date) -> pl.DataFrame:
    with _connection(path, version).cursor() as cur:
        return metrics.monthly_program(cur, until)


def monthly_program(dataset: Dataset) -> pl.DataFrame:
    """The whole history, month by month, up to the data's latest date."""
    assert dataset.span is not None
    return _monthly(dataset.path, dataset.version, dataset.span[1])


@st.cache_resource(max_entries=8, show_spinner=False)
def _history_chart(path: str, version: str, until: date, currency: str) -> dict:
    spec = charts.vega_spec(charts.program_history(_monthly(path, version, until), currency))
    # Rows as a frame: Streamlit sends a Polars frame as Arrow in ~0.2 ms, but takes a list of
    # dicts through pandas on every rerun (2-5 ms).
    spec["datasets"] = {name: pl.DataFrame(rows) for name, rows in spec["datasets"].items()}
    return spec


def program_history_spec(dataset: Dataset, currency: str) -> dict:
    """The growth-vs-revenue chart: it depends on the data only, so it is built once per dataset."""
    assert dataset.span is not None
    return _history_chart(dataset.path, dataset.version, dataset.span[1], currency)


# Every partner month by month (about 50 MB at 20,000 partners): kept for the last two as-of
# dates only, and shared by the pages that reduce it (ROI, Recurring revenue), so the second
# of them to open does not run the same 1-3 s query again.
@st.cache_resource(max_entries=2, show_spinner="Adding up every partner month by month...")
def _partner_months(path: str, version: str, until: date) -> pl.DataFrame:
    with _connection(path, version).cursor() as cur:
        return metrics.partner_months(cur, until)


# --- The Tiers page's partner list: what depends on the facts only, built once per facts ---

FILTER_COLUMNS = ("region", "partner_type", "channel_manager")


@dataclass(frozen=True)
class PartnerList:
    """The facts in partner-name order, and the values each filter of the list offers."""

    facts: pl.DataFrame  # by partner_name, then partner_id: a stable sort on another column keeps name order in ties
    options: dict[str, tuple[str, ...]]  # column -> its distinct non-empty values, sorted


@st.cache_resource(max_entries=32, show_spinner=False)
def _partner_list(path: str, version: str, as_of: date, window_days: int) -> PartnerList:
    facts = _facts(path, version, as_of, window_days).sort("partner_name", "partner_id")
    options = {column: tuple(sorted(facts[column].drop_nulls().unique().to_list())) for column in FILTER_COLUMNS}
    return PartnerList(facts, options)


def partner_list(dataset: Dataset, view: View) -> PartnerList:
    """The view's facts in partner-name order and the filter options (cached per facts)."""
    return _partner_list(dataset.path, dataset.version, view.require_as_of(), view.window_days)


# --- engagement page ---
from kpi import engagement  # noqa: E402  (kept inside this page's block of the shared file)
from ui import charts_engagement  # noqa: E402


@dataclass(frozen=True)
class EngagementFacts:
    """What the Engagement page shows that depends only on (data, as-of, window)."""

    items: pl.DataFrame  # every content piece and course with its lift (kpi.engagement.item_lift)
    unused: pl.DataFrame  # items nobody in the program used in the window
    staff: pl.DataFrame  # one row per staff member of a partner in the program
    distribution: pl.DataFrame  # partners by active staff
    without_staff: pl.DataFrame  # partners with no staff on record
    most_engaged: pl.DataFrame  # top 10 staff by actions
    least_engaged: pl.DataFrame  # all staff with no action, most logins first
    active_staff: int  # staff with any activity in the window
    silent_staff: int  # staff with no activity at all in the window, not even a login
    active_users_chart: tuple[dict, pl.DataFrame]  # the distribution chart (spec, data)


@st.cache_resource(max_entries=16, show_spinner="Counting content, course and staff activity...")
def _engagement(path: str, version: str, as_of: date, window_days: int) -> EngagementFacts:
    with _connection(path, version).cursor() as cur:
        items = engagement.item_lift(engagement.item_facts(cur, as_of, window_days))
        staff = engagement.staff_facts(cur, as_of, window_days)
    facts = _facts(path, version, as_of, window_days)
    distribution = engagement.active_users_distribution(facts, staff)
    least_engaged = engagement.least_engaged_staff(staff)
    return EngagementFacts(
        items=items,
        unused=engagement.unused_items(items),
        staff=staff,
        distribution=distribution,
        without_staff=engagement.partners_without_staff(facts, staff),
        most_engaged=engagement.most_engaged_staff(staff),
        least_engaged=least_engaged,
        active_staff=engagement.active_staff(staff),
        silent_staff=least_engaged.filter(pl.col("logins") == 0).height,
        active_users_chart=charts_engagement.split_spec(charts_engagement.active_users_chart(distribution)),
    )


def engagement_facts(dataset: Dataset, view: View) -> EngagementFacts:
    """The Engagement page's items, staff and distribution for the view's as-of date and window."""
    return _engagement(dataset.path, dataset.version, view.require_as_of(), view.window_days)


@dataclass(frozen=True)
class RankedItems:
    ranked: pl.DataFrame  # every item in the chosen order
    table: pl.DataFrame  # the first `top` items as displayed
    lift_chart: tuple[dict, pl.DataFrame]  # the lift chart of the first items (spec, data)


@st.cache_resource(max_entries=32, show_spinner=False)
def _ranked_items(path: str, version: str, as_of: date, window_days: int, rank_by: str, top: int) -> RankedItems:
    ranked = engagement.rank_items(_engagement(path, version, as_of, window_days).items, rank_by)
    return RankedItems(
        ranked=ranked,
        table=charts_engagement.items_table(ranked.head(top)),
        lift_chart=charts_engagement.split_spec(charts_engagement.lift_chart(ranked)),
    )


def ranked_items(dataset: Dataset, view: View, rank_by: str, top: int) -> RankedItems:
    """Items ranked by `rank_by` (kpi.engagement.ITEM_RANKINGS), the table of the first `top`, the lift chart."""
    return _ranked_items(dataset.path, dataset.version, view.require_as_of(), view.window_days, rank_by, top)


# --- recurring page ---
# kpi.recurring and ui.charts_recurring are imported where used: this block only appends to the file.


@st.cache_resource(max_entries=8, show_spinner="Building the MRR book month by month...")
def _recurring_movement(path: str, version: str, until: date) -> pl.DataFrame:
    from kpi import recurring

    # partner_months (hundreds of thousands of rows at 20,000 partners) is reduced to one row a month here.
    return recurring.mrr_movement(_partner_months(path, version, until))


def recurring_movement(dataset: Dataset, as_of: date) -> pl.DataFrame:
    """Program MRR, ARR and the MRR movement month by month up to the as-of date (cached per as-of)."""
    return _recurring_movement(dataset.path, dataset.version, as_of)


def _chart_spec(chart: object) -> dict:
    """The chart's Vega-Lite spec with its datasets already as Arrow IPC bytes.

    Streamlit passes bytes datasets through as they are (what st.altair_chart does), instead of
    turning rows of dicts into Arrow on every rerun: ~3 ms a chart, four charts on this page.
    The spec is cached and never changed: Streamlit works on a copy.
    """
    from streamlit import dataframe_util

    spec = charts.vega_spec(chart)  # type: ignore[arg-type]
    spec["datasets"] = {
        name: dataframe_util.convert_anything_to_arrow_bytes(pl.DataFrame(rows, infer_schema_length=None))
        for name, rows in spec["datasets"].items()
    }
    return spec


@dataclass(frozen=True)
class RecurringBook:
    """Everything on the Recurring revenue page that thresholds do not change, built once per
    (data, as-of, window): the monthly book, retention, concentration and their charts."""

    movement: pl.DataFrame  # kpi.recurring.mrr_movement
    recent: pl.DataFrame  # the last 12 months of the movement, newest first, for the table
    retention: dict  # kpi.recurring.net_revenue_retention
    revenue_concentration: dict  # kpi.recurring.concentration of revenue in the window
    mrr_concentration: dict  # ... and of MRR at the as-of date
    history_chart: dict  # Vega-Lite specs (see _chart_spec)
    movement_chart: dict
    pareto_chart: dict | None  # None when there is no revenue to draw


@st.cache_resource(max_entries=32, show_spinner="Measuring retention and concentration...")
def _recurring_book(path: str, version: str, as_of: date, window_days: int, currency: str) -> RecurringBook:
    from kpi import recurring
    from ui import charts_recurring

    movement = _recurring_movement(path, version, as_of)
    with _connection(path, version).cursor() as cur:
        retention = recurring.net_revenue_retention(recurring.retention_cohort(cur, as_of, window_days))
    facts = _facts(path, version, as_of, window_days)
    curve = recurring.pareto_curve(facts, "revenue")
    recent = movement.tail(12).reverse().with_columns(pl.col("month").dt.strftime("%b %Y"))
    return RecurringBook(
        movement=movement,
        recent=recent.drop("month_end"),
        retention=retention,
        revenue_concentration=recurring.concentration(facts, "revenue"),
        mrr_concentration=recurring.concentration(facts, "mrr"),
        history_chart=_chart_spec(charts_recurring.mrr_history(movement, currency)),
        movement_chart=_chart_spec(charts_recurring.mrr_movement(movement, currency)),
        pareto_chart=None if curve.is_empty() else _chart_spec(charts_recurring.pareto(curve)),
    )


def recurring_book(dataset: Dataset, view: View, currency: str) -> RecurringBook:
    """The threshold-independent part of the Recurring revenue page for this view (cached)."""
    return _recurring_book(dataset.path, dataset.version, view.require_as_of(), view.window_days, currency)


_RECURRING_TIER_SCHEMA = {
    "tier": pl.String,
    "partners": pl.Int64,
    "partners_with_mrr": pl.Int64,
    "mrr": pl.Float64,
    "mrr_pct": pl.Float64,
}


@st.cache_resource(max_entries=64, show_spinner=False)
def _recurring_tier_chart(rows: tuple[tuple, ...], currency: str) -> dict:
    from ui import charts_recurring

    by_tier = pl.DataFrame(list(rows), schema=_RECURRING_TIER_SCHEMA, orient="row")
    return _chart_spec(charts_recurring.mrr_by_tier(by_tier, currency))


def recurring_tier_chart(by_tier: pl.DataFrame, currency: str) -> dict:
    """The MRR-by-tier chart, cached by its three rows (building it costs more than a slider move should)."""
    return _recurring_tier_chart(tuple(by_tier.select(list(_RECURRING_TIER_SCHEMA)).iter_rows()), currency)


# --- roi page ---
# kpi.roi and ui.charts_roi are imported where used: this block only appends to the file.


@st.cache_resource(max_entries=8, show_spinner="Adding up the program month by month...")
def _roi_months(path: str, version: str, as_of: date) -> pl.DataFrame:
    from kpi import roi

    # partner_months (hundreds of thousands of rows at 20,000 partners) is reduced to one row a month here.
    return roi.program_months(_partner_months(path, version, as_of))


@st.cache_resource(max_entries=8, show_spinner="Counting activated partners at each month end...")
def _roi_history(path: str, version: str, as_of: date, window_days: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The months and the partners' activation counts at each month end (one cache lookup a rerun)."""
    from kpi import roi

    months = _roi_months(path, version, as_of)
    with _connection(path, version).cursor() as cur:
        facts = metrics.facts_at(cur, months["month_end"].to_list(), window_days)
    return months, roi.activation_counts(facts)


def roi_monthly(dataset: Dataset, view: View) -> pl.DataFrame:
    """Program ROI and cost per activated partner for the last 24 months up to the as-of date.

    The months and the activation counts at each month end are cached per (as-of, window);
    the view's thresholds are applied in memory (kpi.roi.activated_at).
    """
    from kpi import roi

    months, counts = _roi_history(dataset.path, dataset.version, view.require_as_of(), view.window_days)
    return roi.monthly_roi(months, roi.activated_at(counts, view))


@st.cache_resource(max_entries=8, show_spinner=False)
def _roi_monthly_chart(path: str, version: str, as_of: date) -> tuple[dict, pl.DataFrame]:
    from ui import charts_roi

    return charts_roi.spec_and_data(charts_roi.monthly_roi_chart(_roi_months(path, version, as_of)))


def roi_monthly_chart(dataset: Dataset, view: View) -> tuple[dict, pl.DataFrame]:
    """The monthly program ROI chart as (spec, rows): thresholds do not change it, so it is built
    once per as-of date."""
    return _roi_monthly_chart(dataset.path, dataset.version, view.require_as_of())


@st.cache_resource(max_entries=8, show_spinner=False)
def roi_cost_per_activated_template(currency: str) -> dict:
    """The cost-per-activated chart without its rows (kpi thresholds only change the rows)."""
    from ui import charts_roi

    return charts_roi.cost_per_activated_template(currency)


@st.cache_resource(max_entries=64, show_spinner=False)
def roi_group_template(column: str, bars: int) -> dict:
    """The ROI-by-group chart without its rows, per grouping and number of bars."""
    from ui import charts_roi

    return charts_roi.roi_by_group_template(column, bars)


@st.cache_resource(max_entries=16, show_spinner=False)
def _roi_categories(path: str, version: str, as_of: date, window_days: int) -> pl.DataFrame:
    from kpi import roi

    with _connection(path, version).cursor() as cur:
        investments = roi.investments_by_category(cur, as_of, window_days)
    return roi.investment_by_category(investments, _facts(path, version, as_of, window_days))


def roi_categories(dataset: Dataset, view: View) -> pl.DataFrame:
    """Investment by category against the recipients' revenue (cached per as-of and window)."""
    return _roi_categories(dataset.path, dataset.version, view.require_as_of(), view.window_days)


@st.cache_resource(max_entries=16, show_spinner=False)
def _roi_category_chart(
    path: str, version: str, as_of: date, window_days: int, currency: str
) -> tuple[dict, pl.DataFrame]:
    from ui import charts_roi

    categories = _roi_categories(path, version, as_of, window_days)
    return charts_roi.spec_and_data(charts_roi.category_chart(categories, currency))


def roi_category_chart(dataset: Dataset, view: View, currency: str) -> tuple[dict, pl.DataFrame]:
    """The category chart as (spec, rows), built once per (data, as-of, window)."""
    return _roi_category_chart(dataset.path, dataset.version, view.require_as_of(), view.window_days, currency)


# --- scorecard page ---
# kpi.scorecard and ui.charts_scorecard are imported where used: this block only appends to the file.


@dataclass(frozen=True)
class ScorecardPartners:
    """Every partner of the dataset for the scorecard's picker (in or out of the program)."""

    ids: tuple[str, ...]  # by partner name, then id
    labels: dict[str, str]  # id -> "name (id)", what the picker shows
    rows: dict[str, dict]  # id -> partner_name, joined_on, left_on, region, partner_type, channel_manager
    search: pl.DataFrame  # partner_id and its label in lower case, in `ids` order: what a search matches


@st.cache_resource(max_entries=4, show_spinner=False)
def _scorecard_partners(path: str, version: str) -> ScorecardPartners:
    from kpi import scorecard

    with _connection(path, version).cursor() as cur:
        partners = scorecard.partner_list(cur)
    rows = {row["partner_id"]: row for row in partners.iter_rows(named=True)}
    labels = {pid: f"{row['partner_name']} ({pid})" for pid, row in rows.items()}
    search = pl.DataFrame({"partner_id": list(labels), "text": [label.lower() for label in labels.values()]})
    return ScorecardPartners(tuple(rows), labels, rows, search)


def scorecard_partners(dataset: Dataset) -> ScorecardPartners:
    """The picker's partners and labels, built once per dataset (20,000 partners: ~50 ms once)."""
    return _scorecard_partners(dataset.path, dataset.version)


@st.cache_resource(max_entries=64, show_spinner=False)
def _scorecard_matches(path: str, version: str, text: str, limit: int) -> tuple[tuple[str, ...], int]:
    search = _scorecard_partners(path, version).search
    found = search.filter(pl.col("text").str.contains(text, literal=True)) if text else search
    return tuple(found["partner_id"].head(limit)), found.height


def scorecard_matches(dataset: Dataset, text: str, limit: int) -> tuple[tuple[str, ...], int]:
    """The first `limit` partners (by name) whose "name (id)" contains `text` (any case), and how
    many match in all; every partner when `text` is blank. Cached per search text."""
    return _scorecard_matches(dataset.path, dataset.version, text.strip().lower(), limit)


@dataclass(frozen=True)
class ScorecardPartner:
    """What the scorecard shows of one partner that thresholds do not change."""

    weeks: pl.DataFrame  # its facts at A, A - 7, ..., A - 77 (kpi.scorecard.history_dates), window W each
    months: pl.DataFrame  # kpi.scorecard.monthly: every month from its first up to A
    months_table: object  # the last MONTHS_SHOWN months as displayed, newest first (Arrow)
    months_spec: dict  # the revenue, cost and MRR chart of those months
    staff: pl.DataFrame  # kpi.scorecard.staff_activity in the window
    staff_table: object  # its first STAFF_SHOWN rows as displayed (Arrow)


@st.cache_resource(max_entries=64, show_spinner="Reading this partner's weeks, months and staff...")
def _scorecard_partner(
    path: str, version: str, as_of: date, window_days: int, partner_id: str, currency: str
) -> ScorecardPartner:
    from kpi import scorecard
    from ui import charts_scorecard

    with _connection(path, version).cursor() as cur:
        weeks = metrics.facts_at(cur, scorecard.history_dates(as_of), window_days, partner_id)
        months = scorecard.monthly(metrics.partner_months(cur, as_of, partner_id))
        staff = scorecard.staff_activity(cur, partner_id, as_of, window_days)
    recent = months.tail(charts_scorecard.MONTHS_SHOWN)
    spec = charts.vega_spec(charts_scorecard.monthly_money(recent, currency))
    # Rows as a frame: Streamlit sends a Polars frame as Arrow, a list of dicts through pandas on every rerun.
    spec["datasets"] = {name: pl.DataFrame(rows) for name, rows in spec["datasets"].items()}
    return ScorecardPartner(
        weeks=weeks,
        months=months,
        months_table=charts_scorecard.months_table(recent).to_arrow(),
        months_spec=spec,
        staff=staff,
        staff_table=charts_scorecard.staff_table(staff.head(charts_scorecard.STAFF_SHOWN)).to_arrow(),
    )


def scorecard_partner(dataset: Dataset, view: View, partner_id: str, currency: str) -> ScorecardPartner:
    """One partner's weekly facts, months and staff for the view's as-of date and window: three
    one-partner queries (~300 ms at 20,000 partners) once, then cached per (partner, as-of, window)."""
    return _scorecard_partner(
        dataset.path, dataset.version, view.require_as_of(), view.window_days, partner_id, currency
    )


@dataclass(frozen=True)
class ScorecardHistory:
    history: pl.DataFrame  # kpi.scorecard.tier_history
    points: pl.DataFrame  # the rows the tier-history chart draws
    table: object  # the weeks as displayed, newest first (Arrow)


# Keyed on the view's values as a plain tuple (hashing the View object costs ~1 ms a call);
# `_weeks` is not hashed: (path, version, as-of, window, partner) already name it.
@st.cache_resource(max_entries=128, show_spinner=False)
def _scorecard_history(
    path: str, version: str, view_values: tuple, partner_id: str, _weeks: pl.DataFrame
) -> ScorecardHistory:
    from kpi import scorecard
    from ui import charts_scorecard

    view = View(*view_values)
    history = scorecard.tier_history(_weeks, view, scorecard.history_dates(view.require_as_of()))
    return ScorecardHistory(
        history, charts_scorecard.history_points(history), charts_scorecard.history_table(history).to_arrow()
    )


def scorecard_history(dataset: Dataset, view: View, partner: ScorecardPartner, partner_id: str) -> ScorecardHistory:
    """The partner's tier each week under the view's thresholds, in memory from its cached
    weekly facts; kept per view, so going back to earlier thresholds costs nothing."""
    values = tuple(getattr(view, name) for name in View.__dataclass_fields__)  # in field order
    return _scorecard_history(dataset.path, dataset.version, values, partner_id, partner.weeks)
