"""How to read each chart of a run, in a sentence or two: one text for the Results page and the exported report.

Each function returns the whole line, starting with "How to read:", in the
category's own words where it names the codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kayfabe_core.evaluate import N_BOOT
from kayfabe_core.methods_text import bootstrap_words

PREFIX = "How to read: "


def metrics_reading(record: Mapping[str, Any], n_predictions: int, baseline: float,
                    spread: float | None = None) -> str:
    """The metrics: what they were measured on, what the interval means, the majority baseline, and the spread
    of the run's models' accuracies at the threshold shown (``spread``, see
    :func:`~kayfabe_core.evaluate.accuracy_spread`; None for one model)."""
    folds = record.get("folds", [])
    varied = (f" Over its {len(folds)} models, accuracy at this threshold varied with a standard deviation of "
              f"{spread:.3f}." if len(folds) > 1 and spread is not None else "")
    return (f"{PREFIX}each number is measured on the {n_predictions:,} test predictions; the interval is where it "
            f"would likely land on another sample like this one ({bootstrap_words(record)}, {N_BOOT:,} draws). "
            f"Always answering the more common code would score an accuracy of {baseline:.3f}.{varied}")


def confusion_reading(clickable: bool = False) -> str:
    """The confusion matrix (``clickable``: the page's, whose cells open their images)."""
    click = (" Click a cell (or pick it under “Show the images in”) to see its images below." if clickable else "")
    return (f"{PREFIX}rows are what the coders said, columns what the model predicted; the diagonal holds the "
            f"agreements. Each cell shows its count and, under it, its share of the row (or column, when chosen)."
            f"{click}")


def curves_reading(yes_name: str) -> str:
    """The ROC and precision-recall curves, drawn side by side."""
    return (f"{PREFIX}each curve traces every threshold at once; the red dot is the threshold in use. On the ROC "
            f"curve (left), a curve hugging the top-left corner finds {yes_name} images with few false alarms, and "
            "the dotted diagonal is guessing. On the precision-recall curve (right), higher is better: precision "
            "at each level of recall.")


def calibration_reading(yes_name: str) -> str:
    """The calibration plot."""
    return (f"{PREFIX}test images are sorted by score into ten equal groups; each dot is one group, at its average "
            f"score (across) and the share of it actually coded {yes_name} (up). Dots on the dotted diagonal mean "
            "a score of 0.7 really is right about 70 % of the time.")


def learning_curve_reading(check_name: str) -> str:
    """The learning curve; ``check_name`` is the record's (``validation`` or ``test``)."""
    check = ("a validation set carved from the training images (it chose when to stop)"
             if check_name == "validation" else "the test images (watched only, never used to decide)")
    return (f"{PREFIX}lower loss is a better fit. The grey line is the training images, the orange one {check}. "
            "When orange flattens or rises while grey keeps falling, more rounds only memorise.")


def importance_reading(names: tuple[str, str], on_page: bool = False) -> str:
    """Feature importance bars: by gain in the report; ``on_page``, by the measure chosen, with a SHAP tab."""
    measure = ("by the chosen measure; gain, usually the most telling, is" if on_page else "by gain:")
    direction = "; the SHAP tab does" if on_page else ""
    return (f"{PREFIX}longer bars mark features the trees relied on more, {measure} the average improvement of the "
            f"fit when a tree splits on the feature. Importance says nothing about direction ({names[0]} or "
            f"{names[1]}){direction}.")


def shap_reading(n_images: int, names: tuple[str, str]) -> str:
    """The SHAP dots of the 15 strongest features (``names``: the category's YES and NO)."""
    return (f"{PREFIX}one dot per test image ({n_images:,}) and feature, for the 15 features with the largest "
            f"average effect. Dots right of the line pushed that image towards {names[0]}, left towards {names[1]}; "
            "dark dots are images where the feature is present (a label on the picture, a 1 in a yes/no column, "
            "any value of a number such as likes), light ones where it is absent or not known. SHAP values come "
            "from XGBoost's own pred_contribs.")


def balance_reading(side_of: str = "the split") -> str:
    """The class balance bars of a split (``side_of``: which split, e.g. "fold 1 of 5")."""
    return (f"{PREFIX}each bar is one side of {side_of}; its colours show how many images of each code it holds. "
            "Similar proportions on both sides mean the test set looks like the training set.")


def first_model_note(models: int) -> str:
    """For a run of several models (folds, repeats): say that a chart shows the first one only ('' for one)."""
    return (f" It shows the first of the run's {models:,} models (the metrics above pool all of them)."
            if models > 1 else "")
