"""Train page pieces: the data, the split, the settings, and a Train button with a live learning curve."""

from __future__ import annotations

import re
import threading
import time
import weakref
from dataclasses import replace
from pathlib import Path

import pandas as pd
import streamlit as st

from kayfabe_core.capacity import estimate_local, local_pace
from kayfabe_core.chart_readings import balance_reading
from kayfabe_core.charts_model import balance_figure, learning_curve_figure
from kayfabe_core.constraints import (
    BOOSTER_KNOBS,
    DEFAULT_PRESET,
    FEATURE_KNOBS,
    PRESET_NOTES,
    PRESETS,
    SPLIT_KNOBS,
    Knob,
    setting_words,
)
from kayfabe_core.errors import KayfabeError
from kayfabe_core.experiment import run_experiment
from kayfabe_core.feature_cache import load_features
from kayfabe_core.feature_table import FeatureTable
from kayfabe_core.features import FeatureOptions
from kayfabe_core.split import METHODS, Split, SplitOptions, class_balance, make_split
from kayfabe_core.stages import Progress
from kayfabe_core.tables import (
    code_column_choices,
    default_positive,
    read_feature_table,
    read_table_columns,
    suggest_dropped_columns,
)
from kayfabe_core.train import RoundReport, TrainSettings
from kayfabe_core.wording import counted, join_words
from kayfabe_core.workspace import Workspace
from kayfabe_ui import state
from kayfabe_ui.common import PAGES, knob_format, results_version, show_error, stage_guard, workspace_version
from kayfabe_ui.sagemaker_jobs_view import has_unfinished_jobs
from kayfabe_ui.stopping import ClickToStop

WHERE = {"local": "This computer", "sagemaker": "Amazon SageMaker"}
SOURCES = {"workspace": "The coded images of this workspace", "table": "A ready-made feature table (CSV)"}


@st.cache_resource(max_entries=6, show_spinner="Building the feature table…")
def cached_features(root: str, version: int, options: FeatureOptions) -> FeatureTable:
    """The workspace's feature table for ``options``, kept per data version (treated as read-only)."""
    return load_features(Workspace(Path(root)), options, write_behind=True)[0]


@st.cache_resource(max_entries=4, show_spinner="Reading the table…")
def cached_table(data: bytes, name: str, label: str, positive: str, drop: tuple[str, ...]) -> FeatureTable:
    """A ready-made table's features (treated as read-only)."""
    return read_feature_table(data, name, label, positive, drop)


def choose_table(workspace: Workspace, progress: Progress) -> FeatureTable | None:
    """Draw step 1 (what to train on); return the feature table, or None with the problem shown."""
    st.subheader("1. Images and features")
    kind = st.radio("Train on", list(SOURCES), format_func=SOURCES.get, horizontal=True, key="train_source",
                    persist_state=state.KEPT, label_visibility="collapsed")
    if kind == "workspace" and not (
        stage_guard(progress.images_labelled > 0, "Training on this workspace needs labelled images: get "
                    "Rekognition labels on the Images & labels page, or train on a ready-made table.",
                    "images", "Go to Images & labels")
        and stage_guard(progress.images_coded > 0, "Training on this workspace needs hand codes: code some "
                        "images YES or NO on the Code page.", "code", "Go to Code")):
        return None
    try:
        table = _workspace_table(workspace) if kind == "workspace" else _uploaded_table()
    except KayfabeError as error:
        show_error(error)
        return None
    if table is not None:
        how = (" Each image's code is the team's decision where coders disagreed, else the majority of the "
               "coders' latest codes; ties and Unsure are left out.") if kind == "workspace" else ""
        st.caption(f"Training will use **{table.n_images:,} images** × **{table.n_features:,} features** "
                   f"({table.n_positive:,} {table.positive_name}, {table.n_images - table.n_positive:,} "
                   f"{table.negative_name}).{how}")
        for note in table.notes:
            st.info(note, icon=":material/info:")
    return table


def _knob_input(knob: Knob, value: float, key: str, container: object = st, disabled: bool = False,
                note: str = "") -> float:
    help_text = f"{knob.does} {knob.raising}{note}"
    return container.slider(knob.title, knob.kind(knob.low), knob.kind(knob.high),  # type: ignore[attr-defined,no-any-return]
                            knob.kind(value), knob.kind(knob.step), key=key, help=help_text, persist_state=state.KEPT,
                            format=knob_format(knob), disabled=disabled)


