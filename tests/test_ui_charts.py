"""Chart specs: the data and encodings a leader sees, checked without a browser."""

from __future__ import annotations

import polars as pl
import pytest

from kpi import metrics
from kpi.params import View
from tests.conftest import d
from ui import charts


def spec_values(chart) -> list[dict]:
    """The rows the chart draws (Altair inlines a frame as one named dataset)."""
    (values,) = chart.to_dict()["datasets"].values()
    return values


def test_program_history_plots_partners_against_revenue_by_month():
    monthly = pl.DataFrame(
        {"month": [d("2026-01-01"), d("2026-02-01")], "partners": [10, 30], "revenue": [1000.0, 1100.0]}
    )
    chart = charts.program_history(monthly, "$")
    spec = chart.to_dict()
    values = spec_values(chart)
    assert values == [
        {"month": "2026-01-01", "partners": 10, "revenue": 1000.0},
        {"month": "2026-02-01", "partners": 30, "revenue": 1100.0},
    ]
    titles = [layer["encoding"]["y"]["title"] for layer in spec["layer"]]
    assert titles == ["Revenue won in the month ($)", "Partners in the program (month end)"]
    assert spec["resolve"]["scale"]["y"] == "independent"


def synthetic_segment(n: int) -> pl.DataFrame:
    facts = pl.DataFrame(
        {
            "partner_id": [f"P{i}" for i in range(n)],
            "partner_name": [f"Partner {i}" for i in range(n)],
            "joined_on": [d("2024-01-01")] * n,
            "trainings": [i % 3 for i in range(n)],
            "content_shares": [i % 2 for i in range(n)],
            "content_views": [i % 7 for i in range(n)],
            "logins": [0] * n,
            "active_users": [1] * n,
            "deals_registered": [i % 4 for i in range(n)],
            "deals_won": [0] * n,
            "revenue": [float((i * 7919) % 100_000) for i in range(n)],
            "cost": [0.0] * n,
            "mrr": [0.0] * n,
        }
    )
    return metrics.segment(facts, View(as_of=d("2026-03-31")))


def test_engagement_scatter_draws_one_dot_per_partner_in_a_small_program():
    segmented = synthetic_segment(50)
    values = spec_values(charts.engagement_scatter(segmented))
    assert len(values) == 50
    assert {v["tier"] for v in values} <= {"reward", "nurture", "drop"}
    assert sum(v["partners"] for v in values) == 50


def test_engagement_scatter_groups_partners_in_a_large_program_and_keeps_every_partner_counted():
    segmented = synthetic_segment(20_000)
    values = spec_values(charts.engagement_scatter(segmented))
    assert len(values) < 2_000  # aggregated, not 20,000 dots
    assert sum(v["partners"] for v in values) == 20_000
    by_tier = segmented.group_by("tier").len()
    for tier, count in by_tier.iter_rows():
        assert sum(v["partners"] for v in values if v["tier"] == tier) == count


def test_tier_colours_are_one_palette_in_tier_order():
    spec = charts.engagement_scatter(synthetic_segment(10)).to_dict()
    scale = spec["encoding"]["color"]["scale"]
    assert scale["domain"] == ["reward", "nurture", "drop"]
    assert scale["range"] == [charts.TIER_COLORS[t] for t in ("reward", "nurture", "drop")]


@pytest.mark.parametrize("n", [30, 1_500, 1_501, 3_000])
def test_the_tiers_page_draws_the_engagement_chart_from_its_template_and_points(n):
    """The page sends the points as Arrow with a spec built once; together they are the chart."""
    segmented = synthetic_segment(n)
    chart = charts.engagement_scatter(segmented, "€")
    full = chart.to_dict()  # validated against the Vega-Lite schema
    points = charts.engagement_points(segmented)
    template = charts.engagement_scatter_template(charts.scatter_grouped(n), "€")
    assert "data" not in template and "datasets" not in template
    assert {**template, "data": full["data"], "datasets": full["datasets"]} == full
    assert points.to_dicts() == spec_values(chart)
    assert template["encoding"]["size"].get("field") == ("partners" if n > 1_500 else None)  # groups above 1,500
    assert points["partners"].sum() == n
    assert template["encoding"]["y"]["title"] == "Revenue won in the window (€, square-root scale)"


