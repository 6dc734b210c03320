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
    assert template["encoding"]["y"]["title"] == "Revenue won in the window (€)"


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
