"""A click during a long run stops the core cleanly instead of abandoning paid calls."""

import pytest
from streamlit.runtime.scriptrunner_utils.exceptions import RerunException

from kayfabe_ui import labeling_view


class InterruptedBar:
    """Stands in for st.progress when Streamlit has a rerun pending: every update raises."""

    def progress(self, value: float, text: str = "") -> None:
        raise RerunException(None)


def test_interruption_sets_stop_and_is_raised_after_the_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(labeling_view.st, "progress", lambda *args, **kwargs: InterruptedBar())
    progress = labeling_view.StoppableProgress("Labelling")
    progress(1, 10)  # the core's callback must not see the exception
    assert progress.stop.is_set()
    progress(2, 10)
    with pytest.raises(RerunException):
        progress.finish()


def test_no_interruption_means_no_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    class Bar:
        def progress(self, value: float, text: str = "") -> None:
            self.last = text

    monkeypatch.setattr(labeling_view.st, "progress", lambda *args, **kwargs: Bar())
    progress = labeling_view.StoppableProgress("Fetching")
    progress(5, 10)
    assert not progress.stop.is_set()
    progress.finish()


def test_work_that_ends_is_forgotten_and_a_stopped_one_is_told(monkeypatch: pytest.MonkeyPatch) -> None:
    from kayfabe_ui import stopping

    class Bar:
        def progress(self, value: float, text: str = "") -> None:
            self.last = text

    monkeypatch.setattr(labeling_view.st, "progress", lambda *args, **kwargs: Bar())
    monkeypatch.setattr(stopping, "_RUNNING", {})
    monkeypatch.setattr(stopping, "_TOLD", {})
    progress = labeling_view.StoppableProgress("Fetching")
    assert stopping._RUNNING  # while it runs, a redrawn page would wait for it
    progress.finish(told="not said: nothing was stopped")
    assert not stopping._RUNNING and not stopping._TOLD  # ended: nothing kept for this session

    monkeypatch.setattr(labeling_view.st, "progress", lambda *args, **kwargs: InterruptedBar())
    stopped = labeling_view.StoppableProgress("Fetching")
    stopped(1, 10)
    with pytest.raises(RerunException):
        stopped.finish(told="Fetching stopped")
    assert stopping._TOLD == {"": "Fetching stopped"}  # the next run of the page says it
