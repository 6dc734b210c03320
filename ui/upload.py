"""The Data page's widgets: upload, map, check, confirm, and the load history.

The engine does the work (kpi.read reads exports, kpi.suggest proposes a mapping,
kpi.ingest maps, checks and loads them, kpi.history keeps earlier datasets); this module
only turns widgets into a `kpi.mapping.Mapping` and shows what the engine says.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from kpi import data_guide
from kpi import mapping as kmap
from kpi.problems import name_source_columns
from kpi.read import preview_source
from kpi.schema import ACTIVITY_KINDS, DEAL_STATUSES, TABLE_BY_NAME, TABLE_NAMES
from kpi.source import SourceFile, size_problem
from kpi.suggest import find_saved, guess_table, suggest

IGNORE = "(not loaded)"
NOT_MAPPED = "(none)"
DATE_FORMATS: dict[str, str | None] = {
    "YYYY-MM-DD (ISO)": None,
    "MM/DD/YYYY (US)": "%m/%d/%Y",
    "DD/MM/YYYY": "%d/%m/%Y",
    "DD.MM.YYYY": "%d.%m.%Y",
    "YYYY/MM/DD": "%Y/%m/%d",
}
VALUE_CHOICES: dict[str, tuple[str, ...]] = {"status": DEAL_STATUSES, "activity": ACTIVITY_KINDS}
MAX_VALUES_SHOWN = 40  # distinct source values offered for a value mapping


WRITABLE_WORDS = ("", "0", "false", "no", "off")  # KPI_READ_ONLY values that leave loading on


def read_only() -> bool:
    """KPI_READ_ONLY set hides loading, restoring and scenario changes (for a shared, hosted
    app). Only an explicit "off" word leaves them on: a value this code does not know (a
    typo, `on`, `enabled`) means read-only, the safe reading."""
    return os.environ.get("KPI_READ_ONLY", "").strip().lower() not in WRITABLE_WORDS


@dataclass(frozen=True)
class Staged:
    """One uploaded file, written to this session's staging folder, with a key prefix unique to its content."""

    name: str  # the base name: the file's name in the folder and in every message
    path: Path
    key: str


@dataclass(frozen=True)
class Upload:
    """One staged upload and its preview (the first rows, and what the whole file holds)."""

    source: SourceFile
    path: Path
    key: str


def upload_key(name: str, data: bytes) -> str:
    """A widget-key prefix for this file: its (shortened) name and a hash of its name and content."""
    digest = hashlib.sha1(name.encode() + b"\0" + data).hexdigest()[:10]
    return "data_" + re.sub(r"[^A-Za-z0-9]+", "_", name)[:40] + "_" + digest


STAGING_PREFIX = "kpi-upload-"
STALE_STAGING_SECONDS = 24 * 3600  # a staging folder untouched this long belongs to a session long gone


def _sweep_stale_staging(now: float) -> None:
    """Remove other sessions' staging folders untouched for a day (Streamlit says nothing when a session ends)."""
    for folder in Path(tempfile.gettempdir()).glob(STAGING_PREFIX + "*"):
        try:
            if folder.is_dir() and now - folder.stat().st_mtime > STALE_STAGING_SECONDS:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue  # gone already, or not ours to read


def staging_dir() -> Path:
    """A folder for this session's uploads, so the engine reads them like any folder."""
    folder = st.session_state.get("data_staging")
    if folder is None or not Path(folder).is_dir():
        # New, or swept while this session slept: a new private folder (mkdtemp: mode 0700,
        # a fresh name), and the uploads are written to it again.
        _sweep_stale_staging(time.time())
        folder = st.session_state["data_staging"] = tempfile.mkdtemp(prefix=STAGING_PREFIX)
        st.session_state["data_staged"] = {}
    return Path(folder)


