"""Every headline number of each page, as a plain dict: what `python -m kpi report` prints and
what the pages show.

One function per page builds the numbers from the frames the page already has (the app
passes its cached frames, so a threshold move reads no data); `page_report` reads those
frames from the database for the command line. Either way the numbers come from the same
function. Values are JSON-ready: numbers, strings, None where the page shows "n/a", dates
as YYYY-MM-DD.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from datetime import date
from typing import Any

import duckdb
import polars as pl

from kpi import compare, engagement, metrics, recurring, roi, scorecard, tiers
from kpi.params import View

PAGES: tuple[str, ...] = ("overview", "tiers", "roi", "recurring", "engagement", "scorecard")
"""The pages a report can be made for, in the app's order."""


class UnknownPartnerError(ValueError):
    """The scorecard was asked for a partner id that is not in the data."""


def _view(view: View) -> dict[str, Any]:
    """The view's parameters, the as-of date written YYYY-MM-DD."""
    return {f.name: _plain(getattr(view, f.name)) for f in fields(view)}


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _head(page: str, view: View) -> dict[str, Any]:
    return {"page": page, "as_of": view.as_of.isoformat(), "window_days": view.window_days, "view": _view(view)}


def _change(now: float | int | None, before: float | int | None) -> float | int | None:
    """now - before; None when either is empty (an activation % or ROI with nothing to divide by)."""
    return None if now is None or before is None else now - before


# --- overview -----------------------------------------------------------------------------


def overview_page(segmented: pl.DataFrame, previous: pl.DataFrame | None, view: View) -> dict[str, Any]:
    """The Overview's numbers: `metrics.summarize` of the view, each tier's partners and its
    share of the program's partners, revenue and cost (`metrics.tier_breakdown`), and the
    change of activation % (in percentage points), partners, activated partners, ROI and each
    tier's partners against the previous window: the same view with the as-of date one window earlier
    (`View.previous_window`), whose segmented partners are `previous` (None: the page shows
    no change over time, and every change is None)."""
    previous_view = view.previous_window()
    sums = metrics.totals(segmented)
    summary = metrics.summarize(segmented, view, sums)
    before_sums = None if previous is None else metrics.totals(previous)
    before = None if previous is None else metrics.summarize(previous, previous_view, before_sums)
    breakdown = metrics.tier_breakdown(segmented, sums)
    change: dict[str, Any] = {
        name: None if before is None else _change(summary[name], before[name])
        for name in ("activation_pct", "partners", "activated", "roi")
    }
    change["tiers"] = {
        tier: None if before_sums is None else int(sums[f"{tier}_partners"] - before_sums[f"{tier}_partners"])
        for tier in metrics.TIERS
    }
    return {
        **_head("overview", view),
        "previous_as_of": previous_view.as_of.isoformat(),
        "partners": summary["partners"],
        "activated": summary["activated"],
        "activation_pct": summary["activation_pct"],
        "roi": summary["roi"],
        "change": change,
        "tiers": {
            row["tier"]: {
                "partners": row["partners"],
                "partners_pct": row["partners_pct"],
                "revenue": float(row["revenue"]),
                "revenue_pct": row["revenue_pct"],
                "cost": float(row["cost"]),
                "cost_pct": row["cost_pct"],
            }
            for row in breakdown.iter_rows(named=True)
        },
        "revenue": summary["revenue"],
        "cost": summary["cost"],
        "mrr": summary["mrr"],
        "arr": summary["arr"],
    }


def what_if_numbers(segmented: pl.DataFrame, view: View) -> dict[str, Any]:
    """The numbers a what-if changes: partners, activated partners and activation %, each
    tier's partners, revenue and cost, the reward tier's ROI (its revenue against its cost,
    `metrics.roi`) and cost per activated partner (`kpi.roi.window_headline`)."""
    sums = metrics.totals(segmented)
    headline = roi.window_headline(segmented, view, sums)
    breakdown = {row["tier"]: row for row in metrics.tier_breakdown(segmented, sums).iter_rows(named=True)}
    return {
        "partners": headline["partners"],
        "activated": headline["activated"],
        "activation_pct": metrics.activation_pct(headline["activated"], headline["partners"]),
        "tiers": {
            tier: {
                "partners": row["partners"],
                "revenue": float(row["revenue"]),
                "cost": float(row["cost"]),
            }
            for tier, row in breakdown.items()
        },
        "reward_roi": metrics.roi(float(breakdown["reward"]["revenue"]), float(breakdown["reward"]["cost"])),
        "cost_per_activated": headline["cost_per_activated"],
    }


