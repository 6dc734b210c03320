"""The app's cached access to the engine (the Streamlit side of the boundary).

Every number comes from a public `kpi` function; this module keeps what they return so a
rerun does not compute it again, and builds the pages' charts and display tables from it.
The database is read only through `cursor` (one connection per file version). Cached
functions are declared with `cached`: keyed on the dataset's path and version and on plain
values (dates, windows, a view's values). Per-partner facts are keyed on (as-of, window),
never on thresholds: thresholds are applied to cached facts, so a slider move runs no
query.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import polars as pl
import streamlit as st

from kpi import (
    brief,
    compare,
    correlation,
    engagement,
    history,
    metrics,
    recurring,
    report,
    review,
    roi,
    scorecard,
    store,
    tiers,
)
from kpi import scenarios as kpi_scenarios
from kpi.params import View
from ui import charts, charts_engagement, charts_recurring, charts_roi, charts_scorecard, charts_whatif

DEFAULT_DB = Path(__file__).resolve().parent.parent / "data" / "demo.duckdb"
F = TypeVar("F", bound=Callable[..., Any])


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
    from kpi.demo import generate, source_text
    from kpi.validate import validate_frames

    with _DEMO_LOCK:
        if path.exists():
            return
        with st.spinner("Building the demo dataset (first start only)..."):
            validation = validate_frames(generate())
            history.load_dataset(
                validation.tables, path, source=source_text(300, 7), files=[], loaded_at=datetime.now()
            )


# --- caching -------------------------------------------------------------------------------

# What names a dataset or a view in a cache key: the file and its version (the span follows
# from them), and the view's values as a plain tuple (cheaper to hash than the object).
_CACHE_KEYS: dict[type, Callable[[Any], tuple]] = {
    Dataset: lambda dataset: (dataset.path, dataset.version),
    View: View.values,
}


def cached(max_entries: int, show_spinner: bool | str = False) -> Callable[[F], F]:
    """`st.cache_resource` keyed as above. A resource, not cache_data: what is cached is never
    modified, so a hit costs a lookup instead of unpickling frames on every rerun."""
    decorator = st.cache_resource(max_entries=max_entries, show_spinner=show_spinner, hash_funcs=_CACHE_KEYS)
    return decorator  # type: ignore[return-value]


@cached(max_entries=4)
def _connection(dataset: Dataset) -> duckdb.DuckDBPyConnection:
    return store.connect(Path(dataset.path))


@contextmanager
def cursor(dataset: Dataset) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor of the dataset's connection: the only way ui/ and pages/ reach the database.
    A DuckDB connection is not thread-safe, so every query takes its own cursor."""
    with _connection(dataset).cursor() as cur:
        yield cur


@cached(max_entries=16)
def _span(dataset: Dataset) -> tuple[date, date] | None:
    with cursor(dataset) as cur:
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
    unread = Dataset(str(path), _file_version(path), None)
    return Dataset(unread.path, unread.version, _span(unread))


def _frame_datasets(spec: dict) -> dict:
    """A Vega-Lite spec with its datasets as Polars frames: Streamlit sends a frame as Arrow,
    but turns a list of dicts into a table through pandas on every rerun."""
    spec["datasets"] = {name: pl.DataFrame(rows) for name, rows in spec["datasets"].items()}
    return spec


def arrow_spec(chart: object) -> dict:
    """The chart's Vega-Lite spec with its datasets already as Arrow IPC bytes, which Streamlit
    passes through as they are (what st.altair_chart does) instead of converting rows of dicts
    on every rerun. Cached specs are never changed: Streamlit works on a copy."""
    from streamlit import dataframe_util

    spec = charts.vega_spec(chart)  # type: ignore[arg-type]
    spec["datasets"] = {
        name: dataframe_util.convert_anything_to_arrow_bytes(pl.DataFrame(rows, infer_schema_length=None))
        for name, rows in spec["datasets"].items()
    }
    return spec


# --- shared by the pages ---------------------------------------------------------------------


@cached(max_entries=32, show_spinner="Counting partner activity...")
def partner_facts(dataset: Dataset, as_of: date, window_days: int) -> pl.DataFrame:
    """`kpi.metrics.partner_facts`: the one scan of events, per (data, as-of, window)."""
    with cursor(dataset) as cur:
        return metrics.partner_facts(cur, as_of, window_days)


