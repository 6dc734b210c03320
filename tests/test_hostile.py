"""Text from outside stays text: a dataset whose names, regions, managers, people and content
are markdown, LaTeX, colour directives and HTML is shown on every page, and nothing of it is
read as formatting, a link or an image."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from kpi.store import write_dataset
from tests.conftest import open_page

# Each would render as something else than its characters if markdown read it.
PAYLOADS = (
    "![img](http://127.0.0.1:9/t.png)",
    "[sign in](https://evil.example/login)",
    "**bold**",
    "$$\\LaTeX$$",
    ":red[red]",
    "<b>html</b>",
    "`code`",
)
HOSTILE = " ".join(PAYLOADS)


def hostile(text: str) -> str:
    return f"{HOSTILE} {text}"


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_hostile_db(tmp_path_factory.mktemp("hostile") / "hostile.duckdb")


def write_hostile_db(path: Path) -> Path:
    """The demo program with every name, region, manager, person and content item hostile."""
    from kpi.demo import generate
    from kpi.validate import validate_frames

    tables = generate()
    tables["partners"] = tables["partners"].with_columns(
        pl.col("partner_name").map_elements(hostile, return_dtype=pl.String),
        pl.col("region").map_elements(hostile, return_dtype=pl.String),
        pl.col("channel_manager").map_elements(hostile, return_dtype=pl.String),
    )
    tables["partner_users"] = tables["partner_users"].with_columns(
        pl.col("user_name").map_elements(hostile, return_dtype=pl.String)
    )
    tables["activities"] = tables["activities"].with_columns(
        pl.col("item_name").map_elements(hostile, return_dtype=pl.String, skip_nulls=True)
    )
    validation = validate_frames(tables)
    assert validation.ok, validation.problem_lines(10)
    write_dataset(validation.tables, path, source="hostile", loaded_at=datetime(2026, 1, 1))
    return path


def shown_texts(at: AppTest) -> list[tuple[str, str]]:
    """(element type, text) of every element whose text Streamlit reads as markdown."""
    texts: list[tuple[str, str]] = []

    def walk(node: object) -> None:
        kind = getattr(node, "type", type(node).__name__)
        for attr in ("value", "body", "label", "help", "placeholder"):
            if attr == "value" and kind in ("dataframe", "table", "text_input", "text_area", "selectbox"):
                continue  # cells and what a person typed or picked are drawn as text, never as markdown
            try:
                value = getattr(node, attr, None)
            except Exception:  # an element without that field
                continue
            if isinstance(value, str):
                texts.append((f"{kind}.{attr}", value))
        for option in getattr(node, "options", None) or []:
            if isinstance(option, str) and kind in ("radio", "pills", "segmented_control"):
                texts.append((f"{kind}.option", option))
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                walk(child)

    for root in at._tree.children.values():
        walk(root)
    return texts


# Every page, and the page settings that show names of their own.
VIEWS = [
    ("overview", {}),
    ("overview", {"min_trainings": "2"}),
    ("tiers", {"min_trainings": "2"}),
    ("tiers", {"tiers_tab": "Engagement chart"}),
    ("whatif", {"min_trainings": "2"}),
    ("whatif", {"whatif_tab": "Suggested thresholds"}),
    ("weekly", {}),
    ("roi", {}),
    ("roi", {"roi_group": "Region", "roi_tab": "By group"}),
    ("roi", {"roi_group": "Channel manager", "roi_tab": "By group"}),
    ("roi", {"roi_tab": "Partner by partner"}),
    ("roi", {"roi_tab": "By category"}),
    ("recurring", {}),
    ("recurring", {"recurring_tab": "By tier and partner"}),
    ("recurring", {"recurring_tab": "Concentration"}),
    ("engagement", {}),
    ("engagement", {"engagement_tab": "Staff", "engagement_staff_search": "bold"}),
    ("engagement", {"engagement_tab": "Staff"}),
    ("engagement", {"engagement_tab": "Look busy"}),
    ("scorecard", {"scorecard_partner": "P00001"}),
    ("scorecard", {"scorecard_partner": "P00001", "scorecard_tab": "Month by month"}),
    ("scorecard", {"scorecard_partner": "P00001", "scorecard_tab": "Staff"}),
    ("scorecard", {"scorecard_partner": "P00001", "scorecard_tab": "Tier history"}),
    ("scorecard", {"scorecard_partner": "P00002", "as_of": "2025-01-01"}),
    ("scorecard", {"scorecard_partner": "**nobody** ![x](http://127.0.0.1:9/x.png)"}),
    ("data", {}),
]


@pytest.mark.parametrize(("page", "params"), VIEWS, ids=[f"{p}-{'&'.join(q) or 'plain'}" for p, q in VIEWS])
def test_names_from_the_data_are_shown_as_their_characters(hostile_db, monkeypatch, page, params):
    at = open_page(hostile_db, monkeypatch, page, **params)
    assert not at.exception
    texts = shown_texts(at)
    payloads = (*PAYLOADS, "**nobody**", "![x](")
    read_as_markdown = [(where, text) for where, text in texts for payload in payloads if payload in text]
    assert read_as_markdown == []