def _workspace_table(workspace: Workspace) -> FeatureTable:
    knobs = {knob.key: knob for knob in FEATURE_KNOBS}
    with st.expander("Which labels and facts become features", icon=":material/tune:"):
        left, middle, right = st.columns(3)
        cuts = [_knob_input(knobs[key], knobs[key].default, f"feature_{key}", column) for key, column in
                zip(("label_threshold", "moderation_threshold", "celebrity_threshold"), (left, middle, right),
                    strict=True)]
        left, right = st.columns([1, 2])  # the switches one under another: side by side their words were cut
        min_images = _knob_input(knobs["min_images"], knobs["min_images"].default, "feature_min_images", left)
        parents = right.toggle("Keep parent labels (Person as well as Face)", True, key="feature_parents",
                               persist_state=state.KEPT,
                               help="Off keeps only the most specific label of each chain on an image.")
        metadata = right.toggle("Add post facts (likes, type, time)", False, key="feature_metadata",
                                persist_state=state.KEPT,
                                help="Likes, comments, views, post type, carousel, posting hour, weekday, year.")
        caption = right.toggle("Add caption words and hashtags", False, key="feature_caption",
                               persist_state=state.KEPT,
                               help="Each word or hashtag found on enough images becomes a 0/1 feature.")
    options = FeatureOptions(cuts[0], cuts[1], cuts[2], include_parents=parents, min_images=int(min_images),
                             metadata=metadata, caption=caption)
    return cached_features(str(workspace.root), workspace_version(workspace), options)


def _uploaded_table() -> FeatureTable | None:
    upload = st.file_uploader("Feature table: one row per image, a code column, numeric feature columns",
                              type=["csv"], key="train_table_file")
    if upload is None:
        st.caption("For example the original 2021 study's table, with its code in the column “kayfabe”.")
        return None
    data = upload.getvalue()
    frame = read_table_columns(data, upload.name)
    candidates, preferred = code_column_choices(frame)
    left, middle = st.columns(2)
    label = left.selectbox("Column holding the code", candidates, index=preferred, key="table_label",
                           help="The column with your hand codes (YES/NO, 1/0, Food/Not food). Columns with "
                                "two values are listed first.")
    values = sorted(map(str, frame[label].dropna().unique()), key=str.lower)
    positive = middle.selectbox("Value meaning YES", values, key="table_positive",
                                index=values.index(default_positive(values)) if len(values) == 2 else 0)
    columns = [str(column) for column in frame.columns if column != label]
    drop = st.multiselect("Columns to leave out", columns, default=suggest_dropped_columns(frame, label),
                          key="table_drop", help="Text columns and identifiers are left out by default.")
    return cached_table(data, upload.name, label, positive, tuple(drop))


def choose_split(table: FeatureTable) -> tuple[SplitOptions, int] | None:
    """Draw step 2 (the split) with the class balance; return the options and number of folds, or None."""
    st.subheader("2. Training and test images")
    knobs = {knob.key: knob for knob in SPLIT_KNOBS}
    method = st.radio("How to split", list(METHODS), format_func=METHODS.get, key="split_method",
                      persist_state=state.KEPT)
    left, middle, right, last = st.columns(4)
    folds = int(_number(knobs["folds"], "split_folds", middle))
    test_size = _knob_input(knobs["test_size"], knobs["test_size"].default, "split_test_size", left,
                            disabled=folds > 0, note=" Not used with cross-validation: each fold is the test set "
                                                     "once (a fold's share is one over the number of folds).")
    repeats = int(_number(knobs["repeats"], "split_repeats", right))
    seed = int(_number(knobs["seed"], "split_seed", last))
    group_by: tuple[str, ...] = ()
    if table.context["post"].isna().any():
        choices = [str(name) for name in table.context.columns if name not in ("item", "post", "time")]
        group_by = tuple(st.multiselect("Columns that together identify a post (images with equal values stay "
                                        "together)", choices, key="split_group_by",
                                        help="For the original study's table: commentCount, likeCount, pubYear, "
                                             "pubMonth, pubDay."))
    options = SplitOptions(method, test_size, folds, repeats, seed, group_by)
    try:
        split, balance = _split_preview(table, options)
    except KayfabeError as error:
        show_error(error)
        return None
    st.plotly_chart(balance_figure(balance), key="balance_chart")
    what = _first_split(options, len(split.folds))
    st.caption(balance_reading(what))
    for warning in split.warnings:
        st.warning(warning, icon=":material/warning:")
    return options, len(split.folds)


