"""The What-if page's chart: how activation and the tiers move as one threshold moves.

One small chart per threshold, all in one concatenated chart (one element on the page): the
activation % and each tier's share of the program's partners along the threshold's values
(from `kpi.compare.sensitivity`), the current value marked with a solid rule and the base's
(the policy's, or the scenario compared with) with a dashed one. Shares, not counts, so the
four lines read on one axis; the tooltip gives the counts.
"""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import polars as pl

from kpi.metrics import TIERS
from kpi.params import SPEC_BY_NAME, View
from ui.charts import TIER_COLORS, money_axis

ACTIVATION = "activation"
# Black, apart from every tier colour (the reward blue included) and in greyscale too.
ACTIVATION_COLOR = "#000000"
SERIES = (ACTIVATION, *TIERS)
SERIES_SCALE = alt.Scale(domain=list(SERIES), range=[ACTIVATION_COLOR, *(TIER_COLORS[t] for t in TIERS)])
SMALL_WIDTH = 300  # two a row fit a laptop's main column beside the sidebar
SMALL_HEIGHT = 140


def curve_rows(curve: pl.DataFrame) -> pl.DataFrame:
    """One threshold's sensitivity rows in long form: per value and series (activation or a
    tier) the share of partners (%) and the partner count."""
    shares = [(pl.col("activated") if series == ACTIVATION else pl.col(series)).alias(series) for series in SERIES]
    wide = curve.select(pl.col("value").cast(pl.Float64), pl.col("partners"), *shares)
    return (
        wide.unpivot(index=["value", "partners"], variable_name="series", value_name="count")
        .with_columns(
            pct=pl.when(pl.col("partners") > 0).then((100.0 * pl.col("count") / pl.col("partners")).round(1)),
        )
        .select("value", "series", "count", "pct")
    )


def curve_data(name: str) -> str:
    """The dataset name of one threshold's curve rows in the chart."""
    return f"curve_{name}"


def marks_data(name: str) -> str:
    """The dataset name of one threshold's marked values (now and the base's)."""
    return f"marks_{name}"


def _small(name: str, base_label: str) -> alt.LayerChart:
    spec = SPEC_BY_NAME[name]
    money = spec.kind == "money"
    # Money without a symbol (the label names the currency); "1.5k", never "0M".
    axis = money_axis("", tickMinStep=1) if money else alt.Axis(format="d", tickMinStep=1)
    x = alt.X("value:Q", title=spec.label, axis=axis)
    lines = (
        alt.Chart(alt.NamedData(curve_data(name)))
        .mark_line(point=alt.OverlayMarkDef(size=18), interpolate="step-after")
        .encode(
            x=x,
            y=alt.Y("pct:Q", title="% of partners", scale=alt.Scale(domain=[0, 100])),
            color=alt.Color("series:N", scale=SERIES_SCALE, title=None, legend=alt.Legend(orient="bottom")),
            tooltip=[
                alt.Tooltip("value:Q", title=spec.label, format=",.0f"),
                alt.Tooltip("series:N", title="Line"),
                alt.Tooltip("count:Q", title="Partners", format=","),
                alt.Tooltip("pct:Q", title="% of partners", format=".1f"),
            ],
        )
    )
    rules = (
        alt.Chart(alt.NamedData(marks_data(name)))
        .mark_rule(strokeWidth=2)
        .encode(
            x="value:Q",
            strokeDash=alt.StrokeDash(
                "mark:N",
                scale=alt.Scale(domain=["now", base_label], range=[[1, 0], [5, 3]]),
                title=None,
                legend=alt.Legend(orient="bottom"),
            ),
            color=alt.value("#333333"),
            tooltip=[alt.Tooltip("mark:N", title="Marked"), alt.Tooltip("value:Q", title="Value", format=",.0f")],
        )
    )
    return alt.layer(lines, rules).properties(width=SMALL_WIDTH, height=SMALL_HEIGHT, title=spec.label)


def sensitivity_template(names: tuple[str, ...], base_label: str) -> dict:
    """The chart of every threshold's curve, without its rows: one small chart per name, side
    by side and wrapping, each reading its named datasets (`curve_data`, `marks_data`). It
    depends only on which thresholds and on the base's label, so it is built once and the
    rows of each move are put in (`sensitivity_datasets`): building it is the slow part."""
    chart = alt.concat(*(_small(name, base_label) for name in names), columns=2).resolve_scale(
        x="independent", color="shared", strokeDash="shared"
    )
    # Each small chart has its own width: without this, a chart drawn at the container's width
    # asks Vega to "fit" a concatenation, which it cannot do and says so in the browser's console.
    spec = chart.to_dict(validate=False)
    spec["autosize"] = {"type": "pad"}
    return spec


def sensitivity_datasets(
    curves: Mapping[str, pl.DataFrame], view: View, base_view: View, base_label: str
) -> dict[str, pl.DataFrame]:
    """The template's rows: each threshold's curve in long form, and the value now and the
    base's value to mark."""
    datasets: dict[str, pl.DataFrame] = {}
    for name, curve in curves.items():
        datasets[curve_data(name)] = curve_rows(curve)
        datasets[marks_data(name)] = pl.DataFrame(
            {"value": [float(getattr(view, name)), float(getattr(base_view, name))], "mark": ["now", base_label]}
        )
    return datasets


def sensitivity_spec(
    curves: Mapping[str, pl.DataFrame],
    view: View,
    base_view: View,
    base_label: str,
    template: dict | None = None,
) -> dict:
    """The whole chart as a Vega-Lite dict whose datasets are Polars frames (what the page
    draws). `template` is `sensitivity_template` of the same names and label, when cached."""
    template = sensitivity_template(tuple(curves), base_label) if template is None else template
    return {**template, "datasets": sensitivity_datasets(curves, view, base_view, base_label)}


BESIDE_HEIGHT = 90  # a strip under a sidebar control: the shape of the curve, not its numbers


def beside_template(name: str, base_label: str) -> dict:
    """The small curve drawn under threshold `name` in the sidebar: the same lines and marks
    as its chart on the What-if page (`curve_data`, `marks_data` datasets), at the sidebar's
    width, without titles or legends (the control's help explains the colours)."""
    chart = _small(name, base_label)
    lines, rules = chart.layer
    lines = lines.encode(
        x=alt.X("value:Q", title=None, axis=money_axis("", tickCount=4, labelFontSize=9)),
        y=alt.Y("pct:Q", title=None, scale=alt.Scale(domain=[0, 100]), axis=alt.Axis(tickCount=2, labelFontSize=9)),
        color=alt.Color("series:N", scale=SERIES_SCALE, legend=None),
    ).mark_line(interpolate="step-after", strokeWidth=1.5)
    rules = rules.encode(
        strokeDash=alt.StrokeDash(
            "mark:N", scale=alt.Scale(domain=["now", base_label], range=[[1, 0], [4, 3]]), legend=None
        )
    ).mark_rule(strokeWidth=1.5)
    small = alt.layer(lines, rules).properties(width="container", height=BESIDE_HEIGHT)
    return small.configure_view(strokeWidth=0).to_dict(validate=False)


def beside_spec(name: str, curve: pl.DataFrame, view: View, base_view: View, base_label: str, template: dict) -> dict:
    """`beside_template` of `name` with its rows (Polars frames, sent as Arrow)."""
    datasets = sensitivity_datasets({name: curve}, view, base_view, base_label)
    return {**template, "datasets": datasets}