def _changes(now: Mapping[str, Any], before: Mapping[str, Any]) -> dict[str, Any]:
    """now - before for every number of two dicts of the same shape (nested dicts too)."""
    return {
        key: _changes(value, before[key]) if isinstance(value, Mapping) else _change(value, before[key])
        for key, value in now.items()
    }


def against_base(
    base: pl.DataFrame,
    base_view: View,
    segmented: pl.DataFrame,
    view: View,
    base_numbers: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The what-if against its base (the policy or another saved scenario, or any other view):
    `what_if_numbers` of both views and their change (current - base; activation % in
    percentage points; None where either side is empty), with `equal` true when the two
    views are the same, so nothing can have changed. `base_numbers`: `what_if_numbers` of
    the base, when the caller keeps them."""
    now = what_if_numbers(segmented, view)
    before = what_if_numbers(base, base_view) if base_numbers is None else base_numbers
    return {
        "equal": base_view == view,
        "base_view": _view(base_view),
        "base": before,
        "current": now,
        "change": _changes(now, before),
    }


# --- tiers --------------------------------------------------------------------------------


def tiers_page(segmented: pl.DataFrame, view: View, shown: pl.DataFrame | None = None) -> dict[str, Any]:
    """The Tiers page's headline: partners in the program, how many the list shows (`shown`:
    the partners left by the page's filters and search, `kpi.tiers.filter_partners`; all
    when None) and the shown partners per tier."""
    shown = segmented if shown is None else shown
    return {
        **_head("tiers", view),
        "partners": segmented.height,
        "shown": shown.height,
        "tiers": tiers.tier_counts(shown),
    }


# --- roi ----------------------------------------------------------------------------------


def roi_page(
    segmented: pl.DataFrame,
    view: View,
    overpaying: tuple[pl.DataFrame, int] | None = None,
    best_return: tuple[pl.DataFrame, int] | None = None,
) -> dict[str, Any]:
    """The ROI page's numbers for the window: `kpi.roi.window_headline` (program ROI, revenue,
    cost, partners, activated partners, cost per activated partner), how many partners are
    overpaid (`overpaying`: cost above 0, ROI below 0), how many were funded (`best_return`:
    cost above 0) and the unfunded earners (revenue without cost) with their revenue. A page
    that already has the two lists passes them in."""
    headline = roi.window_headline(segmented, view)
    _, overpaid = overpaying or roi.overpaying(segmented)
    _, funded = best_return or roi.best_return(segmented)
    return {
        **_head("roi", view),
        **headline,
        "overpaying": overpaid,
        "funded": funded,
        "unfunded_earners": roi.unfunded_earners(segmented),
    }


# --- recurring ----------------------------------------------------------------------------

_MOVEMENT_PARTS = ("net_new_mrr", "new_mrr", "churned_mrr", "joined_mrr", "left_mrr")


def recurring_page(
    book: recurring.Book,
    segmented: pl.DataFrame,
    view: View,
    by_tier: pl.DataFrame | None = None,
    with_mrr: int | None = None,
) -> dict[str, Any]:
    """The Recurring revenue page's cards: MRR and ARR at A and the movement of A's month up to
    A (`book.this_month`; None without any month), retention over the window with its start
    day S = A - W, the concentration of revenue and of MRR, each tier's MRR and share under
    the view's thresholds (`mrr_by_tier` of `segmented`) and how many partners have MRR
    (`top_partners_by_mrr`). A page that already has those two passes them in."""
    this_month = book.this_month
    if by_tier is None:
        by_tier = recurring.mrr_by_tier(segmented)
    if with_mrr is None:
        _, with_mrr = recurring.top_partners_by_mrr(segmented)
    return {
        **_head("recurring", view),
        "mrr": None if this_month is None else this_month["mrr"],
        "arr": None if this_month is None else this_month["arr"],
        "month": None if this_month is None else this_month["month"].isoformat(),
        "this_month": {part: None if this_month is None else this_month[part] for part in _MOVEMENT_PARTS},
        "retention": {
            "start_day": recurring.window_start(view.as_of, view.window_days).isoformat(),
            **book.retention,
        },
        "revenue_concentration": book.revenue_concentration,
        "mrr_concentration": book.mrr_concentration,
        "mrr_by_tier": {
            row["tier"]: {key: row[key] for key in ("partners", "partners_with_mrr", "mrr", "arr", "mrr_pct")}
            for row in by_tier.iter_rows(named=True)
        },
        "partners_with_mrr": with_mrr,
    }


# --- engagement ---------------------------------------------------------------------------


def engagement_page(
    facts: engagement.PageFacts, segmented: pl.DataFrame, view: View, min_logins: int
) -> dict[str, Any]:
    """The Engagement page's numbers: `engagement_numbers` and, under "look_busy",
    `look_busy_numbers` for `min_logins`."""
    return {
        **_head("engagement", view),
        **engagement_numbers(facts, segmented),
        "look_busy": look_busy_numbers(segmented, min_logins),
    }


def engagement_numbers(facts: engagement.PageFacts, segmented: pl.DataFrame) -> dict[str, Any]:
    """The Engagement page's numbers that thresholds do not change: partners in the program,
    items used of all items (and unused, small samples), staff active of all staff, staff
    who did none of the work and those silent (not even a login), partners without staff on
    record and partners per active-staff bucket (`facts`: `kpi.engagement.page_facts`)."""
    return {
        "partners": segmented.height,
        "items": {
            "used": facts.used_items,
            "total": facts.items.height,
            "unused": facts.unused.height,
            "small_sample": facts.small_sample_items,
        },
        "staff": {
            "active": facts.active_staff,
            "total": facts.staff.height,
            "did_none_of_the_work": facts.least_engaged.height,
            "silent": facts.silent_staff,
        },
        "partners_without_staff": facts.without_staff.height,
        "active_staff_per_partner": dict(facts.distribution.select("bucket", "partners").iter_rows()),
    }


def look_busy_numbers(segmented: pl.DataFrame, min_logins: int, busy: pl.DataFrame | None = None) -> dict[str, Any]:
    """The look-busy partners (`kpi.engagement.look_busy`: not activated under the view's
    thresholds, at least `min_logins` logins in the window): how many, and their share of
    the partners in the program. A page that already has them passes them in as `busy`."""
    if busy is None:
        busy = engagement.look_busy(segmented, min_logins)
    return {
        "min_logins": min_logins,
        "partners": busy.height,
        "share_pct": engagement.share_pct(busy.height, segmented.height),
    }


# --- scorecard ----------------------------------------------------------------------------

_BEHAVIOURS = (
    "trainings",
    "content_shares",
    "deals_registered",
    "content_views",
    "logins",
    "deals_won",
    "active_users",
    "actions",
)


def scorecard_page(
    partner: Mapping[str, Any], record: scorecard.PartnerRecord, history: pl.DataFrame, view: View
) -> dict[str, Any]:
    """The Partner scorecard's numbers for one partner: where it stands at A
    (`scorecard.membership`), and when in the program its tier, criteria (each against its
    threshold), revenue, cost, ROI, MRR and behaviours in the window (`explain_tier`, the
    tiers' one definition); always its months shown, staff on record and active, and the
    weeks of its `history` (`tier_history` under the view) in each tier.

    `partner`: its row of `scorecard.partner_list`; `record`: `scorecard.partner_record`.
    """
    status = scorecard.membership(partner["joined_on"], partner["left_on"], view.as_of)
    out: dict[str, Any] = {
        **_head("scorecard", view),
        **{key: _plain(partner[key]) for key in ("partner_id", "partner_name", "joined_on", "left_on")},
        **{key: partner[key] for key in ("region", "partner_type", "channel_manager")},
        "membership": status,
        "tier": None,
        "activated": None,
        "criteria_met": None,
        "criteria_enabled": None,
        "criteria_needed": None,
        "criteria": [],
        "revenue": None,
        "cost": None,
        "roi": None,
        "mrr": None,
        **dict.fromkeys(_BEHAVIOURS),
    }
    today = record.today
    if status == "in program" and today is not None:
        reasons = scorecard.explain_tier(today, view)
        out.update(
            tier=reasons.tier,
            activated=reasons.activated,
            criteria_met=reasons.criteria_met,
            criteria_enabled=sum(1 for check in reasons.criteria if check.enabled),
            criteria_needed=reasons.needed,
            criteria=[
                {
                    "criterion": check.column,
                    "threshold": check.threshold,
                    "value": check.value,
                    "enabled": check.enabled,
                    "met": check.met,
                    "short": check.short,
                }
                for check in reasons.criteria
            ],
            revenue=float(today["revenue"]),
            cost=float(today["cost"]),
            roi=metrics.roi(today["revenue"], today["cost"]),
            mrr=float(today["mrr"]),
            actions=reasons.actions,
            **{key: int(today[key]) for key in _BEHAVIOURS if key != "actions"},
        )
    out["months"] = record.months.height
    out["staff"] = scorecard.staff_counts(record.staff)
    out["weeks_in_tier"] = scorecard.weeks_in_tier(history)
    return out


# --- from the database --------------------------------------------------------------------


def page_report(
    con: duckdb.DuckDBPyConnection,
    view: View,
    page: str,
    partner_id: str | None = None,
    min_logins: int = engagement.MIN_LOGINS_DEFAULT,
    base_view: View | None = None,
) -> dict[str, Any]:
    """The numbers of one page (one of PAGES) for the view, read from the database.

    `partner_id` is the scorecard's partner (default: the first partner by name, as the
    page opens); an id not in the data raises UnknownPartnerError. `min_logins` is the
    Engagement page's look-busy threshold. `base_view` is the comparison base of Overview
    and Tiers (the policy's thresholds, as the app opens): their report then holds
    `against`, `against_base` of the base, and Tiers' also `moved` and `matrix`
    (`kpi.compare.compare`).
    """
    if page not in PAGES:
        raise ValueError(f"no page {page!r}; choose one of {', '.join(PAGES)}")
    as_of, window = view.as_of, view.window_days
    if page == "scorecard":
        return _scorecard_report(con, view, partner_id)
    facts = metrics.partner_facts(con, as_of, window)
    segmented = metrics.segment(facts, view)
    against: dict[str, Any] = {}
    if base_view is not None and page in ("overview", "tiers"):
        same_days = (base_view.as_of, base_view.window_days) == (as_of, window)
        base_facts = facts if same_days else metrics.partner_facts(con, base_view.as_of, base_view.window_days)
        base = metrics.segment(base_facts, base_view)
        against = {"against": against_base(base, base_view, segmented, view)}
        if page == "tiers":
            moved = compare.compare(base, base_view, segmented, view)
            against |= {"moved": moved.moved, "matrix": moved.matrix}
    if page == "overview":
        previous_view = view.previous_window()
        previous = metrics.segment(metrics.partner_facts(con, previous_view.as_of, window), previous_view)
        return overview_page(segmented, previous, view) | against
    if page == "tiers":
        return tiers_page(segmented, view) | against
    if page == "roi":
        return roi_page(segmented, view)
    if page == "recurring":
        return recurring_page(recurring.book(con, as_of, window, facts), segmented, view)
    return engagement_page(engagement.page_facts(con, as_of, window, facts), segmented, view, min_logins)


def _scorecard_report(con: duckdb.DuckDBPyConnection, view: View, partner_id: str | None) -> dict[str, Any]:
    partners = scorecard.partner_list(con)
    if partners.is_empty():
        raise UnknownPartnerError("the data holds no partners")
    if partner_id is None:
        partner_id = partners["partner_id"][0]
    rows = partners.filter(pl.col("partner_id") == partner_id)
    if rows.is_empty():
        raise UnknownPartnerError(f"no partner with id {partner_id!r}")
    record = scorecard.partner_record(con, partner_id, view.as_of, view.window_days)
    return scorecard_page(rows.row(0, named=True), record, record.history(view), view)
