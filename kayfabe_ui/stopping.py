"""Turn a click anywhere on the page into a clean stop of long work running in the script.

Streamlit interrupts a running script at its next ``st`` call when the user
clicks; here that call is a progress update, inside the core's loop. The
interruption is caught, ``stop`` is set so the core can end cleanly (keeping or
discarding its work as it documents), and :meth:`ClickToStop.finish` lets
Streamlit's pending rerun go on afterwards.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException


class ClickToStop:
    """Base of the progress displays: ``stop`` is set once the user has clicked."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self._interrupted: ScriptControlException | None = None

    @property
    def stopped(self) -> bool:
        return self._interrupted is not None

    def draw(self, update: Callable[[], None]) -> None:
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