def segmented(dataset: Dataset, view: View) -> pl.DataFrame:
    """The view's thresholds applied to its cached facts (`kpi.metrics.segment`)."""
    return metrics.segment(partner_facts(dataset, view.as_of, view.window_days), view)


# Every partner month by month: large, so kept for the last two as-of dates only, and shared
# by the pages that reduce it (ROI, Recurring revenue) so the second of them does not read it again.
@cached(max_entries=2, show_spinner="Adding up every partner month by month...")
def _partner_months(dataset: Dataset, until: date) -> pl.DataFrame:
    with cursor(dataset) as cur:
        return metrics.partner_months(cur, until)


# --- overview --------------------------------------------------------------------------------


@cached(max_entries=8)
def monthly_program(dataset: Dataset) -> pl.DataFrame:
    """`kpi.metrics.monthly_program` up to the data's latest date."""
    assert dataset.span is not None
    with cursor(dataset) as cur:
        return metrics.monthly_program(cur, dataset.span[1])


@cached(max_entries=8)
def program_history_spec(dataset: Dataset, currency: str) -> dict:
    """The growth-vs-revenue chart: it depends on the data only, so it is built once per dataset."""
    return _frame_datasets(charts.vega_spec(charts.program_history(monthly_program(dataset), currency)))


# --- tiers -----------------------------------------------------------------------------------


@cached(max_entries=32)
def partner_list(dataset: Dataset, as_of: date, window_days: int) -> tiers.PartnerList:
    """`kpi.tiers.partner_list` of the cached facts."""
    return tiers.partner_list(partner_facts(dataset, as_of, window_days))


@cached(max_entries=8)
def scenarios(dataset: Dataset) -> tuple[kpi_scenarios.Scenario, ...]:
    """The dataset's saved scenarios (`kpi.scenarios`); a change to them is a new file version."""
    with cursor(dataset) as cur:
        return tuple(kpi_scenarios.connected(cur))


@dataclass(frozen=True)
class WhatIf:
    """The view against its comparison base, from the same cached facts."""

    base_view: View
    numbers: dict  # kpi.report.against_base
    comparison: compare.Comparison | None  # None when the view is the base


def what_if(dataset: Dataset, view: View, base_view: View, current: pl.DataFrame | None = None) -> WhatIf:
    """`kpi.report.against_base` and `kpi.compare.compare` of the view against its base (the
    policy's or a scenario's thresholds at the same as-of date and window). The base's tiers
    and numbers are cached on their own: they stay the same while the sidebar's thresholds
    move. `current`: the view's segmented partners, when the page has them already."""
    base = _base_segmented(dataset, base_view)
    current = segmented(dataset, view) if current is None else current
    numbers = report.against_base(base, base_view, current, view, _base_numbers(dataset, base_view))
    moved = None if base_view == view else compare.compare(base, base_view, current, view)
    return WhatIf(base_view, numbers, moved)


@cached(max_entries=8)
def _base_segmented(dataset: Dataset, base_view: View) -> pl.DataFrame:
    """A comparison base's tiers: they stay the same while the sidebar's thresholds move."""
    return segmented(dataset, base_view)


@cached(max_entries=8)
def _base_numbers(dataset: Dataset, base_view: View) -> dict:
    """`kpi.report.what_if_numbers` of a comparison base (never modified by a page)."""
    return report.what_if_numbers(_base_segmented(dataset, base_view), base_view)


@cached(max_entries=8)
def _sensitivity_template(names: tuple[str, ...], base_label: str) -> dict:
    return charts_whatif.sensitivity_template(names, base_label)


@cached(max_entries=32)
def sensitivity_curves(dataset: Dataset, view: View) -> dict[str, pl.DataFrame]:
    """`kpi.compare.sensitivity_all` of the view's cached facts: every threshold's curve."""
    return compare.sensitivity_all(partner_facts(dataset, view.as_of, view.window_days), view)


