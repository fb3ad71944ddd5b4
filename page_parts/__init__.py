"""Streamlit sections a page draws that would grow its page file past 300 lines.

Like the pages, these only place widgets and call into ``cnnlab``; all logic stays there.
"""
