"""Drawing the what-if: the controls against their comparison base (the policy, or the
scenario chosen in the sidebar). The numbers come from `kpi.report.against_base` and
`kpi.compare.compare` through `ui.data.what_if`; this module only words and lays them out.
"""

from __future__ import annotations

from urllib.parse import urlencode

import polars as pl
import streamlit as st

from kpi.compare import OUT, STATES, Comparison
from kpi.metrics import TIERS
from ui import format as fmt
from ui.data import WhatIf
from ui.downloads import table_downloads
from ui.frame import Frame
from ui.scenarios import differences

MOVERS_SHOWN = 100  # movers on screen; the CSV has them all
# Column widths (px) of the movers tables: together within the main area at 1280 px, so the
# reason, last and widest, is never pushed off the table's right edge.
NAME_WIDTH, TIER_WIDTH, MONEY_WIDTH, LINK_WIDTH, REASON_WIDTH = 180, 90, 85, 75, 300
# Rows taller than 4rem let Streamlit's table wrap a cell's text: the reason reads whole.
WRAPPED_ROW_HEIGHT = 66
STATE_LABELS = {"reward": "reward", "nurture": "nurture", "drop": "drop", OUT: "not in the program"}


def base_name(frame: Frame) -> str:
    """The base as a page names it: "the policy 'policy'" or "the scenario 'strict'"."""
    kind = "the policy" if frame.base.is_policy else "the scenario"
    return f"{kind} '{fmt.plain(frame.base.name)}'"


def changes_text(frame: Frame) -> str:
    """The thresholds the controls change against the base, in words (escaped for markdown:
    money's dollar signs would otherwise read as LaTeX)."""
    return fmt.plain("; ".join(differences(frame.view, frame.base)))


def equal_caption(frame: Frame) -> str:
    """What a page says when the controls are the base's: nothing to compare."""
    return (
        f"The controls hold the thresholds of {base_name(frame)}: no partner moves and there is no "
        "what-if change to show. Move a threshold in the sidebar, or open another scenario, to see "
        "what it would change."
    )


def link(page: str, frame: Frame, **extra: str) -> str:
    """A link to `page` (its URL path) opening this view, the scenario and base of the
    frame, and `extra` page parameters."""
    params = frame.view.to_params()
    if frame.opened is not None:
        params["scenario"] = frame.opened.name
    if not frame.base.is_policy:
        params["compare"] = frame.base.name
    return f"{page}?{urlencode(params | extra)}"


def matrix_table(comparison: Comparison, base_label: str) -> pl.DataFrame:
    """The from / to matrix as rows of the base's states and columns of the current ones;
    `out` (not in the program) only when some partner is out in either view."""
    matrix = comparison.matrix
    has_out = any(matrix[OUT][s] or matrix[s][OUT] for s in STATES)
    states = STATES if has_out else TIERS
    return pl.DataFrame(
        [{base_label: STATE_LABELS[f], **{STATE_LABELS[t]: matrix[f][t] for t in states}} for f in states],
        schema={base_label: pl.String, **{STATE_LABELS[t]: pl.Int64 for t in states}},
        orient="row",
    )


def movers_table(frame: Frame, comparison: Comparison, top: int = MOVERS_SHOWN) -> pl.DataFrame:
    """The `top` movers with the most revenue (ties by partner ID), with the reason for each
    and a link to its scorecard in this view."""
    movers = comparison.explained(comparison.movers.sort("revenue", descending=True, maintain_order=True).head(top))
    return movers.with_columns(
        pl.col("from_tier").replace_strict(STATE_LABELS),
        pl.col("to_tier").replace_strict(STATE_LABELS),
        pl.col("partner_id")
        .map_elements(lambda pid: link("scorecard", frame, scorecard_partner=pid), return_dtype=pl.String)
        .alias("scorecard"),
    ).select("partner_id", "partner_name", "from_tier", "to_tier", "revenue", "scorecard", "reason")


