"""The Weekly review page under AppTest, on the week of tests/test_review.py where each kind of
change happens once: the page shows the engine's review, from a link."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import load_tables, open_page, run_cli
from tests.test_review import A, S, W, week_tables
from ui import format as fmt


@pytest.fixture(scope="module")
def week_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return load_tables(tmp_path_factory.mktemp("weekly") / "week.duckdb", week_tables())


def open_weekly(db: Path, monkeypatch: pytest.MonkeyPatch, **link: str):
    at = open_page(db, monkeypatch, "weekly", as_of=A, window_days=str(W), **link)
    assert not at.exception
    return at


def test_the_review_reads_as_sentences_cards_and_tables(week_db, monkeypatch):
    at = open_weekly(week_db, monkeypatch)  # since: a week before the as-of date by default
    assert at.date_input(key="since").value.isoformat() == S
    assert at.markdown[0].value == "#### " + fmt.plain(
        "Activation fell 40.0 points to 20.0%. 1 partner moved to reward, 1 to nurture. "
        "1 joined the program and 1 left it. MRR held at $0."
    )
    cards = {m.label: (m.value, m.delta) for m in at.metric}
    assert cards["Activation %"] == ("20.0%", "-40.0 pts")
    assert cards["Activated partners"] == ("1", "-2")
    assert cards["Drop"] == ("0", "-1")
    assert cards["Revenue in the window"] == ("$122,000", "+$52,000")
    assert cards["Partners in the program"] == ("5", "")  # five then, five now: no change shown
    movers = at.dataframe[0].value
    assert list(movers["partner_id"]) == ["PD", "PU", "PJ", "PL"]
    assert list(movers["to_tier"]) == ["nurture", "reward", "nurture", "not in the program"]
    assert movers["scorecard"].iloc[0] == f"scorecard?as_of={A}&window_days={W}&scorecard_partner=PD"
    watch = at.dataframe[2].value
    assert list(watch["partner_id"]) == ["PD", "PU", "PA", "PG"]
    code, out, _ = run_cli("compare", "--db", week_db, "--as-of", A, "--window-days", str(W), "--base", f"as_of={S}")
    assert code == 0 and f'"moved": {len(movers)}' in out  # the command line counts the same movers
    # The brief, the workbook, and each of the three tables as CSV and Excel.
    labels = [button.proto.label for button in at.get("download_button")]
    assert labels == ["Brief (PDF)", "Brief (HTML)", "Review workbook (Excel)", *(["CSV", "Excel"] * 3)]


def test_the_brief_the_page_offers_is_the_commands(week_db, tmp_path):
    from kpi.params import View
    from tests.conftest import d
    from ui import data

    dataset = data.Dataset(str(week_db), data._file_version(week_db), (d("2025-01-01"), d(A)))
    html = data.brief_file(dataset, View(as_of=d(A), window_days=W), d(S), None, "$", "html").decode()
    out = tmp_path / "brief.html"
    code, _, err = run_cli("brief", "--db", week_db, "--as-of", A, "--window-days", str(W), "--out", out)
    assert code == 0, err
    assert html == out.read_text()


def test_an_empty_week_says_nothing_moved(week_db, monkeypatch):
    at = open_weekly(week_db, monkeypatch, since="2026-03-29")
    assert "No partner changed tier, joined or left." in at.markdown[0].value.replace("\\", "")
    assert "No partner changed tier, joined or left." in [c.value for c in at.caption]


@pytest.mark.parametrize(
    ("since", "why"),
    [("2026-03-31", "outside the data"), ("last week", "not a date"), ("2026-02-30", "not a date")],
)
def test_a_bad_since_date_in_a_link_falls_back_to_a_week_earlier_with_a_notice(week_db, monkeypatch, since, why):
    at = open_weekly(week_db, monkeypatch, since=since)
    assert at.date_input(key="since").value.isoformat() == S
    notice = " ".join(w.value for w in at.warning)
    assert f"`since={since}`" in notice and why in notice