def clear_staging() -> None:
    """Remove this session's staging folder and what it holds."""
    folder = st.session_state.pop("data_staging", None)
    st.session_state.pop("data_staged", None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


MAX_NAME_BYTES = 120  # file systems refuse names over 255 bytes; a staged name stays well under


def upload_name(raw: str) -> str:
    """The name an upload is staged, mapped and shown under: its base name (after the last
    slash or backslash), without control characters or the characters a file pattern reads
    (`*`, `?`, `[`, `]`), and at most MAX_NAME_BYTES long, its extension kept."""
    base = re.split(r"[/\\]", raw)[-1]
    clean = re.sub(r"[\x00-\x1f\x7f*?\[\]]", "_", base).strip(" .") or "upload"
    if len(clean.encode()) <= MAX_NAME_BYTES:
        return clean
    stem, suffix = Path(clean).stem, Path(clean).suffix
    suffix = suffix if len(suffix.encode()) <= 16 else ""
    room = MAX_NAME_BYTES - len(suffix.encode()) - len("…".encode())
    return f"{stem.encode()[:room].decode(errors='ignore')}…{suffix}"


def stage(files: Sequence[UploadedFile]) -> tuple[list[Staged], list[str]]:
    """Each uploaded file written once to the staging folder; (the files, problems naming a file).

    A file is written when it is first seen (Streamlit keeps an upload's id across reruns)
    and the folder then holds exactly the current uploads, so a check and a load read
    what the user sees. Only an upload's base name is used: nothing in an upload picks
    where it is written. Two uploads with the same name cannot both be staged.
    """
    if not files:  # nothing uploaded (or the box emptied): no staging folder is left behind
        clear_staging()
        return [], []
    folder = staging_dir()
    known: dict[str, Staged] = st.session_state.setdefault("data_staged", {})
    current: list[Staged] = []
    problems: list[str] = []
    for file in files:
        name = upload_name(file.name)
        if any(staged.name == name for staged in current):
            problems.append(f"{name}: another uploaded file has the same name; rename one of them and upload again")
            continue
        staged = known.get(file.file_id)
        if staged is None:
            try:
                too_big = size_problem(file.size)
            except ValueError:  # a bad KPI_MAX_UPLOAD_MB: the preview says so, naming the file
                too_big = None
            if too_big is not None:  # refused before a byte is written
                problems.append(f"{name}: {too_big}")
                continue
        if staged is None or not staged.path.is_file():
            data = file.getvalue()  # the upload's own bytes (getbuffer() would copy them)
            staged = Staged(name, folder / name, upload_key(name, data))
            staged.path.write_bytes(data)
            known[file.file_id] = staged
        current.append(staged)
    ids = {file.file_id for file in files}
    for file_id in [i for i in known if i not in ids]:
        del known[file_id]
    names = {staged.name for staged in current}
    for old in folder.iterdir():
        if old.name not in names:
            old.unlink()
    keys = {staged.key for staged in current}
    previews: dict[tuple[str, int | None], object] = st.session_state.setdefault("data_previews", {})
    for cached in [k for k in previews if k[0] not in keys]:
        del previews[cached]
    return current, problems


def preview(staged: Staged, header_row: int | None) -> SourceFile:
    """The staged file's preview (`kpi.read.preview_source`), read once per header row.

    Raises `kpi.source.SourceError` (a ValueError) for a file that cannot be read; that
    is remembered too, so a broken file is not read again on every rerun.
    """
    previews: dict[tuple[str, int | None], object] = st.session_state.setdefault("data_previews", {})
    key = (staged.key, header_row)
    if key not in previews:
        try:
            found = preview_source(staged.name, staged.path, header_row=header_row)
        except ValueError as exc:  # SourceError, or a bad KPI_MAX_* setting
            previews[key] = exc
        else:
            previews[key] = found
            # The header row found is the one the page asks for next (its number input):
            # the same preview, not a second read of the whole file.
            previews.setdefault((staged.key, found.header_row), found)
    found = previews[key]
    if isinstance(found, Exception):
        raise found
    assert isinstance(found, SourceFile)
    return found


def _option_index(options: list[str], value: str | None) -> int:
    return options.index(value) if value in options else 0


def _initial(upload: Upload, saved: list[kmap.Mapping]) -> tuple[str | None, kmap.TableMapping | None, str | None]:
    """(table, mapping, saved mapping name) to start the widgets from."""
    found = find_saved(saved, upload.source)
    if found is not None:
        name = next(m.name for m in saved if found in m.files)
        return found.mapping.table, found.mapping, name
    table = guess_table(upload.source)
    return table, (suggest(upload.source, table) if table else None), None


def mapping_editor(upload: Upload, saved: list[kmap.Mapping]) -> kmap.FileMapping | None:
    """Draw the mapping widgets for one file; return its file mapping, or None to skip it."""
    source = upload.source
    key = upload.key
    table0, mapping0, saved_name = _initial(upload, saved)
    if saved_name:
        st.success(
            f"Same headers as last time: mapped with the saved mapping **{saved_name}**.", icon=":material/bookmark:"
        )
    tables = [IGNORE, *TABLE_NAMES]
    table = st.selectbox(
        "Load this file as",
        tables,
        index=_option_index(tables, table0),
        key=f"{key}_table",
        help="Which of the five tables this file holds.",
    )
    shown = f" (suggestions read the first {source.frame.height:,})" if source.rows > source.frame.height else ""
    st.caption(
        f"{source.rows:,} rows{shown} · header on row {source.header_row}"
        + (f" · delimiter {source.delimiter!r}" if source.delimiter else "")
    )
    st.dataframe(source.frame.drop("_row").head(8), hide_index=True, height=250)
    if table == IGNORE:
        return None
    if mapping0 is None or mapping0.table != table:
        mapping0 = suggest(source, table)

    st.markdown("**Columns**: which of your columns holds each field (or a fixed value for every row).")
    headers = [NOT_MAPPED, *source.headers]
    columns: dict[str, tuple[str, ...]] = {}
    constants: dict[str, str] = {}
    contract = TABLE_BY_NAME[table].columns
    grid = st.columns(3)
    for i, column in enumerate(contract):
        with grid[i % 3]:
            suggested = mapping0.columns.get(column.name, ())
            label = column.name + (" *" if column.required else "")
            chosen = st.selectbox(
                label,
                headers,
                index=_option_index(headers, suggested[0] if suggested else None),
                key=f"{key}_col_{column.name}",
            )
            if chosen != NOT_MAPPED:
                columns[column.name] = (chosen,) + tuple(suggested[1:]) if suggested[:1] == (chosen,) else (chosen,)
            else:
                fixed = st.text_input(
                    f"{column.name}: fixed value",
                    value=mapping0.constants.get(column.name, ""),
                    key=f"{key}_const_{column.name}",
                    placeholder=f"or a fixed {column.name} for every row",
                    label_visibility="collapsed",
                )
                if fixed.strip():
                    constants[column.name] = fixed.strip()

    values: dict[str, dict[str, str]] = {}
    for column_name, choices in VALUE_CHOICES.items():
        if column_name not in columns or column_name not in [c.name for c in contract]:
            continue
        source_column = columns[column_name][0]
        found_values = source.values(source_column, MAX_VALUES_SHOWN)
        if not found_values:
            continue
        st.markdown(f"**Values of {source_column}** → {column_name}")
        suggested_values = mapping0.values.get(column_name, {})
        value_grid = st.columns(3)
        mapped: dict[str, str] = {}
        for j, value in enumerate(found_values):
            default = suggested_values.get(value, value if value in choices else None)
            with value_grid[j % 3]:
                target = st.selectbox(
                    value,
                    list(choices),
                    index=list(choices).index(default) if default in choices else 0,
                    key=f"{key}_val_{column_name}_{j}",
                )
            mapped[value] = target
        values[column_name] = mapped

    options = st.columns(3)
    formats = list(DATE_FORMATS)
    format_label = next((k for k, v in DATE_FORMATS.items() if v == mapping0.date_format), formats[0])
    date_choice = options[0].selectbox(
        "Dates are written as", formats, index=formats.index(format_label), key=f"{key}_datefmt"
    )
    strip = options[1].checkbox(
        "Strip currency and separators",
        value=mapping0.strip_currency,
        key=f"{key}_strip",
        help="Money written $1,234.50 or 1 234 EUR is read as 1234.50: currency symbols and codes, spaces "
        "and thousands separators are removed.",
    )
    decimal_comma = options[2].checkbox(
        "Decimal comma (1.234,50)", value=mapping0.decimal_comma, key=f"{key}_decimal_comma"
    )
    table_mapping = kmap.TableMapping(
        table=table,
        columns=columns,
        constants=constants,
        values=values,
        date_format=DATE_FORMATS[date_choice],
        decimal_comma=decimal_comma,
        strip_currency=strip,
    )
    return kmap.FileMapping(
        file=source.name,
        headers=source.headers,
        header_row=source.header_row,
        delimiter=source.delimiter,
        mapping=table_mapping,
    )


def problem_summary(problems: pl.DataFrame) -> pl.DataFrame:
    return (
        problems.group_by("file", "column", "problem")
        .len("count")
        .sort("count", descending=True)
        .select("count", "file", "column", "problem")
    )


DOCS = Path(__file__).resolve().parents[1] / "docs"
_DOC_LINK = re.compile(r"\[([^\]]+)\]\((?!https?://)[^)]*\)")


def doc_text(name: str) -> str:
    """docs/NAME as markdown to read inside the app (offline).

    Our own text, so it is drawn as markdown; a link to another docs file becomes its
    plain text (it would not open inside the app); headings go one level down, to sit
    under the page's own title.
    """
    lines: list[str] = []
    fenced = False
    for line in (DOCS / name).read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:
            line = _DOC_LINK.sub(r"\1", line)
            if line.startswith("#"):
                line = "#" + line
        lines.append(line)
    return "\n".join(lines) + "\n"


def onboarding(expanded: bool) -> None:
    """The five tables in a few lines each, a template file per table, and the data docs."""
    with st.expander(
        "New here? The five tables, a template for each, and the full guide",
        expanded=expanded,
        icon=":material/school:",
    ):
        st.markdown(
            "Upload one file per table (CSV, Excel or Parquet). Your own exports with your own "
            "column names are fine: the next step maps them. Or start from a template: it has "
            "our column names and two example rows to replace."
        )
        for table, means in data_guide.GUIDE:
            names = data_guide.required_and_optional(table)
            required, optional = (", ".join(f"`{name}`" for name in group) for group in names)
            text, button = st.columns([4, 1], vertical_alignment="center")
            text.markdown(
                f"**{table.name}**{' (the one required table)' if table.required else ''}: a row is {means}  \n"
                f"Columns: {required} (required)" + (f"; {optional} (optional)" if optional else "")
            )
            button.download_button(
                "Template",
                data_guide.template_csv(table.name),
                file_name=f"{table.name}.csv",
                mime="text/csv",
                key=f"data_template_{table.name}",
                icon=":material/download:",
                help=f"{table.name}.csv: the header and two example rows, to replace with yours.",
            )
    with st.expander("The full data guide: every column and rule", icon=":material/menu_book:"):
        st.markdown(doc_text("data.md"))
    with st.expander("How your own exports are mapped onto the five tables", icon=":material/schema:"):
        st.markdown(doc_text("mapping.md"))


def problems_shown(problems: pl.DataFrame, mapping: kmap.Mapping) -> pl.DataFrame:
    """The problems as the page shows them: each mapped column named by the user's own column
    next to ours ("Closed (closed_on)"), and no value shown as blank rather than "None"."""
    named = name_source_columns(problems, [(f.file, f.mapping) for f in mapping.files])
    return named.with_columns(pl.col("value").fill_null(""))
