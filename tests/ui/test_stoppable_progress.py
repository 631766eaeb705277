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
