"""Streamlit-only helpers beside the pages: session state, caching, errors, sidebar.

The core (``kayfabe_core``) never imports this package or Streamlit.
"""