def draw_movers(frame: Frame, what_if: WhatIf, page: str = "tiers") -> None:
    """The tier matrix and the movers with their reasons, each as CSV and Excel (every
    mover, not only those shown); `page` names the files."""
    comparison = what_if.comparison
    assert comparison is not None
    base_label = "Under " + ("the policy" if frame.base.is_policy else frame.base.name)  # a column label: plain text
    st.markdown(
        f"**{fmt.change_tier(comparison.moved)}** against {base_name(frame)}. "
        "Rows: the tier under the base; columns: the tier with the controls as set."
    )
    matrix = matrix_table(comparison, base_label)
    st.dataframe(matrix.to_arrow(), hide_index=True, key="whatif_matrix")
    as_of = frame.view.as_of.isoformat()
    table_downloads(lambda: matrix, f"{page}-tier-matrix-{as_of}", "whatif_matrix_download", sheet="tier matrix")
    if not comparison.moved:
        return
    st.dataframe(
        movers_table(frame, comparison).to_arrow(),
        hide_index=True,
        key="whatif_movers",
        row_height=WRAPPED_ROW_HEIGHT,
        column_order=("partner_name", "from_tier", "to_tier", "revenue", "scorecard", "reason"),  # the why widest, last
        column_config={
            "partner_name": st.column_config.TextColumn("Partner", width=NAME_WIDTH),
            "from_tier": st.column_config.TextColumn(base_label, width=TIER_WIDTH + 30),
            "to_tier": st.column_config.TextColumn("Now", width=TIER_WIDTH),
            "revenue": st.column_config.NumberColumn("Revenue", format=fmt.money_column_format(), width=MONEY_WIDTH),
            "reason": st.column_config.TextColumn("Why", width=REASON_WIDTH - 30),
            "scorecard": st.column_config.LinkColumn("Scorecard", display_text="Open", width=LINK_WIDTH),
        },
    )
    # Every mover, by partner ID, as the command line's `compare --format csv` writes them.
    table_downloads(comparison.explained, f"{page}-movers-{as_of}", "whatif_movers_download", sheet="movers")
    st.caption(
        f"The {min(comparison.moved, MOVERS_SHOWN):,} movers with the most revenue of {comparison.moved:,} "
        "(click a column to sort it); the download has them all, by partner ID. Open a row's scorecard "
        "to see the partner week by week."
    )


def tier_table(numbers: dict) -> pl.DataFrame:
    """Partners, revenue and cost each tier holds now, and their change against the base
    (as the page words it: +12, -$3,400)."""
    now, change = numbers["current"]["tiers"], numbers["change"]["tiers"]
    return pl.DataFrame(
        [
            {
                "tier": tier,
                "partners": now[tier]["partners"],
                "partners_change": fmt.count_change(change[tier]["partners"]),
                "revenue": now[tier]["revenue"],
                "revenue_change": fmt.money_change(change[tier]["revenue"]),
                "cost": now[tier]["cost"],
                "cost_change": fmt.money_change(change[tier]["cost"]),
            }
            for tier in TIERS
        ],
        orient="row",
    )


def _tier_numbers(numbers: dict) -> pl.DataFrame:
    """`tier_table` with its changes as numbers, not words: what a spreadsheet can add up."""
    now, change = numbers["current"]["tiers"], numbers["change"]["tiers"]
    return pl.DataFrame(
        [
            {
                "tier": tier,
                "partners": now[tier]["partners"],
                "partners_change": change[tier]["partners"],
                "revenue": now[tier]["revenue"],
                "revenue_change": change[tier]["revenue"],
                "cost": now[tier]["cost"],
                "cost_change": change[tier]["cost"],
            }
            for tier in TIERS
        ],
        orient="row",
    )


def draw_tier_table(numbers: dict, name: str = "tiers-vs-base", key: str = "whatif_tiers_download") -> None:
    """The tier table, and its downloads as `name`.csv / .xlsx."""
    money = fmt.money_column_format()
    st.dataframe(
        tier_table(numbers).to_arrow(),
        hide_index=True,
        key="whatif_tiers",
        column_config={
            "tier": "Tier",
            "partners": "Partners",
            "partners_change": "Change",
            "revenue": st.column_config.NumberColumn("Revenue held", format=money),
            "revenue_change": "Change",
            "cost": st.column_config.NumberColumn("Cost held", format=money),
            "cost_change": "Change",
        },
    )
    table_downloads(lambda: _tier_numbers(numbers), name, key, sheet="tiers")
