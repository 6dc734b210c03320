"""Every view travels in its link: a link with every parameter set opens every control on its
value, each parameter round-trips, and a bad, unknown or repeated value gives a notice."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from kpi.params import PAGE_PARAMS, PARAMS, SPEC_BY_NAME, ParamSpec, format_param, parse_params
from kpi.tiers import type_label
from tests.conftest import default_view, open_page

# The widgets a bound parameter can be drawn as; tabs and expanders are read from the session.
WIDGETS = ("slider", "number_input", "date_input", "selectbox", "multiselect", "radio", "text_input", "toggle")
# Each page's own parameters, besides the sidebar's (PARAMS and the curves' switch).
PAGES = {
    "tiers": lambda name: name.startswith("tiers_"),
    "whatif": lambda name: name.startswith("whatif_"),
    "weekly": lambda name: name == "since",
    "roi": lambda name: name.startswith("roi_"),
    "recurring": lambda name: name.startswith("recurring_"),
    "engagement": lambda name: name.startswith("engagement_"),
    "scorecard": lambda name: name.startswith("scorecard_"),
}
# These name saved scenarios and fill the thresholds from them: test_page_whatif opens them.
SCENARIO_NAMES = {"scenario", "compare"}
MISSING = object()


def data_values(db: Path, column: str) -> list[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(f"select distinct {column} from partners where {column} is not null order by 1").fetchall()
    finally:
        con.close()
    return [row[0] for row in rows]


def known(db: Path) -> dict[str, dict[str, str]]:
    """What the Tiers filters offer on `db`: the label a link holds -> the data's value."""
    return {
        "tiers_region": {v: v for v in data_values(db, "region")},
        "tiers_type": {type_label(v): v for v in data_values(db, "partner_type")},
        "tiers_manager": {v: v for v in data_values(db, "channel_manager")},
    }


def sample(spec: ParamSpec, db: Path) -> str | list[str]:
    """A value for `spec` that is not its default and that its control can show on `db`, as a link writes it."""
    as_of = default_view(db).as_of - timedelta(days=7)
    if spec.name in known(db):
        return list(known(db)[spec.name])  # every value: the list keeps its pages
    special = {
        "as_of": as_of.isoformat(),
        "since": (as_of - timedelta(days=14)).isoformat(),
        "tiers_search": "e",  # in most partners' names: the list still has a second page
        "tiers_page": "2",
        "engagement_staff_search": "a",
        "scorecard_partner": "P00042",
    }
    if spec.name in special:
        return special[spec.name]
    if spec.kind == "int":
        assert isinstance(spec.default, int) and spec.max_value is not None
        return str(spec.default + 1 if spec.default < spec.max_value else spec.default - 1)
    if spec.kind == "money":
        assert isinstance(spec.default, float)
        return format_param(spec, spec.default * 0.8)
    if spec.kind == "bool":
        return "true"
    if spec.kind == "choice" and spec.multiple:
        return [label for _, label in reversed(spec.choices)]
    if spec.kind == "choice":
        return spec.choices[-1][1]
    raise AssertionError(f"no sample value for {spec.name}: add one")


def control(at: AppTest, name: str) -> object:
    """The value the control bound to `name` shows, or MISSING when it is not drawn."""
    for kind in WIDGETS:
        for widget in getattr(at, kind):
            if widget.key == name:
                return widget.value
    return at.session_state[name] if name in at.session_state else MISSING


def parsed(spec: ParamSpec, text: str | list[str], db: Path) -> object:
    values, problems = parse_params({spec.name: text}, [spec], known=known(db))
    assert problems == []
    value = values[spec.name]
    return list(value) if spec.multiple else value  # type: ignore[call-overload]


def notices(at: AppTest) -> str:
    return " ".join(w.value for w in at.warning if "could not be used" in w.value)


def page_specs(page: str) -> list[ParamSpec]:
    return [s for s in (*PARAMS, SPEC_BY_NAME["curves"], *PAGE_PARAMS) if s in PARAMS or PAGES[page](s.name)]


@pytest.mark.parametrize("page", list(PAGES))
def test_a_link_with_every_parameter_set_opens_every_control_on_its_value(demo_db, monkeypatch, page):
    specs = [s for s in page_specs(page) if s.name not in SCENARIO_NAMES]
    link = {s.name: sample(s, demo_db) for s in specs}
    tab = next((s for s in specs if s.name == f"{page}_tab"), None)
    seen = set()
    # A control in a closed tab is not drawn: the link is opened once on each tab.
    for tab_label in [label for _, label in tab.choices] if tab else [None]:
        at = open_page(demo_db, monkeypatch, page, **(link | ({tab.name: tab_label} if tab else {})))
        assert not at.exception
        assert notices(at) == ""
        for spec in specs:
            shown = control(at, spec.name)
            if shown is MISSING:
                continue
            expected = parsed(spec, tab_label if spec is tab else link[spec.name], demo_db)
            assert shown == expected, spec.name
            seen.add(spec.name)
    assert seen == {s.name for s in specs}  # every parameter's control was drawn and checked


