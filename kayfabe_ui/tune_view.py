"""Tuner tab of the Train page: where to tune; on this computer choose what varies and over which range, search,
watch the best so far, stop (on Amazon SageMaker: :mod:`kayfabe_ui.sagemaker_tuning_view`)."""

from __future__ import annotations

import math
import time

import pandas as pd
import streamlit as st

from kayfabe_core.constraints import BOOSTER_KNOBS, DEFAULT_PRESET, PRESET_NOTES, PRESETS, SHORT_TITLES, knob_table
from kayfabe_core.errors import KayfabeError
from kayfabe_core.feature_table import FeatureTable
from kayfabe_core.split import METHODS, SplitOptions
from kayfabe_core.train import TrainSettings
from kayfabe_core.tune import (
    DEFAULT_VARIED,
    LOG_SCALE,
    MAX_TRIALS,
    SEARCH_RANGES,
    TuneOptions,
    TuneReport,
    list_tunings,
    read_tuning,
    trials_frame,
    tune,
    tuning_figure,
)
from kayfabe_core.wording import minute_text
from kayfabe_core.workspace import Workspace
from kayfabe_ui import state
from kayfabe_ui.common import PAGES, knob_format, show_error
from kayfabe_ui.sagemaker_tuning_view import has_unfinished_tunings, render_sagemaker_tuning
from kayfabe_ui.stopping import ClickToStop
from kayfabe_ui.train_view import WHERE

KNOBS = knob_table(BOOSTER_KNOBS)
HOW_TO_READ = ("How to read: each dot is one trial's mean accuracy over the same cross-validation folds; the "
               "orange line is the best so far and the dashed line the starting settings (trial 0). Where the "
               "orange line rises above the dashed one, the search found better settings; a line that has stayed "
               "flat for many trials means more trials are unlikely to help much.")


class TuningProgress(ClickToStop):
    """Progress bar per trial, a live best-so-far plot and a Stop button that ends tuning cleanly."""

    def __init__(self, trials: int) -> None:
        super().__init__(key="stop_tuning")
        self.trials = trials
        self._bar = st.progress(0.0, text="Tuning…")
        self._chart = st.empty()
        self._plotted = -1
        self._drawn = 0.0

    def __call__(self, report: TuneReport) -> None:
        finished = len(report.finished)
        if finished == self._plotted and time.monotonic() - self._drawn < 0.25:
            return
        self._drawn = time.monotonic()
        self.draw(lambda: self._show(report, finished))

    def _show(self, report: TuneReport, finished: int) -> None:
        best = report.best
        doing = (f"trial {report.trial}{' (the start)' if report.trial == 0 else ''}: fold {report.fold + 1} of "
                 f"{report.folds}" if report.fold < report.folds
                 else f"trial {report.trial}: accuracy {report.finished[-1].accuracy:.3f}")
        so_far = f"; best so far {best.accuracy:.3f} (trial {best.number})" if best else ""
        self._bar.progress(report.done, text=f"{finished} of {report.trials} trials done; {doing}{so_far}. "
                                             "Stop keeps the trials done.")
        if finished != self._plotted and finished:
            self._plotted = finished
            with self._chart.container():
                st.plotly_chart(tuning_figure(trials_frame(report.finished), report.finished[0].accuracy,
                                              report.trials), key=f"tune_live_{finished}")
                st.caption(HOW_TO_READ)

    def finish(self, told: str = "") -> None:
        """Let Streamlit's pending rerun go on, now that tuning has stopped; else clear the live view."""
        super().finish(told)
        self._bar.empty()
        self._chart.empty()