def test_the_specs_the_app_draws_are_the_validated_specs():
    """The app skips Altair's validation at run time; here every chart is validated."""
    monthly = pl.DataFrame({"month": [d("2026-01-01")], "partners": [3], "revenue": [10.0]})
    for chart in (
        charts.program_history(monthly),
        charts.engagement_scatter(synthetic_segment(30)),
        charts.engagement_scatter(synthetic_segment(3_000)),
    ):
        assert charts.vega_spec(chart) == chart.to_dict()  # to_dict() validates against the schema


def test_the_overview_history_chart_ships_its_rows_as_a_frame(tmp_path):
    """The cached history spec holds its rows as a Polars frame (sent as Arrow), the same rows
    and encodings as the validated chart."""
    from tests.conftest import load_tables
    from ui import data

    db = load_tables(
        tmp_path / "history.duckdb",
        {
            "partners": [
                {"partner_id": "P1", "partner_name": "One", "joined_on": "2026-01-15"},
                {"partner_id": "P2", "partner_name": "Two", "joined_on": "2026-02-10"},
            ],
            "activities": [{"partner_id": "P1", "occurred_at": "2026-01-20", "activity": "login"}],
            "deals": [
                {
                    "deal_id": "D1",
                    "partner_id": "P1",
                    "registered_on": "2026-02-01",
                    "status": "won",
                    "closed_on": "2026-02-20",
                    "amount": 1000,
                    "mrr": 10,
                }
            ],
        },
    )
    dataset = data.Dataset(str(db), "v1", (d("2026-01-15"), d("2026-02-20")))
    spec = data.program_history_spec(dataset, "$")
    (frame,) = spec["datasets"].values()
    assert isinstance(frame, pl.DataFrame)
    # From the first event (January): P1 in the program, nothing won; February (to the 20th, the
    # data's last date): both, 1,000 + 12 x 10 won
    assert frame.to_dicts() == [
        {"month": "2026-01-01", "partners": 1, "revenue": 0.0},
        {"month": "2026-02-01", "partners": 2, "revenue": 1120.0},
    ]
    chart = charts.program_history(data.monthly_program(dataset), "$")
    expected = chart.to_dict()
    assert {k: v for k, v in spec.items() if k != "datasets"} == {k: v for k, v in expected.items() if k != "datasets"}
    assert list(expected["datasets"].values()) == [frame.to_dicts()]


def test_the_sensitivity_chart_draws_each_thresholds_shares_with_now_and_the_policy_marked():
    import altair as alt

    from ui import charts_whatif

    curve = pl.DataFrame(
        {
            "value": [0, 1, 2],
            "partners": [10, 10, 10],
            "activated": [10, 4, 1],
            "activation_pct": [100.0, 40.0, 10.0],
            "reward": [5, 2, 1],
            "nurture": [5, 6, 7],
            "drop": [0, 2, 2],
        }
    )
    view = View(as_of=d("2026-03-31"), min_trainings=2)
    spec = charts_whatif.sensitivity_spec({"min_trainings": curve}, view, View(as_of=d("2026-03-31")), "policy")
    records = {**spec, "datasets": {name: frame.to_dicts() for name, frame in spec["datasets"].items()}}
    alt.ConcatChart.from_dict(records)  # valid Vega-Lite, as the page draws it
    (small,) = spec["concat"]
    lines, rules = small["layer"]
    assert small["title"] == "Trainings needed"
    rows = records["datasets"][lines["data"]["name"]]
    by = {(r["value"], r["series"]): (r["count"], r["pct"]) for r in rows}
    assert by[(1.0, "activation")] == (4, 40.0)
    assert by[(2.0, "drop")] == (2, 20.0)
    assert {r["series"] for r in rows} == {"activation", "reward", "nurture", "drop"}
    marks = records["datasets"][rules["data"]["name"]]
    assert marks == [{"value": 2.0, "mark": "now"}, {"value": 1.0, "mark": "policy"}]
    assert lines["encoding"]["y"]["scale"]["domain"] == [0, 100]
    # Drawn at the container's width, a concatenation is padded, not "fit" (Vega warns it cannot).
    assert spec["autosize"] == {"type": "pad"}
    # The template does not hold any rows: a move only puts new rows in.
    assert charts_whatif.sensitivity_template(("min_trainings",), "policy") == {
        k: v for k, v in spec.items() if k != "datasets"
    }


