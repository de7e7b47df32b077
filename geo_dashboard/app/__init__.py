"""Streamlit app of the area dashboard; start it with ``geo-dashboard serve``."""
