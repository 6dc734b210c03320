"""Downloads (ui/downloads.py, ui/chart_export.py): charts rendered offline as real PNG and SVG
from the specs the pages draw, tables as CSV and Excel, nothing built until a button is clicked.

The page tests check each page's buttons with `recorded_downloads` (AppTest cannot click a
download: it records what the page hands Streamlit, and the test calls it as a click would)."""

from __future__ import annotations

import copy
import io
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import altair as alt
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from ui import chart_export, downloads
from ui.data import arrow_spec

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --- what a page hands Streamlit, for the page tests -------------------------------------------


@dataclass(frozen=True)
class Download:
    label: str
    file_name: str
    mime: str
    data: Callable[[], object]

    def text(self) -> str:
        out = self.data()
        return out if isinstance(out, str) else bytes(out).decode()  # type: ignore[arg-type]

    def csv(self) -> pl.DataFrame:
        return pl.read_csv(io.StringIO(self.text()), infer_schema_length=None)

    def sheet(self, name: str) -> pl.DataFrame:
        return pl.read_excel(io.BytesIO(self.data()), sheet_name=name)  # type: ignore[arg-type]


def recorded_downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, Download]:
    """Every download button drawn from now on, by key (the last run's wins)."""
    from streamlit.elements.widgets.button import ButtonMixin

    recorded: dict[str, Download] = {}
    original = ButtonMixin.download_button

    def recording(self, label, data, *args, **kwargs):
        recorded[kwargs["key"]] = Download(label, kwargs["file_name"], kwargs["mime"], data)
        return original(self, label, data, *args, **kwargs)

    monkeypatch.setattr(ButtonMixin, "download_button", recording)
    return recorded


def button_keys(at: AppTest) -> set[str]:
    """The keys of the download buttons on screen (a widget's id ends with its key)."""
    return {button.proto.id.rsplit("-", 1)[-1] for button in at.get("download_button")}


