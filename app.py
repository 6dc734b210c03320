"""Channel KPI Explorer: the router and the frame.

`streamlit run app.py` opens the app on the demo data (built on first start) or on
the database named by KPI_DB. This file only routes between the pages and draws
the shared controls; the numbers come from kpi/, the pages draw them.
"""

from pathlib import Path

import duckdb
import streamlit as st

from ui import frame
from ui.data import open_dataset

frame.freeze_long_lived_objects()

# A local icon: a Material icon here made every rerun fetch a font from the internet.
st.set_page_config(
    page_title="Channel KPI Explorer",
    page_icon=str(Path(__file__).parent / "ui" / "assets" / "icon.png"),
    layout="wide",
)

DATA_PAGE = st.Page("pages/data.py", title="Data", icon=":material/database:", url_path="data")
navigation = st.navigation(
    [
        st.Page("pages/overview.py", title="Overview", icon=":material/monitoring:", default=True),
        st.Page("pages/tiers.py", title="Tiers", icon=":material/leaderboard:", url_path="tiers"),
        st.Page("pages/roi.py", title="ROI", icon=":material/savings:", url_path="roi"),
        st.Page("pages/recurring.py", title="Recurring revenue", icon=":material/autorenew:", url_path="recurring"),
        st.Page("pages/engagement.py", title="Engagement", icon=":material/groups:", url_path="engagement"),
        st.Page("pages/scorecard.py", title="Partner scorecard", icon=":material/badge:", url_path="scorecard"),
        DATA_PAGE,
    ]
)
on_data_page = navigation.url_path == DATA_PAGE.url_path

try:
    dataset = open_dataset()
except (FileNotFoundError, OSError, duckdb.Error) as exc:
    dataset = None
    if not on_data_page:
        st.error(str(exc), icon=":material/error:")
        st.page_link(DATA_PAGE, label="Load your data on the Data page")
        st.stop()

if dataset is not None and dataset.span is not None:
    frame.build(dataset)
elif not on_data_page:
    st.info("The database holds no partners yet. Load your data on the Data page or with `python -m kpi load`.")
    st.page_link(DATA_PAGE, label="Go to the Data page")
    st.stop()

navigation.run()