@cached(max_entries=32)
def sensitivity_spec(dataset: Dataset, view: View, base_view: View, base_label: str) -> dict:
    """Every threshold's sensitivity curve as the What-if page's chart: the cached template
    with this view's rows."""
    curves = sensitivity_curves(dataset, view)
    template = _sensitivity_template(tuple(curves), base_label)
    return charts_whatif.sensitivity_spec(curves, view, base_view, base_label, template)


@cached(max_entries=64)
def _beside_template(name: str, base_label: str) -> dict:
    return charts_whatif.beside_template(name, base_label)


def beside_specs(dataset: Dataset, view: View, base_view: View, base_label: str) -> dict[str, dict]:
    """Each threshold's curve as the small chart drawn under its control in the sidebar."""
    curves = sensitivity_curves(dataset, view)
    return {
        name: charts_whatif.beside_spec(name, curve, view, base_view, base_label, _beside_template(name, base_label))
        for name, curve in curves.items()
    }


@cached(max_entries=16)
def threshold_suggestions(
    dataset: Dataset, as_of: date, window_days: int
) -> tuple[tuple[correlation.Suggestion, pl.DataFrame], ...]:
    """`kpi.correlation.suggestions` of the cached facts with each behaviour's evidence:
    they depend on the as-of date and window, not on the thresholds."""
    facts = partner_facts(dataset, as_of, window_days)
    return tuple((s, correlation.evidence(facts, s.behaviour)) for s in correlation.suggestions(facts))


@cached(max_entries=32, show_spinner="Comparing with the earlier date...")
def weekly_review(dataset: Dataset, view: View, since: date, currency: str) -> review.Review:
    """`kpi.review.review` of the view since `since`, from the cached facts of both dates."""
    then = partner_facts(dataset, since, view.window_days)
    now = partner_facts(dataset, view.as_of, view.window_days)
    return review.review(then, now, view, since, currency)


@cached(max_entries=4)
def load_info(dataset: Dataset) -> store.DatasetInfo:
    """What the database says about its load (time, source, files), for the brief's stamp."""
    return store.describe(Path(dataset.path))


def brief_file(dataset: Dataset, view: View, since: date, scenario: str | None, currency: str, kind: str) -> bytes:
    """The weekly brief of the cached review as PDF or HTML (`kpi.brief`); built when asked for."""
    stamp = brief.Stamp(load_info(dataset), scenario, currency)
    result = weekly_review(dataset, view, since, currency)
    return brief.to_pdf(result, stamp) if kind == "pdf" else brief.to_html(result, stamp).encode()


# --- roi -------------------------------------------------------------------------------------


@cached(max_entries=8, show_spinner="Adding up the program month by month...")
def _roi_months(dataset: Dataset, as_of: date) -> pl.DataFrame:
    return roi.program_months(_partner_months(dataset, as_of))


@cached(max_entries=8, show_spinner="Counting activated partners at each month end...")
def roi_history(dataset: Dataset, as_of: date, window_days: int) -> roi.MonthlyHistory:
    """`kpi.roi.monthly_history` from the shared partner months; apply thresholds with `kpi.roi.monthly`."""
    months = _roi_months(dataset, as_of)
    with cursor(dataset) as cur:
        return roi.monthly_history(cur, as_of, window_days, months=months)


@cached(max_entries=8)
def roi_monthly_chart(dataset: Dataset, as_of: date) -> tuple[dict, pl.DataFrame]:
    """The monthly program ROI chart as (spec, rows): thresholds do not change it."""
    return charts_roi.spec_and_data(charts_roi.monthly_roi_chart(_roi_months(dataset, as_of)))


@cached(max_entries=8)
def roi_cost_per_activated_template(currency: str) -> dict:
    """The cost-per-activated chart without its rows (thresholds only change the rows)."""
    return charts_roi.cost_per_activated_template(currency)


@cached(max_entries=64)
def roi_group_template(column: str, bars: int) -> dict:
    """The ROI-by-group chart without its rows, per grouping and number of bars."""
    return charts_roi.roi_by_group_template(column, bars)


@cached(max_entries=16)
def roi_categories(dataset: Dataset, as_of: date, window_days: int) -> pl.DataFrame:
    """`kpi.roi.categories` with the cached facts."""
    facts = partner_facts(dataset, as_of, window_days)
    with cursor(dataset) as cur:
        return roi.categories(cur, as_of, window_days, facts)


