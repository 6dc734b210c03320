"""The one-page brief of a weekly review, as self-contained HTML and as PDF.

Both are made from one plain content object (`content`): the headline numbers then and now,
the tier counts, the movers and the watch list (the first rows of each, with how many more
there are), two charts, and the stamp that says what the page is: as-of and comparison dates,
every threshold, the scenario if one is open, and the load the data came from.

HTML: one file with its styles and its charts (SVG) inline; it makes no outside request and
prints on one A4 page. PDF: compiled by Typst (the `typst` wheel, fonts built in); the content
goes in as JSON and the template reads it as data, so a partner name is never read as markup.
Charts are rendered by vl-convert (Altair's own static export), offline.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

import polars as pl
import typst
import vl_convert

from kpi import display, export, metrics
from kpi.chart_style import TIER_COLORS, money_label_expr
from kpi.params import SPEC_BY_NAME, THRESHOLDS
from kpi.review import Review
from kpi.review import unit as review_unit
from kpi.store import DatasetInfo

TEMPLATES = Path(__file__).resolve().parent / "templates"
MOVERS_SHOWN = 12
WATCH_SHOWN = 8


@dataclass(frozen=True)
class Stamp:
    """What the brief says it is: the review's dates and thresholds, the scenario open, the load."""

    load: DatasetInfo
    scenario: str | None = None
    currency: str = "$"


def thresholds_text(review: Review, currency: str = "$") -> str:
    """Every threshold of the review's view, as "Trainings needed 1; ...; Grace ... 90"."""
    parts = []
    for name in THRESHOLDS:
        value = getattr(review.view, name)
        shown = display.money(value, currency) if name == "reward_min_revenue" else display.count(value)
        parts.append(f"{SPEC_BY_NAME[name].label} {shown}")
    return "; ".join(parts)


def load_text(load: DatasetInfo) -> str:
    """The load the data came from: its time, its source and its files with their rows."""
    files = ", ".join(f"{f.name} ({f.rows:,} rows)" for f in load.files) or "no file list recorded"
    return f"loaded {load.loaded_at:%Y-%m-%d %H:%M} from {load.source}: {files}"


def content(review: Review, stamp: Stamp) -> dict[str, Any]:
    """The brief as plain, JSON-ready text and numbers (what both formats draw)."""
    currency = stamp.currency
    headline = [
        {
            "number": row["number"],
            "then": display.by_unit(review_unit(row["key"]), row["then"], currency),
            "now": display.by_unit(review_unit(row["key"]), row["now"], currency),
            "change": display.change_by_unit(review_unit(row["key"]), row["change"], currency),
        }
        for row in review.headline.iter_rows(named=True)
    ]
    movers = review.movers()
    watch = review.watch
    stamp_text = (
        f"As of {review.view.as_of.isoformat()}, compared with {review.since.as_of.isoformat()}; windows of "
        f"{review.view.window_days} days. Thresholds: {thresholds_text(review, currency)}."
        + (f" Scenario: {stamp.scenario}." if stamp.scenario else "")
        + f" Data {load_text(stamp.load)}."
    )
    return {
        "title": f"Weekly review, {review.view.as_of.isoformat()}",
        "stamp": stamp_text,
        "as_of": review.view.as_of.isoformat(),
        "since": review.since.as_of.isoformat(),
        "window_days": review.view.window_days,
        "thresholds": thresholds_text(review, currency),
        "scenario": stamp.scenario,
        "load": load_text(stamp.load),
        "summary": review.summary,
        "headline": headline,
        "tiers": [
            {
                "tier": tier,
                "then": review.comparison.base["tiers"][tier],
                "now": review.comparison.current["tiers"][tier],
            }
            for tier in metrics.TIERS
        ],
        "movers": [
            {
                "partner": f"{row['partner_name']} ({row['partner_id']})",
                "from": row["from_tier"],
                "to": row["to_tier"],
                "revenue": display.money(row["revenue"], currency),
                "reason": row["reason"],
            }
            for row in movers.head(MOVERS_SHOWN).iter_rows(named=True)
        ],
        "movers_total": movers.height,
        "watch": [
            {
                "partner": f"{row['partner_name']} ({row['partner_id']})",
                "watch": row["watch"],
                "tier": row["tier"],
                "detail": row["detail"],
            }
            for row in watch.head(WATCH_SHOWN).iter_rows(named=True)
        ],
        "watch_total": watch.height,
    }


# --- charts -------------------------------------------------------------------------------


# The two charts are plain Vega-Lite: Altair would add half a second of import to every brief
# the command line writes, for two small specs.
_VEGA_LITE = "https://vega.github.io/schema/vega-lite/v5.json"  # the schema's name only: nothing is fetched