def pairs(*keys: str, chart: bool = False) -> set[str]:
    """The keys of the buttons `table_downloads` (or `chart_downloads`) draws for these keys."""
    kinds = ("png", "svg") if chart else ("csv", "xlsx")
    return {f"{key}_{kind}" for key in keys for kind in kinds}


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (it always comes first, at byte 16)."""
    assert png[:8] == PNG_SIGNATURE and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


# --- rendering charts ---------------------------------------------------------------------------

MONTHS = pl.DataFrame(
    {
        "month": [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)],
        "revenue": [1200.0, 3400.5, float("nan")],
    }
)


def revenue_chart(data: object = MONTHS) -> alt.Chart:
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(x=alt.X("month:T", title="Month of the deal"), y=alt.Y("revenue:Q", title="Revenue won here"))
        .properties(width=400, height=200)
    )


def frame_spec() -> dict:
    """A spec as `ui.data._frame_datasets` leaves it: its dataset a Polars frame."""
    spec = revenue_chart().to_dict(validate=False)
    spec["datasets"] = {name: pl.DataFrame(rows) for name, rows in spec["datasets"].items()}
    return spec


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No socket can connect while the test runs."""

    def refuse(*args: object) -> None:
        raise AssertionError("a chart export tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


@pytest.mark.parametrize("make_spec", [frame_spec, lambda: arrow_spec(revenue_chart())], ids=["polars", "arrow"])
def test_a_chart_renders_as_a_png_twice_its_size_and_an_svg_with_its_text(offline, make_spec):
    spec = make_spec()
    before = copy.deepcopy({k: v for k, v in spec.items() if k != "datasets"})
    png = chart_export.to_png(spec)
    width, height = png_size(png)
    # 400 x 200 at scale 2 is 800 x 400, plus the axes, their titles and the padding.
    assert 800 < width < 1000 and 400 < height < 560
    svg = chart_export.to_svg(spec)
    assert svg.lstrip().startswith("<svg") and "Month of the deal" in svg and "Revenue won here" in svg
    assert "February" in svg  # the dates were read as dates: the time axis names the month
    assert {k: v for k, v in spec.items() if k != "datasets"} == before  # cached specs stay as they were


def test_the_rows_go_back_to_plain_records_with_dates_as_iso_text():
    arrow = arrow_spec(revenue_chart())
    (rows,) = chart_export.plain_spec(arrow)["datasets"].values()
    assert rows == [
        {"month": "2026-01-01T00:00:00", "revenue": 1200.0},
        {"month": "2026-02-01T00:00:00", "revenue": 3400.5},
        {"month": "2026-03-01T00:00:00", "revenue": None},  # NaN is no JSON number
    ]
    assert chart_export.records(MONTHS)[0] == {"month": "2026-01-01", "revenue": 1200.0}
    assert chart_export.records(MONTHS.to_arrow())[1] == {"month": "2026-02-01", "revenue": 3400.5}
    assert chart_export.records([{"a": 1}]) == [{"a": 1}]


def test_a_template_drawn_with_its_rows_renders_at_a_fixed_width_when_the_app_fits_it_to_the_page(offline):
    # As the pages draw most charts: st.vega_lite_chart(rows, template), fitted to the container.
    template = revenue_chart(alt.Undefined).properties(width="container").to_dict(validate=False)
    template.pop("data", None)
    template.pop("datasets", None)
    spec = chart_export.with_rows(template, MONTHS)
    assert chart_export.plain_spec(spec)["width"] == chart_export.EXPORT_WIDTH
    width, _ = png_size(chart_export.to_png(spec))
    assert 2 * chart_export.EXPORT_WIDTH < width < 2 * chart_export.EXPORT_WIDTH + 200
    assert "Revenue won here" in chart_export.to_svg(spec)
    assert "data" not in template  # the template is shared by every rerun: never changed


def test_a_concatenated_chart_keeps_the_widths_of_its_parts(offline):
    spec = alt.hconcat(revenue_chart(), revenue_chart()).to_dict(validate=False)
    assert "width" not in chart_export.plain_spec(spec)
    width, _ = png_size(chart_export.to_png(spec, scale=1))
    assert 800 < width < 1000


def test_a_chart_never_fetches_data_from_the_network():
    spec = {"data": {"url": "https://example.com/rows.csv"}, "mark": "bar", "encoding": {"x": {"field": "a"}}}
    with pytest.raises(ValueError, match="not allowed"):
        chart_export.to_svg(spec)


# --- the buttons -----------------------------------------------------------------------------------


class Where:
    """A stand-in for a Streamlit container: records the buttons drawn in it."""

    def __init__(self) -> None:
        self.buttons: dict[str, dict] = {}

    def download_button(self, label: str, data: Callable[[], object], **kwargs: object) -> None:
        self.buttons[str(kwargs["key"])] = {"label": label, "data": data, **kwargs}


def test_a_table_is_built_only_when_a_button_is_clicked_and_its_csv_never_runs_as_a_formula():
    built: list[int] = []

    def table() -> pl.DataFrame:
        built.append(1)
        return pl.DataFrame({"partner_name": ['=HYPERLINK("http://x")', "@SUM(A1)", "Plain"], "revenue": [-1.0, 2, 3]})

    where = Where()
    downloads.table_downloads(table, "tiers-partners-2026-03-31", "t", where, sheet="partners")
    assert not built  # drawing the buttons builds nothing
    csv, xlsx = where.buttons["t_csv"], where.buttons["t_xlsx"]
    assert (csv["label"], csv["file_name"], csv["mime"]) == ("CSV", "tiers-partners-2026-03-31.csv", "text/csv")
    assert (xlsx["label"], xlsx["file_name"]) == ("Excel", "tiers-partners-2026-03-31.xlsx")
    assert csv["on_click"] == xlsx["on_click"] == "ignore"  # a download does not rerun the page
    rows = pl.read_csv(io.StringIO(csv["data"]()))
    assert rows["partner_name"].to_list() == ['\'=HYPERLINK("http://x")', "'@SUM(A1)", "Plain"]
    assert rows["revenue"].to_list() == [-1.0, 2.0, 3.0]
    sheet = pl.read_excel(io.BytesIO(xlsx["data"]()), sheet_name="partners")
    assert sheet["partner_name"].to_list()[0] == '=HYPERLINK("http://x")'  # text, not a formula
    assert built == [1, 1]


def test_a_chart_is_rendered_only_when_a_button_is_clicked(offline):
    asked: list[int] = []

    def spec() -> dict:
        asked.append(1)
        return frame_spec()

    where = Where()
    downloads.chart_downloads(spec, "overview-growth-2026-03-31", "c", where)
    assert not asked
    png, svg = where.buttons["c_png"], where.buttons["c_svg"]
    assert (png["file_name"], png["mime"], svg["file_name"], svg["mime"]) == (
        "overview-growth-2026-03-31.png",
        "image/png",
        "overview-growth-2026-03-31.svg",
        "image/svg+xml",
    )
    assert png_size(png["data"]())[0] > 800 and "Revenue won here" in svg["data"]()
    assert asked == [1, 1]


def test_buttons_drawn_in_the_page_sit_in_one_row_of_their_own():
    def script() -> None:
        import polars as pl

        from ui.downloads import chart_downloads, table_downloads

        table_downloads(lambda: pl.DataFrame({"a": [1]}), "x-table-2026-03-31", "x")
        chart_downloads(lambda: {}, "x-chart-2026-03-31", "y")

    at = AppTest.from_function(script).run()
    assert not at.exception
    assert button_keys(at) == pairs("x") | pairs("y", chart=True)
    rows = [block for block in at.main.children.values() if block.proto.flex_container.direction]
    assert len(rows) == 2 and all(len(row.children) == 2 for row in rows)


def test_a_name_from_the_data_is_made_fit_for_a_file_name():
    assert downloads.file_part("P-001") == "P-001"
    assert downloads.file_part('../a/b "c"') == "a_b_c"
    assert downloads.file_part("///") == "_"