def test_the_sensitivity_rows_of_an_empty_program_have_no_share():
    from ui import charts_whatif

    curve = pl.DataFrame(
        {
            "value": [0],
            "partners": [0],
            "activated": [0],
            "activation_pct": [None],
            "reward": [0],
            "nurture": [0],
            "drop": [0],
        },
        schema_overrides={"activation_pct": pl.Float64},
    )
    rows = charts_whatif.curve_rows(curve)
    assert rows["pct"].to_list() == [None, None, None, None]


# --- one palette, readable axes, no empty layer ---------------------------------------------------


def _linear(channel: int) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def _rgb(colour: str) -> list[float]:
    return [_linear(int(colour[i : i + 2], 16)) for i in (1, 3, 5)]


def _luminance(rgb: list[float]) -> float:
    """WCAG relative luminance: the lightness a greyscale print keeps."""
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]


# Deuteranopia at full severity (Machado, Oliveira and Fernandes 2009), on linear RGB.
_DEUTERANOPIA = ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413), (-0.011820, 0.042940, 0.968881))


def _as_deuteranope(rgb: list[float]) -> list[float]:
    return [min(1.0, max(0.0, sum(m * c for m, c in zip(row, rgb, strict=True)))) for row in _DEUTERANOPIA]


def _contrast(a: float, b: float) -> float:
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


@pytest.mark.parametrize("seen", ["in colour", "by a deuteranope"])
def test_the_three_tiers_differ_in_lightness_in_greyscale_and_for_deuteranopia(seen):
    from itertools import combinations

    light = {
        tier: _luminance(_as_deuteranope(_rgb(colour)) if seen != "in colour" else _rgb(colour))
        for tier, colour in charts.TIER_COLORS.items()
    }
    # A contrast ratio of 1.8 between any two tiers: three clearly different greys.
    for a, b in combinations(metrics.TIERS, 2):
        assert _contrast(light[a], light[b]) >= 1.8, (a, b, light)


def _scales_with_tiers(node: object) -> list[dict]:
    """Every scale in a spec whose domain names a tier."""
    found = []
    if isinstance(node, dict):
        if isinstance(node.get("domain"), list) and set(node["domain"]) & set(metrics.TIERS):
            found.append(node)
        for value in node.values():
            found += _scales_with_tiers(value)
    elif isinstance(node, list):
        for value in node:
            found += _scales_with_tiers(value)
    return found


def _every_tier_chart() -> dict[str, dict]:
    from kpi import recurring
    from ui import charts_engagement, charts_recurring, charts_roi, charts_scorecard, charts_whatif

    segmented = synthetic_segment(30)
    groups = pl.DataFrame(
        {"group": ["reward", "drop"], "roi": [1.0, -0.5], "partners": [1, 2], "revenue": [2.0, 1.0], "cost": [1.0, 2.0]}
    )
    by_tier = recurring.mrr_by_tier(
        pl.DataFrame({"partner_id": ["P1"], "partner_name": ["a"], "tier": ["reward"], "mrr": [3.0]})
    )
    return {
        "engagement scatter": charts.engagement_scatter(segmented).to_dict(),
        "engagement groups": charts.engagement_scatter_template(True),
        "look busy": charts_engagement.look_busy_template(),
        "MRR by tier": charts_recurring.mrr_by_tier(by_tier).to_dict(),
        "ROI by tier": charts_roi.roi_by_group_chart(groups, "tier").to_dict(),
        "tier history": charts_scorecard.tier_history_template(),
        "what-if curves": charts_whatif.sensitivity_template(("min_trainings",), "policy"),
        "what-if strip": charts_whatif.beside_template("min_trainings", "policy"),
    }


