"""kayfabe_core: the logic of the kayfabe detector, in plain typed Python.

This package never imports Streamlit; the pages in ``pages/`` and the CLI in
``__main__`` are thin layers over the functions here.
"""

__version__ = "0.1.0"