def tier_chart(review: Review) -> dict:
    """Partners per tier on the since date and on the as-of date, side by side."""
    since, as_of = review.since.as_of.isoformat(), review.view.as_of.isoformat()
    rows = [
        {"tier": tier, "date": date, "partners": summary["tiers"][tier]}
        for date, summary in ((since, review.comparison.base), (as_of, review.comparison.current))
        for tier in metrics.TIERS
    ]
    return {
        "$schema": _VEGA_LITE,
        "title": "Partners per tier",
        "width": 260,
        "height": 160,
        "data": {"values": rows},
        "mark": {"type": "bar", "stroke": "#555555", "strokeWidth": 0.5},
        "encoding": {
            "x": {
                "field": "tier",
                "type": "nominal",
                "sort": list(metrics.TIERS),
                "title": None,
                "axis": {"labelAngle": 0},
            },
            "xOffset": {"field": "date", "type": "nominal", "sort": [since, as_of]},
            "y": {"field": "partners", "type": "quantitative", "title": "Partners"},
            # Each tier in its colour of the one palette; the earlier date faded.
            "color": {
                "field": "tier",
                "type": "nominal",
                "scale": {"domain": list(metrics.TIERS), "range": [TIER_COLORS[t] for t in metrics.TIERS]},
                "legend": None,
            },
            "opacity": {
                "field": "date",
                "type": "nominal",
                "sort": [since, as_of],
                "scale": {"range": [0.4, 1.0]},
                "title": None,
                "legend": {"orient": "top"},
            },
        },
    }


def revenue_chart(review: Review, currency: str = "$") -> dict:
    """The largest changes of revenue in the window, up and down (from `biggest_changes`)."""
    rows = review.biggest.filter(pl.col("measure") == "revenue in the window").select(
        (pl.col("partner_name") + " (" + pl.col("partner_id") + ")").alias("partner"), "change", "direction"
    )
    values = rows.to_dicts() or [{"partner": "no change", "change": 0.0, "direction": "up"}]
    return {
        "$schema": _VEGA_LITE,
        "title": "Biggest revenue changes",
        "width": 260,
        "height": 160,
        "data": {"values": values},
        "mark": "bar",
        "encoding": {
            "y": {"field": "partner", "type": "nominal", "sort": "-x", "title": None},
            "x": {
                "field": "change",
                "type": "quantitative",
                "title": f"Change of revenue in the window ({currency})",
                "axis": {"labelExpr": money_label_expr(currency)},
            },
            "color": {
                "field": "direction",
                "type": "nominal",
                "scale": {"domain": ["up", "down"], "range": [TIER_COLORS["reward"], TIER_COLORS["drop"]]},
                "legend": None,
            },
        },
    }


def chart_svgs(review: Review, currency: str = "$") -> list[str]:
    """The brief's charts as SVG text (vl-convert: no browser, no network)."""
    return [vl_convert.vegalite_to_svg(spec) for spec in (tier_chart(review), revenue_chart(review, currency))]


# --- the two formats ------------------------------------------------------------------------


def _rows(items: list[dict[str, Any]], keys: tuple[str, ...]) -> str:
    return "\n".join(
        "<tr>" + "".join(f"<td>{html.escape(str(item[k]))}</td>" for k in keys) + "</tr>" for item in items
    )


def to_html(review: Review, stamp: Stamp) -> str:
    """The brief as one self-contained HTML page (styles and SVG charts inline)."""
    data = content(review, stamp)
    more_movers = data["movers_total"] - len(data["movers"])
    more_watch = data["watch_total"] - len(data["watch"])
    values = {
        "title": html.escape(data["title"]),
        "stamp": html.escape(data["stamp"]),
        "summary": html.escape(" ".join(data["summary"])),
        "headline": _rows(data["headline"], ("number", "then", "now", "change")),
        "charts": "".join(f'<div class="chart">{svg}</div>' for svg in chart_svgs(review, stamp.currency)),
        "movers": _rows(data["movers"], ("partner", "from", "to", "revenue", "reason"))
        or '<tr><td colspan="5">No partner changed tier, joined or left.</td></tr>',
        "movers_more": f"<p class='more'>and {more_movers:,} more in the workbook</p>" if more_movers > 0 else "",
        "watch": _rows(data["watch"], ("partner", "watch", "tier", "detail"))
        or '<tr><td colspan="4">Nobody to watch.</td></tr>',
        "watch_more": f"<p class='more'>and {more_watch:,} more in the workbook</p>" if more_watch > 0 else "",
        "since": html.escape(data["since"]),
        "as_of": html.escape(data["as_of"]),
    }
    return Template((TEMPLATES / "brief.html").read_text()).substitute(values)


def to_pdf(review: Review, stamp: Stamp) -> bytes:
    """The brief as a one-page A4 PDF (Typst; the content read as JSON data, charts as SVG)."""
    data = content(review, stamp)
    first, second = chart_svgs(review, stamp.currency)
    source = (TEMPLATES / "brief.typ").read_bytes()
    return typst.compile(source, sys_inputs={"data": json.dumps(data), "chart_tiers": first, "chart_revenue": second})


def write(path: Path, review: Review, stamp: Stamp) -> None:
    """Write the brief to `path`, as PDF or HTML by its extension, whole or not at all."""
    suffix = path.suffix.lower()
    if suffix not in (".pdf", ".html", ".htm"):
        raise ValueError(f"{path.name}: the brief is written as .pdf or .html")
    export.write_whole(path, to_pdf(review, stamp) if suffix == ".pdf" else to_html(review, stamp).encode())
