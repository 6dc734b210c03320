"""Reading is bounded before it starts: an .xlsx by its unpacked size, any file by its
column count, a CSV whose first line never ends; and what reading at the limit costs."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from kpi.read import preview_source, read_source
from kpi.source import SourceError
from tests.test_read import write_report_xlsx, write_xlsx


def inline_string_xlsx(rows: int) -> bytes:
    """A minimal .xlsx whose one sheet holds `rows` rows of one inline string: tiny packed,
    large unpacked (what a hostile upload looks like)."""
    import zipfile

    sheet = io.BytesIO()
    sheet.write(b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
    sheet.write(b"<sheetData>")
    row = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>'
    sheet.write(row * rows)
    sheet.write(b"</sheetData></worksheet>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", sheet.getvalue())
    return out.getvalue()


def test_an_xlsx_that_unpacks_past_the_limit_is_refused_before_it_is_read(monkeypatch) -> None:
    data = inline_string_xlsx(300_000)  # about 15 MB unpacked
    assert len(data) < 200 * 1024  # under 200 KB as uploaded
    monkeypatch.setenv("KPI_MAX_XLSX_UNPACKED_MB", "10")
    with pytest.raises(SourceError) as refused:
        preview_source("huge.xlsx", data)
    assert refused.value.reason.startswith("unpacks to 14 MB, over the 10 MB limit for .xlsx files")
    assert "save a large sheet as CSV" in refused.value.reason


def test_the_xlsx_unpacked_limit_is_a_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "activity.xlsx"
    write_report_xlsx(path)
    monkeypatch.setenv("KPI_MAX_XLSX_UNPACKED_MB", "0.001")
    with pytest.raises(SourceError, match="over the 0.001 MB limit for .xlsx files"):
        read_source("activity.xlsx", path)
    monkeypatch.setenv("KPI_MAX_XLSX_UNPACKED_MB", "lots")
    with pytest.raises(SourceError, match="KPI_MAX_XLSX_UNPACKED_MB must be a positive number"):
        read_source("activity.xlsx", path)


@pytest.mark.parametrize("suffix", ["csv", "parquet", "xlsx"])
def test_a_file_with_more_columns_than_the_limit_is_refused(tmp_path, monkeypatch, suffix):
    header = [f"col{i}" for i in range(12)]
    frame = pl.DataFrame({name: ["1", "2"] for name in header})
    path = tmp_path / f"wide.{suffix}"
    if suffix == "csv":
        frame.write_csv(path)
    elif suffix == "parquet":
        frame.write_parquet(path)
    else:
        write_xlsx(path, header, [tuple(r) for r in frame.rows()])
    assert read_source(path.name, path).frame.width == 12 + 1  # the row number column
    monkeypatch.setenv("KPI_MAX_COLUMNS", "10")
    with pytest.raises(SourceError) as refused:
        read_source(path.name, path)
    assert refused.value.reason == "has 12 columns, over the 10 column limit (set KPI_MAX_COLUMNS to change it)"


def test_a_csv_whose_first_line_never_ends_is_refused_as_too_wide() -> None:
    data = (",".join(f"c{i}" for i in range(200_000)) + "\n" + ",".join("1" * 200_000) + "\n").encode()
    with pytest.raises(SourceError, match="first line runs past the first 1 MiB"):
        preview_source("wide.csv", data)


MEMORY_CHILD = """
import sys
from pathlib import Path
from kpi.read import read_source

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024

open("/proc/self/clear_refs", "w").write("5")  # the peak (VmHWM) starts again from here
before = status("VmRSS")
try:
    read_source(Path(sys.argv[1]).name, Path(sys.argv[1]))
    outcome = "read"
except Exception as exc:
    outcome = type(exc).__name__
print(outcome, status("VmHWM") - before)
"""


def test_reading_an_xlsx_at_the_unpacked_limit_stays_within_the_documented_memory(tmp_path):
    """README: an .xlsx is read whole at 2 to 2.5 times its unpacked size; a file just under
    the limit (set to 30 MB here) is read within 3 times it, and one over it costs nothing."""
    import os
    import subprocess
    import sys
    import zipfile

    from tests.conftest import ROOT

    path = tmp_path / "big.xlsx"
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, ["partner_id", "partner_name"])
    for row in range(1, 200_000):
        sheet.write_row(row, 0, [f"P{row}", "x"])
    workbook.close()
    unpacked_mb = sum(i.file_size for i in zipfile.ZipFile(path).infolist()) / 2**20
    assert 20 < unpacked_mb < 30

    def child(limit_mb: str) -> tuple[str, float]:
        env = {**os.environ, "KPI_MAX_XLSX_UNPACKED_MB": limit_mb}
        done = subprocess.run(
            [sys.executable, "-c", MEMORY_CHILD, str(path)], cwd=ROOT, env=env, capture_output=True, text=True
        )
        outcome, grown = done.stdout.split()
        return outcome, float(grown)

    outcome, grown_mb = child("30")
    assert outcome == "read" and grown_mb < 3 * unpacked_mb
    outcome, grown_mb = child("10")
    assert outcome == "SourceError" and grown_mb < 5
