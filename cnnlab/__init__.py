"""CNN Lab: the logic behind the dashboard, importable without Streamlit."""

__version__ = "0.1.0"
