"""Read a ready-made feature table: a CSV with one row per image, a code column and numeric features.

The original study's table (1,470 images, 403 Rekognition columns, column
``kayfabe``) is one. Columns that identify a row, or that every image of one
post shares (engagement, dates), are flagged so the split can warn.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from kayfabe_core.csvfile import decode_csv, parser_problem
from kayfabe_core.errors import InputFileError, SettingError
from kayfabe_core.feature_table import FeatureTable, build_matrix
from kayfabe_core.wording import quoted_list

POSITIVE_WORDS = ("1", "1.0", "yes", "true", "y", "t")
NEGATED = re.compile(r"^(not|no|non|never)[\s_-]+\S", re.I)  # "Not food", "no_kayfabe", "non-food"
POST_LEVEL = re.compile(r"(like|comment|view|date|year|month|day|hour|time|sidecar|carousel|location)", re.I)
_YEAR = r"(?:^|\D)(?:1[89]|2\d)\d\d(?:\D|$)"  # a year (1800-2999) standing alone in a date's text
IDENTIFIER = re.compile(r"(^id$|_id$|id$|^row|_row$|index|url|sha256)", re.I)


def read_feature_table(data: bytes, file_name: str, label: str, positive: str | None = None,
                       drop: Sequence[str] = ()) -> FeatureTable:
    """Return the :class:`FeatureTable` of a CSV file's bytes.

    ``label`` is the code column; ``positive`` the value that means YES (by
    default 1, yes or true). Rows with no code are left out. Raises
    :class:`InputFileError` when the file cannot be read or has non-numeric
    feature columns, :class:`SettingError` for an unknown column name.
    """
    frame, reading_notes = _read_csv(data, file_name)
    _check_columns(frame, [label], file_name)
    _check_dropped(frame, drop, file_name)
    coded = frame[frame[label].notna()]
    if coded.empty:
        raise InputFileError(f"The code column “{label}” of {file_name} is empty: none of its {len(frame):,} "
                             "rows has a value.", "Pick the column that holds the hand code, or fill it in.")
    file_rows = coded.index.to_numpy() + 2  # the line in the file: the header is line 1
    coded = coded.reset_index(drop=True)
    observed, positive_name, negative_name = _observed(coded[label], label, positive, file_name)
    features = coded.drop(columns=[label, *drop])
    _check_numeric(features, file_name)
    values = features.to_numpy(np.float32)
    rows, cols = np.nonzero(~np.isnan(values))
    matrix = build_matrix(rows, cols, values[rows, cols], values.shape)
    names = tuple(map(str, features.columns))
    notes = list(reading_notes)
    if len(coded) < len(frame):
        left_out = len(frame) - len(coded)
        several = left_out != 1
        notes.append(f"{left_out:,} row{'s' if several else ''} of {file_name} {'have' if several else 'has'} "
                     f"no value in “{label}” and {'were' if several else 'was'} left out.")
    context = coded.drop(columns=[label]).copy()
    context.insert(0, "item", [f"row {number}" for number in file_rows])
    context["post"] = None
    context["time"] = table_times(coded)
    return FeatureTable(
        matrix=matrix, names=names, observed=observed, context=context,
        origin={"kind": "table", "file": file_name, "label": label, "positive": positive_name,
                "dropped": list(drop)},
        positive_name=f"{label} = {positive_name}", negative_name=f"{label} = {negative_name}",
        post_level=tuple(name for name in names if POST_LEVEL.search(name)),
        identifiers=tuple(name for name in names if looks_like_identifier(features[name])),
        notes=tuple(notes),
    )


def suggest_label_columns(frame: pd.DataFrame) -> list[str]:
    """Return the columns with exactly two distinct values (candidates for the code column)."""
    return [str(column) for column in frame.columns if frame[column].nunique(dropna=True) == 2]


def code_column_choices(frame: pd.DataFrame) -> tuple[list[str], int]:
    """Return every column, those with two values first, and the place of the likeliest code column: one
    named kayfabe, code or label, else the first with two values."""
    two = suggest_label_columns(frame)
    choices = two + [str(column) for column in frame.columns if str(column) not in two]
    named = [place for place, name in enumerate(choices) if name.lower() in ("kayfabe", "code", "label")]
    return choices, named[0] if named else 0


def suggest_dropped_columns(frame: pd.DataFrame, label: str) -> list[str]:
    """Return the columns a user will usually leave out: text columns and identifiers."""
    return [str(column) for column in frame.columns if column != label and (
        not pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(frame[column])
        or looks_like_identifier(frame[column]))]


def looks_like_identifier(column: pd.Series) -> bool:
    """True when the column's name says id/row/index and nearly every row has its own value."""
    distinct = column.nunique(dropna=True)
    return bool(IDENTIFIER.search(str(column.name))) and distinct >= 0.9 * max(len(column), 1)


def read_table_columns(data: bytes, file_name: str) -> pd.DataFrame:
    """Return the CSV as a DataFrame (for the page to offer columns); raises :class:`InputFileError`."""
    return _read_csv(data, file_name)[0]


def table_times(frame: pd.DataFrame) -> pd.Series:
    """Return each row's date from a column of dates (by its name; text, not numbers), or from
    pubYear/pubMonth/pubDay; NaT when none."""
    for name in ("pubDate", "date", "timestamp", "taken_at", "pub_date", "time", "datetime", "created_at"):
        if name in frame and _holds_dates(frame[name]):
            return pd.to_datetime(frame[name], utc=True, errors="coerce", format="mixed")
    if {"pubYear", "pubMonth", "pubDay"} <= set(frame.columns):
        parts = frame[["pubYear", "pubMonth", "pubDay"]].set_axis(["year", "month", "day"], axis=1)
        return pd.to_datetime(parts, errors="coerce", utc=True)
    return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")


