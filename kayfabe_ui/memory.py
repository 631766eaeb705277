"""Keep Streamlit's collection of cyclic garbage after every script run cheap.

Streamlit runs a full ``gc.collect(2)`` after each script run
(``runner.postScriptGC``). With pandas, XGBoost, scikit-learn, plotly and the
AWS SDKs loaded, that walk took 90–100 ms of every page run at 100,000 posts,
with the interpreter lock held, so the next click waited for it. Objects that
exist when a run has imported new modules (the modules themselves, mostly) are
moved to the collector's permanent generation (``gc.freeze``); later collections
walk only what was made since (under 1 ms). Modules are imported on the first
visit of each page, so this happens a few times per server, never per run. Each
freeze first unfreezes and collects, so frozen objects that have become garbage
since the last freeze (a page's kept tables dropped in a cycle) are freed then,
not kept until the server stops.
"""

from __future__ import annotations

import gc
import sys
import threading

_LOCK = threading.Lock()
_modules_frozen = 0  # how many modules were loaded when the heap was last frozen


def freeze_after_imports() -> bool:
    """Freeze what is alive now when modules were imported since the last freeze; return whether it froze.

    Everything frozen before is unfrozen and this run's garbage collected first, so only what is still
    reachable is frozen, and what was frozen and has become garbage since is freed.
    """
    global _modules_frozen
    with _LOCK:
        if len(sys.modules) <= _modules_frozen:
            return False
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        _modules_frozen = len(sys.modules)
        return True