def test_every_chart_with_a_tier_colour_uses_the_one_palette():
    from kpi import chart_style

    assert charts.TIER_COLORS is chart_style.TIER_COLORS
    for name, spec in _every_tier_chart().items():
        scales = [s for s in _scales_with_tiers(spec) if "range" in s]
        assert scales, name
        for scale in scales:
            colours = dict(zip(scale["domain"], scale["range"], strict=True))
            assert {t: colours[t] for t in metrics.TIERS} == chart_style.TIER_COLORS, name
            # What shares a scale with the tiers (activation, "not in program") is apart from each tier too.
            for other, colour in colours.items():
                if other not in metrics.TIERS:
                    lightness = _luminance(_rgb(colour))
                    for tier_colour in chart_style.TIER_RANGE:
                        assert _contrast(lightness, _luminance(_rgb(tier_colour))) >= 1.5, (name, other)


def _encodings(spec: dict) -> list[dict]:
    layers = [spec, *spec.get("layer", []), *spec.get("concat", [])]
    layers += [inner for layer in spec.get("concat", []) for inner in layer.get("layer", [])]
    return [channel for layer in layers for channel in layer.get("encoding", {}).values() if isinstance(channel, dict)]


def test_a_non_linear_axis_says_so_in_its_title():
    spec = charts.engagement_scatter(synthetic_segment(30), "€").to_dict()
    y = spec["encoding"]["y"]
    assert y["scale"]["type"] == "sqrt" and y["title"] == "Revenue won in the window (€, square-root scale)"
    for name, chart in _every_tier_chart().items():
        for channel in _encodings(chart):
            if channel.get("scale", {}).get("type") in ("log", "sqrt", "symlog", "pow"):
                assert "scale" in channel["title"], name


def _svg_labels(spec: dict) -> list[str]:
    import re

    from ui import chart_export

    return re.findall(r"<text[^>]*>([^<]*)</text>", chart_export.to_svg(spec))


def test_money_axes_read_in_dollars_with_k_and_m_and_never_0m():
    from ui import charts_recurring

    over_time = pl.DataFrame(
        {
            "month": [d("2026-01-01"), d("2026-02-01"), d("2026-03-01")],
            "month_end": [d("2026-01-31"), d("2026-02-28"), d("2026-03-31")],
            "mrr": [0.0, 1_200_000.0, 2_400_000.0],
            "arr": [0.0, 14_400_000.0, 28_800_000.0],
            "partners": [1, 2, 3],
        }
    )
    labels = _svg_labels(charts_recurring.mrr_history(over_time, "$").to_dict())
    assert {"$0", "$200k", "$1.2M", "$2M"} <= set(labels)
    assert not [label for label in labels if label.startswith(("0M", "$0M", "$0.", "0."))]
    # Small amounts in full, negatives with the sign first, billions as B.
    small = charts.program_history(
        pl.DataFrame({"month": [d("2026-01-01")], "partners": [1], "revenue": [180.0]}), "€"
    ).to_dict()
    assert {"€0", "€100", "€180"} <= set(_svg_labels(small))
    losses = charts.program_history(
        pl.DataFrame({"month": [d("2026-01-01")], "partners": [1], "revenue": [-2.5e9]}), "$"
    ).to_dict()
    assert {"-$2B", "$0"} <= set(_svg_labels(losses))


def test_every_month_axis_reads_jan_2025_level():
    from ui import charts_recurring, charts_roi, charts_scorecard

    months = pl.DataFrame(
        {
            "month": [d("2025-12-01"), d("2026-01-01")],
            "month_end": [d("2025-12-31"), d("2026-01-31")],
            "partners": [1, 1],
            "revenue": [10.0, 20.0],
            "cost": [5.0, 5.0],
            "mrr": [1.0, 2.0],
            "arr": [12.0, 24.0],
            "roi": [1.0, 3.0],
            "activated": [1, 1],
            "cost_per_activated": [5.0, 5.0],
        }
    )
    specs = {
        "overview": charts.program_history(months).to_dict(),
        "MRR": charts_recurring.mrr_history(months).to_dict(),
        "ROI": charts_roi.monthly_roi_chart(months).to_dict(),
        "cost per activated": charts_roi.cost_per_activated_chart(months).to_dict(),
        "scorecard": charts_scorecard.monthly_money(months).to_dict(),
    }
    for name, spec in specs.items():
        labels = _svg_labels(spec)
        assert "Jan 2026" in labels, (name, labels)
        assert not [label for label in labels if label.startswith(("2025-", "2026-"))], name
        axis = next(c for c in _encodings(spec) if (c.get("title") or "").startswith("Month"))["axis"]
        assert axis["labelAngle"] == 0, name


