"""Channel KPI Explorer: the router and the frame.

`streamlit run app.py` opens the app on the demo data (built on first start) or on
the database named by KPI_DB. This file only routes between the pages and draws
the shared controls; the numbers come from kpi/, the pages draw them.
"""

import streamlit as st

from ui import frame
from ui.data import open_dataset

st.set_page_config(page_title="Channel KPI Explorer", page_icon=":material/hub:", layout="wide")

navigation = st.navigation(
    [
        st.Page("pages/overview.py", title="Overview", icon=":material/monitoring:", default=True),
        st.Page("pages/tiers.py", title="Tiers", icon=":material/leaderboard:", url_path="tiers"),
    ]
)

try:
    dataset = open_dataset()
except (FileNotFoundError, OSError) as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()

if dataset.span is None:
    st.info("The database holds no partners yet. Load your data with `python -m kpi load FOLDER --db PATH`.")
    st.stop()

frame.build(dataset)
navigation.run()
