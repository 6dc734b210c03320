"""Data: upload your exports, map their columns, check everything, then load; see and restore earlier loads."""

import json
from datetime import date, datetime

import polars as pl
import streamlit as st

from kpi import history
from kpi import mapping as kmap
from kpi.demo import is_demo
from kpi.ingest import check_mapped, load_mapped
from kpi.schema import TABLE_NAMES
from kpi.source import SourceError
from ui import access as ui_access
from ui import upload as ui_upload
from ui.data import db_path
from ui.downloads import table_downloads
from ui.frame import ensure_routed

ensure_routed()
DB = db_path()
LOADS_DONE_KEY = "data_loads_done"  # loads made in this session: names the upload box
CHECKED_KEY = "data_checked"  # (what was checked: files and mapping, kpi.ingest.Loaded) of the last check
TODAY = date.today().isoformat()  # this page has no as-of date: its downloads are named by the day they are made

st.title("Your data")
try:
    loads = history.list_loads(DB) if DB.exists() else []
except (ValueError, OSError) as exc:  # a broken live file: this page is where it gets replaced
    loads = history.kept_loads(DB)
    st.error(
        f"{exc}. Load your data below or restore a kept load: a broken file is moved aside into "
        f"{history.history_dir(DB).name}/ (never deleted) when it is replaced.",
        icon=":material/error:",
    )
current = next((load for load in loads if load.current), None)
if current is not None:
    rows = ", ".join(f"{table} {count:,}" for table, count in current.table_rows.items())
    st.caption(f"Loaded {current.loaded_at:%Y-%m-%d %H:%M} from {current.source}: {rows}.")

# Open for a newcomer (nothing or the demo loaded); once files are in the upload box, the mapping is what matters.
upload_key = "data_upload" + (f"_{loads_done}" if (loads_done := st.session_state.get(LOADS_DONE_KEY, 0)) else "")
newcomer = current is None or is_demo(current.source)
ui_upload.onboarding(expanded=newcomer and not st.session_state.get(upload_key))

access = ui_access.current()
if not access.can_edit:
    st.info(f"{access.why_not_edit()}. Data can be loaded with `python -m kpi load`.", icon=":material/lock:")
    st.stop()

st.subheader("1. Upload")
files = st.file_uploader(
    "Your exports: CSV, Parquet or Excel (.xlsx), several at once",
    type=["csv", "parquet", "xlsx"],
    accept_multiple_files=True,
    # A new key after each load empties the box, so the loaded files leave the staging folder.
    key=upload_key,
)
saved = [kmap.Mapping.from_json(text) for text in history.saved_mappings(DB).values()] if DB.exists() else []

uploads: list[ui_upload.Upload] = []
staged, stage_problems = ui_upload.stage(files or [])
for problem in stage_problems:
    st.error(problem, icon=":material/error:")
for item in staged:
    header_row = st.session_state.get(f"{item.key}_header_row")
    try:
        source = ui_upload.preview(item, header_row)
    except SourceError as exc:
        st.error(f"{item.name}: {exc.reason}", icon=":material/error:")
        continue
    except ValueError as exc:
        st.error(f"{item.name}: {exc}", icon=":material/error:")
        continue
    uploads.append(ui_upload.Upload(source, item.path, item.key))

file_mappings: list[kmap.FileMapping] = []
if uploads:
    st.subheader("2. Map your columns")
    for upload in uploads:
        with st.expander(upload.source.name, expanded=True):
            st.number_input(
                "Header row",
                min_value=1,
                max_value=1000,
                value=upload.source.header_row,
                key=f"{upload.key}_header_row",
                help="The row of the sheet that holds the column names.",
            )
            chosen = ui_upload.mapping_editor(upload, saved)
            if chosen is not None:
                file_mappings.append(chosen)

