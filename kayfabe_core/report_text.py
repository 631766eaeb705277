"""Plain-text wording of reports, shared by the CLI and the pages."""

from __future__ import annotations

from kayfabe_core.ingest import IngestReport


def ingest_report_lines(report: IngestReport) -> list[tuple[str, str]]:
    """Return (label, value) pairs describing an import, in reading order."""
    return [
        ("Rows read", f"{report.rows_read:,}"),
        ("Posts", f"{report.posts:,}"),
        ("Images", f"{report.images:,}"),
        ("Duplicate rows dropped", f"{report.duplicates_dropped:,}"),
        ("Error rows dropped", f"{report.error_rows:,}"),
        ("Rows without a post link", f"{report.rows_without_post_url:,}"),
        ("Posts without an image", f"{report.posts_without_image:,}"),
        ("Dates that could not be read", f"{report.unreadable_dates:,}"),
        ("Unknown columns (ignored)", ", ".join(report.unknown_columns) or "none"),
        ("New posts added to the workspace", f"{report.new_posts:,}"),
        ("New images added to the workspace", f"{report.new_images:,}"),
        ("Posts in the workspace now", f"{report.workspace_posts:,}"),
    ]


def format_ingest_report(report: IngestReport) -> str:
    """Return the import report as aligned text lines, with any notes after it."""
    names = ", ".join(file.name for file in report.files)
    lines = [f"Imported {names}"]
    pairs = ingest_report_lines(report)
    width = max(len(label) for label, _ in pairs)
    lines += [f"  {label.ljust(width)}  {value}" for label, value in pairs]
    lines += [f"  Note: {note}" for note in report.notes]
    return "\n".join(lines)
