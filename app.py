"""Kayfabe detector: the router. Run with ``streamlit run app.py``.

Opens the workspace named by $KAYFABE_WORKSPACE (default ./workspace), draws the
sidebar and hands over to the page chosen in the navigation.
"""

import streamlit as st

from kayfabe_core.errors import KayfabeError
from kayfabe_ui.common import PAGES, routed_run, show_error
from kayfabe_ui.memory import freeze_after_imports
from kayfabe_ui.sidebar import render_sidebar

st.set_page_config(page_title="Kayfabe detector", page_icon="🤼", layout="wide")


def _to_posts() -> None:
    """/posts (a bookmark, or a link typed by hand) opens Posts at the app's root, where the default page lives."""
    st.switch_page(PAGES["posts"])


navigation = st.navigation([
    st.Page(PAGES["posts"], title="Posts", icon=":material/table_view:", url_path="start", default=True),
    st.Page(_to_posts, title="Posts", url_path="posts", visibility="hidden"),
    st.Page(PAGES["images"], title="Images & labels", icon=":material/photo_library:", url_path="images"),
    st.Page(PAGES["code"], title="Code", icon=":material/rule:", url_path="code"),
    st.Page(PAGES["train"], title="Train", icon=":material/model_training:", url_path="train"),
    st.Page(PAGES["results"], title="Results", icon=":material/insights:", url_path="results"),
    st.Page(PAGES["runs"], title="Runs", icon=":material/history:", url_path="runs"),
    st.Page(PAGES["predict"], title="Predict", icon=":material/online_prediction:", url_path="predict"),
])
render_sidebar()
routed_run()  # the page runs inside this navigation: it need not send the session through app.py again
try:
    navigation.run()
except KayfabeError as error:  # one a page did not expect (a damaged workspace file, say): in words, no traceback
    show_error(error)
finally:
    routed_run(False)
    freeze_after_imports()  # Streamlit's collection after each run then skips the imported modules' objects