def render_tuning(workspace: Workspace, table: FeatureTable, split_options: SplitOptions,
                  train_settings: TrainSettings | None = None) -> None:
    """Draw where to tune (this computer by default; Amazon SageMaker while a SageMaker tuning of the workspace is
    unfinished, so a refresh finds it again). On this computer: the tuning form and its Tune button, then the latest
    tuning kept in the workspace; on SageMaker (the settings not tuned from ``train_settings``, default the default
    preset): :func:`~kayfabe_ui.sagemaker_tuning_view.render_sagemaker_tuning`."""
    st.subheader("Tune settings")
    if _choose_where(workspace) == "sagemaker":
        render_sagemaker_tuning(workspace, table, split_options,
                                train_settings or TrainSettings.from_choices(DEFAULT_PRESET))
        return
    st.caption("Optuna tries one set of XGBoost settings after another, each scored by the same cross-validation, "
               "and learns from the scores which ranges look promising. Trial 0 is the preset you start from, "
               "so you can see whether the search beat it. Every trial is kept; the best becomes a run.")
    options = _choose_options(split_options)
    if options is not None and st.button("Tune", type="primary", key="tune_button", icon=":material/tune:"):
        _run(workspace, table, split_options, options)
    _show_latest(workspace)


def _choose_where(workspace: Workspace) -> str:
    busy = has_unfinished_tunings(workspace)
    where = st.segmented_control("Where to tune", list(WHERE), format_func=lambda key: WHERE[key],
                                 required=True,
                                 default="sagemaker" if busy else "local", key="tune_where", persist_state=state.KEPT,
                                 help="This computer tunes at once, for free. Amazon SageMaker runs one training job "
                                      "per set of settings on AWS machines you pay for; the best is scored here.")
    if busy and where != "sagemaker":
        st.info("A SageMaker tuning of this workspace has not finished: choose Amazon SageMaker to follow it.",
                icon=":material/cloud_sync:")
    return str(where or "local")


def _choose_options(split_options: SplitOptions) -> TuneOptions | None:
    keys = [knob.key for knob in BOOSTER_KNOBS]
    chosen = st.multiselect("Settings to vary", keys, default=list(DEFAULT_VARIED), key="tune_knobs",
                            persist_state=state.KEPT, format_func=lambda key: KNOBS[key].title,
                            help="The settings left out keep the starting preset's values in every trial.")
    ranges: dict[str, tuple[float, float]] = {}
    columns = st.columns(2)
    for position, key in enumerate(chosen):
        knob, (low, high) = KNOBS[key], SEARCH_RANGES[key]
        scale = " Searched on a log scale (small values as finely as large ones)." if key in LOG_SCALE else ""
        ranges[key] = columns[position % 2].slider(
            f"{knob.title}: range", knob.kind(knob.low), knob.kind(knob.high), (knob.kind(low), knob.kind(high)),
            knob.kind(knob.step), key=f"tune_range_{key}", persist_state=state.KEPT, format=knob_format(knob),
            help=f"{knob.does} {knob.raising}{scale}")
    left, middle, right, last = st.columns(4)
    names = list(PRESETS)
    preset = left.selectbox("Start from", names, index=names.index(DEFAULT_PRESET), key="tune_preset",
                            persist_state=state.KEPT, help="Trial 0, and the values of every setting not varied.")
    trials = middle.number_input("Trials", 2, MAX_TRIALS, 30, 1, key="tune_trials", persist_state=state.KEPT,
                                 help="Settings to try, the start (trial 0) included.")
    folds = right.number_input("Cross-validation folds", 2, 10, 5, 1, key="tune_folds", persist_state=state.KEPT,
                               help="Every trial is trained and tested on these same folds.")
    minutes = last.number_input("Time limit (minutes, 0 = none)", 0, 24 * 60, 0, 1, key="tune_minutes",
                                persist_state=state.KEPT, help="No new trial starts after this time.")
    grouping = ", ".join(split_options.group_by) or METHODS[split_options.method].split(":")[0].lower()
    st.caption(f"{PRESET_NOTES[preset]} Folds: {grouping}, as chosen for the split. Each trial trains "
               f"{int(folds)} models.")
    try:
        return TuneOptions(ranges, int(trials), float(minutes) * 60 or None, int(folds), split_options.seed,
                           preset).checked()
    except KayfabeError as error:
        show_error(error)
        return None


def _run(workspace: Workspace, table: FeatureTable, split_options: SplitOptions, options: TuneOptions) -> None:
    progress = TuningProgress(options.trials)
    try:
        result = tune(workspace, table, split_options, options, on_trial=progress, stop=progress.stop)
    except KayfabeError as error:
        progress.finish(told=f"{error.message} {error.hint}")
        show_error(error)
        return
    progress.finish(told=result.message)
    if result.run_id:
        state.set_text(state.SELECTED_RUN, result.run_id)
        st.rerun()  # the sidebar's count of runs was drawn before the tuning saved one; the result is in the workspace


