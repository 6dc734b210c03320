"""The app's pages, declared once for the router (app.py) and for a page run without it."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import NoReturn

import streamlit as st

DATA_URL_PATH = "data"
APP = Path(__file__).resolve().parent.parent / "app.py"


def pages() -> list[st.Page]:
    """The pages in navigation order; the Overview is the default."""
    return [
        st.Page("pages/overview.py", title="Overview", icon=":material/monitoring:", default=True),
        st.Page("pages/tiers.py", title="Tiers", icon=":material/leaderboard:", url_path="tiers"),
        st.Page("pages/whatif.py", title="What-if", icon=":material/compare_arrows:", url_path="whatif"),
        st.Page("pages/weekly.py", title="Weekly review", icon=":material/event_repeat:", url_path="weekly"),
        st.Page("pages/roi.py", title="ROI", icon=":material/savings:", url_path="roi"),
        st.Page("pages/recurring.py", title="Recurring revenue", icon=":material/autorenew:", url_path="recurring"),
        st.Page("pages/engagement.py", title="Engagement", icon=":material/groups:", url_path="engagement"),
        st.Page("pages/scorecard.py", title="Partner scorecard", icon=":material/badge:", url_path="scorecard"),
        st.Page("pages/data.py", title="Data", icon=":material/database:", url_path=DATA_URL_PATH),
    ]


def route_through_app() -> NoReturn:
    """Run app.py for this request, then end the page script that was run alone.

    A freshly started server with a folder named pages/ beside app.py serves its first
    session in Streamlit's folder-based multipage mode until the app declares its pages
    (and Streamlit's AppTest starts every run in that mode), so a deep link can run a
    page script without app.py. app.py run here declares the pages, which ends that mode,
    draws the frame and runs the requested page (both modes name a page by its URL path)
    in this same run, so a button press that started the run is not lost.
    """
    runpy.run_path(str(APP), run_name="__main__")
    st.stop()