def test_a_template_and_its_rows_reach_streamlit_as_a_named_dataset():
    """Rows given apart from the spec are drawn once empty first: every scale of that empty
    drawing logs "Infinite extent" in the browser. A named dataset is drawn with its rows."""
    from streamlit.testing.v1 import AppTest

    def page() -> None:
        from datetime import date

        import polars as pl
        import streamlit as st

        from ui import charts_roi
        from ui.chart_export import with_rows

        months = pl.DataFrame(
            {"month": [date(2026, 1, 1)], "cost_per_activated": [4.0], "activated": [2], "cost": [8.0]}
        )
        template = charts_roi.cost_per_activated_template("$")
        st.vega_lite_chart(with_rows(template, charts_roi.cost_per_activated_data(months)))
        st.write(str(sorted(template)))

    at = AppTest.from_function(page).run()
    (chart,) = at.get("vega_lite_chart")
    assert not chart.proto.data.data  # nothing drawn after an empty first drawing
    (dataset,) = chart.proto.datasets
    assert dataset.name == "rows" and dataset.data.data
    assert '"data": {"name": "rows"}' in chart.proto.spec
    assert "'data'" not in at.markdown[0].value  # the cached template is not changed


def test_the_movement_chart_leaves_out_a_component_that_is_zero_every_month():
    from ui import charts_recurring

    month_starts = pl.Series([d("2026-01-01"), d("2026-02-01")])
    movement = pl.DataFrame(
        {
            "month": month_starts,
            "month_end": month_starts.dt.month_end(),
            "partners": [2, 2],
            "mrr_start": [100.0, 110.0],
            "new_mrr": [30.0, 0.0],
            "churned_mrr": [10.0, 0.0],
            "joined_mrr": [0.0, 0.0],
            "left_mrr": [10.0, 0.0],
            "net_new_mrr": [10.0, 0.0],
            "mrr": [110.0, 110.0],
            "arr": [1320.0, 1320.0],
        }
    )
    rows = charts_recurring.movement_frame(movement)
    assert rows["component"].unique(maintain_order=True).to_list() == ["New deals", "Churned deals", "Partners left"]
    assert rows.filter(pl.col("component") == "Partners left")["value"].to_list() == [-10.0, 0.0]
    spec = charts_recurring.mrr_movement(movement).to_dict()
    color = spec["layer"][0]["encoding"]["color"]["scale"]
    assert color["domain"] == ["New deals", "Churned deals", "Partners left"]
    assert len(color["range"]) == 3
    # A month where partners joining brought MRR keeps the series, with its amount.
    joined = charts_recurring.movement_frame(movement.with_columns(joined_mrr=pl.Series([0.0, 25.0])))
    assert joined.filter(pl.col("component") == "Partners joined")["value"].to_list() == [0.0, 25.0]


def test_the_active_staff_chart_has_no_empty_no_staff_bar():
    from kpi.engagement import ACTIVE_USER_BUCKETS, NO_STAFF
    from ui import charts_engagement

    def distribution(no_staff: int) -> pl.DataFrame:
        counts = [no_staff, 3, 5, 2, 0, 1]
        return pl.DataFrame(
            {"bucket": list(ACTIVE_USER_BUCKETS), "partners": counts, "share_pct": [100.0 * c / 11 for c in counts]}
        )

    staffed = charts_engagement.active_users_chart(distribution(0)).to_dict()
    (values,) = staffed["datasets"].values()
    assert NO_STAFF not in [v["bucket"] for v in values]
    assert staffed["encoding"]["x"]["sort"] == ["0", "1", "2", "3", "4+"]
    assert staffed["encoding"]["color"]["legend"] is None
    some = charts_engagement.active_users_chart(distribution(4)).to_dict()
    (values,) = some["datasets"].values()
    assert [v["partners"] for v in values if v["bucket"] == NO_STAFF] == [4]
    assert some["encoding"]["color"]["scale"]["domain"] == ["has staff", "no staff on record"]