def _show_latest(workspace: Workspace) -> None:
    tunings = list_tunings(workspace)
    if tunings.empty:
        return
    st.subheader("Latest tuning")
    job_id = str(tunings["job_id"].iloc[0])
    detail, trials = read_tuning(workspace, job_id)
    complete = trials[trials["state"] == "complete"]
    if complete.empty:
        return
    start = trials.iloc[0]
    best = complete.sort_values(["accuracy", "number"], ascending=[False, True]).iloc[0]
    st.plotly_chart(tuning_figure(trials, float(start["accuracy"])), key="tune_latest_chart")
    st.caption(HOW_TO_READ)
    if detail.get("message"):
        st.info(detail["message"], icon=":material/info:")
    left, middle, right = st.columns(3)
    left.metric("Start (trial 0)", f"{start['accuracy']:.3f}", help=f"Standard deviation over the folds: "
                f"{start['sd']:.3f}")
    middle.metric(f"Best (trial {best['number']})", f"{best['accuracy']:.3f}",
                  f"{best['accuracy'] - start['accuracy']:+.3f}",
                  help=f"Standard deviation over the folds: {best['sd']:.3f}")
    right.metric("Trials", f"{len(complete):,}", help=f"Tuning {job_id}")
    st.caption(f"Spread: the folds' accuracies vary by about {best['sd']:.3f} (standard deviation) for the best "
               f"settings and {start['sd']:.3f} for the start. The best of many trials is picked on the same folds "
               "that score it, so its score flatters it a little: trust a gain larger than the spread more than a "
               "smaller one, and check it on new data or other seeds.")
    st.dataframe(_comparison(detail, best["params"]), hide_index=True, key="tune_comparison")
    run_id = detail.get("run_id")
    if run_id:
        params = detail.get("best_params", {})
        st.caption(f"The best settings were saved as run **{run_id}**. On the command line: "
                   + " ".join(f"`--param {key}={value:g}`" for key, value in params.items()))
        if st.button("Open the tuned run on Results", key="tune_open_run", icon=":material/arrow_forward:"):
            state.set_text(state.SELECTED_RUN, str(run_id))
            st.switch_page(PAGES["results"])
    with st.expander(f"Every trial of this tuning ({len(trials):,}), and every tuning of this workspace "
                     f"({len(tunings):,})", icon=":material/list:"):
        shown = pd.concat([trials[["number", "state", "accuracy", "sd", "seconds"]],
                           pd.DataFrame(list(trials["params"]), index=trials.index)], axis=1)
        st.dataframe(shown.rename(columns={"number": "Trial", "state": "State", "accuracy": "Accuracy",
                                           "sd": "sd over folds", "seconds": "Seconds", **SHORT_TITLES}),
                     hide_index=True, key="tune_trials_table",
                     column_config={"Accuracy": st.column_config.NumberColumn(format="%.3f"),
                                    "sd over folds": st.column_config.NumberColumn(format="%.3f"),
                                    "Seconds": st.column_config.NumberColumn(format="%.1f")})
        st.dataframe(tunings.assign(created_at=tunings["created_at"].map(minute_text)), hide_index=True,
                     key="tune_history", column_config={
                         "job_id": "Tuning", "created_at": "Started (UTC)", "state": "State", "trials": "Trials done",
                         "baseline_score": st.column_config.NumberColumn("Start (trial 0)", format="%.3f"),
                         "best_score": st.column_config.NumberColumn("Best", format="%.3f"),
                         "best_trial": st.column_config.NumberColumn("Best trial", format="%d"),
                         "run_id": "Saved as run"})


def _comparison(detail: dict[str, object], best: dict[str, float]) -> pd.DataFrame:
    start = detail.get("start", {})
    assert isinstance(start, dict)
    rows = [{"setting": KNOBS[key].title, "start": start.get(key), "best": value,
             "change": "" if start.get(key) == value else ("up" if value > start.get(key, math.nan) else "down")}
            for key, value in best.items()]
    return pd.DataFrame(rows, columns=["setting", "start", "best", "change"])
