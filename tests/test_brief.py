"""The one-page brief (kpi.brief, python -m kpi brief): the PDF's text and the HTML hold the
headline numbers, the dates, every threshold, the load and every mover; names from outside
stay plain text; nothing points outside the file."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from kpi import scenarios
from tests.conftest import load_tables, run_cli
from tests.test_review import A, S, W, week_tables

HOSTILE = '**PU** <img src="http://127.0.0.1:9/x.png"> #set $x$'


@pytest.fixture(scope="module")
def brief_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tables = week_tables()
    for row in tables["partners"]:
        if row["partner_id"] == "PU":
            row["partner_name"] = HOSTILE
    return load_tables(tmp_path_factory.mktemp("brief") / "week.duckdb", tables)


def write_brief(db: Path, out: Path, *flags: str) -> str:
    code, printed, err = run_cli("brief", "--db", db, "--as-of", A, "--window-days", str(W), *flags, "--out", out)
    assert code == 0, err
    assert printed == f"wrote the brief of {A} since {S} to {out}\n"
    return printed


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


EXPECTED = (
    f"As of {A}, compared with {S}; windows of {W} days.",
    "Trainings needed 1; Content shares needed 1; Deal registrations needed 1; Criteria a partner must meet 3; "
    "Reward: revenue at least $50,000; Drop: actions at most 2; Grace period for new partners (days) 90.",
    "Data loaded 2026-01-01 00:00 from test",
    "Activation fell 40.0 points to 20.0%. 1 partner moved to reward, 1 to nurture. "
    "1 joined the program and 1 left it. MRR held at $0.",
    "Activated partners 3 1 -2",
    "Revenue in the window $70,000 $122,000 +$52,000",
    "Partner PD (PD)",
    "Partner PJ (PJ)",
    "Partner PL (PL)",
    "not in the program on 2026-03-31",
    "grace period ends 2026-04-05",
)


def test_the_pdf_brief_is_one_page_with_the_numbers_dates_thresholds_load_and_movers(brief_db, tmp_path):
    out = tmp_path / "brief.pdf"
    write_brief(brief_db, out)
    pages = PdfReader(io.BytesIO(out.read_bytes())).pages
    assert len(pages) == 1
    text = flat(pages[0].extract_text())
    for expected in EXPECTED:
        assert expected in text, expected
    # Shown as written (a table cell may wrap it), never read as markup.
    assert '**PU** <img src="http://127.0.0.1:9/' in text and 'x.png"> #set $x$ (PU)' in text


def test_the_html_brief_is_self_contained_and_shows_names_as_text(brief_db, tmp_path):
    out = tmp_path / "brief.html"
    write_brief(brief_db, out)
    page = out.read_text()
    text = flat(re.sub(r"<[^>]+>", " ", page))
    for expected in ("Activation fell 40.0 points to 20.0%.", "Partner PD (PD)", "Data loaded 2026-01-01 00:00"):
        assert expected in text
    assert "Activated partners</td><td>3</td><td>1</td><td>-2" in page
    assert "&lt;img src=&quot;http://127.0.0.1:9/x.png&quot;&gt;" in page  # escaped: never an image
    assert "<img" not in page and "<script" not in page and "<link" not in page
    # No tag points anywhere (the charts' only addresses are XML namespaces): nothing is fetched.
    assert re.findall(r"<[a-zA-Z][^<>]*\s(?:src|href)=[\"']?https?:", page) == []
    assert page.count("<svg") == 2


def test_a_scenario_stamps_the_brief_and_sets_its_thresholds(brief_db, tmp_path):
    db = tmp_path / "scenario.duckdb"
    db.write_bytes(brief_db.read_bytes())
    scenarios.save(db, "strict", {"min_trainings": 2})
    out = tmp_path / "brief.html"
    write_brief(db, out, "--scenario", "strict")
    text = flat(re.sub(r"<[^>]+>", " ", out.read_text()))
    assert "Trainings needed 2;" in text and "Scenario: strict." in text


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--out", "brief.docx"), "the brief is written as .pdf or .html"),
        (("--scenario", "nope", "--out", "b.pdf"), "--scenario: no scenario named 'nope'"),
        (("--since", "2026-03-31", "--out", "b.pdf"), "--since '2026-03-31': must be before the as-of date"),
    ],
)
def test_a_bad_brief_flag_is_one_error_line_and_writes_nothing(brief_db, tmp_path, monkeypatch, flags, message):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli("brief", "--db", brief_db, "--as-of", A, *flags)
    assert code == 2 and err.startswith("error: ") and message in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_the_brief_charts_paint_the_tiers_in_the_apps_one_palette_and_write_money_as_money(brief_db, tmp_path):
    from kpi.chart_style import TIER_COLORS

    out = tmp_path / "brief.html"
    write_brief(brief_db, out)
    page = out.read_text().lower()
    for tier, colour in TIER_COLORS.items():
        assert f'fill="{colour.lower()}"' in page, tier
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", out.read_text())
    # The revenue changes' axis: +52,000 is the largest, read in dollars with k, never "0M".
    assert {"$0", "$50k"} <= set(labels), labels
    assert not [label for label in labels if label.endswith("M") and label.lstrip("-$").startswith("0")]
