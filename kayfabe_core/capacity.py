"""How long a training will take on this computer and how much memory it needs, and when SageMaker is the
better place for it.

The work is the non-zero cells of the training rows times the boosting rounds, summed over the models. Its
rate comes from this workspace's newest local runs that recorded their size (``n_cells``), or else from
``benchmarks/bench_scale.py`` on a 2-core machine: 1.1 s for 100 rounds on 1.0 million training cells at
100,000 posts, 10.6 s on 10 million at a million. XGBoost's copy of the rows took 92 MB and 431 MB more
memory there: about 30 bytes a cell, so :data:`BYTES_PER_CELL` keeps a margin.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from kayfabe_core.feature_table import FeatureTable
from kayfabe_core.split import SplitOptions
from kayfabe_core.workspace import Workspace, connect

SECONDS_PER_CELL_ROUND = 1.1e-8  # the 2-core benchmark machine's rate, when no run of this workspace says better
BYTES_PER_CELL = 40
RUNS_USED = 5  # newest local runs large enough (MIN_WORK) whose pace is used ...
RUNS_READ = 50  # ... among this many newest (a big run behind five quick looks still counts)
MIN_WORK = 1e8  # cells × rounds of a run whose pace is trusted (about 1 s): smaller runs are mostly fixed costs
# (on the demo 100 rounds took 1.1 s, 11 ms a round, and 20,000 rounds then took 10 s: an estimate 12 times over)
LONG_S = 15 * 60  # longer than this on this computer: SageMaker is suggested
MEMORY_SHARE = 0.7  # needing more than this share of the memory available now: SageMaker is suggested


@dataclass(frozen=True)
class LocalEstimate:
    """What a training on this computer would take; ``runs_used`` 0 means the benchmark's rate was used."""

    seconds: float
    memory_mb: float
    available_mb: float | None
    runs_used: int

    @property
    def too_big(self) -> bool:
        """Whether SageMaker is the better place: too long here, or more memory than this computer has free."""
        short_of_memory = self.available_mb is not None and self.memory_mb > MEMORY_SHARE * self.available_mb
        return self.seconds > LONG_S or short_of_memory

    def sentence(self) -> str:
        """E.g. "about 2 s at the pace of 3 earlier runs of this workspace; XGBoost's copy of the data takes
        about 90 MB of memory"."""
        source = (f"the pace of {self.runs_used} earlier run{'s' if self.runs_used != 1 else ''} of this workspace"
                  if self.runs_used else "the pace of a 2-core laptop")
        memory = megabytes(self.memory_mb)
        return (f"about {duration_words(self.seconds)} at {source}; XGBoost's copy of the data takes "
                f"{memory if self.memory_mb < 1 else 'about ' + memory} of memory")  # not "about under 1 MB"

    def advice(self, command_line: bool = False) -> str:
        """What to do when the training is too big for this computer ('' when it is not), in the words of the
        Train page or, with ``command_line``, of ``train``'s options."""
        if not self.too_big:
            return ""
        free = f", and this computer has {megabytes(self.available_mb)} free" if self.available_mb is not None else ""
        sagemaker, fewer = (("--backend sagemaker", "--folds, --repeats or --rounds, or a higher --min-images")
                            if command_line else
                            ("Amazon SageMaker", "folds, repeats or rounds, or a higher “Drop labels seen on fewer "
                                                 "images than”"))
        return (f"This training is large for this computer: {self.sentence()}{free}. {sagemaker} trains it on AWS "
                f"machines without tying this one up (its cost is shown before anything starts); or use fewer "
                f"{fewer}.")


def estimate_local(table: FeatureTable, options: SplitOptions, rounds: int,
                   workspace: Workspace | None = None, pace: tuple[float, int] | None = None) -> LocalEstimate:
    """Estimate training the models of ``options`` (folds × repeats) with up to ``rounds`` rounds each on the
    training side of ``table``, at ``pace`` (:func:`local_pace`'s; read from ``workspace`` when not given: the
    app keeps it per results version instead of reading the runs on every run of the Train page)."""
    models = max(options.folds, 1) * options.repeats
    train_share = (options.folds - 1) / options.folds if options.folds else 1 - options.test_size
    cells = float(table.matrix.nnz) * train_share
    rate, runs_used = pace if pace is not None else local_pace(workspace)
    return LocalEstimate(seconds=cells * rounds * models * rate, memory_mb=cells * BYTES_PER_CELL / 1e6,
                         available_mb=available_memory_mb(), runs_used=runs_used)


def local_pace(workspace: Workspace | None) -> tuple[float, int]:
    """Return seconds per training cell and round, and how many runs said so: from this workspace's newest local
    runs large enough to tell (:data:`MIN_WORK`), else the benchmark's pace and 0."""
    if workspace is None:
        return SECONDS_PER_CELL_ROUND, 0
    # the three parts needed, not whole records (curves, balance): every Train run. A record stored before
    # records were strict JSON may hold NaN, which json_extract refuses (SQLite before 3.42): it is skipped
    cells_of = "CASE WHEN json_valid(record) THEN json_extract(record, '$.data.n_cells') END"
    with connect(workspace) as conn:
        rows = conn.execute(
            f"SELECT {cells_of}, json_extract(record, '$.data.n_images'), json_extract(record, '$.folds') "
            f"FROM runs WHERE backend = 'local' AND {cells_of} IS NOT NULL ORDER BY created_at DESC LIMIT ?",
            (RUNS_READ,)).fetchall()
    seconds = work = 0.0
    used = 0
    for cells, images, folds in rows:
        if used == RUNS_USED:
            break
        per_row = float(cells) / max(int(images), 1)
        folds_read = json.loads(folds or "[]")
        run_work = sum(per_row * float(fold.get("n_train", 0)) * float(fold.get("rounds_kept", 0))
                       for fold in folds_read)
        if run_work >= MIN_WORK:
            seconds += sum(float(fold.get("seconds", 0)) for fold in folds_read)
            work += run_work
            used += 1
    if work <= 0 or seconds <= 0:
        return SECONDS_PER_CELL_ROUND, 0
    return seconds / work, used


def available_memory_mb() -> float | None:
    """Return the memory available now in MB (Linux's MemAvailable), or None where it cannot be read."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (ValueError, OSError, AttributeError):
        return None


def duration_words(seconds: float) -> str:
    """Say a duration the way a person would: "2 s", "4 min", "1.5 h"."""
    if seconds < 60:
        return f"{max(seconds, 1):.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def megabytes(mb: float | None) -> str:
    """Say an amount of memory: "90 MB", "2.6 GB"."""
    if mb is None:
        return "an unknown amount"
    if mb < 1:
        return "under 1 MB"
    return f"{mb:,.0f} MB" if mb < 1000 else f"{mb / 1000:.1f} GB"