if file_mappings:
    st.subheader("3. Check")
    mapping = kmap.Mapping(name=st.session_state.get("data_mapping_name") or "my exports", files=tuple(file_mappings))
    mapping_json = mapping.to_json()
    # What was checked is the files (their contents: a file uploaded again under the same
    # name is another file) and their mapping; the mapping's name does not matter.
    check_key = json.dumps([kmap.Mapping(name="check", files=mapping.files).to_json(), sorted(u.key for u in uploads)])
    folder = ui_upload.staging_dir()
    if st.button("Check the data", type="primary", key="data_check", icon=":material/fact_check:"):
        # Streamed: every row is checked a chunk at a time and nothing is kept but the problems.
        with st.spinner("Checking every row..."):
            st.session_state[CHECKED_KEY] = (check_key, check_mapped(folder, mapping))
    checked = st.session_state.get(CHECKED_KEY)
    if checked is not None and checked[0] != check_key:
        st.info("The files or the mapping changed since the last check: check again before loading.")
        checked = None
    if checked is not None:
        validation = checked[1].validation
        for warning in validation.warnings:
            st.warning(warning, icon=":material/info:")
        if not validation.ok:
            problems = ui_upload.problems_shown(validation.problems, mapping)
            st.error(
                f"**{problems.height:,} problem(s)**: nothing was loaded. Fix the files or the mapping "
                "and check again.",
                icon=":material/block:",
            )
            st.markdown("Problems by kind")
            kinds = ui_upload.problem_summary(problems)
            st.dataframe(kinds, hide_index=True)
            table_downloads(lambda: kinds, f"data-problem-kinds-{TODAY}", "data_problem_kinds_download", sheet="kinds")
            st.markdown("Every problem (file, row as your spreadsheet counts it, your column (ours), value)")
            st.dataframe(problems.head(1000), hide_index=True, height=300)
            # Every problem, not only the first 1,000; the values come from the files, so the
            # CSV is written safe to open in a spreadsheet.
            table_downloads(lambda: problems, f"data-problems-{TODAY}", "data_problems_download", sheet="problems")
        else:
            table_rows = checked[1].table_rows
            counts = pl.DataFrame({"table": list(TABLE_NAMES), "rows": [table_rows.get(t, 0) for t in TABLE_NAMES]})
            st.success("Every row passed. This is what will be loaded:", icon=":material/check_circle:")
            st.dataframe(
                counts,
                hide_index=True,
                column_config={"rows": st.column_config.NumberColumn("rows", format="localized")},
            )
            table_downloads(lambda: counts, f"data-rows-to-load-{TODAY}", "data_counts_download", sheet="rows")
            st.subheader("4. Confirm")
            name = st.text_input("Save this mapping as", value="my exports", key="data_mapping_name")
            st.caption(
                "The current data stays in the load history below and can be restored. "
                "Next time, files with the same headers are mapped with this mapping automatically."
            )
            if st.button("Load this data", type="primary", key="data_confirm", icon=":material/upload:"):
                named = kmap.Mapping(name=name.strip() or "my exports", files=mapping.files)
                # The load reads the staged files again and checks every row as it writes them
                # to a new database file, which replaces the live one only if all of it passed.
                try:
                    with st.spinner("Loading..."):
                        loaded = load_mapped(
                            folder,
                            named,
                            DB,
                            loaded_at=datetime.now(),
                            source="upload: " + ", ".join(u.source.name for u in uploads),
                        )
                except (ValueError, OSError) as exc:  # e.g. read-only storage: nothing was changed
                    st.error(f"Nothing was loaded: {exc}", icon=":material/error:")
                    st.stop()
                if loaded.record is None:  # the files changed since the check: show what is wrong now
                    st.session_state[CHECKED_KEY] = (check_key, loaded)
                else:
                    history.save_mapping(DB, named.name, named.to_json())
                    del st.session_state[CHECKED_KEY]
                    st.session_state[LOADS_DONE_KEY] = st.session_state.get(LOADS_DONE_KEY, 0) + 1
                    rows = sum(loaded.record.table_rows.values())
                    st.session_state["data_loaded_message"] = f"Loaded: {rows:,} rows."
                st.rerun()
    st.download_button(
        "Download this mapping (for python -m kpi load --mapping)",
        mapping_json,
        file_name="mapping.json",
        mime="application/json",
        key="data_mapping_download",
        icon=":material/data_object:",
    )

if message := st.session_state.pop("data_loaded_message", None):
    st.success(message, icon=":material/check_circle:")

st.subheader("Recent loads")
if not loads:
    st.caption("No loads yet.")
else:
    table = pl.DataFrame(
        {
            "when": [load.loaded_at.strftime("%Y-%m-%d %H:%M") for load in loads],
            "source": [load.source for load in loads],
            "files": [", ".join(f"{f.name} ({f.rows:,})" for f in load.files) or "-" for load in loads],
            "rows": [", ".join(f"{t} {n:,}" for t, n in load.table_rows.items()) for load in loads],
            "live": ["yes" if load.current else "" for load in loads],
        }
    )
    st.dataframe(table, hide_index=True)
    table_downloads(lambda: table, f"data-loads-{TODAY}", "data_loads_download", sheet="loads")
    earlier = [load for load in loads if not load.current]
    if earlier:
        labels = {f"{load.loaded_at:%Y-%m-%d %H:%M} · {load.source}": load.load_id for load in earlier}
        chosen_label = st.selectbox("Restore an earlier load", list(labels), key="data_restore_choice")
        if st.button("Restore it", key="data_restore", icon=":material/history:"):
            try:
                history.restore(DB, labels[chosen_label], restored_at=datetime.now())
            except (ValueError, OSError, LookupError) as exc:  # nothing was changed
                st.error(f"Nothing was restored: {exc}", icon=":material/error:")
            else:
                st.session_state["data_loaded_message"] = f"Restored the load of {chosen_label}."
                st.rerun()