@cached(max_entries=16)
def roi_category_chart(dataset: Dataset, as_of: date, window_days: int, currency: str) -> tuple[dict, pl.DataFrame]:
    """The category chart as (spec, rows)."""
    return charts_roi.spec_and_data(charts_roi.category_chart(roi_categories(dataset, as_of, window_days), currency))


# --- recurring revenue -----------------------------------------------------------------------


@cached(max_entries=8, show_spinner="Building the MRR book month by month...")
def _mrr_movement(dataset: Dataset, as_of: date) -> pl.DataFrame:
    return recurring.mrr_movement(_partner_months(dataset, as_of))


@dataclass(frozen=True)
class RecurringBook:
    """`kpi.recurring.book` for (data, as-of, window) and what the page draws of it."""

    book: recurring.Book
    recent: pl.DataFrame  # the movement table as displayed
    history_chart: dict  # Vega-Lite specs with Arrow datasets (`arrow_spec`)
    movement_chart: dict
    pareto_chart: dict | None  # None when there is no revenue to draw


@cached(max_entries=32, show_spinner="Measuring retention and concentration...")
def recurring_book(dataset: Dataset, as_of: date, window_days: int, currency: str) -> RecurringBook:
    """The threshold-independent part of the Recurring revenue page."""
    facts = partner_facts(dataset, as_of, window_days)
    movement = _mrr_movement(dataset, as_of)
    with cursor(dataset) as cur:
        book = recurring.book(cur, as_of, window_days, facts, movement=movement)
    return RecurringBook(
        book=book,
        recent=charts_recurring.recent_months(book.movement),
        history_chart=arrow_spec(charts_recurring.mrr_history(book.movement, currency)),
        movement_chart=arrow_spec(charts_recurring.mrr_movement(book.movement, currency)),
        pareto_chart=None if book.pareto.is_empty() else arrow_spec(charts_recurring.pareto(book.pareto)),
    )


_RECURRING_TIER_SCHEMA = {
    "tier": pl.String,
    "partners": pl.Int64,
    "partners_with_mrr": pl.Int64,
    "mrr": pl.Float64,
    "mrr_pct": pl.Float64,
}


@cached(max_entries=64)
def _recurring_tier_chart(rows: tuple[tuple, ...], currency: str) -> dict:
    by_tier = pl.DataFrame(list(rows), schema=_RECURRING_TIER_SCHEMA, orient="row")
    return arrow_spec(charts_recurring.mrr_by_tier(by_tier, currency))


def recurring_tier_chart(by_tier: pl.DataFrame, currency: str) -> dict:
    """The MRR-by-tier chart, cached by its three rows (building it costs more than a slider move should)."""
    return _recurring_tier_chart(tuple(by_tier.select(list(_RECURRING_TIER_SCHEMA)).iter_rows()), currency)


# --- engagement ------------------------------------------------------------------------------


@cached(max_entries=16, show_spinner="Counting content, course and staff activity...")
def engagement_facts(dataset: Dataset, as_of: date, window_days: int) -> engagement.PageFacts:
    """`kpi.engagement.page_facts` with the cached facts."""
    facts = partner_facts(dataset, as_of, window_days)
    with cursor(dataset) as cur:
        return engagement.page_facts(cur, as_of, window_days, facts)


@cached(max_entries=16)
def active_users_chart(dataset: Dataset, as_of: date, window_days: int) -> tuple[dict, pl.DataFrame]:
    """The partners-by-active-staff chart as (spec, rows)."""
    distribution = engagement_facts(dataset, as_of, window_days).distribution
    return charts_engagement.split_spec(charts_engagement.active_users_chart(distribution))


@dataclass(frozen=True)
class RankedItems:
    ranked: pl.DataFrame  # every item in the chosen order
    table: pl.DataFrame  # the first `top` items as displayed
    lift_chart: tuple[dict, pl.DataFrame]  # the lift chart of the first items (spec, rows)


