"""Kayfabe detector: the router. Run with ``streamlit run app.py``.

Opens the workspace named by $KAYFABE_WORKSPACE (default ./workspace), draws the
sidebar and hands over to the page chosen in the navigation.
"""

import streamlit as st

from kayfabe_ui.common import PAGES
from kayfabe_ui.sidebar import render_sidebar

st.set_page_config(page_title="Kayfabe detector", page_icon="🤼", layout="wide")

navigation = st.navigation([
    st.Page(PAGES["posts"], title="Posts", icon=":material/table_view:", url_path="posts", default=True),
    st.Page(PAGES["images"], title="Images & labels", icon=":material/photo_library:", url_path="images"),
    st.Page(PAGES["code"], title="Code", icon=":material/rule:", url_path="code"),
    st.Page(PAGES["train"], title="Train", icon=":material/model_training:", url_path="train"),
    st.Page(PAGES["results"], title="Results", icon=":material/insights:", url_path="results"),
    st.Page(PAGES["runs"], title="Runs", icon=":material/history:", url_path="runs"),
    st.Page(PAGES["predict"], title="Predict", icon=":material/online_prediction:", url_path="predict"),
])
render_sidebar()
navigation.run()
