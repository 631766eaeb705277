"""The wording of the import report shared by the CLI and the Posts page."""

from kayfabe_core.ingest import FileReport, IngestReport
from kayfabe_core.report_text import format_ingest_report, ingest_report_lines

REPORT = IngestReport(
    files=(FileReport("a.csv", 12, "Latin-1", ";", ("a.csv was read as Latin-1 text (it is not UTF-8).",)),),
    rows_read=12, posts=9, images=10, duplicates_dropped=1, error_rows=2, posts_without_image=1,
    rows_without_post_url=0, unreadable_dates=0, unknown_columns=("zz",), new_posts=9, new_images=10,
    workspace_posts=1009, notes=("a.csv was read as Latin-1 text (it is not UTF-8).",),
)


def test_lines_follow_the_report() -> None:
    lines = dict(ingest_report_lines(REPORT))
    assert lines["Posts"] == "9" and lines["Posts in the workspace now"] == "1,009"
    assert lines["Unknown columns (ignored)"] == "zz"


def test_text_has_every_line_and_the_notes() -> None:
    text = format_ingest_report(REPORT).splitlines()
    assert text[0] == "Imported a.csv"
    assert len(text) == 1 + len(ingest_report_lines(REPORT)) + 1
    assert text[-1] == "  Note: a.csv was read as Latin-1 text (it is not UTF-8)."
