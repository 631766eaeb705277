"""Ready-made feature tables: the code column, its YES value, text columns, left-out rows and flagged columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from kayfabe_core.errors import InputFileError, SettingError
from kayfabe_core.tables import (
    code_column_choices,
    default_positive,
    looks_like_identifier,
    read_feature_table,
    read_table_columns,
    suggest_dropped_columns,
    suggest_label_columns,
    table_times,
)
from tests.conftest import ORIGINAL_TABLE


def table_csv(rows: int = 12, label: list[str] | None = None, extra: dict[str, list[str]] | None = None) -> bytes:
    """A small table: postId (unique), likeCount, pubYear/pubMonth/pubDay, f1, f2 and the code column 'code'."""
    codes = label if label is not None else ["1" if n % 3 == 0 else "0" for n in range(rows)]
    columns: dict[str, list[str]] = {
        "postId": [str(1000 + n) for n in range(rows)],
        "likeCount": [str(10 * (n // 2)) for n in range(rows)],
        "pubYear": ["2020"] * rows,
        "pubMonth": [str(1 + n % 12) for n in range(rows)],
        "pubDay": [str(1 + n % 28) for n in range(rows)],
        "f1": [str(n % 2) for n in range(rows)],
        "f2": ["" if n % 4 == 0 else f"{n / 10}" for n in range(rows)],
        "code": codes,
        **(extra or {}),
    }
    lines = [",".join(columns)] + [",".join(values[n] for values in columns.values()) for n in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def test_reads_features_codes_and_context() -> None:
    table = read_feature_table(table_csv(), "t.csv", "code")
    assert table.n_images == 12
    assert table.names == ("postId", "likeCount", "pubYear", "pubMonth", "pubDay", "f1", "f2")
    assert table.observed.tolist() == [1, 0, 0] * 4
    assert table.observed.dtype == np.int8
    assert sp.issparse(table.matrix) and table.matrix.format == "csr" and table.matrix.dtype == np.float32
    dense = table.matrix.toarray()
    assert dense[3, table.names.index("likeCount")] == 10
    assert dense[5, table.names.index("f2")] == pytest.approx(0.5)
    # an empty cell is missing (not stored), a 0 is stored
    assert table.matrix[0, table.names.index("f2")] == 0 and table.matrix[4].indices.tolist().count(6) == 0
    assert 6 in table.matrix[5].indices and 5 in table.matrix[0].indices  # f1 = 0 on row 0 is kept
    assert list(table.context["item"][:3]) == ["row 2", "row 3", "row 4"]
    assert table.context["post"].isna().all()
    assert (table.positive_name, table.negative_name) == ("code = 1", "code = 0")
    assert table.origin == {"kind": "table", "file": "t.csv", "label": "code", "positive": "1", "dropped": []}
    assert table.notes == ()


def test_missing_label_column_names_the_candidates() -> None:
    with pytest.raises(SettingError, match="t.csv has no column called “kayfabe”") as caught:
        read_feature_table(table_csv(), "t.csv", "kayfabe")
    assert "Columns with two values, which could hold the code: " in caught.value.hint
    assert "f1" in caught.value.hint and "code" in caught.value.hint
    assert "postId" not in caught.value.hint


def test_missing_label_column_without_candidates_shows_the_first_columns() -> None:
    with pytest.raises(SettingError) as caught:
        read_feature_table(b"a,b\n1,2\n3,4\n5,6\n", "t.csv", "y")
    assert caught.value.hint == "Its columns start: a, b."


def test_unknown_drop_column_is_named() -> None:
    with pytest.raises(SettingError, match="no column called “nope” to leave out") as caught:
        read_feature_table(table_csv(), "t.csv", "code", drop=["f1", "nope"])
    assert caught.value.hint.startswith("Its columns start: ")  # not the hint for the code's column


def test_a_folder_or_a_missing_table_is_named_as_such(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kayfabe_core.__main__ import main

    assert main(["train", "--table", str(tmp_path), "--label", "code", "--save-in", str(tmp_path / "ws")]) == 1
    assert f"{tmp_path} is a folder, not a table." in capsys.readouterr().err
    assert main(["train", "--table", str(tmp_path / "nope.csv"), "--label", "code", "--metadata",
                 "--threshold", "90"]) == 1
    err = capsys.readouterr().err
    assert f"The file {tmp_path / 'nope.csv'} does not exist." in err
    assert "Warning: --threshold, --metadata build features from a workspace's labels" in err


def test_three_code_values_are_refused() -> None:
    codes = ["1", "0", "2"] * 4
    with pytest.raises(InputFileError, match="should hold two values") as caught:
        read_feature_table(table_csv(label=codes), "t.csv", "code")
    assert "it holds 3: 0, 1, 2" in caught.value.message


def test_one_code_value_is_refused() -> None:
    with pytest.raises(InputFileError, match="it holds 1: 1"):
        read_feature_table(table_csv(label=["1"] * 12), "t.csv", "code")


def test_text_feature_columns_are_named() -> None:
    csv = table_csv(extra={"caption": ["hello"] * 12, "place": ["Paris"] * 12})
    with pytest.raises(InputFileError, match="columns that are not numbers: caption, place") as caught:
        read_feature_table(csv, "t.csv", "code")
    assert "--drop" in caught.value.hint


def test_many_text_columns_are_counted() -> None:
    csv = table_csv(extra={f"t{n}": ["x"] * 12 for n in range(8)})
    with pytest.raises(InputFileError, match="t0, t1, t2, t3, t4, t5 and 2 more"):
        read_feature_table(csv, "t.csv", "code")


def test_drop_leaves_columns_out() -> None:
    csv = table_csv(extra={"caption": ["hello"] * 12})
    table = read_feature_table(csv, "t.csv", "code", drop=["caption", "postId"])
    assert table.names == ("likeCount", "pubYear", "pubMonth", "pubDay", "f1", "f2")
    assert table.matrix.shape == (12, 6)
    assert table.origin["dropped"] == ["caption", "postId"]
    assert table.identifiers == ()


def test_no_feature_left_is_refused() -> None:
    with pytest.raises(InputFileError, match="no feature columns left"):
        read_feature_table(b"code,x\n1,a\n0,b\n", "t.csv", "code", drop=["x"])


@pytest.mark.parametrize(("values", "yes", "no"), [
    (["yes", "no"], "yes", "no"),
    (["No", "Yes"], "Yes", "No"),
    (["true", "false"], "True", "False"),  # pandas reads true/false as booleans
    (["TRUE", "FALSE"], "True", "False"),
    (["1", "0"], "1", "0"),
    (["kayfabe", "real"], "real", "kayfabe"),  # no YES word: the last value in order
])
def test_default_positive_value(values: list[str], yes: str, no: str) -> None:
    codes = [values[n % 2] for n in range(12)]
    table = read_feature_table(table_csv(label=codes), "t.csv", "code")
    assert (table.positive_name, table.negative_name) == (f"code = {yes}", f"code = {no}")
    assert table.observed.tolist() == [int(code.lower() == yes.lower()) for code in codes]


def test_explicit_positive_value() -> None:
    codes = ["kayfabe", "real"] * 6
    table = read_feature_table(table_csv(label=codes), "t.csv", "code", positive="kayfabe")
    assert table.observed.tolist() == [1, 0] * 6
    assert table.positive_name == "code = kayfabe"
    zero = read_feature_table(table_csv(), "t.csv", "code", positive="0")
    assert zero.observed.tolist() == [0, 1, 1] * 4


def test_unknown_positive_value_is_refused() -> None:
    with pytest.raises(SettingError, match="“maybe” is not a value of the column “code”; its values are 0 and 1"):
        read_feature_table(table_csv(), "t.csv", "code", positive="maybe")


def test_explicit_positive_matches_a_column_read_as_decimals() -> None:
    # an empty code makes pandas read the column as 1.0/0.0; "1" (as typed) and "1.0" (as the page shows) both work
    codes = ["1", "0", "", "1"] * 3
    for positive in ("1", "1.0"):
        table = read_feature_table(table_csv(label=codes), "t.csv", "code", positive=positive)
        assert table.observed.tolist() == [1, 0, 1] * 3
    lower = read_feature_table(table_csv(label=["YES", "NO"] * 6), "t.csv", "code", positive="yes")
    assert lower.observed.tolist() == [1, 0] * 6


def test_rows_without_a_code_are_left_out_with_a_note() -> None:
    codes = ["1", "", "0", "", "1", "0", "1", "0", "1", "0", "1", "0"]
    table = read_feature_table(table_csv(label=codes), "t.csv", "code")
    assert table.n_images == 10
    assert table.observed.tolist() == [1, 0, 1, 0, 1, 0, 1, 0, 1, 0]
    assert table.notes == ("2 rows of t.csv have no value in “code” and were left out.",)
    # items still name the file's lines (header = line 1), so a row can be found in the file
    assert list(table.context["item"][:4]) == ["row 2", "row 4", "row 6", "row 7"]
    assert table.context["postId"].tolist()[:3] == [1000, 1002, 1004]
    assert table.matrix[1, table.names.index("postId")] == 1002


def test_identifiers_and_post_level_columns_are_flagged() -> None:
    table = read_feature_table(table_csv(extra={"row_id": [str(n) for n in range(12)],
                                                "viewCount": ["5"] * 12, "isSidecar": ["0"] * 12}),
                               "t.csv", "code")
    assert set(table.identifiers) == {"postId", "row_id"}
    assert set(table.post_level) == {"likeCount", "pubYear", "pubMonth", "pubDay", "viewCount", "isSidecar"}
    assert "f1" not in table.post_level and "f2" not in table.identifiers


def test_looks_like_identifier_needs_name_and_distinct_values() -> None:
    assert looks_like_identifier(pd.Series(range(10), name="postId"))
    assert looks_like_identifier(pd.Series(range(10), name="source_row"))
    assert not looks_like_identifier(pd.Series([1, 2] * 5, name="postId"))  # repeats: not an id
    assert not looks_like_identifier(pd.Series(range(10), name="likes"))


def test_table_times_from_year_month_day() -> None:
    frame = pd.DataFrame({"pubYear": [2019, 2020, 2021], "pubMonth": [12, 2, 13], "pubDay": [14, 29, 1]})
    times = table_times(frame)
    assert str(times.dt.tz) == "UTC"
    assert times[0] == pd.Timestamp("2019-12-14", tz="UTC")
    assert times[1] == pd.Timestamp("2020-02-29", tz="UTC")
    assert pd.isna(times[2])  # month 13


def test_table_times_from_a_date_column_or_none() -> None:
    times = table_times(pd.DataFrame({"pubDate": ["2020-03-01T17:04:05.000Z", "nonsense"]}))
    assert times[0] == pd.Timestamp("2020-03-01T17:04:05", tz="UTC") and pd.isna(times[1])
    assert table_times(pd.DataFrame({"time": ["2020-03-01"]}))[0] == pd.Timestamp("2020-03-01", tz="UTC")
    assert table_times(pd.DataFrame({"time": [13, 14]})).isna().all()  # an hour of the day is not a date
    assert table_times(pd.DataFrame({"time": ["12:30", "13:45"]})).isna().all()  # nor a time of day (not today)
    none = table_times(pd.DataFrame({"a": [1, 2]}))
    assert none.isna().all() and len(none) == 2


def test_feature_table_takes_its_times_from_the_date_parts() -> None:
    table = read_feature_table(table_csv(), "t.csv", "code")
    assert table.context["time"][3] == pd.Timestamp("2020-04-04", tz="UTC")


def test_unreadable_files() -> None:
    with pytest.raises(InputFileError, match="has a header but no rows"):
        read_feature_table(b"a,code\n", "t.csv", "code")
    with pytest.raises(InputFileError, match="is empty"):
        read_feature_table(b"", "t.csv", "code")
    with pytest.raises(InputFileError, match="binary data"):
        read_feature_table(b"code;x\n\x00\x01\x02;3\n", "t.csv", "code")
    with pytest.raises(InputFileError) as quote:
        read_feature_table(b'a,code\n"1,2\n3,4\n', "t.csv", "code")
    assert 'a quotation mark (") opened on line 2 is never closed' in quote.value.message
    with pytest.raises(InputFileError, match="binary data"):
        read_table_columns(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "t.csv")
    with pytest.raises(InputFileError) as cut:  # UTF-16 cut in the middle of a character: no decoder traceback
        read_table_columns(b"\xff\xfec\x00o\x00d", "t.csv")
    assert cut.value.message == ("The file t.csv starts as UTF-16 text but breaks off or is damaged further on, so "
                                 "it cannot be read as a CSV table.")


def test_a_spreadsheets_semicolons_and_windows_text_are_read_and_said() -> None:
    """Excel in many countries saves CSV with semicolons, and in Windows-1252: the table is read, and a note
    says how."""
    data = table_csv().decode().replace(",", ";").replace("postId", "postId_é").encode("cp1252")
    table = read_feature_table(data, "t.csv", "code")
    assert table.n_images == 12 and "f1" in table.names
    assert any("semicolons" in note for note in table.notes)
    assert any("Windows-1252" in note for note in table.notes)


def test_decimal_commas_of_a_semicolon_table_are_numbers_and_said() -> None:
    lines = ["postId;score;share;code"] + [f"{n};0,{n % 10}5;-{n};{'YES' if n % 3 else 'NO'}" for n in range(30)]
    table = read_feature_table("\n".join(lines).encode("cp1252"), "t.csv", "code")
    assert table.names == ("postId", "score", "share")
    assert table.matrix[[1, 2]].toarray()[:, 1].tolist() == pytest.approx([0.15, 0.25])
    assert "t.csv writes decimals with commas (0,5): “score” was read as numbers." in table.notes
    texts = "name;code\n" + "\n".join(f"a,{n};{'YES' if n % 2 else 'NO'}" for n in range(30))
    with pytest.raises(InputFileError, match="not numbers: name"):  # a text column with commas stays text
        read_feature_table(texts.encode(), "t.csv", "code")


def test_an_empty_code_column_is_named_as_empty() -> None:
    with pytest.raises(InputFileError) as empty:
        read_feature_table(table_csv(label=[""] * 12), "t.csv", "code")
    assert empty.value.message == "The code column “code” of t.csv is empty: none of its 12 rows has a value."


def test_suggestions_for_the_page() -> None:
    frame = read_table_columns(table_csv(extra={"caption": ["a", "b"] * 6}), "t.csv")
    assert suggest_label_columns(frame) == ["f1", "code", "caption"]
    assert suggest_dropped_columns(frame, "code") == ["postId", "caption"]


def test_the_code_column_is_offered_even_with_one_value() -> None:
    frame = read_table_columns(table_csv(label=["1"] * 12, extra={"label_Plate": ["0", "1"] * 6}), "t.csv")
    choices, preferred = code_column_choices(frame)
    assert choices[:2] == ["f1", "label_Plate"] and "code" in choices  # two-valued first, then every other
    assert choices[preferred] == "code"  # a column called code, even with one value: its error is then shown
    with pytest.raises(InputFileError, match="should hold two values .* it holds 1"):
        read_feature_table(table_csv(label=["1"] * 12), "t.csv", "code")


@pytest.mark.parametrize(("values", "yes"), [(["FOOD", "NOT FOOD"], "FOOD"), (["no_kayfabe", "kayfabe"], "kayfabe"),
                                             (["non-food", "food"], "food"), (["0", "1"], "1"), (["N", "Y"], "Y"),
                                             (["false", "true"], "true"), (["cat", "dog"], "dog"),
                                             (["Nothing", "Something"], "Something"), (["Not A", "Not B"], "Not B")])
def test_the_default_yes_value(values: list[str], yes: str) -> None:
    assert default_positive(values) == yes


def test_a_text_code_defaults_to_the_value_that_is_not_negated() -> None:
    table = read_feature_table(table_csv(label=["FOOD", "NOT FOOD", "NOT FOOD"] * 4), "t.csv", "code")
    assert table.positive_name == "code = FOOD" and table.n_positive == 4


@pytest.mark.skipif(not ORIGINAL_TABLE.exists(), reason="the original study's table is not in shared/datasets")
def test_the_original_studys_table() -> None:
    table = read_feature_table(ORIGINAL_TABLE.read_bytes(), ORIGINAL_TABLE.name, "kayfabe")
    assert table.n_images == 1470
    assert table.n_features == 414
    assert table.n_positive == 766
    assert table.positive_name == "kayfabe = 1"
    assert "kayfabe" not in table.names
    assert {"source_row", "postId"} <= set(table.identifiers)
    assert {"commentCount", "likeCount", "pubYear", "pubMonth", "pubDay"} <= set(table.post_level)
    assert table.context["time"].notna().mean() > 0.9
    assert table.notes == ()
    dropped = read_feature_table(ORIGINAL_TABLE.read_bytes(), ORIGINAL_TABLE.name, "kayfabe",
                                 drop=["source_row", "postId"])
    assert dropped.n_features == 412 and dropped.identifiers == ()


def test_a_table_too_small_for_a_split_talks_of_rows_and_columns() -> None:
    from kayfabe_core.split import SplitOptions, make_split

    table = read_feature_table(b"name,age\nbob,3\nann,4\n", "people.csv", "name", positive="bob")
    with pytest.raises(SettingError) as caught:
        make_split(table, SplitOptions(method="stratified"))
    assert caught.value.message.startswith("The table has only 2 rows")
    assert "column chosen as the code" in caught.value.hint and "Code at least" not in caught.value.hint