_PREVIEWS: dict[tuple[int, SplitOptions], tuple[weakref.ref[FeatureTable], Split, pd.DataFrame]] = {}
_PREVIEWS_LOCK = threading.Lock()
PREVIEWS_KEPT = 8  # the newest split previews kept (tables and options of any session)


def _split_preview(table: FeatureTable, options: SplitOptions) -> tuple[Split, pd.DataFrame]:
    """The split of ``table`` and its first fold's class balance, kept per table and options (raises as
    :func:`make_split`): every other widget on the page runs it again with the same table, and the split took 40 ms
    of each run at 150,000 images. A table kept by :func:`cached_features` is the same object until the data
    change; the one a table was made for is compared by identity, so a new table is split again."""
    key = (id(table), options)
    with _PREVIEWS_LOCK:
        kept = _PREVIEWS.pop(key, None)
        if kept is not None and kept[0]() is table:
            _PREVIEWS[key] = kept  # the newest used last: the oldest used goes first
            return kept[1], kept[2]
    split = make_split(table, options)
    balance = class_balance(table, split.folds[0])
    with _PREVIEWS_LOCK:
        for stale in [old for old, (ref, *_) in _PREVIEWS.items() if ref() is None]:
            del _PREVIEWS[stale]
        _PREVIEWS[key] = (weakref.ref(table), split, balance)
        while len(_PREVIEWS) > PREVIEWS_KEPT:
            del _PREVIEWS[next(iter(_PREVIEWS))]
    return split, balance


def _first_split(options: SplitOptions, n_splits: int) -> str:
    """Name the split the bars show: "the split", "fold 1 of 5", "fold 1 of 5 of the first of 3 repeats"."""
    if n_splits == 1:
        return "the split"
    if options.repeats > 1 and options.folds:
        return f"fold 1 of {options.folds} in the first of {options.repeats} repeats"
    return f"split 1 of {n_splits}" if options.repeats > 1 else f"fold 1 of {n_splits}"


def _number(knob: Knob, key: str, container: object) -> float:
    return container.number_input(knob.title, knob.kind(knob.low), knob.kind(knob.high),  # type: ignore[attr-defined,no-any-return]
                                  knob.kind(knob.default), knob.kind(knob.step), key=key, persist_state=state.KEPT,
                                  help=f"{knob.does} {knob.raising}")


def choose_settings(names: tuple[str, str] = ("YES", "NO")) -> TrainSettings | None:
    """Draw step 3 (preset and every XGBoost knob, in the category's ``names``); return the checked settings."""
    st.subheader("3. XGBoost settings")
    category, names = names, list(PRESETS)
    preset = st.selectbox("Preset", names, index=names.index(DEFAULT_PRESET), key="train_preset",
                          persist_state=state.KEPT)
    note = st.empty()  # the preset's words, and what was changed from it (known once the knobs are drawn)
    values = PRESETS[preset]
    chosen: dict[str, object] = {}
    with st.expander("Every setting, with what it does (hover the ? next to each)", icon=":material/tune:"):
        columns = st.columns(2)
        for position, knob in enumerate(BOOSTER_KNOBS):
            chosen[knob.key] = _knob_input(_in_words(knob, category), values[knob.key],
                                           f"knob_{knob.key}_{names.index(preset)}", columns[position % 2])
    changed = [setting_words(knob.key, float(chosen[knob.key]))  # type: ignore[arg-type]
               for knob in BOOSTER_KNOBS if chosen[knob.key] != values[knob.key]]
    note.caption(PRESET_NOTES[preset] + (f" Changed from it below: {join_words(changed)}." if changed else ""))
    try:
        return TrainSettings.from_choices(preset, chosen)
    except KayfabeError as error:
        show_error(error)
        return None