def _holds_dates(column: pd.Series) -> bool:
    """Whether a column's texts are dates (most with a year): not numbers (an hour? seconds?), not times of
    day ("12:30", which pandas dates today)."""
    if pd.api.types.is_numeric_dtype(column):
        return False
    texts = column.dropna().astype(str)
    return bool(len(texts)) and texts.str.contains(_YEAR).mean() >= 0.5  # unreadable ones: no date (NaT)


def _read_csv(data: bytes, file_name: str) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Return the table in ``data`` and sentences on how it was read (not UTF-8, not commas).

    Decoded as the posts' exports are (:func:`~kayfabe_core.csvfile.decode_csv`): a spreadsheet saved with
    semicolons or in Windows-1252 is read, and says so.
    """
    hint = "Save the table as CSV (text) with one header row and one row per image."
    text = decode_csv(file_name, data, kind="a CSV table", advice=hint)
    try:
        frame = pd.read_csv(io.BytesIO(text.text.encode()), sep=text.delimiter, low_memory=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise InputFileError(f"{file_name} could not be read as a CSV table: {parser_problem(str(error))}.",
                             hint) from None
    if frame.empty:
        raise InputFileError(f"{file_name} has a header but no rows.", "Give a table with one row per image.")
    notes = text.notes
    if text.delimiter == ";" and (converted := _decimal_commas(frame)):
        notes += (f"{file_name} writes decimals with commas (0,5): {quoted_list(converted)} "
                  f"{'was' if len(converted) == 1 else 'were'} read as numbers.",)
    return frame, notes


def _decimal_commas(frame: pd.DataFrame) -> list[str]:
    """Turn the text columns whose every value is a number written with a decimal comma ('0,33', '-2', '')
    into numbers, in place (spreadsheets that save with semicolons write decimals so); return their names."""
    converted = []
    for name in [name for name in frame.columns if not pd.api.types.is_numeric_dtype(frame[name])]:
        texts = frame[name].dropna().astype(str).str.strip()
        if len(texts) and texts.str.fullmatch(r"-?\d+(?:,\d+)?").all() and texts.str.contains(",").any():
            frame[name] = pd.to_numeric(frame[name].astype(str).str.replace(",", ".", regex=False), errors="coerce")
            converted.append(str(name))
    return converted


def _check_dropped(frame: pd.DataFrame, drop: Sequence[str], file_name: str) -> None:
    missing = [name for name in drop if name not in frame.columns]
    if missing:
        raise SettingError(f"{file_name} has no column called {quoted_list(missing)} to leave out.",
                           f"Its columns start: {', '.join(map(str, frame.columns[:8]))}.")


def _check_columns(frame: pd.DataFrame, wanted: Sequence[str], file_name: str) -> None:
    missing = [name for name in wanted if name not in frame.columns]
    if missing:
        candidates = suggest_label_columns(frame)[:8]
        raise SettingError(
            f"{file_name} has no column called {quoted_list(missing)}.",
            ("Columns with two values, which could hold the code: " + ", ".join(candidates) + "."
             if candidates else f"Its columns start: {', '.join(map(str, frame.columns[:8]))}."))


def _observed(column: pd.Series, label: str, positive: str | None, file_name: str) -> tuple[np.ndarray, str, str]:
    values = sorted(map(str, column.unique()), key=str.lower)
    text = column.astype(str)
    if len(values) != 2:
        shown = ", ".join(values[:6]) + (" …" if len(values) > 6 else "")
        raise InputFileError(f"The code column “{label}” of {file_name} should hold two values (YES/NO, 1/0); "
                             f"it holds {len(values)}: {shown}.",
                             "Pick the column that holds the hand code, or recode it to two values.")
    if positive is None:
        positive = default_positive(values)
    if positive not in values:
        positive = _matching_value(positive, values)
    if positive not in values:
        raise SettingError(f"“{positive}” is not a value of the column “{label}”; its values are "
                           f"{values[0]} and {values[1]}.", "Give one of those as the positive (YES) value.")
    negative = values[0] if values[1] == positive else values[1]
    return (text == positive).to_numpy(np.int8), positive, negative


def default_positive(values: list[str]) -> str:
    """Return which of two code values most likely means YES: a yes-word (yes, true, 1 …); else the one
    that is not the other negated (Food for Food / Not food); else the last in alphabetical order."""
    found = [value for value in values if value.strip().lower() in POSITIVE_WORDS]
    if found:
        return found[0]
    plain = [value for value in values if not NEGATED.match(value.strip())]
    return plain[0] if len(plain) == 1 else sorted(values, key=str.lower)[-1]


def _matching_value(given: str, values: list[str]) -> str:
    """Return the value of ``values`` that ``given`` means (1 for 1.0, yes for YES), else ``given``."""
    number = _as_number(given)
    for value in values:
        if value.lower() == given.strip().lower() or (number is not None and _as_number(value) == number):
            return value
    return given


def _as_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _check_numeric(features: pd.DataFrame, file_name: str) -> None:
    text_columns = [str(name) for name in features.columns
                    if not pd.api.types.is_numeric_dtype(features[name])
                    and not pd.api.types.is_bool_dtype(features[name])]
    if text_columns:
        shown = ", ".join(text_columns[:6]) + (f" and {len(text_columns) - 6} more" if len(text_columns) > 6 else "")
        raise InputFileError(f"{file_name} has columns that are not numbers: {shown}.",
                             "Leave them out (--drop on the command line, or untick them on the Train page), "
                             "or turn them into numbers.")
    if features.shape[1] == 0:
        raise InputFileError(f"{file_name} has no feature columns left besides the code.",
                             "Give a table with numeric feature columns, one row per image.")
