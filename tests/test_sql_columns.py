"""Reading query columns as joined texts: same rows as pandas' reader, NULLs, numbers and odd texts."""

from __future__ import annotations

import math
import sqlite3

import pandas as pd

from kayfabe_core.sql_columns import count_distinct, read_columns

ROWS = [("a", 1, 2.5, "x"), ("b", None, None, None), ("", 3, -1.0, ""), ("é ü", 4, 1e20, "two words")]


def table(rows: list[tuple[object, ...]]) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, count INTEGER, score REAL, note TEXT)")
    conn.executemany("INSERT INTO t (name, count, score, note) VALUES (?, ?, ?, ?)", rows)
    return conn


def read(conn: sqlite3.Connection) -> pd.DataFrame:
    return read_columns(conn, "SELECT name, count, score, note FROM t ORDER BY id DESC",
                        ["name", "count", "score", "note"], numbers=["count", "score"])


def values(frame: pd.DataFrame) -> list[list[object]]:
    return [[None if isinstance(value, float) and math.isnan(value) or value is pd.NA else value
             for value in row] for row in frame.astype(object).values.tolist()]


def test_rows_in_the_query_order_with_nulls_and_numbers() -> None:
    frame = read(table(ROWS))
    assert values(frame) == [[name, None if count is None else float(count), score, note]
                             for name, count, score, note in reversed(ROWS)]
    assert frame["count"].dtype == frame["score"].dtype == "float64"
    assert str(frame["name"].dtype) == "str"


def test_an_empty_table_gives_empty_columns() -> None:
    frame = read(table([]))
    assert list(frame.columns) == ["name", "count", "score", "note"] and frame.empty


def test_texts_holding_the_separators_are_read_row_by_row() -> None:
    rows = [("a\x1fb", 1, 1.0, "c\x1ed"), ("e", 2, 2.0, "f")]
    assert values(read(table(rows))) == [["e", 2.0, 2.0, "f"], ["a\x1fb", 1.0, 1.0, "c\x1ed"]]


def test_a_text_in_a_number_column_is_not_a_number() -> None:
    frame = read(table([("a", "many", 1.0, None), ("b", 7, 2.0, None)]))
    assert values(frame) == [["b", 7.0, 2.0, None], ["a", None, 1.0, None]]


def test_count_distinct_agrees_with_sqlite() -> None:
    rows = [("a", 1, 0.0, "x"), ("a", 2, 0.0, "y"), (None, 3, 0.0, "x"), ("", 4, 0.0, "z"), ("b\x1fc", 5, 0.0, "x"),
            ("b", 6, 1.0, "x")]
    conn = table(rows)
    for where in ("", " WHERE score = 0", " WHERE note = 'x'", " WHERE 0"):
        expected = conn.execute(f"SELECT COUNT(DISTINCT name) FROM t{where}").fetchone()[0]
        assert count_distinct(conn, "name", f"t{where}") == expected, where


def test_a_separator_in_the_only_column_falls_back() -> None:
    conn = table([("b\x1fc", 1, 0.0, "x"), ("d", 2, 0.0, "y")])
    assert read_columns(conn, "SELECT name FROM t ORDER BY id", ["name"])["name"].tolist() == ["b\x1fc", "d"]
    assert read_columns(conn, "SELECT name FROM t WHERE 0", ["name"]).empty
