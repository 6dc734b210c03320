"""Charts leaving the app as PNG and SVG, rendered on the server by Altair's own static export
engine (vl-convert): no browser, and no network (external data is refused).

The pages hand Streamlit Vega-Lite dicts whose rows are Polars frames or Arrow IPC bytes
(see `ui.data.arrow_spec`), or a template without rows plus a frame. Only the browser
understands those; vl-convert wants plain JSON, so `plain_spec` turns the rows back into
lists of records first. Nothing here runs on a rerun: only when a download is clicked.
"""

from __future__ import annotations

import io
from typing import Any

import altair as alt
import polars as pl
import polars.selectors as cs
import pyarrow as pa
import vl_convert as vlc

EXPORT_WIDTH = 900
"""Pixels of a chart drawn at the width of its container in the app: a file has no container."""
PNG_SCALE = 2  # sharp on a high-density screen and in a slide
# The Vega-Lite version Altair writes its specs in, as vl-convert names it (v6.4.1 -> v6_4).
VL_VERSION = "_".join(alt.SCHEMA_VERSION.split(".")[:2])
_COMPOSED = ("hconcat", "vconcat", "concat", "facet", "repeat")  # their parts carry their own widths


ROWS = "rows"
"""The dataset name `with_rows` gives a template's rows."""


def with_rows(template: dict, rows: object) -> dict:
    """A chart template without data and its rows as one spec, drawn with
    `st.vega_lite_chart(with_rows(template, rows))` and exported as it is.

    The rows are a named dataset, not the chart's unnamed data (`st.vega_lite_chart(rows,
    template)`): Streamlit hands named datasets to Vega with the spec, but inserts unnamed
    data only after a first, empty drawing, whose scales log "Infinite extent" warnings.
    The template is not changed (it is cached and shared)."""
    return {**template, "data": {"name": ROWS}, "datasets": {**template.get("datasets", {}), ROWS: rows}}


def records(rows: object) -> object:
    """Rows as a list of plain records: a Polars frame, an Arrow table or Arrow IPC stream
    bytes (what Streamlit is sent) is read back; dates become ISO text (how Vega-Lite reads
    them) and numbers that are not finite become empty. Anything else is returned as it is."""
    if isinstance(rows, bytes | bytearray | memoryview):
        rows = pl.read_ipc_stream(io.BytesIO(bytes(rows)))
    elif isinstance(rows, pa.Table):
        rows = pl.from_arrow(rows)
    if not isinstance(rows, pl.DataFrame):
        return rows
    rows = rows.with_columns(
        cs.date().dt.strftime("%Y-%m-%d"),
        cs.datetime().dt.strftime("%Y-%m-%dT%H:%M:%S%.f"),
        (cs.time() | cs.duration()).cast(pl.String),
        cs.decimal().cast(pl.Float64),
    )
    floats = [name for name, dtype in rows.schema.items() if dtype.is_float()]
    return rows.with_columns(
        pl.when(pl.col(name).is_finite()).then(pl.col(name)).alias(name) for name in floats
    ).to_dicts()


def plain_spec(spec: dict, width: int = EXPORT_WIDTH) -> dict:
    """The spec vl-convert can render: every dataset and inline data as plain records, and a
    fixed width where the app fits the chart to its container. `spec` is not changed (the
    pages' specs are cached and shared)."""
    plain: dict[str, Any] = dict(spec)
    if "datasets" in spec:
        plain["datasets"] = {name: records(rows) for name, rows in spec["datasets"].items()}
    data = spec.get("data")
    if isinstance(data, dict) and "values" in data:
        plain["data"] = {**data, "values": records(data["values"])}
    if spec.get("width", "container") == "container" and not any(key in spec for key in _COMPOSED):
        plain["width"] = width
    return plain


def to_svg(spec: dict) -> str:
    """The chart as SVG text (text stays text: searchable, and sharp at any size)."""
    return vlc.vegalite_to_svg(plain_spec(spec), vl_version=VL_VERSION, allowed_base_urls=[], show_warnings=False)


def to_png(spec: dict, scale: float = PNG_SCALE) -> bytes:
    """The chart as a PNG image, `scale` times its size in the app."""
    return vlc.vegalite_to_png(
        plain_spec(spec), vl_version=VL_VERSION, scale=scale, allowed_base_urls=[], show_warnings=False
    )