@cached(max_entries=32)
def ranked_items(dataset: Dataset, as_of: date, window_days: int, rank_by: str, top: int) -> RankedItems:
    """Items ranked by `rank_by` (kpi.engagement.ITEM_RANKINGS), the table of the first `top`, the lift chart."""
    ranked = engagement.rank_items(engagement_facts(dataset, as_of, window_days).items, rank_by)
    return RankedItems(
        ranked=ranked,
        table=charts_engagement.items_table(ranked.head(top)),
        lift_chart=charts_engagement.split_spec(charts_engagement.lift_chart(ranked)),
    )


# --- partner scorecard -----------------------------------------------------------------------


@dataclass(frozen=True)
class ScorecardPartners:
    """Every partner of the dataset for the scorecard's picker (in or out of the program)."""

    ids: tuple[str, ...]  # by partner name, then id
    labels: dict[str, str]  # id -> "name (id)", what the picker shows
    rows: dict[str, dict]  # id -> its row of kpi.scorecard.partner_list
    search: pl.DataFrame  # partner_id and its label in lower case, in `ids` order: what a search matches


@cached(max_entries=4)
def scorecard_partners(dataset: Dataset) -> ScorecardPartners:
    """The picker's partners and labels, built once per dataset."""
    with cursor(dataset) as cur:
        partners = scorecard.partner_list(cur)
    rows = {row["partner_id"]: row for row in partners.iter_rows(named=True)}
    labels = {pid: f"{row['partner_name']} ({pid})" for pid, row in rows.items()}
    search = pl.DataFrame({"partner_id": list(labels), "text": [label.lower() for label in labels.values()]})
    return ScorecardPartners(tuple(rows), labels, rows, search)


@cached(max_entries=64)
def scorecard_matches(dataset: Dataset, text: str, limit: int) -> tuple[tuple[str, ...], int]:
    """The first `limit` partners (by name) whose "name (id)" contains `text` (any case, spaces
    around it ignored), and how many match in all; every partner when `text` is blank."""
    needle = text.strip().lower()
    search = scorecard_partners(dataset).search
    found = search.filter(pl.col("text").str.contains(needle, literal=True)) if needle else search
    return tuple(found["partner_id"].head(limit)), found.height


@cached(max_entries=64, show_spinner="Reading this partner's weeks, months and staff...")
def scorecard_record(dataset: Dataset, partner_id: str, as_of: date, window_days: int) -> scorecard.PartnerRecord:
    """`kpi.scorecard.partner_record`: three one-partner queries, once per (partner, as-of, window)."""
    with cursor(dataset) as cur:
        return scorecard.partner_record(cur, partner_id, as_of, window_days)


@dataclass(frozen=True)
class ScorecardTables:
    """The scorecard's months and staff as displayed."""

    months_table: object  # the last MONTHS_SHOWN months, newest first (Arrow)
    months_spec: dict  # the revenue, cost and MRR chart of those months
    staff_table: object  # the first STAFF_SHOWN staff rows (Arrow)


@cached(max_entries=64)
def scorecard_tables(
    dataset: Dataset, partner_id: str, as_of: date, window_days: int, currency: str
) -> ScorecardTables:
    """The months table and chart and the staff table of the partner's cached record."""
    record = scorecard_record(dataset, partner_id, as_of, window_days)
    recent = record.months.tail(charts_scorecard.MONTHS_SHOWN)
    return ScorecardTables(
        months_table=charts_scorecard.months_table(recent).to_arrow(),
        months_spec=_frame_datasets(charts.vega_spec(charts_scorecard.monthly_money(recent, currency))),
        staff_table=charts_scorecard.staff_table(record.staff.head(charts_scorecard.STAFF_SHOWN)).to_arrow(),
    )


@dataclass(frozen=True)
class ScorecardHistory:
    history: pl.DataFrame  # kpi.scorecard.tier_history under the view
    points: pl.DataFrame  # the rows the tier-history chart draws
    table: object  # the weeks as displayed, newest first (Arrow)


@cached(max_entries=128)
def scorecard_history(dataset: Dataset, view: View, partner_id: str) -> ScorecardHistory:
    """The partner's tier each week under the view's thresholds, in memory from its cached
    record; kept per view, so going back to earlier thresholds costs nothing."""
    history = scorecard_record(dataset, partner_id, view.as_of, view.window_days).history(view)
    return ScorecardHistory(
        history, charts_scorecard.history_points(history), charts_scorecard.history_table(history).to_arrow()
    )