def _in_words(knob: Knob, names: tuple[str, str]) -> Knob:
    """``knob`` with YES and NO in its texts replaced by the category's names ("Weight of Food images")."""
    def worded(text: str) -> str:
        return re.sub(r"\b(YES|NO)\b", lambda found: names[0] if found[1] == "YES" else names[1], text)

    return replace(knob, title=worded(knob.title), does=worded(knob.does), raising=worded(knob.raising))


class TrainingProgress(ClickToStop):
    """Progress bar, live learning curve and a Stop button (a stopped training saves nothing)."""

    def __init__(self, rounds: int, n_folds: int) -> None:
        super().__init__(key="stop_training")
        self.rounds, self.n_folds = rounds, n_folds
        self._bar = st.progress(0.0, text="Training…")
        self._chart = st.empty()
        self._train: list[float] = []
        self._check: list[float] = []
        self._drawn = 0.0

    def __call__(self, report: RoundReport) -> None:
        if report.round == 1:
            self._train, self._check = [], []
        self._train.append(report.train_loss)
        self._check.append(report.check_loss)
        last = report.round == report.rounds and report.fold_index + 1 == report.n_folds
        if not last and time.monotonic() - self._drawn < 0.25:
            return
        self._drawn = time.monotonic()
        self.draw(lambda: self._show(report))

    def _show(self, report: RoundReport) -> None:
        done = (report.fold_index * report.rounds + report.round) / (report.rounds * report.n_folds)
        fold = f"fold {report.fold_index + 1} of {report.n_folds}, " if report.n_folds > 1 else ""
        self._bar.progress(min(done, 1.0), text=f"Training: {fold}round {report.round:,} of {report.rounds:,} "
                                                "(Stop ends it; nothing is saved then)")
        self._chart.plotly_chart(learning_curve_figure(self._train, self._check, report.check_name,
                                                       rounds=report.rounds), key=f"live_{self._drawn}")


def choose_where(workspace: Workspace) -> tuple[str, str]:
    """Draw step 4's head: where to train (this computer by default; SageMaker while a job of the workspace is
    unfinished, so a refresh finds it again) and the run's name; return both."""
    st.subheader("4. Train")
    busy = has_unfinished_jobs(workspace)
    where = st.segmented_control("Where to train", list(WHERE), format_func=WHERE.get, required=True,
                                 default="sagemaker" if busy else "local", key="train_where", persist_state=state.KEPT,
                                 help="This computer trains at once, for free. Amazon SageMaker trains on AWS "
                                      "machines you pay for, then the model is scored here.")
    if busy and where != "sagemaker":
        st.info("A SageMaker job of this workspace has not finished: choose Amazon SageMaker to follow it.",
                icon=":material/cloud_sync:")
    name = st.text_input("Name of this run (optional)", key="run_name", placeholder="e.g. original preset, ≥ 80 %")
    return str(where or "local"), name


@st.cache_data(show_spinner=False, max_entries=4)
def cached_pace(root: str, version: int) -> tuple[float, int]:
    """The pace of the workspace's earlier local runs, per results version (a training moves it): reading the runs'
    records took every run of the Train page (about 50 ms with 500 runs)."""
    return local_pace(Workspace(Path(root)))


def render_train(workspace: Workspace, table: FeatureTable, options: SplitOptions, n_folds: int,
                 settings: TrainSettings, name: str = "") -> None:
    """Draw the Train button (on this computer); on success open the run on the Results page."""
    trainings = n_folds * settings.rounds
    estimate = estimate_local(table, options, settings.rounds,
                              pace=cached_pace(str(workspace.root), results_version(workspace)))
    st.caption(f"{counted(n_folds, 'model')} × up to {counted(settings.rounds, 'round')} "
               f"({counted(trainings, 'round')} in all) on this computer: {estimate.sentence()}.")
    if estimate.too_big:
        st.warning(estimate.advice(), icon=":material/cloud_upload:")
    if not st.button("Train", type="primary", key="train_button", icon=":material/model_training:",
                     shortcut="Ctrl+Enter", help="Shortcut: Ctrl+Enter"):
        return
    progress = TrainingProgress(settings.rounds, n_folds)
    try:
        result = run_experiment(workspace, table, options, settings, name, progress, progress.stop)
    except KayfabeError as error:
        progress.finish(told=f"{error.message} {error.hint}")
        show_error(error)
        return
    progress.finish()
    state.set_text(state.SELECTED_RUN, result.run_id)
    st.switch_page(PAGES["results"])