def test_the_tiers_link_shows_the_list_it_names(demo_db, monkeypatch):
    at = open_page(demo_db, monkeypatch, "tiers", tiers_sort="ROI", tiers_order="Ascending", tiers_page="2")
    caption = next(c.value for c in at.caption if c.value.startswith("Partners "))
    assert caption.startswith("Partners 101-200 of ") and "sorted by ROI, ascending" in caption
    region = data_values(demo_db, "region")[0]
    at = open_page(demo_db, monkeypatch, "tiers", tiers_region=region, tiers_tier=["reward", "drop"])
    table = at.dataframe[0].value
    assert set(table["region"]) == {region} and set(table["tier"]) <= {"reward", "drop"}


NEW = [s for s in PAGE_PARAMS if s.name.startswith("tiers_") and s.name != "tiers_tab"] + [
    SPEC_BY_NAME[n]
    for n in (
        "whatif_edit",
        "whatif_evidence_open",
        "whatif_evidence",
        "roi_tab",
        "recurring_tab",
        "engagement_tab",
        "scorecard_tab",
    )
]
NEEDS = {
    "whatif_evidence_open": {"whatif_tab": "Suggested thresholds"},
    "whatif_evidence": {"whatif_tab": "Suggested thresholds"},
    "scorecard_tab": {"scorecard_partner": "P00042"},  # the tabs are a partner's
}


@pytest.mark.parametrize("spec", NEW, ids=lambda s: s.name)
def test_each_new_parameter_round_trips(demo_db, monkeypatch, spec):
    text = sample(spec, demo_db)
    page = spec.name.split("_")[0]
    at = open_page(demo_db, monkeypatch, page, **{spec.name: text}, **NEEDS.get(spec.name, {}))
    assert notices(at) == ""
    shown = control(at, spec.name)
    assert shown == parsed(spec, text, demo_db)
    # What the control shows, written back as a bound control writes it, is the link's text.
    assert link_text(spec, shown) == text


def link_text(spec: ParamSpec, value: object) -> str | list[str]:
    """A control's value as the link holds it: a choice's label, a filter's labels, else the value."""
    if spec.multiple:
        label = type_label if spec.name == "tiers_type" else spec.label_of
        return [label(v) for v in value]  # type: ignore[attr-defined]
    return spec.label_of(value) if spec.kind == "choice" else format_param(spec, value)


@pytest.mark.parametrize(
    ("page", "link", "notice"),
    [
        ("tiers", {"tiers_region": "Mars"}, "`tiers_region=Mars`: not in the data, which has "),
        ("tiers", {"tiers_type": "system_integrator"}, "`tiers_type=system_integrator`: not in the data"),
        (
            "tiers",
            {"tiers_tier": ["reward", "gold"]},
            "`tiers_tier=gold`: not one of reward, nurture, drop; using reward instead",
        ),
        ("tiers", {"tiers_sort": "revenue"}, "`tiers_sort=revenue`: not one of Revenue, ROI"),
        ("tiers", {"tiers_order": "down"}, "`tiers_order=down`: not one of Descending, Ascending; using Descending"),
        ("tiers", {"tiers_page": "99"}, "`tiers_page=99`: must be between 1 and 3 here; using 1 (the default)"),
        ("tiers", {"tiers_page": "two"}, "`tiers_page=two`: not a whole number"),
        ("tiers", {"tiers_tab": "Chart"}, "`tiers_tab=Chart`: not one of Partner list, Engagement chart"),
        ("whatif", {"whatif_tab": "Curves"}, "`whatif_tab=Curves`: not one of Scenarios"),
        ("whatif", {"whatif_edit": "Delete"}, "`whatif_edit=Delete`: not one of Save the controls"),
        ("whatif", {"whatif_evidence_open": "yes", "whatif_tab": "Suggested thresholds"}, "not true or false"),
        ("tiers", {"window_days": ["30", "60"]}, "`window_days=30, 60`: is given 2 times; using 90 (the default)"),
        ("tiers", {"tiers_sort": ["ROI", "Cost"]}, "`tiers_sort=ROI, Cost`: is given 2 times; using Cost instead"),
        ("tiers", {"tiers_search": ["a", "b"]}, "`tiers_search=a, b`: is given 2 times"),
        (
            "whatif",
            {"min_trainng": "2"},
            "`min_trainng=2`: not a parameter of this app (did you mean min_trainings?); ignored",
        ),
        ("weekly", {"utm_source": "mail"}, "`utm_source=mail`: not a parameter of this app; ignored."),
    ],
)
def test_a_bad_unknown_or_repeated_value_gives_a_notice(demo_db, monkeypatch, page, link, notice):
    at = open_page(demo_db, monkeypatch, page, **link)
    assert not at.exception
    assert notice in notices(at)


def test_streamlits_own_parameters_are_no_notice(demo_db, monkeypatch):
    at = open_page(demo_db, monkeypatch, "tiers", embed="true", embed_options="light_theme")
    assert notices(at) == ""


def test_the_small_thresholds_run_0_to_20_on_their_sliders(demo_db, monkeypatch):
    at = open_page(demo_db, monkeypatch, "tiers", min_trainings="21")
    sliders = {s.key: (s.min, s.max) for s in at.sidebar.slider}
    assert {name: sliders[name] for name in ("min_trainings", "min_shares", "min_deals")} == {
        "min_trainings": (0, 20),
        "min_shares": (0, 20),
        "min_deals": (0, 20),
    }
    assert "`min_trainings=21`: must be between 0 and 20; using 1 (the default) instead." in notices(at)
