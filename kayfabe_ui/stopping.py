"""Turn a click on Stop (or on any other widget) into a clean stop of long work running in the script.

Streamlit interrupts a running script at its next ``st`` call when the user
clicks a button or changes a widget (a click on empty page space sends
nothing); here that call is a progress update, inside the core's loop. The
interruption is caught, ``stop`` is set so the core can end cleanly (keeping or
discarding its work as it documents), and :meth:`ClickToStop.finish` lets
Streamlit's rerun go on afterwards. Streamlit may already be drawing the page
again meanwhile: work that must not overlap itself (labelling) takes a lock
in the core, and the page waits for it before reading what is left to do.
Other stopped work (training, tuning, repeats) is waited for by
:func:`settle_stopped_work` at the top of its page, which then says how it ended.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

STOP_WAIT_S = 60.0  # longest wait for stopped work to end (a round of training, a trial's fold)
# per browser session: the thread running stoppable work, and an event set once that work has ended
_RUNNING: dict[str, tuple[threading.Thread, threading.Event]] = {}
_TOLD: dict[str, str] = {}  # per browser session: what that work said as it ended


def session_id() -> str:
    """Return the browser session's id ('' outside a script run)."""
    context = get_script_run_ctx()
    return context.session_id if context is not None else ""


def settle_stopped_work() -> None:
    """Wait while work this session stopped with a click still ends (Streamlit draws the page again at once,
    on a new thread, before the stopped work has saved or discarded anything), then say how it ended."""
    running = _RUNNING.get(session_id())
    if running is not None and running[0] is not threading.current_thread():
        thread, ended = running
        if not ended.is_set() and thread.is_alive():
            with st.spinner("Stopping…"):
                deadline = time.monotonic() + STOP_WAIT_S
                while not ended.wait(0.1) and thread.is_alive() and time.monotonic() < deadline:
                    pass
        _RUNNING.pop(session_id(), None)
    told = _TOLD.pop(session_id(), None)
    if told:  # a toast: seen where the person is on the page (the Stop button sits far down)
        st.toast(told, icon=":material/stop_circle:", duration=20)


class ClickToStop:
    """Base of the progress displays: ``stop`` is set once the user has clicked."""

    def __init__(self, key: str, label: str = "Stop") -> None:
        """Draw the Stop button (``key`` unique on the page) above what the subclass draws next."""
        self.stop = threading.Event()
        self._interrupted: ScriptControlException | None = None
        self._session, self._ended = session_id(), threading.Event()
        _RUNNING[self._session] = (threading.current_thread(), self._ended)
        st.button(label, key=key, icon=":material/stop_circle:", help="Stops the work cleanly.")

    @property
    def stopped(self) -> bool:
        return self._interrupted is not None

    def draw(self, update: Callable[[], object]) -> None:
        """Run one screen update, unless a click already stopped the work; a click now sets ``stop``."""
        if self._interrupted is not None:
            return
        try:
            update()
        except ScriptControlException as interruption:
            self._interrupted = interruption
            self.stop.set()

    def finish(self, told: str = "") -> None:
        """Mark the work ended and let Streamlit's pending rerun go on; after a stop, ``told`` is said on the
        page drawn again."""
        if self._interrupted is not None and told:
            _TOLD[self._session] = told
        self._ended.set()
        if self._interrupted is not None:
            raise self._interrupted
        if _RUNNING.get(self._session, (None,))[0] is threading.current_thread():
            del _RUNNING[self._session]  # ended without a stop: nothing for the next run to wait for
