"""Turn a click on Stop (or on any other widget) into a clean stop of long work running in the script.

Streamlit interrupts a running script at its next ``st`` call when the user
clicks a button or changes a widget (a click on empty page space sends
nothing); here that call is a progress update, inside the core's loop. The
interruption is caught, ``stop`` is set so the core can end cleanly (keeping or
discarding its work as it documents), and :meth:`ClickToStop.finish` lets
Streamlit's rerun go on afterwards. Streamlit may already be drawing the page
again meanwhile: work that must not overlap itself (labelling) takes a lock
in the core, and the page waits for it before reading what is left to do.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException


class ClickToStop:
    """Base of the progress displays: ``stop`` is set once the user has clicked."""

    def __init__(self, key: str, label: str = "Stop") -> None:
        """Draw the Stop button (``key`` unique on the page) above what the subclass draws next."""
        self.stop = threading.Event()
        self._interrupted: ScriptControlException | None = None
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

    def finish(self) -> None:
        """Let Streamlit's pending rerun go on, now that the work has ended."""
        if self._interrupted is not None:
            raise self._interrupted
