"""Weekly review: what changed since an earlier date (a week before the as-of date unless
picked), who moved and why, the biggest changes, the watch list; for the meeting's screen."""

from datetime import timedelta

import polars as pl
import streamlit as st

from kpi import review
from ui import data, whatif
from ui import format as fmt
from ui.downloads import table_downloads, workbook_download
from ui.frame import bound, current

frame = current()
view, dataset = frame.view, frame.dataset
assert dataset.span is not None
first_day, latest = dataset.span[0], view.as_of - timedelta(days=1)

st.title("Weekly review")
if latest < first_day:
    st.info("The data has no day before the as-of date to compare with: pick a later as-of date in the sidebar.")
    st.stop()
default = max(first_day, min(latest, review.since_default(view)))
controls = st.container(horizontal=True, vertical_alignment="bottom")
with controls:
    since = bound(
        st.date_input,
        "since",
        "Compared with",
        value=default,
        min_value=first_day,
        max_value=latest,
        format="YYYY-MM-DD",
        default=default,
        date_bounds=(first_day, latest),
        help="The earlier date. Both dates count the same window and use the thresholds in the sidebar.",
        width=200,
    )
result = data.weekly_review(dataset, view, since, fmt.currency_symbol())
days = (view.as_of - since).days
scenario = None if frame.opened is None else frame.opened.name
name = f"weekly-review-{view.as_of.isoformat()}"
with controls:
    for kind, label in (("pdf", "Brief (PDF)"), ("html", "Brief (HTML)")):
        st.download_button(
            label,
            lambda kind=kind: data.brief_file(dataset, view, since, scenario, fmt.currency_symbol(), kind),
            file_name=f"{name}.{kind}",
            mime="application/pdf" if kind == "pdf" else "text/html",
            key=f"weekly_brief_{kind}",
            icon=":material/description:",
            help="One page: the numbers, the tiers, who moved and the watch list, stamped with the dates, "
            "thresholds, scenario and data load. Prints cleanly.",
        )
    workbook_download(result.sheets, name, "Review workbook (Excel)", "weekly_workbook")
st.caption(
    f"**{view.as_of.isoformat()}** against **{since.isoformat()}** ({days} days earlier), each counting the "
    f"{view.window_days} days up to it, under the thresholds in the sidebar."
)

# The story in sentences, large enough to read across a room.
st.markdown("#### " + fmt.plain(" ".join(result.summary)))

cards = st.container(horizontal=True)
for row in result.headline.iter_rows(named=True):
    unit = review.unit(row["key"])
    shown = fmt.by_unit(unit, row["now"])
    change = fmt.change_by_unit(unit, row["change"])
    cards.metric(
        row["number"],
        shown,
        delta=change if row["change"] not in (None, 0) else None,
        delta_color="off"
        if row["key"] in ("partners", "nurture", "cost")
        else ("inverse" if row["key"] == "drop" else "normal"),
        border=True,
        width=200,  # four a row beside the sidebar at a laptop's width
    )

st.subheader("Who moved", anchor=False)
movers = result.movers()
if movers.is_empty():
    st.caption("No partner changed tier, joined or left.")
else:
    shown_movers = movers.head(whatif.MOVERS_SHOWN).with_columns(
        pl.col("from_tier").replace_strict(whatif.STATE_LABELS),
        pl.col("to_tier").replace_strict(whatif.STATE_LABELS),
        pl.col("partner_id")
        .map_elements(lambda pid: whatif.link("scorecard", frame, scorecard_partner=pid), return_dtype=pl.String)
        .alias("scorecard"),
    )
    st.dataframe(
        shown_movers.to_arrow(),
        hide_index=True,
        key="weekly_movers",
        row_height=whatif.WRAPPED_ROW_HEIGHT,
        column_order=("partner_name", "from_tier", "to_tier", "revenue", "scorecard", "reason"),
        column_config={
            "partner_name": st.column_config.TextColumn("Partner", width=whatif.NAME_WIDTH),
            "from_tier": st.column_config.TextColumn(since.isoformat(), width=whatif.TIER_WIDTH),
            "to_tier": st.column_config.TextColumn(view.as_of.isoformat(), width=whatif.TIER_WIDTH),
            "revenue": st.column_config.NumberColumn(
                "Revenue", format=fmt.money_column_format(), width=whatif.MONEY_WIDTH
            ),
            "scorecard": st.column_config.LinkColumn("Scorecard", display_text="Open", width=whatif.LINK_WIDTH),
            "reason": st.column_config.TextColumn("Why", width=whatif.REASON_WIDTH),
        },
    )
    row = st.container(horizontal=True, vertical_alignment="center")
    row.caption(
        f"{fmt.partners(movers.height)} moved, joined or left"
        + (
            f"; the {whatif.MOVERS_SHOWN} with the most revenue shown. "
            if movers.height > whatif.MOVERS_SHOWN
            else ". "
        )
        + "Click a column to sort it."
    )
    table_downloads(result.movers, f"movers-{view.as_of.isoformat()}", "weekly_movers_download", row)

st.subheader("Biggest changes", anchor=False)
if result.biggest.is_empty():
    st.caption("No partner's revenue, MRR or actions changed.")
else:
    st.dataframe(
        result.biggest.to_arrow(),
        hide_index=True,
        key="weekly_biggest",
        column_config={
            "measure": "Measure",
            "direction": "Up or down",
            "partner_id": st.column_config.TextColumn("ID"),
            "partner_name": st.column_config.TextColumn("Partner"),
            "then": st.column_config.NumberColumn(since.isoformat(), format="%,.0f"),
            "now": st.column_config.NumberColumn(view.as_of.isoformat(), format="%,.0f"),
            "change": st.column_config.NumberColumn("Change", format="%+,.0f"),
        },
    )
    table_downloads(lambda: result.biggest, f"biggest-changes-{view.as_of.isoformat()}", "weekly_biggest_download")

st.subheader("Watch list", anchor=False)
st.caption(
    "Activated partners that lost activation; reward partners less than "
    f"{review.CLOSE_TO_REWARD:.0%} above the reward threshold; new partners whose grace period ends within "
    f"{review.GRACE_ENDS_WITHIN_DAYS} days without being activated."
)
if result.watch.is_empty():
    st.caption("Nobody to watch this week.")
else:
    st.dataframe(
        result.watch.to_arrow(),
        hide_index=True,
        key="weekly_watch",
        row_height=whatif.WRAPPED_ROW_HEIGHT,
        # The ID is in the downloads; on screen the name is enough and the detail gets the room.
        column_order=("partner_name", "watch", "tier", "revenue", "detail"),
        column_config={
            "partner_name": st.column_config.TextColumn("Partner", width=whatif.NAME_WIDTH),
            "watch": st.column_config.TextColumn("Why watch", width=230),
            "tier": st.column_config.TextColumn("Tier now", width=whatif.TIER_WIDTH),
            "revenue": st.column_config.NumberColumn(
                "Revenue", format=fmt.money_column_format(), width=whatif.MONEY_WIDTH
            ),
            "detail": st.column_config.TextColumn("Detail", width=whatif.REASON_WIDTH - 50),
        },
    )
    table_downloads(lambda: result.watch, f"watch-list-{view.as_of.isoformat()}", "weekly_watch_download")
