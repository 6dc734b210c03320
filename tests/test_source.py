"""What every format shares (kpi.source): the limits, cells as text, the header row, a preview."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from kpi.source import SourceFile, as_text, detect_header, row_limit, size_limit_mb, size_problem

MB = 1024 * 1024


def test_the_size_limit_names_the_size_and_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KPI_MAX_UPLOAD_MB", raising=False)
    assert size_limit_mb() == 200.0
    assert size_problem(200 * MB) is None  # the limit itself is allowed
    # 3.5 MB over 2 MB; 1,615 bytes are 0.00154 MB, written with two figures.
    assert size_problem(7 * MB // 2, 2) == "is 3.5 MB, over the 2 MB limit (set KPI_MAX_UPLOAD_MB to change it)"
    assert size_problem(1615, 0.001) == "is 0.0015 MB, over the 0.001 MB limit (set KPI_MAX_UPLOAD_MB to change it)"
    monkeypatch.setenv("KPI_MAX_UPLOAD_MB", "0.5")
    assert size_limit_mb() == 0.5
    assert size_limit_mb(3) == 3  # the argument wins over the environment


@pytest.mark.parametrize("setting", ["0", "-1", "inf", "lots"])
def test_a_bad_limit_setting_is_named(monkeypatch: pytest.MonkeyPatch, setting: str) -> None:
    monkeypatch.setenv("KPI_MAX_UPLOAD_MB", setting)
    with pytest.raises(ValueError, match=f"^KPI_MAX_UPLOAD_MB must be a positive number, not '{setting}'$"):
        size_limit_mb()
    monkeypatch.setenv("KPI_MAX_ROWS", setting)
    with pytest.raises(ValueError, match=f"^KPI_MAX_ROWS must be a positive number, not '{setting}'$"):
        row_limit()


def test_the_row_limit_comes_from_the_argument_the_environment_or_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KPI_MAX_ROWS", raising=False)
    assert row_limit() == 10_000_000
    monkeypatch.setenv("KPI_MAX_ROWS", "12")
    assert row_limit() == 12
    assert row_limit(5) == 5


def test_every_cell_becomes_trimmed_text_and_empty_text_null() -> None:
    frame = pl.DataFrame(
        {
            "day": [date(2026, 3, 15), None],
            "moment": [datetime(2026, 3, 1, 10, 30), datetime(2026, 3, 2)],
            "units": [3, 4],
            "amount": [1500.5, 20.0],
            "name": [" pad ", "   "],
        }
    )
    assert as_text(frame).rows() == [
        ("2026-03-15", "2026-03-01T10:30:00", "3", "1500.5", "pad"),
        (None, "2026-03-02T00:00:00", "4", "20.0", None),
    ]


@pytest.mark.parametrize(
    ("rows", "header_row"),
    [
        ([["ID", "Name"], ["1", "Alpha"]], 1),
        # A title and a blank row above the header.
        ([["Pipeline report", None, None], [None, None, None], ["ID", "Name", "Amount"], ["1", "A", "3"]], 3),
        # Names used twice are not a header; numbers and dates are not names.
        ([["a", "a"], ["2026-01-01", "7"], ["x", "y"]], 3),
        # No row looks like names: row 1.
        ([["1", "2"], ["3", "4"]], 1),
    ],
    ids=["first row", "under a title", "first row of distinct words", "no header"],
)
def test_the_header_is_the_first_row_of_distinct_words(rows: list[list[str | None]], header_row: int) -> None:
    assert detect_header(rows) == header_row


def test_a_preview_knows_the_whole_files_rows_and_few_valued_columns() -> None:
    frame = pl.DataFrame({"Stage": ["Won", "Lost"], "ID": ["O-2", "O-1"], "_row": [2, 3]})
    whole = SourceFile("deals.csv", frame, 1, ",", ("Stage", "ID"))
    assert (whole.is_preview, whole.rows) == (False, 2)
    assert whole.values("Stage", 10) == ["Lost", "Won"]
    preview = SourceFile(
        "deals.csv", frame, 1, ",", ("Stage", "ID"), total_rows=250, distinct={"Stage": ("Lost", "Open", "Won")}
    )
    assert (preview.is_preview, preview.rows) == (True, 250)
    assert preview.values("Stage", 2) == ["Lost", "Open"]  # the whole file's values, at most 2
    assert preview.values("ID", 5) == ["O-1", "O-2"]  # too many to keep: the preview's own rows
