"""Presentation helpers for the Streamlit app.

`format` and `charts` are plain functions (no Streamlit) so tests can check what a
user reads and sees; `frame` and `controls` hold the Streamlit side of the frame.
"""
