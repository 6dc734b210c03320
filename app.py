"""Channel KPI Explorer: the router and the frame.

`streamlit run app.py` opens the app on the demo data (built on first start) or on
the database named by KPI_DB. This file only routes between the pages and draws
the shared controls; the numbers come from kpi/, the pages draw them.
"""

from pathlib import Path

import duckdb
import streamlit as st

from ui import access as ui_access
from ui import frame
from ui import navigation as nav
from ui.data import open_dataset

frame.freeze_long_lived_objects()

# A local icon: a Material icon here would make every rerun fetch a font from the internet.
st.set_page_config(
    page_title="Channel KPI Explorer",
    page_icon=str(Path(__file__).parent / "ui" / "assets" / "icon.png"),
    layout="wide",
)

# Who may see the app is settled before anything of it is drawn (ui/access.py).
access = ui_access.admitted()
navigation = st.navigation(nav.pages(), position="top" if access is not None else "hidden")
if access is None:
    ui_access.turn_away()
on_data_page = navigation.url_path == nav.DATA_URL_PATH

try:
    dataset = open_dataset()
except (FileNotFoundError, OSError, duckdb.Error) as exc:
    dataset = None
    if not on_data_page:
        st.error(str(exc), icon=":material/error:")
        st.page_link("pages/data.py", label="Load your data on the Data page")
        st.stop()

if dataset is not None and dataset.span is not None:
    frame.build(dataset, context=not on_data_page)
elif not on_data_page:
    st.info("The database holds no partners yet. Load your data on the Data page or with `python -m kpi load`.")
    st.page_link("pages/data.py", label="Go to the Data page")
    st.stop()

frame.mark_routed()
navigation.run()
