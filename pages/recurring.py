"""Recurring revenue (issue #4): being built."""

import streamlit as st

from ui.frame import current

frame = current()
st.title("Recurring revenue")
st.info("This page is being built.")
